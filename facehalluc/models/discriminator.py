"""Per-block discriminator: CASIA-Net (Yi et al. 2014) without max-pooling and fully-connected layers.

Paper §3.1: batch normalisation on every conv except the first, LeakyReLU(0.2), sigmoid on the last
layer, He initialisation.  The removed 2x2 max-pools are replaced by stride 2 on the conv that
preceded each of them (as the all-convolutional DCGAN discriminator of [62] does), while the map is
larger than ``model.d_min_size``.  pool5 of CASIA-Net is an *average* pool; it survives as the
spatial mean of the final sigmoid map (``model.d_output == "mean"``).  The last layer is a 3x3 conv
with one filter and a sigmoid, taking the place of the removed classifier.
"""
from __future__ import annotations

import keras
from keras import layers

from ..config import Config
from .layers import SafeLeakyReLU, SpatialMean
from .tables import CASIA_CONVS


def build_discriminator(resolution: int, config: Config, name: str | None = None) -> keras.Model:
    m = config.model
    prefix = name or f"disc_{resolution}"
    inp = keras.Input((resolution, resolution, 3), name=f"{prefix}_input")
    x = layers.Rescaling(2.0, offset=-1.0, name=f"{prefix}_to_tanh_range")(inp) \
        if m.output_range == "affine" else inp
    size = resolution
    for i, (lname, filters, pool_follows) in enumerate(CASIA_CONVS):
        stride = 1
        if pool_follows and m.d_downsample == "strided" and size > m.d_min_size:
            stride = 2
            size //= 2
        x = layers.Conv2D(max(1, filters // m.width_divisor), 3, strides=stride, padding="same",
                          use_bias=(i == 0), kernel_initializer=m.d_kernel_init, name=f"{prefix}_{lname}")(x)
        if i > 0:
            x = layers.BatchNormalization(name=f"{prefix}_{lname}_bn")(x)
        x = SafeLeakyReLU(negative_slope=m.d_leaky_slope, name=f"{prefix}_{lname}_lrelu")(x)
    x = layers.Conv2D(1, 3, padding="same", kernel_initializer=m.d_kernel_init, name=f"{prefix}_head")(x)
    x = layers.Activation("sigmoid", name=f"{prefix}_sigmoid", dtype="float32")(x)
    if m.d_output == "mean":
        x = SpatialMean(name=f"{prefix}_mean", dtype="float32")(x)
    return keras.Model(inp, x, name=prefix)
