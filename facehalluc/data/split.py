"""Deterministic train/val/test assignment by hashing (subject-disjoint when split by identity).

Every identity (or every image, with ``split_by="image"``) is hashed with SHA-1; the first 8 bytes
give a number u in [0, 1) and the key goes to val when u < val_fraction.  The assignment of a key
never depends on which other files are present, so adding photos to a folder never moves a person
from one split to the other, and all photos of one person share a split.

The **test** split (:func:`add_test_split`, ``python -m facehalluc.data.split add-test FILE``) is carved
out of the held-out identities: u < test_fraction -> test, test_fraction <= u < val_fraction -> val.  The
train split never changes, so every model trained on a file before the test split existed has still never
seen a test identity.  *val* is for choices (settings, checkpoints, which model ships); *test* is for the
final numbers only.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, Sequence

import h5py
import numpy as np

from .schema import TEST, TEST_ATTR, TRAIN, VAL, check_file, read_strings

#: default share of the held-out identities that go to test (half: test_fraction = 0.5 * val_fraction)
DEFAULT_TEST_SHARE = 0.5


def hash_unit(key: str, salt: str = "facehalluc-split-v1") -> float:
    """A stable number in [0, 1) for ``key``."""
    digest = hashlib.sha1(f"{salt}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def split_of(identity: str, source: str, val_fraction: float,
             split_by: Literal["identity", "image"] = "identity", test_fraction: float = 0.0) -> int:
    """0 (train), 1 (val) or 2 (test: u < test_fraction <= val_fraction) for one face."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if split_by == "identity":
        key = identity
    elif split_by == "image":
        key = source
    else:
        raise ValueError(f"split_by must be 'identity' or 'image', got {split_by!r}")
    u = hash_unit(key)
    if u < test_fraction:
        return TEST
    return VAL if u < val_fraction else TRAIN


def assign_splits(identities: Sequence[str], sources: Sequence[str], val_fraction: float,
                  split_by: Literal["identity", "image"] = "identity", test_fraction: float = 0.0) -> np.ndarray:
    """Vector of split codes (uint8) for parallel lists of identities and sources."""
    return np.array([split_of(i, s, val_fraction, split_by, test_fraction) for i, s in zip(identities, sources)],
                    dtype=np.uint8)


def add_test_split(path: str | Path, test_share: float = DEFAULT_TEST_SHARE) -> dict[str, int]:
    """Divides the held-out faces of a prepared file into val and test, in place; returns the counts.

    A face whose split is val or test goes to test when the hash of its key (identity, or source with
    ``split_by="image"``, as the file's attributes say) is below ``test_fraction = test_share *
    val_fraction`` (the file's ``val_fraction`` attribute), else to val.  Train rows
    are never touched.  Idempotent (a second call with the same fraction changes nothing) and safe to re-run
    after an interruption: the codes follow from the keys alone, and the ``test_fraction`` attribute, which
    makes "test" readable, is written last.
    """
    path = Path(path)
    check_file(path)
    with h5py.File(path, "r+") as f:
        vf = float(f.attrs.get("val_fraction", 0.05))
        if not 0.0 < test_share <= 1.0:
            raise ValueError(f"{path}: test_share must be in (0, 1], got {test_share}")
        test_fraction = test_share * vf
        split_by = str(f.attrs.get("split_by", "identity"))
        keys = read_strings(f, "identity" if split_by == "identity" else "source")
        split = f["split"][()]
        new = split.copy()
        held = split != TRAIN
        for i in np.flatnonzero(held):
            new[i] = TEST if hash_unit(keys[i]) < test_fraction else VAL
        if np.any(new != split):
            f["split"][...] = new
        f.attrs[TEST_ATTR] = float(test_fraction)
    return {"train": int((new == TRAIN).sum()), "val": int((new == VAL).sum()), "test": int((new == TEST).sum())}


def identity_lists(path: str | Path) -> dict[str, list[str]]:
    """The sorted identities of each split in a prepared file (test only where the file has one)."""
    check_file(path)
    with h5py.File(path, "r") as f:
        ids = read_strings(f, "identity")
        split = f["split"][()]
    names = {"train": TRAIN, "val": VAL, "test": TEST}
    return {k: sorted({i for i, s in zip(ids, split) if s == c}) for k, c in names.items() if (split == c).any()}


if __name__ == "__main__":  # the command line: facehalluc.data.cli.split
    from .cli.split import main

    raise SystemExit(main())
