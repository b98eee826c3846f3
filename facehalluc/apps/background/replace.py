"""One image: face mask, person segmentation, blending (:func:`replace_background`; steps 1-4 of
:mod:`facehalluc.apps.background`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...segment.foreground import Foreground, detect_face_mask, estimate_foreground, user_foreground
from ...utils.image import to_uint8
from .blend import default_levels, fit_background, laplacian_blend, max_levels

METHODS = ("selfie", "grabcut")  # person segmenters; the first is the default


def mask_from_masked(masked: np.ndarray) -> np.ndarray:
    """Face mask of a masked face: True where any channel is non-zero (the rule of
    :func:`facehalluc.models.mask_from_masked`, in numpy: no TensorFlow needed)."""
    m = np.asarray(masked)
    return m.any(axis=-1) if m.ndim == 3 else m > 0


# ------------------------------------------------------------------------------------- replace
@dataclass
class Replaced:
    image: np.ndarray  # (H, W, 3) uint8
    foreground: Foreground
    levels: int


def replace_background(image: np.ndarray, background: np.ndarray, face_mask: np.ndarray | None = None,
                       foreground: np.ndarray | None = None, levels: int | None = None, seed: int = 0,
                       keep_face: bool = True, preprocessor=None, method: str = METHODS[0]) -> Replaced:
    """New background behind the person of ``image`` (RGB uint8, e.g. a hallucinated 128x128 face).

    ``face_mask`` (H, W) (non-zero = face; e.g. ``sample.mask`` or :func:`mask_from_masked` of the
    masked input): sure foreground.  Without it, the face is detected with ``preprocessor`` (a
    :class:`~facehalluc.preprocess.FacePreprocessor`, built on first use) and its landmark hull is
    used.  ``method``: the person segmenter, ``"selfie"`` (MediaPipe's selfie segmentation network,
    :func:`facehalluc.segment.person.segment_foreground`) or ``"grabcut"`` (:func:`estimate_foreground`,
    ``seed`` = OpenCV's RNG seed), both refined by the saliency contour.  ``foreground``: a foreground
    mask from any segmenter, used instead.  ``background``: RGB image of any size (fitted with :func:`fit_background`).
    ``keep_face``: restore the face-mask pixels exactly after blending.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    background = np.asarray(background)
    if background.ndim != 3 or background.shape[2] != 3:
        raise ValueError(f"background must be (H, W, 3) RGB, got {background.shape}")
    if face_mask is not None:
        face_mask = mask_from_masked(face_mask) if np.asarray(face_mask).ndim == 3 else np.asarray(face_mask) > 0
        if face_mask.shape != (h, w):
            raise ValueError(f"face mask is {face_mask.shape[1]}x{face_mask.shape[0]}, image is {w}x{h}")
    if foreground is not None:
        fgm = np.asarray(foreground)
        if fgm.shape[:2] != (h, w):
            raise ValueError(f"foreground mask is {fgm.shape[1]}x{fgm.shape[0]}, image is {w}x{h}")
        fg = user_foreground(fgm, face_mask)
    else:
        if face_mask is None or not face_mask.any():
            face_mask = detect_face_mask(image, preprocessor)
        if method == "selfie":
            from ...segment.person import segment_foreground

            fg = segment_foreground(image, face_mask)
        else:
            fg = estimate_foreground(image, face_mask, seed=seed)
    used = default_levels(h, w) if levels is None else min(int(levels), max_levels(h, w))
    bg = fit_background(background.astype(np.uint8) if background.dtype != np.uint8 else background, h, w)
    out = laplacian_blend(image, bg, fg.mask.astype(np.float32), used)
    out = to_uint8(out, peak=255.0)
    if keep_face:
        out[fg.face] = image[fg.face]
    return Replaced(out, fg, used)
