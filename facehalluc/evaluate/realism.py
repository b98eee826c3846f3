"""Training-free realism measures of the hallucinated region: they share no network with any training loss.

LPIPS and FD-AlexNet use the AlexNet that L_pc (and the projected discriminator) train against, so a model's
advantage there is not independent evidence.  These measures use no learned weights at all:

* ``nss_fd`` -- **Fréchet distance of natural-scene statistics** (BRISQUE, Mittal et al. 2012): per image, the
  luminance (BT.601, 0-255) is turned into MSCN coefficients ``(I - mu) / (sigma + 1)`` with a Gaussian window
  (sigma 7/6, truncated at 3 sigma, as BRISQUE); inside the hallucinated region (outside the face mask, eroded
  by :data:`ERODE` pixels so the face boundary and the crop border do not count) it fits a generalised
  Gaussian (GGD: shape alpha, variance) to the coefficients and an asymmetric GGD (shape, mean, left and right
  variances) to each of the four neighbour products (horizontal, vertical, both diagonals): 18 numbers, at two
  scales (128 and the 2x box-downsampled 64): **36 features per image**.  The two sets' features are
  standardised by the *real* set's mean and standard deviation, then the Fréchet distance between Gaussians
  fitted to them is reported (0 for identical sets; dimensionless).
* ``contrast_ratio`` -- **luminance contrast relative to the real photos**: per image, the standard deviation
  of the luminance (0-1) over the (uneroded) hallucinated region; the measure is mean(fake) / mean(real) over
  the set (1 = as contrasty as the photos; a blurry average of many contexts is < 1).
* the corner **spectrum** bands of :mod:`facehalluc.evaluate.offline`.

The floors (real against real) and what blur does to each are measured by ``python -m
facehalluc.evaluate.realism_floors`` and reported in docs/evaluation.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.special import gamma as G

from facehalluc.evaluate.metrics import MetricInputError, frechet_distance_features
from facehalluc.utils.image import to_float, to_uint8

LUMA = (0.299, 0.587, 0.114)
#: pixels by which the hallucinated region is eroded before the NSS fits
ERODE = 3
#: BRISQUE's MSCN window and stabiliser (for 0-255 luminance)
MSCN_SIGMA = 7.0 / 6.0
MSCN_C = 1.0
N_FEATURES = 36
_ALPHAS = np.arange(0.2, 10.0, 0.001)
_R_GGD = G(1.0 / _ALPHAS) * G(3.0 / _ALPHAS) / G(2.0 / _ALPHAS) ** 2
_R_AGGD = G(2.0 / _ALPHAS) ** 2 / (G(1.0 / _ALPHAS) * G(3.0 / _ALPHAS))


def ggd_fit(x: np.ndarray) -> tuple[float, float]:
    """(shape alpha, variance) of a zero-mean generalised Gaussian, by BRISQUE's moment matching:
    ``rho = E[x^2] / E[|x|]^2`` and alpha from ``Gamma(1/a) Gamma(3/a) / Gamma(2/a)^2 = rho`` (grid 0.2..10,
    step 0.001)."""
    x = np.asarray(x, np.float64).ravel()
    if x.size < 2:
        raise MetricInputError("ggd_fit: need at least 2 samples")
    var = float(np.mean(x * x))
    e_abs = float(np.mean(np.abs(x)))
    if e_abs == 0.0:
        return float(_ALPHAS[-1]), 0.0
    rho = var / e_abs ** 2
    return float(_ALPHAS[np.argmin(np.abs(_R_GGD - rho))]), var


def aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """(shape alpha, mean eta, left variance, right variance) of an asymmetric GGD (BRISQUE's estimator)."""
    x = np.asarray(x, np.float64).ravel()
    left, right = x[x < 0], x[x > 0]
    sl = math.sqrt(float(np.mean(left * left))) if left.size else 0.0
    sr = math.sqrt(float(np.mean(right * right))) if right.size else 0.0
    if sl == 0.0 or sr == 0.0:
        return float(_ALPHAS[-1]), 0.0, sl * sl, sr * sr
    g = sl / sr
    r_hat = float(np.mean(np.abs(x))) ** 2 / float(np.mean(x * x))
    r_norm = r_hat * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
    a = float(_ALPHAS[np.argmin(np.abs(_R_AGGD - r_norm))])
    eta = (sr - sl) * G(2.0 / a) / G(1.0 / a) * math.sqrt(G(1.0 / a) / G(3.0 / a))
    return a, float(eta), sl * sl, sr * sr


def mscn(grey255: np.ndarray) -> np.ndarray:
    """MSCN coefficients of a 2-D luminance image in 0..255."""
    img = np.asarray(grey255, np.float64)
    mu = ndimage.gaussian_filter(img, MSCN_SIGMA, truncate=3.0, mode="nearest")
    var = ndimage.gaussian_filter(img * img, MSCN_SIGMA, truncate=3.0, mode="nearest") - mu * mu
    return (img - mu) / (np.sqrt(np.abs(var)) + MSCN_C)


_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))  # horizontal, vertical, main diagonal, anti-diagonal


