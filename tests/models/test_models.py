"""Networks: layer-by-layer equality with supplementary Tables 1–5, shapes, compositing, discriminators."""
from __future__ import annotations


import keras
import numpy as np
import pytest
import tensorflow as tf

from facehalluc.config import PRESETS, load_config
from facehalluc.models.layers import SafeLeakyReLU
from facehalluc.models import (FaceComposite, PixelShuffle, build_cascade, build_discriminator,
                               build_generator_block, build_inference_model, build_upscaler,
                               cascade_inputs_from_128, model_flops)

# ---------------------------------------------------------------------------------------------------
# Transcription of supplementary Tables 1–5, written independently of facehalluc/models/tables.py.
# ("conv", name, kernel, stride, dilation, filters) | ("RB", name, filters) | ("fc", name, units) | ("PS",)
C, RB, FC, PS = "conv", "RB", "fc", "PS"
PAPER_TABLES = {
    8: [(C, "conv0", 3, 1, 2, 128), (C, "conv1", 3, 1, 2, 1024), (RB, "RB1", 1024),
        (FC, "fc1", 512), (FC, "fc2", 16384),
        (C, "conv2", 3, 1, 1, 4 * 512), (PS,), (C, "conv3", 5, 1, 1, 3)],
    16: [(C, "conv0", 3, 1, 2, 128), (C, "conv1", 3, 2, 1, 512), (RB, "RB1", 512),
         (C, "conv2", 3, 2, 1, 1024), (RB, "RB2", 1024), (FC, "fc1", 512), (FC, "fc2", 16384),
         (C, "conv3", 3, 1, 1, 4 * 512), (PS,), (C, "conv4", 3, 1, 1, 4 * 256), (PS,),
         (C, "conv5", 5, 1, 1, 3)],
    32: [(C, "conv0", 3, 1, 2, 128), (C, "conv1", 3, 2, 1, 256), (RB, "RB1", 256),
         (C, "conv2", 3, 2, 1, 512), (RB, "RB2", 512), (C, "conv3", 3, 2, 1, 1024), (RB, "RB3", 1024),
         (FC, "fc1", 512), (FC, "fc2", 16384),
         (C, "conv3", 3, 1, 1, 4 * 512), (PS,), (C, "conv4", 3, 1, 1, 4 * 256), (PS,),
         (C, "conv5", 3, 1, 1, 4 * 128), (PS,), (C, "conv6", 5, 1, 1, 3)],
    64: [(C, "conv0", 3, 1, 2, 128), (C, "conv1", 3, 2, 1, 128), (RB, "RB1", 128),
         (C, "conv2", 3, 2, 1, 256), (RB, "RB2", 256), (C, "conv3", 3, 2, 1, 512), (RB, "RB3", 512),
         (C, "conv4", 3, 2, 1, 1024), (RB, "RB4", 1024), (FC, "fc1", 512), (FC, "fc2", 16384),
         (C, "conv3", 3, 1, 1, 4 * 512), (PS,), (C, "conv4", 3, 1, 1, 4 * 256), (PS,),
         (C, "conv5", 3, 1, 1, 4 * 128), (PS,), (C, "conv6", 3, 1, 1, 4 * 64), (PS,),
         (C, "conv7", 5, 1, 1, 3)],
    128: [(C, "conv0", 3, 1, 2, 128), (C, "conv1", 3, 2, 1, 64), (RB, "RB1", 64),
          (C, "conv2", 3, 2, 1, 128), (RB, "RB2", 128), (C, "conv3", 3, 2, 1, 256), (RB, "RB3", 256),
          (C, "conv4", 3, 2, 1, 512), (RB, "RB4", 512), (C, "conv5", 3, 2, 1, 1024), (RB, "RB5", 1024),
          (FC, "fc1", 512), (FC, "fc2", 16384),
          (C, "conv3", 3, 1, 1, 4 * 512), (PS,), (C, "conv4", 3, 1, 1, 4 * 256), (PS,),
          (C, "conv5", 3, 1, 1, 4 * 128), (PS,), (C, "conv6", 3, 1, 1, 4 * 64), (PS,),
          (C, "conv7", 3, 1, 1, 4 * 64), (PS,), (C, "conv8", 5, 1, 1, 3)],
}


