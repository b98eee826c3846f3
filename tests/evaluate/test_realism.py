"""The training-free realism measures (facehalluc.evaluate.realism) against hand-computable cases."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import gennorm

from facehalluc.evaluate import realism as R
from facehalluc.evaluate.metrics import MetricInputError


# (shape, tolerance): the moment-matching estimate's error over seeds 0..9 at 200,000 samples was at most
# 0.006 (0.8), 0.011 (1.0), 0.020 (2.0) and 0.037 (3.0): the estimator gets noisier as the tails thin.  Each
# tolerance is about twice the worst of those ten; seed 0 is fixed, so the test is deterministic anyway.
@pytest.mark.parametrize("beta,tol", [(0.8, 0.015), (1.0, 0.025), (2.0, 0.04), (3.0, 0.08)])
def test_ggd_fit_recovers_a_known_shape(beta, tol):
    x = gennorm.rvs(beta, scale=1.5, size=200_000, random_state=np.random.default_rng(0))
    alpha, var = R.ggd_fit(x)
    assert abs(alpha - beta) < tol
    np.testing.assert_allclose(var, np.mean(x * x), rtol=1e-12)


def test_aggd_fit_of_a_symmetric_sample_has_no_skew_and_equal_sides():
    x = gennorm.rvs(2.0, size=200_000, random_state=np.random.default_rng(1))
    a, eta, vl, vr = R.aggd_fit(x)
    assert abs(a - 2.0) < 0.04 and abs(eta) < 0.01
    np.testing.assert_allclose(vl, vr, rtol=0.02)


def test_aggd_fit_sign_of_the_mean_follows_the_heavier_side():
    rng = np.random.default_rng(2)
    x = np.concatenate([-np.abs(rng.normal(0, 1, 50_000)), np.abs(rng.normal(0, 3, 50_000))])
    _, eta, vl, vr = R.aggd_fit(x)
    assert eta > 0 and vr > 5 * vl


def test_mscn_of_a_constant_image_is_zero():
    np.testing.assert_array_equal(R.mscn(np.full((32, 32), 100.0)), 0.0)


def test_region_contrast_by_hand():
    img = np.zeros((1, 8, 8, 3), np.uint8)
    img[0, :, 4:] = 255  # luminance 0 on the left half, 1 on the right half
    mask = np.zeros((1, 8, 8), np.uint8)
    mask[0, 0, 0] = 1  # one face pixel (luminance 0) is left out: 31 zeros and 32 ones
    v = R.region_contrast(img, mask)
    p = 32 / 63
    np.testing.assert_allclose(v, [np.sqrt(p * (1 - p))], rtol=1e-12)


def _textured(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n 64x64 images of 1/f noise (photo-like spectrum) with a central 'face' mask."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(64)
    amp = 1.0 / np.maximum(np.hypot(f[:, None], f[None, :]), 1 / 64)
    imgs = []
    for _ in range(n):
        ph = np.exp(2j * np.pi * rng.uniform(size=(64, 64, 3)))
        x = np.real(np.fft.ifft2(amp[..., None] * ph, axes=(0, 1)))
        x = (x - x.mean()) / x.std() * 40 + 128
        imgs.append(np.clip(x, 0, 255))
    masks = np.zeros((n, 64, 64), np.uint8)
    masks[:, 20:44, 22:42] = 1
    return np.rint(np.stack(imgs)).astype(np.uint8), masks


def test_identical_sets_give_zero_and_blur_raises_the_distance():
    imgs, masks = _textured(40)
    same = R.realism_compare(imgs, imgs, masks)
    assert same.nss_fd == pytest.approx(0.0, abs=1e-8) and same.contrast_ratio == 1.0
    d = [R.realism_compare(imgs, R.blur_region(imgs, masks, s), masks) for s in (1.0, 2.0, 4.0)]
    assert 0 < d[0].nss_fd < d[1].nss_fd < d[2].nss_fd
    assert 1.0 > d[0].contrast_ratio > d[1].contrast_ratio > d[2].contrast_ratio
    # the face pixels are untouched by blur_region
    np.testing.assert_array_equal(R.blur_region(imgs, masks, 2.0)[masks == 1], imgs[masks == 1])


def test_other_real_images_are_much_closer_than_blurred_ones():
    a, masks = _textured(40, seed=0)
    b, _ = _textured(40, seed=1)
    other = R.nss_fd(R.nss_features(a, masks), R.nss_features(b, masks))
    blurred = R.realism_compare(a, R.blur_region(a, masks, 2.0), masks).nss_fd
    assert other < blurred / 3


def test_nss_features_need_a_hallucinated_region():
    imgs, _ = _textured(2)
    with pytest.raises(MetricInputError, match="fewer than 16"):
        R.nss_features(imgs, np.ones((2, 64, 64), np.uint8))
