"""Read PyTorch ``.pth`` state dicts without PyTorch, and without executing pickled code.

Two on-disk formats exist and both are supported:

* **zip format** (``torch.save`` since PyTorch 1.6): a zip archive ``<prefix>/data.pkl`` holding the
  pickled state dict, ``<prefix>/data/<key>`` holding each storage's raw bytes, ``<prefix>/byteorder``
  (``little``/``big``) and ``<prefix>/version``.
* **legacy format** (``_use_new_zipfile_serialization=False`` and PyTorch < 1.6): five pickles in a
  row — the magic number ``0x1950a86a20f9469cfc6c``, the protocol version (1001), a system-info dict,
  the state dict, the list of storage keys — followed, for every key in that list, by an int64 element
  count and the storage's raw bytes.

Unpickling uses a restricted :class:`pickle.Unpickler` (:mod:`facehalluc.weights.safe_unpickle`) whose
``find_class`` knows only the handful of globals a tensor state dict needs; any other global raises
:class:`TorchFileError`.  Tensors come back as C-contiguous ``numpy.ndarray``.  The writer of both formats
(test fixtures) is ``tests/support/torch_writer.py``.
"""
from __future__ import annotations

import io
import pickletools
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Mapping

import numpy as np

from .safe_unpickle import (STORAGE_DTYPES, RestrictedUnpickler, TorchFileError, decode_storage, load_plain_pickle,
                            storage_types)

__all__ = ["TorchFileError", "load_torch_file", "STORAGE_DTYPES"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


# ------------------------------------------------------------------------------------- loading
def load_torch_file(path: str | Path) -> dict[str, np.ndarray]:
    """Loads a PyTorch state dict (zip or legacy format) as ``{name: numpy array}``.

    Nested containers are flattened with ``.`` (e.g. ``{"state_dict": {...}}`` keeps its inner
    names prefixed by ``state_dict.``).  Raises :class:`TorchFileError` naming the file and the
    reason for anything that is not a plain tensor state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise TorchFileError(f"{path}: no such file")
    origin = str(path)
    if zipfile.is_zipfile(path):
        obj = _load_zip(path, origin)
    else:
        with open(path, "rb") as f:
            obj = _load_legacy(f, origin)
    out: dict[str, np.ndarray] = {}
    _flatten(obj, "", out, origin)
    return out


def _flatten(obj: Any, prefix: str, out: dict[str, np.ndarray], origin: str) -> None:
    if isinstance(obj, np.ndarray):
        out[prefix] = obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, origin)
    elif isinstance(obj, (list, tuple)) and prefix:
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}.{i}", out, origin)
    elif isinstance(obj, (int, float, str, bool)) or obj is None:
        return  # metadata such as "epoch": ignored
    else:
        raise TorchFileError(f"{origin}: unexpected object of type {type(obj).__name__} at "
                             f"{prefix or '<root>'}")


def _load_zip(path: Path, origin: str) -> Any:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
            if len(pkl) != 1:
                raise TorchFileError(f"{origin}: zip archive without exactly one <prefix>/data.pkl "
                                     f"(found {pkl}); not a torch.save file")
            prefix = pkl[0][: -len("data.pkl")]
            pickle_bytes = zf.read(pkl[0])
            byteorder = "little"
            if prefix + "byteorder" in names:
                byteorder = zf.read(prefix + "byteorder").decode("ascii").strip()
                if byteorder not in ("little", "big"):
                    raise TorchFileError(f"{origin}: unknown byteorder {byteorder!r}")
            types = storage_types(pickle_bytes, origin)
            storages: dict[str, np.ndarray] = {}
            for key, type_name in types.items():
                member = f"{prefix}data/{key}"
                if member not in names:
                    raise TorchFileError(f"{origin}: storage {member} is missing from the archive")
                storages[key] = decode_storage(zf.read(member), type_name, byteorder, origin, key)
    except zipfile.BadZipFile as exc:
        raise TorchFileError(f"{origin}: corrupt zip archive ({exc})") from None
    try:
        return RestrictedUnpickler(io.BytesIO(pickle_bytes), storages, origin, legacy=False).load()
    except TorchFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TorchFileError(f"{origin}: cannot unpickle data.pkl ({type(exc).__name__}: {exc})") from None


def _load_legacy(f: BinaryIO, origin: str) -> Any:
    head = f.read(2)
    f.seek(0)
    if len(head) < 2 or head[0] != 0x80:
        raise TorchFileError(f"{origin}: neither a zip archive nor a legacy torch file "
                             f"(starts with {head!r})")
    magic = load_plain_pickle(f, origin, "magic number")
    if magic != LEGACY_MAGIC:
        raise TorchFileError(f"{origin}: wrong magic number {magic!r}; not a legacy torch file "
                             f"(the pre-1.0 tar format is not supported)")
    protocol = load_plain_pickle(f, origin, "protocol version")
    if protocol != LEGACY_PROTOCOL:
        raise TorchFileError(f"{origin}: unsupported legacy protocol version {protocol!r}")
    sys_info = load_plain_pickle(f, origin, "system info")
    little = bool(sys_info.get("little_endian", True)) if isinstance(sys_info, dict) else True
    byteorder = "little" if little else "big"
    # The state-dict pickle refers to storages stored *after* it: find its end from its opcodes
    # (without executing it), read the keys and the storages, then unpickle it.
    rest = f.read()
    try:
        stop = None
        for op, _arg, pos in pickletools.genops(io.BytesIO(rest)):
            if op.name == "STOP":
                stop = pos + 1
                break
    except Exception as exc:  # noqa: BLE001
        raise TorchFileError(f"{origin}: corrupt state-dict pickle ({exc})") from None
    if stop is None:
        raise TorchFileError(f"{origin}: truncated state-dict pickle")
    pickle_bytes = rest[:stop]
    types = storage_types(pickle_bytes, origin)
    stream = io.BytesIO(rest[stop:])
    keys = load_plain_pickle(stream, origin, "storage key list")
    if not isinstance(keys, list):
        raise TorchFileError(f"{origin}: storage key list is a {type(keys).__name__}")
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        key = str(key)
        if key not in types:
            raise TorchFileError(f"{origin}: storage {key!r} has no type in the state-dict pickle")
        head8 = stream.read(8)
        if len(head8) != 8:
            raise TorchFileError(f"{origin}: truncated before storage {key!r}")
        numel = struct.unpack("<q" if little else ">q", head8)[0]
        itemsize = STORAGE_DTYPES[types[key]].itemsize
        raw = stream.read(numel * itemsize)
        if len(raw) != numel * itemsize:
            raise TorchFileError(f"{origin}: storage {key!r} truncated ({len(raw)} of "
                                 f"{numel * itemsize} bytes)")
        storages[key] = decode_storage(raw, types[key], byteorder, origin, key)
    try:
        return RestrictedUnpickler(io.BytesIO(pickle_bytes), storages, origin, legacy=True).load()
    except TorchFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TorchFileError(f"{origin}: cannot unpickle the state dict ({type(exc).__name__}: "
                             f"{exc})") from None
