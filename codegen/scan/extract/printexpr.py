"""libcst's printing of expressions, short-cut (`printer` prints the statements).

Each function prints one node type token for token as its libcst 1.x `_codegen_impl` does,
noting only a call's span (where `PositionProvider` puts it: inside its own parentheses). A
node type without a function here is printed by libcst itself, into the same state.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from codegen.scan.extract import printparams
from codegen.scan.extract.printws import DEFAULT, Emit, lpar, op, rpar, separator, unary, ws

_NAME = cst.Name
_ATTRIBUTE = cst.Attribute
_DOT = cst.Dot
_WS = cst.SimpleWhitespace
_ELEMENT = cst.Element
_ARG = cst.Arg
_LEAVES = frozenset({cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString})


def emit(node: Any, state: Any) -> None:
    """Print one expression (or libcst prints it, when its type has no short cut here)."""
    kind = node.__class__
    # The commonest nodes, one token each (a name, a number, a string), without a call.
    if (kind is _NAME or kind in _LEAVES) and not node.lpar:
        state.tokens.append(node.value)
        return
    short = EXPRESSIONS.get(kind)
    if short is None:
        node._codegen(state)
    else:
        short(node, state)


def _value(node: Any, state: Any) -> None:
    """Name, numbers, SimpleString: one token inside optional parentheses."""
    if node.lpar:
        lpar(node, state)
        state.tokens.append(node.value)
        rpar(node, state)
    else:
        state.tokens.append(node.value)


def _ellipsis(node: Any, state: Any) -> None:
    lpar(node, state)
    state.tokens.append("...")
    rpar(node, state)


def _attribute(node: Any, state: Any) -> None:
    """`a.b.c`: a chain of attributes without parentheses of their own, in one call."""
    chain = [node]
    value = node.value
    while value.__class__ is _ATTRIBUTE and not value.lpar:
        chain.append(value)
        value = value.value
    if node.lpar:
        lpar(node, state)
    tokens = state.tokens
    if value.__class__ is _NAME and not value.lpar:
        tokens.append(value.value)
    else:
        emit(value, state)
    for link in reversed(chain):
        dot = link.dot
        before, after = dot.whitespace_before, dot.whitespace_after
        # The commonest dot: no whitespace either side.
        if dot.__class__ is _DOT and before.__class__ is _WS and after.__class__ is _WS:
            if before.value:
                tokens.append(before.value)
            tokens.append(".")
            if after.value:
                tokens.append(after.value)
        else:
            op(dot, state)
        attr = link.attr
        if attr.__class__ is _NAME and not attr.lpar:
            tokens.append(attr.value)
        else:
            emit(attr, state)
    if node.rpar:
        rpar(node, state)


def _call(node: Any, state: Any) -> None:
    if node.lpar:
        lpar(node, state)
    tokens = state.tokens
    start = len(tokens)
    func = node.func
    if func.__class__ is _NAME and not func.lpar:
        tokens.append(func.value)
    else:
        emit(func, state)
    # `ws` only when there is whitespace: most calls have none around their parentheses.
    if node.whitespace_after_func.__class__ is not _WS or node.whitespace_after_func.value:
        ws(node.whitespace_after_func, state)
    tokens.append("(")
    if node.whitespace_before_args.__class__ is not _WS or node.whitespace_before_args.value:
        ws(node.whitespace_before_args, state)
    args = node.args
    last = len(args) - 1
    for index, argument in enumerate(args):
        if argument.__class__ is _ARG:
            arg(argument, state, index != last)
        else:
            argument._codegen(state, default_comma=index != last)
    tokens.append(")")
    state.spans[id(node)] = (start, len(tokens))
    if node.rpar:
        rpar(node, state)


def arg(node: Any, state: Any, default_comma: bool) -> None:
    """One argument of a call or a class's bases, with libcst's default comma."""
    tokens = state.tokens
    if node.star:
        tokens.append(node.star)
    after = node.whitespace_after_star
    if after.__class__ is not _WS or after.value:
        ws(after, state)
    keyword = node.keyword
    if keyword is not None:
        emit(keyword, state)
    equal = node.equal
    if equal is DEFAULT:
        if keyword is not None:
            tokens.append(" = ")
    elif equal.whitespace_before.__class__ is _WS and equal.whitespace_after.__class__ is _WS:
        tokens.append(equal.whitespace_before.value + "=" + equal.whitespace_after.value)
    else:
        op(equal, state)
    value = node.value
    if value.__class__ is _NAME and not value.lpar:
        tokens.append(value.value)
    else:
        emit(value, state)
    comma = node.comma
    if comma is DEFAULT:
        if default_comma:
            tokens.append(", ")
    else:
        op(comma, state)
    after = node.whitespace_after_arg
    if after.__class__ is not _WS or after.value:
        ws(after, state)


def _binary(node: Any, state: Any) -> None:
    """BinaryOperation and BooleanOperation."""
    lpar(node, state)
    emit(node.left, state)
    op(node.operator, state)
    emit(node.right, state)
    rpar(node, state)


def _unary(node: Any, state: Any) -> None:
    lpar(node, state)
    unary(node.operator, state)
    emit(node.expression, state)
    rpar(node, state)


def _comparison(node: Any, state: Any) -> None:
    lpar(node, state)
    emit(node.left, state)
    for target in node.comparisons:
        op(target.operator, state)
        emit(target.comparator, state)
    rpar(node, state)


def _elements(elements: Any, state: Any, single_default: str = ", ") -> None:
    """The elements of a list, tuple, set or dict, with libcst's default commas."""
    last = len(elements) - 1
    for index, element in enumerate(elements):
        kind = element.__class__
        if kind is _ELEMENT:
            emit(element.value, state)
        elif kind is cst.DictElement:
            emit(element.key, state)
            ws(element.whitespace_before_colon, state)
            state.tokens.append(":")
            ws(element.whitespace_after_colon, state)
            emit(element.value, state)
        elif kind is cst.StarredElement:
            lpar(element, state)
            state.tokens.append("*")
            ws(element.whitespace_before_value, state)
            emit(element.value, state)
            rpar(element, state)
        elif kind is cst.StarredDictElement:
            state.tokens.append("**")
            ws(element.whitespace_before_value, state)
            emit(element.value, state)
        else:
            element._codegen(
                state,
                default_comma=single_default == "," if last == 0 else index < last,
                default_comma_whitespace=last > 0,
            )
            continue
        comma = element.comma
        if comma is not DEFAULT:
            op(comma, state)
        elif last == 0:  # a one-element tuple keeps its comma: libcst's default has no space
            if single_default == ",":
                state.tokens.append(",")
        elif index < last:
            state.tokens.append(", ")


