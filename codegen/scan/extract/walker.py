"""The function walker: one pass over a function's tree gives its exact, renamed and skeleton
token streams and its call facts.

The walk dispatches on exact node types through one table (`dispatch.WALK`) and spells out the
commonest node types by hand: it is the scanner's hot loop, and these shapes are what the
benchmark holds. The walker is built up in layers: `tokens.TokenWalker` (state and token
emission), `calls.CallWalker` (calls), and here the `with` blocks and inline layers."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import libcst as cst

from codegen import names
from codegen.scan.extract import objects, units
from codegen.scan.extract.calls import CallWalker
from codegen.scan.extract.dispatch import HANDLERS, Walk, fields
from codegen.scan.extract.dispatch import WALK as _WALK
from codegen.scan.extract.held import Unplaced, reads, structure
from codegen.scan.extract.literals import literal
from codegen.scan.extract.nodes import dotted, is_docstring, name_argument


class FunctionWalker(CallWalker):
    """Turns one function into exact, renamed and skeleton token streams plus call facts."""

    def with_statement(self, node: cst.With) -> None:
        if units.only_marks(node):
            self.body(node.body)  # apply's own `with <shim>.layer(...)`: as if it were not there
            return
        self.with_block(node, as_units=False)

    def with_block(
        self,
        node: cst.With,
        *,
        as_units: bool,
        spans: list[tuple[int, int, cst.CSTNode]] | None = None,
    ) -> int:
        """Walk a `with`; its body as units when asked (noting each statement's token span in
        `spans`). Returns where the body's tokens start."""
        self.same("With")
        pushed = 0
        labels = 0
        defaults = len(self.scope_defaults)
        for item in node.items:
            if units.is_mark(item):
                continue  # a layer mark apply added never makes the routed file differ
            self.walk(item.item)
            if item.asname is not None:
                self.walk(item.asname)
            call = item.item
            if type(call) is cst.Call:
                parts = dotted(call.func)
                api = self.ctx.resolve_final(parts) if parts else None
                if api is not None and api.endswith(".variable_scope"):
                    first = name_argument(call, ("name_or_scope",))
                    part = self.name_part(first) if first is not None else None
                    if part is None:
                        self.var_names = None
                    self.scope_stack.append(part)
                    pushed += 1
                if api is not None and api.endswith((".variable_scope", ".name_scope")):
                    self.label_scopes.append(units.scope_name(call))
                    labels += 1
                if api is not None and api.endswith(".arg_scope"):
                    self.open_defaults(call)
        body_start = len(self.renamed)
        if as_units:
            self.unit_statements(_statements(node.body), spans)
        else:
            self.body(node.body)
        del self.scope_stack[len(self.scope_stack) - pushed :]
        del self.label_scopes[len(self.label_scopes) - labels :]
        self.scope_defaults = self.scope_defaults[:defaults]
        self.same(")")
        return body_start

    def open_defaults(self, call: cst.Call) -> None:
        """Note the literal keyword defaults an `arg_scope(...)` sets: what the calls in its body
        create depends on them, so they are part of each one's arguments (record_layer)."""
        self.scope_defaults = self.scope_defaults + tuple(
            (f"arg_scope.{arg.keyword.value}", value)
            for arg in call.args
            if arg.keyword is not None
            and (value := literal(arg.value, self.ctx.constants)) is not None
        )

    # -- inline layers ------------------------------------------------------------------------
    def units(self, block: cst.BaseSuite) -> None:
        """A function body, as body() walks it, noting the statements that are inline layers."""
        self.unit_statements(_statements(block))

    def unit_statements(
        self,
        statements: Sequence[cst.CSTNode],
        spans: list[tuple[int, int, cst.CSTNode]] | None = None,
    ) -> None:
        """Each statement that creates variables is a unit; a `with` that only opens scopes is a
        unit as a whole unless it holds nested scope blocks or builder calls (then its statements
        are); a loop or branch that holds layer calls is one unit. `spans` gets each statement's
        token span, for the block around them."""
        for statement in statements:
            if spans is not None:
                begin = len(self.renamed)
                self.unit_statement(statement)
                spans.append((begin, len(self.renamed), statement))
            else:
                self.unit_statement(statement)

    def unit_statement(self, statement: cst.CSTNode) -> None:
        """One statement of unit_statements."""
        kind = type(statement)
        start, made, calls = len(self.renamed), len(self.creations), len(self.layer_calls)
        noted, used = len(self.raw_units), len(self.used_objects)
        scope = self.label_scopes[-1] if self.label_scopes else None
        static = self.dynamic == 0
        if kind is cst.With and units.only_marks(statement):  # type: ignore[arg-type]
            self.unit_statements(_statements(statement.body))  # type: ignore[attr-defined]
            return  # apply's own wrapping `with`: its statements are the block's
        if kind is cst.With and units.transparent(statement, self):  # type: ignore[arg-type]
            spans: list[tuple[int, int, cst.CSTNode]] = []
            body_start = self.with_block(statement, as_units=True, spans=spans)  # type: ignore[arg-type]
            if len(self.creations) == made:
                return
            inner = self.raw_units[noted:]
            builders = len(self.layer_calls) - calls > len(self.creations) - made
            if any(u.kind == "with" for u in inner) or builders:
                return  # a container: its own statements are the units
            held = [o for u in inner for o in u.objects]
            del self.raw_units[noted:]
            opened = [i for i in statement.items if not units.is_mark(i)]  # type: ignore[attr-defined]
            own = units.scope_name(opened[-1].item)
            self.raw_units.append(
                units.RawUnit(
                    "with",
                    body_start,
                    len(self.renamed) - 1,
                    range(calls, len(self.layer_calls)),
                    range(made, len(self.creations)),
                    static,
                    own if own is not None else scope,
                    statement,
                    held,
                    units.creating_parts(inner, spans),
                )
            )
            return
        _WALK[kind](self, statement)
        # A loop may fill a list of layer objects, a branch may only build them.
        builds = kind is cst.SimpleStatementLine or kind is cst.For or kind is cst.If
        if builds and self.layer_object(statement, made, calls):
            return
        if self.objects:
            calls += self.unplaced_reads(statement, calls, made)
        compound = kind in units.COMPOUND
        if len(self.creations) > made or (compound and len(self.layer_calls) > calls):
            taken = dict.fromkeys(objects.uses(statement, self.objects, self.self_name))
            held = self.used_objects[used:] + [self.objects.pop(b) for b in taken]
            self.raw_units.append(
                units.RawUnit(
                    "compound" if compound else "statement",
                    start,
                    len(self.renamed),
                    range(calls, len(self.layer_calls)),
                    range(made, len(self.creations)),
                    static,
                    scope,
                    statement,
                    held,
                )
            )

    @functools.cached_property
    def keras_class(self) -> bool:
        """Whether the method walked is one of a Keras layer or model class of this module."""
        name = self.class_name
        return name is not None and objects.keras_class(name.split(".", 1)[0], self.ctx)

    def layer_object(self, statement: cst.CSTNode, made: int, calls: int) -> bool:
        """Whether the statement only built a layer object (not a layer: it creates nothing
        yet); then its object is bound for the statements that use it."""
        if self.held_list(statement, made, calls):
            return True
        if (
            len(self.creations) == made
            and not self.objects
            and len(self.layer_calls) == calls
            and not self.ctx.layer_classes
            and not self.ctx.factories
        ):
            return False
        values = self.literal_values()
        held = structure(statement, self.ctx, self.self_name, self.objects, values)
        if held is not None:  # a structure of layer objects: its items, bound one by one
            return all([self.bind_object(bound, made, calls) for bound in held])
        found = objects.binding(statement, self.ctx, self.self_name, self.objects, values)
        return self.bind_object(found, made, calls)

    def unplaced_reads(self, statement: cst.CSTNode, calls: int, made: int) -> int:
        """Note each layer object this statement reads where the scan cannot place its use: a
        structure it does not follow (`Unplaced`), or, in a Keras class, one still unused after
        a statement that creates nothing itself (passed on, aliased: `layer = self.embed`). A
        layer call of `names.UNPLACED` + its name, at the statement's start, ends the model's
        sequence there. Returns how many."""
        held = {name for name, value in self.objects.items() if type(value) is Unplaced}
        if len(self.creations) == made and self.keras_class:
            held = set(self.objects)  # (its own creations make a unit, objects held in it)
        if not held:
            return 0
        known = {**dict.fromkeys(self.spent, ""), **self.objects}  # items called stay followed
        found = reads(statement, known, self.self_name)
        read = [name for name in dict.fromkeys(found) if name in held]
        for name in read:
            del self.objects[name]
            self.spent = self.spent | {name}
        static = self.dynamic == 0
        marks: list = [(names.UNPLACED + n, False, [], [], [], statement, static, []) for n in read]
        self.layer_calls[calls:calls] = marks  # at the statement: `self.layer_calls` notes a node
        return len(marks)


