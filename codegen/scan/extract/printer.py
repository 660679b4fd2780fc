"""libcst's printing of a module, short-cut: what `positions` counts lines and columns on.

libcst prints every node through three method calls and, for most, a generator-based context
manager: most of the cost of knowing where nodes are. This prints the statements (here) and
the expressions (`printexpr`) token for token as libcst's `_codegen_impl` does (libcst 1.x),
noting the token span of each statement, of each clause and block a compound statement ends
with, and of each call, by libcst's rules (`record_syntactic_position`); a node type with no
short cut (pattern matching, type parameters) is printed by libcst itself, into the same
state, so it notes its own spans. `Positions` checks the printed text against the source and
falls back to libcst's printing whenever they differ.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from codegen.scan.extract import printexpr, printparams
from codegen.scan.extract.printexpr import emit as expression
from codegen.scan.extract.printws import (
    DEFAULT,
    Emit,
    asynchronous,
    empty_line,
    op,
    separator,
    trailing,
    ws,
)

_WS = cst.SimpleWhitespace


def print_module(module: cst.Module, state: Any) -> None:
    """Print `module` into `state` (a `positions.SpanRecorder`) as `module._codegen` would."""
    for line in module.header:
        empty_line(line, state)
    for statement in module.body:
        emit(statement, state)
    for line in module.footer:
        empty_line(line, state)
    if module.has_trailing_newline:
        if not state.tokens:
            state.tokens.append(state.default_newline)
    else:
        state.pop_trailing_newline()


def emit(node: Any, state: Any) -> None:
    """Print one node: by the short cut when its type has one, else by libcst."""
    short = _EMIT.get(node.__class__)
    if short is None:
        node._codegen(state)
    else:
        short(node, state)


# -- small statements: each notes its span, which ends before its semicolon ------------------


def _expr(node: Any, state: Any) -> None:
    expression(node.value, state)


def _assign(node: Any, state: Any) -> None:
    tokens = state.tokens
    for target in node.targets:
        expression(target.target, state)
        before, after = target.whitespace_before_equal, target.whitespace_after_equal
        if before.__class__ is _WS and after.__class__ is _WS:  # the commonest: ` = `
            tokens.append(before.value + "=" + after.value)
        else:
            ws(before, state)
            tokens.append("=")
            ws(after, state)
    expression(node.value, state)


def _ann_assign(node: Any, state: Any) -> None:
    expression(node.target, state)
    printparams.annotation(node.annotation, state, ":", expression)
    separator(node.equal, node.value is not None, state, " = ")
    if node.value is not None:
        expression(node.value, state)


def _aug_assign(node: Any, state: Any) -> None:
    expression(node.target, state)
    op(node.operator, state)
    expression(node.value, state)


def _keyword_then(keyword: str, after: Any, value: Any, state: Any) -> None:
    """`return`/`raise` and an optional value: libcst's default space only before a value."""
    state.tokens.append(keyword)
    if after is DEFAULT:
        if value is not None:
            state.tokens.append(" ")
    else:
        ws(after, state)
    if value is not None:
        expression(value, state)


def _return(node: Any, state: Any) -> None:
    _keyword_then("return", node.whitespace_after_return, node.value, state)


def _raise(node: Any, state: Any) -> None:
    _keyword_then("raise", node.whitespace_after_raise, node.exc, state)
    if node.cause is not None:
        printexpr.from_clause(node.cause, state, " ")


def _assert(node: Any, state: Any) -> None:
    state.tokens.append("assert")
    ws(node.whitespace_after_assert, state)
    expression(node.test, state)
    separator(node.comma, node.msg is not None, state)
    if node.msg is not None:
        expression(node.msg, state)


def _word(node: Any, state: Any) -> None:
    state.tokens.append(_WORDS[node.__class__])


_WORDS = {cst.Pass: "pass", cst.Break: "break", cst.Continue: "continue"}


