"""The function walker: one pass over a function's tree gives its exact, renamed and skeleton
token streams and its call facts.

The walk dispatches on exact node types through one table (`_WALK`) and spells out the commonest
node types by hand: it is the scanner's hot loop, and these shapes are what the benchmark holds."""

from __future__ import annotations

import builtins
import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

import libcst as cst

from codegen import literals
from codegen.scan import apis
from codegen.scan.extract import units
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.literals import NAME_VALUE_NODES, STRING_NODES, literal
from codegen.scan.extract.nodes import dotted, is_docstring, name_argument

_BUILTINS = frozenset(dir(builtins))

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


def _fields(node_type: type) -> tuple[str, ...]:
    """Semantic child fields of a libcst node type, layout fields left out."""
    names = _FIELD_CACHE.get(node_type)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(node_type) if not _LAYOUT_FIELD.search(f.name)
        )
        _FIELD_CACHE[node_type] = names
    return names


class FunctionWalker:
    """Turns one function into exact, renamed and skeleton token streams plus call facts."""

    def __init__(
        self, ctx: ModuleContext, *, qualname: str, class_name: str | None, nested: dict[str, str]
    ):
        self.ctx = ctx
        self.qualname = qualname
        self.class_name = class_name
        self.nested = nested  # nested def name -> qualname
        self.self_name: str | None = None
        # Each name's placeholder token ("L0", "D0", "S0"), numbered in order of first use.
        self.locals: dict[str, str] = {}
        self.deps: dict[str, str] = {}
        self.strings: dict[str, str] = {}
        # One token stream (the renamed form) plus the few positions where the exact form and the
        # skeleton differ from it: one append per node keeps the walk cheap.
        self.renamed: list[str] = []
        self.exact_overrides: list[tuple[int, str]] = []
        self.skeleton_overrides: list[tuple[int, str]] = []
        self.same = self.renamed.append  # a token identical in all three forms (the hot path)
        self.literals: list[str] = []
        self.name_nodes: set[int] = set()
        self.api_calls: list[str] = []
        self.local_calls: list[str] = []
        self.external_calls: list[str] = []
        self.layer_calls: list[tuple[str, bool, list, list, list, str, bool, list]] = []
        self.dynamic = 0
        self.nested_depth = 0
        self.storing = False
        # Variable names relative to the layer scope as symbolic parts ("s:W"; "p:3" = parameter 3);
        # None once anything makes them unknowable statically.
        self.param_index: dict[str, int] = {}
        self.reassigned: set[str] = set()
        self.scope_stack: list[str | None] = []
        self.var_names: list[tuple[str, ...]] | None = []
        # Inline layers: each variable-creating call that is not a counter (api, call node,
        # frozen, shape known statically), the units noted around them, the literal scope names.
        self.creations: list[tuple[str, cst.Call, bool, bool]] = []
        self.raw_units: list[units.RawUnit] = []
        self.label_scopes: list[str | None] = []

    # -- token emission ---------------------------------------------------------------------
    def stream(self, overrides: list[tuple[int, str]]) -> list[str]:
        """The renamed stream with some positions replaced: the exact form or the skeleton."""
        tokens = list(self.renamed)
        for index, token in overrides:
            tokens[index] = token
        return tokens

    def variant(self, exact: str, renamed: str, skeleton: str) -> None:
        index = len(self.renamed)
        self.renamed.append(renamed)
        if exact != renamed:
            self.exact_overrides.append((index, exact))
        if skeleton != renamed:
            self.skeleton_overrides.append((index, skeleton))

    def blanked(self, token: str, blank: str) -> None:
        """A value that may differ in a near-miss: kept in hashes, blanked in the skeleton."""
        self.skeleton_overrides.append((len(self.renamed), blank))
        self.renamed.append(token)
        self.literals.append(token)

    # -- traversal --------------------------------------------------------------------------
    # Every node type maps to one function in _WALK (a handler below, or a generic walker built
    # once per type). Hot handlers look their children up in _WALK themselves instead of calling
    # walk(): one Python call per node instead of two.
    def walk(self, node: cst.CSTNode) -> None:
        _WALK[type(node)](self, node)

    def walk_store(self, node: cst.CSTNode) -> None:
        previous, self.storing = self.storing, True
        _WALK[type(node)](self, node)
        self.storing = previous

    def name(self, node: cst.Name) -> None:
        value = node.value
        if value == self.self_name:  # never a new local, even when stored to
            self.renamed.append("SELF")
            return
        local = self.locals
        if self.storing:
            if value not in local:
                local[value] = f"L{len(local)}"
            elif value in self.param_index:
                self.reassigned.add(value)
        # variant() inlined: a local's or a module symbol's renamed token is also its skeleton
        # token, and always differs from its exact token.
        placeholder = local.get(value)
        if placeholder is not None:
            self.exact_overrides.append((len(self.renamed), "N:" + value))
            self.renamed.append(placeholder)
        elif value in self.ctx.symbols:
            placeholder = self.deps.get(value)
            if placeholder is None:
                placeholder = self.deps[value] = f"D{len(self.deps)}"
            self.exact_overrides.append((len(self.renamed), "G:" + value))
            self.renamed.append(placeholder)
        else:
            resolved = self.ctx.resolve_final((value,))
            if resolved is not None:
                self.blanked("A:" + resolved, "A?")
            else:
                self.renamed.append("B:" + value)

    def attribute(self, node: cst.Attribute) -> None:
        self.attribute_chain(node, dotted(node))

    def attribute_chain(self, node: cst.Attribute, parts: tuple[str, ...] | None) -> None:
        """An attribute whose dotted() parts the caller already has."""
        if parts is not None and not self.storing:
            root = parts[0]
            if root == self.self_name:
                self.renamed.append("SELF." + ".".join(parts[1:]))
                return
            if root not in self.locals and root not in self.ctx.symbols:
                resolved = self.ctx.resolve_final(parts)
                if resolved is not None:
                    token = "A:" + resolved
                    self.skeleton_overrides.append((len(self.renamed), "A?"))  # blanked(), inlined
                    self.renamed.append(token)
                    self.literals.append(token)
                    return
        previous, self.storing = self.storing, False
        value = node.value
        if type(value) is cst.Attribute:
            # The inner chain's parts are ours minus the last (None stays None).
            self.attribute_chain(value, parts[:-1] if parts is not None else None)
        else:
            _WALK[type(value)](self, value)
        self.storing = previous
        self.renamed.append("." + node.attr.value)

    def number(self, node: cst.Integer | cst.Float | cst.Imaginary) -> None:
        token = "#" + literals.canonical(node.value)
        # blanked() inlined here and in the other hottest places: numbers, operators, APIs.
        self.skeleton_overrides.append((len(self.renamed), "#?"))
        self.renamed.append(token)
        self.literals.append(token)

    def string(self, node: cst.SimpleString) -> None:
        value = literals.canonical(node.value)
        if id(node) in self.name_nodes:
            self.name_string(value)
        else:
            self.blanked("s:" + value, "s?")

    def name_string(self, value: str) -> None:
        placeholder = self.strings.get(value)
        if placeholder is None:
            placeholder = self.strings[value] = f"S{len(self.strings)}"
        self.variant("S:" + value, placeholder, placeholder)

    def formatted(self, node: cst.FormattedString) -> None:
        in_name = id(node) in self.name_nodes
        self.same("FormattedString")
        for part in node.parts:
            if type(part) is cst.FormattedStringText:
                if in_name:
                    self.name_string(repr(part.value))
                else:
                    self.blanked("s:" + repr(part.value), "s?")
            elif type(part) is cst.FormattedStringExpression:
                self.walk(part.expression)
        self.same(")")

    def arg(self, node: cst.Arg) -> None:
        append = self.renamed.append
        append("Arg" + node.star)
        if node.keyword is not None:
            append("K:" + node.keyword.value)
        value = node.value
        _WALK[type(value)](self, value)

    def param(self, node: cst.Param) -> None:
        self.renamed.append("Param" + (node.star if type(node.star) is str else ""))
        previous, self.storing = self.storing, True
        self.name(node.name)
        self.storing = previous
        if node.annotation is not None:
            self.walk(node.annotation)
        default = node.default
        if default is not None:
            if type(default) in NAME_VALUE_NODES and apis.is_name_parameter(node.name.value):
                self.name_nodes.add(id(default))
            _WALK[type(default)](self, default)

    def assign_target(self, node: cst.AssignTarget) -> None:
        self.renamed.append("=")
        previous, self.storing = self.storing, True  # walk_store(), inlined
        _WALK[type(node.target)](self, node.target)
        self.storing = previous

    # The generic walk (see _generic_walker) spelled out for the commonest node types that have
    # no handler of their own: the same tokens, without its per-field type checks. _HANDLERS
    # only uses them while those types' fields are still the ones spelled out (_SPELLED_OUT).
    def statement_line(self, node: cst.SimpleStatementLine) -> None:
        append = self.renamed.append
        append("SimpleStatementLine")
        for small in node.body:
            _WALK[type(small)](self, small)
        append(")")

    def assign(self, node: cst.Assign) -> None:
        append = self.renamed.append
        append("Assign")
        for target in node.targets:
            _WALK[type(target)](self, target)
        value = node.value
        _WALK[type(value)](self, value)
        append(")")

    def element(self, node: cst.Element) -> None:
        append = self.renamed.append
        append("Element")
        value = node.value
        _WALK[type(value)](self, value)
        append(")")

    def binary_operation(self, node: cst.BinaryOperation) -> None:
        append = self.renamed.append
        append("BinaryOperation")
        left, operator, right = node.left, node.operator, node.right
        _WALK[type(left)](self, left)
        _WALK[type(operator)](self, operator)
        _WALK[type(right)](self, right)
        append(")")

    def return_statement(self, node: cst.Return) -> None:
        append = self.renamed.append
        append("Return")
        value = node.value
        _WALK[type(value)](self, value)  # None emits nothing, as in the generic walk
        append(")")

    def sequence(self, node: cst.List | cst.Tuple) -> None:
        append = self.renamed.append
        append(type(node).__name__)
        for element in node.elements:
            _WALK[type(element)](self, element)
        append(")")

    def unary_operation(self, node: cst.UnaryOperation) -> None:
        append = self.renamed.append
        append("UnaryOperation")
        operator, expression = node.operator, node.expression
        _WALK[type(operator)](self, operator)
        _WALK[type(expression)](self, expression)
        append(")")

    def subscript(self, node: cst.Subscript) -> None:
        append = self.renamed.append
        append("Subscript")
        value = node.value
        _WALK[type(value)](self, value)
        for element in node.slice:
            append("SubscriptElement")
            index = element.slice
            if type(index) is cst.Index:
                append("Index")
                _WALK[type(index.value)](self, index.value)
                if index.star:
                    append(index.star)
                append(")")
            else:
                _WALK[type(index)](self, index)
            append(")")
        append(")")

    def parameters(self, node: cst.Parameters) -> None:
        append = self.renamed.append
        append("Parameters")
        for param in node.params:
            self.param(param)
        if type(node.star_arg) is not cst.MaybeSentinel:  # *args, or a bare * before kwonly
            _WALK[type(node.star_arg)](self, node.star_arg)
        for param in node.kwonly_params:
            self.param(param)
        if node.star_kwarg is not None:
            self.param(node.star_kwarg)
        for param in node.posonly_params:
            self.param(param)
        if type(node.posonly_ind) is not cst.MaybeSentinel:  # the / after positional-only ones
            _WALK[type(node.posonly_ind)](self, node.posonly_ind)
        append(")")

    def for_loop(self, node: cst.For | cst.CompFor) -> None:
        self.dynamic += 1
        self.same(type(node).__name__)
        self.walk_store(node.target)
        self.walk(node.iter)
        for name in ("body", "orelse", "ifs", "inner_for_in"):
            value = getattr(node, name, None)
            if isinstance(value, cst.CSTNode):
                self.walk(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    self.walk(item)
        self.same(")")
        self.dynamic -= 1

    def as_name(self, node: cst.AsName) -> None:
        self.same("as")
        self.walk_store(node.name)

    def aug_assign(self, node: cst.AugAssign) -> None:
        self.same("AugAssign")
        self.walk_store(node.target)
        self.walk(node.operator)
        self.walk(node.value)
        self.same(")")

    def ann_assign(self, node: cst.AnnAssign) -> None:
        self.same("AnnAssign")
        self.walk_store(node.target)
        self.walk(node.annotation.annotation)
        if node.value is not None:
            self.walk(node.value)
        self.same(")")

    def named_expr(self, node: cst.NamedExpr) -> None:
        self.same("NamedExpr")
        self.walk_store(node.target)
        self.walk(node.value)
        self.same(")")

    def nested_def(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        if self.storing:
            return
        if node.name.value not in self.locals:
            self.locals[node.name.value] = f"L{len(self.locals)}"
        self.nested_depth += 1
        self.same(type(node).__name__)
        for decorator in node.decorators:
            self.walk(decorator.decorator)
        if isinstance(node, cst.FunctionDef):
            self.walk(node.params)
        else:
            for base in node.bases:
                self.walk(base)
        self.body(node.body)
        self.same(")")
        self.nested_depth -= 1

    def body(self, block: cst.BaseSuite) -> None:
        """A suite with its docstring left out: docstrings never make two copies differ."""
        statements: Sequence[cst.CSTNode] = (
            block.body if type(block) is cst.IndentedBlock else (block,)
        )
        if statements and is_docstring(statements[0]):
            statements = statements[1:]
        for statement in statements:
            _WALK[type(statement)](self, statement)

    def name_part(self, node: cst.BaseExpression) -> str | None:
        """A scope or variable name as a symbolic part: a literal, or one of the parameters."""
        if type(node) is cst.SimpleString:
            value = literals.string(node.value)
            return f"s:{value}" if value and "/" not in value else None
        if type(node) is cst.Name and node.value in self.param_index:
            return f"p:{self.param_index[node.value]}"
        return None

    def static_variable_names(self) -> tuple[tuple[str, ...], ...] | None:
        """The recorded names, unless a parameter they use is reassigned somewhere in the body."""
        if self.var_names is None:
            return None
        if not self.reassigned:  # the common case, settled without building the set below
            return tuple(self.var_names)
        reassigned = {f"p:{self.param_index[name]}" for name in self.reassigned}
        if any(part in reassigned for names in self.var_names for part in names):
            return None
        return tuple(self.var_names)

    def with_statement(self, node: cst.With) -> None:
        if units.only_marks(node):
            self.body(node.body)  # apply's own `with <shim>.layer(...)`: as if it were not there
            return
        self.with_block(node, as_units=False)

    def with_block(self, node: cst.With, *, as_units: bool) -> int:
        """Walk a `with`; its body as units when asked. Returns where the body's tokens start."""
        self.same("With")
        pushed = 0
        labels = 0
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
        body_start = len(self.renamed)
        if as_units:
            self.unit_statements(_statements(node.body))
        else:
            self.body(node.body)
        del self.scope_stack[len(self.scope_stack) - pushed :]
        del self.label_scopes[len(self.label_scopes) - labels :]
        self.same(")")
        return body_start

    # -- inline layers ------------------------------------------------------------------------
    def units(self, block: cst.BaseSuite) -> None:
        """A function body, as body() walks it, noting the statements that are inline layers."""
        self.unit_statements(_statements(block))

    def unit_statements(self, statements: Sequence[cst.CSTNode]) -> None:
        """Each statement that creates variables is a unit; a `with` that only opens scopes is a
        unit as a whole unless it holds nested scope blocks or builder calls (then its statements
        are); a loop or branch that holds layer calls is one unit."""
        for statement in statements:
            kind = type(statement)
            start, made, calls = len(self.renamed), len(self.creations), len(self.layer_calls)
            noted = len(self.raw_units)
            scope = self.label_scopes[-1] if self.label_scopes else None
            static = self.dynamic == 0
            if kind is cst.With and units.only_marks(statement):  # type: ignore[arg-type]
                self.unit_statements(_statements(statement.body))  # type: ignore[attr-defined]
                continue  # apply's own wrapping `with`: its statements are the block's
            if kind is cst.With and units.transparent(statement, self):  # type: ignore[arg-type]
                body_start = self.with_block(statement, as_units=True)  # type: ignore[arg-type]
                if len(self.creations) == made:
                    continue
                inner = self.raw_units[noted:]
                builders = len(self.layer_calls) - calls > len(self.creations) - made
                if any(u.kind == "with" for u in inner) or builders:
                    continue  # a container: its own statements are the units
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
                    )
                )
                continue
            _WALK[kind](self, statement)
            compound = kind in units.COMPOUND
            if len(self.creations) > made or (compound and len(self.layer_calls) > calls):
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
                    )
                )

    def record_variable(self, node: cst.Call, api: str) -> None:
        """Note the name a variable-creating call gives, or give up on static names."""
        if self.var_names is None:
            return
        if not api.endswith(".get_variable") or self.dynamic:
            self.var_names = None
            return
        first = name_argument(node, ("name",))
        part = self.name_part(first) if first is not None else None
        if part is None or None in self.scope_stack:
            self.var_names = None
            return
        self.var_names.append((*self.scope_stack, part))  # type: ignore[arg-type]

    def call(self, node: cst.Call) -> None:
        func = node.func
        parts = dotted(func)  # computed once for the callee, its walk and its line
        callee_local, callee_api, params = self.classify_callee(parts)
        self.renamed.append("Call")
        if type(func) is cst.Attribute:
            self.attribute_chain(func, parts)
        else:
            _WALK[type(func)](self, func)
        append = self.renamed.append
        for index, arg in enumerate(node.args):
            value = arg.value
            if type(value) in STRING_NODES and self.is_name_argument(
                arg, index, callee_api, params
            ):
                # Marked before its walk, which is the only place (with record_layer) that reads it.
                self.name_nodes.add(id(value))
            # arg() inlined: a call's arguments are most of the Arg nodes there are.
            append("Arg" + arg.star)
            if arg.keyword is not None:
                append("K:" + arg.keyword.value)
            _WALK[type(value)](self, value)
        append(")")
        if self.nested_depth:
            return
        if callee_api is not None:
            self.api_calls.append(callee_api)
            if apis.creates_variables(callee_api):
                role = units.creation_role(node, callee_api, self.dynamic > 0)
                if role == "counter":
                    # A step counter or an optimizer slot: never a layer. Its line is still taken,
                    # so the calls after it find theirs (lines are looked up in textual order).
                    self.layer_calls.append(
                        ("", False, [], [], [], parts[-1] if parts else "", False, [])
                    )
                    return
                self.creations.append((callee_api, node, role == "frozen", units.known_shape(node)))
                self.record_variable(node, callee_api)
                self.record_layer(callee_api, False, node, params, parts)
            elif not apis.is_library(callee_api):
                self.external_calls.append(callee_api)
                self.record_layer(callee_api, False, node, params, parts)
        elif callee_local is not None:
            self.local_calls.append(callee_local)
            self.record_layer(callee_local, True, node, params, parts)
        elif parts is not None:
            if len(parts) >= 2 and parts[0] == self.self_name:
                # A method the class does not define itself (inherited, resolved across modules),
                # or a method of an object held in an attribute (`self.encoder.encode`), which
                # the plan cannot see into: it ends a shared trunk.
                self.record_layer("self." + ".".join(parts[1:]), False, node, params, parts)
        elif (
            type(func) is cst.Attribute
            and type(func.value) is cst.Call
            and type(func.value.func) is cst.Name
            and func.value.func.value == "super"
        ):
            self.record_layer("super." + func.attr.value, False, node, params, None)

    @staticmethod
    def is_name_argument(
        arg: cst.Arg, index: int, callee_api: str | None, params: tuple[str, ...]
    ) -> bool:
        """True for a string argument that gives a variable or scope name."""
        keyword = arg.keyword.value if arg.keyword is not None else None
        positional = params[index] if params and keyword is None and index < len(params) else None
        return bool(
            (
                keyword is not None
                and (keyword in apis.NAME_KEYWORDS or apis.is_name_parameter(keyword))
            )
            or (
                keyword is None and index == 0 and callee_api and apis.first_arg_is_name(callee_api)
            )
            or (positional is not None and apis.is_name_parameter(positional))
        )

    def classify_callee(
        self, parts: tuple[str, ...] | None
    ) -> tuple[str | None, str | None, tuple[str, ...]]:
        """(local qualname, resolved API, positional parameter names) of a call's dotted target."""
        if parts is None:
            return None, None, ()
        root = parts[0]
        ctx = self.ctx
        if root == self.self_name and len(parts) == 2 and self.class_name:
            methods = ctx.classes.get(self.class_name, {})
            if parts[1] in methods:
                return f"{self.class_name}.{parts[1]}", None, methods[parts[1]]
            return None, None, ()
        if len(parts) == 1 and root in self.nested:
            return self.nested[root], None, ()
        if root in self.locals:
            return None, None, ()
        if len(parts) == 1 and root in ctx.functions:
            return root, None, ctx.functions[root]
        if len(parts) == 1 and root in ctx.classes:
            methods = ctx.classes[root]
            if "__call__" in methods:
                return f"{root}.__call__", None, methods.get("__init__", ())
            return (
                (f"{root}.__init__", None, methods["__init__"])
                if "__init__" in methods
                else (None, None, ())
            )
        if root in ctx.symbols:
            return None, None, ()
        if (
            ctx.star_local
            and root not in ctx.aliases
            and root not in _BUILTINS
            and root != self.self_name
        ):
            # A free name in a module with `from utils.x import *`: it comes through the import.
            return None, "*." + ".".join(parts), ()
        # Memoized: every call of an API then shares one string object, which only makes the
        # pickled facts smaller (facts compare equal, and their repr is the same).
        return None, ctx.resolve_final(parts), ()

    def record_layer(
        self,
        callee: str,
        local: bool,
        node: cst.Call,
        params: tuple[str, ...],
        parts: tuple[str, ...] | None,
    ) -> None:
        args: list[tuple[str, str]] = []
        names: list[tuple[str, str]] = []
        opaque: list[str] = []
        refs: list[tuple[str, str]] = []
        constants, name_nodes = self.ctx.constants, self.name_nodes
        for index, arg in enumerate(node.args):
            if arg.star:
                opaque.append(arg.star)
                continue
            if arg.keyword is not None:
                keyword = arg.keyword.value
                key = f"#{params.index(keyword)}" if keyword in params else keyword
            else:
                key = f"#{index}"
            value = literal(arg.value, constants)
            if value is None:
                opaque.append(key)
                target = self.reference(arg.value)
                if target is not None:
                    refs.append((key, target))
            elif id(arg.value) in name_nodes:
                names.append((key, value))
            else:
                args.append((key, value))
        # The name its line is looked up by: the callee's last dotted part as spelled here.
        leaf = parts[-1] if parts else callee.rsplit(".", 1)[-1]
        self.layer_calls.append(
            (callee, local, args, names, opaque, leaf, self.dynamic == 0, refs)
        )

    def reference(self, value: cst.BaseExpression) -> str | None:
        """What an argument that names a class or function refers to (`layer=Embedding`):
        "L:" and a module-local qualname, or "A:" and the resolved dotted name; None otherwise."""
        if type(value) is not cst.Name and type(value) is not cst.Attribute:
            return None
        parts = dotted(value)
        if parts is None or parts[0] == self.self_name or parts[0] in _BUILTINS:
            return None
        local, api, _ = self.classify_callee(parts)
        if local is not None:
            return "L:" + local
        return None if api is None else "A:" + api


