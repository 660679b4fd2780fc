"""The transfer runtime that generated shims call; `emit` copies its modules verbatim.

Importing this package imports nothing heavy: only the runtime modules themselves import
TensorFlow, and codegen's own commands never import them (they read their source with
`source()` and `files()`). The runtime is a family-independent `core` plus one module set per
model family (`tf1*`, `keras3*`); `api` is the facade shims import as `_runtime`.
"""

from __future__ import annotations

from pathlib import Path

# The generated package that carries the runtime, next to layers_common and the shims.
MODULE = "_runtime"

# Each module of the generated package, by its file name there, and the module it copies.
PACKAGE = {
    "__init__.py": "api",
    "core.py": "core",
    "keras3.py": "keras3",
    "keras3_file.py": "keras3_file",
    "keras3_io.py": "keras3_io",
    "keras3_values.py": "keras3_values",
    "tf1.py": "tf1",
    "tf1_checks.py": "tf1_checks",
    "tf1_copy.py": "tf1_copy",
    "tf1_file.py": "tf1_file",
    "tf1_graph.py": "tf1_graph",
    "tf1_record.py": "tf1_record",
}


def source(module: str) -> str:
    """A module's source text: a runtime module `emit` writes, or `demo`, the script
    `codegen demo` runs."""
    return (Path(__file__).resolve().parent / f"{module}.py").read_text(encoding="utf-8")


def files() -> dict[str, str]:
    """{path in the output folder: text} of the runtime package, each module verbatim."""
    return {f"{MODULE}/{name}": source(module) for name, module in PACKAGE.items()}
