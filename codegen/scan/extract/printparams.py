"""libcst's printing of a def's parameters and annotations and of `as` names, short-cut
(`printer` prints the statements they belong to, `printexpr` the expressions in them).

Each function prints as the node type's libcst 1.x `_codegen_impl` does, the expressions in
its node by `emit` (printexpr's, which imports this module for a lambda's parameters).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from codegen.scan.extract.printws import DEFAULT, Emit, op, separator, ws


def annotation(node: Any, state: Any, indicator: str, emit: Emit) -> None:
    """An annotation after `indicator` (`:` of a parameter, `->` of a return)."""
    before = node.whitespace_before_indicator
    if before is DEFAULT:
        if indicator == "->":
            state.tokens.append(" ")
    else:
        ws(before, state)
    state.tokens.append(indicator)
    ws(node.whitespace_after_indicator, state)
    emit(node.annotation, state)


def _param(node: Any, state: Any, default_star: str, default_comma: bool, emit: Emit) -> None:
    star = node.star
    if star is DEFAULT:
        star = default_star
    if star:
        state.tokens.append(star)
    ws(node.whitespace_after_star, state)
    emit(node.name, state)
    if node.annotation is not None:
        annotation(node.annotation, state, ":", emit)
    equal = node.equal
    if equal is DEFAULT:
        if node.default is not None:
            state.tokens.append(" = ")
    elif isinstance(equal, cst.AssignEqual):
        op(equal, state)
    if node.default is not None:
        emit(node.default, state)
    separator(node.comma, default_comma, state)
    ws(node.whitespace_after_param, state)


def parameters(node: Any, state: Any, emit: Emit) -> None:
    """A def's or lambda's parameters, with libcst's default separators."""
    tokens = state.tokens
    star_arg, kwonly, star_kwarg = node.star_arg, node.kwonly_params, node.star_kwarg
    if star_arg is DEFAULT:
        star_included = bool(kwonly)
    else:
        star_included = isinstance(star_arg, cst.Param | cst.ParamStar)
    for param in node.posonly_params:
        _param(param, state, "", True, emit)
    more = star_included or bool(node.params) or bool(kwonly) or star_kwarg is not None
    slash = node.posonly_ind
    if isinstance(slash, cst.ParamSlash):
        tokens.append("/")
        ws(slash.whitespace_after, state)
        separator(slash.comma, more, state)
    elif node.posonly_params:
        tokens.append("/, " if more else "/")
    last = len(node.params) - 1
    more = star_included or bool(kwonly) or star_kwarg is not None
    for index, param in enumerate(node.params):
        _param(param, state, "", index < last or more, emit)
    if star_arg is DEFAULT:
        if star_included:
            tokens.append("*, ")
    elif isinstance(star_arg, cst.Param):
        _param(star_arg, state, "*", bool(kwonly) or star_kwarg is not None, emit)
    elif isinstance(star_arg, cst.ParamStar):
        tokens.append("*")
        op(star_arg.comma, state)
    last = len(kwonly) - 1
    for index, param in enumerate(kwonly):
        _param(param, state, "", index < last or star_kwarg is not None, emit)
    if star_kwarg is not None:
        _param(star_kwarg, state, "**", False, emit)


def as_name(node: Any, state: Any, emit: Emit) -> None:
    """`as name` of an import, a `with` item or an `except`."""
    ws(node.whitespace_before_as, state)
    state.tokens.append("as")
    ws(node.whitespace_after_as, state)
    emit(node.name, state)
