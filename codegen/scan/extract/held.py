"""Layer objects a class keeps in `self` (`self.proj = Dense(32)` in `__init__`, called as
`self.proj(h)` in `call`), and the instances of its own classes it holds there."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from codegen.scan import apis
from codegen.scan.extract import objects
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.literals import literal, parameter_values
from codegen.scan.extract.nodes import dotted, kids, suite


def class_objects(node: cst.ClassDef, ctx: ModuleContext) -> objects.Objects:
    """`self.x = <layer object>` bindings in a class's methods: a method may use what another
    built (`self.proj = Dense(32)` in `__init__`, `self.proj(h)` in `call`)."""
    out: objects.Objects = {}
    called: frozenset[str] | None = None
    for method in suite(node.body):
        if type(method) is not cst.FunctionDef or not method.params.params:
            continue
        self_name = method.params.params[0].name.value
        values = parameter_values(method.params, ctx.constants)
        lists: frozenset[str] = frozenset()  # `self.blocks = []`, which a loop may fill
        for statement in objects.straight(suite(method.body)):
            if type(statement) is cst.For:
                found: tuple[str, str] | None = objects.stacked(
                    statement, ctx, self_name, out, values, lists
                )
                if found is not None:
                    out.setdefault(*found)
                continue
            if type(statement) is cst.If:
                for bound in objects.branched(statement, ctx, self_name, out, values) or ():
                    if bound[0].startswith("self."):
                        out.setdefault(*bound)
                continue
            empty = _empty_list(statement, self_name)
            if empty is not None:
                lists = lists | {empty}
                continue
            if called is None and _assigns_call(statement):
                called = _self_calls(node)  # only for classes that may bind a helper's result
            found = objects.binding(statement, ctx, self_name, out, values, called or frozenset())
            if found is not None and found[0].startswith("self."):
                out.setdefault(found[0], found[1])
    return out


def instances(node: cst.ClassDef, ctx: ModuleContext) -> dict[str, str]:
    """`self.x = Other(...)` in a class's methods, Other a class of this module: the attribute
    holds an instance of it, so `self.x.build()` runs Other's `build` (once bound, kept)."""
    out: dict[str, str] = {}
    for method in suite(node.body):
        if type(method) is not cst.FunctionDef or not method.params.params:
            continue
        self_name = method.params.params[0].name.value
        for statement in objects.straight(suite(method.body)):
            if not _assigns_call(statement):
                continue
            assign = statement.body[0]  # type: ignore[attr-defined]
            name = objects.key(assign.targets[0].target, self_name)
            parts = dotted(assign.value.func)
            if name is None or not name.startswith("self.") or len(assign.targets) != 1:
                continue
            if parts is not None and len(parts) == 1 and parts[0] in ctx.classes:
                if made_with_literals(assign.value, ctx.constants):
                    # `Encoder(16)`: what its methods create may depend on the 16, which their
                    # identity does not hold; unseen (CG230) rather than matched.
                    out.setdefault(name, "")
                out.setdefault(name, parts[0])
    return {k: v for k, v in out.items() if v}


def made_with_literals(call: cst.Call, constants: Mapping[str, str]) -> bool:
    """Whether a constructor call passes a literal that may decide the instance's variables
    (`Encoder(16)`): any literal argument but a name (`name="enc"`)."""
    for arg in call.args:
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword is not None and apis.is_name_parameter(keyword):
            continue
        if not arg.star and literal(arg.value, constants) is not None:
            return True
    return False


def _empty_list(statement: cst.CSTNode, self_name: str | None) -> str | None:
    """The `self.` attribute a statement binds to an empty list (`self.blocks = []`), if any."""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if type(assign) is not cst.Assign or len(assign.targets) != 1:
        return None
    if type(assign.value) is not cst.List or assign.value.elements:
        return None
    name = objects.key(assign.targets[0].target, self_name)
    return name if name is not None and name.startswith("self.") else None


def _assigns_call(statement: cst.CSTNode) -> bool:
    """`x = f(...)`: the only statements that may bind a helper's result."""
    return (
        type(statement) is cst.SimpleStatementLine
        and len(statement.body) == 1
        and type(statement.body[0]) is cst.Assign
        and type(statement.body[0].value) is cst.Call
    )


def _self_calls(node: cst.ClassDef) -> frozenset[str]:
    """The `self.x` attributes a class's methods call (`self.encoder(x)`)."""
    out: set[str] = set()
    for method in suite(node.body):
        if type(method) is not cst.FunctionDef or not method.params.params:
            continue
        self_name = method.params.params[0].name.value
        pending: list[cst.CSTNode] = [method.body]
        while pending:
            current = pending.pop()
            if type(current) is cst.Call:
                bound = objects.key(current.func, self_name)
                if bound is not None and bound.startswith("self."):
                    out.add(bound)
            pending.extend(kids(current))
    return frozenset(out)
