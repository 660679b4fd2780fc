"""A git-style unified diff of planned changes (what `--diff` prints)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from codegen.model import Change


def unified_diff(changes: Iterable[Change]) -> str:
    """A git-style unified diff of every create, update and delete (paths as in Change.path)."""
    chunks: list[str] = []
    for change in sorted(changes, key=lambda change: change.path):
        if change.action == "refuse":
            continue
        before = "a/" + change.path if change.old is not None else "/dev/null"
        after = "b/" + change.path if change.new is not None else "/dev/null"
        chunks.extend(
            difflib.unified_diff(_diff_lines(change.old), _diff_lines(change.new), before, after)
        )
    return "".join(chunks)


def _diff_lines(text: str | None) -> list[str]:
    lines = (text or "").splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
