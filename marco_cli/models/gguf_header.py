"""What a GGUF file's header records about the model: its quantization (`general.file_type`), for
files whose name tells none, and its name (`general.name`), for files no registry alias names.
Only the key/value section at the start of the file is read, never the tensors."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO

# llama.h's llama_ftype values, as llama.cpp's tools write them into `general.file_type`.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}  # fmt: skip

# GGUF value types: the size of the fixed-size ones; 8 is a string, 9 an array.
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY, _UINT32 = 8, 9, 4


class _Malformed(Exception):
    """Not a GGUF file this reader understands; the caller answers None."""


def header_quant(path: Path) -> str | None:
    """The quantization `general.file_type` names (`Q4_K_M`, `F32`, ...), or None when the file
    is no GGUF (v2 or v3), lacks the key or names a type this table does not know."""
    value = _header_value(path, b"general.file_type", _UINT32)
    return FILE_TYPES.get(value) if isinstance(value, int) else None


def header_name(path: Path) -> str | None:
    """The model's name as `general.name` records it, or None when the file is no GGUF (v2 or
    v3) or has no such name."""
    value = _header_value(path, b"general.name", _STRING)
    if not isinstance(value, bytes):
        return None
    return value.decode("utf-8", errors="replace").strip() or None


def _header_value(path: Path, wanted: bytes, wanted_kind: int) -> int | bytes | None:
    """The value of key `wanted` if it has type `wanted_kind` (a uint32 or a string), else None."""
    try:
        with path.open("rb") as raw:
            return _read_value(io.BufferedReader(raw, buffer_size=1 << 20), wanted, wanted_kind)
    except (OSError, _Malformed, struct.error):
        return None


def _read_value(f: BinaryIO, wanted: bytes, wanted_kind: int) -> int | bytes | None:
    if f.read(4) != b"GGUF":
        raise _Malformed
    (version,) = _unpack(f, "<I")
    if version not in (2, 3):
        raise _Malformed
    _tensors, kv_count = _unpack(f, "<QQ")
    for _ in range(kv_count):
        key = _string(f)
        (kind,) = _unpack(f, "<I")
        if key == wanted and kind == wanted_kind:
            return _unpack(f, "<I")[0] if kind == _UINT32 else _string(f)
        _skip(f, kind)
    return None


def _unpack(f: BinaryIO, fmt: str) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise _Malformed
    return struct.unpack(fmt, data)


def _string(f: BinaryIO) -> bytes:
    (length,) = _unpack(f, "<Q")
    data = f.read(length)
    if len(data) != length:
        raise _Malformed
    return data


def _skip(f: BinaryIO, kind: int) -> None:
    if kind in _FIXED:
        f.seek(_FIXED[kind], io.SEEK_CUR)
    elif kind == _STRING:
        (length,) = _unpack(f, "<Q")
        f.seek(length, io.SEEK_CUR)
    elif kind == _ARRAY:
        item, count = _unpack(f, "<IQ")
        if item in _FIXED:
            f.seek(_FIXED[item] * count, io.SEEK_CUR)
        else:  # arrays of strings (the vocabulary) are read length by length
            for _ in range(count):
                _skip(f, item)
    else:
        raise _Malformed
