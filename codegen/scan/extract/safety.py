"""Parse safety: screens that keep one odd file from crashing the scan; syntax-error messages."""

from __future__ import annotations

import ast
import itertools
import re

from codegen import diagnostics
from codegen.lines import split_lines
from codegen.model import Diagnostic

_PY2_HINTS = (re.compile(r"^\s*print\s+[\"'\w]", re.M), re.compile(r"except\s+\w+\s*,\s*\w+\s*:"))


def parse_error(path: str, text: str, error: Exception) -> Diagnostic:
    """A syntax-error diagnostic with position, and a hint for Python 2 sources."""
    line = getattr(error, "raw_line", 1) or 1
    column = getattr(error, "raw_column", 0) or 0
    message = (
        getattr(error, "message", None) or (str(error).splitlines() or [type(error).__name__])[0]
    )
    try:
        # libcst points at the token after the mistake; CPython's own parser points at it.
        ast.parse(text)
    except SyntaxError as precise:
        if precise.lineno:
            line, column = precise.lineno, max((precise.offset or 1) - 1, 0)
            message = precise.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    if any(p.search(text) for p in _PY2_HINTS):
        message += " (this looks like Python 2 source, which codegen cannot read)"
    return diagnostics.error(
        path,
        diagnostics.SYNTAX_ERROR,
        f"syntax error: {message}",
        line=int(line),
        column=int(column),
    )


_NOT_BRACKET = re.compile(r"[^()\[\]{}]+")
_BRACKET_DELTA = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def suspiciously_deep(text: str) -> bool:
    """Cheap screen for nesting that can overflow libcst's native parser's stack (a crash, not an
    exception); real code never comes close, so only odd files pay for a second parse."""
    if text.count("lambda") > 100:
        return True
    if any(len(line) > 20_000 for line in split_lines(text, keepends=True)):
        return True
    brackets = _NOT_BRACKET.sub("", text)
    return max(itertools.accumulate(map(_BRACKET_DELTA.__getitem__, brackets)), default=0) > 100


def python_refuses(path: str, text: str) -> Diagnostic | None:
    """CPython's own verdict on a suspicious file: its parser fails cleanly where libcst crashes."""
    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST | ast.PyCF_TYPE_COMMENTS, dont_inherit=True)
    except SyntaxError as error:
        return diagnostics.error(
            path,
            diagnostics.SYNTAX_ERROR,
            f"syntax error: {error.msg}",
            line=error.lineno or 1,
            column=max((error.offset or 1) - 1, 0),
        )
    except (RecursionError, MemoryError, ValueError) as error:
        return diagnostics.error(
            path,
            diagnostics.SYNTAX_ERROR,
            f"syntax error: too deeply nested for Python ({type(error).__name__})",
        )
    return None
