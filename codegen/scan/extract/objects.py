"""Layer objects: a Keras layer or an RNN cell built in one statement and used in a later one.

Building the object creates no variable; its weights appear where it is first called
(`self.proj(h)`, `layer(x)`) or where an RNN runner takes it (`tf.nn.dynamic_rnn(cell, ...)`).
That use is the layer, identified by the constructors' APIs and literal arguments (`signature`);
the constructor statements are not layers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import libcst as cst

from codegen.scan import apis
from codegen.scan.extract import relevance
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.literals import literal
from codegen.scan.extract.nodes import dotted, suite

# Bound name ("cell", "self.proj") -> the object's signature ("<api>(<args>)").
Objects = dict[str, str]


def is_object_api(api: str) -> bool:
    """A library class whose instances make their variables when first used: layers, cells,
    and the RNN wrappers around cells (`DropoutWrapper`, `MultiRNNCell`)."""
    leaf = api.rsplit(".", 1)[-1]
    if not leaf[:1].isupper() or api.endswith((".Variable", ".VariableScope")):
        return False
    if apis.creates_variables(api):
        return True
    return apis.is_library(api) and "rnn" in api and leaf.endswith("Wrapper")


def key(node: cst.BaseExpression, self_name: str | None) -> str | None:
    """The binding a name or `self` attribute stands for, or None for any other expression."""
    if type(node) is cst.Name:
        return node.value
    if (
        type(node) is cst.Attribute
        and type(node.value) is cst.Name
        and self_name is not None
        and node.value.value == self_name
    ):
        return "self." + node.attr.value
    return None


def binding(
    statement: cst.CSTNode, ctx: ModuleContext, self_name: str | None, objects: Mapping[str, str]
) -> tuple[str, str] | None:
    """(bound name, signature) when the statement only builds a layer object and binds it."""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if type(assign) is not cst.Assign or len(assign.targets) != 1:
        return None
    name = key(assign.targets[0].target, self_name)
    value = assign.value
    if name is None or type(value) is not cst.Call:
        return None
    parts = dotted(value.func)
    if parts is not None and len(parts) == 1 and parts[0] in ctx.factories:
        # `cell = get_cell(64, keep)`: the object the factory returns, made with these arguments.
        args = ",".join(_argument(arg, ctx, self_name, objects) for arg in value.args)
        return name, f"{ctx.factories[parts[0]]}<-{parts[0]}({args})"
    api = ctx.resolve_final(parts) if parts else None
    if api is None or not is_object_api(api):
        return None
    if not apis.creates_variables(api) and not any(True for _ in uses(value, objects, self_name)):
        return None  # a wrapper around something that is not a layer object
    return name, signature(value, ctx, self_name, objects)


def signature(
    node: cst.BaseExpression, ctx: ModuleContext, self_name: str | None, objects: Mapping[str, str]
) -> str:
    """The object's identity: APIs and literal arguments, bound objects by their own signature;
    any other operand is opaque (`?`), as in an inline layer."""
    kind = type(node)
    value = literal(node, ctx.constants)
    if value is not None:
        return value
    bound = key(node, self_name)
    if bound is not None:
        return objects.get(bound, "?")
    if kind is cst.Call:
        parts = dotted(node.func)  # type: ignore[attr-defined]
        api = (ctx.resolve_final(parts) if parts else None) or "?"
        args = ",".join(
            _argument(arg, ctx, self_name, objects)
            for arg in node.args  # type: ignore[attr-defined]
            if not _no_variables(arg, api)
        )
        return f"{api}({args})"
    if kind is cst.List or kind is cst.Tuple:
        inner = ",".join(
            signature(e.value, ctx, self_name, objects)
            for e in node.elements  # type: ignore[attr-defined]
        )
        return f"[{inner}]"
    if kind is cst.ListComp:
        element = signature(node.elt, ctx, self_name, objects)  # type: ignore[attr-defined]
        source = signature(node.for_in.iter, ctx, self_name, objects)  # type: ignore[attr-defined]
        return f"[{element} for {source}]"
    return "?"


def _argument(
    arg: cst.Arg, ctx: ModuleContext, self_name: str | None, objects: Mapping[str, str]
) -> str:
    """One argument of a constructor or factory call, as a signature spells it."""
    keyword = arg.keyword.value + "=" if arg.keyword is not None else arg.star
    return keyword + signature(arg.value, ctx, self_name, objects)


def factories(statements: object, ctx: ModuleContext) -> dict[str, str]:
    """Module functions that build a layer object and return it (`def get_cell(n): cell =
    LSTMCell(n); return DropoutWrapper(cell)`): nothing is created until it is used, so a call
    of one binds an object, whose identity is what the factory returns and the call's arguments.
    """
    found: dict[str, str] = {}
    for statement in statements:  # type: ignore[attr-defined]
        if type(statement) is not cst.FunctionDef:
            continue
        body = list(_straight(suite(statement.body)))
        last = body[-1] if body else None
        if (
            type(last) is not cst.SimpleStatementLine
            or len(last.body) != 1
            or type(last.body[0]) is not cst.Return
            or last.body[0].value is None
        ):
            continue
        local: Objects = {}
        for inner in body[:-1]:
            bound = binding(inner, ctx, None, local)
            if bound is None:
                break
            local[bound[0]] = bound[1]
        else:
            returned = last.body[0].value
            made = signature(returned, ctx, None, local)
            if made.split("(", 1)[0] not in ("?", "") and "." in made.split("(", 1)[0]:
                parts = dotted(returned.func) if type(returned) is cst.Call else None
                api = ctx.resolve_final(parts) if parts else None
                if (api is not None and is_object_api(api)) or key(returned, None) in local:
                    found[statement.name.value] = made
    return found


def _no_variables(arg: cst.Arg, api: str) -> bool:
    """A library layer's argument that cannot change its variables: a name (names never decide)
    or a setting such as `mask_zero=`, whatever its value (so an explicit default never does)."""
    if arg.keyword is None or not apis.is_library(api):
        return False
    keyword = arg.keyword.value
    return keyword in apis.NAME_KEYWORDS or keyword in relevance.NO_VARIABLE_KEYWORDS


def uses(node: cst.CSTNode, objects: Mapping[str, str], self_name: str | None) -> Iterator[str]:
    """The bound objects an expression or statement reads, in order."""
    if not objects:
        return
    pending: list[cst.CSTNode] = [node]
    while pending:
        current = pending.pop()
        kind = type(current)
        if kind is cst.Name or kind is cst.Attribute:
            bound = key(current, self_name)  # type: ignore[arg-type]
            if bound is not None and bound in objects:
                yield bound
                continue
        if kind is cst.FunctionDef or kind is cst.ClassDef or kind is cst.Lambda:
            continue
        pending.extend(reversed(current.children))


def class_objects(node: cst.ClassDef, ctx: ModuleContext) -> Objects:
    """`self.x = <layer object>` bindings in a class's methods: a method may use what another
    built (`self.proj = Dense(32)` in `__init__`, `self.proj(h)` in `call`)."""
    out: Objects = {}
    for method in suite(node.body):
        if type(method) is not cst.FunctionDef or not method.params.params:
            continue
        self_name = method.params.params[0].name.value
        for statement in _straight(suite(method.body)):
            found = binding(statement, ctx, self_name, out)
            if found is not None and found[0].startswith("self."):
                out.setdefault(found[0], found[1])
    return out


def _straight(statements: object) -> Iterator[cst.CSTNode]:
    """A body's statements, with those of its `with` blocks (scopes and devices) in place."""
    for statement in statements:  # type: ignore[attr-defined]
        if type(statement) is cst.With:
            yield from _straight(suite(statement.body))
        else:
            yield statement
