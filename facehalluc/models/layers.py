"""Small backend-agnostic layers (keras.layers / keras.ops only)."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="facehalluc")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel upscaling (Shi et al. 2016): (H, W, C*s*s) -> (H*s, W*s, C), i.e. depth_to_space."""

    def __init__(self, scale: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, x):
        return ops.depth_to_space(x, self.scale, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        s = self.scale
        return (b, None if h is None else h * s, None if w is None else w * s, c // (s * s))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="facehalluc")
class ICNR(keras.initializers.Initializer):
    """ICNR initialisation (Aitken et al. 2017) for a conv followed by a pixel shuffle of ``scale``.

    The ``C*s*s`` output channels are ``s*s`` copies of a ``C``-channel kernel drawn from ``base``, so
    at initialisation the pixel shuffle equals nearest-neighbour upsampling of one convolution and
    produces no checkerboard.  Channel order follows ``depth_to_space`` (NHWC): output channel
    ``k*C + c`` feeds sub-pixel ``k`` of channel ``c``, hence a tile along the last axis.
    """

    def __init__(self, base: str | dict = "glorot_uniform", scale: int = 2):
        self.base = base
        self.scale = int(scale)

    def __call__(self, shape, dtype=None):
        n = self.scale * self.scale
        if shape[-1] % n:
            raise ValueError(f"ICNR: {shape[-1]} output channels are not a multiple of scale^2 = {n}")
        kernel = keras.initializers.get(self.base)((*shape[:-1], shape[-1] // n), dtype=dtype)
        return ops.tile(kernel, [1] * (len(shape) - 1) + [n])

    def get_config(self):
        return {"base": self.base, "scale": self.scale}


@keras.saving.register_keras_serializable(package="facehalluc")
class SafeLeakyReLU(keras.layers.Layer):
    """LeakyReLU computed as ``max(x, slope * x)``: the activation of every generator and discriminator layer.

    Identical to ``keras.layers.LeakyReLU`` for ``0 <= slope <= 1`` (values and gradients), but it is not a
    ``LeakyRelu`` op, which TensorFlow 2.21's grappler remapper mishandles twice when oneDNN is on (the
    default on x86 CPUs with AVX-512 VNNI/BF16), see docs/numerics.md:

    * it fuses ``Conv2D + BiasAdd + Add + LeakyRelu`` into one ``_FusedConv2D`` and drops the slope (the
      fused kernel uses the default 0.2): graph mode (``fit``, ``predict``, SavedModel) then computed another
      network than eager mode wherever the slope is not 0.2 (the generators' residual blocks, slope 0.1);
    * in training graphs it tries to fuse ``Conv2D + BiasAdd + LeakyRelu`` although ``LeakyReluGrad`` still
      needs the pre-activation, fails ("remapper failed: ... LeakyReluGrad exist for missing node ...
      BiasAdd") and abandons remapping of the whole train step.

    With ``Mul + Maximum`` neither pattern matches; ``Conv2D + BiasAdd`` (``+ Add``) is still fused.
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(negative_slope) <= 1.0:
            raise ValueError(f"SafeLeakyReLU needs 0 <= negative_slope <= 1, got {negative_slope}")
        self.negative_slope = float(negative_slope)

    #: backward pass as one select on the layer's output (``upstream`` where ``y >= 0``, else ``slope * upstream``)
    #: instead of TensorFlow's gradient of ``Maximum`` and ``Mul``: the same values for ``0 < slope <= 1``
    #: (``y >= 0`` iff ``x >= 0``).  It must select on the output: selecting on the input keeps the
    #: pre-activation ``Add`` alive in the gradient and grappler's remapper then fails on the whole train step
    #: (docs/performance.md, issue 24).  On: 3 % faster generator step, identical gradients
    #: (``benchmarks/bench_act_grad.py``); set ``SafeLeakyReLU.output_gradient = False`` for TensorFlow's own.
    output_gradient: bool = True

    def call(self, x):
        slope = self.negative_slope
        if not (self.output_gradient and slope > 0.0):
            return ops.maximum(x, ops.multiply(x, ops.cast(slope, x.dtype)))

        @ops.custom_gradient
        def leaky(t):
            y = ops.maximum(t, ops.multiply(t, ops.cast(slope, t.dtype)))

            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return ops.where(ops.greater_equal(y, 0), upstream, ops.multiply(upstream, ops.cast(slope, upstream.dtype)))

            return y, grad

        return leaky(x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@keras.saving.register_keras_serializable(package="facehalluc")
class FaceComposite(keras.layers.Layer):
    """The paper's compositing: pixels of the face-mask region come from the masked input, bit-exact.

    ``call([mask, masked, generated])``: where ``mask >= threshold`` the output is ``masked``,
    elsewhere ``generated``.  ``mask`` is (N, H, W, 1) in [0, 1] (a bilinearly resized binary mask).
    """

    def __init__(self, threshold: float = 1.0, **kwargs):
        # float32 even under a mixed-precision policy, so restored face pixels stay bit-exact.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.threshold = float(threshold)

    def call(self, inputs):
        mask, masked, generated = inputs
        region = ops.greater_equal(mask, ops.cast(self.threshold, mask.dtype))
        region = ops.broadcast_to(region, ops.shape(generated))
        return ops.where(region, ops.cast(masked, generated.dtype), generated)

    def compute_output_shape(self, input_shapes):
        return input_shapes[2]

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="facehalluc")
class StopGradient(keras.layers.Layer):
    def call(self, x):
        return ops.stop_gradient(x)


@keras.saving.register_keras_serializable(package="facehalluc")
class SpatialMean(keras.layers.Layer):
    """Mean over H and W, keeping one value per image and channel: (N, H, W, C) -> (N, C)."""

    def call(self, x):
        return ops.mean(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])


def to_tanh_range(x):
    """[0, 1] image -> [-1, 1]."""
    return x * 2.0 - 1.0


def from_tanh_range(t):
    """tanh output in [-1, 1] -> [0, 1] image.  The one place this mapping is defined."""
    return (t + 1.0) * 0.5
