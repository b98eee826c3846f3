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
2. **Person segmentation** (``method``, ``--method``): ``selfie`` (default) -- MediaPipe's selfie
   segmentation network (Apache-2.0), ported to Keras from its official .tflite file shipped in the
   package (:mod:`facehalluc.nets.selfie_segmentation`, :mod:`facehalluc.segment.person`), person =
   probability >= 0.5.  ``grabcut`` -- the fallback: OpenCV's GrabCut seeded by the face mask (sure
   foreground), a head/neck/shoulder region placed from the face box and the saliency region
   (probable foreground) (:mod:`facehalluc.segment.foreground`).  A user-supplied foreground mask
   (``foreground`` / ``--foreground``, from any segmenter or matting network) replaces steps 2-3
   (the face mask is still added to it).
3. **Saliency**: gradient magnitude of the grey image, thresholded (Otsu), closed, and the filled
   outer contour of the salient edges that touches the face; the final foreground is the union of the
   person mask and that region near the person (the region is dropped when it is implausibly large,
   i.e. the background itself is textured), restricted to the part connected to the face, holes
   filled, the face mask added (it always lies inside the foreground).
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

from ...segment.foreground import (GRABCUT_ITERATIONS, MAX_SALIENCY_FRACTION, BackgroundError,  # noqa: F401
                                 Foreground, detect_face_mask, estimate_foreground, fill_holes, person_prior,
                                 refine, saliency_region, user_foreground)
from ...utils.atomic import atomic_write_text
from ...utils.image import IMAGE_EXTENSIONS, ImageError, read_image, to_uint8, write_image

# Default pyramid depth: as many levels as keep the coarsest one >= DEFAULT_COARSEST_SIDE pixels, i.e.
# 3 at 128x128 (bands at 128 and 64, a 32x32 Gaussian residual) and one more per doubling of the size.
# Deeper pyramids carry the old background's colour into the person (and back) at low frequencies.
DEFAULT_COARSEST_SIDE = 32
MIN_LEVEL_SIDE = 4  # the coarsest pyramid level keeps at least this many pixels on its shorter side
REPORT_NAME = "background_report.json"
METHODS = ("selfie", "grabcut")  # person segmenters; the first is the default
# Files an infer.py output folder holds besides the hallucinated images themselves.
_AUX_SUFFIXES = ("_masked", "_pasted", "_foreground", "_block8", "_block16", "_block32", "_block64")


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


# ------------------------------------------------------------------------------------- files / CLI
def _read_mask(path: Path) -> np.ndarray:
    """A mask image: non-zero in any channel = inside (binary masks and masked faces alike)."""
    return mask_from_masked(read_image(path))


def is_auxiliary(path: Path) -> bool:
    """Files of an infer.py output folder that are not hallucinated images (stages, masks, sheets)."""
    stem = path.stem
    return stem.startswith("contact_sheet") or stem.endswith(_AUX_SUFFIXES) or stem.startswith(".tmp-")


def _companion(path: Path, folder: Path | None, suffixes: Sequence[str]) -> Path | None:
    """``folder/<stem><suffix>.<ext>`` for the first suffix/extension that exists."""
    if folder is None:
        return None
    for suf in suffixes:
        for ext in (path.suffix,) + tuple(e for e in IMAGE_EXTENSIONS if e != path.suffix):
            cand = folder / f"{path.stem}{suf}{ext}"
            if cand.is_file():
                return cand
    return None


