"""Writes PyTorch ``.pth`` state dicts (zip and legacy formats) without PyTorch: the test fixtures' writer.

Moved out of ``facehalluc/weights/torch_pickle.py`` (the package only reads these files).  Files written here
load with ``torch.load`` and with :func:`facehalluc.weights.torch_pickle.load_torch_file`.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from facehalluc.weights.torch_pickle import LEGACY_MAGIC, LEGACY_PROTOCOL, TorchFileError

__all__ = ["StridedTensor", "save_torch_file"]

_DTYPE_TO_STORAGE: dict[np.dtype, str] = {
    np.dtype("<f4"): "FloatStorage", np.dtype("<f8"): "DoubleStorage", np.dtype("<f2"): "HalfStorage",
    np.dtype("<i8"): "LongStorage", np.dtype("<i4"): "IntStorage", np.dtype("<i2"): "ShortStorage",
    np.dtype("i1"): "CharStorage", np.dtype("u1"): "ByteStorage", np.dtype("?"): "BoolStorage",
}


@dataclass(frozen=True)
class StridedTensor:
    """A tensor view into a flat storage, for writing files with explicit offsets/strides (tests).

    ``storage`` is 1-D; element ``idx`` of the tensor is ``storage[offset + sum(idx * stride)]``.
    Two StridedTensors holding the *same* ``storage`` object share one storage in the file.
    """

    storage: np.ndarray
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


# ------------------------------------------------------------------------------------- writing
class _Writer:
    """Emits protocol-2 pickle opcodes for a flat ``{name: tensor}`` OrderedDict."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()

    def op(self, b: bytes) -> None:
        self.buf.write(b)

    def global_(self, module: str, name: str) -> None:
        self.op(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def str_(self, s: str) -> None:
        data = s.encode("utf-8")
        self.op(b"X" + struct.pack("<I", len(data)) + data)

    def int_(self, v: int) -> None:
        if 0 <= v < 256:
            self.op(b"K" + bytes([v]))
        elif 0 <= v < 65536:
            self.op(b"M" + struct.pack("<H", v))
        elif -(2 ** 31) <= v < 2 ** 31:
            self.op(b"J" + struct.pack("<i", v))
        else:
            data = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.op(b"\x8a" + bytes([len(data)]) + data)

    def tuple_(self, items: tuple[int, ...]) -> None:
        self.op(b"(")
        for v in items:
            self.int_(int(v))
        self.op(b"t")


def _prepare(state: Mapping[str, np.ndarray | StridedTensor]
             ) -> tuple[list[tuple[str, str, StridedTensor]], dict[str, np.ndarray]]:
    """Assigns storage keys: one per distinct storage array."""
    entries: list[tuple[str, str, StridedTensor]] = []
    storages: dict[str, np.ndarray] = {}
    ids: dict[int, str] = {}
    for name, value in state.items():
        if isinstance(value, StridedTensor):
            t = value
        else:
            arr = np.asarray(value, order="C")
            shape = arr.shape
            stride = tuple(int(np.prod(shape[i + 1:])) for i in range(len(shape)))
            t = StridedTensor(arr.reshape(-1), 0, shape, stride)
        dtype = t.storage.dtype.newbyteorder("<") if t.storage.dtype.byteorder == ">" else t.storage.dtype
        if dtype not in _DTYPE_TO_STORAGE:
            raise TorchFileError(f"tensor {name!r}: dtype {t.storage.dtype} cannot be saved")
        if id(t.storage) not in ids:
            key = str(len(ids))
            ids[id(t.storage)] = key
            storages[key] = np.ascontiguousarray(t.storage, dtype=dtype)
        entries.append((name, ids[id(t.storage)], t))
    return entries, storages


def _state_pickle(entries: list[tuple[str, str, StridedTensor]], storages: dict[str, np.ndarray],
                  location: str, legacy: bool) -> bytes:
    w = _Writer()
    w.op(b"\x80\x02")
    w.global_("collections", "OrderedDict")
    w.op(b")R")
    w.op(b"(")  # MARK for SETITEMS
    for name, key, t in entries:
        w.str_(name)
        w.global_("torch._utils", "_rebuild_tensor_v2")
        w.op(b"(")  # args tuple
        w.op(b"(")  # persistent id tuple
        w.str_("storage")
        w.global_("torch", _DTYPE_TO_STORAGE[storages[key].dtype])
        w.str_(key)
        w.str_(location)
        w.int_(int(storages[key].shape[0]))
        if legacy:
            w.op(b"N")  # view_metadata
        w.op(b"t")
        w.op(b"Q")  # BINPERSID
        w.int_(int(t.offset))
        w.tuple_(t.shape)
        w.tuple_(t.stride)
        w.op(b"\x89")  # requires_grad=False
        w.global_("collections", "OrderedDict")
        w.op(b")R")  # backward_hooks
        w.op(b"t")
        w.op(b"R")
    w.op(b"u.")  # SETITEMS, STOP
    return w.buf.getvalue()


def save_torch_file(state: Mapping[str, np.ndarray | StridedTensor], path: str | Path,
                    legacy: bool = False, location: str = "cpu") -> Path:
    """Writes ``state`` in PyTorch's zip format (default) or its legacy format.

    Files written here load with ``torch.load`` and with :func:`load_torch_file`.  Values are numpy
    arrays (stored contiguously) or :class:`StridedTensor` views (explicit offset/stride, possibly
    sharing a storage) — the latter exist so tests can exercise strided loading.
    """
    path = Path(path)
    entries, storages = _prepare(state)
    pickle_bytes = _state_pickle(entries, storages, location, legacy)
    tmp = path.with_name(path.name + ".tmp")
    if not legacy:
        prefix = path.stem.split(".")[0] or "archive"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(f"{prefix}/data.pkl", pickle_bytes)
            zf.writestr(f"{prefix}/byteorder", "little")
            for key, arr in storages.items():
                zf.writestr(f"{prefix}/data/{key}", arr.tobytes())
            zf.writestr(f"{prefix}/version", "3\n")
    else:
        with open(tmp, "wb") as f:
            pickle.dump(LEGACY_MAGIC, f, protocol=2)
            pickle.dump(LEGACY_PROTOCOL, f, protocol=2)
            pickle.dump({"protocol_version": LEGACY_PROTOCOL, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
            f.write(pickle_bytes)
            keys = sorted(storages)
            pickle.dump(keys, f, protocol=2)
            for key in keys:
                arr = storages[key]
                f.write(struct.pack("<q", arr.shape[0]))
                f.write(arr.tobytes())
    tmp.replace(path)
    return path
