"""Argument relevance's reading: one function body reduced to what it reads, assigns, returns
and calls, each call resolved in the module context (`relevance` runs the fixpoint over them)."""

from __future__ import annotations

import builtins
import functools
from dataclasses import dataclass, field
from typing import NamedTuple

import libcst as cst

from codegen.scan import apis
from codegen.scan.apis import MUTATING_METHODS as _MUTATING_METHODS
from codegen.scan.apis import NO_VARIABLE_KEYWORDS
from codegen.scan.apis import PURE_METHODS as _PURE_METHODS
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.nodes import dotted, kids

# Keywords that never change what a call creates or the shape of what it returns.
_VALUE_ONLY_KEYWORDS = NO_VARIABLE_KEYWORDS | frozenset(
    {"name", "rate", "keep_prob", "training", "is_training", "seed"}
)
# Library calls whose settings (reuse, initializer, dtype, ...) decide what is created inside them.
_SETTING_LEAVES = frozenset({"variable_scope", "arg_scope"})
# Arguments of those that only name: the scope's name, its default name, its values.
_SCOPE_NAMES = frozenset({"#0", "name_or_scope", "default_name", "values"})
# Library functions whose second positional argument is a dropout rate or keep probability.
_DROPOUT_LEAVES = frozenset({"dropout"})
# Modules whose functions create nothing and see only what they are given.
_PURE_MODULES = frozenset(
    "copy math numpy np six collections functools itertools re json logging os string".split()
)
_BUILTINS = frozenset(dir(builtins))
_LITERALS = frozenset({cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString})


class Call(NamedTuple):  # a named tuple: made for every call site, cheaper than a dataclass
    """One call site: what it is, and the values of its arguments by key (`#0`, `units`)."""

    kind: str  # "creating", "library", "pure", "local", "unknown"
    callee: str  # the local qualname for "local"
    args: tuple[tuple[str, Expr], ...]
    receiver: str | None = None  # the access path a mutating method changes
    # Its result, for any call but a local one (whose result carries only the arguments its
    # callee returns): what all its arguments read, flattened as an `Expr`.
    result: Expr | None = None


class Expr(NamedTuple):  # a named tuple: made for every expression read
    """What an expression's value may carry: the access paths it reads, directly or through the
    results of calls that are not local (flattened: every argument of those carries), and the
    local calls whose results it uses."""

    reads: tuple[str, ...]
    calls: tuple[Call, ...]  # local calls only
    python: bool  # a plain Python value: no library op or unseen call made it


_NOTHING = Expr((), (), True)  # a literal's value: it reads nothing
_KEEP_ALL: frozenset[str] = frozenset()
_POSITIONS = tuple(f"#{i}" for i in range(16))


@functools.lru_cache(maxsize=4096)
def _dropped(kind: str, callee: str) -> frozenset[str]:
    """The argument keys that never decide what a library call creates (every argument is read
    all the same: the calls inside them are call sites)."""
    leaf = callee.rsplit(".", 1)[-1]
    dropped = set(_VALUE_ONLY_KEYWORDS)
    if leaf in _DROPOUT_LEAVES:
        dropped.add("#1")  # its rate or keep probability
    if kind == "creating" and apis.first_arg_is_name(callee):
        dropped.add("#0")  # `get_variable("W", ...)`: a name
    if kind == "creating" and leaf in _SETTING_LEAVES:
        dropped |= _SCOPE_NAMES
    return frozenset(dropped)


def _flat(reads: list[str], calls: list[Call], python: bool) -> Expr:
    """An expression's value from what it reads and the calls it uses directly: a call that is
    not local passes on all its arguments carry, so only local calls stay calls."""
    local: list[Call] = []
    for call in calls:
        result = call.result
        if result is None:
            local.append(call)
        else:
            reads += result.reads
            local += result.calls
    return Expr(tuple(reads), tuple(local), python)


@dataclass
class Function:
    """One function reduced to what relevance needs, in source order."""

    params: tuple[str, ...]
    assigns: list[tuple[tuple[str, ...], Expr, tuple[Expr, ...]]] = field(default_factory=list)
    conditions: list[Expr] = field(default_factory=list)  # guard calls that may create
    returns: list[Expr] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)  # every call site, nested ones included


