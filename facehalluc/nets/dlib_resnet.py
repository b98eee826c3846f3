"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as a frozen Keras 3 model.

The network (dlib ``examples/dnn_face_recognition_ex.cpp``, ``anet_type``; 29 conv layers):

* input: a 150x150 RGB face chip (dlib ``get_face_chip(img, shape, 150, 0.25)``), each pixel
  ``(value - mean) / 256`` with the per-channel means stored in the file (R, G, B) =
  (122.782, 117.001, 104.298);
* ``con`` 7x7/32 stride 2 without padding (150 -> 72) -> affine -> ReLU -> max-pool 3x3 stride 2 without
  padding (-> 35);
* residual units ``relu(x + A(conv3x3(relu(A(conv3x3(x))))))`` with A a per-channel affine (dlib's
  frozen batch norm): 3 at 32 channels; then "down" units whose first conv has stride 2 and no padding
  and whose shortcut is a 2x2/2 average pool: down + 3 at 64 (17x17), down + 2 at 128 (8x8), down + 2 at
  256 (3x3 conv branch, 4x4 pool branch -> 4x4), one more down at 256 (1x1 conv branch, 2x2 pool branch
  -> 2x2).  Stride-1 convs pad by 1 ("same"); every conv has a bias;
* the residual add is dlib's ``add_prev``: when the two tensors differ in size, the smaller is zero-padded
  to the larger — extra channels at the end, extra rows/columns at the bottom/right
  (:class:`DlibAddPrev`).  This happens for the channel growth 32->64->128->256 of the down units and for
  the 3x3 vs 4x4 and 1x1 vs 2x2 branches of the last two;