def _del(node: Any, state: Any) -> None:
    state.tokens.append("del")
    ws(node.whitespace_after_del, state)
    expression(node.target, state)


def _names(node: Any, state: Any) -> None:
    """`global`/`nonlocal` and their names."""
    if node.__class__ is cst.Global:
        state.tokens.append("global")
        ws(node.whitespace_after_global, state)
    else:
        state.tokens.append("nonlocal")
        ws(node.whitespace_after_nonlocal, state)
    last = len(node.names) - 1
    for index, item in enumerate(node.names):
        expression(item.name, state)
        separator(item.comma, index != last, state)


def _aliases(names: Any, state: Any) -> None:
    last = len(names) - 1
    for index, alias in enumerate(names):
        expression(alias.name, state)
        if alias.asname is not None:
            printparams.as_name(alias.asname, state, expression)
        separator(alias.comma, index != last, state)


def _import(node: Any, state: Any) -> None:
    state.tokens.append("import")
    ws(node.whitespace_after_import, state)
    _aliases(node.names, state)


def _import_from(node: Any, state: Any) -> None:
    # libcst ends it at its last alias or its `)`: where it stops printing, before `;`.
    tokens = state.tokens
    tokens.append("from")
    ws(node.whitespace_after_from, state)
    for dot in node.relative:
        op(dot, state)
    if node.module is not None:
        expression(node.module, state)
    ws(node.whitespace_before_import, state)
    tokens.append("import")
    ws(node.whitespace_after_import, state)
    if node.lpar is not None:
        tokens.append("(")
        ws(node.lpar.whitespace_after, state)
    names = node.names
    if isinstance(names, cst.ImportStar):
        tokens.append("*")
    else:
        _aliases(names, state)
    if node.rpar is not None:
        ws(node.rpar.whitespace_before, state)
        tokens.append(")")


_SMALL: dict[type, Emit] = {
    cst.Expr: _expr,
    cst.Assign: _assign,
    cst.AnnAssign: _ann_assign,
    cst.AugAssign: _aug_assign,
    cst.Return: _return,
    cst.Raise: _raise,
    cst.Assert: _assert,
    cst.Pass: _word,
    cst.Break: _word,
    cst.Continue: _word,
    cst.Del: _del,
    cst.Global: _names,
    cst.Nonlocal: _names,
    cst.Import: _import,
    cst.ImportFrom: _import_from,
}


def _small_statements(node: Any, state: Any) -> None:
    """The small statements of a line or a one-line suite; the node spans them (libcst ends
    it where its last statement ends, before any `;`)."""
    body = node.body
    tokens = state.tokens
    spans = state.spans
    start = len(tokens)
    last = len(body) - 1
    for index, small in enumerate(body):
        short = _SMALL.get(small.__class__)
        if short is None:
            small._codegen(state, default_semicolon=index != last)
            continue
        begin = len(tokens)
        short(small, state)
        spans[id(small)] = (begin, len(tokens))
        semicolon = small.semicolon
        if semicolon is DEFAULT:
            if index != last:
                tokens.append("; ")
        else:
            op(semicolon, state)
    # As `state.close` would: it ends where its last statement does (a `;` after it is not its).
    end = spans.get(id(body[last]))
    spans[id(node)] = (start, len(tokens) if end is None else end[1])


def _simple(node: Any, state: Any) -> None:
    """A line of small statements, or a one-line suite (`if x: return y`)."""
    if not node.body:
        node._codegen(state)
        return
    if node.__class__ is cst.SimpleStatementLine:
        for line in node.leading_lines:
            empty_line(line, state)
        state.tokens.extend(state.indent_tokens)
    else:
        ws(node.leading_whitespace, state)
    _small_statements(node, state)
    # TrailingWhitespace, printed here: one call fewer on every line.
    end = node.trailing_whitespace
    ws(end.whitespace, state)
    if end.comment is not None:
        state.tokens.append(end.comment.value)
    value = end.newline.value
    state.tokens.append(state.default_newline if value is None else value)


