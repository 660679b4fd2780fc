"""Layer objects: a Keras layer or an RNN cell built in one statement and used in a later one.

Building the object creates no variable; its weights appear where it is first called
(`self.proj(h)`, `layer(x)`) or where an RNN runner takes it (`tf.nn.dynamic_rnn(cell, ...)`).
That use is the layer, identified by the constructors' APIs and literal arguments (`signature`);
the constructor statements are not layers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import libcst as cst

from codegen import names
from codegen.scan import apis
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.literals import literal
from codegen.scan.extract.nodes import dotted, kids, suite


class Bound(str):
    """An object's signature ("<api>(<args>)"), with the constructor call it was read from and
    the literal values its names stood for there (module constants, parameter defaults): a Keras
    layer's first use is identified by the constructor's API and literal arguments."""

    call: cst.Call
    values: Mapping[str, str]
    # For a list of layers (`[Dense(64) for _ in range(3)]`): the API of its layers, else "".
    collection: str
    # For a layer or sub-model a helper returns (`self.encoder = build_encoder(...)`, called as
    # `self.encoder(x)`): the helper, as the call names it (a function of this module or an
    # import), else "".
    builder: str

    def __new__(
        cls,
        text: str,
        call: cst.Call,
        values: Mapping[str, str],
        collection: str = "",
        builder: str = "",
    ) -> Bound:
        made = super().__new__(cls, text)
        made.call = call
        made.values = values
        made.collection = collection
        made.builder = builder
        return made


class Listed(str):
    """A list of different layer objects built one by one (`xs = []; xs.append(Dropout(0.2))`,
    `xs = [KMax(), Flatten()]`, in a function's own names): its layers appear, in order, where a
    loop applies them, or where a call takes the list (`Sequential(xs)`)."""

    members: tuple[Bound, ...]

    def __new__(cls, members: tuple[Bound, ...]) -> Listed:
        made = super().__new__(cls, "[" + ",".join(members) + "]")
        made.members = members
        return made


# Bound name ("cell", "self.proj", "self.blocks['conv']") -> the object's signature.
Objects = dict[str, str]


def is_object_api(api: str) -> bool:
    """A library class whose instances make their variables when first used: layers, cells,
    and the RNN wrappers around cells (`DropoutWrapper`, `MultiRNNCell`); Keras layers without
    weights too, which stay steps of a sequence."""
    if apis.is_sequence_step(api):
        return True
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
    if type(node) is cst.Subscript and len(node.slice) == 1:  # `self.convs[0]`, `self.d['k']`
        holder, index = key(node.value, self_name), node.slice[0].slice
        if holder is not None and holder.startswith("self.") and type(index) is cst.Index:
            if type(index.value) is cst.SimpleString or type(index.value) is cst.Integer:
                return f"{holder}[{literal(index.value, {})}]"  # an item by a literal key
    return None


def binding(
    statement: cst.CSTNode,
    ctx: ModuleContext,
    self_name: str | None,
    objects: Mapping[str, str],
    values: Mapping[str, str] | None = None,
    called: frozenset[str] = frozenset(),
) -> tuple[str, str] | None:
    """(bound name, signature) when the statement only builds a layer object and binds it;
    `values`: what names stand for there (default: the module's constants); `called`: the
    `self.` attributes the class calls, which a helper's result bound to them is."""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if type(assign) is not cst.Assign or len(assign.targets) != 1:
        return None
    name = key(assign.targets[0].target, self_name)
    value = unmarked(assign.value)
    if name is None:
        return None
    known = ctx.constants if values is None else values
    if type(value) is not cst.Call:
        layers = collection_api(value, ctx)
        if layers is None:
            return None
        text = signature(value, ctx, self_name, objects, known)
        return name, Bound(text, value, known, layers)  # type: ignore[arg-type]
    parts = dotted(value.func)
    if parts is not None and len(parts) == 1 and parts[0] in ctx.factories:
        # `cell = get_cell(64, keep)`: the object the factory returns, made with these arguments.
        args = ",".join(_argument(arg, ctx, self_name, objects, known) for arg in value.args)
        return name, f"{ctx.factories[parts[0]]}<-{parts[0]}({args})"
    api = ctx.resolve_final(parts) if parts else None
    if api is not None and api in ctx.layer_classes:
        return name, signature(value, ctx, self_name, objects, known)  # a scanned layer class
    if api is None or not is_object_api(api):
        builder = _helper(parts, ctx)
        earlier = objects.get(name)
        if not builder or not (
            name in called or (isinstance(earlier, Bound) and earlier.builder == builder)
        ):
            return None
        text = signature(value, ctx, self_name, objects, known)
        return name, Bound(text, value, known, builder=builder)
    if (
        not apis.creates_variables(api)
        and not apis.is_sequence_step(api)
        and not any(True for _ in uses(value, objects, self_name))
    ):
        return None  # a wrapper around something that is not a layer object
    if apis.is_built_model(api) and not (name in called or isinstance(objects.get(name), Bound)):
        # A model built with its weights (a preset, an application, a saved model): where it is
        # built is the layer, unless the class keeps it to call it (then its first call is).
        return None
    return name, Bound(signature(value, ctx, self_name, objects, known), value, known)


def member(
    value: cst.BaseExpression,
    ctx: ModuleContext,
    self_name: str | None,
    objects: Mapping[str, str],
    values: Mapping[str, str],
) -> Bound | None:
    """A layer object built to be held in a list: a Keras layer, or a layer class the call
    names (of this module or an import outside the libraries); None for anything else."""
    value = unmarked(value)
    if type(value) is not cst.Call:
        return None
    parts = dotted(value.func)
    if not parts:
        return None
    api = ctx.resolve_final(parts)
    text = signature(value, ctx, self_name, objects, values)
    if api is not None and (api in ctx.layer_classes or apis.is_keras_layer(api)):
        return Bound(text, value, values)
    builder = _helper(parts, ctx)
    if builder and parts[-1][:1].isupper():
        return Bound(text, value, values, builder=builder)
    return None


def listed(
    statement: cst.CSTNode,
    ctx: ModuleContext,
    self_name: str | None,
    objects: Mapping[str, str],
    values: Mapping[str, str],
    lists: frozenset[str],
) -> tuple[str, str] | None:
    """(name, list) when the statement builds a list of layer objects (`xs = [A(), B()]`) or
    appends one to a list of them or to an empty list `lists` holds (`xs.append(Dense(8))`); a
    loop that fills an empty list is one layer (`stacked`)."""
    if type(statement) is cst.For:
        return stacked(statement, ctx, self_name, objects, values, lists)
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if type(small) is cst.Assign and len(small.targets) == 1:
        name = key(small.targets[0].target, self_name)
        value = small.value
        if name is None or name.startswith("self.") or type(value) not in (cst.List, cst.Tuple):
            return None
        if not value.elements:  # type: ignore[attr-defined]
            return None
        if collection_api(value, ctx) is not None:
            return None  # layers built together: one layer, matched as a whole (binding)
        elements = value.elements  # type: ignore[attr-defined]
        if any(type(e) is cst.StarredElement for e in elements):
            return None
        found = [member(e.value, ctx, self_name, objects, values) for e in elements]
        if any(m is None for m in found):
            return None
        return name, Listed(tuple(found))  # type: ignore[arg-type]
    if type(small) is not cst.Expr or type(small.value) is not cst.Call:
        return None
    call = small.value
    func = call.func
    if type(func) is not cst.Attribute or func.attr.value != "append" or len(call.args) != 1:
        return None
    name = key(func.value, self_name)
    held = objects.get(name) if name is not None else None
    if name is None or name.startswith("self."):
        return None
    if not (isinstance(held, Listed) or (held is None and name in lists)):
        return None
    made = member(call.args[0].value, ctx, self_name, objects, values)
    if made is None or call.args[0].keyword is not None or call.args[0].star:
        return None
    return name, Listed((*(held.members if isinstance(held, Listed) else ()), made))


def stacked(
    loop: cst.For,
    ctx: ModuleContext,
    self_name: str | None,
    objects: Mapping[str, str],
    values: Mapping[str, str],
    lists: frozenset[str],
) -> tuple[str, Bound] | None:
    """(list, layers) when a loop only builds layer objects and appends them to an empty list,
    its own or `self`'s (`for i in range(n): layer = Block(64); self.blocks.append(layer)`): a
    stack of layers whose count the loop decides, one layer matched as a whole where a loop
    applies it, as a list built in one expression is (`[Block(64) for _ in range(n)]`)."""
    if not lists or loop.orelse is not None or loop.asynchronous is not None:
        return None
    local: dict[str, Bound] = {}
    target: str | None = None
    made: Bound | None = None
    for inner in suite(loop.body):
        if type(inner) is not cst.SimpleStatementLine or len(inner.body) != 1:
            return None
        small = inner.body[0]
        if type(small) is cst.Assign and len(small.targets) == 1:
            bound = small.targets[0].target
            built = member(small.value, ctx, self_name, objects, values)
            if type(bound) is not cst.Name or built is None:
                return None
            local[bound.value] = built
            continue
        call = small.value if type(small) is cst.Expr else None
        if type(call) is not cst.Call or target is not None or len(call.args) != 1:
            return None
        func, arg = call.func, call.args[0]
        name = key(func.value, self_name) if type(func) is cst.Attribute else None
        if name is None or func.attr.value != "append" or name not in lists:  # type: ignore[attr-defined]
            return None
        if arg.keyword is not None or arg.star or isinstance(objects.get(name), Listed):
            return None  # (a stack its class's methods hold is read again here)
        value = arg.value
        made = local.get(value.value) if type(value) is cst.Name else None
        made = made or member(value, ctx, self_name, objects, values)
        target = name
    api = made.split("(", 1)[0] if made is not None else "?"
    if target is None or made is None or api == "?":
        return None
    source = signature(loop.iter, ctx, self_name, objects, values)
    return target, Bound(f"[{made} for {source}]", made.call, values, api)


def branched(
    statement: cst.If,
    ctx: ModuleContext,
    self_name: str | None,
    objects: Mapping[str, str],
    values: Mapping[str, str],
) -> list[tuple[str, str]] | None:
    """The layer objects an `if` only builds and binds, in each of its branches (`if width !=
    64: self.proj = Dense(64)`): none is a layer where it is built, each is where it is called.
    None when a branch does anything else, or binds a name another branch binds too (which
    object it holds is then the condition's, not one signature)."""
    found: dict[str, str] = {}
    branch: cst.If | cst.Else | None = statement
    while branch is not None:
        for inner in suite(branch.body):
            bound = binding(inner, ctx, self_name, {**objects, **found}, values)
            if bound is None or bound[0] in found:
                return None
            found[bound[0]] = bound[1]
        branch = branch.orelse if type(branch) is cst.If else None
    return list(found.items()) or None


def unmarked(value: cst.BaseExpression) -> cst.BaseExpression:
    """What an expression mark apply wrote wraps (`x_transfer.layer("M", 0, Dense(3))` is
    `Dense(3)`): routing never changes what a layer object is."""
    while type(value) is cst.Call and len(value.args) == 3:
        func = value.func
        if type(func) is not cst.Attribute or func.attr.value != names.LAYER:
            break
        parts = dotted(func)
        if parts is None or not names.is_layer_mark(".".join(parts)):
            break
        value = value.args[2].value
    return value


def _helper(parts: tuple[str, ...] | None, ctx: ModuleContext) -> str:
    """The callee, as written, of a call that may return a layer or sub-model: a module-level
    function of this module, a Keras layer or model class of this module (its weights appear
    at its first call, not when it is built), or an import from outside the libraries; ""
    otherwise."""
    if not parts:
        return ""
    if len(parts) == 1 and (parts[0] in ctx.functions or keras_class(parts[0], ctx)):
        return parts[0]
    if parts[0] in ctx.aliases and parts[0] not in ctx.symbols:
        api = ctx.resolve_final(parts)
        if api is not None and not apis.is_library(api):
            return ".".join(parts)
    return ""


def keras_class(name: str, ctx: ModuleContext, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a class of this module derives from a Keras layer or model, directly or through
    other classes of this module."""
    if name in seen:
        return False
    for base in ctx.bases.get(name, ()):
        if base.startswith("keras.") or (
            base in ctx.classes and keras_class(base, ctx, seen | {name})
        ):
            return True
    return False


def first_constructor(node: cst.BaseExpression) -> cst.Call:
    """The first layer constructor of a list of layers (`collection_api` or `stacked` checked
    it is one)."""
    if type(node) is cst.ListComp:
        return node.elt  # type: ignore[return-value]
    if type(node) is cst.Call:  # a loop's stack (`stacked`): its constructor
        return node
    return node.elements[0].value  # type: ignore[attr-defined,no-any-return]


def collection_api(node: cst.BaseExpression, ctx: ModuleContext) -> str | None:
    """The API of a list of Keras layers built in one expression (`[Dense(64) for _ in
    range(3)]`, `[Dense(64), Dense(32)]`): one layer, matched as a whole; None otherwise."""
    if type(node) is cst.ListComp:
        elements: list[cst.BaseExpression] = [node.elt]
    elif type(node) is cst.List or type(node) is cst.Tuple:
        elements = [element.value for element in node.elements]
    else:
        return None
    found: list[str] = []
    for element in elements:
        if type(element) is not cst.Call:
            return None
        parts = dotted(element.func)
        api = ctx.resolve_final(parts) if parts else None
        if api is None or not apis.is_sequence_step(api):
            return None
        found.append(api)
    return found[0] if found else None


def signature(
    node: cst.BaseExpression,
    ctx: ModuleContext,
    self_name: str | None,
    objects: Mapping[str, str],
    values: Mapping[str, str] | None = None,
) -> str:
    """The object's identity: APIs and literal arguments, bound objects by their own signature;
    any other operand is opaque (`?`), as in an inline layer."""
    kind = type(node)
    known = ctx.constants if values is None else values
    value = literal(node, known)
    if value is not None:
        return value
    bound = key(node, self_name)
    if bound is not None:
        return objects.get(bound, "?")
    if kind is cst.Call:
        parts = dotted(node.func)  # type: ignore[attr-defined]
        api = (ctx.resolve_final(parts) if parts else None) or "?"
        args = ",".join(
            _argument(arg, ctx, self_name, objects, known)
            for arg in node.args  # type: ignore[attr-defined]
            if not _no_variables(arg, api)
        )
        return f"{api}({args})"
    if kind is cst.List or kind is cst.Tuple:
        inner = ",".join(
            signature(e.value, ctx, self_name, objects, known)
            for e in node.elements  # type: ignore[attr-defined]
        )
        return f"[{inner}]"
    if kind is cst.ListComp:
        element = signature(node.elt, ctx, self_name, objects, known)  # type: ignore[attr-defined]
        source = signature(node.for_in.iter, ctx, self_name, objects, known)  # type: ignore[attr-defined]
        return f"[{element} for {source}]"
    return "?"


def _argument(
    arg: cst.Arg,
    ctx: ModuleContext,
    self_name: str | None,
    objects: Mapping[str, str],
    known: Mapping[str, str],
) -> str:
    """One argument of a constructor or factory call, as a signature spells it."""
    keyword = arg.keyword.value + "=" if arg.keyword is not None else arg.star
    return keyword + signature(arg.value, ctx, self_name, objects, known)


def factories(statements: object, ctx: ModuleContext) -> dict[str, str]:
    """Module functions that build a layer object and return it (`def get_cell(n): cell =
    LSTMCell(n); return DropoutWrapper(cell)`): nothing is created until it is used, so a call
    of one binds an object, whose identity is what the factory returns and the call's arguments.
    """
    found: dict[str, str] = {}
    for statement in statements:  # type: ignore[attr-defined]
        if type(statement) is not cst.FunctionDef:
            continue
        body = list(straight(suite(statement.body)))
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
    return keyword in apis.NAME_KEYWORDS or keyword in apis.NO_VARIABLE_KEYWORDS


def uses(node: cst.CSTNode, objects: Mapping[str, str], self_name: str | None) -> Iterator[str]:
    """The bound objects an expression or statement reads, in order."""
    if not objects:
        return
    pending: list[cst.CSTNode] = [node]
    while pending:
        current = pending.pop()
        kind = type(current)
        if kind is cst.Name or kind is cst.Attribute or kind is cst.Subscript:
            bound = key(current, self_name)  # type: ignore[arg-type]
            if bound is not None and bound in objects:
                yield bound
                continue
        if kind is cst.FunctionDef or kind is cst.ClassDef or kind is cst.Lambda:
            continue
        pending.extend(reversed(kids(current)))


def straight(statements: object) -> Iterator[cst.CSTNode]:
    """A body's statements, with those of its `with` blocks (scopes and devices) in place."""
    for statement in statements:  # type: ignore[attr-defined]
        if type(statement) is cst.With:
            yield from straight(suite(statement.body))
        else:
            yield statement
