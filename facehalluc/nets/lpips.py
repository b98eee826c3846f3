"""LPIPS with the AlexNet backbone (Zhang et al., CVPR 2018), versions 0.0 and 0.1, as a frozen Keras model.

Reproduces the official ``lpips.LPIPS(net='alex', version=V)(x, y, normalize=True)``:

1. inputs in [0, 1] are mapped to [-1, 1] (``2x - 1``);
2. **v0.1 only**: the ScalingLayer ``(x - shift) / scale`` with shift ``[-.030, -.088, -.188]`` and
   scale ``[.458, .448, .450]`` (RGB).  v0.0 feeds the [-1, 1] image to AlexNet unscaled (the
   official code: "v0.0 - original release had a bug, where input was not scaled");
3. torchvision AlexNet ``features``: conv1 11x11/4 pad 2 (64) → relu1 → maxpool 3/2 → conv2 5x5
   pad 2 (192) → relu2 → maxpool 3/2 → conv3 3x3 pad 1 (384) → relu3 → conv4 (256) → relu4 → conv5
   (256) → relu5; the five ReLU outputs are the LPIPS layers;
4. each layer's features are divided by their L2 norm over channels plus ``eps = 1e-10``
   (``normalize_tensor``), the squared difference is weighted per channel by the learned 1x1 conv
   ``lin{k}`` (no bias; its Dropout is inactive in eval mode and omitted here), averaged over space,
   and the five values are summed → one distance per image.

Call convention: ``model([x, y])`` with x, y (N, H, W, 3) in [0, 1], H, W >= 32 → (N,) distances.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal, Sequence

import keras
import numpy as np
from keras import layers, ops

log = logging.getLogger(__name__)

#: Frozen nets compute in float32 even under a mixed-precision global policy (LPIPS's eps = 1e-10
#: and VGG-Face's 0-255 activations do not fit float16).
FROZEN_DTYPE = "float32"

__all__ = ["build_lpips", "convert_lpips", "lpips_weight_arrays", "lpips_from_config",
           "LPIPS_SHIFT", "LPIPS_SCALE", "ALEX_CHANNELS", "LPIPSPreprocess", "ChannelNormalize"]

LPIPS_SHIFT: tuple[float, float, float] = (-0.030, -0.088, -0.188)
LPIPS_SCALE: tuple[float, float, float] = (0.458, 0.448, 0.450)
ALEX_CHANNELS: tuple[int, ...] = (64, 192, 384, 256, 256)
# torchvision ``features`` indices of the five convolutions, with (kernel, stride, padding).
ALEX_CONVS: tuple[tuple[int, int, int, int], ...] = (
    (0, 11, 4, 2), (3, 5, 1, 2), (6, 3, 1, 1), (8, 3, 1, 1), (10, 3, 1, 1))
NORM_EPS = 1e-10


@keras.saving.register_keras_serializable(package="facehalluc")
class LPIPSPreprocess(layers.Layer):
    """[0, 1] → [-1, 1], then (v0.1 only) the official ScalingLayer."""

    def __init__(self, version: Literal["0.0", "0.1"] = "0.1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if version not in ("0.0", "0.1"):
            raise ValueError(f"LPIPS version must be '0.0' or '0.1', got {version!r}")
        self.version = version

    def call(self, x: Any) -> Any:
        x = 2.0 * x - 1.0
        if self.version == "0.1":
            shift = ops.convert_to_tensor(np.asarray(LPIPS_SHIFT, np.float32))
            scale = ops.convert_to_tensor(np.asarray(LPIPS_SCALE, np.float32))
            x = (x - ops.cast(shift, x.dtype)) / ops.cast(scale, x.dtype)
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "version": self.version}


@keras.saving.register_keras_serializable(package="facehalluc")
class ChannelNormalize(layers.Layer):
    """``x / (sqrt(sum_c x^2) + eps)`` — the official ``normalize_tensor``."""

    def __init__(self, eps: float = NORM_EPS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eps = eps

    def call(self, x: Any) -> Any:
        norm = ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))
        return x / (norm + self.eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "eps": self.eps}


@keras.saving.register_keras_serializable(package="facehalluc")
class _SplitPair(layers.Layer):
    """Splits a batch made of [x; y] back into its two halves and returns (fx - fy)^2."""

    def call(self, f: Any) -> Any:
        n = ops.shape(f)[0] // 2
        return ops.square(f[:n] - f[n:])

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        batch = input_shape[0] // 2 if input_shape[0] is not None else None
        return (batch,) + tuple(input_shape[1:])


def _alexnet_layers(prefix: str = "") -> list[tuple[str, list[layers.Layer]]]:
    """The five LPIPS slices of torchvision AlexNet: [(name, layers)], each ending at a ReLU.

    Layer names are ``{prefix}alex_conv{k}`` etc. (a prefix lets several copies live in one model)."""
    slices: list[tuple[str, list[layers.Layer]]] = []
    for k, ((_, ksize, stride, pad), ch) in enumerate(zip(ALEX_CONVS, ALEX_CHANNELS)):
        seq: list[layers.Layer] = []
        if k in (1, 2):  # maxpool 3/2 before conv2 and conv3 (floor mode, no padding)
            seq.append(layers.MaxPooling2D(3, 2, padding="valid", dtype=FROZEN_DTYPE,
                                           name=f"{prefix}alex_pool{k}"))
        seq.append(layers.ZeroPadding2D(pad, dtype=FROZEN_DTYPE, name=f"{prefix}alex_pad{k + 1}"))
        seq.append(layers.Conv2D(ch, ksize, strides=stride, padding="valid", activation="relu",
                                 dtype=FROZEN_DTYPE, name=f"{prefix}alex_conv{k + 1}"))
        slices.append((f"relu{k + 1}", seq))
    return slices


def build_lpips(version: Literal["0.0", "0.1"] = "0.0", name: str | None = None) -> keras.Model:
    """The LPIPS-Alex model with *random* weights (load converted weights with ``load_weights``).

    The model is frozen (``trainable = False``).  Inputs ``[x, y]`` (N, H, W, 3) in [0, 1] with
    H, W >= 32 (smaller inputs leave no spatial extent after the third pooling); output (N,).
    """
    x_in = keras.Input((None, None, 3), name="x")
    y_in = keras.Input((None, None, 3), name="y")
    pre = LPIPSPreprocess(version, dtype=FROZEN_DTYPE, name="preprocess")
    h = pre(layers.Concatenate(axis=0, dtype=FROZEN_DTYPE, name="pair_batch")([x_in, y_in]))
    terms = []
    for k, (_, seq) in enumerate(_alexnet_layers()):
        for lay in seq:
            h = lay(h)
        normed = ChannelNormalize(dtype=FROZEN_DTYPE, name=f"norm{k}")(h)
        diff = _SplitPair(dtype=FROZEN_DTYPE, name=f"sqdiff{k}")(normed)
        # non-negative like the trained (clamped) LPIPS weights, so random models give distances >= 0
        lin = layers.Conv2D(1, 1, use_bias=False,
                            kernel_initializer=keras.initializers.RandomUniform(0.0, 0.1),
                            dtype=FROZEN_DTYPE, name=f"lin{k}")(diff)
        terms.append(layers.GlobalAveragePooling2D(dtype=FROZEN_DTYPE, name=f"spatial_mean{k}")(lin))
    total = layers.Add(dtype=FROZEN_DTYPE, name="sum_layers")(terms)
    out = layers.Reshape((), dtype=FROZEN_DTYPE, name="distance")(total)
    model = keras.Model([x_in, y_in], out, name=name or f"lpips_alex_v{version}")
    model.trainable = False
    return model


def lpips_weight_arrays(alexnet: dict[str, np.ndarray], lin: dict[str, np.ndarray]
                        ) -> dict[str, list[np.ndarray]]:
    """Maps torch state dicts to Keras layer weights: OIHW → HWIO convs, (1,C,1,1) → (1,1,C,1) lins.

    ``alexnet``: torchvision ``features.{0,3,6,8,10}.{weight,bias}`` (a full torchvision AlexNet
    state dict also works, its ``classifier.*`` is ignored; the LPIPS packages' ``net.slice*``
    naming is accepted too).  ``lin``: ``lin{k}.model.1.weight`` (or ``lin{k}.model.0.weight``
    when saved without dropout).
    """
    out: dict[str, list[np.ndarray]] = {}
    for k, (idx, ksize, _, _) in enumerate(ALEX_CONVS):
        w = b = None
        for prefix in (f"features.{idx}", f"net.slice{_slice_of(idx)}.{idx}"):
            if f"{prefix}.weight" in alexnet:
                w, b = alexnet[f"{prefix}.weight"], alexnet.get(f"{prefix}.bias")
                break
        if w is None or b is None:
            raise KeyError(f"AlexNet state dict lacks features.{idx}.weight/bias "
                           f"(has {sorted(alexnet)[:6]}...)")
        cin = 3 if k == 0 else ALEX_CHANNELS[k - 1]
        if w.shape != (ALEX_CHANNELS[k], cin, ksize, ksize):
            raise ValueError(f"features.{idx}.weight has shape {w.shape}, expected "
                             f"{(ALEX_CHANNELS[k], cin, ksize, ksize)}")
        out[f"alex_conv{k + 1}"] = [np.transpose(w, (2, 3, 1, 0)).astype(np.float32),
                                    np.asarray(b, np.float32)]
    for k, ch in enumerate(ALEX_CHANNELS):
        w = lin.get(f"lin{k}.model.1.weight", lin.get(f"lin{k}.model.0.weight"))
        if w is None:
            raise KeyError(f"LPIPS state dict lacks lin{k}.model.1.weight (has {sorted(lin)})")
        if w.shape != (1, ch, 1, 1):
            raise ValueError(f"lin{k} weight has shape {w.shape}, expected {(1, ch, 1, 1)}")
        out[f"lin{k}"] = [np.transpose(w, (2, 3, 1, 0)).astype(np.float32)]
    return out


def _slice_of(idx: int) -> int:
    return {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}[idx]


def set_lpips_weights(model: keras.Model, arrays: dict[str, list[np.ndarray]]) -> None:
    for lname, ws in arrays.items():
        model.get_layer(lname).set_weights(ws)


def _split_sources(sources: Sequence[Path]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Tells the AlexNet file from the LPIPS-lin file by their keys (any order on the command line)."""
    from ..weights.torch_pickle import load_torch_file

    alex: dict[str, np.ndarray] | None = None
    lin: dict[str, np.ndarray] | None = None
    for p in sources:
        sd = load_torch_file(p)
        if any(k.startswith("lin0.") for k in sd):
            lin = sd
        elif "features.0.weight" in sd or "net.slice1.0.weight" in sd:
            alex = sd
        else:
            raise ValueError(f"{p}: neither an AlexNet (features.0.weight) nor an LPIPS "
                             f"(lin0.model.1.weight) state dict; keys: {sorted(sd)[:8]}")
    if alex is None or lin is None:
        raise ValueError("LPIPS conversion needs the torchvision AlexNet file and the LPIPS "
                         f"lin-layer file; got {[str(p) for p in sources]}")
    return alex, lin


def convert_lpips(version: Literal["0.0", "0.1"], sources: Sequence[Path], output: Path) -> None:
    """Converter for the weights registry: official .pth files → our Keras weights file."""
    alex, lin = _split_sources(sources)
    model = build_lpips(version)
    set_lpips_weights(model, lpips_weight_arrays(alex, lin))
    model.save_weights(str(output))


def lpips_from_config(cfg: Any) -> keras.Model:
    """LPIPS of ``cfg.loss.lpips_version`` with converted weights (or random ones if allowed)."""
    from ..weights import MissingWeightsError, weights_path

    version = cfg.loss.lpips_version
    name = f"lpips_alex_v{version}"
    try:
        path = weights_path(name, cfg)
    except MissingWeightsError:
        if not cfg.weights.allow_random:
            raise
        log.warning("!!! %s: converted weights not found; using RANDOM weights because "
                    "weights.allow_random is true. L_pc is NOT the paper's perceptual loss. !!!", name)
        return build_lpips(version)
    model = build_lpips(version)
    model.load_weights(str(path))
    return model
