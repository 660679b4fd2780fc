"""What apply makes of one file: a small union of results that never raises."""

from __future__ import annotations

from dataclasses import dataclass

from codegen import diagnostics
from codegen.model import Diagnostic, ModelEdit


@dataclass(frozen=True)
class Applied:
    """The file must change; `new_source` is its whole new text."""

    new_source: str


@dataclass(frozen=True)
class Unchanged:
    """The file already routes exactly as the edit asks."""


@dataclass(frozen=True)
class Failed:
    """The file cannot be edited safely; nothing may be written."""

    diagnostics: tuple[Diagnostic, ...]


ApplyResult = Applied | Unchanged | Failed


def failed(edit: ModelEdit, code: str, message: str, line: int = 1, column: int = 0) -> Failed:
    return Failed((diagnostics.error(edit.path, code, message, line=line, column=column),))
