"""Offline baselines (facehalluc.evaluate.baselines) and offline measures (facehalluc.evaluate.offline),
against hand computations on data the tests make (a tiny synthetic HDF5 in the real schema)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from facehalluc.evaluate import baselines as B
from facehalluc.evaluate.cli.baselines import main as baselines_main
from facehalluc.evaluate import offline as O
from facehalluc.evaluate.images import load_image, load_masks


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, np.ndarray]]:
    """A 12-face synthetic dataset (train: 8 faces, val: 4) and the baselines written for its val split."""
    from facehalluc.data import write_synthetic_dataset

    tmp = tmp_path_factory.mktemp("baselines")
    h5 = write_synthetic_dataset(tmp / "syn.h5", n=12, val_fraction=0.34, seed=3)
    with h5py.File(h5, "r") as f:
        arrays = {k: f[k][()] for k in ("aligned", "masked", "mask", "split")}
    assert (arrays["split"] == 0).sum() == 8 and (arrays["split"] == 1).sum() == 4
    assert baselines_main(["--data", str(h5), "--split", "val", "--out", str(tmp / "out"), "--quiet",
                   "--grid", str(tmp / "grid.png"), "--grid-n", "3"]) == 0
    return h5, tmp / "out", arrays


def test_every_baseline_written_and_face_pixels_kept(tiny) -> None:  # type: ignore[no-untyped-def]
    h5, out, a = tiny
    val = np.flatnonzero(a["split"] == 1)
    names = ["0", "1", "2", "3"]  # positions in the split, as evaluate.py --model names its pairs
    for folder in ("real", "mask", *B.METHODS):
        assert sorted(p.stem for p in (out / folder).glob("*.png")) == names, folder
    for i, row in enumerate(val):
        np.testing.assert_array_equal(load_image(out / "real" / f"{i}.png"), a["aligned"][row])
        face = a["mask"][row].astype(bool)
        for m in B.METHODS:
            img = load_image(out / m / f"{i}.png")
            # the face pixels are the input's, bit for bit
            np.testing.assert_array_equal(img[face], a["masked"][row][face], err_msg=m)
        # the masked baseline is the input itself
        np.testing.assert_array_equal(load_image(out / "masked" / f"{i}.png"), a["masked"][row])
    np.testing.assert_array_equal(load_masks(out / "mask", names), a["mask"][val])
    man = json.loads((out / "baselines.json").read_text())
    assert man["n_faces"] == 4 and man["settings"]["median_train_images"] == 8
    assert man["settings"]["inpaint_radius_px"] == B.INPAINT_RADIUS
    idx = list(csv.DictReader((out / "index.csv").open()))
    assert [int(r["row"]) for r in idx] == val.tolist()
    assert (out.parent / "grid.png").stat().st_size > 1000


def test_inpainting_changes_the_background(tiny) -> None:  # type: ignore[no-untyped-def]
    _, out, a = tiny
    bg = ~a["mask"][np.flatnonzero(a["split"] == 1)[0]].astype(bool)
    masked = load_image(out / "masked" / "0.png")
    for m in ("telea", "ns", "biharmonic", "median_fill"):
        # the synthetic backgrounds are bright gradients, so any fill is far from the masked input's zeros
        assert load_image(out / m / "0.png")[bg].mean() > masked[bg].mean() + 20, m


def test_median_fill_is_the_train_median(tiny) -> None:  # type: ignore[no-untyped-def]
    h5, out, a = tiny
    train = a["aligned"][a["split"] == 0]
    want = np.median(train.astype(np.float64), axis=0)  # 8 images: mean of the 4th and 5th values
    got, n = B.train_median(h5, chunk=5)  # a chunk size that splits the train rows unevenly
    assert n == 8
    np.testing.assert_array_equal(got, want)  # halves of integers: exact in float64
    fill = np.rint(want).astype(np.uint8)
    np.testing.assert_array_equal(load_image(out / "median_train.png"), fill)
    for i, row in enumerate(np.flatnonzero(a["split"] == 1)):
        face = a["mask"][row].astype(bool)[..., None]
        np.testing.assert_array_equal(load_image(out / "median_fill" / f"{i}.png"),
                                      np.where(face, a["masked"][row], fill))


def test_sample_indices_sorted_by_source(tiny) -> None:  # type: ignore[no-untyped-def]
    h5, _, a = tiny
    with h5py.File(h5, "r") as f:
        src = [s.decode() for s in f["source"][()]]
    val = np.flatnonzero(a["split"] == 1)
    want = sorted(val.tolist(), key=lambda r: src[r])[:3]
    assert B.sample_indices(h5, 3).tolist() == want
    with pytest.raises(B.BaselineError, match="cannot sample 5"):
        B.sample_indices(h5, 5)


def test_errors_and_stale_outputs(tiny, tmp_path: Path,  # type: ignore[no-untyped-def]
                                  capsys: pytest.CaptureFixture[str]) -> None:
    h5, out, _ = tiny
    assert baselines_main(["--data", str(h5), "--out", str(tmp_path / "o"), "--methods", "magic", "--quiet"]) == 2
    assert "unknown methods ['magic']" in capsys.readouterr().err
    # a second run with fewer faces into the same folder would leave unpaired stale images: refused
    assert baselines_main(["--data", str(h5), "--out", str(out), "--limit", "2", "--quiet"]) == 2
    assert "would break the pairing" in capsys.readouterr().err
    assert baselines_main(["--data", str(tmp_path / "none.h5"), "--out", str(tmp_path / "o"), "--quiet"]) == 2


# ------------------------------------------------------------------------------------- L1 outside the mask
def test_l1_outside_mask_by_hand() -> None:
    real = np.zeros((1, 2, 2, 3), np.uint8)
    fake = real.copy()
    fake[0, 0, 0] = [255, 0, 0]  # outside: |diff| = 1 on one channel
    fake[0, 1, 1] = [255, 255, 255]  # inside the mask: ignored
    mask = np.array([[[0, 0], [0, 1]]], np.uint8)
    # 3 outside pixels x 3 channels = 9 values, one of them 1
    assert O.l1_outside_mask(real, fake, mask)[0] == pytest.approx(1 / 9, abs=1e-15)
    with pytest.raises(ValueError, match="no pixel outside"):
        O.l1_outside_mask(real, fake, np.ones((1, 2, 2), np.uint8))


# ------------------------------------------------------------------------------------- FD-AlexNet
def test_fd_one_and_two_dimensional_by_hand() -> None:
    # 1-D: real {0, 2}: mean 1, unbiased var 2; fake {1, 5}: mean 3, var 8
    # d^2 = (1-3)^2 + 2 + 8 - 2 sqrt(2*8) = 4 + 10 - 8 = 6
    assert O.fd_alexnet(np.array([[0.0], [2.0]]), np.array([[1.0], [5.0]])) == pytest.approx(6.0, abs=1e-9)
    # 2-D, independent axes: real = (+-1, +-1) corners -> mean 0, cov (4/3) I; fake = 2*real + (3, 0):
    # mean (3, 0), cov (16/3) I.  d^2 = 9 + 2*(4/3 + 16/3 - 2*sqrt(64/9)) = 9 + 2*(20/3 - 16/3) = 9 + 8/3
    real = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], np.float64)
    fake = 2 * real + np.array([3.0, 0.0])
    assert O.fd_alexnet(real, fake) == pytest.approx(9 + 8 / 3, abs=1e-9)
    assert O.fd_alexnet(real, real) == pytest.approx(0.0, abs=1e-9)


def test_fd_fast_path_matches_sqrtm_when_n_below_d() -> None:
    from facehalluc.evaluate.metrics import frechet_distance_features

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 40)), rng.standard_normal((20, 40)) * 1.5 + 0.2
    # singular 40x40 covariances: scipy's sqrtm with its eps fallback vs the exact N x N SVD; both float64
    assert O.fd_alexnet(a, b) == pytest.approx(frechet_distance_features(a, b, fast=False), rel=1e-6)


def _numpy_alex_gap(img: np.ndarray, w: dict[str, list[np.ndarray]]) -> np.ndarray:
    """Independent float64 reference: ImageNet normalisation, AlexNet convs (HWIO), ReLU, spatial means."""
    from numpy.lib.stride_tricks import sliding_window_view

    x = (img.astype(np.float64) - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    feats = []
    for k, (stride, pad) in enumerate(((4, 2), (1, 2), (1, 1), (1, 1), (1, 1))):
        if k in (1, 2):
            x = sliding_window_view(x, (3, 3), axis=(0, 1))[::2, ::2].max(axis=(-2, -1))
        kern, bias = (np.asarray(v, np.float64) for v in w[f"alex_conv{k + 1}"])
        xp = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
        win = sliding_window_view(xp, kern.shape[:2], axis=(0, 1))[::stride, ::stride]  # H', W', C, kh, kw
        x = np.maximum(np.einsum("hwcij,ijco->hwo", win, kern, optimize=True) + bias, 0.0)
        feats.append(x.mean(axis=(0, 1)))
    return np.concatenate(feats)


@pytest.mark.parametrize("weights", ["random", "real"])
def test_alexnet_features_match_numpy(weights: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from facehalluc.nets.lpips import build_lpips

    lp = build_lpips("0.1")
    if weights == "real":
        from facehalluc.weights import convert

        d = request.getfixturevalue("lpips_dir")  # skips when /work/shared is absent
        path = convert("lpips_alex_v0.1", [d / "alexnet_features_torchvision.pth", d / "lpips_v0.1_alex.pth"],
                       cache=tmp_path)
        lp.load_weights(str(path))
    feat = O.alexnet_feature_model(lp)
    w = {f"alex_conv{k}": lp.get_layer(f"alex_conv{k}").get_weights() for k in range(1, 6)}
    img = np.random.default_rng(1).random((64, 64, 3)).astype(np.float32)
    got = np.asarray(feat(img[None]))[0]
    assert got.shape == (O.ALEX_FEATURE_DIM,)
    want = _numpy_alex_gap(img, w)
    # float32 convolutions over up to 3456-term sums vs float64: relative error ~1e-6, margin x100
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


# ------------------------------------------------------------------------------------- spectrum
def _textured(n: int, seed: int) -> np.ndarray:
    """Smooth random backgrounds (Gaussian-filtered noise) with mild pixel noise, in [0, 1]."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    base = gaussian_filter(rng.standard_normal((n, 128, 128, 3)), sigma=(0, 2, 2, 0))
    return np.clip(0.5 + 0.6 * base + 0.02 * rng.standard_normal(base.shape), 0, 1)


