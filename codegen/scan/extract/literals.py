"""Literal hyperparameters as libcst spells them, read into one canonical spelling each."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from codegen import literals

LITERAL_NODES = frozenset(
    {
        cst.Integer,
        cst.Float,
        cst.Imaginary,
        cst.SimpleString,
        cst.ConcatenatedString,
        cst.Name,
        cst.UnaryOperation,
        cst.Tuple,
        cst.List,
    }
)
STRING_NODES = frozenset({cst.SimpleString, cst.FormattedString, cst.ConcatenatedString})
NAME_VALUE_NODES = frozenset({cst.SimpleString, cst.FormattedString})  # may be a name default


def literal(node: cst.BaseExpression, constants: Mapping[str, str]) -> str | None:
    """repr of a literal value (numbers, strings, tuples, module constants), else None."""
    if type(node) not in LITERAL_NODES:
        return None  # calls, attributes, operators...: most arguments, settled in one lookup
    try:
        if type(node) is cst.Name:  # the commonest argument: a variable or a constant
            if node.value in ("True", "False", "None"):
                return node.value
            return constants.get(node.value)
        if type(node) is cst.Integer or type(node) is cst.Float or type(node) is cst.Imaginary:
            return literals.canonical(node.value)
        if type(node) is cst.SimpleString:
            return literals.canonical(node.value)
        if type(node) is cst.ConcatenatedString:
            value = node.evaluated_value
            return None if value is None else repr(value)
        if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
            inner = literal(node.expression, constants)
            return None if inner is None else repr(-literals.value(inner))
        if type(node) is cst.Tuple or type(node) is cst.List:
            items: list[str] = []
            for element in node.elements:
                item = literal(element.value, constants)
                if item is None or type(element) is cst.StarredElement:
                    return None
                items.append(item)
            body = ", ".join(items)
            if type(node) is cst.List:
                return f"[{body}]"
            return f"({body},)" if len(items) == 1 else f"({body})"
    except (ValueError, SyntaxError, TypeError, RecursionError):
        return None
    return None


def parameter_values(params: cst.Parameters, constants: Mapping[str, str]) -> dict[str, str]:
    """Module constants plus the literal defaults of a function's parameters, which stand for
    the parameters in a Keras layer's hyperparameters (`def build(vocab_size=20000)`)."""
    values = dict(constants)
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.default is None:
            values.pop(param.name.value, None)  # a parameter shadows a module constant
            continue
        value = literal(param.default, constants)
        if value is None:
            values.pop(param.name.value, None)
        else:
            values[param.name.value] = value
    return values
