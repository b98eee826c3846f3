"""Image files: listing inputs, reading/writing PNGs, contact sheets.  Arrays are float32 [0, 1] RGB
unless a name says uint8."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class InputImageError(ValueError):
    """An input image that cannot be used (unreadable, wrong size); the message names the file."""


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


def read_rgb_uint8(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB; grey and RGBA images are converted.  Raises InputImageError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise InputImageError(f"{path}: unreadable image ({e.__class__.__name__}: {e})") from e


def read_masked_face(path: str | Path, size: int = 128) -> np.ndarray:
    """An already-masked face (black outside the face) as (size, size, 3) float32 in [0, 1].

    Other sizes are refused (resizing would blur the face-mask boundary): prepare faces with
    ``python -m facehalluc.data.prepare`` or pass raw photos without ``--masked``.
    """
    img = read_rgb_uint8(path)
    if img.shape[:2] != (size, size):
        raise InputImageError(f"{path}: --masked expects {size}x{size} masked faces, got "
                              f"{img.shape[1]}x{img.shape[0]} (pass raw photos without --masked to align them)")
    if not img.any():
        raise InputImageError(f"{path}: the masked face is entirely black (no face pixels)")
    return img.astype(np.float32) / 255.0


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[0, 1] float image -> uint8 (round half to even, clipped)."""
    if img.dtype == np.uint8:
        return img
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_png(path: str | Path, img: np.ndarray) -> Path:
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(img)).save(path)
    return path


def nearest_resize(img: np.ndarray, size: int) -> np.ndarray:
    h = img.shape[0]
    if h == size:
        return img
    idx = (np.arange(size) * h) // size
    return img[idx][:, idx]


def contact_sheet(rows: Sequence[Sequence[np.ndarray]], labels: Sequence[str] | None = None,
                  size: int = 128, pad: int = 2) -> np.ndarray:
    """A grid image (uint8): one row per input, cells resized (nearest) to ``size`` x ``size``.

    ``labels``: column titles drawn on a header line.  Missing cells are left light grey.
    """
    from PIL import Image, ImageDraw

    n_cols = max((len(r) for r in rows), default=1)
    header = 14 if labels else 0
    h = header + len(rows) * (size + pad) + pad
    w = n_cols * (size + pad) + pad
    sheet = np.full((h, w, 3), 235, np.uint8)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            y, x = header + pad + i * (size + pad), pad + j * (size + pad)
            sheet[y:y + size, x:x + size] = nearest_resize(to_uint8(cell), size)
    if labels:
        im = Image.fromarray(sheet)
        draw = ImageDraw.Draw(im)
        for j, text in enumerate(labels):
            draw.text((pad + j * (size + pad) + 2, 1), str(text)[:20], fill=(0, 0, 0))
        sheet = np.asarray(im)
    return sheet
