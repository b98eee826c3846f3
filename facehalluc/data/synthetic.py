"""Small synthetic datasets in the real schema, for tests and demos of other areas (< 1 s)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..utils.image import to_uint8
from .schema import N_LANDMARKS, SIZE, TRAIN, VAL, FaceArrays, write_h5


def _synthetic_face(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One 128x128 "face": an ellipse with a shading gradient and two dark eyes on a coloured
    background with a vertical gradient and a darker "shoulder" band.  Returns (aligned, mask, landmarks)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    bg_top = rng.uniform(0.2, 1.0, 3)
    bg_bottom = rng.uniform(0.0, 0.8, 3)
    t = (yy / SIZE)[..., None]
    img = (1 - t) * bg_top + t * bg_bottom
    shoulders = (yy > 108 - 0.0015 * (xx - 64) ** 2)[..., None]
    img = np.where(shoulders, rng.uniform(0.0, 0.6, 3), img)
    cx, cy = 64 + rng.uniform(-2, 2), 64 + rng.uniform(-2, 2)
    ax, ay = rng.uniform(22, 27), rng.uniform(29, 34)
    inside = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0
    skin = rng.uniform(0.45, 0.95) * np.array([1.0, 0.8, 0.65])
    shade = 0.75 + 0.25 * (xx - (cx - ax)) / (2 * ax)
    face = np.clip(skin[None, None, :] * shade[..., None], 0, 1)
    img = np.where(inside[..., None], face, img)
    for ex in (cx - 0.4 * ax, cx + 0.4 * ax):
        eye = ((xx - ex) / 4.0) ** 2 + ((yy - (cy - 0.2 * ay)) / 2.5) ** 2 <= 1.0
        img = np.where(eye[..., None], 0.1, img)
    aligned = to_uint8(img)
    angles = np.linspace(0.0, 2 * math.pi, N_LANDMARKS, endpoint=False)
    landmarks = np.stack([cx + 0.95 * ax * np.cos(angles), cy + 0.95 * ay * np.sin(angles)], -1)
    return aligned, inside.astype(np.uint8), landmarks.astype(np.float32)


def synthetic_arrays(n: int = 24, val_fraction: float = 0.25, seed: int = 0,
                     per_identity: int = 4) -> FaceArrays:
    """``n`` synthetic faces; identities ``synth_000, synth_001, ...`` with ``per_identity`` faces
    each; the last ``round(n_ids * val_fraction)`` identities (at least one when val_fraction > 0
    and there are two identities or more) form the val split, so the split is identity-disjoint."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    n_ids = max(1, math.ceil(n / per_identity))
    n_val_ids = int(round(n_ids * val_fraction))
    if val_fraction > 0 and n_ids >= 2:
        n_val_ids = min(max(n_val_ids, 1), n_ids - 1)
    faces = [_synthetic_face(rng) for _ in range(n)]
    aligned = np.stack([f[0] for f in faces])
    mask = np.stack([f[1] for f in faces])
    identity = [f"synth_{i // per_identity:03d}" for i in range(n)]
    split = np.array([VAL if (i // per_identity) >= n_ids - n_val_ids else TRAIN for i in range(n)],
                     dtype=np.uint8)
    return FaceArrays(
        aligned=aligned, masked=aligned * mask[..., None], mask=mask,
        landmarks=np.stack([f[2] for f in faces]),
        source=[f"{identity[i]}/{identity[i]}_{i % per_identity + 1:04d}.png" for i in range(n)],
        identity=identity, split=split)


def write_synthetic_dataset(path: str | Path, n: int = 24, val_fraction: float = 0.25,
                            seed: int = 0) -> Path:
    """Writes ``n`` synthetic faces in the dataset schema to ``path`` (see :func:`synthetic_arrays`)."""
    from ..config import PreprocessConfig
    import yaml
    import dataclasses

    arrays = synthetic_arrays(n, val_fraction, seed)
    cfg_yaml = yaml.safe_dump(dataclasses.asdict(PreprocessConfig()), sort_keys=False)
    return write_h5(path, arrays, cfg_yaml, extra_attrs={"generator": "facehalluc.data.synthetic"})
