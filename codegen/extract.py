"""Parse one file with libcst (once) and gather the facts every later stage needs."""

from __future__ import annotations

import ast
import bisect
import dataclasses
import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import libcst as cst

from codegen import apis, stable_hash
from codegen.model import Diagnostic, FunctionFacts, LayerCall, ModuleFacts, SourceFile, SymbolFacts

# Fields that only carry layout or comments; skipping them is what makes hashes formatting-blind.
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
_DEF_LINE = re.compile(r"^[ \t]*(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.MULTILINE)
ROUTING_DECORATOR = re.compile(r"^\w+_transfer\.(shared_layer|build)$")
_PY2_HINTS = (re.compile(r"^\s*print\s+[\"'\w]", re.M), re.compile(r"except\s+\w+\s*,\s*\w+\s*:"))

_FIELD_CACHE: dict[type, tuple[str, ...]] = {}
NON_LITERAL = "<expr>"  # a parameter default that is not a plain literal
_Kind = Literal["function", "method", "nested"]


def _fields(node_type: type) -> tuple[str, ...]:
    """Semantic child fields of a libcst node type, layout fields left out."""
    names = _FIELD_CACHE.get(node_type)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(node_type) if not _LAYOUT_FIELD.search(f.name)
        )
        _FIELD_CACHE[node_type] = names
    return names


@functools.lru_cache(maxsize=4096)
def _number(text: str) -> str:
    """Canonical spelling of a number literal (2e-2 and 0.02 are the same number)."""
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text


@functools.lru_cache(maxsize=8192)
def _string_repr(text: str) -> str:
    """repr of a string literal's value; an undecodable escape keeps its source spelling."""
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


# literal_eval compiles its input: the two helpers below would otherwise compile once per call.
@functools.lru_cache(maxsize=8192)
def _string_value(text: str) -> Any:
    """The value of a string literal (raises as literal_eval does for an undecodable one)."""
    return ast.literal_eval(_string_repr(text))


@functools.lru_cache(maxsize=4096)
def _negated(literal: str) -> Any:
    """Minus a literal's value (raises TypeError for a non-number, as `-` does)."""
    return -ast.literal_eval(literal)


_LITERAL_NODES = frozenset(
    {
        cst.Integer,
        cst.Float,
        cst.Imaginary,
        cst.SimpleString,
        cst.ConcatenatedString,
        cst.Name,
        cst.UnaryOperation,
        cst.Tuple,
        cst.List,
    }
)
_STRING_NODES = frozenset({cst.SimpleString, cst.FormattedString, cst.ConcatenatedString})
_NAME_VALUE_NODES = frozenset({cst.SimpleString, cst.FormattedString})  # may be a name default


def _dotted(node: cst.BaseExpression) -> tuple[str, ...] | None:
    """`a.b.c` as ("a", "b", "c"), or None when the chain is not plain names."""
    # `type(...) is` rather than isinstance, here and on every hot path: libcst's node classes use
    # ABCMeta, whose isinstance is slow, and its concrete node classes are never subclassed.
    # The commonest chains first: `f` and `tf.f`.
    if type(node) is cst.Name:
        return (node.value,)
    if type(node) is cst.Attribute and type(node.value) is cst.Name:
        return (node.value.value, node.attr.value)
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        parts.reverse()
        return tuple(parts)
    return None


def _literal(node: cst.BaseExpression, constants: dict[str, str]) -> str | None:
    """repr of a literal value (numbers, strings, tuples, module constants), else None."""
    if type(node) not in _LITERAL_NODES:
        return None  # calls, attributes, operators...: most arguments, settled in one lookup
    try:
        if type(node) is cst.Name:  # the commonest argument: a variable or a constant
            if node.value in ("True", "False", "None"):
                return node.value
            return constants.get(node.value)
        if type(node) is cst.Integer or type(node) is cst.Float or type(node) is cst.Imaginary:
            return _number(node.value)
        if type(node) is cst.SimpleString:
            return _string_repr(node.value)
        if type(node) is cst.ConcatenatedString:
            value = node.evaluated_value
            return None if value is None else repr(value)
        if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
            inner = _literal(node.expression, constants)
            # repr() outside the cache: a fresh string per use, as the facts always had.
            return None if inner is None else repr(_negated(inner))
        if type(node) is cst.Tuple or type(node) is cst.List:
            items: list[str] = []
            for element in node.elements:
                item = _literal(element.value, constants)
                if item is None or type(element) is cst.StarredElement:
                    return None
                items.append(item)
            body = ", ".join(items)
            if type(node) is cst.List:
                return f"[{body}]"
            return f"({body},)" if len(items) == 1 else f"({body})"
    except (ValueError, SyntaxError, TypeError, RecursionError):
        return None
    return None


