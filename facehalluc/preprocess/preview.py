"""Preview grid: original | aligned | masked face for a few photos (a visual check of the framing)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..utils.image import grid, write_image
from .errors import PreprocessError
from .face import FacePreprocessor
from .io import ImageInput, load_rgb


def _fit(rgb: np.ndarray, size: int) -> np.ndarray:
    """Letterboxes a photo into size x size (grey bars) without distorting it."""
    h, w = rgb.shape[:2]
    f = size / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))),
                       interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    out = np.full((size, size, 3), 96, np.uint8)
    y0, x0 = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return out


def preview_grid(pre: FacePreprocessor, images: Sequence[ImageInput], columns: int = 2,
                 gap: int = 4) -> np.ndarray:
    """RGB uint8 grid; each cell is (original | aligned | masked) for one photo that has a face
    (photos that fail are left out).  ``columns`` cells per row."""
    size = pre.cfg.output_size
    cells = []
    for image in images:
        try:
            s = pre.process(image)
        except PreprocessError:
            continue
        rgb, _ = load_rgb(image)
        cells.append(grid([[_fit(rgb, size), s.aligned, s.masked]], pad=gap // 2 or 1))
    if not cells:
        raise ValueError("no photo of the preview had a face")
    rows = [cells[i:i + columns] for i in range(0, len(cells), columns)]
    rows[-1] += [np.full_like(cells[0], 255)] * (columns - len(rows[-1]))
    return grid(rows, pad=gap * 2)


def save_preview(pre: FacePreprocessor, images: Sequence[ImageInput], path: str | Path, columns: int = 2) -> Path:
    return write_image(path, preview_grid(pre, images, columns))
