"""The transfer runtime that generated shims import as `_runtime`; each family loads on first use.

`codegen emit` writes this file as `_runtime/__init__.py` in the output folder, next to the
runtime's other modules copied verbatim: `core` (family-independent: keys, key maps, reports,
the pre-flight comparison), the TF1 graph family (`tf1`, `tf1_file`, `tf1_record`, `tf1_copy`,
`tf1_checks`, `tf1_graph`) and the Keras 3 family (`keras3`, `keras3_file`, `keras3_io`,
`keras3_values`).
Importing this package imports no framework: a family's classes import their modules when a
shim first names them, so a Keras shim works on a machine without TensorFlow (JAX, PyTorch)
and importing one never loads TensorFlow. Shims pass their settings and layers as data.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core import Entry, SharedLayer, TransferError, TransferReport

if TYPE_CHECKING:  # for type checkers and linters only: at run time, __getattr__ imports them
    from .keras3 import KerasModelTransfer
    from .keras3_file import KerasFileTransfer
    from .tf1 import ModelTransfer
    from .tf1_file import FileTransfer

# Each family's public class, by the runtime module that defines it.
_FAMILY = {
    "ModelTransfer": "tf1",
    "FileTransfer": "tf1_file",
    "KerasModelTransfer": "keras3",
    "KerasFileTransfer": "keras3_file",
}

__all__ = [
    "Entry",
    "FileTransfer",
    "KerasFileTransfer",
    "KerasModelTransfer",
    "ModelTransfer",
    "SharedLayer",
    "TransferError",
    "TransferReport",
]


def __getattr__(name: str) -> Any:
    """A family's class, its module imported on first use (PEP 562)."""
    module = _FAMILY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __package__), name)
    globals()[name] = value
    return value