def _scale_features(grey255: np.ndarray, region: np.ndarray) -> list[float]:
    c = mscn(grey255)
    if region.sum() < 16:
        raise MetricInputError("nss features: fewer than 16 pixels in the hallucinated region")
    feats = list(ggd_fit(c[region]))
    h, w = c.shape
    for dy, dx in _SHIFTS:
        y0, y1 = 0, h - dy
        x0, x1 = max(0, -dx), w - max(0, dx)
        a = c[y0:y1, x0:x1]
        b = c[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
        both = region[y0:y1, x0:x1] & region[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
        feats += list(aggd_fit((a * b)[both]))
    return feats


def luminance(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 or [0, 1] floats -> (N, H, W) luminance in [0, 1]."""
    x = to_float(images, np.float64)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise MetricInputError(f"expected (N, H, W, 3) images, got {x.shape}")
    return x @ np.asarray(LUMA)


def context_region(masks: np.ndarray, erode: int = 0) -> np.ndarray:
    """(N, H, W) bool: outside the face mask (non-zero = face), eroded by ``erode`` pixels (also from the
    image border)."""
    m = np.asarray(masks)
    if m.ndim == 4:
        m = m[..., 0]
    ctx = ~m.astype(bool)
    if erode <= 0:
        return ctx
    out = np.zeros_like(ctx)
    st = ndimage.generate_binary_structure(2, 1)
    for i in range(len(ctx)):
        padded = np.pad(ctx[i], 1, constant_values=False)
        out[i] = ndimage.binary_erosion(padded, st, iterations=erode)[1:-1, 1:-1]
    return out


def nss_features(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(N, 36) natural-scene statistics of the hallucinated region of each image (see the module doc)."""
    grey = luminance(images) * 255.0
    region = context_region(masks, ERODE)
    if region.shape != grey.shape:
        raise MetricInputError(f"masks {region.shape} do not match images {grey.shape}")
    out = np.zeros((len(grey), N_FEATURES))
    for i in range(len(grey)):
        g, r = grey[i], region[i]
        f1 = _scale_features(g, r)
        h2, w2 = g.shape[0] // 2, g.shape[1] // 2
        g2 = g[:2 * h2, :2 * w2].reshape(h2, 2, w2, 2).mean(axis=(1, 3))
        r2 = r[:2 * h2, :2 * w2].reshape(h2, 2, w2, 2).all(axis=(1, 3))
        out[i] = f1 + _scale_features(g2, r2)
    return out


def nss_fd(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """Fréchet distance between the two feature sets after standardising both by the real set's statistics."""
    r, f = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    mu, sd = r.mean(axis=0), r.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return max(0.0, frechet_distance_features((r - mu) / sd, (f - mu) / sd))


def region_contrast(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(N,) standard deviation of the luminance (0-1) over each image's hallucinated region."""
    grey = luminance(images)
    region = context_region(masks, 0)
    if region.shape != grey.shape:
        raise MetricInputError(f"masks {region.shape} do not match images {grey.shape}")
    if np.any(region.sum(axis=(1, 2)) < 2):
        raise MetricInputError("region_contrast: an image has fewer than 2 pixels outside its face mask")
    return np.array([grey[i][region[i]].std() for i in range(len(grey))])


@dataclass
class RealismResult:
    nss_fd: float
    contrast_ratio: float
    contrast_real: np.ndarray  # (N,)
    contrast_fake: np.ndarray  # (N,)


def realism_compare(real: np.ndarray, fake: np.ndarray, masks: np.ndarray) -> RealismResult:
    """Both measures for paired sets (the same faces; real = the photos, fake = the method's outputs)."""
    cr, cf = region_contrast(real, masks), region_contrast(fake, masks)
    return RealismResult(nss_fd=nss_fd(nss_features(real, masks), nss_features(fake, masks)),
                         contrast_ratio=float(cf.mean() / cr.mean()), contrast_real=cr, contrast_fake=cf)


def blur_region(images: np.ndarray, masks: np.ndarray, sigma: float) -> np.ndarray:
    """The images with their hallucinated region replaced by a Gaussian blur (sigma in pixels) of itself: the
    reference point 'real photos, blurred context' of docs/evaluation.md."""
    x = np.asarray(images)
    was_uint8 = x.dtype == np.uint8
    xf = x.astype(np.float64)
    blurred = ndimage.gaussian_filter(xf, (0, sigma, sigma, 0), truncate=3.0, mode="nearest")
    ctx = context_region(masks, 0)[..., None]
    out = np.where(ctx, blurred, xf)
    return to_uint8(out, peak=255.0) if was_uint8 else out