@dataclass
class _ModuleContext:
    """Module-level names, gathered before any function body is read."""

    aliases: dict[str, str] = field(default_factory=dict)
    functions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> params
    classes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)  # class -> methods
    constants: dict[str, str] = field(default_factory=dict)  # literal constants: name -> repr
    symbols: set[str] = field(default_factory=set)  # every module-level def, class and constant
    star_modules: list[str] = field(default_factory=list)
    def_lines: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    # resolve() results, for the function walkers only: they run once the names above are final.
    resolved: dict[tuple[str, ...], str | None] = field(default_factory=dict)

    def resolve(self, parts: Sequence[str]) -> str | None:
        """Resolved dotted API for a name chain rooted at an import alias."""
        target = self.aliases.get(parts[0])
        if target is None:
            if self.star_modules and parts[0] not in self.symbols:
                target = f"{self.star_modules[0]}.{parts[0]}"
            else:
                return None
        return apis.normalize_api(".".join([target, *parts[1:]]))

    def resolve_final(self, parts: tuple[str, ...]) -> str | None:
        """resolve(), memoized: only once the module's names are all gathered."""
        result = self.resolved.get(parts, "")  # "" is never a resolution: it means "not yet"
        if result == "":
            result = self.resolved[parts] = self.resolve(parts)
        return result

    def take_line(self, kind: str, name: str) -> int:
        """Line of the next `def name`/`class name` in source order (1 when not found)."""
        lines = self.def_lines.get((kind, name))
        return lines.pop(0) if lines else 1


def _import_bindings(node: cst.Import | cst.ImportFrom) -> list[tuple[str, str, str]]:
    """(bound name, resolved target, canonical statement) for each name an import binds."""
    out: list[tuple[str, str, str]] = []
    if isinstance(node, cst.Import):
        for alias in node.names:
            dotted = _dotted(alias.name) or ()
            full = ".".join(dotted)
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                bound = alias.asname.name.value
                out.append((bound, full, f"import {full} as {bound}"))
            elif dotted:
                out.append((dotted[0], dotted[0], f"import {full}"))
        return out
    if isinstance(node.names, cst.ImportStar) or node.relative:
        return out
    module = ".".join(_dotted(node.module) or []) if node.module is not None else ""
    for alias in node.names:
        name = alias.name.value if type(alias.name) is cst.Name else ""
        bound = name
        if alias.asname is not None and type(alias.asname.name) is cst.Name:
            bound = alias.asname.name.value
        statement = f"from {module} import {name}" + (f" as {bound}" if bound != name else "")
        out.append((bound, f"{module}.{name}", statement))
    return out


