"""The round-trip audit (CG406) counts lines as Python does: a form feed, `\\v` or U+2028 in a
comment starts no line, so the line it names is the line an editor shows."""

from __future__ import annotations

import pytest

from codegen.apply.audit import first_difference, unintended


@pytest.mark.parametrize("char", ["\f", "\v", "\x1c", "\x85", "\u2028", "\u2029"])
def test_the_audit_names_the_line_python_counts(char: str) -> None:
    source = f"import os\n# a page{char}break\nx = 1\ny = 2\n"
    changed = source.replace("y = 2", "y = 3")
    assert first_difference(source, changed) == (
        4,
        "line 4 would change ('y = 2\\n' -> 'y = 3\\n')",
    )
    found = unintended(source, changed, ())
    assert found is not None and found[0] == 4
