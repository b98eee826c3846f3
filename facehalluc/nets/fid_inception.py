"""Inception-v3 of the original FID (TF graph ``inception-2015-12-05``), pool3 2048-D features, in Keras 3.

This is the network pytorch-fid's ``fid_inception_v3`` re-implements on top of torchvision's Inception-v3
(weights ``pt_inception-2015-12-05-6726825d.pth``, ported by pytorch-fid from the TF graph).  Structure:

* every conv is a *BasicConv2d*: bias-free conv, BatchNorm (eps 1e-3), ReLU;
* stem: 1a 3x3/2 (valid), 2a 3x3 (valid), 2b 3x3 (same), max-pool 3/2, 3b 1x1, 4a 3x3 (valid), max-pool 3/2;
* Mixed_5b/5c/5d (InceptionA), 6a (InceptionB), 6b-6e (InceptionC), 7a (InceptionD), 7b/7c (InceptionE),
  global average pool -> 2048 (pool3).  The classifier ``fc`` (1008 classes) and the aux head are not built.
* FID-specific differences from torchvision's Inception (as pytorch-fid patches them): the 3x3/1 average pools
  inside the A, C and E blocks do not count padded zeros (``count_include_pad=False``; Keras
  ``AveragePooling2D(padding="same")`` excludes padding on every backend), and the *last* E block (Mixed_7c)
  uses a 3x3/1 **max** pool in its pool branch.

Input convention (:func:`build_fid_inception`): float32 NHWC RGB in [0, 1] of any size; resized to 299x299
bilinearly (half-pixel centres, no antialiasing = ``F.interpolate(..., align_corners=False)``), then scaled to
[-1, 1] (``2x - 1``).  Output: (N, 2048) pool3 features.

Weights: :func:`convert_pytorch_fid` reads the pytorch-fid ``.pth`` (torch zip format, via
``facehalluc.weights.torch_pickle``) and writes Keras ``.weights.h5``; registered as ``fid_inception``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
from keras import layers

from .ops import resize_bilinear

INPUT_SIZE = 299
BN_EPS = 1e-3
FEATURE_DIM = 2048
SOURCE_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
#: total trainable parameters of the feature layers (conv kernels + BN gamma/beta), i.e. torchvision's
#: Inception-v3 (27,161,264 with the aux head and a 1000-way fc) minus the aux head (3,326,696) minus the fc
#: (2,049,000).  Checked by the tests against the built model.
FEATURE_PARAMS = 21_785_568


@dataclass(frozen=True)
class ConvSpec:
    """One BasicConv2d: the torch module path (prefix of its state-dict keys) and the conv geometry."""

    torch_name: str
    in_ch: int
    out_ch: int
    kernel: tuple[int, int]
    stride: int
    padding: str  # "same" or "valid"

    @property
    def keras_name(self) -> str:
        return self.torch_name.replace(".", "__")


class _Builder:
    """Builds the functional graph and records every conv it creates (in creation order)."""

    def __init__(self) -> None:
        self.specs: list[ConvSpec] = []

    def conv(self, x: keras.KerasTensor, name: str, out_ch: int, kernel: int | tuple[int, int],
             stride: int = 1, padding: str = "valid") -> keras.KerasTensor:
        k = (kernel, kernel) if isinstance(kernel, int) else kernel
        spec = ConvSpec(name, int(x.shape[-1]), out_ch, k, stride, padding)
        self.specs.append(spec)
        x = layers.Conv2D(out_ch, k, strides=stride, padding=padding, use_bias=False,
                          name=f"{spec.keras_name}__conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPS, name=f"{spec.keras_name}__bn")(x)
        return layers.ReLU(name=f"{spec.keras_name}__relu")(x)

    def block_a(self, x: keras.KerasTensor, name: str, pool_features: int) -> keras.KerasTensor:
        b1 = self.conv(x, f"{name}.branch1x1", 64, 1)
        b5 = self.conv(x, f"{name}.branch5x5_1", 48, 1)
        b5 = self.conv(b5, f"{name}.branch5x5_2", 64, 5, padding="same")
        b3 = self.conv(x, f"{name}.branch3x3dbl_1", 64, 1)
        b3 = self.conv(b3, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
        b3 = self.conv(b3, f"{name}.branch3x3dbl_3", 96, 3, padding="same")
        bp = layers.AveragePooling2D(3, 1, padding="same", name=f"{name}__avgpool")(x)
        bp = self.conv(bp, f"{name}.branch_pool", pool_features, 1)
        return layers.Concatenate(name=f"{name}__cat")([b1, b5, b3, bp])

    def block_b(self, x: keras.KerasTensor, name: str) -> keras.KerasTensor:
        b3 = self.conv(x, f"{name}.branch3x3", 384, 3, stride=2)
        bd = self.conv(x, f"{name}.branch3x3dbl_1", 64, 1)
        bd = self.conv(bd, f"{name}.branch3x3dbl_2", 96, 3, padding="same")
        bd = self.conv(bd, f"{name}.branch3x3dbl_3", 96, 3, stride=2)
        bp = layers.MaxPooling2D(3, 2, name=f"{name}__maxpool")(x)
        return layers.Concatenate(name=f"{name}__cat")([b3, bd, bp])

    def block_c(self, x: keras.KerasTensor, name: str, c7: int) -> keras.KerasTensor:
        b1 = self.conv(x, f"{name}.branch1x1", 192, 1)
        b7 = self.conv(x, f"{name}.branch7x7_1", c7, 1)
        b7 = self.conv(b7, f"{name}.branch7x7_2", c7, (1, 7), padding="same")
        b7 = self.conv(b7, f"{name}.branch7x7_3", 192, (7, 1), padding="same")
        bd = self.conv(x, f"{name}.branch7x7dbl_1", c7, 1)
        bd = self.conv(bd, f"{name}.branch7x7dbl_2", c7, (7, 1), padding="same")
        bd = self.conv(bd, f"{name}.branch7x7dbl_3", c7, (1, 7), padding="same")
        bd = self.conv(bd, f"{name}.branch7x7dbl_4", c7, (7, 1), padding="same")
        bd = self.conv(bd, f"{name}.branch7x7dbl_5", 192, (1, 7), padding="same")
        bp = layers.AveragePooling2D(3, 1, padding="same", name=f"{name}__avgpool")(x)
        bp = self.conv(bp, f"{name}.branch_pool", 192, 1)
        return layers.Concatenate(name=f"{name}__cat")([b1, b7, bd, bp])

    def block_d(self, x: keras.KerasTensor, name: str) -> keras.KerasTensor:
        b3 = self.conv(x, f"{name}.branch3x3_1", 192, 1)
        b3 = self.conv(b3, f"{name}.branch3x3_2", 320, 3, stride=2)
        b7 = self.conv(x, f"{name}.branch7x7x3_1", 192, 1)
        b7 = self.conv(b7, f"{name}.branch7x7x3_2", 192, (1, 7), padding="same")
        b7 = self.conv(b7, f"{name}.branch7x7x3_3", 192, (7, 1), padding="same")
        b7 = self.conv(b7, f"{name}.branch7x7x3_4", 192, 3, stride=2)
        bp = layers.MaxPooling2D(3, 2, name=f"{name}__maxpool")(x)
        return layers.Concatenate(name=f"{name}__cat")([b3, b7, bp])

    def block_e(self, x: keras.KerasTensor, name: str, max_pool: bool) -> keras.KerasTensor:
        b1 = self.conv(x, f"{name}.branch1x1", 320, 1)
        b3 = self.conv(x, f"{name}.branch3x3_1", 384, 1)
        b3 = layers.Concatenate(name=f"{name}__cat3x3")([
            self.conv(b3, f"{name}.branch3x3_2a", 384, (1, 3), padding="same"),
            self.conv(b3, f"{name}.branch3x3_2b", 384, (3, 1), padding="same")])
        bd = self.conv(x, f"{name}.branch3x3dbl_1", 448, 1)
        bd = self.conv(bd, f"{name}.branch3x3dbl_2", 384, 3, padding="same")
        bd = layers.Concatenate(name=f"{name}__cat3x3dbl")([
            self.conv(bd, f"{name}.branch3x3dbl_3a", 384, (1, 3), padding="same"),
            self.conv(bd, f"{name}.branch3x3dbl_3b", 384, (3, 1), padding="same")])
        pool = layers.MaxPooling2D if max_pool else layers.AveragePooling2D
        bp = pool(3, 1, padding="same", name=f"{name}__{'maxpool' if max_pool else 'avgpool'}")(x)
        bp = self.conv(bp, f"{name}.branch_pool", 192, 1)
        return layers.Concatenate(name=f"{name}__cat")([b1, b3, bd, bp])


def _trunk(b: _Builder, x: keras.KerasTensor) -> keras.KerasTensor:
    x = b.conv(x, "Conv2d_1a_3x3", 32, 3, stride=2)
    x = b.conv(x, "Conv2d_2a_3x3", 32, 3)
    x = b.conv(x, "Conv2d_2b_3x3", 64, 3, padding="same")
    x = layers.MaxPooling2D(3, 2, name="maxpool1")(x)
    x = b.conv(x, "Conv2d_3b_1x1", 80, 1)
    x = b.conv(x, "Conv2d_4a_3x3", 192, 3)
    x = layers.MaxPooling2D(3, 2, name="maxpool2")(x)
    x = b.block_a(x, "Mixed_5b", 32)
    x = b.block_a(x, "Mixed_5c", 64)
    x = b.block_a(x, "Mixed_5d", 64)
    x = b.block_b(x, "Mixed_6a")
    x = b.block_c(x, "Mixed_6b", 128)
    x = b.block_c(x, "Mixed_6c", 160)
    x = b.block_c(x, "Mixed_6d", 160)
    x = b.block_c(x, "Mixed_6e", 192)
    x = b.block_d(x, "Mixed_7a")
    x = b.block_e(x, "Mixed_7b", max_pool=False)
    x = b.block_e(x, "Mixed_7c", max_pool=True)
    return layers.GlobalAveragePooling2D(name="pool3")(x)


def conv_specs() -> list[ConvSpec]:
    """Every BasicConv2d of the network in creation order (builds the graph once, symbolically)."""
    b = _Builder()
    _trunk(b, keras.Input((INPUT_SIZE, INPUT_SIZE, 3)))
    return b.specs


def preprocess(x: keras.KerasTensor) -> keras.KerasTensor:
    """[0, 1] RGB of any size -> 299x299 bilinear (half-pixel, no antialias) -> [-1, 1]."""
    x = resize_bilinear(x, INPUT_SIZE)
    return 2.0 * x - 1.0


def build_fid_inception(input_size: int | None = None, name: str = "fid_inception") -> keras.Model:
    """Keras model: (N, H, W, 3) in [0, 1] -> (N, 2048) pool3 features (random init; load weights after).

    ``input_size`` fixes H = W of the input (None: any size).  The resize to 299 is inside the model.
    """
    inp = keras.Input((input_size, input_size, 3), name="images")
    x = layers.Lambda(preprocess, output_shape=(INPUT_SIZE, INPUT_SIZE, 3), name="resize_299_scale")(inp)
    out = _trunk(_Builder(), x)
    model = keras.Model(inp, out, name=name)
    model.trainable = False
    return model


class ConversionError(ValueError):
    """A source weight file does not hold the expected tensors."""


def assign_state_dict(model: keras.Model, state: dict[str, np.ndarray], origin: str = "state dict",
                      specs: Sequence[ConvSpec] | None = None) -> None:
    """Copies a pytorch-fid / torchvision Inception state dict into ``model`` (conv OIHW -> HWIO, BN).

    Keys of the classifier (``fc.*``), the aux head (``AuxLogits.*``) and ``*.num_batches_tracked`` are
    ignored; any other unknown key, a missing key or a shape mismatch raises :class:`ConversionError`.
    """
    used: set[str] = set()
    for spec in (specs if specs is not None else conv_specs()):
        p = spec.torch_name
        keys = {k: f"{p}.{k}" for k in ("conv.weight", "bn.weight", "bn.bias", "bn.running_mean",
                                        "bn.running_var")}
        missing = [v for v in keys.values() if v not in state]
        if missing:
            raise ConversionError(f"{origin}: missing tensors {missing}")
        w = state[keys["conv.weight"]]
        want = (spec.out_ch, spec.in_ch, *spec.kernel)
        if tuple(w.shape) != want:
            raise ConversionError(f"{origin}: {keys['conv.weight']} has shape {w.shape}, expected {want}")
        model.get_layer(f"{spec.keras_name}__conv").set_weights([np.transpose(w, (2, 3, 1, 0))])
        bn = [state[keys[k]] for k in ("bn.weight", "bn.bias", "bn.running_mean", "bn.running_var")]
        for k, v in zip(("bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"), bn):
            if v.shape != (spec.out_ch,):
                raise ConversionError(f"{origin}: {keys[k]} has shape {v.shape}, expected ({spec.out_ch},)")
        model.get_layer(f"{spec.keras_name}__bn").set_weights([np.asarray(v, np.float32) for v in bn])
        used.update(keys.values())
    extra = [k for k in state if k not in used and not k.startswith(("fc.", "AuxLogits."))
             and not k.endswith("num_batches_tracked")]
    if extra:
        raise ConversionError(f"{origin}: unexpected tensors {extra[:10]}{' ...' if len(extra) > 10 else ''}")


def convert_pytorch_fid(sources: Sequence[Path], output: Path) -> None:
    """Registry converter: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` -> Keras ``.weights.h5``."""
    from facehalluc.weights.torch_pickle import load_torch_file

    if len(sources) != 1:
        raise ConversionError(f"fid_inception needs one source file ({SOURCE_FILENAME}), got {len(sources)}")
    state = load_torch_file(sources[0])
    model = build_fid_inception()
    assign_state_dict(model, state, origin=str(sources[0]))
    model.save_weights(str(output))
