"""Differentiable augmentation for the discriminators (DiffAugment, Zhao et al., NeurIPS 2020), in keras.ops.

The same random transformations are applied to what a discriminator sees, real and synthetic alike, in the
discriminator step and in the generator step (gradients flow through them), so that D cannot memorise the
few thousand training faces a CPU run shows it.  Policies (``loss.adv_diffaugment``, comma list):

* ``color``: brightness ``x + (u - 0.5) / 2`` (the paper's ±0.5 on [-1, 1] images, here on [0, 1]),
  saturation ``(x - mean_c) * 2u + mean_c``, contrast ``(x - mean) * (u + 0.5) + mean``, u ~ U[0, 1) per image;
* ``translation``: a shift of up to 1/8 of the side in each direction, zero padded;
* ``cutout``: a zeroed square of half the side at a random centre.

Geometric policies move ``extra`` (e.g. a weight map) with the image; ``color`` touches the image only.
Images are NHWC floats in [0, 1].
"""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ..config import DIFFAUGMENT_POLICIES as POLICIES  # noqa: F401 - re-exported
from ..config import parse_diffaugment as parse_policy  # noqa: F401 - re-exported


def _u(n: Any, seed: Any, shape: tuple[int, ...] = ()) -> Any:
    return keras.random.uniform((n, *shape), seed=seed)


def _color(x: Any, seed: Any) -> Any:
    n = ops.shape(x)[0]
    x = x + (_u(n, seed, (1, 1, 1)) - 0.5) * 0.5
    m = ops.mean(x, axis=-1, keepdims=True)
    x = (x - m) * (_u(n, seed, (1, 1, 1)) * 2.0) + m
    m = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - m) * (_u(n, seed, (1, 1, 1)) + 0.5) + m


def _shift_matrix(shift: Any, size: int) -> Any:
    """(N, size, size) 0/1 matrices P with (P @ v)[i] = v[i - shift] (zero where i - shift is outside)."""
    i = ops.arange(size, dtype="int32")[None, :, None]
    j = ops.arange(size, dtype="int32")[None, None, :]
    return ops.cast(ops.equal(j, i - shift[:, None, None]), "float32")


def _translation(xs: list[Any], seed: Any, ratio: float = 0.125) -> list[Any]:
    n, h, w = ops.shape(xs[0])[0], xs[0].shape[1], xs[0].shape[2]
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = ops.cast(ops.floor(_u(n, seed) * (2 * sy + 1)), "int32") - sy
    tx = ops.cast(ops.floor(_u(n, seed) * (2 * sx + 1)), "int32") - sx
    py, px = _shift_matrix(ty, h), _shift_matrix(tx, w)
    return [ops.einsum("nij,njkc,nlk->nilc", py, ops.cast(x, "float32"), px) for x in xs]


def _cutout(xs: list[Any], seed: Any, ratio: float = 0.5) -> list[Any]:
    n, h, w = ops.shape(xs[0])[0], xs[0].shape[1], xs[0].shape[2]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = ops.floor(_u(n, seed) * (h + 1 - ch % 2))[:, None, None]
    cx = ops.floor(_u(n, seed) * (w + 1 - cw % 2))[:, None, None]
    yy = ops.cast(ops.arange(h), "float32")[None, :, None]
    xx = ops.cast(ops.arange(w), "float32")[None, None, :]
    inside = ops.logical_and(ops.logical_and(yy >= cy - ch // 2, yy < cy - ch // 2 + ch),
                             ops.logical_and(xx >= cx - cw // 2, xx < cx - cw // 2 + cw))
    keep = ops.cast(ops.logical_not(inside), "float32")[..., None]
    return [x * keep for x in xs]


def diff_augment(x: Any, policy: tuple[str, ...], seed: Any, extra: Any | None = None) -> tuple[Any, Any]:
    """(augmented x, ``extra`` moved by the same geometric transforms) for ``policy`` (see module doc)."""
    if not policy:
        return x, extra
    x = ops.cast(x, "float32")
    for p in policy:
        if p == "color":
            x = _color(x, seed)
        else:
            xs = [x] if extra is None else [x, extra]
            xs = _translation(xs, seed) if p == "translation" else _cutout(xs, seed)
            x, extra = (xs[0], None) if extra is None else (xs[0], xs[1])
    return x, extra
