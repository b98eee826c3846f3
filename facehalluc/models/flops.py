"""Analytic FLOP counts (multiply and add counted separately: 2 per MAC) for Keras models."""
from __future__ import annotations

import math

import keras


def _shape(t) -> tuple:
    return tuple(int(d) for d in t.shape[1:])


def layer_flops(layer) -> int:
    """Forward FLOPs per image of one layer (convs and dense layers; element-wise ops are ignored)."""
    if isinstance(layer, keras.layers.Conv2D):
        out = _shape(layer.output)
        kh, kw = layer.kernel_size
        cin = int(layer.input.shape[-1]) // layer.groups
        return 2 * math.prod(out) * kh * kw * cin
    if isinstance(layer, keras.layers.Dense):
        return 2 * int(layer.input.shape[-1]) * int(layer.units) * math.prod(_shape(layer.output)[:-1])
    return 0


def model_flops(model: keras.Model) -> int:
    """Forward FLOPs per image, recursing into nested models."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += model_flops(layer)
        else:
            total += layer_flops(layer)
    return total
