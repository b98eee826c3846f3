"""The paper's pairwise and set metrics (§4 "Metrics for Quality Estimation"), in plain numpy/scipy.

Every function takes numpy arrays and returns python floats / numpy arrays, so it can be checked against
hand-computed values independently of any network:

* :func:`pearson_match_scores` / :func:`mean_match_score` -- Eq. 7, Pearson correlation between the feature
  vectors of each (original, hallucinated) pair and its mean over the dataset.
* :func:`ssim_pair` / :func:`ssim_scores` -- SSIM (Wang et al. 2004) of each RGB pair via scikit-image.
* :func:`frechet_distance` / :func:`gaussian_stats` -- the Fréchet distance between two Gaussians fitted to
  feature sets (FID when the features are Inception-v3 pool3 activations), float64 with a stable square root.
* :func:`cosine_similarity_rows` -- the identity proxy's score (dlib embeddings).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from skimage.metrics import structural_similarity

from ..utils.image import to_float
from ..utils.match import pearson_rows

log = logging.getLogger(__name__)

#: SSIM settings (documented in docs/faithfulness.md, section evaluation).  The paper does not state them;
#: these are scikit-image's defaults for float images in [0, 1]: a 7x7 uniform window, K1=0.01, K2=0.03,
#: the RGB channels scored separately and averaged (``channel_axis=-1``), data_range 1.0.
SSIM_WIN_SIZE = 7
SSIM_DATA_RANGE = 1.0
SSIM_GAUSSIAN_WEIGHTS = False


class MetricInputError(ValueError):
    """Inputs of a metric have the wrong shape, range or size."""


def _as_float_images(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise MetricInputError(f"{name}: expected images of shape (N, H, W, 3), got {x.shape}")
    if x.dtype == np.uint8:
        return to_float(x, np.float64)
    x = x.astype(np.float64)
    if x.size and (x.min() < -1e-6 or x.max() > 1.0 + 1e-6):
        raise MetricInputError(f"{name}: float images must lie in [0, 1], got range [{x.min()}, {x.max()}]")
    return x


def ssim_pair(real: np.ndarray, fake: np.ndarray, *, win_size: int = SSIM_WIN_SIZE,
              gaussian_weights: bool = SSIM_GAUSSIAN_WEIGHTS) -> float:
    """SSIM of one RGB pair (H, W, 3) in [0, 1] (or uint8), channels averaged."""
    r = _as_float_images(np.asarray(real)[None], "real")[0]
    f = _as_float_images(np.asarray(fake)[None], "fake")[0]
    if r.shape != f.shape:
        raise MetricInputError(f"ssim: real {r.shape} and fake {f.shape} differ in shape")
    return float(structural_similarity(r, f, win_size=win_size, data_range=SSIM_DATA_RANGE,
                                       channel_axis=-1, gaussian_weights=gaussian_weights))


def ssim_scores(real: np.ndarray, fake: np.ndarray, **kwargs: object) -> np.ndarray:
    """Per-pair SSIM of two image batches (N, H, W, 3) -> (N,) float64."""
    r = _as_float_images(real, "real")
    f = _as_float_images(fake, "fake")
    if r.shape != f.shape:
        raise MetricInputError(f"ssim: real {r.shape} and fake {f.shape} differ in shape")
    return np.array([ssim_pair(a, b, **kwargs) for a, b in zip(r, f)], dtype=np.float64)


def pearson_match_scores(f_orig: np.ndarray, f_hall: np.ndarray) -> np.ndarray:
    """Eq. 7 summand: Pearson correlation of each feature pair, rows of (N, D) arrays -> (N,) float64.

    Computed by the package's one match-score function, :func:`facehalluc.utils.match.pearson_rows`, over the
    D feature dimensions of one pair.  A constant feature vector has no defined correlation and raises
    (``on_constant="raise"``; the recognition ROC scores it 0 instead, see that module).
    """
    try:
        return pearson_rows(f_orig, f_hall, on_constant="raise")
    except ValueError as e:
        raise MetricInputError(str(e)) from e


def mean_match_score(f_orig: np.ndarray, f_hall: np.ndarray) -> float:
    """Eq. 7: rho = mean over pairs of the Pearson correlation of their feature vectors."""
    return float(pearson_match_scores(f_orig, f_hall).mean())


def cosine_similarity_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays -> (N,) float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise MetricInputError(f"cosine: expected two (N, D) arrays of equal shape, got {a.shape}, {b.shape}")
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    if np.any(den == 0):
        raise MetricInputError("cosine: a zero vector has no direction")
    return (a * b).sum(axis=1) / den


@dataclass(frozen=True)
class GaussianStats:
    """Mean (D,) and covariance (D, D) of a feature set, float64."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """Mean and unbiased covariance (``np.cov(rowvar=False)``, as pytorch-fid) of (N, D) features."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise MetricInputError(f"gaussian_stats: expected (N, D) features, got {f.shape}")
    if f.shape[0] < 2:
        raise MetricInputError(f"gaussian_stats: need at least 2 samples for a covariance, got {f.shape[0]}")
    if f.shape[0] <= f.shape[1]:
        log.warning("Fréchet distance on %d samples of %d-D features: the covariance is singular and the "
                    "score is strongly biased; compare only at equal N (FID is normally computed on >= 2048 "
                    "samples)", f.shape[0], f.shape[1])
    return GaussianStats(mu=f.mean(axis=0), sigma=np.atleast_2d(np.cov(f, rowvar=False)), n=f.shape[0])


