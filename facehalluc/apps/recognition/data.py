"""Which faces the recognition experiment trains and tests on, read from a prepared HDF5 dataset.

The dataset is the file ``data/prepare.py`` writes (``facehalluc.data.schema``): ``aligned`` real
128x128 aligned faces, ``masked`` / ``mask`` the face-only input of the generator, ``identity`` and
``split`` (0 train, 1 val; identity-disjoint when prepared with ``--split-by identity``).

* Training identities: those with at least ``min_images`` faces in the training split (``"train"``
  or ``"all"`` rows); class labels are their indices in sorted identity order.
* Test faces: every face of the evaluation split (``"val"``, ``"train"`` or ``"all"``), possibly in
  another file (``--eval-data``, e.g. LFW when training on CASIA-WebFace).

Images are read in file order, block by block (so memory holds the selected rows only, already
resized), and resized with PIL's bilinear filter (antialiased when shrinking: its support widens with
the scale factor).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

SPLITS = {"train": (0,), "val": (1,), "all": (0, 1)}


@dataclass
class FaceIndex:
    """The per-face metadata of one dataset file (no pixels)."""

    path: Path
    identity: np.ndarray  # (N,) str
    split: np.ndarray  # (N,) uint8
    source: np.ndarray  # (N,) str
    fingerprint: str

    def __len__(self) -> int:
        return int(len(self.identity))

    def rows_of(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        return np.flatnonzero(np.isin(self.split, SPLITS[split])).astype(np.int64)


def _strings(ds) -> np.ndarray:
    return np.asarray([s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in ds[()]])


def file_fingerprint(path: str | Path) -> str:
    """A cheap identity of a dataset file: its size, N and creation stamp (``created`` attribute)."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        meta = {"bytes": path.stat().st_size, "n": int(f["split"].shape[0]),
                "created": str(f.attrs.get("created", "")), "name": path.name}
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]


def read_index(path: str | Path) -> FaceIndex:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: dataset file not found (make one with data/prepare.py)")
    with h5py.File(path, "r") as f:
        missing = [k for k in ("aligned", "identity", "split", "source") if k not in f]
        if missing:
            raise ValueError(f"{path}: not a facehalluc dataset (missing {missing})")
        index = FaceIndex(path, _strings(f["identity"]), f["split"][()].astype(np.uint8), _strings(f["source"]),
                          "")
    index.fingerprint = file_fingerprint(path)
    return index


@dataclass
class TrainingSet:
    rows: np.ndarray  # (n,) rows of the file, ascending
    labels: np.ndarray  # (n,) int32 class index
    classes: list[str]  # class index -> identity


def select_training(index: FaceIndex, min_images: int = 1, split: str = "train",
                    max_identities: int | None = None) -> TrainingSet:
    """Rows of the identities with at least ``min_images`` faces in ``split``; ``max_identities`` keeps
    the ones with the most faces (ties: identity name) — None keeps all."""
    rows = index.rows_of(split)
    ids = index.identity[rows]
    names, counts = np.unique(ids, return_counts=True)
    keep = names[counts >= int(min_images)]
    if max_identities is not None and len(keep) > max_identities:
        c = dict(zip(names, counts))
        keep = np.asarray(sorted(keep, key=lambda n: (-c[n], n))[:max_identities])
    keep = np.sort(keep)
    sel = np.isin(ids, keep)
    rows = rows[sel]
    code = {n: i for i, n in enumerate(keep.tolist())}
    labels = np.asarray([code[n] for n in index.identity[rows]], np.int32)
    return TrainingSet(rows, labels, keep.tolist())


def resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """(n, H, W, 3) uint8 -> (n, size, size, 3) uint8 (PIL bilinear, antialiased when shrinking)."""
    images = np.asarray(images)
    if images.shape[1:3] == (size, size):
        return images.astype(np.uint8, copy=False)
    from PIL import Image

    out = np.empty((len(images), size, size, 3), np.uint8)
    for k, im in enumerate(images):
        out[k] = np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR))
    return out


def iter_blocks(rows: np.ndarray, block: int = 512):
    """Yields (start, stop, positions) so that ``rows[positions]`` lie in file rows [start, stop):
    a contiguous read per block of file rows, in file order."""
    rows = np.asarray(rows, np.int64)
    if len(rows) and np.any(np.diff(rows) <= 0):
        raise ValueError("rows must be strictly increasing")
    pos = 0
    while pos < len(rows):
        start = int(rows[pos])
        stop = start + block
        end = int(np.searchsorted(rows, stop, side="left"))
        yield start, min(stop, int(rows[end - 1]) + 1), np.arange(pos, end)
        pos = end


def read_images(path: str | Path, rows: np.ndarray, size: int, key: str = "aligned",
                progress: bool = False, desc: str | None = None) -> np.ndarray:
    """The ``key`` images of ``rows`` (ascending) resized to ``size``: (n, size, size, 3) uint8."""
    from tqdm import tqdm

    rows = np.asarray(rows, np.int64)
    out = np.empty((len(rows), size, size, 3), np.uint8)
    with h5py.File(path, "r") as f, tqdm(total=len(rows), desc=desc or f"read {key}", unit="img",
                                         disable=not progress, leave=False) as bar:
        ds = f[key]
        for start, stop, positions in iter_blocks(rows):
            chunk = ds[start:stop]
            out[positions] = resize_uint8(chunk[rows[positions] - start], size)
            bar.update(len(positions))
    return out


def identity_counts(identities: Sequence[str]) -> dict[str, int]:
    names, counts = np.unique(np.asarray(identities), return_counts=True)
    return dict(zip(names.tolist(), counts.tolist()))