def _expected_layer_specs(table):
    """The sequence of (type, kernel, stride, dilation, filters) a faithful block must contain."""
    spec = []
    for row in table:
        if row[0] == C:
            _, _, k, s, d, f = row
            spec.append(("Conv2D", k, s, d, f))
        elif row[0] == RB:  # a residual block: two 3x3 convs at the row's width (+ identity)
            spec += [("Conv2D", 3, 1, 1, row[2])] * 2
        elif row[0] == FC:
            spec.append(("Dense", row[2]))
        else:
            spec.append(("PixelShuffle",))
    return spec


def _actual_layer_specs(model: keras.Model):
    spec = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            spec.append(("Conv2D", layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0], layer.filters))
            assert layer.kernel_size[0] == layer.kernel_size[1]
        elif isinstance(layer, keras.layers.Dense):
            spec.append(("Dense", layer.units))
        elif isinstance(layer, PixelShuffle):
            spec.append(("PixelShuffle",))
    return spec


@pytest.fixture(scope="module")
def paper_cfg():
    return load_config("paper")


@pytest.mark.parametrize("resolution", [8, 16, 32, 64, 128])
def test_generator_block_matches_supplementary_table(resolution, paper_cfg):
    block = build_generator_block(resolution, paper_cfg)
    assert _actual_layer_specs(block) == _expected_layer_specs(PAPER_TABLES[resolution])
    assert tuple(block.input.shape[1:]) == (resolution, resolution, 3)
    assert tuple(block.output.shape[1:]) == (resolution, resolution, 3)
    # Activations: LeakyReLU(0.1) after every conv/dense except the last conv, which is tanh.
    convs = [l for l in block.layers if isinstance(l, keras.layers.Conv2D)]
    assert convs[-1].name.endswith("out_conv") and block.get_layer(f"block_{resolution}_tanh")
    lrelus = [l for l in block.layers if isinstance(l, SafeLeakyReLU)]  # LeakyReLU as max(x, 0.1 x)
    assert {round(float(l.negative_slope), 6) for l in lrelus} == {0.1}
    n_dense = sum(isinstance(l, keras.layers.Dense) for l in block.layers)
    n_rb = sum(1 for l in block.layers if l.name.endswith("_add"))
    # after every conv but out_conv and each residual block's second conv (it feeds the sum), after fc1/fc2,
    # and after each residual block's sum
    assert len(lrelus) == (len(convs) - 1 - n_rb) + n_dense + n_rb
    # fc2 reshaped to 4x4x1024
    reshape = block.get_layer(f"block_{resolution}_reshape")
    assert tuple(reshape.output.shape[1:]) == (4, 4, 1024)


EXPECTED_SKIPS = {  # encoder/decoder tensors of equal shape (H, W, C) that get a skip connection
    8: [],
    16: [(8, 8, 512)],
    32: [(8, 8, 512), (16, 16, 256), (32, 32, 128)],
    64: [(8, 8, 512), (16, 16, 256), (32, 32, 128)],
    128: [(8, 8, 512), (16, 16, 256), (32, 32, 128), (64, 64, 64)],
}


@pytest.mark.parametrize("resolution", [8, 16, 32, 64, 128])
def test_skip_connections_join_equal_shapes(resolution, paper_cfg):
    block = build_generator_block(resolution, paper_cfg)
    merges = [l for l in block.layers if "_skip_" in l.name]
    got = [tuple(int(d) for d in l.input[0].shape[1:]) for l in merges]
    assert got == EXPECTED_SKIPS[resolution]
    for l in merges:  # concat (default): both inputs have the same shape, the output twice the channels
        a, b = (tuple(t.shape[1:]) for t in l.input)
        assert a == b and l.output.shape[-1] == 2 * a[-1]


def test_tiny_preset_keeps_topology_with_narrower_channels():
    paper, tiny = load_config("paper"), load_config("tiny")
    for r in (8, 32, 128):
        p, t = _actual_layer_specs(build_generator_block(r, paper)), _actual_layer_specs(build_generator_block(r, tiny))
        assert len(p) == len(t)
        for a, b in zip(p, t):
            if len(a) == 1:  # pixel shuffle
                assert a == b
                continue
            assert a[:-1] == b[:-1]  # same kernels/strides/dilations, same layer order
            if a[-1] != 3:  # all widths divided, the 3-channel output kept
                assert b[-1] == a[-1] // tiny.model.width_divisor


