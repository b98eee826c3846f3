"""ProGAN regime: grow the generator from block_8 to block_128 by copying matching layers.

The paper: "we train the lowest resolution block_8 first ... After a few training epochs, we stop
and load additional layers from block_16 and start training again".  Block r+1's table is block r's
table with one more encoder level (conv + residual block) on the image side and one more decoder
level (conv + pixel shuffle) before the output conv, so the layers correspond **by depth from the
bottleneck**:

* encoder ``conv{i}`` / ``rb{i}`` of block 2r  <-  ``conv{i-1}`` / ``rb{i-1}`` of block r (i >= 2);
  ``conv1`` (and its residual block) of block 2r is the new outermost level;
* ``conv0`` (image-side dilated conv), ``fc1``, ``fc2``, decoder ``dec_conv{k}`` (numbered from the
  bottleneck) and ``out_conv`` keep their names;
* a layer is copied only when every weight has the same shape in both blocks (e.g. ``fc1``/``fc2``,
  the 1024-wide residual block, ``dec_conv1``; the new levels and convs whose input width changed
  keep their fresh initialisation).
"""
from __future__ import annotations

import re

import keras


def corresponding_layer_name(name: str, new_resolution: int) -> str | None:
    """Name in block ``new_resolution // 2`` of the layer ``name`` of block ``new_resolution``."""
    old = new_resolution // 2
    prefix = f"block_{new_resolution}_"
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    m = re.fullmatch(r"(conv|rb)(\d+)(.*)", rest)
    if m and not (m.group(1) == "conv" and m.group(2) == "0"):
        level = int(m.group(2))
        if level < 2:
            return None
        return f"block_{old}_{m.group(1)}{level - 1}{m.group(3)}"
    return f"block_{old}_{rest}"


def grow_block(new_block: keras.Model, old_block: keras.Model) -> list[str]:
    """Copies every layer of ``old_block`` whose weights fit its counterpart in ``new_block``.

    Returns the names of the layers of ``new_block`` that received weights.
    """
    new_res = int(new_block.name.split("_")[1])
    old_layers = {lay.name: lay for lay in old_block.layers}
    copied = []
    for lay in new_block.layers:
        if not lay.weights:
            continue
        src_name = corresponding_layer_name(lay.name, new_res)
        src = old_layers.get(src_name) if src_name else None
        if src is None or len(src.weights) != len(lay.weights):
            continue
        if all(tuple(a.shape) == tuple(b.shape) for a, b in zip(src.weights, lay.weights)):
            for a, b in zip(src.weights, lay.weights):
                b.assign(a)
            copied.append(lay.name)
    return copied
