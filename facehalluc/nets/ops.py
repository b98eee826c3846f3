"""Keras ops shared by the frozen nets and the generator (``facehalluc.models`` imports them from here)."""
from __future__ import annotations

from keras import ops


def resize_bilinear(images, size: int, antialias: bool = False):
    """Bilinear resize with half-pixel centres.

    ``antialias=False``: the 2x2-tap bilinear kernel, like cv2.INTER_LINEAR (aliases when shrinking
    128 -> 8).  ``antialias=True``: when shrinking, the triangle kernel is widened by the scale factor
    (a proper low-pass, like PIL's bilinear resize); enlarging is the same either way.
    """
    return ops.image.resize(images, (size, size), interpolation="bilinear", antialias=bool(antialias),
                            data_format="channels_last")
