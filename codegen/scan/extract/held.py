"""Layer objects a class keeps in `self` (`self.proj = Dense(32)` in `__init__`, called as
`self.proj(h)` in `call`), and the instances of its own classes it holds there."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import libcst as cst

from codegen.scan import apis
from codegen.scan.extract import objects
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.literals import literal, parameter_values
from codegen.scan.extract.nodes import (
    dotted,
    kids,
    name_assignments,
    nested_blocks,
    stored_names,
    suite,
)


class Unplaced(str):
    """Layer objects a class holds in a structure whose uses the scan cannot place
    (`self.blocks = {"conv": Conv1D(64, 3), name: Dense(8)}`, read as `self.blocks[k]` or
    through `.values()`): their order is unknown, so the model's sequence ends at the first
    statement that reads the structure (CG231), never at where they were built. The text is
    the structure's signature."""


def class_objects(node: cst.ClassDef, ctx: ModuleContext) -> objects.Objects:
    """`self.x = <layer object>` bindings in a class's methods: a method may use what another
    built (`self.proj = Dense(32)` in `__init__`, `self.proj(h)` in `call`)."""
    out: objects.Objects = {}
    called: frozenset[str] | None = None
    for method in suite(node.body):
        if type(method) is not cst.FunctionDef or not method.params.params:
            continue
        self_name = method.params.params[0].name.value
        values = method_values(method, ctx)
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
            held = structure(statement, ctx, self_name, out, values)
            if held is not None:  # `self.blocks = {"conv": Conv1D(64, 3), ...}`: its items
                for bound in held:
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


def method_values(method: cst.FunctionDef, ctx: ModuleContext) -> dict[str, str]:
    """What names stand for in a method's layer objects: module constants, the literal defaults
    of its parameters, and a local bound once, outside branches and loops, to a literal (`units
    = 64`); any other local hides the module constant it shadows (as in a build function)."""
    values = parameter_values(method.params, ctx.constants)
    counts: dict[str, int] = {}
    _count_bindings(suite(method.body), counts)
    for name in counts:
        values.pop(name, None)
    for name, bound in name_assignments(objects.straight(suite(method.body))):
        if counts.get(name) == 1:
            value = literal(bound, values)
            if value is not None:
                values[name] = value
    return values


def _count_bindings(statements: object, counts: dict[str, int]) -> None:
    """How many times each name is bound in these statements (2 for any binding that is no
    single plain assignment: an unpacking, `+=`, a loop target, an import, a def)."""
    for statement in statements:  # type: ignore[attr-defined]
        kind = type(statement)
        if kind is cst.SimpleStatementLine:
            for small in statement.body:
                if type(small) is cst.Assign:
                    for target in small.targets:
                        _bind(target.target, counts, 1)
                elif type(small) is cst.AugAssign or type(small) is cst.AnnAssign:
                    _bind(small.target, counts, 2)
                elif type(small) is cst.Import or type(small) is cst.ImportFrom:
                    names = small.names if type(small.names) is not cst.ImportStar else ()
                    for alias in names:  # type: ignore[union-attr]
                        bound = alias.asname.name if alias.asname is not None else alias.name
                        if type(bound) is cst.Name:
                            _bind(bound, counts, 2)
        elif kind is cst.FunctionDef or kind is cst.ClassDef:
            _bind(statement.name, counts, 2)  # type: ignore[attr-defined]
        else:
            if kind is cst.For:
                _bind(statement.target, counts, 2)  # type: ignore[attr-defined]
            for item in getattr(statement, "items", ()) or ():  # `with ... as name`
                if item.asname is not None:
                    _bind(item.asname.name, counts, 2)
            for handler in getattr(statement, "handlers", ()) or ():
                if handler.name is not None:
                    _bind(handler.name.name, counts, 2)
            for block in nested_blocks(statement):
                _count_bindings(block, counts)


