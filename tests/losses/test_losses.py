"""The five losses of §3.2 against hand-computed constants, and Eq. 6 assembly."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from facehalluc.config import load_config
from facehalluc.losses import (LOSS_KEYS, LossNetworks, block_generator_losses, build_loss_networks,
                               identity_loss, lsgan_discriminator_loss, lsgan_generator_loss,
                               pixel_loss, tv_loss)
from facehalluc.weights import MissingWeightsError


def f(x) -> float:
    return float(keras.ops.convert_to_numpy(x))


def test_pixel_loss_constants() -> None:
    y_true = np.array([[[[0.0], [1.0]]]], np.float32)  # (1, 1, 2, 1)
    y_pred = np.array([[[[0.5], [0.0]]]], np.float32)
    assert f(pixel_loss(y_true, y_pred, "l1")) == pytest.approx(0.75)  # (0.5 + 1) / 2
    assert f(pixel_loss(y_true, y_pred, "l2")) == pytest.approx(0.625)  # (0.25 + 1) / 2
    # mean over channels too: one channel wrong by 0.3 out of three
    a = np.zeros((1, 1, 1, 3), np.float32)
    b = np.array([[[[0.3, 0.0, 0.0]]]], np.float32)
    assert f(pixel_loss(a, b)) == pytest.approx(0.1)
    assert f(pixel_loss(a, b, channel_reduction="sum")) == pytest.approx(0.3)
    assert f(pixel_loss(a, b, "l2", channel_reduction="sum")) == pytest.approx(0.09)
    with pytest.raises(ValueError, match="l1"):
        pixel_loss(a, b, "l3")  # type: ignore[arg-type]


def test_tv_loss_constants() -> None:
    img = np.zeros((2, 2, 2, 1), np.float32)
    img[0, :, :, 0] = [[1, 2], [4, 8]]
    # horizontal: (2-1)^2 + (8-4)^2 = 17; vertical: (4-1)^2 + (8-2)^2 = 45; image 2 is flat
    assert f(tv_loss(img, "sum")) == pytest.approx(62.0)
    assert f(tv_loss(img, "sum_mean_batch")) == pytest.approx(31.0)
    # each difference map averaged over its 4 elements: 45/4 + 17/4
    assert f(tv_loss(img, "mean")) == pytest.approx(15.5)
    with pytest.raises(ValueError, match="reduction"):
        tv_loss(img, "max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NHWC"):
        tv_loss(img[0])


def test_lsgan_constants() -> None:
    assert f(lsgan_generator_loss(np.array([[0.5], [1.0]], np.float32))) == pytest.approx(0.125)
    assert f(lsgan_generator_loss(np.array([[0.5]], np.float32), target=0.0)) == pytest.approx(0.25)
    d_real = np.array([[0.9], [0.5]], np.float32)
    d_fake = np.array([[0.2], [0.0]], np.float32)
    # 0.5 * mean(0, 0.16) + 0.5 * mean(0.04, 0)
    assert f(lsgan_discriminator_loss(d_real, d_fake)) == pytest.approx(0.05)
    # without smoothing: 0.5 * mean(0.01, 0.25) + 0.5 * 0.02
    assert f(lsgan_discriminator_loss(d_real, d_fake, real_label=1.0)) == pytest.approx(0.075)


def test_identity_loss_constant() -> None:
    t = np.array([[1, 2], [3, 4]], np.float32)
    p = np.array([[1, 0], [0, 4]], np.float32)
    assert f(identity_loss(t, p)) == pytest.approx(3.25)  # (0 + 4 + 9 + 0) / 4


def _stub_nets() -> LossNetworks:
    """Tiny stand-ins: 'LPIPS' = per-image mean squared difference, 'VGG-Face' = channel means."""
    x = keras.Input((None, None, 3))
    y = keras.Input((None, None, 3))
    d = keras.layers.Subtract()([x, y])
    per_image = keras.layers.GlobalAveragePooling2D()(keras.layers.Multiply()([d, d]))
    lp = keras.Model([x, y], keras.layers.Reshape(())(
        keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(per_image)))
    z = keras.Input((None, None, 3))
    vg = keras.Model(z, keras.layers.GlobalAveragePooling2D()(z))
    return LossNetworks(lpips=lp, vggface=vg)


def _expected(yt: np.ndarray, yp: np.ndarray, d: np.ndarray, pc_on: bool) -> dict[str, float]:
    e = {"pixel": np.abs(yt - yp).mean(),
         "pc": ((yt - yp) ** 2).mean(axis=(1, 2)).sum(axis=1).mean() if pc_on else 0.0,
         "adv": ((d - 1.0) ** 2).mean(),
         "id": ((yt.mean(axis=(1, 2)) - yp.mean(axis=(1, 2))) ** 2).mean(),
         "tv": (((yp[:, 1:] - yp[:, :-1]) ** 2).sum(axis=(1, 2, 3))
                + ((yp[:, :, 1:] - yp[:, :, :-1]) ** 2).sum(axis=(1, 2, 3))).mean()}
    return e


@pytest.mark.parametrize("resolution", [16, 32])
def test_block_generator_losses_eq6(resolution: int) -> None:
    rng = np.random.default_rng(1)
    cfg = load_config("paper", ["loss.lambda_tv=0.01"])
    yt = rng.random((2, resolution, resolution, 3), dtype=np.float32)
    yp = rng.random((2, resolution, resolution, 3), dtype=np.float32)
    d = rng.random((2, 1), dtype=np.float32)
    out = block_generator_losses(yt, yp, d, resolution, cfg, _stub_nets())
    assert tuple(out) == LOSS_KEYS
    e = _expected(yt, yp, d, pc_on=resolution >= 32)
    for k in ("pixel", "pc", "adv", "id", "tv"):
        assert f(out[k]) == pytest.approx(e[k], rel=1e-5), k
    total = e["pixel"] + 1.0 * e["pc"] + 0.1 * e["adv"] + 10.0 * e["id"] + 0.01 * e["tv"]
    assert f(out["total"]) == pytest.approx(total, rel=1e-5)


def test_block_generator_losses_switches() -> None:
    rng = np.random.default_rng(2)
    yt = rng.random((2, 32, 32, 3), dtype=np.float32)
    yp = rng.random((2, 32, 32, 3), dtype=np.float32)
    cfg = load_config("paper", ["loss.use_pc=false", "loss.use_id=false", "loss.use_tv=false",
                                "loss.pixel=l2"])
    out = block_generator_losses(yt, yp, None, 32, cfg, LossNetworks())
    assert f(out["pixel"]) == pytest.approx(((yt - yp) ** 2).mean(), rel=1e-6)
    assert f(out["pc"]) == f(out["id"]) == f(out["tv"]) == f(out["adv"]) == 0.0
    assert f(out["total"]) == pytest.approx(f(out["pixel"]))
    with pytest.raises(ValueError, match="lpips is None"):
        block_generator_losses(yt, yp, None, 32, load_config("paper"), LossNetworks())


def test_build_loss_networks_missing_weights(tmp_path: Path) -> None:
    cfg = load_config("paper", [f"weights.cache_dir={tmp_path}"])
    with pytest.raises(MissingWeightsError) as info:
        build_loss_networks(cfg)
    msg = str(info.value)
    assert "python -m facehalluc.weights convert lpips_alex_v0.0 --src" in msg
    assert "python -m facehalluc.weights fetch lpips_alex_v0.0" in msg
    cfg.loss.use_pc = False
    with pytest.raises(MissingWeightsError, match="convert vggface --src rcmalli_vggface_tf_vgg16.h5"):
        build_loss_networks(cfg)
    cfg.loss.use_id = False
    nets = build_loss_networks(cfg)
    assert nets.lpips is None and nets.vggface is None


def test_build_loss_networks_random_tiny(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = load_config("tiny", [f"weights.cache_dir={tmp_path}", "weights.allow_random=true"])
    with caplog.at_level("WARNING"):
        nets = build_loss_networks(cfg)
    assert "RANDOM" in caplog.text
    assert nets.lpips is not None and nets.vggface is not None
    assert not nets.lpips.trainable_weights and not nets.vggface.trainable_weights
    x = np.random.default_rng(3).random((2, 32, 32, 3), dtype=np.float32)
    assert tuple(nets.lpips([x, x]).shape) == (2,)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(nets.lpips([x, x])), 0.0, atol=1e-6)
    assert tuple(nets.vggface(x).shape) == (2, 4096)
    y = np.random.default_rng(4).random((2, 32, 32, 3), dtype=np.float32)
    assert (keras.ops.convert_to_numpy(nets.lpips([x, y])) > 0).all()


def test_missing_weights_switch_terms_off_in_cpu_presets(tmp_path: Path) -> None:
    from facehalluc.losses import disable_missing_loss_terms

    tiny = load_config("tiny", [f"weights.cache_dir={tmp_path}"])
    off, msgs = disable_missing_loss_terms(tiny)
    assert not off.loss.use_pc and not off.loss.use_id and len(msgs) == 2
    assert "L_pc switched off" in msgs[0] and "lpips_alex_v0.0" in msgs[0]
    assert tiny.loss.use_pc and tiny.loss.use_id  # the caller's config is not changed
    with pytest.raises(MissingWeightsError):
        build_loss_networks(tiny)  # on_missing only acts through disable_missing_loss_terms
    assert build_loss_networks(off).lpips is None
    # explicit random weights, or the paper preset: nothing is switched off
    rand = load_config("tiny", [f"weights.cache_dir={tmp_path}", "weights.allow_random=true"])
    assert disable_missing_loss_terms(rand) == (rand, [])
    paper = load_config("paper", [f"weights.cache_dir={tmp_path}"])
    assert disable_missing_loss_terms(paper) == (paper, [])
