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
node types (and their bases) validate in full during the parse; every other node type skips
it, without even the call where the running Python's dataclasses can rebuild its generated
`__init__` without the `__post_init__` line (3.11's private `_init_fn`, checked by signature;
swapped in while the parse runs), else through a no-op `__post_init__`. Nodes built later
(apply's edits) validate in full. `tests/test_parser.py` pins that both parses give equal trees
and refuse the same inputs. Rebuilding those `__init__`s costs about what the checks of
`PLAIN_PARSES` parses do, so a process that parses fewer files (the check after an edit) parses
them as libcst does and never builds them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
from collections.abc import Callable

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


# Parses of a process that run with libcst's own validation before the switch pays for itself.
PLAIN_PARSES = 64
_parsed = 0  # parses this process has done


@functools.cache
def skipping() -> tuple[type, ...]:
    """Node types the parser instantiates whose validation can be skipped: not a type with a
    rule outside the grammar, nor one of its bases (a base's `__post_init__` is inherited)."""
    return tuple(
        node_type
        for node_type in _node_types()
        if "__init__" in vars(node_type)
        and "__post_init__" not in vars(node_type)
        and not any(issubclass(kept, node_type) for kept in _GRAMMAR_UNCHECKED)
    )


# The private builder behind every dataclass `__init__`, used only with this exact signature.
_INIT_FN_PARAMETERS = (
    "fields std_fields kw_only_fields frozen has_post_init self_name globals slots".split()
)


def _init_without_post_init(node_type: type) -> Callable[..., None] | None:
    """The node type's dataclass `__init__` minus its `__post_init__` call, if it can be rebuilt."""
    init_fn = getattr(dataclasses, "_init_fn", None)
    if init_fn is None or list(inspect.signature(init_fn).parameters) != _INIT_FN_PARAMETERS:
        return None
    params = getattr(node_type, "__dataclass_params__", None)
    if "__dataclass_params__" not in vars(node_type) or params is None or not params.init:
        return None
    initvar = getattr(dataclasses, "_FIELD_INITVAR", None)
    all_fields = getattr(node_type, "__dataclass_fields__", {}).values()
    if initvar is None or any(f._field_type is initvar for f in all_fields):
        return None  # an InitVar goes to `__post_init__`: keep the generated `__init__`
    fields = dataclasses.fields(node_type)
    std_fields = [f for f in fields if f.init and not f.kw_only]
    kw_only_fields = [f for f in fields if f.init and f.kw_only]
    self_name = "__dataclass_self__" if any(f.name == "self" for f in fields) else "self"
    module_globals = sys.modules[node_type.__module__].__dict__
    built: Callable[..., None] = init_fn(
        fields, std_fields, kw_only_fields, params.frozen, False, self_name, module_globals,
        "__slots__" in vars(node_type),
    )
    built.__qualname__ = f"{node_type.__qualname__}.__init__"
    if inspect.signature(built) != inspect.signature(vars(node_type)["__init__"]):
        return None
    return built


@functools.cache
def switch() -> tuple[tuple[tuple[type, object, object], ...], tuple[type, ...]]:
    """(node type, its own `__init__`, the same without `__post_init__`) where it can be
    rebuilt, and the other skipping types, which get a no-op `__post_init__` instead."""
    swapped = tuple(
        (node_type, vars(node_type)["__init__"], init)
        for node_type in skipping()
        if (init := _init_without_post_init(node_type)) is not None
    )
    rebuilt = {node_type for node_type, _, _ in swapped}
    return swapped, tuple(node_type for node_type in skipping() if node_type not in rebuilt)


def parse_module(text: str) -> cst.Module:
    """Parse `text` as libcst does (one thread per process: the switch is per class)."""
    global _parsed
    _parsed += 1
    if _parsed <= PLAIN_PARSES:
        return cst.parse_module(text)
    swapped, switched = switch()
    for node_type in switched:
        node_type.__post_init__ = _grammar_checked  # type: ignore[attr-defined]
    for node_type, _, init in swapped:
        node_type.__init__ = init  # type: ignore[misc]
    try:
        return cst.parse_module(text)
    finally:
        for node_type, original, _ in swapped:
            node_type.__init__ = original  # type: ignore[misc]
        for node_type in switched:
            del node_type.__post_init__  # type: ignore[attr-defined]
