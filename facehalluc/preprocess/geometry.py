"""Alignment geometry: eye centres, the eye-based similarity transform, warping, convex-hull masks.

Coordinates follow dlib and OpenCV: (x, y) with the centre of pixel (row i, column j) at (j, i).
The eye targets of :class:`~facehalluc.config.PreprocessConfig` are fractions of the output side
measured on the continuous image plane (0 = left edge of the first pixel, 1 = right edge of the
last), so a fraction f is the pixel coordinate ``f * size - 0.5``.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..config import PreprocessConfig

# iBUG 68-point scheme: image-left eye = points 36..41, image-right eye = 42..47.
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)

# Index permutation that maps the landmarks of a left-right mirrored face back to the scheme
# (jaw, brows, nose, eyes and mouth swap sides; the midline points stay).
MIRROR_68: tuple[int, ...] = tuple(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40] + [54, 53, 52, 51, 50, 49, 48]
    + [59, 58, 57, 56, 55] + [64, 63, 62, 61, 60] + [67, 66, 65])

BORDER_MODES: dict[str, int] = {
    "constant": cv2.BORDER_CONSTANT,  # black outside the photo
    "reflect": cv2.BORDER_REFLECT_101,  # mirror about the edge pixel (... 2 1 | 0 1 2 ...)
    "replicate": cv2.BORDER_REPLICATE,  # repeat the edge pixel
}


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image-left eye, image-right eye) centres = means of the six landmarks of each eye."""
    pts = np.asarray(landmarks, dtype=np.float64)
    return pts[LEFT_EYE].mean(axis=0), pts[RIGHT_EYE].mean(axis=0)


def eye_targets(cfg: PreprocessConfig) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates of the two eye centres in the aligned output."""
    s = cfg.output_size
    return (np.array([cfg.left_eye_x * s - 0.5, cfg.eye_y * s - 0.5]),
            np.array([cfg.right_eye_x * s - 0.5, cfg.eye_y * s - 0.5]))


def similarity_from_eyes(left: np.ndarray, right: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """2x3 matrix of the similarity (rotation, uniform scale, translation) that maps the two eye
    centres of the photo exactly onto their targets."""
    tl, tr = eye_targets(cfg)
    src = np.asarray(right, np.float64) - np.asarray(left, np.float64)
    dst = tr - tl
    d_src = math.hypot(*src)
    if d_src < 1e-6:
        raise ValueError("the two eye centres coincide")
    scale = math.hypot(*dst) / d_src
    angle = math.atan2(dst[1], dst[0]) - math.atan2(src[1], src[0])
    a = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    b = tl - a @ np.asarray(left, np.float64)
    return np.hstack([a, b[:, None]])


def transform_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def _inverse(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(m.astype(np.float64))


def warp_similarity(image: np.ndarray, m: np.ndarray, size: int, border_mode: str) -> np.ndarray:
    """Warps ``image`` with the similarity ``m`` (photo -> output coordinates) into ``size x size``.

    When the transform shrinks (scale < 1), the part of the photo that the crop covers is first
    reduced with area averaging (cv2.INTER_AREA) to the output scale, so a large photo is not
    aliased; the remaining rotation/translation is bilinear (cv2.INTER_LINEAR).  Pixels that map
    outside the photo follow ``border_mode`` (:data:`BORDER_MODES`).
    """
    if border_mode not in BORDER_MODES:
        raise ValueError(f"border_mode must be one of {list(BORDER_MODES)}, got {border_mode!r}")
    border = BORDER_MODES[border_mode]
    m = np.asarray(m, np.float64)
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    h, w = image.shape[:2]
    if scale < 0.95:
        inv = _inverse(m)
        corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
        src = transform_points(inv, corners)
        margin = 2.0 / scale + 2.0
        x0 = int(max(0, math.floor(src[:, 0].min() - margin)))
        y0 = int(max(0, math.floor(src[:, 1].min() - margin)))
        x1 = int(min(w, math.ceil(src[:, 0].max() + margin)))
        y1 = int(min(h, math.ceil(src[:, 1].max() + margin)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            region = image[y0:y1, x0:x1]
            rw, rh = x1 - x0, y1 - y0
            nw, nh = max(2, int(round(rw * scale))), max(2, int(round(rh * scale)))
            small = cv2.resize(region, (nw, nh), interpolation=cv2.INTER_AREA)
            fx, fy = nw / rw, nh / rh
            # q = F (p - p0 + 0.5) - 0.5  <=>  p = F^-1 (q + 0.5) - 0.5 + p0
            f_inv = np.diag([1.0 / fx, 1.0 / fy])
            a = m[:, :2] @ f_inv
            b = m[:, :2] @ (f_inv @ np.array([0.5, 0.5]) - 0.5 + np.array([x0, y0])) + m[:, 2]
            m = np.hstack([a, b[:, None]])
            image = small
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=border,
                          borderValue=(0, 0, 0))


def outside_fraction(m: np.ndarray, image_hw: tuple[int, int], size: int) -> float:
    """Fraction of output pixels whose centre maps outside the photo (filled by the border mode)."""
    inv = _inverse(np.asarray(m, np.float64))
    yy, xx = np.mgrid[0:size, 0:size]
    pts = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float64)
    src = transform_points(inv, pts)
    h, w = image_hw
    inside = (src[:, 0] >= -0.5) & (src[:, 0] <= w - 0.5) & (src[:, 1] >= -0.5) & (src[:, 1] <= h - 0.5)
    return float(1.0 - inside.mean())


def hull_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(size, size) uint8 mask: 1 for pixels inside the convex hull of the landmarks, else 0.

    The hull is rasterised with cv2.fillConvexPoly at 1/16-pixel precision (pixel centres inside
    the polygon, up to the rounding of the boundary).
    """
    pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
    hull = cv2.convexHull(np.round(pts * 16.0).astype(np.int32))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    return mask


def mirror_landmarks(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Landmarks of the left-right mirrored image: x -> size - 1 - x, then the 68-point indices are
    permuted so that, e.g., points 36..41 are again the image-left eye."""
    pts = np.asarray(landmarks).copy()
    pts[..., 0] = size - 1 - pts[..., 0]
    return pts[..., list(MIRROR_68), :]