def _indented_block(node: Any, state: Any) -> None:
    body = node.body
    if not body:
        node._codegen(state)
        return
    trailing(node.header, state)
    state.indent_tokens.append(state.default_indent if node.indent is None else node.indent)
    for statement in body:
        emit(statement, state)
    state.close(node, 0, body[0], body[-1])
    for line in node.footer:
        empty_line(line, state)
    state.indent_tokens.pop()


# -- compound statements: each starts at its keyword and ends where its last clause does -----


def _open(node: Any, state: Any) -> int:
    """Leading lines and indentation; the token index the statement starts at."""
    for line in node.leading_lines:
        empty_line(line, state)
    state.tokens.extend(state.indent_tokens)
    return len(state.tokens)


def _end(node: Any, start: int, last: Any, state: Any) -> None:
    """Note `node`'s span: from `start` to the end of `last`, its last clause or block."""
    state.close(node, start, None, last)


def _colon_body(node: Any, state: Any) -> None:
    ws(node.whitespace_before_colon, state)
    state.tokens.append(":")
    emit(node.body, state)


def _decorated(node: Any, state: Any) -> int:
    """A def's or class's leading lines and decorators; the token index of `def`/`class`."""
    tokens = state.tokens
    for line in node.leading_lines:
        empty_line(line, state)
    for decorator in node.decorators:
        for line in decorator.leading_lines:
            empty_line(line, state)
        tokens.extend(state.indent_tokens)
        tokens.append("@")
        ws(decorator.whitespace_after_at, state)
        expression(decorator.decorator, state)
        trailing(decorator.trailing_whitespace, state)
    for line in node.lines_after_decorators:
        empty_line(line, state)
    tokens.extend(state.indent_tokens)
    return len(tokens)


def _function_def(node: Any, state: Any) -> None:
    tokens = state.tokens
    start = _decorated(node, state)
    asynchronous(node, state)
    tokens.append("def")
    ws(node.whitespace_after_def, state)
    expression(node.name, state)
    ws(node.whitespace_after_name, state)
    if node.type_parameters is not None:
        node.type_parameters._codegen(state)
    ws(node.whitespace_after_type_parameters, state)
    tokens.append("(")
    ws(node.whitespace_before_params, state)
    printparams.parameters(node.params, state, expression)
    tokens.append(")")
    if node.returns is not None:
        printparams.annotation(node.returns, state, "->", expression)
    _colon_body(node, state)
    _end(node, start, node.body, state)


def _class_def(node: Any, state: Any) -> None:
    tokens = state.tokens
    start = _decorated(node, state)
    tokens.append("class")
    ws(node.whitespace_after_class, state)
    expression(node.name, state)
    ws(node.whitespace_after_name, state)
    if node.type_parameters is not None:
        node.type_parameters._codegen(state)
    ws(node.whitespace_after_type_parameters, state)
    has_args = bool(node.bases or node.keywords)
    if node.lpar is DEFAULT:
        if has_args:
            tokens.append("(")
    elif isinstance(node.lpar, cst.LeftParen):
        tokens.append("(")
        ws(node.lpar.whitespace_after, state)
    args = [*node.bases, *node.keywords]
    last = len(args) - 1
    for index, argument in enumerate(args):
        printexpr.arg(argument, state, index != last)
    if node.rpar is DEFAULT:
        if has_args:
            tokens.append(")")
    elif isinstance(node.rpar, cst.RightParen):
        ws(node.rpar.whitespace_before, state)
        tokens.append(")")
    _colon_body(node, state)
    _end(node, start, node.body, state)


_LINE_BREAKS = (cst.EmptyLine, cst.TrailingWhitespace, cst.ParenthesizedWhitespace)


