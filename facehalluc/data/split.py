"""Deterministic train/val assignment by hashing (subject-disjoint when split by identity).

Every identity (or every image, with ``split_by="image"``) is hashed with SHA-1; the first 8 bytes
give a number u in [0, 1) and the key goes to val when u < val_fraction.  The assignment of a key
never depends on which other files are present, so adding photos to a folder never moves a person
from one split to the other, and all photos of one person share a split.
"""
from __future__ import annotations

import hashlib
from typing import Literal, Sequence

import numpy as np

from .schema import TRAIN, VAL


def hash_unit(key: str, salt: str = "facehalluc-split-v1") -> float:
    """A stable number in [0, 1) for ``key``."""
    digest = hashlib.sha1(f"{salt}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def split_of(identity: str, source: str, val_fraction: float,
             split_by: Literal["identity", "image"] = "identity") -> int:
    """0 (train) or 1 (val) for one face."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if split_by == "identity":
        key = identity
    elif split_by == "image":
        key = source
    else:
        raise ValueError(f"split_by must be 'identity' or 'image', got {split_by!r}")
    return VAL if hash_unit(key) < val_fraction else TRAIN


def assign_splits(identities: Sequence[str], sources: Sequence[str], val_fraction: float,
                  split_by: Literal["identity", "image"] = "identity") -> np.ndarray:
    """Vector of split codes (uint8) for parallel lists of identities and sources."""
    return np.array([split_of(i, s, val_fraction, split_by) for i, s in zip(identities, sources)],
                    dtype=np.uint8)