def sqrtm_product(sigma1: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Real part of sqrtm(sigma1 @ sigma2), with pytorch-fid's fallbacks.

    If the product is (nearly) singular the square root is not finite; then eps*I is added to both
    covariances.  A noticeable imaginary part (|imag| > 1e-3 on the diagonal) means a numerical failure and
    raises; a tiny one is dropped.
    """
    covmean, _ = scipy.linalg.sqrtm(sigma1 @ sigma2, disp=False)
    if not np.isfinite(covmean).all():
        log.warning("Fréchet distance: singular product of covariances; adding %g to the diagonals", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ArithmeticError(f"Fréchet distance: imaginary component "
                                  f"{np.max(np.abs(covmean.imag)):.3g} in sqrtm(sigma1 sigma2)")
        covmean = covmean.real
    return covmean


def trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr sqrt(S1 S2) for symmetric PSD S1, S2 via two symmetric eigendecompositions (fast, always real).

    S1 S2 is similar to S1^1/2 S2 S1^1/2 (symmetric PSD), so the trace of its square root is the sum of the
    square roots of that matrix's eigenvalues (tiny negative round-off eigenvalues are clipped to 0).
    """
    w, v = np.linalg.eigh(sigma1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root @ sigma2 @ root
    ev = np.linalg.eigvalsh(0.5 * (m + m.T))
    return float(np.sqrt(np.clip(ev, 0.0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6, fast: bool = False) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)) in float64 (Dowson & Landau 1982; Heusel et al.).

    Default: ``scipy.linalg.sqrtm`` with pytorch-fid's fallbacks (:func:`sqrtm_product`), the reference
    computation.  ``fast=True`` uses :func:`trace_sqrt_product_eigh` (same value up to round-off, ~10x faster
    at D=2048); the tests check that both agree.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise MetricInputError(f"frechet_distance: shapes mu1 {mu1.shape}, mu2 {mu2.shape}, "
                               f"sigma1 {s1.shape}, sigma2 {s2.shape} do not match")
    diff = mu1 - mu2
    tr_covmean = trace_sqrt_product_eigh(s1, s2) if fast else float(np.trace(sqrtm_product(s1, s2, eps)))
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def trace_sqrt_product_features(real: np.ndarray, fake: np.ndarray) -> float:
    """Tr sqrt(S1 S2) straight from the samples, for unbiased covariances S1, S2 of (N1, D), (N2, D) features.

    With centred data A, B: S1 S2 = A^T A B^T B / c (c = (N1-1)(N2-1)), whose non-zero eigenvalues are those of
    (A B^T)(A B^T)^T / c, so Tr sqrt(S1 S2) = (sum of singular values of A B^T) / sqrt(c).  Exact, and costs an
    N1 x N2 SVD instead of a D x D matrix square root.
    """
    a = np.asarray(real, np.float64)
    b = np.asarray(fake, np.float64)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    c = (a.shape[0] - 1) * (b.shape[0] - 1)
    return float(np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt(c))


def frechet_distance_features(real: np.ndarray, fake: np.ndarray, fast: bool = False) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets.

    ``fast=False``: scipy ``sqrtm`` on the D x D covariances (pytorch-fid's computation).  ``fast=True``: the
    same quantity from an N1 x N2 SVD (:func:`trace_sqrt_product_features`) when that is smaller than D x D,
    else from symmetric eigendecompositions (:func:`trace_sqrt_product_eigh`).
    """
    a, b = gaussian_stats(real), gaussian_stats(fake)
    if not fast:
        return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    n1, n2, d = a.n, b.n, a.mu.size
    if b.mu.size != d:
        raise MetricInputError(f"frechet_distance_features: feature sizes {d} and {b.mu.size} differ")
    if n1 * n2 * min(n1, n2) < d ** 3:
        tr = trace_sqrt_product_features(real, fake)
    else:
        tr = trace_sqrt_product_eigh(a.sigma, b.sigma)
    diff = a.mu - b.mu
    return float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * tr)
