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
    token = TOKENS.get(node.__class__)
    if token is None:
        if isinstance(node, _BaseOneTokenOp):  # `!=` (or `<>`): its own spelling
            token = node._get_token()
        elif isinstance(node, _BaseTwoTokenOp):
            first, second = node._get_tokens()
            ws(node.whitespace_before, state)
            state.tokens.append(first)
            ws(node.whitespace_between, state)
            state.tokens.append(second)
            ws(node.whitespace_after, state)
            return
        else:
            node._codegen(state)
            return
    tokens = state.tokens
    before, after = node.whitespace_before, node.whitespace_after
    # Inline the commonest whitespace, one simple space or none: ws() is the hottest call.
    if before.__class__ is _WS:
        if before.value:
            tokens.append(before.value)
    else:
        ws(before, state)
    tokens.append(token)
    if after.__class__ is _WS:
        if after.value:
            tokens.append(after.value)
    else:
        ws(after, state)


# The token of each one-token operator whose spelling is fixed (`!=` spells itself).
TOKENS: dict[type, str] = {
    cst.Semicolon: ";",
    cst.Colon: ":",
    cst.Comma: ",",
    cst.Dot: ".",
    cst.AssignEqual: "=",
    cst.And: "and",
    cst.Or: "or",
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Power: "**",
    cst.LeftShift: "<<",
    cst.RightShift: ">>",
    cst.BitOr: "|",
    cst.BitAnd: "&",
    cst.BitXor: "^",
    cst.MatrixMultiply: "@",
    cst.LessThan: "<",
    cst.GreaterThan: ">",
    cst.Equal: "==",
    cst.LessThanEqual: "<=",
    cst.GreaterThanEqual: ">=",
    cst.In: "in",
    cst.Is: "is",
    cst.AddAssign: "+=",
    cst.SubtractAssign: "-=",
    cst.MultiplyAssign: "*=",
    cst.MatrixMultiplyAssign: "@=",
    cst.DivideAssign: "/=",
    cst.ModuloAssign: "%=",
    cst.BitAndAssign: "&=",
    cst.BitOrAssign: "|=",
    cst.BitXorAssign: "^=",
    cst.LeftShiftAssign: "<<=",
    cst.RightShiftAssign: ">>=",
    cst.PowerAssign: "**=",
    cst.FloorDivideAssign: "//=",
}
# The unary operators: a token and the whitespace after it.
UNARY: dict[type, str] = {cst.Plus: "+", cst.Minus: "-", cst.BitInvert: "~", cst.Not: "not"}


def separator(node: Any, default: bool, state: Any, default_text: str = ", ") -> None:
    """A separator libcst may leave as `MaybeSentinel.DEFAULT` (a comma, `=`, `:`, `;`): its own
    token, or libcst's default text when `default` asks for it (the part it introduces is there)."""
    if node is DEFAULT:
        if default:
            state.tokens.append(default_text)
    else:
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


def unary(node: Any, state: Any) -> None:
    """A unary operator (`-`, `not`): its token and the whitespace after it."""
    token = UNARY.get(node.__class__)
    state.tokens.append(node._get_token() if token is None else token)
    ws(node.whitespace_after, state)
