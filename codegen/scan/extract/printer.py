"""libcst's printing of a module, short-cut for the node types most of a file is made of.

libcst prints every node through three method calls and, for an expression, a generator-based
context manager: most of the cost of knowing where nodes are (`positions`). This prints the
commonest node types (whitespace, names, attributes, calls, arguments, assignments, simple
statement lines, indented blocks, `def` and `with`) token for token as libcst's `_codegen_impl`
does (libcst 1.x), noting the token span of each call and statement; any other node is printed
by libcst itself, into the same state, so it notes its own spans. `Positions` checks the printed
text against the source and falls back to libcst's printing whenever they differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst
from libcst._nodes.op import _BaseOneTokenOp

_Emit = Callable[[Any, Any], None]
_DEFAULT = cst.MaybeSentinel.DEFAULT
_WS = cst.SimpleWhitespace


def print_module(module: cst.Module, state: Any) -> None:
    """Print `module` into `state` (a `positions.SpanRecorder`) as `module._codegen` would."""
    for line in module.header:
        _empty_line(line, state)
    for statement in module.body:
        emit(statement, state)
    for line in module.footer:
        _empty_line(line, state)
    if module.has_trailing_newline:
        if not state.tokens:
            state.tokens.append(state.default_newline)
    else:
        state.pop_trailing_newline()


def emit(node: Any, state: Any) -> None:
    """Print one node: by the short cut when its type has one, else by libcst."""
    short = _EMIT.get(type(node))
    if short is None:
        node._codegen(state)
    else:
        short(node, state)


def _ws(node: Any, state: Any) -> None:
    if type(node) is _WS:
        if node.value:
            state.tokens.append(node.value)
    else:
        node._codegen(state)


def _value(node: Any, state: Any) -> None:
    """Name, Integer, Float, SimpleString: one token inside optional parentheses."""
    if node.lpar:
        for paren in node.lpar:
            paren._codegen(state)
        state.tokens.append(node.value)
        for paren in node.rpar:
            paren._codegen(state)
    else:
        state.tokens.append(node.value)


def _attribute(node: Any, state: Any) -> None:
    for paren in node.lpar:
        paren._codegen(state)
    emit(node.value, state)
    _one_token_op(node.dot, state)
    emit(node.attr, state)
    for paren in node.rpar:
        paren._codegen(state)


def _call(node: Any, state: Any) -> None:
    for paren in node.lpar:
        paren._codegen(state)
    tokens = state.tokens
    start = len(tokens)
    emit(node.func, state)
    _ws(node.whitespace_after_func, state)
    tokens.append("(")
    _ws(node.whitespace_before_args, state)
    args = node.args
    last = len(args) - 1
    for index, arg in enumerate(args):
        if type(arg) is cst.Arg:
            _arg(arg, state, index != last)
        else:
            arg._codegen(state, default_comma=index != last)
    tokens.append(")")
    state.spans[id(node)] = (start, len(tokens))
    for paren in node.rpar:
        paren._codegen(state)


def _arg(node: cst.Arg, state: Any, default_comma: bool) -> None:
    tokens = state.tokens
    if node.star:
        tokens.append(node.star)
    _ws(node.whitespace_after_star, state)
    keyword = node.keyword
    if keyword is not None:
        emit(keyword, state)
    equal = node.equal
    if equal is _DEFAULT and keyword is not None:
        tokens.append(" = ")
    elif isinstance(equal, cst.AssignEqual):
        emit(equal, state)
    emit(node.value, state)
    comma = node.comma
    if comma is _DEFAULT and default_comma:
        tokens.append(", ")
    elif isinstance(comma, cst.Comma):
        emit(comma, state)
    _ws(node.whitespace_after_arg, state)


def _one_token_op(node: Any, state: Any) -> None:
    if isinstance(node, _BaseOneTokenOp):
        _ws(node.whitespace_before, state)
        state.tokens.append(node._get_token())
        _ws(node.whitespace_after, state)
    else:
        node._codegen(state)


def _binary(node: Any, state: Any) -> None:
    for paren in node.lpar:
        paren._codegen(state)
    emit(node.left, state)
    _one_token_op(node.operator, state)
    emit(node.right, state)
    for paren in node.rpar:
        paren._codegen(state)


def _unary(node: Any, state: Any) -> None:
    for paren in node.lpar:
        paren._codegen(state)
    node.operator._codegen(state)
    emit(node.expression, state)
    for paren in node.rpar:
        paren._codegen(state)


def _comma(comma: Any, default: bool, default_text: str, state: Any) -> None:
    if comma is _DEFAULT and default:
        state.tokens.append(default_text)
    elif isinstance(comma, cst.Comma):
        emit(comma, state)


def _list(node: Any, state: Any) -> None:
    for paren in node.lpar:
        paren._codegen(state)
    state.tokens.append("[")
    _ws(node.lbracket.whitespace_after, state)
    elements = node.elements
    last = len(elements) - 1
    for index, element in enumerate(elements):
        if type(element) is cst.Element:
            emit(element.value, state)
            _comma(element.comma, index < last, ", ", state)
        else:
            element._codegen(state, default_comma=index < last, default_comma_whitespace=True)
    _ws(node.rbracket.whitespace_before, state)
    state.tokens.append("]")
    for paren in node.rpar:
        paren._codegen(state)


def _subscript(node: Any, state: Any) -> None:
    for paren in node.lpar:
        paren._codegen(state)
    emit(node.value, state)
    _ws(node.whitespace_after_value, state)
    state.tokens.append("[")
    _ws(node.lbracket.whitespace_after, state)
    last = len(node.slice) - 1
    for index, element in enumerate(node.slice):
        inner = element.slice
        if type(inner) is cst.Index and inner.star is None and inner.whitespace_after_star is None:
            emit(inner.value, state)
        else:
            inner._codegen(state)
        _comma(element.comma, index != last, ", ", state)
    _ws(node.rbracket.whitespace_before, state)
    state.tokens.append("]")
    for paren in node.rpar:
        paren._codegen(state)


def _param(node: Any, state: Any, default_comma: bool) -> None:
    tokens = state.tokens
    star = node.star
    if isinstance(star, str) and star:
        tokens.append(star)
    _ws(node.whitespace_after_star, state)
    emit(node.name, state)
    if node.annotation is not None:
        node.annotation._codegen(state, default_indicator=":")
    equal = node.equal
    if equal is _DEFAULT and node.default is not None:
        tokens.append(" = ")
    elif isinstance(equal, cst.AssignEqual):
        emit(equal, state)
    if node.default is not None:
        emit(node.default, state)
    _comma(node.comma, default_comma, ", ", state)
    _ws(node.whitespace_after_param, state)


def _parameters(node: Any, state: Any) -> None:
    """Plain positional parameters by the short cut; any other shape by libcst."""
    if (
        node.posonly_params
        or node.kwonly_params
        or node.star_kwarg is not None
        or not isinstance(node.posonly_ind, cst.MaybeSentinel)
        or not isinstance(node.star_arg, cst.MaybeSentinel)
    ):
        node._codegen(state)
        return
    last = len(node.params) - 1
    for index, param in enumerate(node.params):
        _param(param, state, index < last)


def _semicolon(node: Any, state: Any, default_semicolon: bool) -> None:
    semicolon = node.semicolon
    if isinstance(semicolon, cst.MaybeSentinel):
        if default_semicolon:
            state.tokens.append("; ")
    elif isinstance(semicolon, cst.Semicolon):
        semicolon._codegen(state)


def _expr(node: Any, state: Any, default_semicolon: bool) -> None:
    start = len(state.tokens)
    emit(node.value, state)
    state.spans[id(node)] = (start, len(state.tokens))
    _semicolon(node, state, default_semicolon)


def _assign(node: Any, state: Any, default_semicolon: bool) -> None:
    tokens = state.tokens
    spans = state.spans
    start = len(tokens)
    for target in node.targets:
        target_start = len(tokens)
        emit(target.target, state)
        spans[id(target)] = (target_start, len(tokens))
        _ws(target.whitespace_before_equal, state)
        tokens.append("=")
        _ws(target.whitespace_after_equal, state)
    emit(node.value, state)
    spans[id(node)] = (start, len(tokens))
    _semicolon(node, state, default_semicolon)


def _return(node: Any, state: Any, default_semicolon: bool) -> None:
    tokens = state.tokens
    start = len(tokens)
    tokens.append("return")
    after = node.whitespace_after_return
    value = node.value
    if isinstance(after, cst.MaybeSentinel):
        if value is not None:
            tokens.append(" ")
    else:
        _ws(after, state)
    if value is not None:
        emit(value, state)
    state.spans[id(node)] = (start, len(tokens))
    _semicolon(node, state, default_semicolon)


_SMALL: dict[type, Callable[[Any, Any, bool], None]] = {
    cst.Expr: _expr,
    cst.Assign: _assign,
    cst.Return: _return,
}


def _trailing(node: Any, state: Any) -> None:
    """TrailingWhitespace: whitespace, a comment, the line's newline."""
    _ws(node.whitespace, state)
    if node.comment is not None:
        state.tokens.append(node.comment.value)
    _newline(node.newline, state)


