"""Generator blocks (suppl. Tables 1–5), pixel-shuffle upscalers and the five-block cascade (Fig. 2).

Image convention, used everywhere in the package: float32 NHWC RGB in [0, 1].  With
``model.output_range == "affine"`` every block and upscaler maps its input with ``2x - 1`` and its
tanh output with ``(t + 1) / 2`` (:func:`facehalluc.models.layers.from_tanh_range`), so the
public tensors stay in [0, 1].
"""
from __future__ import annotations

import keras
from keras import layers, ops

from ..config import Config
from ..nets.ops import resize_bilinear  # noqa: F401 - re-exported (facehalluc.models.generator.resize_bilinear)
from .layers import ICNR, FaceComposite, PixelShuffle, SafeLeakyReLU, StopGradient
from .tables import BOTTLENECK_HW, GENERATOR_TABLES, Row


def _width(filters: int, config: Config) -> int:
    return max(1, filters // config.model.width_divisor)


def block_name(resolution: int) -> str:
    return f"block_{resolution}"


def input_channels(config: Config, resolution: int | None = None) -> int:
    """Input channels of block ``resolution``: 3 (6 with ``mask_injection="concat"``), plus the style-noise
    channels when the block is in ``model.noise_resolutions``."""
    base = 6 if config.model.mask_injection == "concat" else 3
    return base + (noise_channels(config, resolution) if resolution is not None else 0)


def noise_channels(config: Config, resolution: int) -> int:
    """Style-noise channels stacked onto block ``resolution``'s input (0 for the paper's cascade)."""
    m = config.model
    return m.noise_channels if m.noise_channels and resolution in m.noise_resolutions else 0


def noise_shapes(config: Config) -> dict[str, tuple[int, int, int]]:
    """``{"noise_r": (r, r, channels)}`` for every block with a style-noise input (empty without noise)."""
    return {f"noise_{r}": (r, r, noise_channels(config, r)) for r in config.model.resolutions
            if noise_channels(config, r)}


def _range_in(x, config: Config, name: str):
    if config.model.output_range == "affine":
        return layers.Rescaling(2.0, offset=-1.0, name=name)(x)
    return x


def _range_out(t, config: Config, name: str):
    if config.model.output_range == "affine":
        return layers.Rescaling(0.5, offset=0.5, name=name, dtype="float32")(t)
    return layers.Activation("linear", name=name, dtype="float32")(t)


def _merge(a, b, mode: str, name: str):
    if mode == "add":
        return layers.Add(name=name)([a, b])
    return layers.Concatenate(name=name)([a, b])


def _ps_init(config: Config):
    """Initialiser of a conv whose output goes through a x2 pixel shuffle."""
    if config.model.ps_init == "icnr":
        return ICNR(config.model.g_kernel_init, scale=2)
    return config.model.g_kernel_init


def build_generator_block(resolution: int, config: Config, name: str | None = None) -> keras.Model:
    """Encoder–decoder generator of one block, built row by row from :data:`GENERATOR_TABLES`.

    Input and output are ``(resolution, resolution, 3)`` images in [0, 1] (6 input channels when
    ``model.mask_injection == "concat"``).
    """
    if resolution not in GENERATOR_TABLES:
        raise ValueError(f"no generator table for resolution {resolution}; have {sorted(GENERATOR_TABLES)}")
    m = config.model
    slope = m.g_leaky_slope
    init = m.g_kernel_init
    prefix = block_name(resolution)
    inp = keras.Input((resolution, resolution, input_channels(config, resolution)), name=f"{prefix}_input")
    x = _range_in(inp, config, f"{prefix}_to_tanh_range")

    def conv(t, row: Row, filters: int, activation: str | None = "lrelu"):
        # decoder convs feed a pixel shuffle: optionally ICNR-initialised (model.ps_init)
        k_init = _ps_init(config) if row.name.startswith("dec_conv") else init
        t = layers.Conv2D(filters, row.kernel, strides=row.stride, dilation_rate=row.dilation,
                          padding="same", kernel_initializer=k_init, name=f"{prefix}_{row.name}")(t)
        if activation == "lrelu":
            t = SafeLeakyReLU(negative_slope=slope, name=f"{prefix}_{row.name}_lrelu")(t)
        return t

    skips: list = []  # encoder tensors eligible for a skip connection (conv0 and residual-block outputs)
    rows = GENERATOR_TABLES[resolution]
    i = 0
    # ----- encoder
    while rows[i].kind in ("conv", "rb"):
        row = rows[i]
        if row.kind == "conv":
            x = conv(x, row, _width(row.filters, config))
            if row.name == "conv0":
                skips.append(x)
        else:
            w = _width(row.filters, config)
            y = layers.Conv2D(w, 3, padding="same", kernel_initializer=init, name=f"{prefix}_{row.name}_a")(x)
            y = SafeLeakyReLU(negative_slope=slope, name=f"{prefix}_{row.name}_a_lrelu")(y)
            y = layers.Conv2D(w, 3, padding="same", kernel_initializer=init, name=f"{prefix}_{row.name}_b")(y)
            x = layers.Add(name=f"{prefix}_{row.name}_add")([x, y])
            x = SafeLeakyReLU(negative_slope=slope, name=f"{prefix}_{row.name}_lrelu")(x)
            skips.append(x)
        i += 1
    encoder_out = x
    # ----- fully-connected bottleneck
    x = layers.Flatten(name=f"{prefix}_flatten")(x)
    fc_rows = [r for r in rows if r.kind == "fc"]
    for row in fc_rows:
        x = layers.Dense(_width(row.filters, config), kernel_initializer=init, name=f"{prefix}_{row.name}")(x)
        x = SafeLeakyReLU(negative_slope=slope, name=f"{prefix}_{row.name}_lrelu")(x)
    fc2_units = _width(fc_rows[-1].filters, config)
    depth = fc2_units // (BOTTLENECK_HW * BOTTLENECK_HW)
    x = layers.Reshape((BOTTLENECK_HW, BOTTLENECK_HW, depth), name=f"{prefix}_reshape")(x)
    if m.bottleneck_skip and m.skip_mode != "none" and tuple(encoder_out.shape[1:]) == tuple(x.shape[1:]):
        x = _merge(x, encoder_out, m.skip_mode, f"{prefix}_skip_bottleneck")
    # ----- decoder
    for row in rows[i + len(fc_rows):]:
        if row.kind == "conv":
            x = conv(x, row, _width(row.filters, config))
        elif row.kind == "ps":
            x = PixelShuffle(2, name=f"{prefix}_{row.name}")(x)
            if m.skip_mode != "none":
                match = [s for s in skips if tuple(s.shape[1:]) == tuple(x.shape[1:])]
                if match:
                    x = _merge(x, match[-1], m.skip_mode, f"{prefix}_skip_{row.name}")
        elif row.kind == "out":
            x = layers.Conv2D(row.filters, row.kernel, padding="same", kernel_initializer=init,
                              name=f"{prefix}_{row.name}")(x)
            x = layers.Activation("tanh", name=f"{prefix}_tanh", dtype="float32")(x)
    out = _range_out(x, config, f"{prefix}_to_image_range")
    return keras.Model(inp, out, name=name or prefix)


def build_upscaler(config: Config, resolution: int = 8, name: str | None = None) -> keras.Model:
    """Pixel-shuffle upscaler: a 3-channel image at ``resolution`` -> the same image at 2x.

    Conv k x k to 3*2*2 channels, pixel shuffle x2, tanh (same range mapping as the blocks).
    """
    m = config.model
    prefix = name or f"upscale_{resolution}_to_{2 * resolution}"
    inp = keras.Input((resolution, resolution, 3), name=f"{prefix}_input")
    x = _range_in(inp, config, f"{prefix}_to_tanh_range")
    x = layers.Conv2D(12, m.upscaler_kernel, padding="same", kernel_initializer=_ps_init(config),
                      name=f"{prefix}_conv")(x)
    x = PixelShuffle(2, name=f"{prefix}_ps")(x)
    if m.upscaler_activation == "tanh":
        x = layers.Activation("tanh", name=f"{prefix}_tanh", dtype="float32")(x)
        out = _range_out(x, config, f"{prefix}_to_image_range")
    else:
        out = layers.Activation("linear", name=f"{prefix}_to_image_range", dtype="float32")(x)
    return keras.Model(inp, out, name=prefix)


def cascade_input_names(config: Config) -> list[str]:
    res = config.model.resolutions
    return [f"masked_{r}" for r in res] + [f"mask_{r}" for r in res] + list(noise_shapes(config))


def build_cascade(config: Config, name: str = "cascade") -> keras.Model:
    """Five generator blocks and four upscalers in one functional model (Fig. 2).

    Inputs (a dict): ``masked_{r}`` (N, r, r, 3) masked faces and ``mask_{r}`` (N, r, r, 1) face
    masks for each resolution r.  Outputs (a dict): ``out_{r}``, the hallucination of block r with
    the face-mask region replaced by the input's face pixels (the paper's second "mask" operation).

    The first "mask" operation (Fig. 2, "we add the mask image at each resolution before feeding the
    input"): block 2r receives the upscaled output of block r whose face-mask region is replaced by
    the masked face at 2r (``mask_injection="replace"``), or the two stacked as 6 channels ("concat").

    With ``model.noise_channels`` the cascade also takes ``noise_{r}`` (N, r, r, channels), standard normal,
    for each r in ``model.noise_resolutions``, stacked onto block r's input (the style noise of issue 23).
    """
    m = config.model
    noise_in = {k: keras.Input(shape, name=k) for k, shape in noise_shapes(config).items()}
    composite = FaceComposite(m.mask_threshold, name="face_composite")
    masked_in = {r: keras.Input((r, r, 3), name=f"masked_{r}") for r in m.resolutions}
    mask_in = {r: keras.Input((r, r, 1), name=f"mask_{r}") for r in m.resolutions}
    outputs = {}
    previous = None
    for k, r in enumerate(m.resolutions):
        block = build_generator_block(r, config)
        if previous is None:
            guide = masked_in[r]
        else:
            upscaler = build_upscaler(config, r // 2)
            guide = upscaler(previous)
            if m.mask_injection == "replace":
                guide = FaceComposite(m.mask_threshold, name=f"inject_mask_{r}")([mask_in[r], masked_in[r], guide])
        x = guide
        if m.mask_injection == "concat":
            x = layers.Concatenate(name=f"inject_mask_{r}")([guide, masked_in[r]])
        if f"noise_{r}" in noise_in:
            x = layers.Concatenate(name=f"inject_noise_{r}")([x, noise_in[f"noise_{r}"]])
        raw = block(x)
        out = composite([mask_in[r], masked_in[r], raw])
        outputs[f"out_{r}"] = layers.Identity(name=f"out_{r}", dtype="float32")(out)
        previous = out if m.upscale_source == "composited" else raw
        if m.stop_gradient_between_blocks:
            previous = StopGradient(name=f"stop_gradient_{r}")(previous)
    inputs = {**{f"masked_{r}": masked_in[r] for r in m.resolutions},
              **{f"mask_{r}": mask_in[r] for r in m.resolutions}, **noise_in}
    return keras.Model(inputs, outputs, name=name)


def image_pyramid(images, resolutions, antialias: bool = False) -> dict:
    """{r: images resized bilinearly to r x r} from the largest-resolution images (r = max passes through)."""
    top = images.shape[1]
    return {r: (images if r == top else resize_bilinear(images, r, antialias)) for r in resolutions}


def mask_from_masked(masked):
    """Face mask recovered from a masked face: 1 where any channel is non-zero."""
    return ops.cast(ops.any(ops.greater(masked, 0.0), axis=-1, keepdims=True), "float32")


def cascade_inputs_from_128(masked, mask, resolutions, antialias: bool = False) -> dict:
    """The cascade's input dict from 128x128 masked faces and binary masks (the paper's pyramid;
    ``antialias`` = ``model.pyramid_antialias``, see :func:`resize_bilinear`)."""
    mp = image_pyramid(masked, resolutions, antialias)
    kp = image_pyramid(mask, resolutions, antialias)
    return {**{f"masked_{r}": mp[r] for r in resolutions}, **{f"mask_{r}": kp[r] for r in resolutions}}


@keras.saving.register_keras_serializable(package="facehalluc")
class MaskFromMasked(layers.Layer):
    def call(self, masked):
        return mask_from_masked(masked)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], 1)


