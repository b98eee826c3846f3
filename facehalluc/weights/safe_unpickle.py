"""Unpickling a torch state dict without executing pickled code.

:class:`RestrictedUnpickler` resolves only the handful of globals a tensor state dict needs
(``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2``, ``torch._utils._rebuild_tensor``,
``torch._utils._rebuild_parameter`` and the typed storage classes ``torch.FloatStorage`` etc.), each replaced by a
local, side-effect-free stand-in; any other global raises :class:`TorchFileError`.  :func:`storage_types` reads the
storages' types from the pickle's opcodes without running it, :func:`decode_storage` turns a storage's raw bytes
into numpy, and :func:`load_plain_pickle` reads the legacy format's global-free header pickles.  The file formats
themselves are :mod:`facehalluc.weights.torch_pickle`'s.
"""
from __future__ import annotations

import collections
import pickle
import pickletools
from dataclasses import dataclass
from typing import Any, BinaryIO, Mapping

import numpy as np

#: torch typed-storage class name -> numpy dtype (little-endian).  bfloat16 is widened to float32.
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),  # decoded to float32 after reading
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
    "UntypedStorage": np.dtype("u1"),
}


class TorchFileError(ValueError):
    """A ``.pth`` file that cannot be read safely (corrupt, unsupported, or with forbidden globals)."""


# ----------------------------------------------------------------------------- safe stand-ins
@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` & co.: only carries the dtype."""

    name: str

    @property
    def dtype(self) -> np.dtype:
        return STORAGE_DTYPES[self.name]


@dataclass
class _StorageRef:
    """What ``persistent_load`` returns: a reference to a storage by key, resolved to numpy."""

    data: np.ndarray  # 1-D, already decoded to the final dtype


def _as_ints(values: Any, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise TorchFileError(f"tensor {what} is not a tuple of integers: {values!r}") from None


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *_: Any) -> np.ndarray:
    """Stand-in for ``torch._utils._rebuild_tensor(_v2)``: a strided view, copied to C order."""
    if not isinstance(storage, _StorageRef):
        raise TorchFileError(f"tensor storage is {type(storage).__name__}, not a persistent storage")
    shape = _as_ints(size, "size")
    strides = _as_ints(stride, "stride")
    offset = int(storage_offset)
    if len(shape) != len(strides):
        raise TorchFileError(f"tensor size {shape} and stride {strides} differ in length")
    if any(s < 0 for s in shape) or any(s < 0 for s in strides) or offset < 0:
        raise TorchFileError(f"negative size/stride/offset in tensor {shape}/{strides}/{offset}")
    data = storage.data
    if 0 in shape:
        return np.zeros(shape, dtype=data.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(shape, strides))
    if last >= data.shape[0]:
        raise TorchFileError(f"tensor of size {shape}, stride {strides}, offset {offset} reads past "
                             f"the end of its storage ({data.shape[0]} elements)")
    view = np.lib.stride_tricks.as_strided(data[offset:], shape=shape,
                                           strides=tuple(s * data.itemsize for s in strides),
                                           writeable=False)
    return np.array(view, copy=True, order="C")


def _rebuild_parameter(data: Any, requires_grad: Any = None, backward_hooks: Any = None, *_: Any) -> Any:
    """Stand-in for ``torch._utils._rebuild_parameter``: a Parameter is just its tensor here."""
    return data


_ALLOWED_FUNCTIONS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only whitelisted globals and maps persistent ids to storages."""

    def __init__(self, file: BinaryIO, storages: Mapping[str, np.ndarray] | None, origin: str,
                 legacy: bool):
        super().__init__(file)
        self._storages = storages
        self._origin = origin
        self._legacy = legacy
        self._views: dict[tuple[str, int, int], np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_FUNCTIONS:
            return _ALLOWED_FUNCTIONS[(module, name)]
        if module in ("torch", "torch.storage") and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise TorchFileError(f"{self._origin}: refusing to unpickle global {module}.{name}: only "
                             f"tensor state dicts are supported (no code is executed)")

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise TorchFileError(f"{self._origin}: unsupported persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"{self._origin}: storage {key} has unknown type {storage_type!r}")
        if self._storages is None:
            raise TorchFileError(f"{self._origin}: storage referenced before storages are available")
        if key not in self._storages:
            raise TorchFileError(f"{self._origin}: storage {key!r} is missing from the file")
        data = self._storages[key]
        if self._legacy and len(pid) > 5 and pid[5] is not None:
            view_key, view_offset, view_size = pid[5]
            return _StorageRef(data[int(view_offset):int(view_offset) + int(view_size)])
        if data.shape[0] < numel:
            raise TorchFileError(f"{self._origin}: storage {key!r} holds {data.shape[0]} elements, "
                                 f"{numel} expected")
        return _StorageRef(data)


def decode_storage(raw: bytes, type_name: str, byteorder: str, origin: str, key: str) -> np.ndarray:
    dtype = STORAGE_DTYPES[type_name]
    if byteorder == "big":
        dtype = dtype.newbyteorder(">")
    if len(raw) % dtype.itemsize:
        raise TorchFileError(f"{origin}: storage {key!r} has {len(raw)} bytes, not a multiple of "
                             f"{dtype.itemsize} ({type_name})")
    arr = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("<"), copy=True)
    if type_name == "BFloat16Storage":
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def storage_types(pickle_bytes: bytes, origin: str) -> dict[str, str]:
    """Storage key -> typed-storage class name, read from the pickle's opcodes without executing it.

    The type appears as the GLOBAL just before the key inside each persistent-id tuple.
    """
    types: dict[str, str] = {}
    memo: dict[int, Any] = {}
    last_global: str | None = None
    try:
        ops = list(pickletools.genops(pickle_bytes))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a corrupt file
        raise TorchFileError(f"{origin}: corrupt pickle ({exc})") from None
    values: list[Any] = []
    for op, arg, _pos in ops:
        name = op.name
        if name in ("GLOBAL",):
            last_global = str(arg).split(" ")[-1]
            values.append(("global", last_global))
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            if values:
                memo[int(arg)] = values[-1]
        elif name == "MEMOIZE":
            if values:
                memo[len(memo)] = values[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            values.append(memo.get(int(arg)))
        elif name in ("BINUNICODE", "SHORT_BINUNICODE", "UNICODE", "SHORT_BINSTRING", "BINSTRING",
                      "STRING", "BINUNICODE8"):
            values.append(("str", str(arg)))
        else:
            values.append(None)
        # pattern: 'storage', GLOBAL <Type>, <key>
        if len(values) >= 3:
            a, b, c = values[-3], values[-2], values[-1]
            if a == ("str", "storage") and isinstance(b, tuple) and b[0] == "global" \
                    and isinstance(c, tuple) and c[0] == "str":
                if b[1] not in STORAGE_DTYPES:
                    raise TorchFileError(f"{origin}: unsupported storage type {b[1]}")
                types[c[1]] = b[1]
    return types


def load_plain_pickle(f: BinaryIO, origin: str, what: str) -> Any:
    """Loads a pickle that must contain only plain Python values (no globals at all)."""

    class _NoGlobals(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise TorchFileError(f"{origin}: refusing global {module}.{name} in the {what}")

    try:
        return _NoGlobals(f).load()
    except TorchFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TorchFileError(f"{origin}: cannot read the {what} ({type(exc).__name__}: {exc}); "
                             f"not a torch file") from None
