"""Offline measures (not the paper's metrics): what can be scored here without the paper's metric networks.

Each measure has a result key (under ``proxies`` in the result JSON), a label that says what it is, and a
direction (see :data:`MEASURES` and docs/evaluation.md, section *Offline measures*):

* ``lpips_v0.1`` -- LPIPS v0.1 (AlexNet + lin, the official weights) between the original and the
  hallucinated image, per pair.  It is (almost) the training loss L_pc, so it is **not independent** of the
  model's training objective.
* ``l1_background`` -- mean absolute error in [0, 1] units over the hallucinated pixels only (outside the
  face mask, all three channels), per pair.  Needs the masks.
* ``fd_alexnet`` -- Fréchet distance between Gaussians fitted to AlexNet features of the original set and of
  the hallucinated set (the five ReLU layers LPIPS uses, each spatially averaged, concatenated: 1152-D).
  A set-level proxy computed like FID on another network; **it is NOT FID** and not comparable with FID.
* ``spectrum_hf_excess_db`` / ``spectrum_mid_excess_db`` -- a training-free artefact measure: radially
  averaged power spectra of the four 32x32 corner patches of the 128x128 crop (background only), hallucinated
  vs original, summarised as the mean log-power excess (dB) over the top radial-frequency band (>= 0.5
  cycles/pixel: where period-2 checkerboards of pixel shuffle / 2x upsampling put their power) and over the
  band below it (0.25-0.47 cycles/pixel: the detail a 64 -> 128 upsampler must invent).  See
  :func:`spectrum_compare`.  Positive = excess power (checkerboard / ghosting / noise / streaks), negative =
  missing detail (smearing); 0 = the originals' spectrum.  Two bands, because a mean over one wide band lets a
  smeared fill with sharp streaks cancel to ~0.  Needs the masks (a corner that overlaps an image's face mask
  is dropped for that image).

Everything here is numpy (plus the Keras AlexNet feature model of :func:`alexnet_feature_model`), so the tests
check it against hand computations.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from facehalluc.evaluate.metrics import MetricInputError, frechet_distance_features
from facehalluc.utils.image import to_float

if TYPE_CHECKING:  # pragma: no cover
    import keras


@dataclass(frozen=True)
class Measure:
    """How an offline measure is shown: its label and which direction is better."""

    label: str
    better: str  # "higher", "lower", "zero" (closer to 0 is better) or "one" (closer to 1 is better)
    per_image: bool = True

    @property
    def arrow(self) -> str:
        return {"higher": "↑", "lower": "↓", "zero": "→0", "one": "→1"}[self.better]


#: result key (under ``proxies``) -> how it is labelled; also the per-image CSV column names
MEASURES: dict[str, Measure] = {
    "lpips_v0.1": Measure("LPIPS v0.1 (≈ training loss L_pc, not independent)", "lower"),
    "l1_background": Measure("L1 on hallucinated pixels (outside face mask)", "lower"),
    "fd_alexnet": Measure("FD-AlexNet (proxy; NOT FID)", "lower", per_image=False),
    "spectrum_hf_excess_db": Measure("HF (≥0.5 c/px) log-power excess of background corners, dB", "zero"),
    "spectrum_mid_excess_db": Measure("Mid-band (0.25–0.47 c/px) log-power excess of background corners, dB",
                                      "zero"),
    "nss_fd": Measure("NSS Fréchet distance of the hallucinated region (BRISQUE features; training-free)", "lower",
                      per_image=False),
    "contrast_ratio": Measure("Luminance contrast of the hallucinated region ÷ real (training-free)", "one",
                              per_image=False),
    "dlib_identity_cosine": Measure("dlib identity cosine (proxy)", "higher"),
    "dlib_identity_distance": Measure("dlib identity distance (proxy)", "lower"),
}

# ------------------------------------------------------------------------------------------ L1 (background)


def _check_masks(real: np.ndarray, mask: np.ndarray, who: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim == 4 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.shape != real.shape[:3]:
        raise MetricInputError(f"{who}: masks {mask.shape} do not match images {real.shape}")
    return mask.astype(bool)


def l1_outside_mask(real: np.ndarray, fake: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per pair: mean |real - fake| over the pixels where ``mask`` is 0 (and the 3 channels), [0, 1] units.

    ``real``, ``fake``: (N, H, W, 3) uint8 (divided by 255) or float in [0, 1]; ``mask``: (N, H, W), non-zero
    = face (kept pixels).  A pair with no pixel outside its mask raises.
    """
    r, f = to_float(real, np.float64), to_float(fake, np.float64)
    if r.shape != f.shape or r.ndim != 4:
        raise MetricInputError(f"l1_outside_mask: real {r.shape} and fake {f.shape} must be equal (N,H,W,3)")
    outside = ~_check_masks(r, mask, "l1_outside_mask")
    count = outside.sum(axis=(1, 2)) * r.shape[-1]
    if np.any(count == 0):
        raise MetricInputError("l1_outside_mask: an image has no pixel outside its face mask")
    return (np.abs(r - f) * outside[..., None]).sum(axis=(1, 2, 3)) / count


