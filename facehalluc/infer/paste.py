"""Paste-back: warp a 128x128 hallucination into the original photo's frame and blend it in.

The alignment (``facehalluc.preprocess``) maps photo coordinates to the aligned crop with a
similarity ``A`` (2x3, ``[x', y'] = A @ [x, y, 1]``).  Paste-back samples the crop at ``A @ p`` for
every photo pixel ``p`` (``cv2.warpAffine`` with ``WARP_INVERSE_MAP``, bilinear) and alpha-blends it
over the photo where the crop lies.  The alpha rises smoothly (smoothstep) from 0 at the crop border to 1
``feather`` crop pixels inside it (default :data:`DEFAULT_FEATHER` = 16, an eighth of the crop), so the
photo's own surroundings fade into the hallucinated context with no step along the crop's outline.  With
``mask`` (the crop's face mask) the alpha is also 0 on the face, so the photo keeps its own face pixels
exactly instead of their twice-resampled copy.  Pixel centres are at integer coordinates in both
frames (OpenCV's convention), the same convention the preprocessor's matrix
(``facehalluc.preprocess.Sample.transform``) uses.
"""
from __future__ import annotations

import numpy as np

from ..utils.image import to_float, to_uint8

def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine map."""
    m = np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(m)[:2]


#: default width of the paste-back ramp, in crop pixels (an eighth of a 128-pixel crop)
DEFAULT_FEATHER = 16.0


def feather_alpha(size: int, feather: float) -> np.ndarray:
    """(size, size) float32 alpha: 1 inside, a smoothstep ramp (3t^2 - 2t^3) to 0 over ``feather`` pixels
    at the border (its slope is 0 at both ends, so neither end of the ramp shows as an edge)."""
    if feather <= 0:
        return np.ones((size, size), np.float32)
    d = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float32) + 0.5
    t = np.clip(d / float(feather), 0.0, 1.0)
    ramp = t * t * (3.0 - 2.0 * t)
    return np.minimum(ramp[:, None], ramp[None, :]).astype(np.float32)


def paste_back(photo: np.ndarray, crop: np.ndarray, matrix: np.ndarray, feather: float = DEFAULT_FEATHER,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Blends ``crop`` (S x S x 3, uint8 or float [0, 1]) into ``photo`` (H x W x 3 uint8).

    ``matrix``: the 2x3 photo -> crop similarity used for alignment.  ``mask``: the crop's face mask
    (S x S, non-zero = face); photo pixels whose whole footprint lies on the face keep their own values.
    Returns a new uint8 photo; photo pixels that the crop does not cover are unchanged.
    """
    import cv2

    if photo.dtype != np.uint8 or photo.ndim != 3:
        raise ValueError(f"photo must be (H, W, 3) uint8, got {photo.shape} {photo.dtype}")
    crop_f = to_float(crop)
    size = crop_f.shape[0]
    h, w = photo.shape[:2]
    m = np.asarray(matrix, np.float64)
    # Only the photo region the crop covers is warped and blended (a 4000x4000 photo with a 300-pixel
    # face: ~1 % of the work): the crop square's corners mapped into the photo, plus a 2-pixel margin.
    corners = np.array([[-0.5, -0.5, 1], [size - 0.5, -0.5, 1], [-0.5, size - 0.5, 1], [size - 0.5, size - 0.5, 1]])
    xy = corners @ invert_affine(m).T
    x0, y0 = (max(0, int(np.floor(v)) - 2) for v in xy.min(0))
    x1, y1 = min(w, int(np.ceil(xy[:, 0].max())) + 3), min(h, int(np.ceil(xy[:, 1].max())) + 3)
    out = photo.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    roi = m.copy()
    roi[:, 2] += m[:, :2] @ [x0, y0]  # ROI pixel q is photo pixel q + (x0, y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(crop_f, roi, (x1 - x0, y1 - y0), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=0)
    a = feather_alpha(size, feather)
    if mask is not None:
        face = np.asarray(mask).reshape(size, size).astype(bool)
        a = a * (1.0 - face.astype(np.float32))
    alpha = cv2.warpAffine(a, roi, (x1 - x0, y1 - y0), flags=flags,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
    part = to_float(photo[y0:y1, x0:x1]) * (1.0 - alpha) + np.clip(warped, 0.0, 1.0) * alpha
    out[y0:y1, x0:x1] = to_uint8(part)
    return out


def seam_ratio(photo: np.ndarray, pasted: np.ndarray, matrix: np.ndarray, size: int = 128) -> float:
    """How much step a paste adds along the crop's outline: the mean Sobel gradient magnitude of ``pasted``
    (luminance) over the photo pixels within 2 crop pixels of the crop square's outline, divided by the
    photo's own there (1 = no step added).  ``matrix``: the photo -> crop similarity; ``size``: crop side."""
    import cv2

    m = np.asarray(matrix)
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    cx = m[0, 0] * xx + m[0, 1] * yy + m[0, 2]
    cy = m[1, 0] * xx + m[1, 1] * yy + m[1, 2]
    d = np.minimum.reduce([cx + 0.5, size - 0.5 - cx, cy + 0.5, size - 0.5 - cy])
    band = np.abs(d) < 2

    def grad(img: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))

    return float(grad(pasted)[band].mean() / grad(photo)[band].mean())
