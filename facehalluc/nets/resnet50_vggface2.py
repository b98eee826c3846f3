"""ResNet-50-256D trained on VGGFace2 (Cao et al. 2018), the paper's match-score network, in Keras 3.

Architecture of the Oxford ``resnet50_256`` Caffe release (the layer names of its prototxt, ``/`` -> ``_``):

* ``conv1/7x7_s2`` 7x7/2 pad 3, BN, ReLU; ``pool1/3x3_s2`` 3x3/2 max pool, Caffe *ceil* rounding
  (112 -> 56; implemented as a one-pixel zero pad on the bottom/right, exact because inputs are post-ReLU >= 0);
* four stages of bottleneck blocks ``conv{s}_{b}`` (3, 4, 6, 3 blocks; widths 64, 128, 256, 512, expansion 4):
  ``1x1_reduce`` (stride 2 in the first block of stages 3-5, Caffe/MSRA style), ``3x3`` (pad 1),
  ``1x1_increase``, and in each first block the projection shortcut ``1x1_proj`` (same stride); every conv is
  bias-free and followed by BatchNorm (eps 1e-5) + Scale; ReLU after the sum;
* ``pool5/7x7_s1`` 7x7 average pool (-> 1x1x2048), ``feat_extract`` 1x1 conv 2048 -> 256 without bias: the
  256-D descriptor the paper correlates (Eq. 7).  The 8631-way classifier is not built.

Preprocessing inside :func:`build_resnet50_256d` (documented in docs/faithfulness.md): RGB [0, 1] of any size
-> bilinear resize to 224x224 (half-pixel centres) -> x255 -> BGR -> minus the release's mean
(B, G, R) = (91.4953, 103.8827, 131.0912).

Weights: :func:`convert_caffemodel` decodes the ``.caffemodel`` protobuf wire format directly (no caffe or
protobuf compiler needed: :func:`read_caffemodel`) and writes Keras ``.weights.h5``; registered as
``resnet50_256d_vggface2``.  The tests write that format with ``tests/support/caffemodel_writer.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import keras
import numpy as np
from keras import layers, ops

from .ops import resize_bilinear

INPUT_SIZE = 224
BN_EPS = 1e-5
FEATURE_DIM = 256
MEAN_BGR = (91.4953, 103.8827, 131.0912)
STAGES = ((2, 3, 64), (3, 4, 128), (4, 6, 256), (5, 3, 512))  # (stage, blocks, width)
SOURCE_FILENAME = "resnet50_256.caffemodel"
#: trainable parameters: ResNet-50 conv kernels + BN gamma/beta (torchvision's 25,557,032 minus its
#: 2,049,000-parameter fc) plus feat_extract 2048*256.  Checked by the tests against the built model.
TRUNK_PARAMS = 23_508_032
FEATURE_PARAMS = TRUNK_PARAMS + 2048 * FEATURE_DIM


@dataclass(frozen=True)
class ConvSpec:
    """One conv of the release: Caffe layer name (with '/'), shape, and whether BN follows it."""

    caffe_name: str
    in_ch: int
    out_ch: int
    kernel: int
    stride: int
    has_bn: bool = True

    @property
    def keras_name(self) -> str:
        return self.caffe_name.replace("/", "_")


class _Builder:
    def __init__(self) -> None:
        self.specs: list[ConvSpec] = []

    def conv_bn(self, x: keras.KerasTensor, name: str, out_ch: int, kernel: int, stride: int = 1,
                relu: bool = True) -> keras.KerasTensor:
        spec = ConvSpec(name, int(x.shape[-1]), out_ch, kernel, stride)
        self.specs.append(spec)
        if kernel > 1:
            x = layers.ZeroPadding2D(kernel // 2, name=f"{spec.keras_name}_pad")(x)
        x = layers.Conv2D(out_ch, kernel, strides=stride, padding="valid", use_bias=False,
                          name=spec.keras_name)(x)
        x = layers.BatchNormalization(epsilon=BN_EPS, name=f"{spec.keras_name}_bn")(x)
        return layers.ReLU(name=f"{spec.keras_name}_relu")(x) if relu else x

    def bottleneck(self, x: keras.KerasTensor, stage: int, block: int, width: int) -> keras.KerasTensor:
        p = f"conv{stage}_{block}"
        stride = 2 if (block == 1 and stage > 2) else 1
        y = self.conv_bn(x, f"{p}_1x1_reduce", width, 1, stride)
        y = self.conv_bn(y, f"{p}_3x3", width, 3)
        y = self.conv_bn(y, f"{p}_1x1_increase", 4 * width, 1, relu=False)
        shortcut = self.conv_bn(x, f"{p}_1x1_proj", 4 * width, 1, stride, relu=False) if block == 1 else x
        return layers.ReLU(name=f"{p}_relu")(layers.Add(name=f"{p}_add")([shortcut, y]))


def _trunk(b: _Builder, x: keras.KerasTensor) -> keras.KerasTensor:
    x = b.conv_bn(x, "conv1/7x7_s2", 64, 7, 2)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pool1_ceil_pad")(x)
    x = layers.MaxPooling2D(3, 2, name="pool1_3x3_s2")(x)
    for stage, blocks, width in STAGES:
        for block in range(1, blocks + 1):
            x = b.bottleneck(x, stage, block, width)
    x = layers.AveragePooling2D(7, 1, name="pool5_7x7_s1")(x)
    b.specs.append(ConvSpec("feat_extract", 2048, FEATURE_DIM, 1, 1, has_bn=False))
    x = layers.Conv2D(FEATURE_DIM, 1, use_bias=False, name="feat_extract")(x)
    return layers.Flatten(name="feat_extract_flat")(x)


def conv_specs() -> list[ConvSpec]:
    """Every conv of the network in order (54 = 53 ResNet-50 convs + feat_extract)."""
    b = _Builder()
    _trunk(b, keras.Input((INPUT_SIZE, INPUT_SIZE, 3)))
    return b.specs


def preprocess(x: keras.KerasTensor) -> keras.KerasTensor:
    """RGB [0, 1] -> 224x224 bilinear -> BGR 0..255 minus the VGGFace2 mean."""
    x = resize_bilinear(x, INPUT_SIZE)
    x = ops.flip(x, axis=-1) * 255.0
    return x - ops.convert_to_tensor(np.array(MEAN_BGR, np.float32))


def build_resnet50_256d(input_size: int | None = None, name: str = "resnet50_256d_vggface2") -> keras.Model:
    """Keras model: (N, H, W, 3) RGB [0, 1] -> (N, 256) feat_extract descriptors (random init)."""
    inp = keras.Input((input_size, input_size, 3), name="images")
    x = layers.Lambda(preprocess, output_shape=(INPUT_SIZE, INPUT_SIZE, 3), name="vggface2_preprocess")(inp)
    model = keras.Model(inp, _trunk(_Builder(), x), name=name)
    model.trainable = False
    return model


# --------------------------------------------------------------------- caffemodel wire-format reader
class CaffeModelError(ValueError):
    """A .caffemodel that cannot be decoded or lacks the expected layers."""


@dataclass
class CaffeLayer:
    """The parts of a Caffe ``LayerParameter`` the converter needs."""

    name: str
    type: str
    bottom: list[str] = field(default_factory=list)
    top: list[str] = field(default_factory=list)
    blobs: list[np.ndarray] = field(default_factory=list)


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CaffeModelError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of one protobuf message; value is an int or a byte slice."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
            yield num, wt, val
        elif wt == 1:
            yield num, wt, buf[pos:pos + 8]
            pos += 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise CaffeModelError("truncated length-delimited field")
            yield num, wt, buf[pos:pos + n]
            pos += n
        elif wt == 5:
            yield num, wt, buf[pos:pos + 4]
            pos += 4
        else:
            raise CaffeModelError(f"unsupported protobuf wire type {wt}")


def _blob(buf: memoryview) -> np.ndarray:
    """BlobProto: shape (7: BlobShape.dim 1), data (5: float), double_data (8), legacy num/ch/h/w (1-4)."""
    dims: list[int] = []
    legacy = {1: 1, 2: 1, 3: 1, 4: 1}
    has_legacy = False
    chunks: list[np.ndarray] = []
    dchunks: list[np.ndarray] = []
    for num, wt, val in _fields(buf):
        if num == 7 and wt == 2:
            for n2, w2, v2 in _fields(val):  # type: ignore[arg-type]
                if n2 == 1 and w2 == 2:  # packed int64
                    p = 0
                    while p < len(v2):  # type: ignore[arg-type]
                        d, p = _varint(v2, p)  # type: ignore[arg-type]
                        dims.append(d)
                elif n2 == 1 and w2 == 0:
                    dims.append(int(v2))  # type: ignore[arg-type]
        elif num == 5:
            chunks.append(np.frombuffer(val, dtype="<f4"))  # type: ignore[arg-type]  # packed or single
        elif num == 8:
            dchunks.append(np.frombuffer(val, dtype="<f8"))  # type: ignore[arg-type]
        elif num in legacy and wt == 0:
            legacy[num] = int(val)  # type: ignore[arg-type]
            has_legacy = True
    data = np.concatenate(chunks).astype(np.float32) if chunks else (
        np.concatenate(dchunks).astype(np.float32) if dchunks else np.zeros(0, np.float32))
    shape = tuple(dims) if dims else ((legacy[1], legacy[2], legacy[3], legacy[4]) if has_legacy else (data.size,))
    if int(np.prod(shape)) != data.size:
        raise CaffeModelError(f"blob of shape {shape} holds {data.size} values")
    return data.reshape(shape)


def read_caffemodel(path: str | Path) -> list[CaffeLayer]:
    """Layers (name, type, bottoms, tops, blobs) of a ``.caffemodel`` (NetParameter.layer, field 100)."""
    path = Path(path)
    try:
        raw = memoryview(path.read_bytes())
    except OSError as e:
        raise CaffeModelError(f"{path}: cannot read ({e})") from e
    out: list[CaffeLayer] = []
    try:
        for num, wt, val in _fields(raw):
            if num == 2 and wt == 2:
                raise CaffeModelError(f"{path}: V1 'layers' format (pre-2015 Caffe) is not supported; "
                                      f"upgrade it with caffe's upgrade_net_proto_binary")
            if num != 100 or wt != 2:
                continue
            layer = CaffeLayer(name="", type="")
            for n2, w2, v2 in _fields(val):  # type: ignore[arg-type]
                if w2 != 2:
                    continue
                if n2 == 1:
                    layer.name = bytes(v2).decode("utf-8")  # type: ignore[arg-type]
                elif n2 == 2:
                    layer.type = bytes(v2).decode("utf-8")  # type: ignore[arg-type]
                elif n2 == 3:
                    layer.bottom.append(bytes(v2).decode("utf-8"))  # type: ignore[arg-type]
                elif n2 == 4:
                    layer.top.append(bytes(v2).decode("utf-8"))  # type: ignore[arg-type]
                elif n2 == 7:
                    layer.blobs.append(_blob(v2))  # type: ignore[arg-type]
            out.append(layer)
    except CaffeModelError as e:
        raise CaffeModelError(f"{path}: {e}") from e
    if not out:
        raise CaffeModelError(f"{path}: no layers found (not a Caffe NetParameter binary?)")
    return out


# ------------------------------------------------------------------------------------- conversion
def _bn_params(layers_: list[CaffeLayer], conv_index: int, conv_name: str,
               origin: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(gamma, beta, mean, var) of the BN following a conv: Caffe BatchNorm + Scale, or a fused 'BN' layer.

    Found by name (``<conv>/bn`` and ``<conv>/bn/scale`` or ``<conv>/scale``), else as the BatchNorm/Scale
    layers that directly follow the conv in the file.
    """
    by_name = {l.name: l for l in layers_}
    bn = by_name.get(f"{conv_name}/bn") or by_name.get(f"{conv_name}_bn")
    scale = (by_name.get(f"{conv_name}/bn/scale") or by_name.get(f"{conv_name}/scale")
             or by_name.get(f"{conv_name}_scale") or by_name.get(f"{conv_name}_bn_scale"))
    if bn is None or scale is None:
        following = layers_[conv_index + 1:conv_index + 4]
        bn = bn or next((l for l in following if l.type in ("BatchNorm", "BN")), None)
        scale = scale or next((l for l in following if l.type == "Scale"), None)
    if bn is None:
        raise CaffeModelError(f"{origin}: no BatchNorm layer for conv {conv_name!r}")
    if bn.type == "BN":  # fused variant: scale, shift, mean, var (each 1xCx1x1)
        if len(bn.blobs) < 4:
            raise CaffeModelError(f"{origin}: BN layer {bn.name!r} has {len(bn.blobs)} blobs, expected 4")
        g, b, m, v = (blob.reshape(-1) for blob in bn.blobs[:4])
        return g, b, m, v
    if len(bn.blobs) != 3:
        raise CaffeModelError(f"{origin}: BatchNorm {bn.name!r} has {len(bn.blobs)} blobs, expected 3")
    factor = float(bn.blobs[2].reshape(-1)[0])
    factor = 1.0 / factor if factor != 0 else 0.0
    mean, var = bn.blobs[0].reshape(-1) * factor, bn.blobs[1].reshape(-1) * factor
    if scale is None or len(scale.blobs) != 2:
        raise CaffeModelError(f"{origin}: no Scale layer (gamma, beta) after BatchNorm {bn.name!r}")
    return scale.blobs[0].reshape(-1), scale.blobs[1].reshape(-1), mean, var


