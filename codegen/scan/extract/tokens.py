"""The token walk of one function: its exact, renamed and skeleton token streams.

`TokenWalker` holds the walk's state and the handlers of names, literals, arguments and the
commonest statements; `calls.CallWalker` adds what a call is, `walker.FunctionWalker` the `with`
blocks and inline layers, and `dispatch` the table that picks each node type's handler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst

from codegen import literals
from codegen.scan import apis
from codegen.scan.extract import units
from codegen.scan.extract.computed import Reader
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.dispatch import WALK as _WALK
from codegen.scan.extract.literals import NAME_VALUE_NODES
from codegen.scan.extract.nodes import dotted, is_docstring


class TokenWalker:
    """The walk's state, and the handlers that only emit tokens."""

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
        self.object_calls: list[str] = []  # `sess.run` -> "run", builtins such as `open`
        # (callee, local, args, names, opaque, call node, static); callee "" for a counter.
        self.layer_calls: list[tuple[str, bool, list, list, list, cst.Call, bool, list]] = []
        self.dynamic = 0
        self.nested_depth = 0
        self.storing = False
        # Variable names relative to the layer scope as symbolic parts ("s:W"; "p:3" = parameter 3);
        # None once anything makes them unknowable statically.
        self.param_index: dict[str, int] = {}
        self.reassigned: set[str] = set()
        self.rebound: set[str] = set()  # locals (not parameters) stored to more than once
        self.known_again: set[str] = set()  # of those, the ones last stored to a known value
        self.kwonly: frozenset[str] = frozenset()  # keyword-only parameters
        # Locals bound to a literal by their first store, outside branches and loops (`u = 64`).
        self.local_literals: dict[str, str] = {}
        # The literal defaults of the `arg_scope`s open around a call (`num_outputs=64`).
        self.scope_defaults: tuple[tuple[str, str], ...] = ()
        self.scope_stack: list[str | None] = []
        self.var_names: list[tuple[str, ...]] | None = []
        # Inline layers: each variable-creating call that is not a counter (api, call node,
        # frozen, shape known statically), the units noted around them, the literal scope names.
        self.creations: list[tuple[str, cst.Call, bool, bool]] = []
        self.raw_units: list[units.RawUnit] = []
        self.label_scopes: list[str | None] = []
        # Layer objects built and not yet used: bound name -> signature (see `objects`).
        self.objects: dict[str, str] = {}
        self.used_objects: list[str] = []  # signatures of those the current statement used
        # Attributes read through `self` (`self.units`), in order: which class attributes count.
        self.self_reads: dict[str, None] = {}

    # -- token emission ---------------------------------------------------------------------
    def literal_values(self) -> Mapping[str, str]:
        """What names stand for in a call's literal arguments (CallWalker adds parameters)."""
        return self.visible(self.ctx.constants)

    def computed(self, constants: Mapping[str, str]) -> Reader:
        """What an argument computed from module values stands for here (`H * 2`)."""
        params = {n: f"#{i}" for n, i in self.param_index.items() if n not in self.reassigned}
        params.update((name, name) for name in self.kwonly if name not in self.rebound)
        return Reader(self.ctx, constants, self.hides, self.self_name, self.class_name, params)

    def hides(self, name: str) -> bool:
        """Whether a local or parameter of this function hides the module's `name`."""
        return name in self.locals or name in self.param_index or name in self.reassigned

    def visible(self, values: Mapping[str, str]) -> Mapping[str, str]:
        """`values` as this function's locals so far leave them: a local bound once to a literal
        (`units = 64`) stands for it, any other local hides the module constant it shadows."""
        if len(self.locals) == len(self.param_index):
            return values  # no local bound yet: the common case, settled at once
        out: dict[str, str] | None = None
        for name in self.locals:
            if name in self.param_index:
                continue
            unknown = name in self.rebound and name not in self.known_again
            bound = None if unknown else self.local_literals.get(name)
            if bound != values.get(name):
                if out is None:
                    out = dict(values)
                if bound is None:
                    del out[name]
                else:
                    out[name] = bound
        return values if out is None else out

    def closure_bindings(self, nested: set[str]) -> dict[str, str | None]:
        """What this function's nested functions see of its names (nested defs left out): each
        local or parameter, with the literal it is bound to once (`u = 64`), else None."""
        return {
            name: None
            if name in self.param_index or name in self.rebound
            else self.local_literals.get(name)
            for name in self.locals
            if name not in nested
        }

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
            else:
                self.rebound.add(value)
                self.known_again.discard(value)
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
            elif value in self.ctx.constants:  # an enclosing function's local literal (closure)
                self.blanked(f"B:{value}={self.ctx.constants[value]}", "B:" + value)
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
                self.self_reads[parts[1]] = None
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
        # Annotations never decide (`config: BertConfig` in a copy that says `RobertaConfig`):
        # they change no variable that is created, so they are not part of the code compared.
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

    # The generic walk (see dispatch._generic_walker) spelled out for the commonest node types
    # that have no handler of their own: the same tokens, without its per-field type checks.
    # `walker` only installs them while those types' fields are still the ones spelled out.
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
        if type(node.name) is cst.Name and node.name.value in self.ctx.function_imports:
            self.walk(node.name)  # `import tensorflow as tf` in a body: an alias, not a local
            return
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