def _centre_mask(n: int) -> np.ndarray:
    m = np.zeros((n, 128, 128), np.uint8)
    m[:, 40:110, 35:93] = 1
    return m


def test_spectrum_identical_is_zero() -> None:
    real = _textured(3, 0)
    s = O.spectrum_compare(real, real.copy(), _centre_mask(3))
    assert s.hf_excess_db == 0.0 and s.mid_excess_db == 0.0 and np.all(s.excess_db == 0.0)
    assert np.all(s.per_image == 0.0) and np.all(s.per_image_mid == 0.0)
    assert s.n_patches == 12 and s.freq[-1] == pytest.approx(23 / 32)


def test_spectrum_checkerboard_positive_blur_negative() -> None:
    from scipy.ndimage import gaussian_filter

    real = _textured(4, 1)
    mask = _centre_mask(4)
    yy, xx = np.mgrid[0:128, 0:128]
    checker = 0.04 * np.where((yy + xx) % 2 == 0, 1.0, -1.0)[None, ..., None]
    bg = ~mask.astype(bool)[..., None]
    s_check = O.spectrum_compare(real, np.clip(real + checker * bg, 0, 1), mask)
    s_blur = O.spectrum_compare(real, np.where(bg, gaussian_filter(real, (0, 1.5, 1.5, 0)), real), mask)
    # measured (seeds 1-3): checker HF +10.0..+10.9 dB, mid ~1e-15; blur (float, no 8-bit noise) HF ~-80 dB,
    # mid ~-44 dB.  The bounds fix the signs with margins far above that spread.
    assert s_check.hf_excess_db > 3.0 and np.all(s_check.per_image > 0)
    assert abs(s_check.mid_excess_db) < 1.0  # the period-2 pattern leaves the mid band (Hann leaks +-1 bin)
    assert s_blur.hf_excess_db < -10.0 and np.all(s_blur.per_image < 0)
    assert s_blur.mid_excess_db < -5.0 and np.all(s_blur.per_image_mid < 0)
    # the checkerboard's power sits at (0.5, 0.5) cycles/pixel: the last radial bin gets the largest excess
    assert np.argmax(s_check.excess_db) == O.N_BINS - 1


