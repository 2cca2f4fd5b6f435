"""Reading a safetensors file's header before trusting it: names, dtypes and shapes.

A safetensors blob is an 8-byte little-endian header length, a JSON header naming every
tensor's dtype, shape and byte range, then the bytes. The header is checked here, before
the ``safetensors`` package parses it or a model allocates anything: its length against the
file's and a cap, every entry's shape against its byte range, every range against the
file. A file that passes holds exactly the tensors it claims, so shapes read from it bound
what loading it can allocate.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..model_files import ModelFileError

MAX_HEADER_BYTES = 100_000_000  # the safetensors package's own limit
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2,
               "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8,
               "F64": 8}


def _damaged(path: Path, what: str) -> ModelFileError:
    return ModelFileError(f"{path} is not a readable safetensors weights file: {what}",
                          hint="the file is damaged or not cnnkit's; save the model again "
                               "with model.save() or save_weights()")


def _header(data: bytes, path: Path) -> dict:
    if len(data) < 8:
        raise _damaged(path, f"{len(data)} bytes, shorter than the 8-byte header length")
    length = int.from_bytes(data[:8], "little")
    if length > min(len(data) - 8, MAX_HEADER_BYTES):
        raise _damaged(path, f"its header claims {length:,} bytes, the file has "
                             f"{len(data) - 8:,} after the length")
    try:
        header = json.loads(data[8:8 + length])
    except (ValueError, UnicodeDecodeError) as exc:
        raise _damaged(path, f"its header is not JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise _damaged(path, "its header is not a JSON object")
    return header


def _shape(name: str, entry, body: int, path: Path) -> tuple[int, ...]:
    """The shape of one header entry, after checking that its byte range holds exactly that
    many elements of its dtype and lies inside the file's ``body`` bytes."""
    if not isinstance(entry, dict):
        raise _damaged(path, f"tensor {name!r} has no dtype/shape/offsets")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise _damaged(path, f"tensor {name!r} has an unknown dtype {dtype!r}")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise _damaged(path, f"tensor {name!r} has a bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(n) is int for n in offsets) and 0 <= offsets[0] <= offsets[1] <= body):
        raise _damaged(path, f"tensor {name!r} has bad byte offsets {offsets!r}")
    if math.prod(shape) * DTYPE_BYTES[dtype] != offsets[1] - offsets[0]:
        raise _damaged(path, f"tensor {name!r} of shape {tuple(shape)} does not fill its "
                             f"{offsets[1] - offsets[0]:,} bytes")
    return tuple(shape)


def tensor_shapes(data: bytes, path: Path) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of the safetensors blob ``data`` (read from ``path``), after checking
    its header; a ModelFileError for anything damaged, with nothing allocated."""
    header = _header(data, path)
    body = len(data) - 8 - int.from_bytes(data[:8], "little")
    metadata = header.pop("__metadata__", {})
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise _damaged(path, "its __metadata__ is not a map of strings")
    return {name: _shape(name, entry, body, path) for name, entry in header.items()}
