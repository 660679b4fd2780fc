"""The transfer runtime that generated shims import as `_runtime` (TF-core only).

`codegen emit` writes this file as `_runtime/__init__.py` in the output folder, next to the
runtime's other modules copied verbatim: `core` (family-independent: keys, key maps, reports,
the pre-flight comparison) and the TF1 graph family (`tf1`, `tf1_file`, `tf1_record`,
`tf1_copy`, `tf1_checks`, `tf1_graph`). Shims pass their settings and their layers as data.
"""

from __future__ import annotations

from .core import Entry, SharedLayer, TransferError, TransferReport
from .tf1 import ModelTransfer
from .tf1_file import FileTransfer

__all__ = [
    "Entry",
    "FileTransfer",
    "ModelTransfer",
    "SharedLayer",
    "TransferError",
    "TransferReport",
]
