"""The image module: every image file the package reads or writes, the float <-> uint8 conversion, and grids.

Conventions (the whole package):

* an image array is (H, W, 3) RGB (grey (H, W) where a name says *mask*), either **uint8** 0..255 or
  **float in [0, 1]**;
* float -> uint8 is :func:`to_uint8`: ``round(clip(x, 0, 1) * 255)``, rounding half to even (``np.round``),
  computed in the array's own float type (float32 for network outputs, as the exported SavedModel does);
* uint8 -> float is :func:`to_float`: ``x / 255`` in the requested float type;
* files are written as PNG (lossless) by :func:`write_image`, atomically (temporary name + ``os.replace``);
* a file that cannot be used raises :class:`ImageError`, whose message is ``<file>: <reason>``.

:func:`grid` lays images out on a pixel grid (contact sheets, training samples, previews);
:func:`figure_grid` draws a matplotlib figure with column titles and row labels (report figures).
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .atomic import atomic_path


class ImageError(ValueError):
    """An image file (or array) that cannot be used.  ``path`` names it, ``reason`` is one line; the message is
    ``"<path>: <reason>"``.  A ``ValueError``, so ``except ValueError`` clauses keep catching it."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):  # picklable across worker processes
        return (type(self), (self.path, self.reason))


# ------------------------------------------------------------------------------------------ conversion
def to_uint8(img: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Float image in [0, ``peak``] -> uint8 0..255, rounded half to even and clipped; uint8 passes through.

    ``peak=1`` (default): ``round(clip(x, 0, 1) * 255)``; ``peak=255``: ``round(clip(x, 0, 255))``.  The
    arithmetic runs in the input's own float type (float32 stays float32); integer input is taken as float64.
    """
    a = np.asarray(img)
    if a.dtype == np.uint8:
        return a
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    if peak == 1.0:
        return np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    if peak == 255.0:
        return np.round(np.clip(a, 0.0, 255.0)).astype(np.uint8)
    raise ValueError(f"to_uint8: peak must be 1 or 255, got {peak}")


def to_float(img: np.ndarray, dtype=np.float32) -> np.ndarray:
    """uint8 (or other integer) image -> ``dtype`` in [0, 1] (``x / 255``); a float image is only cast."""
    a = np.asarray(img)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        return a.astype(dtype) / dtype(255.0)
    return a.astype(dtype)


# ------------------------------------------------------------------------------------------ files
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def read_image(path: str | os.PathLike, mode: str = "RGB") -> np.ndarray:
    """An image file as a uint8 array: ``mode="RGB"`` (H, W, 3), ``"L"`` (H, W) grey.

    Pillow's ``convert(mode)``: grey and palette images are expanded, an alpha channel is dropped.
    Raises :class:`ImageError` (missing file, not an image, truncated file).
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise ImageError(path, "no such file" if not p.exists() else "not a file")
    try:
        with Image.open(p) as im:
            return np.asarray(im.convert(mode), dtype=np.uint8).copy()
    except UnidentifiedImageError:
        raise ImageError(path, "unreadable image: not an image file Pillow can identify") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise ImageError(path, f"unreadable image ({e.__class__.__name__}: {e})") from None


def encode_image(img: np.ndarray, format: str = "PNG", compress_level: int | None = None,
                 where: str | os.PathLike = "<array>") -> bytes:
    """The bytes of an image file (Pillow's encoder) from a uint8 or [0, 1] float image (:func:`to_uint8`),
    (H, W, 3), (H, W, 4) or grey (H, W[, 1]); another shape raises :class:`ImageError` naming ``where``.

    ``compress_level`` (PNG only): None = zlib's default."""
    from PIL import Image

    a = to_uint8(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ImageError(where, f"cannot write an array of shape {a.shape} as an image "
                                f"(expected (H, W, 3), (H, W, 4) or (H, W))")
    buf = io.BytesIO()
    kw = {} if compress_level is None else {"compress_level": int(compress_level)}
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format=format, **kw)
    return buf.getvalue()


def write_image(path: str | os.PathLike, img: np.ndarray, fsync: bool = False) -> Path:
    """Writes a uint8 or [0, 1] float image (:func:`to_uint8`) atomically; returns ``path``.

    The format follows the extension (``.png``: lossless, what every output of the package uses).  The parent
    folder is created.  ``fsync=True`` also flushes the file to disk before the rename (worth it for a single
    important file, not for thousands of outputs: the rename alone keeps each file whole).
    """
    from PIL import Image

    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageError(path, f"unknown image extension {path.suffix!r} (use .png)")
    data = encode_image(img, fmt, where=path)
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------------ layout
def nearest_resize(img: np.ndarray, size: int) -> np.ndarray:
    """A square image resized to ``size`` x ``size`` by nearest neighbour (pixel replication when enlarging
    by an integer factor: block outputs stay blocky)."""
    h = img.shape[0]
    if h == size:
        return img
    idx = (np.arange(size) * h) // size
    return img[idx][:, idx]


def grid(rows: Sequence[Sequence[np.ndarray]], *, size: int | None = None, pad: int = 0, margin: int = 0,
         fill: int = 255, labels: Sequence[str] | None = None, label_height: int = 14) -> np.ndarray:
    """Cells laid out row by row -> one uint8 (H, W, 3) image.

    * ``rows``: a list of rows, each a list of cells (uint8 or [0, 1] float, (h, w, 3) or (h, w) grey);
      rows may be short: missing cells stay ``fill``;
    * ``size``: resize every cell to ``size`` x ``size`` (:func:`nearest_resize`); without it every cell must
      have the same height and width;
    * ``pad``: pixels between cells; ``margin``: pixels around the whole grid (below the label line);
    * ``labels``: column titles written (Pillow's default font, 20 characters at most) on a
      ``label_height``-pixel line above the grid.

    Cell (i, j) starts at ``y = header + margin + i * (h + pad)``, ``x = margin + j * (w + pad)``.
    """
    cells = [[np.asarray(c) for c in row] for row in rows]
    flat = [c for row in cells for c in row]
    if size is not None:
        ch = cw = int(size)
    elif flat:
        ch, cw = flat[0].shape[:2]
        for c in flat:
            if c.shape[:2] != (ch, cw):
                raise ValueError(f"grid: cells of different sizes, {ch}x{cw} and {c.shape[0]}x{c.shape[1]} "
                                 f"(pass size= to resize them)")
    else:
        ch = cw = 0
    n_rows = len(cells)
    n_cols = max((len(r) for r in cells), default=1)
    header = label_height if labels else 0
    h = header + 2 * margin + n_rows * (ch + pad) - pad
    w = 2 * margin + n_cols * (cw + pad) - pad
    sheet = np.full((h, w, 3), fill, np.uint8)
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            c = to_uint8(cell)
            if size is not None:
                c = nearest_resize(c, size)
            if c.ndim == 2:
                c = c[..., None]
            y, x = header + margin + i * (ch + pad), margin + j * (cw + pad)
            sheet[y:y + ch, x:x + cw] = c
    if labels:
        from PIL import Image, ImageDraw

        im = Image.fromarray(sheet)
        draw = ImageDraw.Draw(im)
        for j, text in enumerate(labels):
            draw.text((margin + j * (cw + pad) + 2, 1), str(text)[:20], fill=(0, 0, 0))
        sheet = np.asarray(im)
    return sheet


def contact_sheet(rows: Sequence[Sequence[np.ndarray]], labels: Sequence[str] | None = None,
                  size: int = 128, pad: int = 2) -> np.ndarray:
    """The inference contact sheet: cells resized to ``size``, ``pad`` pixels between and around them, light
    grey background, column titles on a header line (:func:`grid`)."""
    return grid(rows, size=size, pad=pad, margin=pad, fill=235, labels=labels)


def figure_grid(columns: dict[str, Sequence[np.ndarray]], path: str | os.PathLike, row_labels: Sequence[str] = (),
                title: str = "") -> Path:
    """A report figure (matplotlib PNG): one column per entry of ``columns`` (its key is the heading), one row
    per face, ``row_labels`` beside the first column, an optional ``title``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads = list(columns)
    n = len(columns[heads[0]])
    fig, axes = plt.subplots(n, len(heads), figsize=(1.45 * len(heads), 1.45 * n + 0.4), squeeze=False)
    for c, head in enumerate(heads):
        for r in range(n):
            ax = axes[r][c]
            ax.imshow(columns[head][r])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(head, fontsize=8)
            if c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=6)
    top = 1.0 - 0.45 / fig.get_figheight() if title else 1.0
    if title:
        fig.suptitle(title, fontsize=9, y=0.998)
    fig.tight_layout(pad=0.3, rect=(0.0, 0.0, 1.0, top))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