* global average pool -> ``fc`` 256 -> 128 without bias: the 128-D descriptor dlib returns (not
  L2-normalised; dlib's same-person threshold is a Euclidean distance of 0.6).

In the Keras model each affine is folded into the conv before it (``gamma * (W x + b) + beta``), so every
conv carries its own ReLU where dlib has one.  The model is frozen (no trainable weights) and uses only
``keras.layers`` / ``keras.ops``.

Inputs: :func:`build_dlib_resnet` takes (N, 150, 150, 3) RGB in ``[0, input_range]`` (255: dlib's uint8
pixels as floats, bit-exact preprocessing; 1: images in [0, 1]).  :func:`build_dlib_identity` wraps it
for the identity loss: any-size aligned crops in [0, 1] are resampled to an approximate dlib chip
(:func:`chip_box`) first.

Weights: :func:`convert_dlib_resnet` reads the ``.dat`` with :mod:`facehalluc.nets.dlib_format` (no dlib)
and writes Keras ``.weights.h5``; registered as ``dlib_resnet`` (``python -m facehalluc.weights convert
dlib_resnet``).  :func:`dlib_resnet_from_config` converts the installed file into the cache on first use.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np
from keras import layers, ops

from .dlib_format import DlibFormatError, DlibNet, read_dlib_net

log = logging.getLogger(__name__)

__all__ = ["build_dlib_resnet", "build_dlib_identity", "DlibAddPrev", "DlibInputNormalize", "DlibChipResample",
           "dlib_resnet_arrays", "read_dlib_resnet", "set_dlib_resnet_weights", "convert_dlib_resnet",
           "dlib_resnet_from_dat", "dlib_resnet_from_config", "installed_dat_path", "chip_box", "UNITS",
           "DAT_FILENAME", "DAT_SHA256", "DLIB_MEAN_RGB", "CHIP_SIZE", "CHIP_PADDING", "EMBEDDING_DIM",
           "DLIB_RESNET_PARAMS", "DLIB_RESNET_FILE_PARAMS", "SAME_PERSON_THRESHOLD", "DlibFormatError"]

FROZEN_DTYPE = "float32"
DAT_FILENAME = "dlib_face_recognition_resnet_model_v1.dat"
#: sha256 of the file shipped by face-recognition-models 0.3.0 (22,466,066 bytes)
DAT_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
DLIB_MEAN_RGB: tuple[float, float, float] = (122.782, 117.001, 104.298)
CHIP_SIZE = 150
CHIP_PADDING = 0.25
EMBEDDING_DIM = 128
SAME_PERSON_THRESHOLD = 0.6
#: Parameters in the file: conv kernels and biases 5,574,720 + affine gamma/beta 7,104 + fc 32,768.
DLIB_RESNET_FILE_PARAMS = 5_614_592
#: Weights of the Keras port: the affines are folded into the convs, plus the 3 input means.
DLIB_RESNET_PARAMS = 5_574_720 + 32_768 + 3


@dataclass(frozen=True)
class Unit:
    """One residual unit: Keras name prefix, width, and whether it is a "down" unit (stride 2)."""

    name: str
    width: int
    down: bool


#: Residual units bottom-up (dlib's alevel4 ... alevel0).
UNITS: tuple[Unit, ...] = (
    Unit("level4_1", 32, False), Unit("level4_2", 32, False), Unit("level4_3", 32, False),
    Unit("level3_down", 64, True), Unit("level3_1", 64, False), Unit("level3_2", 64, False),
    Unit("level3_3", 64, False),
    Unit("level2_down", 128, True), Unit("level2_1", 128, False), Unit("level2_2", 128, False),
    Unit("level1_down", 256, True), Unit("level1_1", 256, False), Unit("level1_2", 256, False),
    Unit("level0_down", 256, True),
)

#: Keras conv layers in order: (name, filters, kernel, stride); "valid" padding iff stride 2.
CONV_LAYERS: tuple[tuple[str, int, int, int], ...] = (("stem_conv", 32, 7, 2),) + tuple(
    c for u in UNITS
    for c in ((f"{u.name}_conv1", u.width, 3, 2 if u.down else 1), (f"{u.name}_conv2", u.width, 3, 1)))


def dlib_chain() -> list[str]:
    """The file's layers under the loss, top-down (``tag``/``skip`` = dlib's tag1/tag2 and skip1 layers)."""
    chain = ["fc", "avg_pool"]
    for u in reversed(UNITS):
        if u.down:  # relu<add_prev2<avg_pool<skip1<tag2<affine<con<relu<affine<con<tag1<...
            chain += ["relu", "add_prev", "avg_pool", "skip", "tag",
                      "affine", "con", "relu", "affine", "con", "tag"]
        else:  # relu<add_prev1<affine<con<relu<affine<con<tag1<...
            chain += ["relu", "add_prev", "affine", "con", "relu", "affine", "con", "tag"]
    return chain + ["max_pool", "relu", "affine", "con"]


# ------------------------------------------------------------------------------------------ layers
@keras.saving.register_keras_serializable(package="facehalluc")
class DlibAddPrev(layers.Layer):
    """dlib's ``add_prev``: ``a + b`` after zero-padding each to the larger size in every dimension.

    Padding goes at the end: extra channels after the existing ones, extra rows at the bottom and extra
    columns at the right (dlib ``tt::add(dest, src1, src2)`` reads 0 outside a source).  Spatial and channel
    sizes must be static.
    """

    def call(self, inputs: Sequence[Any]) -> Any:
        a, b = inputs
        sa, sb = tuple(a.shape[1:]), tuple(b.shape[1:])
        if None in sa or None in sb:
            raise ValueError(f"DlibAddPrev needs static H, W, C; got {sa} and {sb}")
        target = tuple(max(x, y) for x, y in zip(sa, sb))

        def pad(t: Any, shape: tuple[int, ...]) -> Any:
            if shape == target:
                return t
            return ops.pad(t, [(0, 0)] + [(0, want - have) for have, want in zip(shape, target)])

        return pad(a, sa) + pad(b, sb)

    def compute_output_shape(self, input_shape: Sequence[tuple]) -> tuple:
        sa, sb = input_shape
        return (sa[0],) + tuple(None if x is None or y is None else max(x, y) for x, y in zip(sa[1:], sb[1:]))


@keras.saving.register_keras_serializable(package="facehalluc")
class DlibInputNormalize(layers.Layer):
    """RGB in ``[0, input_range]`` -> dlib's ``(pixel - mean) / 256``, pixel in 0..255.

    The means are a non-trainable weight (``mean_rgb``), filled from the file by the converter.
    """

    def __init__(self, input_range: float = 255.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_range = float(input_range)

    def build(self, input_shape: tuple) -> None:
        self.mean_rgb = self.add_weight(name="mean_rgb", shape=(3,), trainable=False,
                                        initializer=keras.initializers.Constant(np.asarray(DLIB_MEAN_RGB)))

    def call(self, x: Any) -> Any:
        if self.input_range != 255.0:
            x = x * (255.0 / self.input_range)
        return (x - ops.cast(self.mean_rgb, x.dtype)) / 256.0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "input_range": self.input_range}


def _interp_matrix(n_out: int, n_in: int, start: float, extent: float) -> np.ndarray:
    """(n_out, n_in) bilinear sampling of ``[start, start + extent]`` (fractions of the input side),
    half-pixel centres, edge pixels repeated outside the input."""
    centres = (start + extent * (np.arange(n_out) + 0.5) / n_out) * n_in - 0.5
    centres = np.clip(centres, 0.0, n_in - 1.0)
    lo = np.floor(centres).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w_hi = centres - lo
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.arange(n_out), lo), 1.0 - w_hi)
    np.add.at(m, (np.arange(n_out), hi), w_hi)
    return m.astype(np.float32)


