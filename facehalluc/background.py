"""Background replacement (supplementary §4, Fig. 3): keep the face and the context, swap the background.

    python -m facehalluc.background --input out/ --background beach.jpg --output swapped/ --mask-out
    python -m facehalluc.background --input img.png --face-mask img_masked.png --background bgs/ --output o/
    python -m facehalluc.background --input imgs/ --foreground my_masks/ --background bgs/ --output o/

The paper: *"We first locate the pixels outside the background (context + face mask) using the
segmentation network from [21, 20, 18]. The pixels with the label 'Person' are kept inside the mask,
which is further refined by a saliency map. This saliency map is computed using the gradient of each
pixel of the image and the outer contour detected as the salient edge. The union of the initial mask
and the points inside this contour produces the final foreground mask. [...] The new background image
is then blended in with the help of this foreground mask using a Laplacian pyramid based blending."*

Here (see docs/faithfulness.md, "Background replacement"):

1. **Face mask** (sure foreground): given (``face_mask``; ``--face-mask`` binary masks or the
   package's masked faces, read with the "any channel > 0" rule of
   :func:`facehalluc.models.mask_from_masked`), found automatically next to a package output
   (``<stem>_masked.png`` written by ``infer.py --save-stages``), or the convex hull of the 68 dlib
   landmarks when a face is detected (:class:`facehalluc.preprocess.FacePreprocessor`).
2. **Person segmentation**: no segmentation network can be obtained offline, so OpenCV's GrabCut
   stands in, seeded by the face mask (sure foreground), a head/neck/shoulder region placed from the
   face box (probable foreground) and the saliency region (probable foreground).  A user-supplied
   foreground mask (``foreground`` / ``--foreground``, from any segmenter or matting network)
   replaces steps 1–3 (the face mask is still added to it).
3. **Saliency**: gradient magnitude of the grey image, thresholded (Otsu), closed, and the filled
   outer contour of the salient edges that touches the face; the final foreground is the union of the
   GrabCut person mask and that region (the region is dropped when it is implausibly large, i.e. the
   background itself is textured), restricted to the part connected to the face, holes filled.
4. **Blending**: Burt & Adelson Laplacian-pyramid blending (:func:`laplacian_blend`) with ``levels``
   pyramid levels (default :func:`default_levels`: 3 at 128x128), the background resized to cover the image and
   centre-cropped; finally the face-mask pixels are restored bit-exactly (the package's invariant
   that output face pixels equal the input's).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from .utils.atomic import atomic_write_png, atomic_write_text

# Default pyramid depth: as many levels as keep the coarsest one >= DEFAULT_COARSEST_SIDE pixels, i.e.
# 3 at 128x128 (bands at 128 and 64, a 32x32 Gaussian residual) and one more per doubling of the size.
# Deeper pyramids carry the old background's colour into the person (and back) at low frequencies.
DEFAULT_COARSEST_SIDE = 32
MIN_LEVEL_SIDE = 4  # the coarsest pyramid level keeps at least this many pixels on its shorter side
MAX_SALIENCY_FRACTION = 0.75  # a saliency region above this share of the image is not trusted
GRABCUT_ITERATIONS = 5
REPORT_NAME = "background_report.json"
# Files an infer.py output folder holds besides the hallucinated images themselves.
_AUX_SUFFIXES = ("_masked", "_pasted", "_foreground", "_block8", "_block16", "_block32", "_block64")


class BackgroundError(ValueError):
    """An input that cannot be used (unreadable, size mismatch, no face); the message names the file."""


# ------------------------------------------------------------------------------------ blending
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


# ---------------------------------------------------------------------------------- foreground
def mask_from_masked(masked: np.ndarray) -> np.ndarray:
    """Face mask of a masked face: True where any channel is non-zero (the rule of
    :func:`facehalluc.models.mask_from_masked`, in numpy: no TensorFlow needed)."""
    m = np.asarray(masked)
    return m.any(axis=-1) if m.ndim == 3 else m > 0


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
    method: str  # "user" (given foreground) or "grabcut+saliency"
    grabcut: np.ndarray | None = None
    saliency: np.ndarray | None = None
    saliency_used: bool = False
    notes: list[str] = field(default_factory=list)


def estimate_foreground(image: np.ndarray, face_mask: np.ndarray, seed: int = 0,
                        iterations: int = GRABCUT_ITERATIONS) -> Foreground:
    """Person foreground of an RGB uint8 image whose face mask (sure foreground) is known.

    GrabCut (OpenCV, mask initialisation) with sure foreground = face mask, probable foreground =
    :func:`person_prior` ∪ saliency region, probable background elsewhere; the result is restricted
    to the components connected to the face, holes are filled, and the saliency region is added
    (the paper's union) unless it covers more than ``MAX_SALIENCY_FRACTION`` of the image.  The face
    mask is always inside the returned mask.
    """
    image = np.ascontiguousarray(image)
    face = np.asarray(face_mask, bool)
    if image.shape[:2] != face.shape:
        raise ValueError(f"face mask {face.shape} and image {image.shape[:2]} differ in size")
    if not face.any():
        raise ValueError("the face mask is empty")
    notes: list[str] = []
    h, w = face.shape
    sal, _ = saliency_region(image, face)
    sal_ok = sal.mean() <= MAX_SALIENCY_FRACTION
    if not sal_ok:
        notes.append(f"saliency region covers {100 * sal.mean():.0f}% of the image (textured background): "
                     f"not used")
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
    person = _components_touching(person | face, face)
    fg = person
    if sal_ok:  # the salient region refines the person's outline (within a few pixels of it)
        k = 2 * max(1, int(round(min(h, w) / 32))) + 1
        near = cv2.dilate(person.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
        fg = fg | (sal & near)
    fg = fill_holes(_components_touching(fg, face)) | face
    return Foreground(fg, face, "grabcut+saliency", person, sal, sal_ok, notes)


def user_foreground(mask: np.ndarray, face_mask: np.ndarray | None) -> Foreground:
    """A foreground mask from any segmenter (non-zero = foreground), with the face mask added."""
    fg = np.asarray(mask)
    fg = fg.any(axis=-1) if fg.ndim == 3 else fg > 0
    face = np.zeros_like(fg) if face_mask is None else np.asarray(face_mask, bool)
    if face.shape != fg.shape:
        raise ValueError(f"face mask {face.shape} and foreground {fg.shape} differ in size")
    return Foreground(fg | face, face, "user")


# ------------------------------------------------------------------------------------- replace
@dataclass
class Replaced:
    image: np.ndarray  # (H, W, 3) uint8
    foreground: Foreground
    levels: int


def replace_background(image: np.ndarray, background: np.ndarray, face_mask: np.ndarray | None = None,
                       foreground: np.ndarray | None = None, levels: int | None = None, seed: int = 0,
                       keep_face: bool = True, preprocessor=None) -> Replaced:
    """New background behind the person of ``image`` (RGB uint8, e.g. a hallucinated 128x128 face).

    ``face_mask`` (H, W) (non-zero = face; e.g. ``sample.mask`` or :func:`mask_from_masked` of the
    masked input): sure foreground.  Without it, the face is detected with ``preprocessor`` (a
    :class:`~facehalluc.preprocess.FacePreprocessor`, built on first use) and its landmark hull is
    used.  ``foreground``: a foreground mask from any segmenter, used instead of the GrabCut +
    saliency estimate.  ``background``: RGB image of any size (fitted with :func:`fit_background`).
    ``keep_face``: restore the face-mask pixels exactly after blending.
    """
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
        fg = estimate_foreground(image, face_mask, seed=seed)
    used = default_levels(h, w) if levels is None else min(int(levels), max_levels(h, w))
    bg = fit_background(background.astype(np.uint8) if background.dtype != np.uint8 else background, h, w)
    out = laplacian_blend(image, bg, fg.mask.astype(np.float32), used)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if keep_face:
        out[fg.face] = image[fg.face]
    return Replaced(out, fg, used)


def detect_face_mask(image: np.ndarray, preprocessor=None) -> np.ndarray:
    """Convex hull of the 68 dlib landmarks of the largest detected face, in the image's own pixels
    (the same hull the package's face masks are made of).  Raises :class:`BackgroundError`."""
    from .preprocess import NoFaceError, hull_mask

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
        from .config import PreprocessConfig
        from .preprocess import FacePreprocessor

        _PRE = FacePreprocessor(PreprocessConfig())
    return _PRE


# ------------------------------------------------------------------------------------- files / CLI
def _read_rgb(path: Path) -> np.ndarray:
    from .infer.images import InputImageError, read_rgb_uint8

    try:
        return read_rgb_uint8(path)
    except InputImageError as e:
        raise BackgroundError(str(e)) from None


def _read_mask(path: Path, what: str) -> np.ndarray:
    """A mask image: non-zero in any channel = inside (binary masks and masked faces alike)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise BackgroundError(f"{path}: unreadable {what} ({e.__class__.__name__}: {e})") from None
    return mask_from_masked(a)


def is_auxiliary(path: Path) -> bool:
    """Files of an infer.py output folder that are not hallucinated images (stages, masks, sheets)."""
    stem = path.stem
    return stem.startswith("contact_sheet") or stem.endswith(_AUX_SUFFIXES) or stem.startswith(".tmp-")


def _companion(path: Path, folder: Path | None, suffixes: Sequence[str]) -> Path | None:
    """``folder/<stem><suffix>.<ext>`` for the first suffix/extension that exists."""
    from .infer.images import IMAGE_EXTENSIONS

    if folder is None:
        return None
    for suf in suffixes:
        for ext in (path.suffix,) + tuple(e for e in IMAGE_EXTENSIONS if e != path.suffix):
            cand = folder / f"{path.stem}{suf}{ext}"
            if cand.is_file():
                return cand
    return None


def list_images(spec: str | Path, what: str) -> list[Path]:
    from .infer.images import IMAGE_EXTENSIONS

    p = Path(spec)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
                       and not f.name.startswith("."))
        if not files:
            raise BackgroundError(f"{p}: the {what} folder holds no image files")
        return files
    if p.is_file():
        return [p]
    raise BackgroundError(f"{p}: no such {what} file or folder")


@dataclass
class BackgroundReport:
    output_dir: str
    levels: int | None  # as asked (None = default per image size); each record has the levels used
    n_inputs: int = 0
    processed: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    bad_backgrounds: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"background replaced in {len(self.processed)}/{self.n_inputs} images, "
                f"{len(self.failures)} failed, {len(self.bad_backgrounds)} unusable backgrounds, "
                f"in {self.seconds:.1f} s; outputs in {self.output_dir}")



def run(inputs: Sequence[str | Path], backgrounds: str | Path, out_dir: str | Path, *,
        foreground: str | Path | None = None, face_mask: str | Path | None = None,
        levels: int | None = None, mask_out: bool = False, seed: int = 0,
        keep_face: bool = True, log=print) -> BackgroundReport:
    """Batch background replacement; per-file problems are reported and the batch goes on.

    Backgrounds are read once and assigned to the inputs in turn (input i gets background
    i mod n, sorted).  Face masks: ``face_mask`` (file for one input, or a folder holding
    ``<stem>.png`` / ``<stem>_masked.png``), else a ``<stem>_masked.<ext>`` beside the input (an
    ``infer.py --save-stages`` folder), else face detection.  ``foreground``: a file or a folder of
    ``<stem>.<ext>`` / ``<stem>_foreground.<ext>`` masks from any segmenter.
    Writes ``<stem>.png`` (+ ``<stem>_foreground.png`` with ``mask_out``) and ``background_report.json``.
    Raises :class:`BackgroundError` when no input or no usable background exists.
    """
    from .infer.images import unique_stems

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    files: list[Path] = []
    for spec in inputs:
        found = list_images(spec, "input")
        files.extend(f for f in found if not (Path(spec).is_dir() and is_auxiliary(f)))
    if not files:
        raise BackgroundError("no input images (only auxiliary files such as *_masked.png were found)")
    bg_files = list_images(backgrounds, "background")
    report = BackgroundReport(str(out_dir), levels, n_inputs=len(files))
    bgs: list[tuple[Path, np.ndarray]] = []
    for b in bg_files:
        try:
            bgs.append((b, _read_rgb(b)))
        except BackgroundError as e:
            report.bad_backgrounds.append({"background": str(b), "message": str(e)})
            log(f"skipped background: {e}")
    if not bgs:
        raise BackgroundError(f"{backgrounds}: no readable background image")
    fg_path = Path(foreground) if foreground is not None else None
    fm_path = Path(face_mask) if face_mask is not None else None
    for p, what in ((fg_path, "foreground"), (fm_path, "face mask")):
        if p is not None and not p.exists():
            raise BackgroundError(f"{p}: no such {what} file or folder")
        if p is not None and p.is_file() and len(files) > 1:
            raise BackgroundError(f"{p}: a single {what} file needs a single input image; pass a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    names = unique_stems(files)
    for i, (path, name) in enumerate(tqdm(list(zip(files, names)), desc="backgrounds", unit="img",
                                          disable=len(files) < 8)):
        bg_path, bg = bgs[i % len(bgs)]
        try:
            img = _read_rgb(path)
            fmask_file = (fm_path if fm_path is not None and fm_path.is_file()
                          else _companion(path, fm_path, ("_masked", "")) if fm_path is not None
                          else _companion(path, path.parent, ("_masked",)))
            if fm_path is not None and fmask_file is None:
                raise BackgroundError(f"{path}: no face mask for it in {fm_path}")
            fmask = _read_mask(fmask_file, "face mask") if fmask_file is not None else None
            if fmask is not None and fmask.shape != img.shape[:2]:
                raise BackgroundError(f"{path}: face mask {fmask_file} is {fmask.shape[1]}x{fmask.shape[0]}, "
                                      f"the image is {img.shape[1]}x{img.shape[0]}")
            fg_file = None
            if fg_path is not None:
                fg_file = fg_path if fg_path.is_file() else _companion(path, fg_path, ("", "_foreground"))
                if fg_file is None:
                    raise BackgroundError(f"{path}: no foreground mask for it in {fg_path}")
            fgm = _read_mask(fg_file, "foreground mask") if fg_file is not None else None
            if fgm is not None and fgm.shape != img.shape[:2]:
                raise BackgroundError(f"{path}: foreground mask {fg_file} is {fgm.shape[1]}x{fgm.shape[0]}, "
                                      f"the image is {img.shape[1]}x{img.shape[0]}")
            try:
                res = replace_background(img, bg, fmask, fgm, levels=levels, seed=seed, keep_face=keep_face)
            except BackgroundError as e:
                raise BackgroundError(f"{path}: {e}") from None
            rec: dict[str, Any] = {"input": str(path), "background": str(bg_path),
                                   "output": str(atomic_write_png(out_dir / f"{name}.png", res.image)),
                                   "face_mask": str(fmask_file) if fmask_file else "detected",
                                   "foreground": str(fg_file) if fg_file else res.foreground.method,
                                   "foreground_fraction": round(float(res.foreground.mask.mean()), 4),
                                   "levels": res.levels, "notes": res.foreground.notes}
            if mask_out:
                rec["foreground_mask"] = str(atomic_write_png(out_dir / f"{name}_foreground.png",
                                                               res.foreground.mask.astype(np.uint8) * 255))
            report.processed.append(rec)
        except (BackgroundError, ValueError, OSError) as e:
            msg = str(e) if str(path) in str(e) else f"{path}: {e}"
            report.failures.append({"input": str(path), "error": e.__class__.__name__, "message": msg})
            log(f"failed: {msg}")
    report.seconds = time.perf_counter() - t0
    atomic_write_text(out_dir / REPORT_NAME, json.dumps(asdict(report), indent=2))
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facehalluc.background", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", nargs="+", required=True, metavar="IMG|DIR",
                   help="images (e.g. infer.py outputs) and/or folders (recursive; *_masked, *_block*, "
                        "*_pasted, contact_sheet* files of a folder are skipped)")
    p.add_argument("--background", required=True, metavar="BG|DIR",
                   help="background image, or a folder of them (used in turn); any size (cover + centre crop)")
    p.add_argument("--output", required=True, metavar="DIR")
    p.add_argument("--foreground", metavar="FILE|DIR", help="foreground masks from your own segmenter "
                   "(non-zero = person): a file for one input, or a folder with <stem>.png or "
                   "<stem>_foreground.png; replaces the GrabCut + saliency estimate")
    p.add_argument("--face-mask", metavar="FILE|DIR", help="face masks (binary, or masked faces: any channel "
                   "> 0 = face) for one input, or a folder with <stem>_masked.png or <stem>.png; default: "
                   "<stem>_masked.png beside the input if present, else dlib face detection")
    p.add_argument("--levels", type=int, help="Laplacian pyramid levels (default: coarsest level >= "
                   f"{DEFAULT_COARSEST_SIDE} px, i.e. 3 at 128x128; 1 = plain compositing; capped so the "
                   f"coarsest level keeps >= {MIN_LEVEL_SIDE} px)")
    p.add_argument("--mask-out", action="store_true", help="also write <stem>_foreground.png (0/255)")
    p.add_argument("--no-keep-face", action="store_true", help="do not restore the face-mask pixels "
                   "exactly after blending")
    p.add_argument("--seed", type=int, default=0, help="OpenCV RNG seed for GrabCut")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.levels is not None and args.levels < 1:
        print(f"background: --levels must be >= 1, got {args.levels}", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        report = run(args.input, args.background, args.output, foreground=args.foreground,
                     face_mask=args.face_mask, levels=args.levels, mask_out=args.mask_out, seed=args.seed,
                     keep_face=not args.no_keep_face, log=log)
    except BackgroundError as e:
        print(f"background: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"report: {Path(args.output) / REPORT_NAME}")
    return 0 if report.processed else 1


if __name__ == "__main__":
    sys.exit(main())
