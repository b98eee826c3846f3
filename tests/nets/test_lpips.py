"""LPIPS-Alex Keras port vs an independent numpy reference, on synthetic and real weights/images."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from facehalluc.config import load_config
from facehalluc.nets import build_lpips, lpips_from_config
from facehalluc.weights import convert
from facehalluc.weights.torch_pickle import load_torch_file
from support.lpips_files import write_synthetic_lpips_files

ALEX = [(0, 4, 2), (3, 1, 2), (6, 1, 1), (8, 1, 1), (10, 1, 1)]  # torch index, stride, padding


# ------------------------------------------------------------------ independent numpy reference
def _conv_nchw(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """torch.nn.functional.conv2d for one image: x (C,H,W), w (O,C,kh,kw) → (O,H',W')."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(x, w.shape[2:], axis=(1, 2))[:, ::stride, ::stride]  # C,H',W',kh,kw
    return np.einsum("chwij,ocij->ohw", win, w, optimize=True) + b[:, None, None]


def _maxpool(x: np.ndarray) -> np.ndarray:
    return sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2].max(axis=(3, 4))


def reference_lpips(img0: np.ndarray, img1: np.ndarray, alex: dict, lin: dict, version: str) -> float:
    """LPIPS(img0, img1) for HWC images in [0, 1], following the official forward pass in float64."""
    feats = []
    for img in (img0, img1):
        x = np.transpose(img.astype(np.float64), (2, 0, 1)) * 2.0 - 1.0
        if version == "0.1":
            x = (x - np.array([-.030, -.088, -.188])[:, None, None]) / np.array([.458, .448, .450])[:, None, None]
        outs = []
        for k, (idx, stride, pad) in enumerate(ALEX):
            if k in (1, 2):
                x = _maxpool(x)
            x = np.maximum(_conv_nchw(x, alex[f"features.{idx}.weight"].astype(np.float64),
                                      alex[f"features.{idx}.bias"].astype(np.float64), stride, pad), 0)
            outs.append(x)
        feats.append(outs)
    total = 0.0
    for k in range(5):
        f0, f1 = feats[0][k], feats[1][k]
        n0 = f0 / (np.sqrt((f0 ** 2).sum(axis=0, keepdims=True)) + 1e-10)
        n1 = f1 / (np.sqrt((f1 ** 2).sum(axis=0, keepdims=True)) + 1e-10)
        w = lin[f"lin{k}.model.1.weight"].astype(np.float64).reshape(-1)
        total += float(np.einsum("chw,c->hw", (n0 - n1) ** 2, w).mean())
    return total


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", params=["synthetic", "real"])
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(cache_dir, source files) after converting both versions with the weights tool."""
    tmp = tmp_path_factory.mktemp(f"lpips_{request.param}")
    if request.param == "real":
        lpips_dir = request.getfixturevalue("lpips_dir")
        files = (lpips_dir / "alexnet_features_torchvision.pth", lpips_dir / "lpips_v0.0_alex.pth",
                 lpips_dir / "lpips_v0.1_alex.pth")
        force = False
    else:
        files = write_synthetic_lpips_files(tmp)
        force = True  # synthetic files do not match the official sha256
    cache = tmp / "cache"
    convert("lpips_alex_v0.0", [files[0], files[1]], cache=cache, force=force)
    convert("lpips_alex_v0.1", [files[2], files[0]], cache=cache, force=force)  # any order
    return cache, files


def _images(lfw: Path | None) -> tuple[np.ndarray, np.ndarray]:
    if lfw is not None:
        from PIL import Image

        a = np.asarray(Image.open(lfw / "George_W_Bush" / "George_W_Bush_0001.jpg"), np.float32) / 255.0
        b = np.asarray(Image.open(lfw / "Colin_Powell" / "Colin_Powell_0001.jpg"), np.float32) / 255.0
    else:
        from skimage import data

        a = data.astronaut()[:250, 100:350].astype(np.float32) / 255.0
        b = data.chelsea()[:250, :250].astype(np.float32) / 255.0
    return a[61:189, 61:189], b[61:189, 61:189]  # 128x128 centre crops


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    from support.paths import LFW

    return _images(LFW if LFW.is_dir() else None)


# ---------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("version", ["0.0", "0.1"])
def test_keras_matches_numpy_reference(converted, images, version: str) -> None:
    cache, files = converted
    cfg = load_config("paper", [f"weights.cache_dir={cache}", f"loss.lpips_version={version}"])
    model = lpips_from_config(cfg)
    alex = load_torch_file(files[0])
    lin = load_torch_file(files[1] if version == "0.0" else files[2])
    a, b = images
    noisy = np.clip(a + 0.05 * np.random.default_rng(1).standard_normal(a.shape), 0, 1).astype(np.float32)
    got = keras.ops.convert_to_numpy(model([np.stack([a, a]), np.stack([b, noisy])]))
    want = [reference_lpips(a, b, alex, lin, version), reference_lpips(a, noisy, alex, lin, version)]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert want[0] > 0.01 and want[1] > 0.001
    # non-square input of the minimum size the paper uses (32 x 48)
    got_small = float(keras.ops.convert_to_numpy(model([a[None, :32, :48], b[None, :32, :48]]))[0])
    assert got_small == pytest.approx(reference_lpips(a[:32, :48], b[:32, :48], alex, lin, version), abs=1e-5)


def test_v00_and_v01_differ_in_preprocessing() -> None:
    """Same weights in both versions: only the ScalingLayer differs, so distances differ."""
    rng = np.random.default_rng(5)
    m0, m1 = build_lpips("0.0"), build_lpips("0.1")
    for k in range(5):  # LPIPS lin weights are non-negative
        m0.get_layer(f"lin{k}").set_weights([np.abs(m0.get_layer(f"lin{k}").get_weights()[0])])
    m1.set_weights(m0.get_weights())
    a = rng.random((1, 48, 48, 3), dtype=np.float32)
    b = rng.random((1, 48, 48, 3), dtype=np.float32)
    d0 = float(keras.ops.convert_to_numpy(m0([a, b]))[0])
    d1 = float(keras.ops.convert_to_numpy(m1([a, b]))[0])
    assert d0 > 0 and d1 > 0 and abs(d0 - d1) > 1e-4 * d0


@pytest.mark.parametrize("converted", ["real"], indirect=True)  # a property of the trained weights
@pytest.mark.parametrize("version", ["0.0", "0.1"])
def test_real_lpips_monotonic_in_blur_and_noise(converted, images, version: str) -> None:
    cache, _ = converted
    from scipy.ndimage import gaussian_filter

    cfg = load_config("paper", [f"weights.cache_dir={cache}", f"loss.lpips_version={version}"])
    model = lpips_from_config(cfg)
    a, _ = images
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(a.shape).astype(np.float32)
    blurred = [gaussian_filter(a, sigma=(s, s, 0)) for s in (0.5, 1.0, 2.0, 4.0)]
    noisy = [np.clip(a + s * noise, 0, 1) for s in (0.02, 0.05, 0.1, 0.2)]
    batch = np.stack([a] + blurred + noisy).astype(np.float32)
    d = keras.ops.convert_to_numpy(model([np.repeat(a[None], len(batch), 0), batch]))
    assert d[0] == pytest.approx(0.0, abs=1e-7)
    assert np.all(np.diff(d[1:5]) > 0), d[1:5]
    assert np.all(np.diff(d[5:9]) > 0), d[5:9]