def _statements(block: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    """A suite's statements with its docstring left out, as body() walks them."""
    statements: Sequence[cst.CSTNode] = block.body if type(block) is cst.IndentedBlock else (block,)
    if statements and is_docstring(statements[0]):
        statements = statements[1:]
    return statements


# Handlers for the node types whose tokens are not the generic "Type fields... )" form.
_HANDLERS: dict[type, Walk] = {
    cst.Name: FunctionWalker.name,
    cst.Attribute: FunctionWalker.attribute,
    cst.Integer: FunctionWalker.number,
    cst.Float: FunctionWalker.number,
    cst.Imaginary: FunctionWalker.number,
    cst.SimpleString: FunctionWalker.string,
    cst.FormattedString: FunctionWalker.formatted,
    cst.Arg: FunctionWalker.arg,
    cst.Param: FunctionWalker.param,
    cst.AssignTarget: FunctionWalker.assign_target,
    cst.For: FunctionWalker.for_loop,
    cst.CompFor: FunctionWalker.for_loop,
    cst.AsName: FunctionWalker.as_name,
    cst.AugAssign: FunctionWalker.aug_assign,
    cst.AnnAssign: FunctionWalker.ann_assign,
    cst.NamedExpr: FunctionWalker.named_expr,
    cst.FunctionDef: FunctionWalker.nested_def,
    cst.ClassDef: FunctionWalker.nested_def,
    cst.Call: FunctionWalker.call,
    cst.IndentedBlock: FunctionWalker.body,
    cst.With: FunctionWalker.with_statement,
}
# The generic walks spelled out as handlers, and the fields each one assumes its types have: if
# libcst ever changes one of these, every type falls back to the generic walk.
_SPELLED_OUT: dict[type, Walk] = {
    cst.SimpleStatementLine: FunctionWalker.statement_line,
    cst.Assign: FunctionWalker.assign,
    cst.Element: FunctionWalker.element,
    cst.BinaryOperation: FunctionWalker.binary_operation,
    cst.Return: FunctionWalker.return_statement,
    cst.List: FunctionWalker.sequence,
    cst.Tuple: FunctionWalker.sequence,
    cst.UnaryOperation: FunctionWalker.unary_operation,
    cst.Subscript: FunctionWalker.subscript,
    cst.Parameters: FunctionWalker.parameters,
}
_SPELLED_OUT_FIELDS: dict[type, tuple[str, ...]] = {
    cst.SimpleStatementLine: ("body",),
    cst.Assign: ("targets", "value"),
    cst.Element: ("value",),
    cst.BinaryOperation: ("left", "operator", "right"),
    cst.Return: ("value",),
    cst.List: ("elements",),
    cst.Tuple: ("elements",),
    cst.UnaryOperation: ("operator", "expression"),
    cst.Subscript: ("value", "slice"),
    cst.SubscriptElement: ("slice",),  # walked inside subscript()
    cst.Index: ("value", "star"),  # walked inside subscript()
    cst.Parameters: (
        "params",
        "star_arg",
        "kwonly_params",
        "star_kwarg",
        "posonly_params",
        "posonly_ind",
    ),
}
HANDLERS.update(_HANDLERS)
if all(fields(kind) == expected for kind, expected in _SPELLED_OUT_FIELDS.items()):
    HANDLERS.update(_SPELLED_OUT)
