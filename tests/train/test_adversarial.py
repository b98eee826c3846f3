"""The adversarial stage beyond the paper: projected discriminator, hinge/FM terms, DiffAugment, ramp,
``--init-from`` warm start and the resume line (issue 19)."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from support.train_helpers import small_config, synthetic_source

PROJ = ["loss.use_adv=true", "loss.adv_kind=projected", "loss.adv_resolutions=(32,)", "weights.allow_random=true",
        "loss.lambda_adv=0.1", "loss.lambda_fm=0.1", "loss.adv_ramp_steps=4", "model.pd_layers=(1,2,5)",
        "model.pd_proj_channels=8", "model.pd_head_channels=8"]


# --------------------------------------------------------------------------------------- losses by hand
def test_masked_mean_and_hinge_terms_by_hand():
    from facehalluc.losses import (feature_matching_loss, hinge_discriminator_loss, hinge_generator_loss,
                                   masked_mean)

    x = np.array([[[[1.0], [3.0]], [[5.0], [7.0]]]], np.float32)  # (1, 2, 2, 1)
    w = np.array([[[[1.0], [0.0]], [[1.0], [0.0]]]], np.float32)
    assert float(masked_mean(x, w)) == pytest.approx(3.0, abs=1e-5)  # (1 + 5) / 2
    real = np.array([[[[2.0], [0.5]], [[-1.0], [9.0]]]], np.float32)
    fake = np.array([[[[-2.0], [0.5]], [[0.0], [9.0]]]], np.float32)
    # real: relu(1 - 2) = 0, relu(1 + 1) = 2 -> 1; fake: relu(1 - 2) = 0, relu(1 + 0) = 1 -> 0.5
    assert float(hinge_discriminator_loss(real, fake, w)) == pytest.approx(1.5, abs=1e-5)
    assert float(hinge_generator_loss(fake, w)) == pytest.approx(1.0, abs=1e-5)  # -(-2 + 0) / 2
    f_real = np.ones((1, 2, 2, 3), np.float32)
    f_fake = np.zeros((1, 2, 2, 3), np.float32)
    assert float(feature_matching_loss(f_real, f_fake, w)) == pytest.approx(1.0, abs=1e-5)


def test_context_weights_are_the_non_face_share():
    from facehalluc.losses import context_weights

    mask = np.zeros((1, 8, 8, 1), np.float32)
    mask[0, :4] = 1.0  # top half is face
    w = np.asarray(context_weights(mask, (2, 2)))
    np.testing.assert_allclose(w[0, :, :, 0], [[0.0, 0.0], [1.0, 1.0]])
    assert np.asarray(context_weights(np.ones((1, 8, 8, 1), np.float32), (3, 3))).max() == 0.0


# --------------------------------------------------------------------------------------- DiffAugment
def test_shift_matrix_moves_a_pixel_by_hand():
    from facehalluc.models.diffaugment import _shift_matrix

    p = np.asarray(_shift_matrix(keras.ops.convert_to_tensor(np.array([2, -1], np.int32)), 5))
    v = np.arange(1, 6, dtype=np.float32)
    np.testing.assert_array_equal(p[0] @ v, [0, 0, 1, 2, 3])  # down by 2, zero filled
    np.testing.assert_array_equal(p[1] @ v, [2, 3, 4, 5, 0])  # up by 1


def test_diff_augment_policies():
    from facehalluc.models.diffaugment import diff_augment

    x = np.random.default_rng(0).uniform(size=(4, 16, 16, 3)).astype(np.float32)
    seed = keras.random.SeedGenerator(0)
    same, extra = diff_augment(x, (), seed, None)
    assert same is x and extra is None
    w = np.ones((4, 16, 16, 1), np.float32)
    y, wy = diff_augment(x, ("cutout",), seed, w)
    y, wy = np.asarray(y), np.asarray(wy)
    dropped = (wy[..., 0] == 0).sum(axis=(1, 2))
    assert np.all(dropped > 0) and np.all(dropped <= 64)  # an 8x8 square, clipped at the border
    np.testing.assert_array_equal(y[wy[..., 0] == 1], x[wy[..., 0] == 1])  # the rest is untouched
    y, wy = diff_augment(x, ("translation",), seed, w)
    assert np.asarray(y).shape == x.shape and np.asarray(wy).sum() >= 4 * 14 * 14  # shifts <= 2 px
    y, _ = diff_augment(x, ("color",), seed, None)
    assert not np.allclose(np.asarray(y), x)
    with pytest.raises(ValueError, match="unknown policies"):
        from facehalluc.config import load_config
        load_config("tiny", ["loss.adv_diffaugment=colour"])


# --------------------------------------------------------------------------------------- projected D
def test_projected_discriminator_shapes_frozen_parts_and_calibration():
    from facehalluc.models.projected import build_projected_discriminator, calibrate

    cfg = small_config((16, 32), PROJ)
    d = build_projected_discriminator(32, cfg, alex=None)
    out = d(np.zeros((2, 32, 32, 3), np.float32))
    # AlexNet on 32x32: conv1 (11/4, pad 2) -> 7x7, pool -> 3x3 (conv2), pool -> 1x1 (conv5)
    assert tuple(out["logit1"].shape) == (2, 7, 7, 1) and tuple(out["logit2"].shape) == (2, 3, 3, 1)
    assert tuple(out["logit5"].shape) == (2, 1, 1, 1) and tuple(out["feat1"].shape) == (2, 7, 7, 8)
    trainable = {v.path.split("/")[0] for v in d.trainable_weights}
    assert trainable == {f"pdisc_32_head{k}_{p}" for k in (1, 2, 5) for p in ("conv", "logit")}
    real = np.random.default_rng(0).uniform(size=(6, 32, 32, 3)).astype(np.float32)
    calibrate(d, real)
    scales = [ly for ly in d.layers if ly.name.startswith("pdisc_32_scale")]
    probe = keras.Model(d.input, [ly.output for ly in scales])
    for f in probe(real):
        assert float(np.sqrt(np.mean(np.square(np.asarray(f))))) == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(ValueError, match=">= 32"):
        build_projected_discriminator(16, cfg, alex=None)


def test_projected_config_checks():
    from facehalluc.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="adv_resolutions >= 32"):
        load_config("tiny", ["loss.adv_kind=projected"])
    with pytest.raises(ConfigError, match="needs loss.adv_kind=projected"):
        load_config("tiny", ["loss.lambda_fm=1"])
    cfg = load_config("realism")
    assert cfg.loss.adv_kind == "projected" and cfg.loss.adv_resolutions == (64, 128)
    assert cfg.model == load_config("shipped").model  # the shipped generator, so --init-from default fits


@pytest.mark.slow
def test_projected_training_step_trains_heads_only_and_ramps(tmp_path):
    from facehalluc.train.run import train

    cfg = small_config((16, 32), PROJ + ["loss.adv_diffaugment=color,translation,cutout"])
    src = synthetic_source(cfg, tmp_path, n=16, steps_per_epoch=2)
    res = train(cfg, tmp_path / "run", src, epochs=2, verbose=0)
    h = res.history
    assert res.state.global_step == 4 and all(np.isfinite(x["g_total"]) for x in h)
    assert h[-1]["b32_d"] > 0 and h[-1]["b32_fm"] > 0 and h[-1]["b16_d"] == 0
    # a fresh trainer, one step by hand: what trains and what stays frozen, and the ramp's value
    from facehalluc.train.trainer import GANTrainer, build_discriminators, make_optimizers
    from facehalluc.models import build_cascade
    from facehalluc.losses import build_loss_networks

    g = build_cascade(cfg)
    discs = build_discriminators((16, 32), cfg)
    frozen_before = [np.asarray(v.value) for v in discs[32].non_trainable_weights]
    t = GANTrainer(g, discs, cfg, build_loss_networks(cfg))
    t.compile(*make_optimizers(cfg))
    batch = next(iter(src.train(0)))
    heads_before = [np.asarray(v.value) for v in discs[32].trainable_weights]
    t.train_step(batch)
    assert float(t._adv_scale()) == pytest.approx(0.25)  # one step of a 4-step ramp
    for a, v in zip(frozen_before, discs[32].non_trainable_weights):
        np.testing.assert_array_equal(a, np.asarray(v.value))  # AlexNet, projections, scales frozen
    assert any(not np.array_equal(a, np.asarray(v.value)) for a, v in zip(heads_before, discs[32].trainable_weights))


# --------------------------------------------------------------------------------------- --init-from
@pytest.mark.slow
def test_init_from_a_run_dir_copies_the_generator_and_records_it(tmp_path, capsys):
    from facehalluc.train.run import train
    from facehalluc.store import RunDirError, load_generator

    cfg = small_config()
    src = synthetic_source(cfg, tmp_path / "d", n=16, steps_per_epoch=2)
    train(cfg, tmp_path / "a", src, epochs=1, verbose=0)
    # zero steps after the warm start: the new run's generator is exactly the source's
    train(cfg, tmp_path / "b", src, epochs=1, steps_per_epoch=1, verbose=0, init_from=tmp_path / "a")
    assert "generator initialised from" in capsys.readouterr().err
    rec = json.loads((tmp_path / "b" / "init_from.json").read_text())
    assert rec["kind"] == "run_dir" and rec["source_state"]["global_step"] == 2 and len(rec["sha256"]) == 64
    cmds = [json.loads(ln) for ln in (tmp_path / "b" / "commands.jsonl").read_text().splitlines()]
    assert cmds[-1]["init_from"] == str(tmp_path / "a") and "commit" in cmds[-1]["git"]
    # one step later the two differ, but the step started from a's weights: a's val loss ~ b's first
    ga, _ = load_generator(tmp_path / "a")
    gb, _ = load_generator(tmp_path / "b")
    x = np.zeros((2, 16, 16, 3), np.float32)  # a masked face: the context (zeros) is hallucinated
    x[:, 5:11, 5:11] = np.random.default_rng(0).uniform(0.2, 1.0, (2, 6, 6, 3))
    da = np.abs(np.asarray(ga(x)["out_16"]) - np.asarray(gb(x)["out_16"])).max()
    fresh = small_config(overrides=["train.seed=5"])
    train(fresh, tmp_path / "c", src, epochs=1, steps_per_epoch=1, verbose=0)
    gc, _ = load_generator(tmp_path / "c")
    dc = np.abs(np.asarray(ga(x)["out_16"]) - np.asarray(gc(x)["out_16"])).max()
    assert da < dc / 3  # one Adam step from a's weights stays near a; a fresh start does not
    # another architecture: a clear error naming the field
    other = small_config(overrides=["model.width_divisor=8"])
    with pytest.raises(RunDirError, match="model.width_divisor"):
        train(other, tmp_path / "e", src, epochs=1, steps_per_epoch=1, verbose=0, init_from=tmp_path / "a")


def test_init_from_default_loads_the_shipped_weights_exactly():
    from facehalluc.config import load_config
    from facehalluc.models import build_cascade
    from facehalluc.store.packed import read_packed_arrays
    from facehalluc.train.init_from import init_generator

    cfg = load_config("realism")
    g = build_cascade(cfg)
    rec = init_generator(g, cfg, "default", None)
    stored, _, manifest = read_packed_arrays()
    assert rec["kind"] == "packed" and rec["sha256"] == manifest["sha256"]
    for v in g.weights:
        np.testing.assert_array_equal(np.asarray(v.value), stored[v.path].astype(np.float32))


@pytest.mark.slow
def test_resume_prints_what_it_continues_from(tmp_path, capsys):
    from facehalluc.train.run import train

    cfg = small_config(overrides=["train.checkpoint_every_steps=2"])
    src = synthetic_source(cfg, tmp_path / "d", n=16, steps_per_epoch=2)
    train(cfg, tmp_path / "r", src, epochs=1, verbose=0)
    capsys.readouterr()
    changed = small_config(overrides=["train.checkpoint_every_steps=2", "train.g_lr=1e-4"])
    train(changed, tmp_path / "r", src, epochs=2, resume=True, verbose=0)
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if "resumed from" in ln)
    assert "global step 2 (epoch 1" in line and "d_lr 0.0005" in line
    assert "g_lr 0.0001 (checkpoint had 0.0005)" in line  # the config's rate replaces the restored one
    assert "WARNING: config differs" in line and "train.g_lr: 0.0005 -> 0.0001" in line
    assert "train.epochs" not in line  # extending a run is what --resume is for
    import h5py  # the rate really changed: the checkpoint written after the resume holds Adam's new rate

    with h5py.File(tmp_path / "r" / "checkpoint" / "state.h5", "r") as f:
        assert float(f["g_optimizer"]["1"][()]) == pytest.approx(1e-4) and int(f["g_optimizer"]["0"][()]) == 4
