"""Runs one of our generators on a prepared dataset and writes (original, hallucinated) PNG pairs to score.

``model`` is either a training run directory (``config.yaml`` + ``generator.weights.h5``) or a SavedModel
folder exported by ``facehalluc.export`` (both loaded by ``facehalluc.infer.engine.load_hallucinator``), whose
``serving_default`` signature takes ``masked`` float32 (N, 128, 128, 3) in [0, 1] and returns ``out_128``.
Originals are the dataset's ``/aligned`` faces, inputs its ``/masked`` faces, both 128x128.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from facehalluc.infer.engine import ModelPathError, load_hallucinator
from facehalluc.utils.image import to_float, write_image


# Loading a run directory or a SavedModel is the inference engine's job; evaluation reuses it.
ModelLoadError = ModelPathError

Predictor = Callable[[np.ndarray], np.ndarray]


def load_predictor(model_path: str | Path) -> tuple[Predictor, str]:
    """A function masked float32 (N,128,128,3) -> out_128 (N,128,128,3), and a short description.

    A style-noise generator scores its sample 0 of each face, the i-th face predicted being face key i
    (``Hallucinator.sample(..., seed=0, keys=[i])``: the same draw as ``python -m facehalluc.evaluate.sampling``'s
    sample 0 when the faces come in split order)."""
    hallucinator = load_hallucinator(model_path)
    seen = [0]

    def predict(x: np.ndarray) -> np.ndarray:
        keys = list(range(seen[0], seen[0] + len(x)))
        seen[0] += len(x)
        out = hallucinator.sample(x, k=1, seed=0, keys=keys)[0]
        if "out_128" not in out:
            raise ModelLoadError(f"{model_path}: the model returns {sorted(out)}, expected 'out_128'")
        return out["out_128"]

    if hallucinator.source == "savedmodel":
        return predict, f"SavedModel {model_path}"
    cfg = hallucinator.cfg
    from facehalluc.store.packed import is_packed_dir, read_manifest

    if hallucinator.path is not None and is_packed_dir(hallucinator.path):
        sha = read_manifest(hallucinator.path)["sha256"]
        return predict, (f"packed model {hallucinator.path} (config {cfg.name}, float16 weights sha256 "
                         f"{sha[:16]}…)")
    return predict, f"run directory {model_path} (config {cfg.name}, regime {cfg.train.regime})"


def generate_pairs(model_path: str | Path, data_h5: str | Path, split: str, work_dir: str | Path,
                   batch_size: int = 16, limit: int | None = None,
                   progress: bool = True) -> tuple[Path, Path, str]:
    """Writes ``work_dir/real/<i>.png`` (aligned), ``work_dir/fake/<i>.png`` (out_128) and
    ``work_dir/mask/<i>.png`` (face mask, 0/255; read by the offline proxies); returns the real and fake dirs."""
    from tqdm import tqdm

    from facehalluc.data import read_arrays

    predict, desc = load_predictor(model_path)
    arrays = read_arrays(data_h5, split)
    n = len(arrays.aligned) if limit is None else min(limit, len(arrays.aligned))
    if n == 0:
        raise ValueError(f"{data_h5}: split {split!r} holds no faces")
    work = Path(work_dir)
    real_dir, fake_dir = work / "real", work / "fake"
    width = len(str(n - 1))
    for i in tqdm(range(0, n, batch_size), desc="generating", disable=not progress, unit="batch"):
        masked = to_float(arrays.masked[i:min(i + batch_size, n)])
        out = predict(masked)
        for j in range(len(masked)):
            idx = i + j
            name = f"{idx:0{width}d}"
            write_image(real_dir / f"{name}.png", arrays.aligned[idx])
            write_image(fake_dir / f"{name}.png", out[j])
            write_image(work / "mask" / f"{name}.png", arrays.mask[idx] * np.uint8(255))
    return real_dir, fake_dir, desc
