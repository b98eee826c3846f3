"""VGG-Face (Parkhi, Vedaldi, Zisserman, BMVC 2015) up to fc7, as a frozen Keras model.

Architecture (VGG-16 "D"): conv1_1..conv5_3 (3x3, stride 1, pad 1, ReLU; widths 64, 128, 256, 512,
512 in blocks of 2, 2, 3, 3, 3) with 2x2/2 max-pooling after each block (pool5 → 7x7x512 at 224),
fc6 4096 (ReLU), fc7 4096.  The 2622-way fc8 is not built (L_id uses fc7).

Input handling inside the model: images (N, H, W, 3) RGB in [0, 1] of any size are resized
bilinearly (half-pixel centres, no antialias) to ``input_size`` (224), scaled to 0–255, reordered to
BGR and the VGG-Face mean ``[93.5940, 104.7624, 129.1863]`` (B, G, R) is subtracted — the Caffe
model's preprocessing, which the widely used Keras conversion ``rcmalli_vggface_tf_vgg16.h5``
keeps (``keras_vggface.utils.preprocess_input(x, version=1)``).

fc7 is taken *before* its ReLU by default (``fc7_relu=False``, ``cfg.loss.id_fc7_relu``): the
paper's authors used Keras, and in the Keras VGG-Face (keras-vggface) the layer named ``fc7`` is
the Dense layer, its ReLU being a separate ``fc7/relu`` layer.  ``True`` gives the post-ReLU
features (Caffe's in-place ``fc7`` blob); see docs/faithfulness.md.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np
from keras import layers, ops

log = logging.getLogger(__name__)

#: Frozen nets compute in float32 even under a mixed-precision global policy (LPIPS's eps = 1e-10
#: and VGG-Face's 0-255 activations do not fit float16).
FROZEN_DTYPE = "float32"

__all__ = ["build_vggface", "VGGFACE_MEAN_BGR", "VGG16_BLOCKS", "VGGFACE_LAYERS", "VGGFacePreprocess",
           "vggface_arrays_from_keras_h5", "vggface_arrays_from_matconvnet", "convert_vggface",
           "set_vggface_weights", "vggface_from_config", "VGGFACE_FC7_PARAMS", "VGGFACE_FULL_PARAMS"]

VGGFACE_MEAN_BGR: tuple[float, float, float] = (93.5940, 104.7624, 129.1863)
VGG16_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
#: Weighted layers in order (fc8 excluded).
VGGFACE_LAYERS: tuple[str, ...] = tuple(
    f"conv{b + 1}_{i + 1}" for b, (_, n) in enumerate(VGG16_BLOCKS) for i in range(n)) + ("fc6", "fc7")
#: Parameters up to fc7 and of the full 2622-class model with fc8 (4096*2622 + 2622 more).
VGGFACE_FC7_PARAMS = 134_260_544
VGGFACE_FULL_PARAMS = VGGFACE_FC7_PARAMS + 4096 * 2622 + 2622


@keras.saving.register_keras_serializable(package="facehalluc")
class VGGFacePreprocess(layers.Layer):
    """[0, 1] RGB → 0–255 BGR minus the VGG-Face mean."""

    def call(self, x: Any) -> Any:
        x = x * 255.0
        bgr = ops.flip(x, axis=-1)
        mean = ops.cast(ops.convert_to_tensor(np.asarray(VGGFACE_MEAN_BGR, np.float32)), x.dtype)
        return bgr - mean


def build_vggface(input_size: int = 224, fc7_relu: bool = False, name: str = "vggface_fc7",
                  resize: bool = True, initializer: str = "glorot_uniform") -> keras.Model:
    """VGG-Face to fc7 with random weights; frozen.  Input (N, H, W, 3) in [0, 1] → (N, 4096).

    ``resize=False`` builds a fixed ``input_size`` input without the Resizing layer (tests).
    ``initializer="zeros"`` skips drawing 134M random numbers when weights are loaded next.
    Weights converted from the official 224×224 model only fit ``input_size = 224`` (fc6 sees
    7×7×512); other sizes are for random-weight smoke tests.
    """
    if input_size < 32 or input_size % 32:
        raise ValueError(f"VGG-Face input_size must be a multiple of 32, got {input_size}")
    if resize:
        inp = keras.Input((None, None, 3), name="image")
        h = layers.Resizing(input_size, input_size, interpolation="bilinear", dtype=FROZEN_DTYPE,
                            name="resize")(inp)
    else:
        inp = keras.Input((input_size, input_size, 3), name="image")
        h = inp
    h = VGGFacePreprocess(dtype=FROZEN_DTYPE, name="preprocess")(h)
    for b, (width, n) in enumerate(VGG16_BLOCKS):
        for i in range(n):
            h = layers.Conv2D(width, 3, padding="same", activation="relu", kernel_initializer=initializer,
                              dtype=FROZEN_DTYPE, name=f"conv{b + 1}_{i + 1}")(h)
        h = layers.MaxPooling2D(2, 2, dtype=FROZEN_DTYPE, name=f"pool{b + 1}")(h)
    h = layers.Flatten(dtype=FROZEN_DTYPE, name="flatten")(h)
    h = layers.Dense(4096, activation="relu", kernel_initializer=initializer, dtype=FROZEN_DTYPE,
                     name="fc6")(h)
    h = layers.Dense(4096, activation="relu" if fc7_relu else None, kernel_initializer=initializer,
                     dtype=FROZEN_DTYPE, name="fc7")(h)
    model = keras.Model(inp, h, name=name)
    model.trainable = False
    return model


def set_vggface_weights(model: keras.Model, arrays: dict[str, list[np.ndarray]]) -> None:
    for lname in VGGFACE_LAYERS:
        if lname not in arrays:
            raise KeyError(f"VGG-Face weights lack layer {lname}")
        lay = model.get_layer(lname)
        want = [tuple(w.shape) for w in lay.weights]
        got = [tuple(a.shape) for a in arrays[lname]]
        if want != got:
            raise ValueError(f"VGG-Face layer {lname}: weights of shape {got}, model expects {want}"
                             + (" (converted weights need loss.id_input_size=224)" if lname == "fc6" else ""))
        lay.set_weights(arrays[lname])


def _h5_layer_weights(f: Any, lname: str, origin: str) -> list[np.ndarray]:
    """Weights of one layer group in a Keras 1/2 HDF5 file, in ``weight_names`` order."""
    root = f["model_weights"] if "model_weights" in f else f
    if lname not in root:
        raise KeyError(f"{origin}: no layer group {lname!r} (layers: {list(root.keys())[:20]}...)")
    g = root[lname]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs.get("weight_names", [])]
    if not names:  # Keras 1 files without the attribute: every dataset below the group
        found: list[str] = []
        g.visititems(lambda n, obj: found.append(n) if hasattr(obj, "shape") else None)
        names = sorted(found)
    if not names:
        raise ValueError(f"{origin}: layer group {lname} holds no weights")
    return [np.asarray(g[n]) for n in names]


def vggface_arrays_from_keras_h5(path: Path) -> dict[str, list[np.ndarray]]:
    """Reads ``rcmalli_vggface_tf_vgg16.h5`` (Keras 2 HDF5, TF dim ordering) by layer name.

    Layout: a group per layer (``conv1_1`` … ``conv5_3``, ``fc6``, ``fc7``, ``fc8``) whose
    ``weight_names`` attribute lists ``<layer>/kernel:0`` and ``<layer>/bias:0`` datasets; kernels
    are HWIO (conv) and (in, out) (dense), conv1_1 expects BGR input, fc6 expects the (7, 7, 512)
    channels-last flatten order.  Full-model files (``model_weights`` group) are read as well.
    """
    import h5py

    origin = str(path)
    out: dict[str, list[np.ndarray]] = {}
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{origin}: not an HDF5 file ({exc})") from None
    with f:
        for lname in VGGFACE_LAYERS:
            ws = _h5_layer_weights(f, lname, origin)
            if len(ws) != 2:
                raise ValueError(f"{origin}: layer {lname} has {len(ws)} weights, expected kernel and bias")
            kernel, bias = (ws if ws[0].ndim > ws[1].ndim else ws[::-1])
            out[lname] = [kernel.astype(np.float32), bias.astype(np.float32)]
    return out


def vggface_arrays_from_matconvnet(path: Path) -> dict[str, list[np.ndarray]]:
    """Reads the official MatConvNet ``vgg-face.mat`` (SimpleNN: ``layers{i}.name/weights``).

    MatConvNet filters are (H, W, Cin, Cout) like Keras; conv1_1's input channels are RGB there and
    are flipped to BGR here; fc6/fc7 are stored as 7×7 and 1×1 convolutions and reshaped to dense
    kernels in channels-last flatten order.
    """
    import scipy.io

    origin = str(path)
    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except (ValueError, NotImplementedError, OSError) as exc:
        raise ValueError(f"{origin}: cannot read as a MATLAB v5/v7 file ({exc})") from None
    net = mat.get("net", mat)
    mlayers = getattr(net, "layers", None)
    if mlayers is None and isinstance(net, dict):
        mlayers = net.get("layers")
    if mlayers is None:
        raise ValueError(f"{origin}: no 'layers' in the MatConvNet file")
    found: dict[str, list[np.ndarray]] = {}
    for lay in np.atleast_1d(mlayers):
        lname = str(getattr(lay, "name", ""))
        if lname in VGGFACE_LAYERS:
            w = getattr(lay, "weights", None)
            if w is None:
                w = (getattr(lay, "filters"), getattr(lay, "biases"))
            kernel, bias = np.asarray(w[0], np.float32), np.asarray(w[1], np.float32).reshape(-1)
            found[lname] = [kernel, bias]
    missing = [n for n in VGGFACE_LAYERS if n not in found]
    if missing:
        raise ValueError(f"{origin}: MatConvNet file lacks layers {missing}")
    k = found["conv1_1"][0]
    found["conv1_1"][0] = np.ascontiguousarray(k[:, :, ::-1, :])  # RGB → BGR input channels
    for lname in ("fc6", "fc7"):
        k = found[lname][0]
        found[lname][0] = np.ascontiguousarray(k.reshape(-1, k.shape[-1]))
    return found


def convert_vggface(sources: Sequence[Path], output: Path, input_size: int = 224) -> None:
    """Converter for the weights registry: ``rcmalli_vggface_tf_vgg16.h5`` or ``vgg-face.mat``.

    ``input_size`` other than 224 only suits files made for that size (tests).
    """
    if len(sources) != 1:
        raise ValueError(f"VGG-Face conversion takes one file, got {len(sources)}")
    src = Path(sources[0])
    if src.suffix.lower() == ".mat":
        arrays = vggface_arrays_from_matconvnet(src)
    else:
        arrays = vggface_arrays_from_keras_h5(src)
    model = build_vggface(input_size, initializer="zeros")
    set_vggface_weights(model, arrays)
    model.save_weights(str(output))


def vggface_from_config(cfg: Any) -> keras.Model:
    """VGG-Face fc7 with converted weights (or random ones if ``weights.allow_random``)."""
    from ..weights import MissingWeightsError, weights_path

    try:
        path = weights_path("vggface", cfg)
    except MissingWeightsError:
        if not cfg.weights.allow_random:
            raise
        log.warning("!!! vggface: converted weights not found; using RANDOM weights because "
                    "weights.allow_random is true. L_id is NOT the paper's identity loss. !!!")
        return build_vggface(cfg.loss.id_input_size, fc7_relu=cfg.loss.id_fc7_relu)
    if cfg.loss.id_input_size != 224:
        raise ValueError(f"{path}: converted VGG-Face weights need loss.id_input_size=224, "
                         f"got {cfg.loss.id_input_size}")
    model = build_vggface(cfg.loss.id_input_size, fc7_relu=cfg.loss.id_fc7_relu, initializer="zeros")
    model.load_weights(str(path))
    return model
