"""The transfer runtime that generated shims call; `emit` copies `transfer.py` verbatim.

Importing this package imports nothing heavy: only `codegen.runtime.transfer` imports TensorFlow,
and codegen's own commands never import it (they read its source with `source()`).
"""

from __future__ import annotations

from pathlib import Path

# The generated module that carries the runtime's source, next to layers_common and the shims.
MODULE = "_runtime"


def source(module: str = "transfer") -> str:
    """A module's source text: `transfer` is what `emit` writes into the output folder, `demo`
    the script `codegen demo` runs."""
    return (Path(__file__).resolve().parent / f"{module}.py").read_text(encoding="utf-8")
