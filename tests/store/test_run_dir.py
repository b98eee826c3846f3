"""save_generator / load_generator round trips (cascade and progan), atomic writes, clear errors."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from facehalluc.config import load_config
from facehalluc.models import build_cascade, build_generator_block
from facehalluc.train import RunDirError, load_generator, save_generator


def _masked_batch(n: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 1.0, size=(n, 128, 128, 3)).astype("float32")
    x[:, :32] = 0.0  # outside the face mask
    x[:, :, :20] = 0.0
    return x


def test_cascade_round_trip(tmp_path):
    cfg = load_config("tiny")
    cascade = build_cascade(cfg)
    path = save_generator(tmp_path, cfg, cascade)
    assert path == tmp_path / "generator.weights.h5" and path.is_file()
    assert (tmp_path / "config.yaml").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    model, cfg2 = load_generator(tmp_path)
    assert cfg2.to_dict() == cfg.to_dict()
    x = _masked_batch()
    out = model.predict(x, verbose=0)
    assert set(out) == {f"out_{r}" for r in cfg.model.resolutions}
    # the reloaded cascade computes what the original computes on the same pyramid
    from facehalluc.models import cascade_inputs_from_128, mask_from_masked
    xt = keras.ops.convert_to_tensor(x)
    ref = cascade(cascade_inputs_from_128(xt, mask_from_masked(xt), cfg.model.resolutions))
    np.testing.assert_allclose(out["out_128"], np.asarray(ref["out_128"]), atol=1e-5)
    # face pixels are the input's, bit-exact
    face = x.max(axis=-1) > 0
    np.testing.assert_array_equal(out["out_128"][face], x[face])


def test_progan_round_trip_and_snapshot(tmp_path):
    cfg = load_config("tiny", ["train.regime=progan"])
    block = build_generator_block(128, cfg)
    save_generator(tmp_path, cfg, block)
    other = build_generator_block(128, cfg)
    snap = tmp_path / "snapshots" / "epoch_010.weights.h5"
    snap.parent.mkdir()
    other.save_weights(str(snap))
    x = _masked_batch()
    m1, _ = load_generator(tmp_path)
    m2, _ = load_generator(tmp_path, weights=snap)
    o1, o2 = m1.predict(x, verbose=0), m2.predict(x, verbose=0)
    assert set(o1) == {"out_128"}
    expected = np.array(block(keras.ops.convert_to_tensor(x)))
    face = x.max(axis=-1) > 0
    expected[face] = x[face]
    np.testing.assert_allclose(o1["out_128"], expected, atol=1e-5)
    assert not np.allclose(o1["out_128"], o2["out_128"])


def test_errors_name_the_file(tmp_path):
    with pytest.raises(RunDirError, match="config.yaml"):
        load_generator(tmp_path)
    cfg = load_config("tiny")
    cfg.save(tmp_path / "config.yaml")
    with pytest.raises(RunDirError, match="generator.weights.h5"):
        load_generator(tmp_path)
    # weights of another architecture
    block = build_generator_block(128, cfg)
    block.save_weights(str(tmp_path / "generator.weights.h5"))
    with pytest.raises(RunDirError, match="cannot load"):
        load_generator(tmp_path)
    with pytest.raises(RunDirError, match="progan stores block_128"):
        save_generator(tmp_path / "x", load_config("tiny", ["train.regime=progan"]), build_cascade(cfg))
