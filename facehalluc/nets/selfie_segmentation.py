"""MediaPipe selfie segmentation (general, 256x256) as a frozen, backend-agnostic Keras 3 model.

The network is built from the official ``selfie_segmentation.tflite`` flatbuffer shipped in
``facehalluc/segment/data`` (Apache-2.0, see the NOTICE there): the file's sha256 is checked, the
graph is read by the pure-Python :mod:`facehalluc.nets.tflite_reader` and every operator becomes a
Keras layer or a ``keras.ops`` call, with the file's float16 constants as float32 weights (exact).

Operators: CONV_2D, DEPTHWISE_CONV_2D (Keras layers), AVERAGE_POOL_2D (all global in this model:
a spatial mean), ADD, MUL, RELU, LOGISTIC, HARD_SWISH (``x * relu6(x + 3) / 6``), RESIZE_BILINEAR
(half-pixel centres, the ``keras.ops.image.resize`` convention), DEQUANTIZE (float16 constants), and
MediaPipe's custom ``Convolution2DTransposeBias`` (:class:`Conv2DTransposeBias`).  Anything else is
refused with the operator's name.

Input: (N, 256, 256, 3) RGB in [0, 1]; output: (N, 256, 256, 1) person probability.
"""
from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import keras
import numpy as np

from .tflite_reader import Model, Operator, TFLiteFormatError, read_tflite

MODEL_FILE = Path(__file__).resolve().parent.parent / "segment" / "data" / "selfie_segmentation.tflite"
# mediapipe 0.10.14 wheel, mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite (249,505 bytes)
MODEL_SHA256 = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"
INPUT_SIZE = (256, 256)  # (height, width)
_PADDING = {0: "same", 1: "valid"}  # schema.fbs enum Padding
_TFLITE_C_PADDING = {1: "same", 2: "valid"}  # TfLitePadding (C struct of the custom op's options)
_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}  # schema.fbs enum ActivationFunctionType


class SegmenterModelError(ValueError):
    """The shipped model file is missing, changed or not the expected graph; the message names it."""