def test_spectrum_drops_corners_that_touch_the_mask() -> None:
    real = _textured(2, 2)
    mask = _centre_mask(2)
    mask[0, 120, 5] = 1  # image 0: bottom-left corner touches its mask
    use = O.usable_corners(mask)
    assert use.tolist() == [[True, True, False, True], [True, True, True, True]]
    fake = real.copy()
    fake[0, 100:, :30] = 0.0  # changes only the dropped corner of image 0
    s = O.spectrum_compare(real, fake, mask)
    assert s.hf_excess_db == 0.0 and s.n_patches == 7 and s.corners_used["bottom_left"] == 1


def test_radial_spectrum_of_a_pure_cosine() -> None:
    # cos(2 pi 8 x / 32) along x: all power in radial bin 8 (Hann spreads it to bins 7..9 only)
    x = np.cos(2 * np.pi * 8 * np.arange(32) / 32)[None, :].repeat(32, 0)
    p = O.radial_power_spectrum(x[None])[0]
    assert set(np.flatnonzero(p > 1e-12 * p.max())) <= {7, 8, 9} and np.argmax(p) == 8


# ------------------------------------------------------------------------------------- evaluate.py + table
def test_evaluate_and_cpu_table_on_baselines(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from facehalluc.evaluate.cli import main as evaluate
    from facehalluc.evaluate.cli.table import main as table

    _, out, a = tiny
    res = []
    for m in ("masked", "telea", "real"):
        p = tmp_path / f"{m}.json"
        # no weights in an empty cache: LPIPS / FD-AlexNet 'unavailable'; masks found beside --real
        assert evaluate(["--real", str(out / "real"), "--fake", str(out / m), "--out", str(p), "--quiet",
                         "--metrics", "ssim", "--proxies", "lpips,l1_bg,spectrum,fd_alexnet", "--name", m,
                         "--weights-dir", str(tmp_path / "empty"), "--no-figures"]) == 0
        res.append(p)
    got = json.loads((tmp_path / "masked.json").read_text())["proxies"]
    val = np.flatnonzero(a["split"] == 1)
    want = O.l1_outside_mask(a["aligned"][val], a["masked"][val], a["mask"][val]).mean()
    assert got["l1_background"]["value"] == pytest.approx(want, abs=1e-12)
    assert got["lpips_v0.1"]["status"] == "unavailable" and "convert lpips_alex_v0.1" in got["lpips_v0.1"]["command"]
    assert got["spectrum_hf_excess_db"]["value"] < -50  # all-zero corners: floored by POWER_EPS
    same = json.loads((tmp_path / "real.json").read_text())["proxies"]
    assert same["l1_background"]["value"] == 0.0 and same["spectrum_hf_excess_db"]["value"] == 0.0
    rows = list(csv.reader((tmp_path / "masked_spectrum.csv").open()))
    assert rows[0][:3] == ["method", "bin", "freq_cycles_per_pixel"] and len(rows) == 1 + O.N_BINS
    assert table([*map(str, res), "--layout", "cpu", "--out", str(tmp_path / "t")]) == 0
    body = list(csv.reader((tmp_path / "t" / "cpu.csv").open()))
    head = body[0]
    assert head[0] == "Method" and head[-1] == "N pairs"
    assert "LPIPS v0.1 (≈ training loss L_pc, not independent) ↓" in head
    assert "FD-AlexNet (proxy; NOT FID) ↓" in head and "Mean SSIM ↑" in head
    assert not any("FID ↓" == h or h.startswith("FID") for h in head)
    assert [r[0] for r in body[1:]] == ["masked", "telea", "real"]
    md = (tmp_path / "t" / "cpu.md").read_text()
    assert "Table 1 at CPU scale" in md and "NOT FID" in md
    assert (tmp_path / "t" / "cpu_spectrum.png").stat().st_size > 1000
    # a per-image CSV is accepted as a row too (its columns' means)
    assert table([str(tmp_path / "telea.json"), str(tmp_path / "telea_per_image.csv"), "--layout", "cpu",
                  "--out", str(tmp_path / "t2"), "--no-plot"]) == 0
