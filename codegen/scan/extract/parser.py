"""libcst's `parse_module`, minus re-validating the lexical nodes the tokenizer has just cut.

Every libcst node validates itself in `__post_init__`. For the lexical nodes (whitespace,
newlines, comments, punctuation, names), which are three quarters of a parsed tree, that only
re-checks what the tokenizer guaranteed: a whitespace node holds whitespace, a name is an
identifier. Skipping those checks for the parse alone saves about a sixth of its time (libcst's
own comment on `__post_init__` suggests "avoid validating the tree when parsing a file").
Every other node still validates, because some of its rules are not in the grammar: a string
concatenated with bytes, a positional argument after a keyword one, a bare `except:` that is not
last. Nodes built later (apply's edits) validate in full. `tests/test_parser.py` pins that both
parses give equal trees and refuse the same inputs.
"""

from __future__ import annotations

import libcst as cst

__all__ = ["parse_module"]

# Nodes whose validation only re-checks the tokenizer's output (libcst 1.x names).
_LEXICAL: tuple[type[cst.CSTNode], ...] = (
    cst.SimpleWhitespace,
    cst.ParenthesizedWhitespace,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.EmptyLine,
    cst.Comment,
    cst.Name,
    cst.Dot,
    cst.Comma,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
)


def _tokenizer_checked(self: cst.CSTNode) -> None:
    """A lexical node the parser built from a token: nothing left to check."""


def parse_module(text: str) -> cst.Module:
    """Parse `text` as libcst does (one thread per process: the switch is per class)."""
    for node_type in _LEXICAL:
        node_type.__post_init__ = _tokenizer_checked  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        for node_type in _LEXICAL:
            del node_type.__post_init__
