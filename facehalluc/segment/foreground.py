"""Foreground pieces shared by the person segmenters of background replacement (supplementary §4).

:func:`saliency_region` -- the paper's saliency map: gradient magnitude, salient edges, the inside of
their outer contour.  :func:`refine` -- the paper's union of the person mask and that region (near the
person), kept connected to the face, holes filled, face hull added.  :func:`estimate_foreground` -- the
GrabCut fallback (``--method grabcut``), seeded by the face mask and a head/shoulder prior.
:func:`user_foreground` -- a mask from any other segmenter.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

MAX_SALIENCY_FRACTION = 0.75  # a saliency region above this share of the image is not trusted
GRABCUT_ITERATIONS = 5


class BackgroundError(ValueError):
    """An input that cannot be used (unreadable, size mismatch, no face); the message names the file."""


def _components_touching(region: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """Connected components (8-connectivity) of ``region`` that overlap ``seed``."""
    n, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[seed & region])
    keep = keep[keep > 0]
    return np.isin(labels, keep) if keep.size else np.zeros_like(region, bool)


def fill_holes(region: np.ndarray) -> np.ndarray:
    """Fills background pockets not connected to the image border."""
    inv = (~region).astype(np.uint8)
    n, labels = cv2.connectedComponents(inv, connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = (labels > 0) & ~np.isin(labels, border)
    return region | holes


def saliency_region(image: np.ndarray, face_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(region, salient edges): gradient magnitude of the grey image (Sobel after a sigma-1 blur),
    thresholded with Otsu's method, closed; the region is the inside of the outer contours of the
    salient edges (the bottom edge of the image counts as an edge: people leave the frame there)
    that overlap the face (any, without a face mask)."""
    h, w = image.shape[:2]
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = cv2.GaussianBlur(gray, (0, 0), 1.0)
    mag = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))
    mag8 = np.round(255.0 * mag / max(float(mag.max()), 1e-6)).astype(np.uint8)
    _, edges = cv2.threshold(mag8, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = max(3, int(round(min(h, w) / 32)) | 1)
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    closed = edges.copy()
    closed[-1, :] = 1
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    region = np.zeros((h, w), np.uint8)
    cv2.drawContours(region, contours, -1, 1, thickness=cv2.FILLED)
    region = region.astype(bool)
    if face_mask is not None and face_mask.any():
        region = _components_touching(region, face_mask)
    return region, edges.astype(bool)


def refine(person: np.ndarray, saliency: np.ndarray, face: np.ndarray) -> tuple[np.ndarray, bool, list[str]]:
    """(foreground, saliency used, notes): the paper's union of the person mask and the saliency
    region, the region taken only within a few pixels of the person (``min(H, W) / 32``; the contour
    refines the outline, it does not add far-away objects) and dropped when it covers more than
    ``MAX_SALIENCY_FRACTION`` of the image (a textured background); then the components connected to
    the face, holes filled, and the face mask added -- the face always lies inside the result."""
    face = np.asarray(face, bool)
    h, w = face.shape
    notes: list[str] = []
    person = _components_touching(np.asarray(person, bool) | face, face)
    fg = person
    used = bool(saliency.mean() <= MAX_SALIENCY_FRACTION)
    if used:
        k = 2 * max(1, int(round(min(h, w) / 32))) + 1
        near = cv2.dilate(person.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
        fg = fg | (saliency & near)
    else:
        notes.append(f"saliency region covers {100 * saliency.mean():.0f}% of the image (textured background): "
                     f"not used")
    return fill_holes(_components_touching(fg, face)) | face, used, notes


def person_prior(face_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probable person, sure person) placed from the face box (fractions of its width fw and
    height fh).  Probable: the face, a head ellipse reaching 0.7 fh above the face top and 0.72 fw to
    either side of its centre, a neck below the chin and a shoulder trapezoid from 0.1 fh below the
    chin, widening from 2 fw to 4 fw over 1.2 fh.  Sure: the face, the neck strip (0.5 fw wide, down to
    0.45 fh below the chin) and the top-centre of the chest."""
    h, w = face_mask.shape
    ys, xs = np.nonzero(face_mask)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    fw, fh = x1 - x0 + 1, y1 - y0 + 1
    cx = (x0 + x1) / 2.0

    def r(v: float) -> int:
        return int(round(v))

    prob = np.zeros((h, w), np.uint8)
    top = y0 - 0.7 * fh
    cv2.ellipse(prob, (r(cx), r((top + y1) / 2)), (r(0.72 * fw), r((y1 - top) / 2)), 0, 0, 360, 1, thickness=-1)
    shoulder_top = y1 + 0.1 * fh
    cv2.rectangle(prob, (r(cx - 0.38 * fw), r(y1 - 0.1 * fh)), (r(cx + 0.38 * fw), r(shoulder_top + 0.2 * fh)),
                  1, thickness=-1)
    trap = np.array([[cx - 1.0 * fw, shoulder_top], [cx + 1.0 * fw, shoulder_top],
                     [cx + 2.0 * fw, shoulder_top + 1.2 * fh], [cx - 2.0 * fw, shoulder_top + 1.2 * fh]])
    cv2.fillPoly(prob, [np.round(trap).astype(np.int32)], 1)
    sure = np.zeros((h, w), np.uint8)
    cv2.rectangle(sure, (r(cx - 0.25 * fw), r(y1 - 0.2 * fh)), (r(cx + 0.25 * fw), r(y1 + 0.45 * fh)), 1,
                  thickness=-1)
    return prob.astype(bool) | face_mask, sure.astype(bool) | face_mask


@dataclass
class Foreground:
    """The foreground mask and how it was made (all (H, W) bool)."""

    mask: np.ndarray
    face: np.ndarray
    method: str  # "selfie+saliency" (default), "grabcut+saliency" or "user" (given foreground)
    grabcut: np.ndarray | None = None  # the person mask before refinement (GrabCut's or the selfie segmenter's)
    saliency: np.ndarray | None = None
    saliency_used: bool = False
    notes: list[str] = field(default_factory=list)
    probability: np.ndarray | None = None  # (H, W) float32 person probability (selfie segmenter)


def estimate_foreground(image: np.ndarray, face_mask: np.ndarray, seed: int = 0,
                        iterations: int = GRABCUT_ITERATIONS) -> Foreground:
    """Person foreground of an RGB uint8 image whose face mask (sure foreground) is known.

    GrabCut (OpenCV, mask initialisation) with sure foreground = face mask, probable foreground =
    :func:`person_prior` ∪ saliency region, probable background elsewhere; the result is restricted
    to the components connected to the face, holes are filled, and the saliency region is added
    (the paper's union) unless it covers more than ``MAX_SALIENCY_FRACTION`` of the image.  The face
    mask is always inside the returned mask.
    """
    image, face = checked_inputs(image, face_mask)
    notes: list[str] = []
    h, w = face.shape
    sal, _ = saliency_region(image, face)
    prob, sure = person_prior(face)
    ys, xs = np.nonzero(face)
    cx, fw, y_chin = (xs.min() + xs.max()) / 2.0, xs.max() - xs.min() + 1, ys.max()
    gc = np.full(face.shape, cv2.GC_PR_BGD, np.uint8)
    gc[prob] = cv2.GC_PR_FGD
    # sure background: the top edge away from the head, the side edges above the chin
    border = np.zeros((h, w), bool)
    border[0, np.abs(np.arange(w) - cx) > 0.72 * fw] = True
    border[: max(0, int(y_chin - 0.2 * (ys.max() - ys.min()))), [0, w - 1]] = True
    gc[border & ~prob] = cv2.GC_BGD
    gc[sure] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(int(seed))
    person = None
    n_bg = int(((gc == cv2.GC_PR_BGD) | (gc == cv2.GC_BGD)).sum())
    if n_bg >= 16 and (gc == cv2.GC_PR_FGD).sum() + (gc == cv2.GC_FGD).sum() >= 16:
        try:
            cv2.grabCut(image, gc, None, bgd, fgd, int(iterations), cv2.GC_INIT_WITH_MASK)
            person = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        except cv2.error as e:  # degenerate colour models (e.g. a flat image)
            notes.append(f"GrabCut failed ({str(e).strip().splitlines()[-1]}): person prior used instead")
    else:
        notes.append("too few background pixels for GrabCut: person prior used instead")
    if person is None:
        person = prob
    fg, sal_ok, more = refine(person, sal, face)
    return Foreground(fg, face, "grabcut+saliency", _components_touching(person | face, face), sal, sal_ok,
                      notes + more)


def user_foreground(mask: np.ndarray, face_mask: np.ndarray | None) -> Foreground:
    """A foreground mask from any segmenter (non-zero = foreground), with the face mask added."""
    fg = np.asarray(mask)
    fg = fg.any(axis=-1) if fg.ndim == 3 else fg > 0
    face = np.zeros_like(fg) if face_mask is None else np.asarray(face_mask, bool)
    if face.shape != fg.shape:
        raise ValueError(f"face mask {face.shape} and foreground {fg.shape} differ in size")
    return Foreground(fg | face, face, "user")


def detect_face_mask(image: np.ndarray, preprocessor=None) -> np.ndarray:
    """Convex hull of the 68 dlib landmarks of the largest detected face, in the image's own pixels
    (the same hull the package's face masks are made of).  Raises :class:`BackgroundError`."""
    from ..preprocess import NoFaceError, hull_mask

    pre = preprocessor if preprocessor is not None else _default_preprocessor()
    try:
        boxes, _ = pre.detect(image)
    except NoFaceError as e:
        raise BackgroundError(f"no face mask given and {e.reason}") from None
    if not boxes:
        raise BackgroundError("no face mask given and no face found by the dlib detector "
                              "(pass a face mask: --face-mask, or a foreground mask: --foreground)")
    pts = pre.landmarks(image, boxes[0])
    h, w = image.shape[:2]
    big = max(h, w)
    m = hull_mask(pts, big)[:h, :w]
    return m.astype(bool)


_PRE = None


def _default_preprocessor():
    global _PRE
    if _PRE is None:
        from ..config import PreprocessConfig
        from ..preprocess import FacePreprocessor

        _PRE = FacePreprocessor(PreprocessConfig())
    return _PRE


def checked_inputs(image: np.ndarray, face_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contiguous image, bool face mask); ValueError when their sizes differ or the face mask is empty."""
    image = np.ascontiguousarray(image)
    face = np.asarray(face_mask, bool)
    if image.shape[:2] != face.shape:
        raise ValueError(f"face mask {face.shape} and image {image.shape[:2]} differ in size")
    if not face.any():
        raise ValueError("the face mask is empty")
    return image, face
