"""The walk's dispatch table: one function per libcst node type, looked up by exact type.

A handler the walker spells out (`HANDLERS`, filled in by `walker`), an operator (blanked in the
skeleton), or the generic walk: the type name, each semantic field in order, then ")"."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import libcst as cst

if TYPE_CHECKING:
    from codegen.scan.extract.tokens import TokenWalker

# (walker, node): the walker is any layer of `walker.FunctionWalker` that has the handler.
Walk = Callable[[Any, Any], None]

_LAYOUT_FIELD = re.compile(
    r"whitespace|lpar|rpar|lbracket|rbracket|lbrace|rbrace|comma|semicolon|leading_lines"
    r"|lines_after_decorators|header|footer|newline|colon|equal|indent|^dot$|^between$"
)
_OPERATOR_BASES = (
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
)
_DYNAMIC = (
    cst.For,
    cst.While,
    cst.If,
    cst.Try,
    cst.IfExp,
    cst.BooleanOperation,
    cst.Lambda,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
    cst.Match if hasattr(cst, "Match") else cst.If,
)

_FIELD_CACHE: dict[type, tuple[str, ...]] = {}


def fields(node_type: type) -> tuple[str, ...]:
    """Semantic child fields of a libcst node type, layout fields left out."""
    names = _FIELD_CACHE.get(node_type)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(node_type) if not _LAYOUT_FIELD.search(f.name)
        )
        _FIELD_CACHE[node_type] = names
    return names


# The walker's own handlers, by node type (filled in by `walker`, before any node is walked).
HANDLERS: dict[type, Walk] = {}


def _skip(walker: TokenWalker, value: object) -> None:
    """A field value that is not a node (None, a sentinel, a flag) emits nothing."""


def _operator_walker(type_name: str) -> Walk:
    """Operators are blanked in the skeleton: `a + b` and `a * b` are a near miss."""

    def walk_operator(walker: TokenWalker, node: cst.CSTNode) -> None:
        walker.skeleton_overrides.append((len(walker.renamed), "op?"))  # blanked(), inlined
        walker.renamed.append(type_name)
        walker.literals.append(type_name)

    return walk_operator


def _generic_walker(kind: type) -> Walk:
    """The type name, each semantic field in order (nodes walked, strings kept), then ")"."""
    type_name = kind.__name__
    names = fields(kind)
    dynamic = issubclass(kind, _DYNAMIC)  # its children run conditionally or repeatedly

    def walk_generic(walker: TokenWalker, node: cst.CSTNode) -> None:
        if dynamic:
            walker.dynamic += 1
        append = walker.renamed.append
        append(type_name)
        for name in names:
            value = getattr(node, name)
            kind = type(value)
            if kind is list or kind is tuple:
                for item in value:
                    WALK.get(type(item), _skip)(walker, item)
            elif kind is str:
                if value:
                    append(value)
            else:
                WALK.get(kind, _skip)(walker, value)
        append(")")
        if dynamic:
            walker.dynamic -= 1

    return walk_generic


def _node_walker(kind: type) -> Walk:
    """The function that walks the nodes of one libcst type."""
    if kind in HANDLERS:
        return HANDLERS[kind]
    if issubclass(kind, _OPERATOR_BASES):
        return _operator_walker(kind.__name__)
    return _generic_walker(kind)


def _on_first_node(kind: type) -> Walk:
    """Stands in for a type's walker until its first node (building all ~400 at import would
    cost a short scan more than it saves)."""

    def walk_first(walker: TokenWalker, node: cst.CSTNode) -> None:
        walk = WALK[kind] = _node_walker(kind)
        walk(walker, node)

    return walk_first


def _subclasses(base: type) -> set[type]:
    """`base` and every class derived from it."""
    found = {base}
    derived: type
    for derived in base.__subclasses__():
        found |= _subclasses(derived)
    return found


# Node type -> its walker: a plain dict, as a dict subclass with __missing__ makes every lookup
# several times slower. It holds every libcst node type (libcst defines them all on import) and
# None (an absent optional child), so walking a parsed tree never misses; only a generic walker's
# field values can be anything else, and it looks those up with _skip as the default.
WALK: dict[type, Walk] = {kind: _on_first_node(kind) for kind in _subclasses(cst.CSTNode)}
WALK[type(None)] = WALK[cst.MaybeSentinel] = _skip
