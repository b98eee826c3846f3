"""Batch background replacement over files and folders (:func:`run`; :mod:`facehalluc.apps.background`)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...segment.foreground import BackgroundError
from ...utils.atomic import atomic_write_text
from ...utils.image import IMAGE_EXTENSIONS, ImageError, read_image, write_image
from .replace import METHODS, mask_from_masked, replace_background

REPORT_NAME = "background_report.json"
# Files an infer.py output folder holds besides the hallucinated images themselves.
_AUX_SUFFIXES = ("_masked", "_pasted", "_foreground", "_block8", "_block16", "_block32", "_block64")


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