# ------------------------------------------------------------------------------------------ FD-AlexNet

#: output dimension of :func:`alexnet_feature_model` (64 + 192 + 384 + 256 + 256 channels)
ALEX_FEATURE_DIM = 1152


def alexnet_feature_model(lpips_model: "keras.Model") -> "keras.Model":
    """Images (N, H, W, 3) in [0, 1] -> (N, 1152): the five AlexNet ReLU layers of an LPIPS model, each
    spatially averaged, concatenated.

    Shares the layers (and so the weights) of ``lpips_model`` (:func:`facehalluc.nets.lpips.build_lpips`):
    its preprocessing (v0.1: ``2x - 1`` then ``(x - shift) / scale``, which is exactly the ImageNet
    normalisation ``(x - [.485, .456, .406]) / [.229, .224, .225]`` torchvision AlexNet was trained with), then
    conv1..relu5.  H, W >= 32.
    """
    import keras
    from keras import layers

    from facehalluc.nets.lpips import FROZEN_DTYPE, _alexnet_layers

    x_in = keras.Input((None, None, 3), name="image")
    h = lpips_model.get_layer("preprocess")(x_in)
    pooled = []
    for k, (_, seq) in enumerate(_alexnet_layers()):
        for lay in seq:
            h = lpips_model.get_layer(lay.name)(h)
        pooled.append(layers.GlobalAveragePooling2D(dtype=FROZEN_DTYPE, name=f"gap{k + 1}")(h))
    out = layers.Concatenate(axis=-1, dtype=FROZEN_DTYPE, name="alex_features")(pooled)
    model = keras.Model(x_in, out, name="alexnet_gap_features")
    model.trainable = False
    return model


def fd_alexnet(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted (mean, unbiased covariance) to the two feature sets.

    Reuses :func:`facehalluc.evaluate.metrics.frechet_distance_features` with ``fast=True``: the trace of the
    covariance product's square root from an N x N SVD when N < D (exact; the tests check it against scipy's
    ``sqrtm`` path).  With N < D = 1152 the covariances are singular and the value is biased upwards: compare
    methods only at equal N.
    """
    return frechet_distance_features(real_features, fake_features, fast=True)


# ------------------------------------------------------------------------------------------ spectrum

IMAGE_SIZE = 128
PATCH = 32
#: (name, top row, left column) of the four background corner patches of the 128x128 aligned crop
CORNERS: tuple[tuple[str, int, int], ...] = (
    ("top_left", 0, 0), ("top_right", 0, IMAGE_SIZE - PATCH),
    ("bottom_left", IMAGE_SIZE - PATCH, 0), ("bottom_right", IMAGE_SIZE - PATCH, IMAGE_SIZE - PATCH))
#: radial bins k = round(sqrt(kx^2 + ky^2)), kx, ky in -16..15 cycles per patch: 0..23 (k / 32 cycles/pixel)
N_BINS = 24
#: the HF summary's band: radial bins 16..23, i.e. 0.5 to 0.72 cycles/pixel (the axis Nyquist and the diagonal
#: frequencies beyond it, where period-2 checkerboards lie)
HF_BAND = (16, 23)
#: the mid-band summary's band: radial bins 8..15, i.e. 0.25 to 0.47 cycles/pixel (above the Nyquist of a
#: 64x64 image: what a 2x upsampler must create)
MID_BAND = (8, 15)
#: added to the mean power spectra before taking logs (only matters for all-zero patches, e.g. the masked
#: input, whose excess is then a large negative number instead of -inf)
POWER_EPS = 1e-12
#: luminance weights (ITU-R BT.601) applied to RGB in [0, 1]
LUMA = (0.299, 0.587, 0.114)


def hann2d(n: int = PATCH) -> np.ndarray:
    """Periodic 2-D Hann window ``w(y) w(x)``, ``w(i) = 0.5 - 0.5 cos(2 pi i / n)``."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    return np.outer(w, w)


