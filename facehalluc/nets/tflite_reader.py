"""A small pure-Python reader for the TensorFlow Lite flatbuffer format (the subset a float model uses).

Only what :mod:`facehalluc.segment.convert` needs: operator codes, one subgraph's tensors (shape,
type, name, constant data) and operators (opcode, inputs, outputs, builtin options as a flat table of
scalars, custom options as bytes).  No code is executed from the file and nothing is imported from
TensorFlow: the file is parsed with :mod:`struct` following the public schema
(``tensorflow/lite/schema/schema.fbs``).  Field numbers used here are listed next to each reader.

Flatbuffer layout (https://flatbuffers.dev/internals): the file starts with a uint32 offset to the
root table; a table starts with an int32 back-offset to its vtable; the vtable holds uint16 vtable
size, uint16 table size, then one uint16 offset per field (0 = absent, default value applies).
Vectors and strings are reached through a uint32 offset and start with a uint32 length.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

# schema.fbs enum TensorType (the values a float model can hold)
TENSOR_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
# schema.fbs enum BuiltinOperator (the operators supported by the Keras port, plus CUSTOM)
BUILTIN_NAMES = {0: "ADD", 1: "AVERAGE_POOL_2D", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE",
                 14: "LOGISTIC", 18: "MUL", 19: "RELU", 23: "RESIZE_BILINEAR", 32: "CUSTOM",
                 117: "HARD_SWISH"}


class TFLiteFormatError(ValueError):
    """The file is not a TensorFlow Lite flatbuffer this reader can parse; the message says why."""


class _Buf:
    def __init__(self, data: bytes):
        self.data = data

    def _unpack(self, fmt: str, pos: int):
        try:
            return struct.unpack_from("<" + fmt, self.data, pos)[0]
        except struct.error:
            raise TFLiteFormatError(f"offset {pos} lies outside the file ({len(self.data)} bytes)") from None

    def u8(self, p): return self._unpack("B", p)
    def u16(self, p): return self._unpack("H", p)
    def i32(self, p): return self._unpack("i", p)
    def u32(self, p): return self._unpack("I", p)

    def table(self, pos: int) -> "_Table":
        return _Table(self, pos)


class _Table:
    """One flatbuffer table at ``pos``."""

    def __init__(self, buf: _Buf, pos: int):
        self.buf, self.pos = buf, pos
        self.vt = pos - buf.i32(pos)
        self.vt_size = buf.u16(self.vt)

    def _field(self, index: int) -> int | None:
        off = 4 + 2 * index
        if off >= self.vt_size:
            return None
        rel = self.buf.u16(self.vt + off)
        return self.pos + rel if rel else None

    def scalar(self, index: int, kind: str, default=0):
        p = self._field(index)
        return default if p is None else getattr(self.buf, kind)(p)

    def _indirect(self, index: int) -> int | None:
        p = self._field(index)
        return None if p is None else p + self.buf.u32(p)

    def sub(self, index: int) -> "_Table | None":
        p = self._indirect(index)
        return None if p is None else _Table(self.buf, p)

    def string(self, index: int) -> str | None:
        b = self.bytes(index)
        return None if b is None else b.decode("utf-8", errors="replace")

    def bytes(self, index: int) -> bytes | None:
        p = self._indirect(index)
        if p is None:
            return None
        n = self.buf.u32(p)
        if p + 4 + n > len(self.buf.data):
            raise TFLiteFormatError(f"a vector at offset {p} runs past the end of the file")
        return self.buf.data[p + 4:p + 4 + n]

    def int_vector(self, index: int) -> list[int]:
        b = self.bytes_n(index, 4)
        return list(struct.unpack(f"<{len(b) // 4}i", b)) if b else []

    def bytes_n(self, index: int, elem: int) -> bytes | None:
        p = self._indirect(index)
        if p is None:
            return None
        n = self.buf.u32(p)
        return self.buf.data[p + 4:p + 4 + elem * n]

    def tables(self, index: int) -> list["_Table"]:
        p = self._indirect(index)
        if p is None:
            return []
        n = self.buf.u32(p)
        return [_Table(self.buf, p + 4 + 4 * i + self.buf.u32(p + 4 + 4 * i)) for i in range(n)]


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None  # constant tensors only


@dataclass
class Operator:
    index: int
    op: str  # builtin name, or the custom code for CUSTOM operators
    inputs: list[int]
    outputs: list[int]
    options: _Table | None = field(repr=False, default=None)
    custom_options: bytes | None = None


@dataclass
class Model:
    description: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]


def read_tflite(data: bytes, source: str = "<bytes>") -> Model:
    """Parses the first subgraph of a .tflite file (its bytes).  Raises :class:`TFLiteFormatError`
    naming ``source`` for anything that is not a TFLite flatbuffer or uses a feature not read here."""
    try:
        return _read(data)
    except TFLiteFormatError as e:
        raise TFLiteFormatError(f"{source}: {e}") from None


def _read(data: bytes) -> Model:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteFormatError("not a TensorFlow Lite file (file identifier 'TFL3' missing)")
    buf = _Buf(data)
    model = buf.table(buf.u32(0))
    # Model: 0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers
    if model.scalar(0, "u32") != 3:
        raise TFLiteFormatError(f"schema version {model.scalar(0, 'u32')}, expected 3")
    codes = []
    for oc in model.tables(1):  # OperatorCode: 0 deprecated_builtin_code (i8), 1 custom_code, 3 builtin_code
        code = max(oc.scalar(0, "u8"), oc.scalar(3, "i32"))
        codes.append(oc.string(1) if code == 32 else BUILTIN_NAMES.get(code, f"BUILTIN_{code}"))
    buffers = model.tables(4)  # Buffer: 0 data, 1 offset (large models, unsupported), 2 size
    subgraphs = model.tables(2)
    if len(subgraphs) != 1:
        raise TFLiteFormatError(f"{len(subgraphs)} subgraphs, expected 1")
    sg = subgraphs[0]  # SubGraph: 0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name
    tensors = []
    for i, t in enumerate(sg.tables(0)):  # Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization
        ttype = t.scalar(1, "u8")
        if ttype not in TENSOR_TYPES:
            raise TFLiteFormatError(f"tensor {i} has unsupported type {ttype}")
        dtype = TENSOR_TYPES[ttype]
        shape = tuple(t.int_vector(0))
        bi = t.scalar(2, "u32")
        arr = None
        if 0 < bi < len(buffers):
            if buffers[bi].scalar(1, "u32") or buffers[bi].scalar(2, "u32"):
                raise TFLiteFormatError(f"tensor {i} stores its data outside the flatbuffer (unsupported)")
            raw = buffers[bi].bytes(0)
            if raw:
                n = int(np.prod(shape)) if shape else 1
                if len(raw) != n * np.dtype(dtype).itemsize:
                    raise TFLiteFormatError(f"tensor {i}: {len(raw)} data bytes for shape {shape} {dtype.__name__}")
                arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)
        tensors.append(Tensor(i, t.string(3) or f"t{i}", shape, dtype, arr))
    ops = []
    for i, o in enumerate(sg.tables(3)):  # Operator: 0 opcode_index, 1 inputs, 2 outputs, 4 builtin_options, 5 custom_options
        ci = o.scalar(0, "u32")
        if ci >= len(codes):
            raise TFLiteFormatError(f"operator {i} uses opcode {ci}, the file defines {len(codes)}")
        ops.append(Operator(i, codes[ci], o.int_vector(1), o.int_vector(2), o.sub(4), o.bytes(5)))
    return Model(model.string(3) or "", tensors, ops, sg.int_vector(1), sg.int_vector(2))
