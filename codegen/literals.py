"""The one home of literal values: what a literal's source text stands for, and its spelling."""

from __future__ import annotations

import ast
import functools
from typing import Any

# What literal_eval raises on text that is not a literal (or one Python cannot hold).
_NOT_A_LITERAL = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)
_MISSING: Any = object()


class NotALiteral(ValueError):
    """The text is not a Python literal."""


# literal_eval compiles its input, and a project spells a few hundred distinct literals many times
# over: memoized. The values are shared between callers, so none of them may mutate one.
@functools.lru_cache(maxsize=8192)
def _evaluate(text: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(text)
    except _NOT_A_LITERAL:
        return False, None


def value(text: str, default: Any = _MISSING) -> Any:
    """The value of a literal's source text; `default` (or NotALiteral when none) otherwise."""
    ok, result = _evaluate(text)
    if ok:
        return result
    if default is _MISSING:
        raise NotALiteral(text)
    return default


@functools.lru_cache(maxsize=8192)
def canonical(text: str) -> str:
    """The value's repr, one spelling per value (2e-2 and 0.02); the text itself if no literal."""
    ok, result = _evaluate(text)
    if not ok:
        return text
    try:
        return repr(result)
    except ValueError:  # an int too long to print under the int-to-str limit
        return text


def string(text: str) -> str | None:
    """The str a literal's text stands for, or None when it is not a string literal."""
    result = value(text, None)
    return result if isinstance(result, str) else None