def _with(node: Any, state: Any) -> None:
    tokens = state.tokens
    start = _open(node, state)
    needs_paren = any(
        isinstance(item.comma, cst.Comma) and isinstance(item.comma.whitespace_after, _LINE_BREAKS)
        for item in node.items
    )
    asynchronous(node, state)
    tokens.append("with")
    ws(node.whitespace_after_with, state)
    if isinstance(node.lpar, cst.LeftParen):
        tokens.append("(")
        ws(node.lpar.whitespace_after, state)
    elif needs_paren:
        tokens.append("(")
    last = len(node.items) - 1
    for index, item in enumerate(node.items):
        expression(item.item, state)
        if item.asname is not None:
            printparams.as_name(item.asname, state, expression)
        separator(item.comma, index != last, state)
    if isinstance(node.rpar, cst.RightParen):
        ws(node.rpar.whitespace_before, state)
        tokens.append(")")
    elif needs_paren:
        tokens.append(")")
    _colon_body(node, state)
    _end(node, start, node.body, state)


def _if(node: Any, state: Any, keyword: str = "if") -> None:
    start = _open(node, state)
    state.tokens.append(keyword)
    ws(node.whitespace_before_test, state)
    expression(node.test, state)
    ws(node.whitespace_after_test, state)
    state.tokens.append(":")
    emit(node.body, state)
    orelse = node.orelse
    if orelse is None:
        _end(node, start, node.body, state)
        return
    if orelse.__class__ is cst.If:
        _if(orelse, state, "elif")
    else:
        _clause(orelse, "else", state)
    _end(node, start, orelse, state)


def _clause(node: Any, keyword: str, state: Any) -> None:
    """`else:` and `finally:`: a keyword and a block."""
    start = _open(node, state)
    state.tokens.append(keyword)
    _colon_body(node, state)
    _end(node, start, node.body, state)


def _loop_tail(node: Any, start: int, state: Any) -> None:
    _colon_body(node, state)
    if node.orelse is None:
        _end(node, start, node.body, state)
    else:
        _clause(node.orelse, "else", state)
        _end(node, start, node.orelse, state)


def _for(node: Any, state: Any) -> None:
    tokens = state.tokens
    start = _open(node, state)
    asynchronous(node, state)
    tokens.append("for")
    ws(node.whitespace_after_for, state)
    expression(node.target, state)
    ws(node.whitespace_before_in, state)
    tokens.append("in")
    ws(node.whitespace_after_in, state)
    expression(node.iter, state)
    _loop_tail(node, start, state)


def _while(node: Any, state: Any) -> None:
    start = _open(node, state)
    state.tokens.append("while")
    ws(node.whitespace_after_while, state)
    expression(node.test, state)
    _loop_tail(node, start, state)


def _try(node: Any, state: Any) -> None:
    start = _open(node, state)
    state.tokens.append("try")
    _colon_body(node, state)
    last = node.body
    for handler in node.handlers:
        if handler.__class__ is not cst.ExceptHandler:
            handler._codegen(state)
            last = handler
            continue
        begin = _open(handler, state)
        state.tokens.append("except")
        ws(handler.whitespace_after_except, state)
        if handler.type is not None:
            expression(handler.type, state)
        if handler.name is not None:
            printparams.as_name(handler.name, state, expression)
        _colon_body(handler, state)
        _end(handler, begin, handler.body, state)
        last = handler
    if node.orelse is not None:
        _clause(node.orelse, "else", state)
        last = node.orelse
    if node.finalbody is not None:
        _clause(node.finalbody, "finally", state)
        last = node.finalbody
    _end(node, start, last, state)


_EMIT: dict[type, Emit] = {
    **printexpr.EXPRESSIONS,
    cst.SimpleStatementLine: _simple,
    cst.SimpleStatementSuite: _simple,
    cst.IndentedBlock: _indented_block,
    cst.FunctionDef: _function_def,
    cst.ClassDef: _class_def,
    cst.With: _with,
    cst.If: _if,
    cst.For: _for,
    cst.While: _while,
    cst.Try: _try,
}
