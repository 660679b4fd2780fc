"""How a path is shown and what an output folder is imported as: one spelling for every stage."""

from __future__ import annotations

import os
from pathlib import PurePosixPath


def display_path(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """`path` relative to `root` with `/` separators (`..` when outside; absolute across drives)."""
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows: no relative form exists
        relative = os.fspath(path)
    return relative.replace(os.sep, "/")


def folder_parts(folder: str) -> tuple[str, ...]:
    """The components of a configured relative folder (`./build//gen/` -> `build`, `gen`)."""
    return tuple(part for part in folder.replace("\\", "/").split("/") if part not in ("", "."))


def package_of(folder: str) -> str:
    """Dotted import path of a relative folder (`generated`, `build/gen` -> `build.gen`)."""
    return ".".join(folder_parts(PurePosixPath(folder).as_posix()))
