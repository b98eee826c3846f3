"""VGG-Face port: exact architecture, and converters (Keras HDF5, MatConvNet) landing every tensor right."""
from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from facehalluc.nets.vggface import (VGG16_BLOCKS, VGGFACE_FC7_PARAMS, VGGFACE_FULL_PARAMS,
                                     VGGFACE_LAYERS, VGGFACE_MEAN_BGR, build_vggface,
                                     convert_vggface, set_vggface_weights,
                                     vggface_arrays_from_keras_h5, vggface_arrays_from_matconvnet)

SIZE = 64  # synthetic files are made for a 64x64 input: pool5 is 2x2x512, so flatten order matters


def _random_arrays(rng: np.random.Generator, size: int) -> dict[str, list[np.ndarray]]:
    def normal(shape: tuple[int, ...], std: float) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    out: dict[str, list[np.ndarray]] = {}
    cin = 3
    for b, (width, n) in enumerate(VGG16_BLOCKS):
        for i in range(n):
            out[f"conv{b + 1}_{i + 1}"] = [normal((3, 3, cin, width), np.sqrt(2.0 / (9 * cin))),
                                           normal((width,), 0.01)]
            cin = width
    flat = (size // 32) ** 2 * 512
    out["fc6"] = [normal((flat, 4096), np.sqrt(2.0 / flat)), normal((4096,), 0.01)]
    out["fc7"] = [normal((4096, 4096), np.sqrt(2.0 / 4096)), normal((4096,), 0.01)]
    return out


def write_rcmalli_h5(path: Path, arrays: dict[str, list[np.ndarray]]) -> Path:
    """The layout of rcmalli_vggface_tf_vgg16.h5: Keras 2 ``save_weights`` HDF5, one group per layer."""
    names = []
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        for b, (_, n) in enumerate(VGG16_BLOCKS):
            names += [f"conv{b + 1}_{i + 1}" for i in range(n)] + [f"pool{b + 1}"]
        names += ["flatten", "fc6", "fc6/relu", "fc7", "fc7/relu", "fc8", "fc8/softmax"]
        full = dict(arrays)
        full["fc8"] = [np.zeros((4096, 4), np.float32), np.zeros(4, np.float32)]
        for name in names:
            g = f.create_group(name)
            if name in full:
                wn = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
                g.attrs["weight_names"] = wn
                for key, arr in zip(wn, full[name]):
                    g.create_dataset(key.decode(), data=arr)
            else:
                g.attrs["weight_names"] = np.array([], dtype="S1")
        f.attrs["layer_names"] = [n.encode() for n in names]
    return path


def write_matconvnet(path: Path, arrays: dict[str, list[np.ndarray]], size: int) -> Path:
    """A SimpleNN vgg-face.mat: conv filters HWIO with RGB input, fc6/fc7 as convolutions."""
    import scipy.io

    layers = []
    for name in VGGFACE_LAYERS:
        w, b = arrays[name]
        if name == "conv1_1":
            w = w[:, :, ::-1, :]  # our kernels expect BGR; MatConvNet's expect RGB
        if name == "fc6":
            w = w.reshape(size // 32, size // 32, 512, 4096)
        if name == "fc7":
            w = w.reshape(1, 1, 4096, 4096)
        cell = np.empty(2, dtype=object)
        cell[0], cell[1] = np.ascontiguousarray(w), b.reshape(-1, 1)
        layers.append({"name": name, "type": "conv", "weights": cell})
        layers.append({"name": name.replace("conv", "relu").replace("fc", "relu"), "type": "relu",
                       "weights": np.empty(0, dtype=object)})
    cells = np.empty(len(layers), dtype=object)
    for i, lay in enumerate(layers):
        cells[i] = lay
    scipy.io.savemat(path, {"layers": cells, "meta": {"normalization": {
        "averageImage": np.array(VGGFACE_MEAN_BGR[::-1])}}})
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("vggface")
    arrays = _random_arrays(np.random.default_rng(0), SIZE)
    return arrays, write_rcmalli_h5(tmp / "rcmalli_vggface_tf_vgg16.h5", arrays), tmp


@pytest.fixture(scope="module")
def model_from_h5(synthetic):
    arrays, h5, _ = synthetic
    model = build_vggface(SIZE, resize=False, fc7_relu=False, initializer="zeros")
    set_vggface_weights(model, vggface_arrays_from_keras_h5(h5))
    return model


def _numpy_conv_same(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3x3 'same' convolution, NHWC x HWIO, as cross-correlation like Caffe/Keras."""
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    win = sliding_window_view(xp, (3, 3), axis=(1, 2))  # N,H,W,C,3,3
    return np.einsum("nhwcij,ijco->nhwo", win, w, optimize=True) + b


def test_architecture_and_parameter_count() -> None:
    model = build_vggface(224, initializer="zeros")
    weighted = [lay.name for lay in model.layers if lay.weights]
    assert weighted == list(VGGFACE_LAYERS)
    assert [lay.name for lay in model.layers if "pool" in lay.name] == [f"pool{i}" for i in range(1, 6)]
    assert model.get_layer("pool5").output.shape[1:] == (7, 7, 512)
    assert model.output.shape[1:] == (4096,)
    conv = sum(9 * a * b + b for a, b in zip([3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512],
                                             [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]))
    fc = (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096)
    assert model.count_params() == conv + fc == VGGFACE_FC7_PARAMS == 134_260_544
    # the 2622-identity model with fc8; (138,357,544 is ImageNet VGG-16 with a 1000-way fc8)
    assert VGGFACE_FULL_PARAMS == VGGFACE_FC7_PARAMS + 4096 * 2622 + 2622 == 145_002_878
    assert VGGFACE_FC7_PARAMS + 4096 * 1000 + 1000 == 138_357_544
    assert not model.trainable_weights


def test_h5_tensors_land_in_the_right_layers(synthetic, model_from_h5) -> None:
    arrays, _, _ = synthetic
    for name in VGGFACE_LAYERS:
        got = model_from_h5.get_layer(name).get_weights()
        for g, w in zip(got, arrays[name]):
            np.testing.assert_array_equal(g, w)


def test_first_conv_sees_bgr_minus_mean(synthetic, model_from_h5) -> None:
    arrays, _, _ = synthetic
    rng = np.random.default_rng(1)
    x = rng.random((2, SIZE, SIZE, 3), dtype=np.float32)
    x[..., 0] = 1.0  # a saturated red channel makes the channel order matter
    sub = keras.Model(model_from_h5.input, model_from_h5.get_layer("conv1_1").output)
    got = keras.ops.convert_to_numpy(sub(x))
    bgr = x[..., ::-1].astype(np.float64) * 255.0 - np.array(VGGFACE_MEAN_BGR)
    want = np.maximum(_numpy_conv_same(bgr, arrays["conv1_1"][0].astype(np.float64), arrays["conv1_1"][1]), 0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("fc7_relu", [False, True])
def test_fc_layers_flatten_order_and_fc7_switch(synthetic, model_from_h5, fc7_relu: bool) -> None:
    arrays, _, _ = synthetic
    x = np.random.default_rng(2).random((2, SIZE, SIZE, 3), dtype=np.float32)
    pool5 = keras.ops.convert_to_numpy(
        keras.Model(model_from_h5.input, model_from_h5.get_layer("pool5").output)(x)).astype(np.float64)
    n, h, w, c = pool5.shape
    flat = np.empty((n, h * w * c))
    for i in range(h):  # explicit (row, column, channel) order of the TF-ordered Keras model
        for j in range(w):
            flat[:, (i * w + j) * c:(i * w + j + 1) * c] = pool5[:, i, j, :]
    fc6 = np.maximum(flat @ arrays["fc6"][0] + arrays["fc6"][1], 0)
    fc7 = fc6 @ arrays["fc7"][0] + arrays["fc7"][1]
    if fc7_relu:
        fc7 = np.maximum(fc7, 0)
    m = model_from_h5
    if fc7_relu:
        m = build_vggface(SIZE, resize=False, fc7_relu=True)
        m.set_weights(model_from_h5.get_weights())
    got = keras.ops.convert_to_numpy(m(x))
    np.testing.assert_allclose(got, fc7, rtol=1e-4, atol=1e-4 * np.abs(fc7).max())
    assert (got < 0).any() != fc7_relu


def test_matconvnet_file_gives_the_same_network(synthetic, model_from_h5) -> None:
    arrays, _, tmp = synthetic
    mat = write_matconvnet(tmp / "vgg-face.mat", arrays, SIZE)
    m = build_vggface(SIZE, resize=False)
    set_vggface_weights(m, vggface_arrays_from_matconvnet(mat))
    x = np.random.default_rng(3).random((1, SIZE, SIZE, 3), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m(x)),
                               keras.ops.convert_to_numpy(model_from_h5(x)), rtol=1e-5, atol=1e-4)


def test_converter_writes_loadable_weights_and_resizes_any_input(synthetic, model_from_h5) -> None:
    _, h5, tmp = synthetic
    out = tmp / "vggface.weights.h5"
    convert_vggface([h5], out, input_size=SIZE)
    m = build_vggface(SIZE)  # with the Resizing layer
    m.load_weights(str(out))
    x = np.random.default_rng(4).random((2, SIZE, SIZE, 3), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m(x)),
                               keras.ops.convert_to_numpy(model_from_h5(x)), rtol=1e-5, atol=1e-4)
    assert tuple(m(x[:, :40, :24]).shape) == (2, 4096)  # any block size is resized to SIZE
    with pytest.raises(ValueError, match="fc6"):
        set_vggface_weights(build_vggface(2 * SIZE, resize=False), vggface_arrays_from_keras_h5(h5))


def test_bad_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "not.h5"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="not.h5"):
        vggface_arrays_from_keras_h5(bad)
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_group("conv1_1")
    with pytest.raises((KeyError, ValueError), match="empty.h5"):
        vggface_arrays_from_keras_h5(empty)
