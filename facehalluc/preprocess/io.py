"""Reading photos of any common kind into an 8-bit RGB array (Pillow)."""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..utils.image import to_uint8
from .errors import ImageTooLargeError, UnreadableImageError

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray]


def source_name(image: ImageInput, name: str | None = None) -> str:
    """The name used in messages and reports."""
    if name is not None:
        return name
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    if isinstance(image, np.ndarray):
        return "<array>"
    return "<bytes>"


def _to_uint8(a: np.ndarray, where: str) -> np.ndarray:
    """Integer/float pixel arrays -> uint8.  uint16 (and Pillow's 32-bit 'I' mode holding 16-bit
    data) is scaled by 255/65535; floats are taken to be in [0, 1] when their maximum is <= 1,
    else in [0, 255]."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise UnreadableImageError(where, f"integer pixel values outside 0..65535 ({a.dtype})")
        if a.dtype == np.uint16 or (a.size and a.max() > 255):
            return np.round(a.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
        return a.astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        if a.size and not np.isfinite(a).all():
            raise UnreadableImageError(where, "pixel array contains NaN or infinity")
        peak = 1.0 if (a.size == 0 or a.max() <= 1.0) else 255.0
        return to_uint8(a.astype(np.float64), peak=peak)
    raise UnreadableImageError(where, f"unsupported pixel dtype {a.dtype}")


def _array_to_rgb(a: np.ndarray, where: str) -> np.ndarray:
    """HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) array -> HxWx3 uint8 RGB."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = _to_uint8(a, where)
        return np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise UnreadableImageError(where, f"array of shape {a.shape} is not HxW, HxWx3 or HxWx4")
    a = _to_uint8(a, where)
    if a.shape[2] == 4:
        return _composite_alpha(a)
    return np.ascontiguousarray(a)


def _composite_alpha(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 -> RGB uint8 over a white background (transparent cut-outs stay light)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.round(rgb).astype(np.uint8)


def _pil_to_rgb(img: Image.Image, where: str) -> np.ndarray:
    mode = img.mode
    if mode in ("RGB",):
        return np.asarray(img, dtype=np.uint8).copy()
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        return _composite_alpha(np.asarray(img.convert("RGBA"), dtype=np.uint8))
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(img)
        if mode.startswith("I;16"):
            a = a.astype(np.uint16)
        return _array_to_rgb(a, where)
    if mode == "1":
        return _array_to_rgb(np.asarray(img.convert("L")), where)
    try:  # L, P, CMYK, YCbCr, LAB, HSV, ...
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (ValueError, OSError) as e:
        raise UnreadableImageError(where, f"cannot convert pixel mode {mode} to RGB ({e})") from None


def load_rgb(image: ImageInput, name: str | None = None) -> tuple[np.ndarray, str]:
    """Any supported input -> (HxWx3 uint8 RGB array, source name).

    * a path (JPEG, PNG, BMP, WebP, TIFF, GIF: whatever Pillow reads), or the file's bytes:
      EXIF orientation is applied (``ImageOps.exif_transpose``); grayscale, palette, CMYK, 16-bit
      and alpha images are converted to 8-bit RGB (alpha composited over white);
    * a numpy array: HxW or HxWx1 (gray), HxWx3 (**RGB** order, not OpenCV's BGR) or HxWx4 (RGBA),
      of dtype uint8, uint16 or float (float in [0, 1], or [0, 255] when its maximum exceeds 1).
    """
    where = source_name(image, name)
    if isinstance(image, np.ndarray):
        rgb = _array_to_rgb(image, where)
    else:
        if isinstance(image, (str, os.PathLike)):
            path = Path(image)
            if not path.is_file():
                raise UnreadableImageError(where, "file not found" if not path.exists() else "not a file")
            try:
                data = path.read_bytes()
            except OSError as e:
                raise UnreadableImageError(where, f"cannot read file ({e.strerror or e})") from None
        elif isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
        else:
            raise UnreadableImageError(where, f"unsupported input type {type(image).__name__}")
        if len(data) == 0:
            raise UnreadableImageError(where, "empty file (0 bytes)")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data))
                img.load()
                img = ImageOps.exif_transpose(img)
        except Image.DecompressionBombError as e:
            raise ImageTooLargeError(where, f"image too large to decode safely ({e})") from None
        except UnidentifiedImageError:
            raise UnreadableImageError(where, "not an image file Pillow can identify") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise UnreadableImageError(where, f"corrupt or truncated image ({e})") from None
        rgb = _pil_to_rgb(img, where)
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise UnreadableImageError(where, f"image has no pixels ({rgb.shape[1]}x{rgb.shape[0]})")
    return rgb, where