def _newline(node: Any, state: Any) -> None:
    value = node.value
    state.tokens.append(state.default_newline if value is None else value)


def _empty_line(node: Any, state: Any) -> None:
    if type(node) is not cst.EmptyLine:
        node._codegen(state)
        return
    if node.indent:
        state.tokens.extend(state.indent_tokens)
    _ws(node.whitespace, state)
    if node.comment is not None:
        state.tokens.append(node.comment.value)
    _newline(node.newline, state)


def _simple_line(node: Any, state: Any) -> None:
    body = node.body
    if not body:
        node._codegen(state)
        return
    tokens = state.tokens
    for line in node.leading_lines:
        _empty_line(line, state)
    tokens.extend(state.indent_tokens)
    start = len(tokens)
    last = len(body) - 1
    for index, small in enumerate(body):
        short = _SMALL.get(type(small))
        if short is None:
            small._codegen(state, default_semicolon=index != last)
        else:
            short(small, state, index != last)
    state.close(node, start, None, body[last])
    _trailing(node.trailing_whitespace, state)


def _indented_block(node: Any, state: Any) -> None:
    body = node.body
    if not body:
        node._codegen(state)
        return
    _trailing(node.header, state)
    state.indent_tokens.append(state.default_indent if node.indent is None else node.indent)
    start = len(state.tokens)
    for statement in body:
        emit(statement, state)
    state.close(node, start, body[0], body[-1])
    for line in node.footer:
        _empty_line(line, state)
    state.indent_tokens.pop()