@keras.saving.register_keras_serializable(package="facehalluc")
class Pyramid(layers.Layer):
    """[masked_128, mask_128] -> the cascade's input dict (bilinear pyramid)."""

    def __init__(self, resolutions=(8, 16, 32, 64, 128), antialias: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.resolutions = tuple(int(r) for r in resolutions)
        self.antialias = bool(antialias)

    def call(self, inputs):
        masked, mask = inputs
        return cascade_inputs_from_128(masked, ops.cast(mask, masked.dtype), self.resolutions, self.antialias)

    def compute_output_shape(self, input_shapes):
        b = input_shapes[0][0]
        return {**{f"masked_{r}": (b, r, r, 3) for r in self.resolutions},
                **{f"mask_{r}": (b, r, r, 1) for r in self.resolutions}}

    def get_config(self):
        return {**super().get_config(), "resolutions": list(self.resolutions), "antialias": self.antialias}


def build_inference_model(cascade: keras.Model, config: Config, with_mask_input: bool = False,
                          all_outputs: bool = False, name: str = "facehalluc_inference") -> keras.Model:
    """Wraps the cascade so it takes only 128x128 masked faces (and optionally their binary masks).

    Without a mask input the mask is every pixel with a non-zero channel.  Output: ``out_128``
    (plus ``out_r`` for every block when ``all_outputs``).  A cascade with style noise also takes the
    ``noise_r`` tensors (:func:`noise_shapes`), after ``masked`` (and ``mask``), in ascending r.
    """
    res = config.model.resolutions
    top = res[-1]
    masked = keras.Input((top, top, 3), name="masked")
    inputs = [masked]
    if with_mask_input:
        mask = keras.Input((top, top, 1), name="mask")
        inputs.append(mask)
    else:
        mask = MaskFromMasked(name="mask_from_masked")(masked)
    noise = {k: keras.Input(shape, name=k) for k, shape in noise_shapes(config).items()}
    inputs += list(noise.values())
    pyr = Pyramid(res, config.model.pyramid_antialias, name="pyramid")([masked, mask])
    outs = cascade({**pyr, **noise})
    outputs = {k: layers.Identity(name=k)(v) for k, v in outs.items()} if all_outputs else \
        {f"out_{top}": layers.Identity(name=f"out_{top}")(outs[f"out_{top}"])}
    return keras.Model(inputs if len(inputs) > 1 else masked, outputs, name=name)
