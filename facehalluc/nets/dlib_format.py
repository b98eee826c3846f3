"""Reader for dlib's DNN serialization format, as used by ``dlib_face_recognition_resnet_model_v1.dat``.

Pure Python/numpy: no dlib import, no code execution.  Only what the face-recognition ResNet needs is
implemented; anything else raises :class:`DlibFormatError` naming the file and the byte offset.

The format (dlib ``serialize.h``, ``dnn/core.h``, ``dnn/layers.h``, ``cuda/tensor.h``):

* **integers** (signed and unsigned): one control byte — bit 7 = sign, low nibble = number of bytes
  that follow (1..8) — then the magnitude in little-endian order;
* **float / double**: an int64 mantissa then an int16 exponent, both as integers above; the value is
  ``mantissa * 2**exponent`` (exponents 32000/32001/32002 mean +inf/-inf/NaN).  The comment in
  ``serialize.h`` says "first the exponent and then the mantissa"; the code writes the mantissa first;
* **bool**: the ASCII byte ``'1'`` or ``'0'``; **string**: an unsigned length then the bytes;
* **tensor**: int 2, four dims ``(num_samples, k, nr, nc)``, then the raw little-endian float32 data;
  an **alias tensor** (a view into a layer's parameter tensor) is int 1 and four dims, no data;
* **network**: ``add_loss_layer`` writes int 1, the loss details, then its subnetwork.  Every
  ``add_layer`` writes its version (2; 3 for the bottom one, which also holds the input layer), its
  *subnetwork first*, then its own details, three bools, and the tensors ``x_grad``,
  ``cached_output`` and ``params_grad`` (``grad_final`` and an unsigned ``sample_expansion_factor``
  for the bottom one).  Tag and skip layers write int 1 and their subnetwork.  So the file holds the
  version integers top-down, then the layer bodies bottom-up.

Layer bodies start with a version string: ``con_4``/``con_5``/``con_6``, ``affine_``/``affine_2``,
``fc_2``/``fc_3``, ``relu_``/``relu_2``, ``add_prev_``, ``avg_pool_2``, ``max_pool_2``,
``input_rgb_image_sized``, ``loss_metric_``/``loss_metric_2``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DlibFormatError", "DlibStream", "DlibLayer", "DlibNet", "read_dlib_net"]

_INF_EXPONENTS = {32000: math.inf, 32001: -math.inf, 32002: math.nan}


class DlibFormatError(ValueError):
    """A file that is not (or not entirely) the dlib network this reader expects."""


class DlibStream:
    """Cursor over the bytes of one dlib file; every error names the file and the byte offset."""

    def __init__(self, data: bytes, origin: str) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.origin = origin

    def fail(self, what: str, at: int | None = None) -> DlibFormatError:
        at = self.pos if at is None else at
        return DlibFormatError(f"{self.origin}: {what} (at byte {at} of {len(self.data)}); "
                               f"not an intact dlib_face_recognition_resnet_model_v1.dat?")

    def _take(self, n: int, what: str) -> memoryview:
        if self.pos + n > len(self.data):
            raise self.fail(f"file truncated while reading {what}: needs {n} more byte(s)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def integer(self, what: str = "an integer") -> int:
        start = self.pos
        ctrl = self._take(1, what)[0]
        size = ctrl & 0x0F
        if size == 0 or size > 8 or ctrl & 0x70:
            raise self.fail(f"bad integer control byte 0x{ctrl:02x} while reading {what}", start)
        value = int.from_bytes(bytes(self._take(size, what)), "little")
        return -value if ctrl & 0x80 else value

    def real(self, what: str = "a floating point number") -> float:
        mantissa = self.integer(what)
        exponent = self.integer(what)
        if exponent in _INF_EXPONENTS:
            return _INF_EXPONENTS[exponent]
        if not -32768 <= exponent < 32000:
            raise self.fail(f"exponent {exponent} out of range while reading {what}")
        return math.ldexp(mantissa, exponent)

    def boolean(self, what: str = "a bool") -> bool:
        start = self.pos
        ch = bytes(self._take(1, what))
        if ch not in (b"0", b"1"):
            raise self.fail(f"expected '0' or '1' for {what}, got {ch!r}", start)
        return ch == b"1"

    def string(self, what: str = "a string", max_len: int = 256) -> str:
        start = self.pos
        n = self.integer(what)
        if not 0 <= n <= max_len:
            raise self.fail(f"implausible string length {n} while reading {what}", start)
        raw = bytes(self._take(n, what))
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail(f"non-ASCII bytes in {what}: {raw[:32]!r}", start) from None

    def _dims(self, what: str) -> tuple[int, int, int, int]:
        dims = tuple(self.integer(what) for _ in range(4))
        if any(d < 0 for d in dims) or math.prod(dims) > (1 << 31):
            raise self.fail(f"implausible tensor shape {dims} in {what}")
        return dims  # type: ignore[return-value]

    def tensor(self, what: str = "a tensor") -> np.ndarray:
        start = self.pos
        version = self.integer(what)
        if version != 2:
            raise self.fail(f"tensor version {version} (expected 2) in {what}", start)
        dims = self._dims(what)
        n = math.prod(dims)
        raw = self._take(4 * n, f"{what} data ({n} float32)")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(dims)

    def alias_tensor(self, what: str = "an alias tensor") -> tuple[int, int, int, int]:
        start = self.pos
        version = self.integer(what)
        if version != 1:
            raise self.fail(f"alias tensor version {version} (expected 1) in {what}", start)
        return self._dims(what)


@dataclass
class DlibLayer:
    """One computational layer: its kind (``con``, ``affine``, ``relu``, ``max_pool``, ``avg_pool``,
    ``add_prev``, ``fc``), the version string found, and the values read."""

    kind: str
    version: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class DlibNet:
    """A parsed network: loss details, input details, and the computational layers bottom-up."""

    path: str
    loss: dict[str, Any]
    input: dict[str, Any]
    layers: list[DlibLayer]  # bottom-up, the first is the con_ of the bottom add_layer
    chain: list[str]  # top-down kinds of every layer under the loss (incl. tag1/tag2/skip1)


# ---------------------------------------------------------------------------------- layer bodies
def _con(s: DlibStream) -> dict[str, Any]:
    v: dict[str, Any] = {}
    params = s.tensor("con_ params").reshape(-1)
    v["num_filters"] = s.integer("con_ num_filters")
    v["nr"], v["nc"] = s.integer("con_ nr"), s.integer("con_ nc")
    v["stride_y"], v["stride_x"] = s.integer("con_ stride_y"), s.integer("con_ stride_x")
    v["padding_y"], v["padding_x"] = s.integer("con_ padding_y"), s.integer("con_ padding_x")
    fdims = s.alias_tensor("con_ filters")
    bdims = s.alias_tensor("con_ biases")
    for name in ("learning_rate_multiplier", "weight_decay_multiplier", "bias_learning_rate_multiplier",
                 "bias_weight_decay_multiplier"):
        v[name] = s.real(f"con_ {name}")
    return {"params": params, "filter_dims": fdims, "bias_dims": bdims, **v}


def _finish_con(s: DlibStream, version: str, v: dict[str, Any]) -> dict[str, Any]:
    v["use_bias"] = s.boolean("con_ use_bias") if version in ("con_5", "con_6") else True
    v["use_relu"] = s.boolean("con_ use_relu") if version == "con_6" else False
    params, fdims = v.pop("params"), v["filter_dims"]
    nf = math.prod(fdims)
    nb = math.prod(v["bias_dims"]) if v["use_bias"] else 0
    if params.size != nf + nb or fdims[0] != v["num_filters"] or fdims[2:] != (v["nr"], v["nc"]):
        raise s.fail(f"con_ parameter tensor of {params.size} values does not hold filters {fdims} "
                     f"+ biases {v['bias_dims']}")
    v["filters"] = params[:nf].reshape(fdims)  # (num_filters, k, nr, nc)
    v["biases"] = params[nf:nf + nb].copy() if nb else np.zeros(v["num_filters"], np.float32)
    return v


def _affine(s: DlibStream, version: str) -> dict[str, Any]:
    params = s.tensor("affine_ params").reshape(-1)
    gdims = s.alias_tensor("affine_ gamma")
    bdims = s.alias_tensor("affine_ beta")
    mode = s.integer("affine_ mode")
    disabled = s.boolean("affine_ disabled") if version == "affine_2" else False
    ng, nb = math.prod(gdims), math.prod(bdims)
    if disabled:
        return {"mode": mode, "disabled": True, "gamma": None, "beta": None}
    if params.size != ng + nb:
        raise s.fail(f"affine_ parameter tensor of {params.size} values does not hold gamma {gdims} "
                     f"+ beta {bdims}")
    return {"mode": mode, "disabled": False, "gamma": params[:ng].reshape(gdims),
            "beta": params[ng:].reshape(bdims)}


def _pool(s: DlibStream, name: str) -> dict[str, Any]:
    keys = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    return {k: s.integer(f"{name} {k}") for k in keys}


def _fc(s: DlibStream, version: str) -> dict[str, Any]:
    v: dict[str, Any] = {"num_outputs": s.integer("fc_ num_outputs"), "num_inputs": s.integer("fc_ num_inputs")}
    params = s.tensor("fc_ params").reshape(-1)
    wdims = s.alias_tensor("fc_ weights")
    bdims = s.alias_tensor("fc_ biases")
    v["bias_mode"] = s.integer("fc_ bias_mode")
    for name in ("learning_rate_multiplier", "weight_decay_multiplier", "bias_learning_rate_multiplier",
                 "bias_weight_decay_multiplier"):
        v[name] = s.real(f"fc_ {name}")
    v["use_bias"] = s.boolean("fc_ use_bias") if version == "fc_3" else True
    has_bias = v["bias_mode"] == 0 and v["use_bias"]
    nw = math.prod(wdims)
    nb = math.prod(bdims) if has_bias else 0
    if params.size != nw + nb or wdims[:2] != (v["num_inputs"], v["num_outputs"]):
        raise s.fail(f"fc_ parameter tensor of {params.size} values does not hold weights {wdims} "
                     f"(inputs x outputs) + {nb} biases")
    v["weights"] = params[:nw].reshape(v["num_inputs"], v["num_outputs"])  # stored inputs x outputs
    v["biases"] = params[nw:nw + nb].copy() if nb else None
    return v


_VERSIONS: dict[str, tuple[str, ...]] = {
    "con": ("con_4", "con_5", "con_6"),
    "affine": ("affine_", "affine_2"),
    "relu": ("relu_", "relu_2"),
    "max_pool": ("max_pool_2",),
    "avg_pool": ("avg_pool_2",),
    "add_prev": ("add_prev_",),
    "fc": ("fc_2", "fc_3"),
}


def _layer_body(s: DlibStream, kind: str) -> DlibLayer:
    start = s.pos
    version = s.string(f"the version string of a {kind} layer")
    if version not in _VERSIONS[kind]:
        hint = " (a batch-norm layer: only affine_ is supported)" if version.startswith("bn_") else ""
        raise s.fail(f"expected a {kind} layer ({'/'.join(_VERSIONS[kind])}), found {version!r}{hint}", start)
    if kind == "con":
        values = _finish_con(s, version, _con(s))
    elif kind == "affine":
        values = _affine(s, version)
    elif kind == "relu":
        values = {"disabled": s.boolean("relu_ disabled") if version == "relu_2" else False}
    elif kind in ("max_pool", "avg_pool"):
        values = _pool(s, version)
    elif kind == "fc":
        values = _fc(s, version)
    else:  # add_prev_
        values = {}
    return DlibLayer(kind, version, values)


def _add_layer_tail(s: DlibStream, version: int, kind: str) -> None:
    """The bools and tensors an add_layer writes after its details (all ignored: training state)."""
    for name in ("this_layer_setup_called", "gradient_input_is_stale", "get_output_and_gradient_input_disabled"):
        s.boolean(f"{kind} add_layer {name}")
    s.tensor(f"{kind} add_layer x_grad")
    s.tensor(f"{kind} add_layer cached_output")
    if version >= 2:
        s.tensor(f"{kind} add_layer params_grad")


def read_dlib_net(path: str | Path, chain: list[str]) -> DlibNet:
    """Parses a dlib ``loss_metric`` network file whose layers, top-down, are ``chain``.

    ``chain`` lists every layer under the loss, top-down: computational kinds (see :class:`DlibLayer`)
    and ``tag``/``skip`` for dlib's tag and skip layers; its last entry is the ``con`` held by the bottom
    add_layer together with the ``input_rgb_image_sized`` input layer.  The whole file must be consumed.
    """
    path = Path(path)
    origin = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DlibFormatError(f"{origin}: cannot read ({exc})") from None
    s = DlibStream(data, origin)
    start = s.pos
    if s.integer("the loss layer version") != 1:
        raise s.fail("the file does not start with a dlib add_loss_layer (version 1)", start)
    loss_version = s.string("the loss version string")
    if loss_version == "loss_metric_2":
        loss = {"version": loss_version, "margin": s.real("loss margin"),
                "distance_threshold": s.real("loss distance threshold")}
    elif loss_version == "loss_metric_":
        loss = {"version": loss_version, "margin": 0.1, "distance_threshold": 0.75}
    else:
        raise s.fail(f"expected a loss_metric network, found loss {loss_version!r}", start)

    # version integers, top-down
    versions: list[int] = []
    for i, kind in enumerate(chain):
        start = s.pos
        v = s.integer(f"the version of layer {i + 1} ({kind})")
        bottom = i == len(chain) - 1
        ok = (v in (2, 3)) if bottom else (v == 1 if kind in ("tag", "skip") else v in (1, 2))
        if not ok:
            raise s.fail(f"layer {i + 1} of {len(chain)} ({kind}): unexpected version {v}; the file does "
                         f"not have this network's layer structure", start)
        versions.append(v)

    # the bottom add_layer: input layer, then its con_ details
    start = s.pos
    in_version = s.string("the input layer version string")
    if in_version != "input_rgb_image_sized":
        raise s.fail(f"expected the input layer input_rgb_image_sized, found {in_version!r}", start)
    inp = {"avg_red": s.real("avg_red"), "avg_green": s.real("avg_green"), "avg_blue": s.real("avg_blue"),
           "nr": s.integer("input nr"), "nc": s.integer("input nc")}
    layers = [_layer_body(s, chain[-1])]
    for name in ("this_layer_setup_called", "gradient_input_is_stale", "get_output_and_gradient_input_disabled"):
        s.boolean(f"input add_layer {name}")
    for name in ("x_grad", "cached_output", "grad_final"):
        s.tensor(f"input add_layer {name}")
    if versions[-1] >= 3:
        s.integer("input add_layer sample_expansion_factor")

    # the other bodies, bottom-up
    for kind, v in zip(reversed(chain[:-1]), reversed(versions[:-1])):
        if kind in ("tag", "skip"):
            continue
        layers.append(_layer_body(s, kind))
        _add_layer_tail(s, v, kind)
    if s.pos != len(s.data):
        raise s.fail(f"{len(s.data) - s.pos} unexpected trailing bytes after the network")
    return DlibNet(path=origin, loss=loss, input=inp, layers=layers, chain=list(chain))
