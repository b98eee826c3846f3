"""Inference inputs: listing image files, output names, reading a masked face.  Reading, writing, conversion
and contact sheets are :mod:`facehalluc.utils.image`'s."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..utils.image import IMAGE_EXTENSIONS, ImageError, read_image, to_float


def list_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """Files given directly, plus every image file under a given directory (recursively, sorted).

    A path that does not exist raises :class:`FileNotFoundError` naming it.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    return out


def unique_stems(paths: Sequence[Path]) -> list[str]:
    """Output names: the file stem, with ``_2``, ``_3`` ... appended when stems repeat."""
    seen: dict[str, int] = {}
    names = []
    for p in paths:
        stem = p.stem
        k = seen.get(stem, 0) + 1
        seen[stem] = k
        names.append(stem if k == 1 else f"{stem}_{k}")
    return names


def read_masked_face(path: str | Path, size: int = 128) -> np.ndarray:
    """An already-masked face (black outside the face) as (size, size, 3) float32 in [0, 1].

    Other sizes are refused (resizing would blur the face-mask boundary): prepare faces with
    ``python -m facehalluc.data.prepare`` or pass raw photos without ``--masked``.
    """
    img = read_image(path)
    if img.shape[:2] != (size, size):
        raise ImageError(path, f"--masked expects {size}x{size} masked faces, got {img.shape[1]}x{img.shape[0]} "
                               f"(pass raw photos without --masked to align them)")
    if not img.any():
        raise ImageError(path, "the masked face is entirely black (no face pixels)")
    return to_float(img)
