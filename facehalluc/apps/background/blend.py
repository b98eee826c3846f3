"""Burt & Adelson Laplacian-pyramid blending and background fitting (:mod:`facehalluc.apps.background`, step 4)."""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

# Default pyramid depth: as many levels as keep the coarsest one >= DEFAULT_COARSEST_SIDE pixels, i.e.
# 3 at 128x128 (bands at 128 and 64, a 32x32 Gaussian residual) and one more per doubling of the size.
# Deeper pyramids carry the old background's colour into the person (and back) at low frequencies.
DEFAULT_COARSEST_SIDE = 32
MIN_LEVEL_SIDE = 4  # the coarsest pyramid level keeps at least this many pixels on its shorter side


def max_levels(height: int, width: int, min_side: int = MIN_LEVEL_SIDE) -> int:
    """Most pyramid levels for an image whose coarsest level keeps ``min_side`` pixels (at least 1)."""
    side = min(height, width)
    return 1 + int(math.floor(math.log2(side / min_side))) if side >= min_side else 1


def default_levels(height: int, width: int) -> int:
    """Pyramid levels used when none are given: 3 for 128x128 (coarsest level 32x32)."""
    return max_levels(height, width, DEFAULT_COARSEST_SIDE)


def gaussian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """``levels`` images: the input, then repeated ``cv2.pyrDown`` (5-tap Gaussian, halve)."""
    pyr = [img]
    for _ in range(levels - 1):
        pyr.append(cv2.pyrDown(pyr[-1]))
    return pyr


def laplacian_pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass levels ``G_k - pyrUp(G_{k+1})`` for k < levels-1, then the coarsest Gaussian level."""
    g = gaussian_pyramid(img, levels)
    lap = [g[k] - cv2.pyrUp(g[k + 1], dstsize=(g[k].shape[1], g[k].shape[0])) for k in range(levels - 1)]
    return lap + [g[-1]]


def collapse(lap: Sequence[np.ndarray]) -> np.ndarray:
    """Inverse of :func:`laplacian_pyramid`: upsample the coarsest level and add the bands."""
    img = lap[-1]
    for band in reversed(lap[:-1]):
        img = band + cv2.pyrUp(img, dstsize=(band.shape[1], band.shape[0]))
    return img


def laplacian_blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, levels: int | None = None) -> np.ndarray:
    """Burt & Adelson (1983) multiresolution blending: ``sum_k G_k(alpha) L_k(fg) + (1 - G_k(alpha)) L_k(bg)``.

    ``fg``, ``bg``: (H, W, C) images of one size (any numeric dtype; computed in float32);
    ``alpha``: (H, W) weights of ``fg`` in [0, 1] (a binary foreground mask).  ``levels`` = number of
    pyramid levels (1 = plain alpha compositing; None = :func:`default_levels`), clipped to
    :func:`max_levels`.  Returns float32, not clipped.
    """
    fg = np.asarray(fg, np.float32)
    bg = np.asarray(bg, np.float32)
    if fg.shape != bg.shape:
        raise ValueError(f"foreground {fg.shape} and background {bg.shape} differ in shape")
    if alpha.shape[:2] != fg.shape[:2]:
        raise ValueError(f"mask {alpha.shape[:2]} and image {fg.shape[:2]} differ in size")
    if levels is None:
        levels = default_levels(*fg.shape[:2])
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    levels = min(int(levels), max_levels(*fg.shape[:2]))
    a = np.asarray(alpha, np.float32)
    if fg.ndim == 3:
        a = np.repeat(a.reshape(*a.shape[:2], 1), fg.shape[2], axis=2)
    lf, lb, ga = laplacian_pyramid(fg, levels), laplacian_pyramid(bg, levels), gaussian_pyramid(a, levels)
    return collapse([m * f + (1.0 - m) * b for f, b, m in zip(lf, lb, ga)])


def fit_background(bg: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scales ``bg`` to cover (height, width) keeping its aspect ratio (area averaging when shrinking,
    bilinear when enlarging), then centre-crops."""
    bh, bw = bg.shape[:2]
    s = max(height / bh, width / bw)
    nh, nw = max(height, int(math.ceil(bh * s - 1e-6))), max(width, int(math.ceil(bw * s - 1e-6)))
    if (nh, nw) != (bh, bw):
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        bg = cv2.resize(bg, (nw, nh), interpolation=interp)
    y, x = (nh - height) // 2, (nw - width) // 2
    return np.ascontiguousarray(bg[y:y + height, x:x + width])