@keras.saving.register_keras_serializable(package="facehalluc")
class DlibChipResample(layers.Layer):
    """Bilinear resampling of the square box ``(x0, y0, side)`` (fractions of the input side) to
    ``size`` x ``size``: two matrix products with constant interpolation matrices, so it is exact bilinear
    sampling with half-pixel centres, differentiable, and backend-agnostic.  Needs a static H, W."""

    def __init__(self, box: Sequence[float] = (0.0, 0.0, 1.0), size: int = CHIP_SIZE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.box = tuple(float(b) for b in box)
        self.size = int(size)

    def call(self, x: Any) -> Any:
        h, w = x.shape[1], x.shape[2]
        if h is None or w is None:
            raise ValueError("DlibChipResample needs a static image height and width")
        x0, y0, side = self.box
        ry = ops.convert_to_tensor(_interp_matrix(self.size, int(h), y0, side), dtype=x.dtype)
        rx = ops.convert_to_tensor(_interp_matrix(self.size, int(w), x0, side), dtype=x.dtype)
        return ops.einsum("ih,nhwc,jw->nijc", ry, x, rx)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.size, self.size, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "box": list(self.box), "size": self.size}


# ------------------------------------------------------------------------------------------ models
def build_dlib_resnet(input_range: float = 255.0, name: str = "dlib_resnet",
                      initializer: str = "glorot_uniform") -> keras.Model:
    """The frozen network with random weights: (N, 150, 150, 3) RGB in ``[0, input_range]`` -> (N, 128)."""
    inp = keras.Input((CHIP_SIZE, CHIP_SIZE, 3), name="chip")
    kw: dict[str, Any] = {"kernel_initializer": initializer, "dtype": FROZEN_DTYPE}
    x = DlibInputNormalize(input_range, dtype=FROZEN_DTYPE, name="input_normalize")(inp)
    x = layers.Conv2D(32, 7, strides=2, padding="valid", activation="relu", name="stem_conv", **kw)(x)
    x = layers.MaxPooling2D(3, 2, padding="valid", dtype=FROZEN_DTYPE, name="stem_pool")(x)
    for u in UNITS:
        y = layers.Conv2D(u.width, 3, strides=2 if u.down else 1, padding="valid" if u.down else "same",
                          activation="relu", name=f"{u.name}_conv1", **kw)(x)
        y = layers.Conv2D(u.width, 3, padding="same", name=f"{u.name}_conv2", **kw)(y)
        short = layers.AveragePooling2D(2, 2, padding="valid", dtype=FROZEN_DTYPE,
                                        name=f"{u.name}_pool")(x) if u.down else x
        x = DlibAddPrev(dtype=FROZEN_DTYPE, name=f"{u.name}_add")([y, short])
        x = layers.ReLU(dtype=FROZEN_DTYPE, name=f"{u.name}_relu")(x)
    x = layers.GlobalAveragePooling2D(dtype=FROZEN_DTYPE, name="avg_pool")(x)
    x = layers.Dense(EMBEDDING_DIM, use_bias=False, name="fc", **kw)(x)
    model = keras.Model(inp, x, name=name)
    model.trainable = False
    return model