class Reader:
    """Reduces one function body to a `Function`, resolving calls in the module context."""

    def __init__(
        self,
        ctx: ModuleContext,
        class_name: str | None,
        self_name: str | None,
        classified: dict[tuple[str, ...], tuple[str, str, str | None]] | None = None,
    ):
        self.ctx = ctx
        self.class_name = class_name
        self.self_name = self_name
        # `classify` by callee spelling, shared by the readers of one module (same context).
        self.classified = {} if classified is None else classified
        self.out: Function

    def read(self, node: cst.FunctionDef, params: tuple[str, ...]) -> Function:
        self.out = Function(params)
        self.block(node.body, ())
        return self.out

    def block(self, block: cst.BaseSuite, control: tuple[Expr, ...]) -> None:
        body = block.body if type(block) is cst.IndentedBlock else (block,)
        for statement in body:
            self.statement(statement, control)  # type: ignore[arg-type]

    def statement(self, node: cst.CSTNode, control: tuple[Expr, ...]) -> None:
        kind = type(node)
        if kind is cst.SimpleStatementLine:
            for small in node.body:  # type: ignore[attr-defined]
                self.small(small, control)
        elif kind is cst.If or kind is cst.While:
            test = self.expr(node.test)  # type: ignore[attr-defined]
            start = len(self.out.calls)
            self.block(node.body, (*control, test))  # type: ignore[attr-defined]
            orelse = node.orelse  # type: ignore[attr-defined]
            if orelse is not None:
                if type(orelse) is cst.If:
                    self.statement(orelse, (*control, test))
                else:
                    self.block(orelse.body, (*control, test))
            self.guard(test, start)
        elif kind is cst.For:
            iterable = self.expr(node.iter)  # type: ignore[attr-defined]
            self.assign(node.target, iterable, control)  # type: ignore[attr-defined]
            start = len(self.out.calls)
            self.block(node.body, (*control, iterable))  # type: ignore[attr-defined]
            self.guard(iterable, start)
            if node.orelse is not None:  # type: ignore[attr-defined]
                self.block(node.orelse.body, control)  # type: ignore[attr-defined]
        elif kind is cst.With:
            for item in node.items:  # type: ignore[attr-defined]
                value = self.expr(item.item)
                if item.asname is not None:
                    self.assign(item.asname.name, value, control)
            self.block(node.body, control)  # type: ignore[attr-defined]
        elif kind is cst.Try:
            self.block(node.body, control)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                self.block(handler.body, control)
            for name in ("orelse", "finalbody"):
                other = getattr(node, name)
                if other is not None:
                    self.block(other.body, control)
        elif kind is cst.FunctionDef or kind is cst.ClassDef:
            # A nested def sees the enclosing locals: whatever it reads may reach anything.
            self.out.conditions.append(self.expr_of_names(node))
        else:
            self.out.conditions.append(self.expr_of_names(node))

    def guard(self, test: Expr, start: int) -> None:
        """A condition matters when the code it guards (the calls from `start` on) makes a call
        that may create."""
        if any(c.kind in ("creating", "local", "unknown") for c in self.out.calls[start:]):
            self.out.conditions.append(test)

    def small(self, node: cst.CSTNode, control: tuple[Expr, ...]) -> None:
        kind = type(node)
        if kind is cst.Assign:
            value = self.expr(node.value)  # type: ignore[attr-defined]
            for target in node.targets:  # type: ignore[attr-defined]
                self.assign(target.target, value, control)
        elif kind is cst.AnnAssign or kind is cst.AugAssign:
            if node.value is not None:  # type: ignore[attr-defined]
                value = self.expr(node.value)  # type: ignore[attr-defined]
                if kind is cst.AugAssign:
                    before = self.paths(node.target)  # type: ignore[attr-defined]
                    value = Expr((*value.reads, *before), value.calls, value.python)
                self.assign(node.target, value, control)  # type: ignore[attr-defined]
        elif kind is cst.Return:
            if node.value is not None:  # type: ignore[attr-defined]
                self.out.returns.append(self.expr(node.value))  # type: ignore[attr-defined]
        elif kind is cst.Expr:
            value = self.expr(node.value)  # type: ignore[attr-defined]
            if type(node.value) in (cst.Yield, cst.Await):  # type: ignore[attr-defined]
                self.out.returns.append(value)
        elif kind in (cst.Pass, cst.Break, cst.Continue, cst.Import, cst.ImportFrom):
            return
        elif kind is cst.Raise or kind is cst.Assert or kind is cst.Del:
            self.expr_of_names(node)  # records its calls, if any
        else:  # global, nonlocal, exec...: stay on the safe side
            self.out.conditions.append(self.expr_of_names(node))

    def assign(self, target: cst.CSTNode, value: Expr, control: tuple[Expr, ...]) -> None:
        self.out.assigns.append((self.paths(target), value, control))

    def paths(self, target: cst.CSTNode) -> tuple[str, ...]:
        """The access paths an assignment target binds (a subscript binds its container)."""
        kind = type(target)
        if kind is cst.Tuple or kind is cst.List:
            return tuple(p for e in target.elements for p in self.paths(e.value))  # type: ignore[attr-defined]
        if kind is cst.StarredElement:
            return self.paths(target.value)  # type: ignore[attr-defined]
        if kind is cst.Subscript:
            return self.paths(target.value)  # type: ignore[attr-defined]
        parts = dotted(target)  # type: ignore[arg-type]
        return (".".join(parts),) if parts else ()

    def expr_of_names(self, node: cst.CSTNode) -> Expr:
        """Everything a node reads, its calls included: for what is not read more closely."""
        reads: list[str] = []
        calls: list[Call] = []
        pending = [node]
        while pending:
            current = pending.pop()
            if type(current) is cst.Call:
                call = self.call(current)  # type: ignore[arg-type]
                calls.append(call)
                continue
            parts = dotted(current) if type(current) in (cst.Name, cst.Attribute) else None  # type: ignore[arg-type]
            if parts:
                reads.append(".".join(parts))
                continue
            pending.extend(kids(current))
        return _flat(reads, calls, False)

    def expr(self, node: cst.BaseExpression) -> Expr:
        """What an expression reads and which calls' results it uses."""
        kind: type[cst.CSTNode] = type(node)
        if kind is cst.Name:  # the commonest expressions first: a name, a literal
            return Expr((node.value,), (), True)  # type: ignore[attr-defined]
        if kind in _LITERALS:
            return _NOTHING
        if kind is cst.Call:  # then a call and an attribute chain, without the loop below
            found = self.call(node)  # type: ignore[arg-type]
            result = found.result
            if result is None:
                return Expr((), (found,), False)
            return Expr(result.reads, result.calls, found.kind == "pure")
        if kind is cst.Attribute:
            parts = dotted(node)  # type: ignore[arg-type]
            if parts:
                return Expr((".".join(parts),), (), True)
        reads: list[str] = []
        calls: list[Call] = []
        pending: list[cst.CSTNode] = [node]
        while pending:
            current = pending.pop()
            kind = type(current)
            if kind is cst.Name or kind is cst.Attribute:
                parts = dotted(current)  # type: ignore[arg-type]
                if parts:
                    reads.append(".".join(parts))
                    continue
            elif kind is cst.Call:
                calls.append(self.call(current))  # type: ignore[arg-type]
                continue
            pending.extend(kids(current))
        python = True
        for found in calls:
            if found.kind != "pure":
                python = False
                break
        return _flat(reads, calls, python)

    def call(self, node: cst.Call) -> Call:
        kind, callee, receiver = self.classify(node.func)
        dropped = _dropped(kind, callee) if kind == "library" or kind == "creating" else _KEEP_ALL
        args: list[tuple[str, Expr]] = []
        position = 0
        for arg in node.args:
            value = self.expr(arg.value)
            if arg.star:
                key = "*"
            elif arg.keyword is not None:
                key = arg.keyword.value
            else:
                key = _POSITIONS[position] if position < len(_POSITIONS) else f"#{position}"
                position += 1
            if key not in dropped:
                args.append((key, value))
        if type(node.func) is not cst.Name and type(node.func) is not cst.Attribute:
            args.append(("#func", self.expr(node.func)))  # `f(x)(y)`: the inner call counts
        elif receiver is not None and kind != "local":
            args.append(("#self", Expr((receiver,), (), True)))
        result = None
        if kind != "local":
            reads: list[str] = []
            local: list[Call] = []
            for _, value in args:
                reads += value.reads
                local += value.calls
            result = Expr(tuple(reads), tuple(local), True)
        found = Call(kind, callee, tuple(args), receiver if kind == "pure" else None, result)
        self.out.calls.append(found)
        return found

    def classify(self, func: cst.BaseExpression) -> tuple[str, str, str | None]:
        """(kind, callee, receiver path) of a call's target."""
        parts = dotted(func)
        if parts is None:
            return "unknown", "", None
        root = parts[0]
        if root == self.self_name and self.class_name:
            # A subclass may override the method (in any module): whatever it is given may
            # reach a variable.
            return "unknown", "", ".".join(parts[:-1])
        known = self.classified.get(parts)
        if known is None:
            known = self.classified[parts] = self._classify(parts)
        return known

    def _classify(self, parts: tuple[str, ...]) -> tuple[str, str, str | None]:
        """`classify` for a callee that is not a method of `self`: by the module context."""
        root, ctx = parts[0], self.ctx
        if len(parts) == 1:
            if root in ctx.functions:
                return "local", root, None
            if root in ctx.classes:
                methods = ctx.classes[root]
                known = "__init__" in methods and "__call__" not in methods
                return ("local", f"{root}.__init__", None) if known else ("unknown", "", None)
            if root in _BUILTINS and root not in ctx.symbols and root not in ctx.aliases:
                return "pure", root, None
        resolved = ctx.resolve_final(parts) if root in ctx.aliases else None
        if resolved is not None:
            if apis.is_library(resolved):
                leaf = resolved.rsplit(".", 1)[-1]
                creating = apis.creates_variables(resolved) or leaf in _SETTING_LEAVES
                return ("creating" if creating else "library"), resolved, None
            if resolved.split(".", 1)[0] in _PURE_MODULES:
                return "pure", resolved, None
            return "unknown", resolved, None
        if len(parts) > 1 and root not in ctx.symbols:
            leaf = parts[-1]
            receiver = ".".join(parts[:-1])
            if leaf in _MUTATING_METHODS or leaf in _PURE_METHODS:
                return "pure", leaf, receiver if leaf in _MUTATING_METHODS else None
            return "unknown", "", receiver
        return "unknown", "", None
