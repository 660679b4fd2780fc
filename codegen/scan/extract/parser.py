"""libcst's `parse_module`, validating only the rules libcst's grammar does not already enforce.

Every libcst node validates itself in `__post_init__` (libcst's own comment there suggests
"avoid validating the tree when parsing a file"). For a tree the native parser has just built
from text, almost all of those checks re-prove what the grammar and tokenizer guaranteed:
balanced parentheses, whitespace around word operators (the text tokenized that way), a name
is an identifier, argument and parameter order (the grammar's `args`/`params` rules refuse
`f(a=1, b)` and `lambda x=1, y: 0` before any node exists). An audit of every `_validate` in
libcst 1.x, checked by parsing each candidate with all validation off (tests/test_parser.py
keeps those inputs), leaves two rules only a node enforces: a string concatenated with bytes
(`ConcatenatedString`) and a bare `except:` that is not the last handler (`Try`). Those two
node types validate in full during the parse; every other node type skips it. Nodes built
later (apply's edits) validate in full. `tests/test_parser.py` pins that both parses give
equal trees and refuse the same inputs.
"""

from __future__ import annotations

import libcst as cst

__all__ = ["parse_module"]

# The node types whose validation enforces a rule the grammar does not (libcst 1.x).
_GRAMMAR_UNCHECKED: frozenset[type[cst.CSTNode]] = frozenset({cst.ConcatenatedString, cst.Try})


def _node_types() -> tuple[type, ...]:
    """Every libcst node class, abstract bases included (a base's method is inherited)."""
    found: dict[type, None] = {}
    pending: list[type] = [cst.CSTNode]
    while pending:
        subclasses: list[type] = pending.pop().__subclasses__()
        for sub in subclasses:
            if sub not in found and sub.__module__.startswith("libcst."):
                found[sub] = None
                pending.append(sub)
    return tuple(found)


def _grammar_checked(self: cst.CSTNode) -> None:
    """A node whose every rule the parser's grammar has already enforced: nothing to check."""


def _validated(self: cst.CSTNode) -> None:
    """A node with a rule outside the grammar: libcst's full validation."""
    self._validate()


# Only classes that inherit `__post_init__` from CSTNode: the switch sets and deletes their own.
_SWITCHED: tuple[tuple[type, object], ...] = tuple(
    (node_type, _validated if node_type in _GRAMMAR_UNCHECKED else _grammar_checked)
    for node_type in _node_types()
    if "__post_init__" not in vars(node_type)
)


def parse_module(text: str) -> cst.Module:
    """Parse `text` as libcst does (one thread per process: the switch is per class)."""
    for node_type, post_init in _SWITCHED:
        node_type.__post_init__ = post_init  # type: ignore[attr-defined]
    try:
        return cst.parse_module(text)
    finally:
        for node_type, _ in _SWITCHED:
            del node_type.__post_init__  # type: ignore[attr-defined]