def _function_def(node: Any, state: Any) -> None:
    tokens = state.tokens
    for line in node.leading_lines:
        _empty_line(line, state)
    for decorator in node.decorators:
        decorator._codegen(state)
    for line in node.lines_after_decorators:
        _empty_line(line, state)
    tokens.extend(state.indent_tokens)
    start = len(tokens)
    if node.asynchronous is not None:
        node.asynchronous._codegen(state)
    tokens.append("def")
    _ws(node.whitespace_after_def, state)
    emit(node.name, state)
    _ws(node.whitespace_after_name, state)
    if node.type_parameters is not None:
        node.type_parameters._codegen(state)
    _ws(node.whitespace_after_type_parameters, state)
    tokens.append("(")
    _ws(node.whitespace_before_params, state)
    emit(node.params, state)
    tokens.append(")")
    if node.returns is not None:
        node.returns._codegen(state, default_indicator="->")
    _ws(node.whitespace_before_colon, state)
    tokens.append(":")
    emit(node.body, state)
    state.close(node, start, None, node.body)


def _with(node: Any, state: Any) -> None:
    tokens = state.tokens
    for line in node.leading_lines:
        _empty_line(line, state)
    tokens.extend(state.indent_tokens)
    needs_paren = False
    for item in node.items:
        comma = item.comma
        if isinstance(comma, cst.Comma) and isinstance(
            comma.whitespace_after,
            (cst.EmptyLine, cst.TrailingWhitespace, cst.ParenthesizedWhitespace),
        ):
            needs_paren = True
            break
    start = len(tokens)
    if node.asynchronous is not None:
        node.asynchronous._codegen(state)
    tokens.append("with")
    _ws(node.whitespace_after_with, state)
    if isinstance(node.lpar, cst.LeftParen):
        node.lpar._codegen(state)
    elif needs_paren:
        tokens.append("(")
    last = len(node.items) - 1
    for index, item in enumerate(node.items):
        emit(item.item, state)
        if item.asname is not None:
            item.asname._codegen(state)
        _comma(item.comma, index != last, ", ", state)
    if isinstance(node.rpar, cst.RightParen):
        node.rpar._codegen(state)
    elif needs_paren:
        tokens.append(")")
    _ws(node.whitespace_before_colon, state)
    tokens.append(":")
    emit(node.body, state)
    state.close(node, start, None, node.body)


def _class_def(node: Any, state: Any) -> None:
    tokens = state.tokens
    for line in node.leading_lines:
        _empty_line(line, state)
    for decorator in node.decorators:
        decorator._codegen(state)
    for line in node.lines_after_decorators:
        _empty_line(line, state)
    tokens.extend(state.indent_tokens)
    start = len(tokens)
    tokens.append("class")
    _ws(node.whitespace_after_class, state)
    emit(node.name, state)
    _ws(node.whitespace_after_name, state)
    if node.type_parameters is not None:
        node.type_parameters._codegen(state)
    _ws(node.whitespace_after_type_parameters, state)
    has_args = bool(node.bases or node.keywords)
    if isinstance(node.lpar, cst.MaybeSentinel):
        if has_args:
            tokens.append("(")
    elif isinstance(node.lpar, cst.LeftParen):
        node.lpar._codegen(state)
    args = [*node.bases, *node.keywords]
    last = len(args) - 1
    for index, arg in enumerate(args):
        _arg(arg, state, index != last)
    if isinstance(node.rpar, cst.MaybeSentinel):
        if has_args:
            tokens.append(")")
    elif isinstance(node.rpar, cst.RightParen):
        node.rpar._codegen(state)
    _ws(node.whitespace_before_colon, state)
    tokens.append(":")
    emit(node.body, state)
    state.close(node, start, None, node.body)


_EMIT: dict[type, _Emit] = {
    cst.Name: _value,
    cst.Integer: _value,
    cst.Float: _value,
    cst.SimpleString: _value,
    cst.Attribute: _attribute,
    cst.Call: _call,
    cst.Comma: _one_token_op,
    cst.AssignEqual: _one_token_op,
    cst.Dot: _one_token_op,
    cst.SimpleStatementLine: _simple_line,
    cst.IndentedBlock: _indented_block,
    cst.FunctionDef: _function_def,
    cst.With: _with,
    cst.ClassDef: _class_def,
    cst.Parameters: _parameters,
    cst.BinaryOperation: _binary,
    cst.UnaryOperation: _unary,
    cst.List: _list,
    cst.Subscript: _subscript,
}