def chip_box(left_eye_x: float = 0.40, right_eye_x: float = 0.60, eye_y: float = 0.40,
             padding: float = CHIP_PADDING) -> tuple[float, float, float]:
    """The square ``(x0, y0, side)``, in fractions of an aligned crop, that dlib's face chip would cover.

    dlib's ``get_face_chip_details(shape, 150, padding)`` maps its mean-face template (unit square, 68-point
    version: eye centres = mean of each eye's six points at x 0.2254 / 0.7548, y 0.2160) to
    ``(padding + p) / (1 + 2 padding)`` of the chip.  Our crops put the same eye centres (mean of six
    landmarks) at ``(left_eye_x, eye_y)`` / ``(right_eye_x, eye_y)``; matching the two eye centres gives the
    box.  Only the eyes are matched (dlib fits a similarity to all its points), so the box is approximate.
    """
    lx, rx, ey = 0.22549183, 0.75476133, 0.21599033  # template eye centres (dlib interpolation.h, points 36-47)
    to_chip = lambda p: (padding + p) / (1.0 + 2.0 * padding)  # noqa: E731
    chip_lx, chip_rx, chip_ey = to_chip(lx), to_chip(rx), to_chip(ey)
    side = (right_eye_x - left_eye_x) / (chip_rx - chip_lx)
    mid_crop, mid_chip = (left_eye_x + right_eye_x) / 2.0, (chip_lx + chip_rx) / 2.0
    return (mid_crop - mid_chip * side, eye_y - chip_ey * side, side)


def build_dlib_identity(box: Sequence[float] | None = (0.0, 0.0, 1.0), core: keras.Model | None = None,
                        name: str = "dlib_identity") -> keras.Model:
    """Identity feature net for L_id: (N, H, W, 3) RGB in [0, 1] (static H, W) -> (N, 128) embeddings.

    The ``box`` of the input (see :func:`chip_box`) is resampled bilinearly to 150x150, then embedded by
    ``core`` (a :func:`build_dlib_resnet` with ``input_range=1``; random weights if None).
    """
    core = core if core is not None else build_dlib_resnet(input_range=1.0)
    inp = keras.Input((None, None, 3), name="image")
    x = DlibChipResample(box if box is not None else (0.0, 0.0, 1.0), CHIP_SIZE, dtype=FROZEN_DTYPE,
                         name="chip_resample")(inp)
    model = keras.Model(inp, core(x), name=name)
    model.trainable = False
    return model


# ------------------------------------------------------------------------------------------ weights
def read_dlib_resnet(path: str | Path) -> DlibNet:
    """Parses the .dat (pure Python/numpy) and checks it is this network (:class:`DlibFormatError` if not)."""
    net = read_dlib_net(path, dlib_chain())
    if (net.input["nr"], net.input["nc"]) != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError(f"{path}: input layer is {net.input['nr']}x{net.input['nc']}, expected 150x150")
    return net


def dlib_resnet_arrays(net: DlibNet) -> dict[str, list[np.ndarray]]:
    """Keras weights by layer name from a parsed file: affines folded into the convs before them,
    kernels (num_filters, k, nr, nc) -> (nr, nc, k, num_filters), fc (inputs, outputs) as is."""
    where = net.path
    out: dict[str, list[np.ndarray]] = {
        "input_normalize": [np.asarray([net.input["avg_red"], net.input["avg_green"], net.input["avg_blue"]],
                                       np.float32)]}
    seq = list(net.layers)
    convs = [(i, lay) for i, lay in enumerate(seq) if lay.kind == "con"]
    if len(convs) != len(CONV_LAYERS):
        raise DlibFormatError(f"{where}: {len(convs)} conv layers, expected {len(CONV_LAYERS)}")
    for (i, con), (name, filters, kernel, stride) in zip(convs, CONV_LAYERS):
        v = con.values
        pad = 0 if stride == 2 else kernel // 2
        got = (v["num_filters"], v["nr"], v["nc"], v["stride_y"], v["stride_x"], v["padding_y"], v["padding_x"])
        if got != (filters, kernel, kernel, stride, stride, pad, pad) or v["use_relu"]:
            raise DlibFormatError(f"{where}: conv {name}: (filters, nr, nc, stride_y, stride_x, pad_y, pad_x) = "
                                  f"{got}, expected {(filters, kernel, kernel, stride, stride, pad, pad)}")
        aff = seq[i + 1] if i + 1 < len(seq) else None
        if aff is None or aff.kind != "affine":
            raise DlibFormatError(f"{where}: conv {name} is not followed by an affine layer")
        w = v["filters"].astype(np.float64).transpose(2, 3, 1, 0)  # -> (nr, nc, k, num_filters)
        b = v["biases"].astype(np.float64).reshape(-1)
        if not aff.values["disabled"]:
            if aff.values["mode"] != 0:
                raise DlibFormatError(f"{where}: affine after {name} is not in CONV_MODE")
            g = aff.values["gamma"].astype(np.float64).reshape(-1)
            beta = aff.values["beta"].astype(np.float64).reshape(-1)
            if g.size != filters or beta.size != filters:
                raise DlibFormatError(f"{where}: affine after {name} has {g.size} channels, expected {filters}")
            w, b = w * g, b * g + beta
        out[name] = [w.astype(np.float32), b.astype(np.float32)]
    for lay in seq:
        if lay.kind == "relu" and lay.values["disabled"]:
            raise DlibFormatError(f"{where}: a disabled relu layer is not supported")
        if lay.kind == "max_pool" and tuple(lay.values.values()) != (3, 3, 2, 2, 0, 0):
            raise DlibFormatError(f"{where}: max_pool {lay.values}, expected 3x3 stride 2 without padding")
    pools = [tuple(lay.values.values()) for lay in seq if lay.kind == "avg_pool"]
    if pools != [(2, 2, 2, 2, 0, 0)] * sum(u.down for u in UNITS) + [(0, 0, 1, 1, 0, 0)]:
        raise DlibFormatError(f"{where}: average pools {pools} differ from 2x2/2 shortcuts + a global pool")
    fc = seq[-1]
    if (fc.kind != "fc" or fc.values["weights"].shape != (UNITS[-1].width, EMBEDDING_DIM)
            or fc.values["biases"] is not None):
        raise DlibFormatError(f"{where}: the last layer is not fc_no_bias 256 -> 128")
    out["fc"] = [fc.values["weights"].astype(np.float32)]
    return out