def _statements(block: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    """A suite's statements with its docstring left out, as body() walks them."""
    statements: Sequence[cst.CSTNode] = block.body if type(block) is cst.IndentedBlock else (block,)
    if statements and is_docstring(statements[0]):
        statements = statements[1:]
    return statements


_Walk = Callable[[FunctionWalker, Any], None]

# Handlers for the node types whose tokens are not the generic "Type fields... )" form.
_HANDLERS: dict[type, _Walk] = {
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
_SPELLED_OUT: dict[type, _Walk] = {
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
if all(_fields(kind) == fields for kind, fields in _SPELLED_OUT_FIELDS.items()):
    _HANDLERS.update(_SPELLED_OUT)


def _skip(walker: FunctionWalker, value: object) -> None:
    """A field value that is not a node (None, a sentinel, a flag) emits nothing."""


def _operator_walker(type_name: str) -> _Walk:
    """Operators are blanked in the skeleton: `a + b` and `a * b` are a near miss."""

    def walk_operator(walker: FunctionWalker, node: cst.CSTNode) -> None:
        walker.skeleton_overrides.append((len(walker.renamed), "op?"))  # blanked(), inlined
        walker.renamed.append(type_name)
        walker.literals.append(type_name)

    return walk_operator


def _generic_walker(kind: type) -> _Walk:
    """The type name, each semantic field in order (nodes walked, strings kept), then ")"."""
    type_name = kind.__name__
    fields = _fields(kind)
    dynamic = issubclass(kind, _DYNAMIC)  # its children run conditionally or repeatedly

    def walk_generic(walker: FunctionWalker, node: cst.CSTNode) -> None:
        if dynamic:
            walker.dynamic += 1
        append = walker.renamed.append
        append(type_name)
        for name in fields:
            value = getattr(node, name)
            kind = type(value)
            if kind is list or kind is tuple:
                for item in value:
                    _WALK.get(type(item), _skip)(walker, item)
            elif kind is str:
                if value:
                    append(value)
            else:
                _WALK.get(kind, _skip)(walker, value)
        append(")")
        if dynamic:
            walker.dynamic -= 1

    return walk_generic


def _node_walker(kind: type) -> _Walk:
    """The function that walks the nodes of one libcst type."""
    if kind in _HANDLERS:
        return _HANDLERS[kind]
    if issubclass(kind, _OPERATOR_BASES):
        return _operator_walker(kind.__name__)
    return _generic_walker(kind)


def _on_first_node(kind: type) -> _Walk:
    """Stands in for a type's walker until its first node (building all ~400 at import would
    cost a short scan more than it saves)."""

    def walk_first(walker: FunctionWalker, node: cst.CSTNode) -> None:
        walk = _WALK[kind] = _node_walker(kind)
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
_WALK: dict[type, _Walk] = {kind: _on_first_node(kind) for kind in _subclasses(cst.CSTNode)}
_WALK[type(None)] = _WALK[cst.MaybeSentinel] = _skip
