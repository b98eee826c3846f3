"""Pairing and loading of (original, hallucinated) image files.

Pairing rule: every image file (``.png .jpg .jpeg .bmp .webp``, any case) under ``real_dir`` and ``fake_dir``
is keyed by its path relative to that folder *without the extension*, so ``real/Anna/Anna_0001.jpg`` pairs with
``fake/Anna/Anna_0001.png``.  Names present on one side only raise :class:`PairingError` listing them.

Resize rule: the paper scores 128x128 images.  A square image of another size is resized to 128x128 with
OpenCV ``INTER_AREA`` when shrinking (box filter, no aliasing) and ``INTER_LINEAR`` when enlarging; a
non-square image raises :class:`~facehalluc.utils.image.ImageError` (crop it consistently yourself: guessing a
crop would silently change the scores).  Files are read by :func:`facehalluc.utils.image.read_image`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from facehalluc.utils.image import ImageError, read_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
EVAL_SIZE = 128


class PairingError(ValueError):
    """The two folders do not hold the same set of image names (an unusable image file is an ``ImageError``)."""


@dataclass(frozen=True)
class ImagePair:
    name: str  # relative path without extension, '/'-separated
    real: Path
    fake: Path


def _index(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise PairingError(f"{folder}: not a folder")
    out: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            key = p.relative_to(folder).with_suffix("").as_posix()
            if key in out:
                raise PairingError(f"{folder}: two images share the name {key!r}: {out[key].name}, {p.name}")
            out[key] = p
    if not out:
        raise PairingError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return out


def pair_images(real_dir: str | Path, fake_dir: str | Path, limit: int | None = None) -> list[ImagePair]:
    """Pairs images of the two folders by name (see module docstring); sorted by name."""
    real, fake = _index(Path(real_dir)), _index(Path(fake_dir))
    only_real = sorted(set(real) - set(fake))
    only_fake = sorted(set(fake) - set(real))
    if only_real or only_fake:
        def show(names: list[str]) -> str:
            return ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        msg = [f"image names of {real_dir} and {fake_dir} differ:"]
        if only_real:
            msg.append(f"  only in --real ({len(only_real)}): {show(only_real)}")
        if only_fake:
            msg.append(f"  only in --fake ({len(only_fake)}): {show(only_fake)}")
        raise PairingError("\n".join(msg))
    pairs = [ImagePair(k, real[k], fake[k]) for k in sorted(real)]
    return pairs[:limit] if limit is not None else pairs


def resize_to(img: np.ndarray, size: int = EVAL_SIZE, where: str = "image") -> np.ndarray:
    """The documented resize rule for a uint8 (H, W, 3) image (see module docstring)."""
    import cv2

    h, w = img.shape[:2]
    if h != w:
        raise ImageError(where, f"image is {w}x{h}; only square images can be resized to {size}x{size}")
    if h == size:
        return img
    interp = cv2.INTER_AREA if h > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def load_image(path: str | Path, size: int | None = EVAL_SIZE) -> np.ndarray:
    """An image file as uint8 RGB (H, W, 3), resized by :func:`resize_to` unless ``size`` is None."""
    arr = read_image(path)
    return resize_to(arr, size, str(path)) if size is not None else arr


def load_pairs(pairs: Sequence[ImagePair], size: int = EVAL_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """All pairs as two uint8 arrays (N, size, size, 3)."""
    real = np.stack([load_image(p.real, size) for p in pairs])
    fake = np.stack([load_image(p.fake, size) for p in pairs])
    return real, fake


def load_masks(mask_dir: str | Path, names: Sequence[str], size: int = EVAL_SIZE) -> np.ndarray:
    """Face masks for the pairs ``names`` from ``mask_dir`` (same naming rule) -> uint8 (N, size, size) {0, 1}.

    A mask file is a grey (or RGB) image, face = non-zero (``baselines`` writes 0 / 255 PNGs).  Square masks of
    another size are resized with nearest-neighbour interpolation.
    """
    import cv2

    index = _index(Path(mask_dir))
    missing = [n for n in names if n not in index]
    if missing:
        raise PairingError(f"{mask_dir}: no mask for {len(missing)} image(s): {', '.join(missing[:20])}")
    out = []
    for n in names:
        m = read_image(index[n], mode="L")
        if m.shape[0] != m.shape[1]:
            raise ImageError(index[n], f"mask is {m.shape[1]}x{m.shape[0]}; only square masks are accepted")
        if m.shape[0] != size:
            m = cv2.resize(m, (size, size), interpolation=cv2.INTER_NEAREST)
        out.append((m > 0).astype(np.uint8))
    return np.stack(out)
