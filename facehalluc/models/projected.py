"""A discriminator on frozen pretrained features, in the style of Projected GAN (Sauer et al., NeurIPS 2021).

Not the paper's discriminator (that is CASIA-Net, :mod:`facehalluc.models.discriminator`); it is the
``loss.adv_kind="projected"`` switch of the CPU realism recipe (docs/faithfulness.md, docs/results.md).

For a block output (N, r, r, 3) in [0, 1]:

1. the ImageNet normalisation and the **frozen** torchvision AlexNet of LPIPS (the real weights, from the
   converted ``lpips_alex_v*`` file: the conv layers are the same in both LPIPS versions);
2. at each ReLU layer k of ``model.pd_layers`` (1..5): a **fixed random** 1x1 projection to
   ``model.pd_proj_channels`` channels (Gaussian, std 1/sqrt(C_k), never trained), times a fixed scale that
   :func:`calibrate` sets once from real training images so that the projected features have unit RMS;
3. a small **trainable head** per layer: 3x3 conv (``model.pd_head_channels``) -> LeakyReLU(0.2) -> 1x1
   conv to one logit per location.

Outputs: ``{"logit{k}": (N, h_k, w_k, 1), "feat{k}": (N, h_k, w_k, pd_head_channels)}``; the hinge losses and
the feature-matching term (:mod:`facehalluc.losses`) weight every location by the share of hallucinated
(non-face) pixels under it.  Only the heads train (a few 10^4 parameters), so D cannot overfit the way a
fresh CASIA-Net does on a CPU budget of images, and it judges the generator in a feature space that already
knows hair, cloth and scene texture.
"""
from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from ..config import Config
from .layers import SafeLeakyReLU

PREFIX = "pdisc"


@keras.saving.register_keras_serializable(package="facehalluc")
class FeatureScale(layers.Layer):
    """Multiplies by a fixed (non-trainable) scalar, set by :func:`calibrate`."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", trainable=False, name="scale")
        super().build(input_shape)

    def call(self, x):
        return x * ops.cast(self.scale, x.dtype)


def is_projected(model: keras.Model) -> bool:
    return model.name.startswith(PREFIX)


def alexnet_weights(cfg: Config) -> dict[str, list[np.ndarray]] | None:
    """The converted AlexNet conv weights (None = keep random, only with weights.allow_random)."""
    from ..nets import lpips_from_config

    lp = lpips_from_config(cfg)  # raises MissingWeightsError unless weights.allow_random
    return {f"alex_conv{k}": lp.get_layer(f"alex_conv{k}").get_weights() for k in range(1, 6)}


def build_projected_discriminator(resolution: int, cfg: Config, alex: dict[str, list[np.ndarray]] | None = None,
                                  name: str | None = None) -> keras.Model:
    """The projected discriminator for block ``resolution`` (>= 32: AlexNet needs that much).

    ``alex``: AlexNet conv weights by layer name (default: read from the converted LPIPS weights).
    """
    from ..nets.lpips import ALEX_CHANNELS, FROZEN_DTYPE, LPIPSPreprocess, _alexnet_layers

    m = cfg.model
    if resolution < 32:
        raise ValueError(f"the projected discriminator needs blocks of >= 32 pixels (AlexNet), got {resolution}")
    layers_wanted = tuple(sorted(set(m.pd_layers)))
    if not layers_wanted or min(layers_wanted) < 1 or max(layers_wanted) > 5:
        raise ValueError(f"model.pd_layers must name AlexNet ReLU layers 1..5, got {m.pd_layers}")
    prefix = name or f"{PREFIX}_{resolution}"
    alex = alex if alex is not None else alexnet_weights(cfg)
    rng = np.random.default_rng(1000 + resolution)  # fixed projections: the same for every run of a config
    inp = keras.Input((resolution, resolution, 3), name=f"{prefix}_input")
    h = LPIPSPreprocess("0.1", dtype=FROZEN_DTYPE, name=f"{prefix}_imagenet_norm")(inp)
    outputs: dict[str, Any] = {}
    for k, (_, seq) in enumerate(_alexnet_layers(prefix=f"{prefix}_"), start=1):
        if k > max(layers_wanted):
            break
        for lay in seq:
            lay.trainable = False
            h = lay(h)
            if isinstance(lay, layers.Conv2D) and alex is not None:
                lay.set_weights(alex[f"alex_conv{k}"])
        if k not in layers_wanted:
            continue
        c = ALEX_CHANNELS[k - 1]
        proj = layers.Conv2D(m.pd_proj_channels, 1, use_bias=False, trainable=False, dtype=FROZEN_DTYPE,
                             name=f"{prefix}_proj{k}")
        p = proj(h)
        proj.set_weights([rng.normal(0.0, 1.0 / math.sqrt(c), (1, 1, c, m.pd_proj_channels)).astype(np.float32)])
        p = FeatureScale(dtype=FROZEN_DTYPE, name=f"{prefix}_scale{k}")(p)
        f = layers.Conv2D(m.pd_head_channels, 3, padding="same", kernel_initializer="he_normal",
                          name=f"{prefix}_head{k}_conv")(p)
        f = SafeLeakyReLU(negative_slope=0.2, name=f"{prefix}_head{k}_lrelu")(f)
        logit = layers.Conv2D(1, 1, kernel_initializer="he_normal", name=f"{prefix}_head{k}_logit",
                              dtype="float32")(f)
        outputs[f"logit{k}"] = logit
        outputs[f"feat{k}"] = layers.Activation("linear", dtype="float32", name=f"{prefix}_feat{k}")(f)
    return keras.Model(inp, outputs, name=prefix)


def calibrate(disc: keras.Model, real: np.ndarray) -> dict[str, float]:
    """Sets each fixed scale so that the projected features of ``real`` (N, r, r, 3) have unit RMS."""
    scales = [ly for ly in disc.layers if isinstance(ly, FeatureScale)]
    probe = keras.Model(disc.input, [ly.input for ly in scales])
    feats = probe(np.asarray(real, np.float32), training=False)
    feats = feats if isinstance(feats, (list, tuple)) else [feats]
    out = {}
    for ly, f in zip(scales, feats):
        rms = float(np.sqrt(np.mean(np.square(keras.ops.convert_to_numpy(f)))))
        ly.scale.assign(1.0 / max(rms, 1e-6))
        out[ly.name] = 1.0 / max(rms, 1e-6)
    return out


def logit_keys(disc: keras.Model) -> list[str]:
    return sorted(k for k in disc.output if k.startswith("logit"))
