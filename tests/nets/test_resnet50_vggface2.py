"""ResNet-50-256D (VGGFace2) port: architecture, preprocessing, and the .caffemodel reader/converter."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from facehalluc.nets import resnet50_vggface2 as R
from facehalluc.nets.resnet50_vggface2 import CaffeLayer
from support.caffemodel_writer import write_caffemodel


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return R.build_resnet50_256d()


@pytest.fixture(scope="module")
def specs() -> list[R.ConvSpec]:
    return R.conv_specs()


def _caffe_layers(specs: list[R.ConvSpec], rng: np.random.Generator) -> tuple[list[CaffeLayer], dict]:
    """A synthetic release: Input, then per conv Convolution + BatchNorm (3 blobs) + Scale + ReLU."""
    truth: dict[str, tuple[np.ndarray, ...]] = {}
    out = [CaffeLayer("data", "Input", top=["data"])]
    for s in specs:
        w = (rng.standard_normal((s.out_ch, s.in_ch, s.kernel, s.kernel), np.float32)
             * np.float32(np.sqrt(2.0 / (s.in_ch * s.kernel ** 2))))
        out.append(CaffeLayer(s.caffe_name, "Convolution", blobs=[w]))
        if s.has_bn:
            mean = rng.standard_normal(s.out_ch).astype(np.float32)
            var = rng.uniform(0.5, 2.0, s.out_ch).astype(np.float32)
            factor = np.float32(999.982)  # Caffe's moving-average normaliser; stats are stored multiplied
            gamma = rng.uniform(0.5, 1.5, s.out_ch).astype(np.float32)
            beta = rng.standard_normal(s.out_ch).astype(np.float32)
            out.append(CaffeLayer(f"{s.caffe_name}/bn", "BatchNorm",
                                  blobs=[mean * factor, var * factor, np.array([factor], np.float32)]))
            out.append(CaffeLayer(f"{s.caffe_name}/bn/scale", "Scale", blobs=[gamma, beta]))
            out.append(CaffeLayer(f"{s.caffe_name}/relu", "ReLU"))
            truth[s.keras_name] = (w, gamma, beta, mean, var)
        else:
            truth[s.keras_name] = (w,)
    out.append(CaffeLayer("classifier", "InnerProduct", blobs=[np.zeros((16, 256), np.float32)]))
    return out, truth


def test_layer_list_and_parameter_count(model: keras.Model, specs: list[R.ConvSpec]) -> None:
    assert len(specs) == 54
    names = [s.caffe_name for s in specs]
    assert names[:5] == ["conv1/7x7_s2", "conv2_1_1x1_reduce", "conv2_1_3x3", "conv2_1_1x1_increase",
                         "conv2_1_1x1_proj"]
    assert names[-2:] == ["conv5_3_1x1_increase", "feat_extract"]
    assert {s.caffe_name: s.stride for s in specs}["conv3_1_1x1_reduce"] == 2
    model.trainable = True
    try:
        n = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    finally:
        model.trainable = False
    assert n == R.FEATURE_PARAMS == 23_508_032 + 2048 * 256
    assert model.output_shape == (None, 256)
    assert model.get_layer("pool1_3x3_s2").output.shape[1:] == (56, 56, 64)  # Caffe ceil rounding


def test_caffemodel_roundtrip_and_conversion(tmp_path: Path, model: keras.Model,
                                             specs: list[R.ConvSpec]) -> None:
    rng = np.random.default_rng(0)
    layers, truth = _caffe_layers(specs, rng)
    src = write_caffemodel(layers, tmp_path / R.SOURCE_FILENAME)
    back = R.read_caffemodel(src)
    assert [l.name for l in back] == [l.name for l in layers]
    assert back[2].type == "BatchNorm" and back[0].blobs == []
    np.testing.assert_array_equal(back[1].blobs[0], layers[1].blobs[0])
    out = tmp_path / "resnet.weights.h5"
    R.convert_caffemodel([src], out)
    model.load_weights(str(out))
    for s in specs:
        t = truth[s.keras_name]
        np.testing.assert_array_equal(model.get_layer(s.keras_name).get_weights()[0],
                                      np.transpose(t[0], (2, 3, 1, 0)))
        if s.has_bn:
            g, b, m, v = model.get_layer(f"{s.keras_name}_bn").get_weights()
            np.testing.assert_array_equal(g, t[1])
            np.testing.assert_array_equal(b, t[2])
            np.testing.assert_allclose(m, t[3], rtol=1e-6)
            np.testing.assert_allclose(v, t[4], rtol=1e-6)

    # preprocessing + first conv against a numpy reference (224 input: the resize is the identity)
    x = rng.random((1, 224, 224, 3), dtype=np.float32)
    probe = keras.Model(model.input, model.get_layer("conv1_7x7_s2_relu").output)
    got = np.asarray(probe(x, training=False))[0]
    bgr = x[0, :, :, ::-1].astype(np.float64) * 255.0 - np.array(R.MEAN_BGR)
    pad = np.pad(bgr, ((3, 3), (3, 3), (0, 0)))
    patches = np.lib.stride_tricks.sliding_window_view(pad, (7, 7), axis=(0, 1))[::2, ::2]
    w, g, b, m, v = truth["conv1_7x7_s2"]
    y = np.einsum("ijchw,ochw->ijo", patches, w.astype(np.float64), optimize=True)
    y = np.maximum((y - m) / np.sqrt(v + R.BN_EPS) * g + b, 0)
    assert got.shape == (112, 112, 64)
    np.testing.assert_allclose(got, y, atol=2e-3, rtol=1e-4)
    feats = np.asarray(model(x, training=False))
    assert feats.shape == (1, 256) and np.isfinite(feats).all()


def test_bn_by_sequence_fused_bn_and_errors(model: keras.Model, specs: list[R.ConvSpec]) -> None:
    w = np.ones((4, 3, 1, 1), np.float32)
    seq = [CaffeLayer("c", "Convolution", blobs=[w]),
           CaffeLayer("odd_bn_name", "BatchNorm", blobs=[np.full(4, 6.0, np.float32), np.full(4, 8.0, np.float32),
                                                        np.array([2.0], np.float32)]),
           CaffeLayer("odd_scale_name", "Scale", blobs=[np.full(4, 3.0, np.float32), np.zeros(4, np.float32)])]
    g, b, m, v = R._bn_params(seq, 0, "c", "x")
    np.testing.assert_array_equal(m, 3.0)
    np.testing.assert_array_equal(v, 4.0)
    np.testing.assert_array_equal(g, 3.0)
    fused = [seq[0], CaffeLayer("c/bn", "BN", blobs=[np.full((1, 4, 1, 1), k, np.float32) for k in (1, 2, 3, 4)])]
    assert [float(p[0]) for p in R._bn_params(fused, 0, "c", "x")] == [1, 2, 3, 4]
    with pytest.raises(R.CaffeModelError, match="not found"):
        R.assign_caffe_layers(model, [CaffeLayer("data", "Input")], "x.caffemodel", specs)
    bad = [CaffeLayer("conv1/7x7_s2", "Convolution", blobs=[np.zeros((64, 3, 3, 3), np.float32)])]
    with pytest.raises(R.CaffeModelError, match="shape"):
        R.assign_caffe_layers(model, bad, "x.caffemodel", specs)


def test_reader_rejects_garbage(tmp_path: Path) -> None:
    p = tmp_path / "x.caffemodel"
    p.write_bytes(b"\x0a\x05ab")  # truncated
    with pytest.raises(R.CaffeModelError, match="x.caffemodel"):
        R.read_caffemodel(p)


def _set_truth(model: keras.Model, specs: list[R.ConvSpec], truth: dict) -> None:
    for s in specs:
        t = truth[s.keras_name]
        model.get_layer(s.keras_name).set_weights([np.transpose(t[0], (2, 3, 1, 0))])
        if s.has_bn:
            w, g, b, m, v = t
            model.get_layer(f"{s.keras_name}_bn").set_weights([g, b, m, v])


def test_stem_pool_and_a_full_bottleneck_block_against_float64_numpy(model: keras.Model,
                                                                     specs: list[R.ConvSpec]) -> None:
    """Caffe's ceil-mode pool1 and the whole first block of stage 3 (conv3_1: stride 2 in the 1x1 *reduce*
    conv, as in Caffe's ResNet -- not in the 3x3 as in torchvision --, 3x3, 1x1 increase, strided
    projection shortcut, sum, ReLU), each computed by hand in float64 from its Keras input.

    Tolerance: relative to the block's largest output, 1e-5.  Measured 7.3e-7 with oneDNN and 5.2e-7 with
    Eigen kernels (TF_ENABLE_ONEDNN_OPTS=0) on an Intel Xeon with AVX-512; pool1 is exact (a max does not
    round).  float32 sums of <= 1,152 products, in whatever order a CPU's vector width gives, stay within a
    few 1e-7 of the exact value: 14x margin.  What it catches: batch-norm eps 1e-3 instead of Caffe's 1e-5
    gives 1.4e-3 (the first-conv check above cannot see it: it takes eps from the module); the stride on
    the 3x3 conv instead moves every pixel.
    """
    from support import numpy_ref as N

    _, truth = _caffe_layers(specs, np.random.default_rng(7))
    _set_truth(model, specs, truth)
    x = np.random.default_rng(8).random((1, 224, 224, 3), dtype=np.float32)
    names = ["conv1_7x7_s2_relu", "pool1_3x3_s2", "conv2_3_relu", "conv3_1_relu"]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    c1, p1, block_in, block_out = (np.asarray(t)[0] for t in probe(x, training=False))

    assert p1.shape == (56, 56, 64)
    np.testing.assert_array_equal(p1, N.max_pool(c1, 3, 2, pad_end=1))

    def conv_bn(t: np.ndarray, name: str, stride: int = 1, pad: int = 0) -> np.ndarray:
        w, g, b, m, v = truth[name]
        return N.batch_norm(N.conv(t, w, stride, (pad, pad)), g, b, m, v, 1e-5)  # Caffe's default eps

    y = N.relu(conv_bn(block_in, "conv3_1_1x1_reduce", stride=2))
    y = N.relu(conv_bn(y, "conv3_1_3x3", pad=1))
    y = conv_bn(y, "conv3_1_1x1_increase")
    want = N.relu(y + conv_bn(block_in, "conv3_1_1x1_proj", stride=2))
    assert block_out.shape == want.shape == (28, 28, 512)
    assert (want > 0).mean() > 0.2  # the synthetic weights give a block that is neither dead nor linear
    err = N.relative_error(block_out, want)
    print(f"conv3_1 relative error {err:.1e}")
    assert err <= 1e-5
