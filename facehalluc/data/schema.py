"""The HDF5 file format of prepared face datasets (``format_version`` 1).

Datasets (N = number of faces, all in the 128x128 aligned frame)::

    /aligned    (N,128,128,3) uint8   aligned RGB crop
    /masked     (N,128,128,3) uint8   aligned crop with every pixel outside the landmark hull = 0
    /mask       (N,128,128)   uint8   1 inside the convex hull of the 68 landmarks, else 0
    /landmarks  (N,68,2)      float32 (x, y) landmarks in the aligned frame (pixel centres at .5)
    /source     (N,)          utf-8   the source file, relative to the folder that was prepared
    /identity   (N,)          utf-8   person identity (LFW folder name, or the file stem)
    /split      (N,)          uint8   0 = train, 1 = val, 2 = test (files with a ``test_fraction`` attribute)

File attributes: ``format_version`` = 1, ``preprocess_config`` (YAML text of the PreprocessConfig
used), ``created`` (ISO 8601 UTC time).  Writers always write to a temporary file and rename it
into place, so a file at the final path is complete.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..utils.atomic import atomic_path

FORMAT_VERSION = 1
SIZE = 128
N_LANDMARKS = 68
TRAIN, VAL, TEST = 0, 1, 2
SPLIT_CODES: dict[str, int] = {"train": TRAIN, "val": VAL, "test": TEST}
#: file attribute written by :func:`facehalluc.data.split.add_test_split`; a file without it has no test split
TEST_ATTR = "test_fraction"

IMAGE_KEYS = ("aligned", "masked", "mask")
STRING_KEYS = ("source", "identity")


class DatasetFormatError(ValueError):
    """An HDF5 file that does not follow the facehalluc dataset schema."""


@dataclass
class FaceArrays:
    """In-memory arrays of a prepared dataset (or a part of it), in the schema's dtypes."""

    aligned: np.ndarray  # (N,128,128,3) uint8
    masked: np.ndarray  # (N,128,128,3) uint8
    mask: np.ndarray  # (N,128,128) uint8 {0,1}
    landmarks: np.ndarray  # (N,68,2) float32
    source: list[str]
    identity: list[str]
    split: np.ndarray  # (N,) uint8

    def __len__(self) -> int:
        return int(self.aligned.shape[0])

    def check(self, where: str = "arrays") -> None:
        n = len(self)
        expected = {
            "aligned": ((n, SIZE, SIZE, 3), np.uint8), "masked": ((n, SIZE, SIZE, 3), np.uint8),
            "mask": ((n, SIZE, SIZE), np.uint8), "landmarks": ((n, N_LANDMARKS, 2), np.float32),
            "split": ((n,), np.uint8),
        }
        for key, (shape, dtype) in expected.items():
            a = getattr(self, key)
            if a.shape != shape or a.dtype != dtype:
                raise DatasetFormatError(f"{where}: {key} must be {shape} {np.dtype(dtype).name}, "
                                         f"got {a.shape} {a.dtype}")
        for key in STRING_KEYS:
            if len(getattr(self, key)) != n:
                raise DatasetFormatError(f"{where}: {key} has {len(getattr(self, key))} entries, expected {n}")
        if n and (self.mask.max() > 1):
            raise DatasetFormatError(f"{where}: mask values must be 0 or 1")
        if n and (self.split.max() > 2):
            raise DatasetFormatError(f"{where}: split values must be 0 (train), 1 (val) or 2 (test)")

    @staticmethod
    def concatenate(parts: list["FaceArrays"]) -> "FaceArrays":
        if not parts:
            return empty_arrays()
        return FaceArrays(
            aligned=np.concatenate([p.aligned for p in parts]),
            masked=np.concatenate([p.masked for p in parts]),
            mask=np.concatenate([p.mask for p in parts]),
            landmarks=np.concatenate([p.landmarks for p in parts]),
            source=[s for p in parts for s in p.source],
            identity=[s for p in parts for s in p.identity],
            split=np.concatenate([p.split for p in parts]),
        )


