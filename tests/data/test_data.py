"""HDF5 schema, synthetic writer, split assignment and the tf.data pipeline (facehalluc.data)."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from facehalluc.config import load_config
from facehalluc.data import (DatasetFormatError, FaceArrays, assign_splits, check_file, count_examples,
                             make_dataset, read_arrays, split_of, synthetic_arrays, write_h5,
                             write_synthetic_dataset)


@pytest.fixture(scope="module")
def syn_path(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("syn") / "syn.h5", n=24, val_fraction=0.25, seed=3)


@pytest.fixture()
def cfg():
    return load_config("tiny")


def _reference_downscale(x: np.ndarray, r: int) -> np.ndarray:
    """Bilinear, half-pixel centres, no antialias, integer factor f = 128 / r: the sample at output
    pixel i lies at input coordinate f*i + f/2 - 0.5, i.e. halfway between pixels f*i+f/2-1 and f*i+f/2."""
    f = x.shape[1] // r
    if f == 1:
        return x
    a, b = f // 2 - 1, f // 2
    rows = 0.5 * (x[:, a::f] + x[:, b::f])
    return 0.5 * (rows[:, :, a::f] + rows[:, :, b::f])


# ------------------------------------------------------------------------------------------- schema
def test_synthetic_file_follows_schema(syn_path):
    assert check_file(syn_path) == 24
    with h5py.File(syn_path, "r") as f:
        assert f["aligned"].shape == (24, 128, 128, 3) and f["aligned"].dtype == np.uint8
        assert f["masked"].shape == (24, 128, 128, 3) and f["masked"].dtype == np.uint8
        assert f["mask"].shape == (24, 128, 128) and f["mask"].dtype == np.uint8
        assert f["landmarks"].shape == (24, 68, 2) and f["landmarks"].dtype == np.float32
        assert f["split"].dtype == np.uint8
        assert int(f.attrs["format_version"]) == 1
        assert "output_size" in f.attrs["preprocess_config"] and f.attrs["created"]
        source = f["source"].asstr()[()]
        identity = f["identity"].asstr()[()]
        assert isinstance(source[0], str) and isinstance(identity[0], str)
        mask = f["mask"][()]
        aligned, masked = f["aligned"][()], f["masked"][()]
    assert set(np.unique(mask)) == {0, 1}
    np.testing.assert_array_equal(masked, aligned * mask[..., None])
    assert 0.1 < mask.mean() < 0.6  # a face region, not the whole frame


def test_synthetic_split_is_identity_disjoint(syn_path):
    a = read_arrays(syn_path)
    train = {i for i, s in zip(a.identity, a.split) if s == 0}
    val = {i for i, s in zip(a.identity, a.split) if s == 1}
    assert train and val and not train & val
    assert count_examples(syn_path, "train") == int((a.split == 0).sum()) == 16
    assert count_examples(syn_path, "val") == int((a.split == 1).sum()) == 8
    with pytest.raises(ValueError, match="split must be one of"):
        count_examples(syn_path, "holdout")


def test_check_file_rejects_broken_files(tmp_path):
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f.create_dataset("aligned", data=np.zeros((2, 128, 128, 3), np.uint8))
    with pytest.raises(DatasetFormatError, match="bad.h5.*missing datasets"):
        check_file(bad)
    a = synthetic_arrays(4, 0.0)
    a.mask = a.mask.astype(np.float32)
    with pytest.raises(DatasetFormatError, match="mask must be"):
        write_h5(tmp_path / "x.h5", a, "")
    assert not (tmp_path / "x.h5").exists()
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(DatasetFormatError, match="text.h5: not a readable HDF5"):
        check_file(tmp_path / "text.h5")
    with pytest.raises(FileNotFoundError, match="nothere.h5"):
        check_file(tmp_path / "nothere.h5")


def test_write_h5_roundtrip_and_atomic(tmp_path):
    a = synthetic_arrays(5, 0.0, seed=1)
    a.source = ["ä/ü_0001.jpg", "b", "c", "d", "e"]
    p = write_h5(tmp_path / "r.h5", a, "x: 1\n")
    assert not list(tmp_path.glob("*.tmp"))
    b = read_arrays(p)
    np.testing.assert_array_equal(a.aligned, b.aligned)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert b.source == a.source and b.identity == a.identity
    assert len(FaceArrays.concatenate([a, b])) == 10


# -------------------------------------------------------------------------------------------- split
def test_hash_split_is_deterministic_grouped_and_proportional():
    ids = [f"person_{i}" for i in range(3000)]
    s1 = assign_splits(ids, ids, 0.2)
    s2 = assign_splits(ids, ids, 0.2)
    np.testing.assert_array_equal(s1, s2)
    assert 0.17 < s1.mean() < 0.23
    # every image of one identity gets the identity's split, whatever the file name
    for pid in ids[:50]:
        codes = {split_of(pid, f"{pid}/{pid}_{k:04d}.jpg", 0.2) for k in range(5)}
        assert len(codes) == 1
    # by image: images of one identity are spread over both splits
    per_image = [split_of("same", f"same/same_{k:04d}.jpg", 0.5, "image") for k in range(64)]
    assert 0 < sum(per_image) < 64
    assert assign_splits(ids[:100], ids[:100], 0.0).sum() == 0
    with pytest.raises(ValueError):
        split_of("a", "a", 1.0)


# ---------------------------------------------------------------------------------------- make_dataset
def test_make_dataset_keys_shapes_ranges_and_values(syn_path, cfg):
    ds = make_dataset(syn_path, cfg, split="train", batch_size=4, shuffle=False, mirror=False)
    batches = list(ds)
    assert len(batches) == 4
    res = cfg.model.resolutions
    expected_keys = {f"{k}_{r}" for k in ("masked", "mask", "full") for r in res}
    ref = read_arrays(syn_path, "train")
    for bi, b in enumerate(batches):
        assert set(b) == expected_keys
        for r in res:
            assert b[f"masked_{r}"].shape == (4, r, r, 3)
            assert b[f"full_{r}"].shape == (4, r, r, 3)
            assert b[f"mask_{r}"].shape == (4, r, r, 1)
            for k in ("masked", "mask", "full"):
                v = b[f"{k}_{r}"].numpy()
                assert v.dtype == np.float32 and v.min() >= 0.0 and v.max() <= 1.0
        sl = slice(4 * bi, 4 * bi + 4)
        full = ref.aligned[sl].astype(np.float32) / 255.0
        masked = ref.masked[sl].astype(np.float32) / 255.0
        mask = ref.mask[sl, ..., None].astype(np.float32)
        np.testing.assert_array_equal(b["full_128"].numpy(), full)
        np.testing.assert_array_equal(b["masked_128"].numpy(), masked)
        np.testing.assert_array_equal(b["mask_128"].numpy(), mask)
        for r in res[:-1]:
            np.testing.assert_allclose(b[f"full_{r}"].numpy(), _reference_downscale(full, r), atol=1e-6)
            np.testing.assert_allclose(b[f"masked_{r}"].numpy(), _reference_downscale(masked, r), atol=1e-6)
            np.testing.assert_allclose(b[f"mask_{r}"].numpy(), _reference_downscale(mask, r), atol=1e-6)


def test_mirroring_flips_all_tensors_consistently(syn_path, cfg):
    ref = read_arrays(syn_path, "train")
    full_ref = ref.aligned.astype(np.float32) / 255.0
    batches = list(make_dataset(syn_path, cfg, split="train", batch_size=16, shuffle=False, mirror=True, seed=5))
    assert len(batches) == 1
    b = {k: v.numpy() for k, v in batches[0].items()}
    flipped = []
    for i in range(16):
        same = np.array_equal(b["full_128"][i], full_ref[i])
        mirrored = np.array_equal(b["full_128"][i], full_ref[i][:, ::-1])
        assert same != mirrored  # synthetic faces are not left-right symmetric
        flipped.append(mirrored)
        for r in cfg.model.resolutions:
            for k, src in (("masked", ref.masked[i] / 255.0), ("mask", ref.mask[i, ..., None] * 1.0),
                           ("full", full_ref[i])):
                src = src.astype(np.float32)
                if mirrored:
                    src = src[:, ::-1]
                expect = _reference_downscale(src[None], r)[0]
                np.testing.assert_allclose(b[f"{k}_{r}"][i], expect, atol=1e-6, err_msg=f"{k}_{r} example {i}")
    assert 0 < sum(flipped) < 16
    # default: mirrored for train (cfg.data.mirror) but never for val
    val = next(iter(make_dataset(syn_path, cfg, split="val", batch_size=8, shuffle=False)))
    vref = read_arrays(syn_path, "val")
    np.testing.assert_array_equal(val["full_128"].numpy(), vref.aligned.astype(np.float32) / 255.0)


def test_shuffle_repeat_seed_and_streaming_mode(syn_path, cfg):
    def sources(ds, n):
        out = []
        for b in ds.take(n):
            out.append(b["full_128"].numpy().sum(axis=(1, 2, 3)))
        return np.concatenate(out)

    a = sources(make_dataset(syn_path, cfg, batch_size=4, seed=1, mirror=False), 4)
    b = sources(make_dataset(syn_path, cfg, batch_size=4, seed=1, mirror=False), 4)
    c = sources(make_dataset(syn_path, cfg, batch_size=4, seed=2, mirror=False), 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    ordered = sources(make_dataset(syn_path, cfg, batch_size=4, shuffle=False, mirror=False), 4)
    np.testing.assert_allclose(np.sort(a), np.sort(ordered))  # a permutation of the train split
    rep = list(make_dataset(syn_path, cfg, batch_size=5, repeat=True).take(7))
    assert len(rep) == 7
    assert len(list(make_dataset(syn_path, cfg, batch_size=5, drop_remainder=False))) == 4
    cfg.data.cache_in_memory = False
    streamed = sources(make_dataset(syn_path, cfg, batch_size=4, shuffle=False, mirror=False), 4)
    np.testing.assert_array_equal(streamed, ordered)
    assert len(list(make_dataset(syn_path, cfg, batch_size=5, drop_remainder=False))) == 4


def test_make_dataset_errors(syn_path, cfg, tmp_path):
    with pytest.raises(ValueError, match="fewer than one batch"):
        make_dataset(syn_path, cfg, split="val", batch_size=10)
    p = write_synthetic_dataset(tmp_path / "noval.h5", n=4, val_fraction=0.0)
    with pytest.raises(ValueError, match="noval.h5.*'val' split is empty"):
        make_dataset(p, cfg, split="val")


def test_streaming_mode_visits_every_example_once_per_epoch(tmp_path, cfg):
    p = write_synthetic_dataset(tmp_path / "s150.h5", n=150, val_fraction=0.2, seed=4)
    n_train = count_examples(p, "train")
    ref = read_arrays(p, "train")
    key = {float(v): i for i, v in enumerate((ref.aligned.astype(np.float64) / 255.0).sum(axis=(1, 2, 3)))}
    assert len(key) == n_train  # sums identify the faces
    cfg.data.cache_in_memory = False
    cfg.data.shuffle_buffer = 64  # one 64-row block per shuffle group: several groups per epoch
    seen = []
    for b in make_dataset(p, cfg, batch_size=7, mirror=False, drop_remainder=False, seed=3):
        sums = b["full_128"].numpy().astype(np.float64).sum(axis=(1, 2, 3))
        seen += [key[min(key, key=lambda k: abs(k - s))] for s in sums]
    assert sorted(seen) == list(range(n_train))
    assert seen != sorted(seen)  # shuffled
    batches = list(make_dataset(p, cfg, batch_size=7, mirror=False, drop_remainder=True))
    assert len(batches) == n_train // 7 and all(b["full_128"].shape[0] == 7 for b in batches)
