"""`nodes.kids`, the extractor's cheap stand-in for libcst's `children`: for the types it spells
out by hand (definitions, parameters, lambdas, raise, assert, del, yield, ...) it reaches the same
names, attribute chains, calls and definitions, in the same order, as `children` would."""

from __future__ import annotations

import textwrap

import libcst as cst

from codegen.scan.extract import parse_module
from codegen.scan.extract.nodes import kids

SOURCE = """
import tensorflow as tf


def outer(x, n):
    @deco(n, key=tf.nn.relu)
    async def inner(a, /, b: tf.Tensor = helper(n), *args: int, c=n, **kw: dict) -> tf.Tensor:
        raise ValueError(a) from helper(b)

    class K(Base, tf.keras.layers.Layer, metaclass=Meta, **extra):
        units = n

        def call(self, *, z=x):
            return z

    f = lambda *a, k=n, **kk: helper(a, k)
    g = lambda a, /, b: a
    del x[n], x.attr
    assert x, (n, helper(x))
    for i in range(n):
        if i:
            continue
        else:
            break
    pass
    yield
    yield from helper(x)
    raise
    return f"{x:{n}}" + "s" "t"
"""

_REACHED = (cst.Name, cst.Attribute, cst.Call, cst.FunctionDef, cst.ClassDef, cst.Lambda)
# The types kids() spells out instead of asking libcst's `children`.
_SPELLED = (
    cst.Param,
    cst.Parameters,
    cst.FunctionDef,
    cst.ClassDef,
    cst.Raise,
    cst.Assert,
    cst.Lambda,
    cst.Yield,
    cst.Decorator,
    cst.Annotation,
    cst.From,
    cst.Del,
    cst.Pass,
    cst.Break,
    cst.Continue,
)


def _reached(node: cst.CSTNode, by_kids: bool, out: list[int]) -> list[int]:
    """The ids of the nodes a reader cares about, in pre-order; by kids(), or by `children` for
    the types kids() spells out."""
    if type(node) in _REACHED:
        out.append(id(node))
    spelled = not by_kids and type(node) in _SPELLED
    for child in node.children if spelled else kids(node):
        _reached(child, by_kids, out)
    return out


def test_kids_reach_what_children_reach_in_the_same_order() -> None:
    module = parse_module(textwrap.dedent(SOURCE).lstrip())
    for statement in module.body:
        assert _reached(statement, True, []) == _reached(statement, False, [])
    assert len(_reached(module.body[1], True, [])) > 50  # the def was read, not skipped