def _bind(target: cst.BaseExpression, counts: dict[str, int], weight: int) -> None:
    """Count `weight` for a bare name, 2 (not one plain binding) for each name unpacked."""
    if type(target) is not cst.Name:
        weight = 2
    for name in stored_names(target):
        counts[name] = counts.get(name, 0) + weight


def structure(
    statement: cst.CSTNode,
    ctx: ModuleContext,
    self_name: str | None,
    known: Mapping[str, str],
    values: Mapping[str, str],
) -> list[tuple[str, str]] | None:
    """The bindings of `self.x = <dict, list or tuple holding layer objects>`: each item by its
    literal key (`self.x['conv']`, `self.x[0]`), followed where it is called, and the whole (a
    list of layers a loop applies, else `Unplaced`: a read the scan cannot place ends the
    sequence). None when the statement holds no layer object this way."""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if type(assign) is not cst.Assign or len(assign.targets) != 1:
        return None
    name = objects.key(assign.targets[0].target, self_name)
    value = objects.unmarked(assign.value)
    kind = type(value)
    if name is None or not name.startswith("self.") or "[" in name:
        return None
    if kind is not cst.Dict and kind is not cst.List and kind is not cst.Tuple:
        return None
    items: list[tuple[str | None, cst.BaseExpression | None]] = []
    for element in value.elements:  # type: ignore[attr-defined]
        if type(element) is cst.DictElement:
            spelled = element.key
            literal_key = type(spelled) is cst.SimpleString or type(spelled) is cst.Integer
            items.append((literal(spelled, {}) if literal_key else None, element.value))
        elif type(element) is cst.Element:
            items.append((str(len(items)), element.value))
        else:
            items.append((None, None))  # `**more`, `*more`: what it holds is unknown
    found = [
        (item, None if held is None else objects.member(held, ctx, self_name, known, values))
        for item, held in items
    ]
    apis_held = {made.split("(", 1)[0] for _, made in found if made is not None}
    if not any(apis.is_keras_layer(api) or api in ctx.layer_classes for api in apis_held):
        return None  # no Keras layer object held: TF1 code, data, or something else
    out = [(f"{name}[{item}]", made) for item, made in found if item is not None and made]
    followed = len(out) == len(found)
    if followed and kind is not cst.Dict:
        layers = objects.collection_api(value, ctx)
        if layers is not None:  # layers built together: one layer matched as a whole (binding)
            text = objects.signature(value, ctx, self_name, known, values)
            whole: str = objects.Bound(text, value, values, layers)  # type: ignore[arg-type]
        else:
            whole = objects.Listed(tuple(made for _, made in found if made is not None))
        return [(name, whole), *out]
    inner = ",".join(f"{item}:{made or '?'}" for item, made in found)
    return [(name, Unplaced("{" + inner + "}")), *out]


def reads(node: cst.CSTNode, known: Mapping[str, str], self_name: str | None) -> Iterator[str]:
    """The layer objects a statement reads as values, in order: called, passed, aliased or
    iterated (`f(self.embed)`, `layer = self.embed`), not a layer's attributes (`self.embed.units`,
    `self.embed.compute_mask(x)`: its settings and helpers, which make no weights)."""
    pending: list[cst.CSTNode] = [node]
    while pending:
        current = pending.pop()
        kind = type(current)
        if kind is cst.Name or kind is cst.Attribute or kind is cst.Subscript:
            bound = objects.key(current, self_name)  # type: ignore[arg-type]
            if bound is not None and bound in known:
                yield bound
                continue
            if kind is cst.Attribute:  # (a structure's own, `self.blocks.values()`, are reads)
                owner = objects.key(current.value, self_name)  # type: ignore[attr-defined]
                if owner is not None and owner in known and type(known[owner]) is not Unplaced:
                    continue
        if kind is cst.FunctionDef or kind is cst.ClassDef:
            continue
        if kind is cst.Assign:  # binding a name reads nothing (`self.blocks = []`)
            pending.append(current.value)  # type: ignore[attr-defined]
            continue
        pending.extend(reversed(kids(current)))


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
