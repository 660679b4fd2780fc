"""Keras family: transfer files in safetensors (no pickle; per-key lazy reads; any framework).

A file holds only the shared keys. Its metadata names each key's layer and the saving model's
own weight path (`variable.path`), under one JSON value, so that NumPy, JAX, PyTorch and TF
users can read both the tensors and what they are without this runtime.
`codegen emit` copies this file verbatim into the output folder (`_runtime/keras3_io.py`).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

# Where a read tensor starts in memory: JAX's CPU client uses a host array of this alignment in
# place (NumPy's own allocations are 16-byte aligned, which it copies).
ALIGN = 64

# The metadata value that carries this runtime's description of the file.
METADATA_KEY = "layershare"
FORMAT = "layershare-keras-transfer/1"

# safetensors' dtype codes, as NumPy (and Keras) name the dtypes.
_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "U16": "uint16",
    "I16": "int16",
    "U32": "uint32",
    "I32": "int32",
    "U64": "uint64",
    "I64": "int64",
    "F16": "float16",
    "BF16": "bfloat16",
    "F32": "float32",
    "F64": "float64",
}


def dtype_name(code: str) -> str:
    """`float32` for safetensors' `F32` (an unknown code stays as it is, and matches nothing)."""
    return _DTYPES.get(code, code)


def write(
    path: str,
    arrays: Mapping[str, np.ndarray],
    described: Mapping[str, Mapping[str, str]],
    model: str,
) -> str:
    """Write `arrays` with their description to `path` atomically; returns the path."""
    from safetensors.numpy import save_file  # type: ignore[import-untyped, unused-ignore]

    metadata = {
        METADATA_KEY: json.dumps(
            {"format": FORMAT, "model": model, "keys": dict(described)},
            sort_keys=True,
        )
    }
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    # A temp file beside the target, then os.replace: a reader never sees half a file.
    handle, temp = tempfile.mkstemp(prefix=".layershare-", suffix=".tmp", dir=parent)
    os.close(handle)
    try:
        save_file(
            {key: np.ascontiguousarray(arrays[key]) for key in sorted(arrays)}, temp, metadata
        )
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return path


def read_specs(path: str) -> tuple[dict[str, list[int]], dict[str, str]]:
    """({key: shape}, {key: safetensors dtype code}) from the header alone: no tensor is read."""
    from safetensors import safe_open  # type: ignore[import-untyped, unused-ignore]

    shapes: dict[str, list[int]] = {}
    dtypes: dict[str, str] = {}
    with safe_open(path, framework="numpy") as handle:
        for key in handle.keys():
            part = handle.get_slice(key)
            shapes[key] = list(part.get_shape())
            dtypes[key] = str(part.get_dtype())
    return shapes, dtypes


def read_values(path: str, keys: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """(key, tensor) for `keys` only, each read straight into a fresh array of its own."""
    # Call after read_specs: safetensors has validated the header and the data offsets there.
    # One read per tensor, no intermediate bytes object (safetensors' numpy reader copies
    # twice). Not a memory map: a backend may keep the array's memory as the weight's (JAX
    # does), and a mapped file rewritten in place would then crash the process.
    with open(path, "rb") as raw:
        (length,) = struct.unpack("<Q", raw.read(8))
        header = json.loads(raw.read(length))
        start = 8 + length
        for key in keys:
            entry = header[key]
            begin, end = entry["data_offsets"]
            dtype = _numpy_dtype(entry["dtype"])
            array = _aligned_empty((end - begin) // dtype.itemsize, dtype)
            raw.seek(start + begin)
            if raw.readinto(array.view(np.uint8).data) != end - begin:
                raise OSError(f"{path}: tensor {key!r} is cut short")
            yield key, array.reshape(entry["shape"])


def _aligned_empty(count: int, dtype: np.dtype[Any]) -> np.ndarray:
    """An uninitialised 1-D array of `count` items whose data starts at an ALIGN boundary."""
    raw = np.empty(count * dtype.itemsize + ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start : start + count * dtype.itemsize].view(dtype)


def _numpy_dtype(code: str) -> np.dtype[Any]:
    """The little-endian NumPy dtype of a safetensors dtype code."""
    if code == "BF16":  # not a NumPy type: Keras's own dependency ml_dtypes names it
        import ml_dtypes  # type: ignore[import-untyped, unused-ignore]

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(_DTYPES[code]).newbyteorder("<")


def read_description(path: str) -> dict[str, Any]:
    """The file's own description: {"format", "model", "keys": {key: {"layer", "path"}}}."""
    from safetensors import safe_open

    with safe_open(path, framework="numpy") as handle:
        metadata = handle.metadata() or {}
    text = metadata.get(METADATA_KEY)
    return json.loads(text) if text else {}