def list_images(spec: str | Path, what: str) -> list[Path]:
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
        keep_face: bool = True, method: str = METHODS[0], log=print) -> BackgroundReport:
    """Batch background replacement; per-file problems are reported and the batch goes on.

    Backgrounds are read once and assigned to the inputs in turn (input i gets background
    i mod n, sorted).  Face masks: ``face_mask`` (file for one input, or a folder holding
    ``<stem>.png`` / ``<stem>_masked.png``), else a ``<stem>_masked.<ext>`` beside the input (an
    ``infer.py --save-stages`` folder), else face detection.  ``foreground``: a file or a folder of
    ``<stem>.<ext>`` / ``<stem>_foreground.<ext>`` masks from any segmenter; without it ``method``
    (see :func:`replace_background`) makes the person mask.
    Writes ``<stem>.png`` (+ ``<stem>_foreground.png`` with ``mask_out``) and ``background_report.json``.
    Raises :class:`BackgroundError` when no input or no usable background exists.
    """
    from ...infer.images import unique_stems

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
            bgs.append((b, read_image(b)))
        except ImageError as e:
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
    if method == "selfie" and fg_path is None:  # a missing or changed model file stops the batch at once
        from ...nets.selfie_segmentation import SegmenterModelError, selfie_segmentation

        try:
            selfie_segmentation()
        except SegmenterModelError as e:
            raise BackgroundError(str(e)) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    names = unique_stems(files)
    for i, (path, name) in enumerate(tqdm(list(zip(files, names)), desc="backgrounds", unit="img",
                                          disable=len(files) < 8)):
        bg_path, bg = bgs[i % len(bgs)]
        try:
            img = read_image(path)
            fmask_file = (fm_path if fm_path is not None and fm_path.is_file()
                          else _companion(path, fm_path, ("_masked", "")) if fm_path is not None
                          else _companion(path, path.parent, ("_masked",)))
            if fm_path is not None and fmask_file is None:
                raise BackgroundError(f"{path}: no face mask for it in {fm_path}")
            fmask = _read_mask(fmask_file) if fmask_file is not None else None
            if fmask is not None and fmask.shape != img.shape[:2]:
                raise BackgroundError(f"{path}: face mask {fmask_file} is {fmask.shape[1]}x{fmask.shape[0]}, "
                                      f"the image is {img.shape[1]}x{img.shape[0]}")
            fg_file = None
            if fg_path is not None:
                fg_file = fg_path if fg_path.is_file() else _companion(path, fg_path, ("", "_foreground"))
                if fg_file is None:
                    raise BackgroundError(f"{path}: no foreground mask for it in {fg_path}")
            fgm = _read_mask(fg_file) if fg_file is not None else None
            if fgm is not None and fgm.shape != img.shape[:2]:
                raise BackgroundError(f"{path}: foreground mask {fg_file} is {fgm.shape[1]}x{fgm.shape[0]}, "
                                      f"the image is {img.shape[1]}x{img.shape[0]}")
            try:
                res = replace_background(img, bg, fmask, fgm, levels=levels, seed=seed, keep_face=keep_face,
                                         method=method)
            except BackgroundError as e:
                raise BackgroundError(f"{path}: {e}") from None
            rec: dict[str, Any] = {"input": str(path), "background": str(bg_path),
                                   "output": str(write_image(out_dir / f"{name}.png", res.image, fsync=True)),
                                   "face_mask": str(fmask_file) if fmask_file else "detected",
                                   "foreground": str(fg_file) if fg_file else res.foreground.method,
                                   "foreground_fraction": round(float(res.foreground.mask.mean()), 4),
                                   "levels": res.levels, "notes": res.foreground.notes}
            if mask_out:
                rec["foreground_mask"] = str(write_image(out_dir / f"{name}_foreground.png",
                                                         res.foreground.mask.astype(np.uint8) * 255, fsync=True))
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
                   "<stem>_foreground.png; replaces the --method person segmenter")
    p.add_argument("--method", choices=METHODS, default=METHODS[0],
                   help="person segmenter, refined by the saliency contour: selfie = MediaPipe's selfie "
                        "segmentation network ported to Keras (default); grabcut = OpenCV GrabCut seeded by "
                        "the face (the fallback)")
    p.add_argument("--face-mask", metavar="FILE|DIR", help="face masks (binary, or masked faces: any channel "
                   "> 0 = face) for one input, or a folder with <stem>_masked.png or <stem>.png; default: "
                   "<stem>_masked.png beside the input if present, else dlib face detection")
    p.add_argument("--levels", type=int, help="Laplacian pyramid levels (default: coarsest level >= "
                   f"{DEFAULT_COARSEST_SIDE} px, i.e. 3 at 128x128; 1 = plain compositing; capped so the "
                   f"coarsest level keeps >= {MIN_LEVEL_SIDE} px)")
    p.add_argument("--mask-out", action="store_true", help="also write <stem>_foreground.png (0/255)")
    p.add_argument("--no-keep-face", action="store_true", help="do not restore the face-mask pixels "
                   "exactly after blending")
    p.add_argument("--seed", type=int, default=0, help="OpenCV RNG seed for --method grabcut")
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
                     keep_face=not args.no_keep_face, method=args.method, log=log)
    except BackgroundError as e:
        print(f"background: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"report: {Path(args.output) / REPORT_NAME}")
    return 0 if report.processed else 1


if __name__ == "__main__":
    sys.exit(main())