def empty_arrays() -> FaceArrays:
    return FaceArrays(
        aligned=np.zeros((0, SIZE, SIZE, 3), np.uint8), masked=np.zeros((0, SIZE, SIZE, 3), np.uint8),
        mask=np.zeros((0, SIZE, SIZE), np.uint8), landmarks=np.zeros((0, N_LANDMARKS, 2), np.float32),
        source=[], identity=[], split=np.zeros((0,), np.uint8))


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def write_h5(path: str | Path, arrays: FaceArrays, preprocess_config_yaml: str,
             extra_attrs: dict[str, str] | None = None) -> Path:
    """Writes ``arrays`` to ``path`` atomically (temporary file, fsync, ``os.replace``)."""
    path = Path(path)
    arrays.check(str(path))
    n = len(arrays)
    str_dt = h5py.string_dtype("utf-8")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            chunk_rows = max(1, min(n, 64))
            for key in IMAGE_KEYS:
                a = getattr(arrays, key)
                f.create_dataset(key, data=a, chunks=(chunk_rows, *a.shape[1:]) if n else None)
            f.create_dataset("landmarks", data=arrays.landmarks)
            f.create_dataset("source", data=np.array(arrays.source, dtype=object), dtype=str_dt)
            f.create_dataset("identity", data=np.array(arrays.identity, dtype=object), dtype=str_dt)
            f.create_dataset("split", data=arrays.split)
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["preprocess_config"] = preprocess_config_yaml
            f.attrs["created"] = _utc_now()
            for k, v in (extra_attrs or {}).items():
                f.attrs[k] = v
    return path


def check_file(path: str | Path) -> int:
    """Validates the schema of a dataset file (shapes, dtypes, attributes); returns N."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: dataset file not found (make one with data/prepare.py)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DatasetFormatError(f"{path}: not a readable HDF5 file ({e})") from None
    with f:
        missing = [k for k in (*IMAGE_KEYS, "landmarks", *STRING_KEYS, "split") if k not in f]
        if missing:
            raise DatasetFormatError(f"{path}: missing datasets {missing}")
        version = f.attrs.get("format_version")
        if version is None or int(version) != FORMAT_VERSION:
            raise DatasetFormatError(f"{path}: format_version {version!r}, this code reads {FORMAT_VERSION}")
        n = f["aligned"].shape[0]
        expected = {"aligned": ((n, SIZE, SIZE, 3), np.uint8), "masked": ((n, SIZE, SIZE, 3), np.uint8),
                    "mask": ((n, SIZE, SIZE), np.uint8), "landmarks": ((n, N_LANDMARKS, 2), np.float32),
                    "split": ((n,), np.uint8)}
        for key, (shape, dtype) in expected.items():
            d = f[key]
            if d.shape != shape or d.dtype != dtype:
                raise DatasetFormatError(f"{path}: /{key} is {d.shape} {d.dtype}, expected {shape} "
                                         f"{np.dtype(dtype).name}")
        for key in STRING_KEYS:
            if f[key].shape != (n,):
                raise DatasetFormatError(f"{path}: /{key} is {f[key].shape}, expected ({n},)")
    return int(n)


def read_strings(f: h5py.File, key: str) -> list[str]:
    return [str(s) for s in f[key].asstr()[()]]


def read_arrays(path: str | Path, split: str | None = None) -> FaceArrays:
    """Reads a whole dataset file (optionally one split) into memory."""
    check_file(path)
    with h5py.File(path, "r") as f:
        split_arr = f["split"][()]
        if split is None:
            idx = np.arange(split_arr.shape[0])
        else:
            idx = np.flatnonzero(split_arr == split_code(split, path))
        sel = idx if len(idx) != split_arr.shape[0] else slice(None)
        src = read_strings(f, "source")
        ident = read_strings(f, "identity")
        return FaceArrays(
            aligned=f["aligned"][sel], masked=f["masked"][sel], mask=f["mask"][sel],
            landmarks=f["landmarks"][sel], source=[src[i] for i in idx], identity=[ident[i] for i in idx],
            split=split_arr[sel])


class NoTestSplitError(ValueError):
    """The file was written before the test split existed (its held-out identities are all "val")."""


def split_code(split: str, path: str | Path | None = None) -> int:
    """The code of ``split`` in the file's /split.  ``"test"`` needs a file whose held-out identities were
    divided into val and test (:func:`facehalluc.data.split.add_test_split`); an older file raises
    :class:`NoTestSplitError` naming the command that adds it (nothing is re-split silently)."""
    if split not in SPLIT_CODES:
        where = f"{path}: " if path is not None else ""
        raise ValueError(f"{where}split must be one of {list(SPLIT_CODES)}, got {split!r}")
    if split == "test" and path is not None and not has_test_split(path):
        raise NoTestSplitError(
            f"{path}: has no test split (written before facehalluc 0.2: all held-out identities are 'val'); "
            f"add one with `python -m facehalluc.data.split add-test {path}` (train is unchanged; a share of "
            f"the val identities becomes test)")
    return SPLIT_CODES[split]


def has_test_split(path: str | Path) -> bool:
    with h5py.File(path, "r") as f:
        return TEST_ATTR in f.attrs


def count_examples(h5_path: str | Path, split: str = "train") -> int:
    """Number of faces of ``split`` ("train", "val" or "test") in a dataset file."""
    check_file(h5_path)
    code = split_code(split, h5_path)
    with h5py.File(h5_path, "r") as f:
        return int(np.count_nonzero(f["split"][()] == code))
