"""The test split: carved out of the held-out identities, train untouched, explicit for old files."""
from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from facehalluc.data import (NoTestSplitError, add_test_split, assign_splits, count_examples, hash_unit,
                             identity_lists, read_arrays, synthetic_arrays, write_h5)
from facehalluc.data.schema import TEST, TRAIN, VAL


def _old_file(path, n=160, vf=0.3):
    """A file as data/prepare.py wrote it before the test split: hash split, codes 0/1 only."""
    a = synthetic_arrays(n, 0.25, seed=0, per_identity=2)
    ids = [f"person_{i // 2:03d}" for i in range(n)]
    a = dataclasses.replace(a, identity=ids, source=[f"{p}/{p}_{i % 2 + 1:04d}.png" for i, p in enumerate(ids)],
                            split=assign_splits(ids, ids, vf))
    return write_h5(path, a, "{}", extra_attrs={"val_fraction": str(vf), "split_by": "identity"})


def test_old_files_keep_working_and_name_the_command_for_test(tmp_path):
    p = _old_file(tmp_path / "old.h5")
    before = read_arrays(p).split.copy()
    assert set(before) == {TRAIN, VAL}
    assert count_examples(p, "val") == int((before == VAL).sum())  # val unchanged: no silent re-split
    with pytest.raises(NoTestSplitError, match=f"python -m facehalluc.data.split add-test {p}"):
        count_examples(p, "test")


def test_add_test_split_moves_only_held_out_faces_and_is_idempotent(tmp_path):
    p = _old_file(tmp_path / "old.h5")
    a = read_arrays(p)
    counts = add_test_split(p)
    b = read_arrays(p)
    np.testing.assert_array_equal(b.split == TRAIN, a.split == TRAIN)  # train untouched
    held = a.split != TRAIN
    # hand rule: held-out identity -> test iff hash < 0.5 * val_fraction (0.15)
    want = np.array([TEST if hash_unit(i) < 0.15 else VAL for i in a.identity])
    np.testing.assert_array_equal(b.split[held], want[held])
    assert counts == {"train": int((b.split == TRAIN).sum()), "val": int((b.split == VAL).sum()),
                      "test": int((b.split == TEST).sum())}
    assert counts["val"] > 0 and counts["test"] > 0
    lists = identity_lists(p)
    assert not set(lists["test"]) & set(lists["val"]) and not set(lists["test"]) & set(lists["train"])
    assert count_examples(p, "test") == counts["test"]
    with h5py.File(p, "r") as f:
        assert f.attrs["test_fraction"] == pytest.approx(0.15)
    assert add_test_split(p) == counts  # idempotent
    np.testing.assert_array_equal(read_arrays(p).split, b.split)


def test_add_test_split_cli(tmp_path, capsys):
    from facehalluc.data.cli.split import main

    p = _old_file(tmp_path / "old.h5")
    assert main(["add-test", str(p)]) == 0
    assert "test faces" in capsys.readouterr().out
    assert main(["add-test", str(tmp_path / "missing.h5")]) == 2
    assert "not found" in capsys.readouterr().err


def test_test_split_feeds_the_data_pipeline(tmp_path):
    from facehalluc.config import load_config
    from facehalluc.data import make_dataset

    p = _old_file(tmp_path / "old.h5")
    n_test = add_test_split(p)["test"]
    ds = make_dataset(p, load_config("tiny"), "test", batch_size=1, shuffle=False, mirror=False)
    assert sum(1 for _ in ds) == n_test