def set_dlib_resnet_weights(model: keras.Model, arrays: dict[str, list[np.ndarray]]) -> None:
    for lname, ws in arrays.items():
        lay = model.get_layer(lname)
        want = [tuple(w.shape) for w in lay.weights]
        got = [tuple(a.shape) for a in ws]
        if want != got:
            raise ValueError(f"dlib ResNet layer {lname}: weights of shape {got}, model expects {want}")
        lay.set_weights(ws)


def dlib_resnet_from_dat(path: str | Path | None = None, input_range: float = 255.0) -> keras.Model:
    """The Keras port filled straight from the .dat (default: the installed one), no cache involved."""
    path = Path(path) if path is not None else installed_dat_path()
    if path is None:
        raise FileNotFoundError(f"{DAT_FILENAME} not found: install face-recognition-models "
                                f"(pip install face_recognition_models) or pass the path")
    model = build_dlib_resnet(input_range, initializer="zeros")
    set_dlib_resnet_weights(model, dlib_resnet_arrays(read_dlib_resnet(path)))
    return model


def convert_dlib_resnet(sources: Sequence[Path], output: Path) -> None:
    """Converter for the weights registry: the .dat -> Keras ``.weights.h5``."""
    if len(sources) != 1:
        raise ValueError(f"dlib ResNet conversion takes one file, got {len(sources)}")
    dlib_resnet_from_dat(sources[0]).save_weights(str(output))


@functools.lru_cache(maxsize=1)
def _find_models_folder() -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")  # located, not imported (pkg_resources)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def installed_dat_path() -> Path | None:
    """``face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat`` if installed, else None."""
    folder = _find_models_folder()
    if folder is None or not (folder / DAT_FILENAME).is_file():
        return None
    return folder / DAT_FILENAME


def dlib_resnet_from_config(cfg: Any) -> keras.Model:
    """The L_id feature net (:func:`build_dlib_identity`) with the converted weights of the cache.

    When the cache lacks them and face-recognition-models is installed, the installed .dat is converted
    into the cache first (its sha256 is checked against :data:`DAT_SHA256` and recorded).  Otherwise
    :class:`~facehalluc.weights.MissingWeightsError`, or random weights if ``weights.allow_random``.
    """
    from ..weights import MissingWeightsError, convert, weights_path

    box = chip_box(cfg.preprocess.left_eye_x, cfg.preprocess.right_eye_x, cfg.preprocess.eye_y)
    try:
        path = weights_path("dlib_resnet", cfg)
    except MissingWeightsError:
        src = installed_dat_path()
        if src is not None:
            log.info("dlib_resnet: converting the installed %s into the weights cache", src)
            convert("dlib_resnet", [src], cfg=cfg)
            path = weights_path("dlib_resnet", cfg)
        elif cfg.weights.allow_random:
            log.warning("!!! dlib_resnet: weights not found; using RANDOM weights because weights.allow_random "
                        "is true. L_id is NOT an identity loss. !!!")
            return build_dlib_identity(box)
        else:
            raise
    core = build_dlib_resnet(input_range=1.0, initializer="zeros")
    core.load_weights(str(path))
    return build_dlib_identity(box, core)