def _tuple(node: Any, state: Any) -> None:
    lpar(node, state)
    _elements(node.elements, state, ",")
    rpar(node, state)


def _enclosed(node: Any, state: Any) -> None:
    """List, Set and Dict, and their comprehensions: brackets or braces around the inside."""
    lpar(node, state)
    brackets = node.__class__ in _BRACKETED
    left, right = (node.lbracket, node.rbracket) if brackets else (node.lbrace, node.rbrace)
    state.tokens.append("[" if brackets else "{")
    ws(left.whitespace_after, state)
    if node.__class__ in _DISPLAYS:
        _elements(node.elements, state)
    else:
        if node.__class__ is cst.DictComp:
            emit(node.key, state)
            ws(node.whitespace_before_colon, state)
            state.tokens.append(":")
            ws(node.whitespace_after_colon, state)
            emit(node.value, state)
        else:
            emit(node.elt, state)
        _comp_for(node.for_in, state)
    ws(right.whitespace_before, state)
    state.tokens.append("]" if brackets else "}")
    rpar(node, state)


_BRACKETED = (cst.List, cst.ListComp)
_DISPLAYS = (cst.List, cst.Set, cst.Dict)


def _comp_for(node: Any, state: Any) -> None:
    tokens = state.tokens
    ws(node.whitespace_before, state)
    if node.asynchronous is not None:
        tokens.append("async")
        ws(node.asynchronous.whitespace_after, state)
    tokens.append("for")
    ws(node.whitespace_after_for, state)
    emit(node.target, state)
    ws(node.whitespace_before_in, state)
    tokens.append("in")
    ws(node.whitespace_after_in, state)
    emit(node.iter, state)
    for clause in node.ifs:
        ws(clause.whitespace_before, state)
        tokens.append("if")
        ws(clause.whitespace_before_test, state)
        emit(clause.test, state)
    if node.inner_for_in is not None:
        _comp_for(node.inner_for_in, state)


def _generator(node: Any, state: Any) -> None:
    lpar(node, state)
    emit(node.elt, state)
    _comp_for(node.for_in, state)
    rpar(node, state)


def _subscript(node: Any, state: Any) -> None:
    lpar(node, state)
    emit(node.value, state)
    ws(node.whitespace_after_value, state)
    state.tokens.append("[")
    ws(node.lbracket.whitespace_after, state)
    last = len(node.slice) - 1
    for index, element in enumerate(node.slice):
        inner = element.slice
        if inner.__class__ is cst.Index:
            if inner.star is not None:
                state.tokens.append(inner.star)
            if inner.whitespace_after_star is not None:
                ws(inner.whitespace_after_star, state)
            emit(inner.value, state)
        elif inner.__class__ is cst.Slice:
            _slice(inner, state)
        else:
            inner._codegen(state)
        separator(element.comma, index != last, state)
    ws(node.rbracket.whitespace_before, state)
    state.tokens.append("]")
    rpar(node, state)


