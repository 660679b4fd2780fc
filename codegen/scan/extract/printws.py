"""libcst's printing of whitespace, operators, commas and parentheses, short-cut (the tokens
between the nodes `printexpr` and `printer` print).

Each function prints as the node type's libcst 1.x `_codegen_impl` does; a node of another type
in the same place is printed by libcst itself, into the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst
from libcst._nodes.op import _BaseOneTokenOp, _BaseTwoTokenOp

Emit = Callable[[Any, Any], None]
DEFAULT = cst.MaybeSentinel.DEFAULT
_WS = cst.SimpleWhitespace
_PARENTHESIZED_WS = cst.ParenthesizedWhitespace
_EMPTY_LINE = cst.EmptyLine


def ws(node: Any, state: Any) -> None:
    """Whitespace: simple, or running over lines inside brackets."""
    kind = node.__class__
    if kind is _WS:
        if node.value:
            state.tokens.append(node.value)
    elif kind is _PARENTHESIZED_WS:
        trailing(node.first_line, state)
        for line in node.empty_lines:
            empty_line(line, state)
        if node.indent:
            state.tokens.extend(state.indent_tokens)
        ws(node.last_line, state)
    else:
        node._codegen(state)


def trailing(node: Any, state: Any) -> None:
    """TrailingWhitespace: whitespace, a comment, the line's newline."""
    ws(node.whitespace, state)
    if node.comment is not None:
        state.tokens.append(node.comment.value)
    value = node.newline.value
    state.tokens.append(state.default_newline if value is None else value)


def empty_line(node: Any, state: Any) -> None:
    """EmptyLine: a line of whitespace and perhaps a comment."""
    if node.__class__ is not _EMPTY_LINE:
        node._codegen(state)
        return
    if node.indent:
        state.tokens.extend(state.indent_tokens)
    ws(node.whitespace, state)
    if node.comment is not None:
        state.tokens.append(node.comment.value)
    value = node.newline.value
    state.tokens.append(state.default_newline if value is None else value)


def op(node: Any, state: Any) -> None:
    """An operator of one or two tokens (`+`, `,`, `not in`), with its whitespace."""
    if isinstance(node, _BaseOneTokenOp):
        ws(node.whitespace_before, state)
        state.tokens.append(node._get_token())
        ws(node.whitespace_after, state)
    elif isinstance(node, _BaseTwoTokenOp):
        first, second = node._get_tokens()
        ws(node.whitespace_before, state)
        state.tokens.append(first)
        ws(node.whitespace_between, state)
        state.tokens.append(second)
        ws(node.whitespace_after, state)
    else:
        node._codegen(state)


def comma(node: Any, default: bool, state: Any, default_text: str = ", ") -> None:
    """A comma: its own, or libcst's default one when `default` asks for it."""
    if node is DEFAULT:
        if default:
            state.tokens.append(default_text)
    elif isinstance(node, cst.Comma):
        op(node, state)


def lpar(node: Any, state: Any) -> None:
    for paren in node.lpar:
        state.tokens.append("(")
        ws(paren.whitespace_after, state)


def rpar(node: Any, state: Any) -> None:
    for paren in node.rpar:
        ws(paren.whitespace_before, state)
        state.tokens.append(")")


def asynchronous(node: Any, state: Any) -> None:
    """The `async` of a def, a `with` or a `for`, if it has one."""
    if node.asynchronous is not None:
        state.tokens.append("async")
        ws(node.asynchronous.whitespace_after, state)
