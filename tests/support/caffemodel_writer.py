"""Writes Caffe ``.caffemodel`` files (binary NetParameter, protobuf wire format): the test fixtures' writer.

Moved out of ``facehalluc/nets/resnet50_vggface2.py``, which only reads the format (:func:`read_caffemodel`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from facehalluc.nets.resnet50_vggface2 import CaffeLayer

__all__ = ["write_caffemodel"]


def _enc_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _enc_field(num: int, payload: bytes) -> bytes:
    return _enc_varint((num << 3) | 2) + _enc_varint(len(payload)) + payload


def write_caffemodel(layers_: Sequence[CaffeLayer], path: str | Path, net_name: str = "net") -> Path:
    """Writes layers in the binary NetParameter format (shape as BlobShape, packed float data)."""
    body = bytearray(_enc_field(1, net_name.encode()))
    for layer in layers_:
        lp = bytearray(_enc_field(1, layer.name.encode()) + _enc_field(2, layer.type.encode()))
        for b in layer.bottom:
            lp += _enc_field(3, b.encode())
        for t in layer.top:
            lp += _enc_field(4, t.encode())
        for blob in layer.blobs:
            shape = _enc_field(1, b"".join(_enc_varint(int(d)) for d in blob.shape))
            bp = _enc_field(7, shape) + _enc_field(5, np.ascontiguousarray(blob, "<f4").tobytes())
            lp += _enc_field(7, bp)
        body += _enc_field(100, bytes(lp))
    Path(path).write_bytes(bytes(body))
    return Path(path)