class _FunctionWalker:
    """Turns one function into exact, renamed and skeleton token streams plus call facts."""

    def __init__(
        self, ctx: _ModuleContext, *, qualname: str, class_name: str | None, nested: dict[str, str]
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
        self.layer_calls: list[tuple[str, bool, list, list, list, str, bool]] = []
        self.dynamic = 0
        self.nested_depth = 0
        self.storing = False
        # Variable names relative to the layer scope as symbolic parts ("s:W"; "p:3" = parameter 3);
        # None once anything makes them unknowable statically.
        self.param_index: dict[str, int] = {}
        self.reassigned: set[str] = set()
        self.scope_stack: list[str | None] = []
        self.var_names: list[tuple[str, ...]] | None = []

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
        self.attribute_chain(node, _dotted(node))

    def attribute_chain(self, node: cst.Attribute, parts: tuple[str, ...] | None) -> None:
        """An attribute whose _dotted() parts the caller already has."""
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
        token = "#" + _number(node.value)
        # blanked() inlined here and in the other hottest places: numbers, operators, APIs.
        self.skeleton_overrides.append((len(self.renamed), "#?"))
        self.renamed.append(token)
        self.literals.append(token)

    def string(self, node: cst.SimpleString) -> None:
        value = _string_repr(node.value)
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
            if type(default) in _NAME_VALUE_NODES and apis.is_name_parameter(node.name.value):
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
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        for statement in statements:
            _WALK[type(statement)](self, statement)

    def name_part(self, node: cst.BaseExpression) -> str | None:
        """A scope or variable name as a symbolic part: a literal, or one of the parameters."""
        if type(node) is cst.SimpleString:
            value = _string_value(node.value)
            return f"s:{value}" if isinstance(value, str) and value and "/" not in value else None
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
        self.same("With")
        pushed = 0
        for item in node.items:
            self.walk(item.item)
            if item.asname is not None:
                self.walk(item.asname)
            call = item.item
            if type(call) is cst.Call:
                parts = _dotted(call.func)
                api = self.ctx.resolve_final(parts) if parts else None
                if api is not None and api.endswith(".variable_scope"):
                    first = _name_argument(call, ("name_or_scope",))
                    part = self.name_part(first) if first is not None else None
                    if part is None:
                        self.var_names = None
                    self.scope_stack.append(part)
                    pushed += 1
        self.body(node.body)
        del self.scope_stack[len(self.scope_stack) - pushed :]
        self.same(")")

    def record_variable(self, node: cst.Call, api: str) -> None:
        """Note the name a variable-creating call gives, or give up on static names."""
        if self.var_names is None:
            return
        if not api.endswith(".get_variable") or self.dynamic:
            self.var_names = None
            return
        first = _name_argument(node, ("name",))
        part = self.name_part(first) if first is not None else None
        if part is None or None in self.scope_stack:
            self.var_names = None
            return
        self.var_names.append((*self.scope_stack, part))  # type: ignore[arg-type]

    def call(self, node: cst.Call) -> None:
        func = node.func
        parts = _dotted(func)  # computed once for the callee, its walk and its line
        callee_local, callee_api, params = self.classify_callee(parts)
        self.renamed.append("Call")
        if type(func) is cst.Attribute:
            self.attribute_chain(func, parts)
        else:
            _WALK[type(func)](self, func)
        append = self.renamed.append
        for index, arg in enumerate(node.args):
            value = arg.value
            if type(value) in _STRING_NODES and self.is_name_argument(
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
                self.record_variable(node, callee_api)
                self.record_layer(callee_api, False, node, params, parts)
            elif not apis.is_library(callee_api):
                self.external_calls.append(callee_api)
                self.record_layer(callee_api, False, node, params, parts)
        elif callee_local is not None:
            self.local_calls.append(callee_local)
            self.record_layer(callee_local, True, node, params, parts)

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
        # Not resolve_final(): this string goes into the facts, and a memoized one would be one
        # object shared by every call of the API, which pickles differently (the facts' bytes
        # are compared before and after changes here); the same goes for _negated's repr.
        return None, ctx.resolve(parts), ()

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
            value = _literal(arg.value, constants)
            if value is None:
                opaque.append(key)
            elif id(arg.value) in name_nodes:
                names.append((key, value))
            else:
                args.append((key, value))
        # The name its line is looked up by: the callee's last dotted part as spelled here.
        leaf = parts[-1] if parts else callee.rsplit(".", 1)[-1]
        self.layer_calls.append((callee, local, args, names, opaque, leaf, self.dynamic == 0))


def _name_argument(call: cst.Call, keywords: tuple[str, ...]) -> cst.BaseExpression | None:
    """The first positional argument, or the given keyword: where TF APIs take a name."""
    for index, arg in enumerate(call.args):
        if arg.keyword is None and index == 0 and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value in keywords:
            return arg.value
    return None


def _is_docstring(statement: cst.CSTNode) -> bool:
    """True for a bare string expression statement."""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return False
    expression = statement.body[0]
    return type(expression) is cst.Expr and type(expression.value) in _DOCSTRING_NODES


_DOCSTRING_NODES = frozenset({cst.SimpleString, cst.ConcatenatedString})
_BLOCK_STATEMENTS = frozenset({cst.If, cst.Try, cst.With, cst.For, cst.While})  # nest statements


_Walk = Callable[[_FunctionWalker, Any], None]

# Handlers for the node types whose tokens are not the generic "Type fields... )" form.
_HANDLERS: dict[type, _Walk] = {
    cst.Name: _FunctionWalker.name,
    cst.Attribute: _FunctionWalker.attribute,
    cst.Integer: _FunctionWalker.number,
    cst.Float: _FunctionWalker.number,
    cst.Imaginary: _FunctionWalker.number,
    cst.SimpleString: _FunctionWalker.string,
    cst.FormattedString: _FunctionWalker.formatted,
    cst.Arg: _FunctionWalker.arg,
    cst.Param: _FunctionWalker.param,
    cst.AssignTarget: _FunctionWalker.assign_target,
    cst.For: _FunctionWalker.for_loop,
    cst.CompFor: _FunctionWalker.for_loop,
    cst.AsName: _FunctionWalker.as_name,
    cst.AugAssign: _FunctionWalker.aug_assign,
    cst.AnnAssign: _FunctionWalker.ann_assign,
    cst.NamedExpr: _FunctionWalker.named_expr,
    cst.FunctionDef: _FunctionWalker.nested_def,
    cst.ClassDef: _FunctionWalker.nested_def,
    cst.Call: _FunctionWalker.call,
    cst.IndentedBlock: _FunctionWalker.body,
    cst.With: _FunctionWalker.with_statement,
}
# The generic walks spelled out as handlers, and the fields each one assumes its types have: if
# libcst ever changes one of these, every type falls back to the generic walk.
_SPELLED_OUT: dict[type, _Walk] = {
    cst.SimpleStatementLine: _FunctionWalker.statement_line,
    cst.Assign: _FunctionWalker.assign,
    cst.Element: _FunctionWalker.element,
    cst.BinaryOperation: _FunctionWalker.binary_operation,
    cst.Return: _FunctionWalker.return_statement,
    cst.List: _FunctionWalker.sequence,
    cst.Tuple: _FunctionWalker.sequence,
    cst.UnaryOperation: _FunctionWalker.unary_operation,
    cst.Subscript: _FunctionWalker.subscript,
    cst.Parameters: _FunctionWalker.parameters,
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


def _skip(walker: _FunctionWalker, value: object) -> None:
    """A field value that is not a node (None, a sentinel, a flag) emits nothing."""


def _operator_walker(type_name: str) -> _Walk:
    """Operators are blanked in the skeleton: `a + b` and `a * b` are a near miss."""

    def walk_operator(walker: _FunctionWalker, node: cst.CSTNode) -> None:
        walker.skeleton_overrides.append((len(walker.renamed), "op?"))  # blanked(), inlined
        walker.renamed.append(type_name)
        walker.literals.append(type_name)

    return walk_operator


def _generic_walker(kind: type) -> _Walk:
    """The type name, each semantic field in order (nodes walked, strings kept), then ")"."""
    type_name = kind.__name__
    fields = _fields(kind)
    dynamic = issubclass(kind, _DYNAMIC)  # its children run conditionally or repeatedly

    def walk_generic(walker: _FunctionWalker, node: cst.CSTNode) -> None:
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

    def walk_first(walker: _FunctionWalker, node: cst.CSTNode) -> None:
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


def decorator_name(decorator: cst.Decorator) -> str:
    """Dotted spelling of a decorator's callee, for recognising our own."""
    target = decorator.decorator
    if type(target) is cst.Call:
        target = target.func
    return ".".join(_dotted(target) or ["?"])


def _params(node: cst.FunctionDef, *, method: bool) -> tuple[str, ...]:
    """Positional parameter names, dropping self/cls for methods."""
    params = node.params
    names = [p.name.value for p in params.params]
    if params.posonly_params:
        names = [p.name.value for p in params.posonly_params] + names
    return tuple(names[1:] if method and names else names)


class _Extractor:
    """Walks a module's statements, collecting module context, functions and symbols."""

    def __init__(self, path: str, text: str, module: cst.Module):
        self.path = path
        self.text = text
        self.module = module
        self.ctx = _ModuleContext()
        self.functions: list[FunctionFacts] = []
        self.symbols: list[SymbolFacts] = []
        self.diagnostics: list[Diagnostic] = []
        self.lines: list[str] | None = None
        self.joined: str | None = None  # for call_line()
        self.starts: list[int] = []
        self.call_scan: dict[tuple[int, str], int] = {}  # (def line, leaf) -> where to look next

    def run(self) -> None:
        # Line by line, as `^` under MULTILINE sees lines (a match never spans one): matching
        # only the lines that can hold a def beats a regex search through the whole text.
        for line, text in enumerate(self.text.split("\n"), 1):
            if "def" in text or "class" in text:
                match = _DEF_LINE.match(text)
                if match:
                    self.ctx.def_lines.setdefault((match.group(1), match.group(2)), []).append(line)
        self.gather_module(self.module.body)
        self.collect_functions(self.module.body, prefix="", class_name=None, kind="function")

    # -- module context -------------------------------------------------------------------
    def gather_module(self, statements: Sequence[cst.BaseStatement]) -> None:
        for statement in statements:
            if type(statement) is cst.SimpleStatementLine:
                for small in statement.body:
                    self.gather_small(small)
            elif type(statement) is cst.FunctionDef:
                self.ctx.functions[statement.name.value] = _params(statement, method=False)
                self.ctx.symbols.add(statement.name.value)
            elif type(statement) is cst.ClassDef:
                methods = {
                    s.name.value: _params(s, method=True)
                    for s in statement.body.body
                    if type(s) is cst.FunctionDef
                }
                self.ctx.classes[statement.name.value] = methods
                self.ctx.symbols.add(statement.name.value)
            elif type(statement) in _BLOCK_STATEMENTS:
                # Conditional imports (try/except ImportError) still bind the names used below.
                for block in nested_blocks(statement):
                    self.gather_module(block)

    def gather_small(self, small: cst.BaseSmallStatement) -> None:
        ctx = self.ctx
        if type(small) is cst.Import or type(small) is cst.ImportFrom:
            if type(small) is cst.ImportFrom and type(small.names) is cst.ImportStar:
                module = ".".join(_dotted(small.module) or []) if small.module is not None else ""
                if apis.is_library(module):
                    ctx.star_modules.append(module)
                return
            for bound, target, statement in _import_bindings(small):
                ctx.aliases.setdefault(bound, target)
                self.symbols.append(SymbolFacts(bound, "import", 1, target, (), statement, target))
            return
        if type(small) is cst.Assign or type(small) is cst.AnnAssign:
            targets = small.targets if isinstance(small, cst.Assign) else [small]
            if len(targets) != 1 or type(targets[0].target) is not cst.Name or small.value is None:
                return
            name = targets[0].target.value
            if name in ctx.aliases:
                return  # `except ImportError: tf = None` does not undo the import above it
            parts = _dotted(small.value)
            resolved = ctx.resolve(parts) if parts else None
            if resolved is not None and parts and parts[0] not in ctx.symbols:
                # `tf1 = tf.compat.v1` is an alias, not a constant.
                ctx.aliases.setdefault(name, resolved)
                module, _, leaf = resolved.rpartition(".")
                statement = (
                    f"from {module} import {leaf} as {name}"
                    if module
                    else f"import {leaf} as {name}"
                )
                self.symbols.append(
                    SymbolFacts(name, "import", 1, resolved, (), statement, resolved)
                )
                return
            literal = _literal(small.value, ctx.constants)
            if literal is not None:
                ctx.constants[name] = literal
            ctx.symbols.add(name)

    # -- functions ------------------------------------------------------------------------
    def collect_functions(
        self, statements: Sequence[cst.CSTNode], *, prefix: str, class_name: str | None, kind: _Kind
    ) -> None:
        for statement in statements:
            if type(statement) is cst.FunctionDef:
                self.function(statement, prefix=prefix, class_name=class_name, kind=kind)
            elif type(statement) is cst.ClassDef:
                qualname = prefix + statement.name.value
                line = self.ctx.take_line("class", statement.name.value)
                if not prefix:
                    self.class_symbol(statement, line)
                self.collect_functions(
                    _suite(statement.body),
                    prefix=qualname + ".",
                    class_name=qualname,
                    kind="method",
                )
            elif type(statement) is cst.SimpleStatementLine and not prefix:
                for small in statement.body:
                    if type(small) is cst.Assign or type(small) is cst.AnnAssign:
                        self.constant_symbol(small)
            elif type(statement) in _BLOCK_STATEMENTS:
                # Builders defined in loops or branches are still builders.
                for block in nested_blocks(statement):
                    self.collect_functions(block, prefix=prefix, class_name=class_name, kind=kind)

    def function(
        self, node: cst.FunctionDef, *, prefix: str, class_name: str | None, kind: _Kind
    ) -> None:
        qualname = prefix + node.name.value
        line = self.ctx.take_line("def", node.name.value)
        statements = _suite(node.body)
        nested = {
            s.name.value: f"{qualname}.{s.name.value}"
            for s in statements
            if type(s) is cst.FunctionDef
        }
        walker = _FunctionWalker(self.ctx, qualname=qualname, class_name=class_name, nested=nested)
        decorators = [decorator_name(d) for d in node.decorators]
        is_method = class_name is not None and not any(
            d.endswith("staticmethod") for d in decorators
        )
        all_params = _params(node, method=False)
        if is_method and all_params:
            walker.self_name = all_params[0]
        params = all_params[1:] if is_method and all_params else all_params
        walker.param_index = {name: i for i, name in enumerate(params)}
        for decorator, spelled in zip(node.decorators, decorators, strict=True):
            if not ROUTING_DECORATOR.match(spelled):  # our own decorators never make copies differ
                walker.walk(decorator.decorator)
        walker.same("async" if node.asynchronous else "def")
        walker.walk(node.params)
        if node.returns is not None:
            walker.walk(node.returns.annotation)
        walker.body(node.body)
        layer_calls = tuple([self.layer_call(line, *call) for call in walker.layer_calls])
        self.functions.append(
            FunctionFacts(
                qualname=qualname,
                name=node.name.value,
                kind=kind,
                line=line,
                column=0,
                end_line=self.end_line(line),
                params=params,
                param_defaults=tuple(
                    [
                        None if p.default is None else _literal(p.default, {}) or NON_LITERAL
                        for p in node.params.params[1 if is_method else 0 :]
                    ]
                ),
                kwonly=tuple([p.name.value for p in node.params.kwonly_params]),
                varargs=type(node.params.star_arg) is cst.Param
                or node.params.star_kwarg is not None,
                exact_hash=stable_hash("\x1f".join(walker.stream(walker.exact_overrides))),
                renamed_hash=stable_hash("\x1f".join(walker.renamed)),
                skeleton_hash=stable_hash("\x1f".join(walker.stream(walker.skeleton_overrides))),
                deps=tuple(walker.deps),
                direct_creation=any(map(apis.creates_variables, walker.api_calls)),
                api_calls=tuple(dict.fromkeys(walker.api_calls)),
                name_strings=tuple(walker.strings),
                literals=tuple(walker.literals),
                variable_names=walker.static_variable_names(),
                layer_calls=layer_calls,
                local_calls=tuple(dict.fromkeys(walker.local_calls)),
                external_calls=tuple(dict.fromkeys(walker.external_calls)),
            )
        )
        nested_scopes = [
            s for s in statements if type(s) is cst.FunctionDef or type(s) is cst.ClassDef
        ]
        if nested_scopes:
            self.collect_functions(
                nested_scopes, prefix=qualname + ".", class_name=None, kind="nested"
            )

    def layer_call(
        self,
        def_line: int,
        callee: str,
        local: bool,
        args: list,
        names: list,
        opaque: list,
        leaf: str,
        static: bool,
    ) -> LayerCall:
        return LayerCall(
            callee=callee,
            local=local,
            args=tuple(args),
            names=tuple(names),
            opaque=tuple(opaque),
            line=self.call_line(def_line, leaf),
            column=0,
            static=static,
        )

    def call_line(self, def_line: int, leaf: str) -> int:
        """Line of the next textual call of `leaf` after the def line (formatting-tolerant)."""
        if self.lines is None:
            self.lines = self.text.splitlines()
        if self.joined is None:
            # The lines joined, and where each starts: str.find skips the lines without the leaf
            # far faster than a loop over them (a leaf, an identifier, never spans two lines).
            self.joined = "\n".join(self.lines)
            self.starts = list(itertools.accumulate((len(t) + 1 for t in self.lines), initial=0))
        search = _call_pattern(leaf).search
        # Each call of a leaf takes the first matching line not taken yet, so the lines taken are
        # the first matches in order: the next search starts after the last line taken.
        key = (def_line, leaf)
        lines, joined, starts = self.lines, self.joined, self.starts
        number = self.call_scan.get(key, def_line)
        while number < len(lines):
            at = joined.find(leaf, starts[number])
            if at < 0:
                break
            number = bisect.bisect_right(starts, at) - 1  # the first line from here with the leaf
            # A match starts where the leaf does, and `\b` still sees the character before it:
            # searching the line from the leaf's first occurrence finds what a full search would.
            if search(lines[number], at - starts[number]):
                self.call_scan[key] = number + 1
                return number + 1
            number += 1
        return def_line

    def end_line(self, def_line: int) -> int:
        """Last line of a definition, from indentation (used only to show near-miss diffs)."""
        if self.lines is None:
            self.lines = self.text.splitlines()
        lines = self.lines
        if def_line > len(lines):
            return def_line
        header = lines[def_line - 1]
        indent = len(header) - len(header.lstrip())
        last = def_line
        for number in range(def_line, len(lines)):
            text = lines[number]
            content = text.lstrip()  # empty exactly when text.strip() is, and starts the same
            if not content:
                continue
            if len(text) - len(content) <= indent and not content.startswith((")", "]", "}")):
                break
            last = number + 1
        return last

    # -- symbols --------------------------------------------------------------------------
    def class_symbol(self, node: cst.ClassDef, line: int) -> None:
        walker = _FunctionWalker(self.ctx, qualname=node.name.value, class_name=None, nested={})
        for base in node.bases:
            walker.walk(base)
        methods = []
        for statement in _suite(node.body):
            if type(statement) is cst.FunctionDef:
                methods.append(f"{node.name.value}.{statement.name.value}")
                walker.same("method:" + statement.name.value)
            elif not _is_docstring(statement):
                walker.walk(statement)
        self.symbols.append(
            SymbolFacts(
                node.name.value,
                "class",
                line,
                stable_hash("\x1f".join(walker.renamed)),
                (*walker.deps, *methods),
                "",
                "",
            )
        )

    def constant_symbol(self, node: cst.Assign | cst.AnnAssign) -> None:
        targets = node.targets if isinstance(node, cst.Assign) else [node]
        if len(targets) != 1 or type(targets[0].target) is not cst.Name or node.value is None:
            return
        name = targets[0].target.value
        if name not in self.ctx.symbols:
            return  # an alias, recorded as an import
        walker = _FunctionWalker(self.ctx, qualname=name, class_name=None, nested={})
        walker.walk(node.value)
        if self.lines is None:
            self.lines = self.text.splitlines()
        assigned = re.compile(rf"{re.escape(name)}\s*[:=]").match
        line = next((i + 1 for i, text in enumerate(self.lines) if assigned(text)), 1)
        self.symbols.append(
            SymbolFacts(
                name,
                "constant",
                line,
                stable_hash("\x1f".join(walker.renamed)),
                tuple(walker.deps),
                "",
                self.ctx.constants.get(name, ""),
            )
        )


@functools.lru_cache(maxsize=1024)
def _call_pattern(leaf: str) -> re.Pattern[str]:
    """A call of `leaf` on one line (compiled once per name rather than once per call)."""
    return re.compile(r"\b" + re.escape(leaf) + r"\s*\(")


def _suite(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    """Statements of a suite, whether indented or on the header line."""
    return block.body if type(block) is cst.IndentedBlock else ()


def nested_blocks(statement: cst.CSTNode) -> list[Sequence[cst.BaseStatement]]:
    """Every nested statement list of a compound statement (if/else, try/except, loops, with)."""
    blocks: list[Sequence[cst.BaseStatement]] = []
    body = getattr(statement, "body", None)
    if isinstance(body, cst.BaseSuite):
        blocks.append(_suite(body))
    for handler in getattr(statement, "handlers", ()) or ():
        blocks.append(_suite(handler.body))
    for name in ("orelse", "finalbody"):
        other = getattr(statement, name, None)
        if type(other) is cst.If:
            blocks.extend(nested_blocks(other))
        elif other is not None and isinstance(getattr(other, "body", None), cst.BaseSuite):
            blocks.append(_suite(other.body))
    return blocks


def parse_error(path: str, text: str, error: Exception) -> Diagnostic:
    """A syntax-error diagnostic with position, and a hint for Python 2 sources."""
    line = getattr(error, "raw_line", 1) or 1
    column = getattr(error, "raw_column", 0) or 0
    message = (
        getattr(error, "message", None) or (str(error).splitlines() or [type(error).__name__])[0]
    )
    try:
        # libcst points at the token after the mistake; CPython's own parser points at it.
        ast.parse(text)
    except SyntaxError as precise:
        if precise.lineno:
            line, column = precise.lineno, max((precise.offset or 1) - 1, 0)
            message = precise.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    if any(p.search(text) for p in _PY2_HINTS):
        message += " (this looks like Python 2 source, which codegen cannot read)"
    return Diagnostic(path, int(line), int(column), "CG201", "error", f"syntax error: {message}")


_NOT_BRACKET = re.compile(r"[^()\[\]{}]+")
_BRACKET_DELTA = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def _suspiciously_deep(text: str) -> bool:
    """Cheap screen for nesting that can overflow libcst's native parser's stack (a crash, not an
    exception); real code never comes close, so only odd files pay for a second parse."""
    if text.count("lambda") > 100 or any(len(line) > 20_000 for line in text.splitlines()):
        return True
    brackets = _NOT_BRACKET.sub("", text)
    return max(itertools.accumulate(map(_BRACKET_DELTA.__getitem__, brackets)), default=0) > 100


def _python_refuses(path: str, text: str) -> Diagnostic | None:
    """CPython's own verdict on a suspicious file: its parser fails cleanly where libcst crashes."""
    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST | ast.PyCF_TYPE_COMMENTS, dont_inherit=True)
    except SyntaxError as error:
        return Diagnostic(
            path,
            error.lineno or 1,
            max((error.offset or 1) - 1, 0),
            "CG201",
            "error",
            f"syntax error: {error.msg}",
        )
    except (RecursionError, MemoryError, ValueError) as error:
        return Diagnostic(
            path,
            1,
            0,
            "CG201",
            "error",
            f"syntax error: too deeply nested for Python ({type(error).__name__})",
        )
    return None


def extract(source: SourceFile) -> ModuleFacts:
    """Parse a file once and return its facts; problems become diagnostics, never exceptions."""
    if source.text is None:
        return ModuleFacts(source.path, source.digest, (), (), (), source.diagnostics, False, "")
    text = source.text
    if _suspiciously_deep(text):
        refused = _python_refuses(source.path, text)
        if refused is not None:
            return ModuleFacts(source.path, source.digest, (), (), (), (refused,), False, "")
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return ModuleFacts(
            source.path,
            source.digest,
            (),
            (),
            (),
            (parse_error(source.path, text, error),),
            False,
            "",
        )
    except (
        RecursionError,
        MemoryError,
        Exception,
    ) as error:  # the parser must never take the scan down
        diagnostic = Diagnostic(
            source.path,
            1,
            0,
            "CG202",
            "error",
            f"cannot parse: {type(error).__name__}: {error}"[:300],
        )
        return ModuleFacts(source.path, source.digest, (), (), (), (diagnostic,), False, "")
    extractor = _Extractor(source.path, text, module)
    try:
        extractor.run()
    except RecursionError:
        diagnostic = Diagnostic(source.path, 1, 0, "CG203", "error", "too deeply nested to analyse")
        return ModuleFacts(source.path, source.digest, (), (), (), (diagnostic,), False, "")
    return ModuleFacts(
        path=source.path,
        digest=source.digest,
        functions=tuple(extractor.functions),
        symbols=tuple(extractor.symbols),
        aliases=tuple(sorted(extractor.ctx.aliases.items())),
        diagnostics=tuple(extractor.diagnostics),
        ok=True,
        text=text,
    )