def _radial_bins(n: int = PATCH) -> np.ndarray:
    k = np.fft.fftfreq(n, d=1.0 / n)  # integer cycles per patch, -n/2 .. n/2 - 1
    return np.rint(np.hypot(k[:, None], k[None, :])).astype(int)


def radial_power_spectrum(patches: np.ndarray) -> np.ndarray:
    """(M, 32, 32) grey patches -> (M, 24) radially averaged power spectra.

    Each patch: its mean is subtracted, it is multiplied by :func:`hann2d`, ``P = |FFT2|^2 / sum(w^2)``
    (power per pixel), and P is averaged over the FFT coefficients of each radial bin
    ``k = round(sqrt(kx^2 + ky^2))``, k = 0..23 (frequency k / 32 cycles per pixel).
    """
    p = np.asarray(patches, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (PATCH, PATCH):
        raise MetricInputError(f"radial_power_spectrum: expected (M, {PATCH}, {PATCH}) patches, got {p.shape}")
    w = hann2d(PATCH)
    x = (p - p.mean(axis=(1, 2), keepdims=True)) * w
    power = np.abs(np.fft.fft2(x)) ** 2 / (w ** 2).sum()
    bins = _radial_bins(PATCH).ravel()
    counts = np.bincount(bins, minlength=N_BINS)
    flat = power.reshape(len(p), -1)
    sums = np.stack([np.bincount(bins, weights=row, minlength=N_BINS) for row in flat]) if len(p) else \
        np.zeros((0, N_BINS))
    return sums / counts


def usable_corners(mask: np.ndarray) -> np.ndarray:
    """(N, 128, 128) face masks -> (N, 4) bool: the corner patch holds no face-mask pixel (in CORNERS order)."""
    m = np.asarray(mask).astype(bool)
    if m.ndim != 3 or m.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise MetricInputError(f"usable_corners: expected (N, {IMAGE_SIZE}, {IMAGE_SIZE}) masks, got {m.shape}")
    return np.stack([~m[:, y:y + PATCH, x:x + PATCH].any(axis=(1, 2)) for _, y, x in CORNERS], axis=1)


def corner_spectra(images: np.ndarray) -> np.ndarray:
    """(N, 128, 128, 3) images -> (N, 4, 24) radial power spectra of the luminance of the four corners."""
    x = to_float(images, np.float64)
    if x.ndim != 4 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise MetricInputError(f"corner_spectra: expected (N, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got {x.shape}")
    grey = x @ np.asarray(LUMA)
    patches = np.stack([grey[:, y:y + PATCH, x0:x0 + PATCH] for _, y, x0 in CORNERS], axis=1)
    return radial_power_spectrum(patches.reshape(-1, PATCH, PATCH)).reshape(len(x), len(CORNERS), N_BINS)


def band_excess_db(p_fake: np.ndarray, p_real: np.ndarray, band: tuple[int, int] = HF_BAND) -> np.ndarray:
    lo, hi = band
    ex = 10.0 * (np.log10(p_fake + POWER_EPS) - np.log10(p_real + POWER_EPS))
    return ex[..., lo:hi + 1].mean(axis=-1)


@dataclass
class SpectrumResult:
    """Set-level curves and summary, and the per-image summary (NaN where an image has no usable corner)."""

    freq: np.ndarray  # (24,) cycles per pixel
    log10_power_real: np.ndarray  # (24,) log10 of the mean power over all usable real patches
    log10_power_fake: np.ndarray  # (24,)
    excess_db: np.ndarray  # (24,) 10 log10(P_fake / P_real)
    hf_excess_db: float  # mean of excess_db over HF_BAND
    mid_excess_db: float  # mean of excess_db over MID_BAND
    per_image: np.ndarray  # (N,) the HF summary from each image's own usable corners
    per_image_mid: np.ndarray  # (N,) the mid-band summary from each image's own usable corners
    n_patches: int
    corners_used: dict[str, int] = field(default_factory=dict)

    def curve(self) -> dict[str, list[float]]:
        return {"freq_cycles_per_pixel": self.freq.tolist(), "log10_power_real": self.log10_power_real.tolist(),
                "log10_power_fake": self.log10_power_fake.tolist(), "excess_db": self.excess_db.tolist()}


def spectrum_compare(real: np.ndarray, fake: np.ndarray, mask: np.ndarray) -> SpectrumResult:
    """Background-corner spectra of the hallucinated images against the originals'.

    For every image the corners of :data:`CORNERS` that hold no face-mask pixel are used (the same patches
    for real and fake).  ``P_real(k)``, ``P_fake(k)``: mean over all those patches of
    :func:`radial_power_spectrum`.  ``excess_db(k) = 10 log10((P_fake(k) + eps) / (P_real(k) + eps))``
    (eps = :data:`POWER_EPS`); the summaries ``hf_excess_db`` / ``mid_excess_db`` are its means over the bins
    of :data:`HF_BAND` / :data:`MID_BAND`.  Identical images give exactly 0.
    """
    r, f = to_float(real, np.float64), to_float(fake, np.float64)
    if r.shape != f.shape:
        raise MetricInputError(f"spectrum_compare: real {r.shape} and fake {f.shape} differ")
    use = usable_corners(_check_masks(r, mask, "spectrum_compare"))
    if not use.any():
        raise MetricInputError("spectrum_compare: every corner patch overlaps a face mask")
    sr, sf = corner_spectra(r), corner_spectra(f)
    p_real, p_fake = sr[use].mean(axis=0), sf[use].mean(axis=0)
    lr, lf = np.log10(p_real + POWER_EPS), np.log10(p_fake + POWER_EPS)
    per_image, per_image_mid = np.full(len(r), np.nan), np.full(len(r), np.nan)
    for i in np.flatnonzero(use.any(axis=1)):
        pf, pr = sf[i][use[i]].mean(axis=0), sr[i][use[i]].mean(axis=0)
        per_image[i], per_image_mid[i] = band_excess_db(pf, pr), band_excess_db(pf, pr, MID_BAND)
    return SpectrumResult(freq=np.arange(N_BINS) / PATCH, log10_power_real=lr, log10_power_fake=lf,
                          excess_db=10.0 * (lf - lr), hf_excess_db=float(band_excess_db(p_fake, p_real)),
                          mid_excess_db=float(band_excess_db(p_fake, p_real, MID_BAND)),
                          per_image=per_image, per_image_mid=per_image_mid, n_patches=int(use.sum()),
                          corners_used={name: int(use[:, j].sum()) for j, (name, _, _) in enumerate(CORNERS)})


def spectrum_details(s: SpectrumResult, n_images: int) -> dict[str, Any]:
    """What goes into the result JSON beside the summary value."""
    return {"curve": s.curve(), "hf_band_bins": list(HF_BAND), "mid_band_bins": list(MID_BAND),
            "bin_width_cycles_per_pixel": 1 / PATCH, "window": "periodic Hann 32x32, patch mean removed",
            "channel": "luminance 0.299R+0.587G+0.114B", "n_patches": s.n_patches,
            "corners_used": s.corners_used, "n_images": n_images,
            "images_without_usable_corner": int(np.isnan(s.per_image).sum()), "power_eps": POWER_EPS}
