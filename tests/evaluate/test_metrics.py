"""Known-answer tests of the paper's metrics (facehalluc.evaluate.metrics)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from facehalluc.evaluate import metrics as M


def _ssim_reference(x: np.ndarray, y: np.ndarray, win: int = 7) -> float:
    """Independent SSIM: explicit 7x7 windows over valid positions, sample covariances, channel mean."""
    c1, c2 = (0.01 * 1.0) ** 2, (0.03 * 1.0) ** 2
    vals = []
    for c in range(x.shape[-1]):
        wx = np.lib.stride_tricks.sliding_window_view(x[..., c], (win, win)).reshape(-1, win * win)
        wy = np.lib.stride_tricks.sliding_window_view(y[..., c], (win, win)).reshape(-1, win * win)
        mx, my = wx.mean(1), wy.mean(1)
        vx = wx.var(1, ddof=1)
        vy = wy.var(1, ddof=1)
        cxy = ((wx - mx[:, None]) * (wy - my[:, None])).sum(1) / (win * win - 1)
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
        vals.append(s.mean())
    return float(np.mean(vals))


def test_ssim_identical_is_one() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((2, 32, 32, 3))
    np.testing.assert_allclose(M.ssim_scores(x, x), [1.0, 1.0], atol=1e-12)


def test_ssim_matches_independent_reference() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((20, 24, 3))
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1)
    assert M.ssim_pair(x, y) == pytest.approx(_ssim_reference(x, y), abs=1e-9)


def test_ssim_decreases_with_noise() -> None:
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    img = np.stack([xx, yy, 0.5 * (xx + yy)], -1)
    scores = [M.ssim_pair(img, np.clip(img + s * rng.standard_normal(img.shape), 0, 1))
              for s in (0.01, 0.05, 0.1, 0.2, 0.4)]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores


def test_ssim_uint8_equals_float() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    assert M.ssim_scores(a, b)[0] == pytest.approx(M.ssim_scores(a / 255.0, b / 255.0)[0], abs=1e-12)


def test_ssim_rejects_bad_input() -> None:
    with pytest.raises(M.MetricInputError, match="range"):
        M.ssim_scores(np.full((1, 8, 8, 3), 2.0), np.zeros((1, 8, 8, 3)))
    with pytest.raises(M.MetricInputError, match="shape"):
        M.ssim_scores(np.zeros((1, 8, 8, 3)), np.zeros((1, 9, 8, 3)))


def test_pearson_known_values() -> None:
    a = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    b = np.array([[2.0, 4.0, 6.0], [3.0, 2.0, 1.0], [1.0, 0.0, 0.0]])
    # third pair by hand: a-mean=(-1/3,2/3,-1/3), b-mean=(2/3,-1/3,-1/3): cov=-1/3, |a|^2=|b|^2=2/3 -> -1/2
    np.testing.assert_allclose(M.pearson_match_scores(a, b), [1.0, -1.0, -0.5], atol=1e-12)
    assert M.mean_match_score(a, b) == pytest.approx(-0.5 / 3)


def test_pearson_matches_corrcoef_and_is_scale_invariant() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((5, 256)), rng.standard_normal((5, 256))
    ref = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
    np.testing.assert_allclose(M.pearson_match_scores(a, b), ref, atol=1e-12)
    np.testing.assert_allclose(M.pearson_match_scores(3 * a + 1, b), ref, atol=1e-12)
    with pytest.raises(M.MetricInputError, match="constant"):
        M.pearson_match_scores(np.ones((1, 4)), a[:1, :4])


def test_cosine_known_values() -> None:
    np.testing.assert_allclose(M.cosine_similarity_rows([[1, 0], [1, 1]], [[0, 1], [2, 2]]), [0.0, 1.0])


def test_frechet_identical_is_zero() -> None:
    rng = np.random.default_rng(5)
    f = rng.standard_normal((50, 8))
    assert M.frechet_distance_features(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_diagonal_closed_form() -> None:
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 0.5) ** 2  # |dmu|^2 + sum (sqrt a - sqrt b)^2
    assert M.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-10)


def test_frechet_non_commuting_2x2() -> None:
    s1 = np.array([[2.0, 1.0], [1.0, 2.0]])
    s2 = np.array([[1.0, 0.0], [0.0, 4.0]])
    assert not np.allclose(s1 @ s2, s2 @ s1)
    # For 2x2 matrices with positive eigenvalues, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M));
    # S1 S2 = [[2, 4], [1, 8]]: tr = 10, det = det S1 det S2 = 12.
    tr_sqrt = math.sqrt(10 + 2 * math.sqrt(12))
    expected = (1 + 4) + 4 + 5 - 2 * tr_sqrt  # mu difference (1, 2)
    assert M.frechet_distance([0, 0], s1, [1, 2], s2) == pytest.approx(expected, abs=1e-10)


def test_frechet_fast_path_agrees_with_sqrtm() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((80, 30)), rng.standard_normal((60, 30)) @ rng.standard_normal((30, 30))
    ref = M.frechet_distance_features(a, b)
    assert M.frechet_distance_features(a, b, fast=True) == pytest.approx(ref, rel=1e-8)
    s1 = np.array([[2.0, 1.0], [1.0, 2.0]])
    s2 = np.array([[1.0, 0.0], [0.0, 4.0]])
    expected = 14 - 2 * math.sqrt(10 + 2 * math.sqrt(12))
    assert M.frechet_distance([0, 0], s1, [1, 2], s2, fast=True) == pytest.approx(expected, abs=1e-10)
    # rank-deficient covariances (fewer samples than dimensions, the N1 x N2 SVD route), as in small FID runs
    c, d = rng.standard_normal((5, 40)), rng.standard_normal((7, 40)) + 0.5
    ref = M.frechet_distance_features(c, d)
    assert M.frechet_distance_features(c, d, fast=True) == pytest.approx(ref, rel=1e-5)  # sqrtm: singular
    sa, sb = M.gaussian_stats(c), M.gaussian_stats(d)
    # eigh of a singular covariance: sqrt of round-off eigenvalues (~1e-16) adds ~1e-8 each
    assert M.trace_sqrt_product_features(c, d) == pytest.approx(M.trace_sqrt_product_eigh(sa.sigma, sb.sigma),
                                                                rel=1e-6)


def test_frechet_singular_covariance_fallback() -> None:
    s = np.diag([1.0, 0.0])  # singular: sqrtm of the product is not finite-safe -> eps offset path
    d = M.frechet_distance([0, 0], s, [0, 0], np.diag([0.0, 1.0]))
    assert d == pytest.approx(2.0, abs=1e-4)


def test_frechet_grows_with_shift() -> None:
    rng = np.random.default_rng(6)
    f = rng.standard_normal((400, 4))
    g = rng.standard_normal((400, 4))
    ds = [M.frechet_distance_features(f, g + s) for s in (0.0, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(ds, ds[1:])), ds
    with pytest.raises(M.MetricInputError, match="2 samples"):
        M.gaussian_stats(f[:1])