@keras.saving.register_keras_serializable(package="facehalluc")
class Conv2DTransposeBias(keras.layers.Layer):
    """MediaPipe's custom TFLite operator ``Convolution2DTransposeBias``: a transposed 2-D convolution
    (``keras.ops.conv_transpose``) followed by a per-channel bias.

    ``padding``: "same" (output = input * stride, TFLite's padding split: floor half before) or
    "valid".  Weights: ``kernel`` (kh, kw, filters, in_channels) -- the TFLite tensor is
    (filters, kh, kw, in_channels) -- and ``bias`` (filters,).
    """

    def __init__(self, filters: int, kernel_size: tuple[int, int], strides: tuple[int, int],
                 padding: str = "same", **kwargs):
        super().__init__(**kwargs)
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        self.filters, self.kernel_size = int(filters), tuple(int(k) for k in kernel_size)
        self.strides, self.padding = tuple(int(s) for s in strides), padding

    def build(self, input_shape):
        kh, kw = self.kernel_size
        self.kernel = self.add_weight(name="kernel", shape=(kh, kw, self.filters, int(input_shape[-1])),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        y = keras.ops.conv_transpose(x, self.kernel, strides=self.strides, padding=self.padding)
        return y + self.bias

    def compute_output_shape(self, input_shape):
        n, h, w = input_shape[:3]
        (kh, kw), (sh, sw) = self.kernel_size, self.strides

        def size(s, k, st):
            return None if s is None else (s * st if self.padding == "same" else (s - 1) * st + k)

        return (n, size(h, kh, sh), size(w, kw, sw), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding}


def read_model_file(path: str | Path | None = None, sha256: str | None = MODEL_SHA256) -> Model:
    """Reads and parses the .tflite file (default :data:`MODEL_FILE`) after checking its sha256
    (``sha256=None`` skips the check)."""
    path = Path(MODEL_FILE if path is None else path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SegmenterModelError(f"{path}: cannot read the selfie-segmentation model ({e.strerror or e})") from None
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise SegmenterModelError(f"{path}: sha256 {got} is not the expected {sha256} (changed or "
                                      f"corrupt file; restore it from the package or a mediapipe 0.10.x wheel)")
    try:
        return read_tflite(data, str(path))
    except TFLiteFormatError as e:
        raise SegmenterModelError(str(e)) from None


def _fused(x, code: int, op: Operator):
    if code not in _ACTIVATIONS:
        raise SegmenterModelError(f"operator {op.index} ({op.op}): fused activation {code} is not supported")
    act = _ACTIVATIONS[code]
    return x if act is None else getattr(keras.ops, act)(x)


def build_keras_model(model: Model, name: str = "selfie_segmentation") -> keras.Model:
    """The Keras functional model equivalent to ``model`` (a parsed TFLite graph), weights loaded,
    not trainable.  Raises :class:`SegmenterModelError` for an unsupported operator or option."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise SegmenterModelError(f"expected one input and one output, got {model.inputs} -> {model.outputs}")
    tin = model.tensors[model.inputs[0]]
    inp = keras.Input(shape=tin.shape[1:], name="image")
    values: dict[int, object] = {tin.index: inp}
    consts = {t.index: t.data.astype(np.float32) for t in model.tensors if t.data is not None}

    def const(i: int, op: Operator) -> np.ndarray:
        if i not in consts:
            raise SegmenterModelError(f"operator {op.index} ({op.op}): input {i} is not a constant")
        return consts[i]

    for op in model.operators:
        o = op.options
        lname = f"op{op.index:03d}_{op.op.lower()}"
        if op.op == "DEQUANTIZE":
            consts[op.outputs[0]] = const(op.inputs[0], op)
            continue
        x = values.get(op.inputs[0])
        if x is None:
            raise SegmenterModelError(f"operator {op.index} ({op.op}): input tensor {op.inputs[0]} is not computed")
        if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            dw = op.op == "DEPTHWISE_CONV_2D"
            w = const(op.inputs[1], op)
            b = const(op.inputs[2], op) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            pad = _PADDING[o.scalar(0, "u8")]
            strides = (o.scalar(2, "i32"), o.scalar(1, "i32"))
            dil = (o.scalar(6 if dw else 5, "i32", 1), o.scalar(5 if dw else 4, "i32", 1))
            act = o.scalar(4 if dw else 3, "u8")
            if dw:  # TFLite (1, kh, kw, in * mult) -> Keras (kh, kw, in, mult)
                mult = o.scalar(3, "i32")
                kernel = w[0].reshape(w.shape[1], w.shape[2], -1, mult)
                layer = keras.layers.DepthwiseConv2D(kernel.shape[:2], strides, pad, depth_multiplier=mult,
                                                     dilation_rate=dil, use_bias=b is not None, name=lname)
            else:  # TFLite (out, kh, kw, in) -> Keras (kh, kw, in, out)
                kernel = w.transpose(1, 2, 3, 0)
                layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], strides, pad,
                                            dilation_rate=dil, use_bias=b is not None, name=lname)
            y = layer(x)
            layer.set_weights([kernel] + ([b] if b is not None else []))
            y = _fused(y, act, op)
        elif op.op == "Convolution2DTransposeBias":
            w, b = const(op.inputs[1], op), const(op.inputs[2], op)
            if op.custom_options is None or len(op.custom_options) < 12:
                raise SegmenterModelError(f"operator {op.index} ({op.op}): missing padding/stride options")
            padc, sw, sh = struct.unpack_from("<3i", op.custom_options)
            if padc not in _TFLITE_C_PADDING:
                raise SegmenterModelError(f"operator {op.index} ({op.op}): padding code {padc} is not supported")
            layer = Conv2DTransposeBias(w.shape[0], w.shape[1:3], (sh, sw), _TFLITE_C_PADDING[padc], name=lname)
            y = layer(x)
            layer.set_weights([w.transpose(1, 2, 0, 3), b])
        elif op.op == "AVERAGE_POOL_2D":
            fw, fh, act = o.scalar(3, "i32"), o.scalar(4, "i32"), o.scalar(5, "u8")
            if (fh, fw) == tuple(x.shape[1:3]) and _PADDING[o.scalar(0, "u8")] == "valid":
                y = keras.ops.mean(x, axis=(1, 2), keepdims=True)
            else:
                y = keras.layers.AveragePooling2D((fh, fw), (o.scalar(2, "i32"), o.scalar(1, "i32")),
                                                  _PADDING[o.scalar(0, "u8")], name=lname)(x)
            y = _fused(y, act, op)
        elif op.op in ("ADD", "MUL"):
            other = values.get(op.inputs[1])
            if other is None:
                other = const(op.inputs[1], op)
            y = keras.ops.add(x, other) if op.op == "ADD" else keras.ops.multiply(x, other)
            y = _fused(y, o.scalar(0, "u8") if o is not None else 0, op)
        elif op.op == "RELU":
            y = keras.ops.relu(x)
        elif op.op == "LOGISTIC":
            y = keras.ops.sigmoid(x)
        elif op.op == "HARD_SWISH":
            y = x * keras.ops.relu6(x + 3.0) / 6.0
        elif op.op == "RESIZE_BILINEAR":
            if o.scalar(2, "u8") or not o.scalar(3, "u8"):
                raise SegmenterModelError(f"operator {op.index} ({op.op}): only half-pixel-centre resizing "
                                          f"(align_corners=False, half_pixel_centers=True) is supported")
            size = tuple(int(v) for v in const(op.inputs[1], op))
            y = keras.ops.image.resize(x, size, interpolation="bilinear", antialias=False)
        else:
            raise SegmenterModelError(f"operator {op.index}: {op.op} is not supported by the Keras port")
        values[op.outputs[0]] = y
    out = values.get(model.outputs[0])
    if out is None:
        raise SegmenterModelError(f"the output tensor {model.outputs[0]} is never computed")
    net = keras.Model(inp, out, name=name)
    net.trainable = False
    return net


_CACHE: dict[str, keras.Model] = {}


def selfie_segmentation(path: str | Path | None = None, sha256: str | None = MODEL_SHA256) -> keras.Model:
    """The frozen Keras selfie-segmentation network (default file :data:`MODEL_FILE`; built once per
    file and cached).  Raises :class:`SegmenterModelError` naming the file when it is missing, changed
    or holds an unsupported graph."""
    path = Path(MODEL_FILE if path is None else path)
    key = f"{path.resolve()}:{sha256}"
    if key not in _CACHE:
        _CACHE[key] = build_keras_model(read_model_file(path, sha256))
    return _CACHE[key]