def _slice(node: Any, state: Any) -> None:
    if node.lower is not None:
        emit(node.lower, state)
    op(node.first_colon, state)
    if node.upper is not None:
        emit(node.upper, state)
    separator(node.second_colon, node.step is not None, state, ":")
    if node.step is not None:
        emit(node.step, state)


def _if_exp(node: Any, state: Any) -> None:
    tokens = state.tokens
    lpar(node, state)
    emit(node.body, state)
    ws(node.whitespace_before_if, state)
    tokens.append("if")
    ws(node.whitespace_after_if, state)
    emit(node.test, state)
    ws(node.whitespace_before_else, state)
    tokens.append("else")
    ws(node.whitespace_after_else, state)
    emit(node.orelse, state)
    rpar(node, state)


def _concatenated(node: Any, state: Any) -> None:
    lpar(node, state)
    emit(node.left, state)
    ws(node.whitespace_between, state)
    emit(node.right, state)
    rpar(node, state)


def _formatted(node: Any, state: Any) -> None:
    lpar(node, state)
    state.tokens.append(node.start)
    _formatted_parts(node.parts, state)
    state.tokens.append(node.end)
    rpar(node, state)


def _formatted_parts(parts: Any, state: Any) -> None:
    tokens = state.tokens
    for part in parts:
        kind = part.__class__
        if kind is cst.FormattedStringText:
            tokens.append(part.value)
        elif kind is cst.FormattedStringExpression:
            tokens.append("{")
            ws(part.whitespace_before_expression, state)
            emit(part.expression, state)
            if part.equal is not None:
                op(part.equal, state)
            ws(part.whitespace_after_expression, state)
            if part.conversion is not None:
                tokens.append("!")
                tokens.append(part.conversion)
            if part.format_spec is not None:
                tokens.append(":")
                _formatted_parts(part.format_spec, state)
            tokens.append("}")
        else:
            part._codegen(state)


def _lambda(node: Any, state: Any) -> None:
    lpar(node, state)
    state.tokens.append("lambda")
    after = node.whitespace_after_lambda
    params = node.params
    if after is DEFAULT:
        if (
            params.posonly_params
            or params.params
            or isinstance(params.star_arg, cst.Param)
            or params.kwonly_params
            or params.star_kwarg is not None
        ):
            state.tokens.append(" ")
    else:
        ws(after, state)
    printparams.parameters(params, state, emit)
    op(node.colon, state)
    emit(node.body, state)
    rpar(node, state)


def _await(node: Any, state: Any) -> None:
    lpar(node, state)
    state.tokens.append("await")
    ws(node.whitespace_after_await, state)
    emit(node.expression, state)
    rpar(node, state)


def _named(node: Any, state: Any) -> None:
    lpar(node, state)
    emit(node.target, state)
    ws(node.whitespace_before_walrus, state)
    state.tokens.append(":=")
    ws(node.whitespace_after_walrus, state)
    emit(node.value, state)
    rpar(node, state)


def _yield(node: Any, state: Any) -> None:
    lpar(node, state)
    state.tokens.append("yield")
    after, value = node.whitespace_after_yield, node.value
    if after is DEFAULT:
        if value is not None:
            state.tokens.append(" ")
    else:
        ws(after, state)
    if isinstance(value, cst.From):
        from_clause(value, state, "")
    elif value is not None:
        emit(value, state)
    rpar(node, state)


def from_clause(node: Any, state: Any, default_space: str) -> None:
    """`from x` of a `yield from` or a `raise ... from`."""
    before = node.whitespace_before_from
    if before is DEFAULT:
        state.tokens.append(default_space)
    else:
        ws(before, state)
    state.tokens.append("from")
    ws(node.whitespace_after_from, state)
    emit(node.item, state)


EXPRESSIONS: dict[type, Emit] = {
    cst.Name: _value,
    cst.Integer: _value,
    cst.Float: _value,
    cst.Imaginary: _value,
    cst.SimpleString: _value,
    cst.Ellipsis: _ellipsis,
    cst.Attribute: _attribute,
    cst.Call: _call,
    cst.BinaryOperation: _binary,
    cst.BooleanOperation: _binary,
    cst.UnaryOperation: _unary,
    cst.Comparison: _comparison,
    cst.Tuple: _tuple,
    cst.List: _enclosed,
    cst.Set: _enclosed,
    cst.Dict: _enclosed,
    cst.GeneratorExp: _generator,
    cst.ListComp: _enclosed,
    cst.SetComp: _enclosed,
    cst.DictComp: _enclosed,
    cst.Subscript: _subscript,
    cst.IfExp: _if_exp,
    cst.ConcatenatedString: _concatenated,
    cst.FormattedString: _formatted,
    cst.Lambda: _lambda,
    cst.Await: _await,
    cst.NamedExpr: _named,
    cst.Yield: _yield,
}