def test_all_presets_share_the_paper_architecture():
    paper = load_config("paper")
    for name in PRESETS:
        cfg = load_config(name)
        if name not in ("tiny", "cpu", "shipped", "realism", "sampling"):
            assert cfg.model == paper.model, name
    # the CPU presets: only widths and the two documented readings differ from paper's model
    import dataclasses
    for name in ("cpu", "shipped", "realism"):
        m = load_config(name).model
        assert dataclasses.replace(m, width_divisor=1, pyramid_antialias=False, ps_init="default") == paper.model
    # sampling: the realism generator plus the style-noise input
    m = load_config("sampling").model
    assert dataclasses.replace(m, noise_channels=0) == load_config("realism").model and m.noise_channels == 4
    assert load_config("ablation_l2").loss.pixel == "l2"
    assert not load_config("ablation_no_adv").loss.use_adv
    assert not load_config("ablation_no_id").loss.use_id
    assert not load_config("ablation_no_pc").loss.use_pc
    assert load_config("progan").train.regime == "progan"
    p = load_config("paper")
    assert (p.loss.lambda_pc, p.loss.lambda_adv, p.loss.lambda_id, p.loss.lambda_tv) == (1.0, 0.1, 10.0, 1e-6)
    assert (p.train.g_lr, p.train.d_lr, p.train.batch_size, p.train.epochs) == (1e-4, 2e-4, 10, 50)
    assert p.loss.lpips_version == "0.0" and p.loss.pc_min_resolution == 32
    assert (p.model.g_leaky_slope, p.model.d_leaky_slope) == (0.1, 0.2)
    assert not p.weights.allow_random and not load_config("tiny").weights.allow_random
    assert p.weights.on_missing == "error" and load_config("tiny").weights.on_missing == "disable"


def _random_inputs(cfg, n=2, seed=0):
    rng = np.random.default_rng(seed)
    masked = rng.random((n, 128, 128, 3), dtype=np.float32)
    yy, xx = np.mgrid[:128, :128]
    mask = (((xx - 64) / 30.0) ** 2 + ((yy - 60) / 40.0) ** 2 <= 1).astype(np.float32)[None, :, :, None]
    mask = np.repeat(mask, n, axis=0)
    masked = masked * mask
    return {k: np.asarray(v) for k, v in cascade_inputs_from_128(masked, mask, cfg.model.resolutions).items()}


VARIANTS = [
    [],
    ["model.mask_injection=concat"],
    ["model.skip_mode=add"],
    ["model.skip_mode=none", "model.bottleneck_skip=true"],
    ["model.bottleneck_skip=true"],
    ["model.output_range=raw", "model.upscaler_activation=linear"],
    ["model.upscale_source=raw", "model.stop_gradient_between_blocks=true"],
    ["model.d_output=patch", "model.d_downsample=none"],
]


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda o: ",".join(o) or "default")
def test_tiny_cascade_shapes_for_every_switch(overrides):
    cfg = load_config("tiny", overrides)
    cascade = build_cascade(cfg)
    out = cascade(_random_inputs(cfg))
    assert sorted(out) == sorted(f"out_{r}" for r in cfg.model.resolutions)
    for r in cfg.model.resolutions:
        assert tuple(out[f"out_{r}"].shape) == (2, r, r, 3)
        assert np.all(np.isfinite(np.asarray(out[f"out_{r}"])))
    for r in (8, 128):
        d = build_discriminator(r, cfg)
        y = np.asarray(d(np.zeros((2, r, r, 3), np.float32)))
        assert y.shape[0] == 2 and np.all((y > 0) & (y < 1))


def test_compositing_keeps_face_pixels_bit_exact():
    cfg = load_config("tiny")
    inputs = _random_inputs(cfg, n=3, seed=1)
    out = build_cascade(cfg)(inputs)
    for r in cfg.model.resolutions:
        region = inputs[f"mask_{r}"][..., 0] >= cfg.model.mask_threshold
        o, m = np.asarray(out[f"out_{r}"]), inputs[f"masked_{r}"]
        assert region.any() and (~region).any()
        assert np.array_equal(o[region], m[region])  # bit-exact, not approximately equal
        assert not np.array_equal(o[~region], m[~region])  # the context was hallucinated