def assign_caffe_layers(model: keras.Model, layers_: list[CaffeLayer], origin: str = "caffemodel",
                        specs: Sequence[ConvSpec] | None = None) -> None:
    """Copies conv kernels (OIHW -> HWIO) and BN statistics into ``model``; raises on any mismatch."""
    index = {l.name.replace("/", "_"): i for i, l in enumerate(layers_)}
    for spec in (specs if specs is not None else conv_specs()):
        i = index.get(spec.keras_name)
        if i is None:
            raise CaffeModelError(f"{origin}: layer {spec.caffe_name!r} not found")
        conv = layers_[i]
        if not conv.blobs:
            raise CaffeModelError(f"{origin}: layer {conv.name!r} has no weights")
        w = conv.blobs[0]
        want = (spec.out_ch, spec.in_ch, spec.kernel, spec.kernel)
        if w.ndim == 2 and spec.kernel == 1:  # InnerProduct stored as (out, in)
            w = w.reshape(*w.shape, 1, 1)
        if tuple(w.shape) != want:
            raise CaffeModelError(f"{origin}: {conv.name} weights have shape {w.shape}, expected {want}")
        if len(conv.blobs) > 1 and np.any(conv.blobs[1] != 0):
            raise CaffeModelError(f"{origin}: {conv.name} has a non-zero bias; the release's convs are "
                                  f"bias-free")
        model.get_layer(spec.keras_name).set_weights([np.transpose(w, (2, 3, 1, 0)).astype(np.float32)])
        if spec.has_bn:
            params = _bn_params(layers_, i, conv.name, origin)
            for p in params:
                if p.shape != (spec.out_ch,):
                    raise CaffeModelError(f"{origin}: BN of {conv.name} has {p.shape} values, "
                                          f"expected {spec.out_ch}")
            model.get_layer(f"{spec.keras_name}_bn").set_weights([p.astype(np.float32) for p in params])


def convert_caffemodel(sources: Sequence[Path], output: Path) -> None:
    """Registry converter: Oxford ``resnet50_256.caffemodel`` -> Keras ``.weights.h5``."""
    if len(sources) != 1:
        raise CaffeModelError(f"resnet50_256d_vggface2 needs one source ({SOURCE_FILENAME}), got {len(sources)}")
    src = Path(sources[0])
    if src.suffix.lower() == ".mat":
        raise CaffeModelError(f"{src}: the MatConvNet release is not supported yet; use {SOURCE_FILENAME}")
    model = build_resnet50_256d()
    assign_caffe_layers(model, read_caffemodel(src), origin=str(src))
    model.save_weights(str(output))