def test_face_composite_layer_rule():
    mask = np.array([[[[0.0], [0.49]], [[0.5], [1.0]]]], np.float32)
    masked = np.full((1, 2, 2, 3), 0.25, np.float32)
    gen = np.full((1, 2, 2, 3), 0.75, np.float32)
    out = np.asarray(FaceComposite(0.5)([mask, masked, gen]))
    np.testing.assert_array_equal(out[0, :, :, 0], [[0.75, 0.75], [0.25, 0.25]])


def test_pixel_shuffle_matches_numpy_reference():
    x = np.arange(2 * 3 * 4 * 12, dtype=np.float32).reshape(2, 3, 4, 12)
    s = 2
    n, h, w, c = x.shape
    ref = x.reshape(n, h, w, s, s, c // 4).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * s, w * s, c // 4)
    np.testing.assert_array_equal(np.asarray(PixelShuffle(2)(x)), ref)


def test_upscaler_doubles_resolution(tiny_config):
    for r in (8, 64):
        u = build_upscaler(tiny_config, r)
        y = np.asarray(u(np.random.default_rng(0).random((1, r, r, 3), dtype=np.float32)))
        assert y.shape == (1, 2 * r, 2 * r, 3) and 0 <= y.min() and y.max() <= 1
        assert any(isinstance(l, PixelShuffle) for l in u.layers)


@pytest.mark.parametrize("stop", [False, True])
def test_gradients_flow_between_blocks_unless_stopped(stop):
    cfg = load_config("tiny", [f"model.stop_gradient_between_blocks={stop}"])
    cascade = build_cascade(cfg)
    inputs = {k: tf.constant(v) for k, v in _random_inputs(cfg).items()}
    block8 = cascade.get_layer("block_8")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(cascade(inputs)["out_128"])
    grads = tape.gradient(loss, block8.trainable_variables)
    nonzero = any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    assert nonzero != stop


@pytest.mark.parametrize("resolution", [8, 16, 32, 64, 128])
def test_discriminator_is_casia_net_without_pooling_and_fc(resolution, paper_cfg):
    d = build_discriminator(resolution, paper_cfg)
    convs = [l for l in d.layers if isinstance(l, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 64, 128, 96, 192, 128, 256, 160, 320, 1]
    assert not any(isinstance(l, (keras.layers.MaxPooling2D, keras.layers.Dense)) for l in d.layers)
    bns = [l for l in d.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert len(bns) == 9  # every CASIA conv except the first
    slopes = {round(float(l.negative_slope), 6) for l in d.layers if isinstance(l, SafeLeakyReLU)}
    assert slopes == {0.2}
    assert all(isinstance(c.kernel_initializer, keras.initializers.HeNormal) for c in convs)
    assert d.get_layer(f"disc_{resolution}_sigmoid")
    x = np.random.default_rng(0).random((3, resolution, resolution, 3), dtype=np.float32)
    y = np.asarray(d(x, training=False))
    assert y.shape == (3, 1) and np.all((y > 0) & (y < 1))


def test_inference_model_equals_cascade_on_the_pyramid(tiny_config):
    cascade = build_cascade(tiny_config)
    inputs = _random_inputs(tiny_config, n=2, seed=3)
    ref = cascade(inputs)
    inf = build_inference_model(cascade, tiny_config, all_outputs=True)
    got = inf(inputs["masked_128"])
    for k in ref:
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(ref[k]), atol=1e-6)


def test_pyramid_is_bilinear_like_opencv():
    import cv2
    img = np.random.default_rng(0).random((128, 128, 3), dtype=np.float32)
    pyr = cascade_inputs_from_128(img[None], np.ones((1, 128, 128, 1), np.float32), (8, 16, 32, 64, 128))
    for r in (8, 16, 32, 64):
        ref = cv2.resize(img, (r, r), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(np.asarray(pyr[f"masked_{r}"])[0], ref, atol=1e-5)


def test_flop_counter_on_a_hand_computed_model():
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)  # 4x4x4 outputs, 3*3*3 MACs each
    y = keras.layers.Flatten()(y)
    y = keras.layers.Dense(5)(y)  # 64 -> 5
    m = keras.Model(x, y)
    assert model_flops(m) == 2 * (4 * 4 * 4 * 27) + 2 * 64 * 5


def test_compositing_stays_bit_exact_under_mixed_precision():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        cfg = load_config("tiny")
        inputs = _random_inputs(cfg, n=2, seed=4)
        out = build_cascade(cfg)(inputs)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    for r in cfg.model.resolutions:
        o = np.asarray(out[f"out_{r}"])
        region = inputs[f"mask_{r}"][..., 0] >= cfg.model.mask_threshold
        assert o.dtype == np.float32
        assert np.array_equal(o[region], inputs[f"masked_{r}"][region])


def test_pyramid_antialias_switch_low_passes_as_documented():
    """model.pyramid_antialias: plain bilinear aliases a fine pattern, the anti-aliased pyramid averages it."""
    from facehalluc.config import load_config
    from facehalluc.models import build_inference_model, image_pyramid

    # 2-pixel stripes every 16 columns at columns 7, 8 (mod 16): the image's mean is 1/8.  Plain bilinear
    # 128 -> 8 samples at x = 16 i + 7.5, i.e. exactly between those two columns, and returns 1.0 (aliasing);
    # the anti-aliased kernel (a triangle 32 px wide) weights ~16 columns and returns about the mean.
    x = np.zeros((1, 128, 128, 3), np.float32)
    x[:, :, np.isin(np.arange(128) % 16, (7, 8)), :] = 1.0
    plain = np.asarray(image_pyramid(x, (8, 128), antialias=False)[8])
    smooth = np.asarray(image_pyramid(x, (8, 128), antialias=True)[8])
    np.testing.assert_allclose(plain, 1.0, atol=1e-6)
    assert abs(float(smooth.mean()) - 0.125) < 0.01 and float(smooth.max()) < 0.2
    # a constant image is unchanged by both
    c = np.full((1, 128, 128, 3), 0.3, np.float32)
    for aa in (False, True):
        np.testing.assert_allclose(np.asarray(image_pyramid(c, (8, 16, 128), aa)[8]), 0.3, atol=1e-6)
    # the flag reaches the inference model's pyramid layer (and thus export) through the config
    cfg = load_config("tiny", ["model.pyramid_antialias=true", "model.resolutions=[64,128]"])
    from facehalluc.models import build_cascade

    inf = build_inference_model(build_cascade(cfg), cfg)
    assert inf.get_layer("pyramid").antialias is True
    assert load_config("paper").model.pyramid_antialias is False and load_config("cpu").model.pyramid_antialias


def test_icnr_init_makes_pixel_shuffle_start_as_nearest_upsampling():
    import keras

    from facehalluc.config import load_config
    from facehalluc.models import build_upscaler
    from facehalluc.models.layers import ICNR, PixelShuffle

    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 5))
    y = PixelShuffle(2)(keras.layers.Conv2D(12, 3, padding="same", kernel_initializer=ICNR())(inp))
    out = np.asarray(keras.Model(inp, y)(np.random.default_rng(0).random((1, 6, 6, 5), dtype=np.float32)))
    for dy, dx in ((0, 1), (1, 0), (1, 1)):
        np.testing.assert_array_equal(out[:, dy::2, dx::2], out[:, ::2, ::2])
    assert out.std() > 0.05  # not trivially zero
    with pytest.raises(ValueError, match="multiple of scale"):
        ICNR()((3, 3, 4, 6))
    # the config switch reaches the upscalers and the decoder convs
    cfg = load_config("tiny", ["model.ps_init=icnr"])
    w = build_upscaler(cfg, 8).get_layer("upscale_8_to_16_conv").kernel.numpy()
    np.testing.assert_array_equal(w[..., :3], w[..., 3:6])
    w0 = build_upscaler(load_config("tiny"), 8).get_layer("upscale_8_to_16_conv").kernel.numpy()
    assert not np.array_equal(w0[..., :3], w0[..., 3:6])
