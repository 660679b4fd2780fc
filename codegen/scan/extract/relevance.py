"""Argument relevance: which parameters of a module's functions can change the variables they
create, so that an argument that provably cannot (or a default passed explicitly) never ends a
shared trunk.

A parameter is relevant when its value can reach a variable-creating call (any argument but a
name or a training switch), an argument of a builder of this module where that parameter is
relevant, any call the scanner cannot see, the condition of a branch or loop that makes such
calls, or an attribute of `self` (another method may build from it). Values flow through
assignments (by access path: `config.hidden_dropout_prob` is not `config.vocab_size`), through
the results of calls (a library op's result carries its operands but not its rate or training
switch; a function of this module's result carries the parameters that reach its `return`), and
into plain Python values assigned under a condition that depends on it. A tensor computed in a
branch is not tainted by the branch's condition: its values never decide a variable, and its
shape is checked by the restore pre-flight. Everything is computed for the whole module at once
(a fixpoint over its functions); a call into another module is a call the scanner cannot see."""

from __future__ import annotations

import builtins
import functools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import libcst as cst

from codegen.scan import apis
from codegen.scan.apis import NO_VARIABLE_KEYWORDS
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
# Methods of containers, strings and tensors: they create nothing; the mutating ones change
# their receiver.
_PURE_METHODS = frozenset(
    "get_shape shape as_list get items keys values format join split strip lower upper "
    "startswith endswith copy index count".split()
)
_MUTATING_METHODS = frozenset("append extend insert update add setdefault set_shape".split())
_BUILTINS = frozenset(dir(builtins))
_LITERALS = frozenset({cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString})


class _Call(NamedTuple):  # a named tuple: made for every call site, cheaper than a dataclass
    """One call site: what it is, and the values of its arguments by key (`#0`, `units`)."""

    kind: str  # "creating", "library", "pure", "local", "unknown"
    callee: str  # the local qualname for "local"
    args: tuple[tuple[str, _Expr], ...]
    receiver: str | None = None  # the access path a mutating method changes


class _Expr(NamedTuple):  # a named tuple: made for every expression read
    """What an expression reads: access paths directly, and the calls whose results it uses."""

    reads: tuple[str, ...]
    calls: tuple[_Call, ...]
    python: bool  # a plain Python value: no library op or unseen call made it


_NOTHING = _Expr((), (), True)  # a literal's value: it reads nothing
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


@dataclass
class _Function:
    """One function reduced to what relevance needs, in source order."""

    params: tuple[str, ...]
    assigns: list[tuple[tuple[str, ...], _Expr, tuple[_Expr, ...]]] = field(default_factory=list)
    conditions: list[_Expr] = field(default_factory=list)  # guard calls that may create
    returns: list[_Expr] = field(default_factory=list)
    calls: list[_Call] = field(default_factory=list)  # every call site, nested ones included


class _Reader:
    """Reduces one function body to a `_Function`, resolving calls in the module context."""

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
        self.out: _Function

    def read(self, node: cst.FunctionDef, params: tuple[str, ...]) -> _Function:
        self.out = _Function(params)
        self.block(node.body, ())
        return self.out

    def block(self, block: cst.BaseSuite, control: tuple[_Expr, ...]) -> None:
        body = block.body if type(block) is cst.IndentedBlock else (block,)
        for statement in body:
            self.statement(statement, control)  # type: ignore[arg-type]

    def statement(self, node: cst.CSTNode, control: tuple[_Expr, ...]) -> None:
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

    def guard(self, test: _Expr, start: int) -> None:
        """A condition matters when the code it guards (the calls from `start` on) makes a call
        that may create."""
        if any(c.kind in ("creating", "local", "unknown") for c in self.out.calls[start:]):
            self.out.conditions.append(test)

    def small(self, node: cst.CSTNode, control: tuple[_Expr, ...]) -> None:
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
                    value = _Expr((*value.reads, *before), value.calls, value.python)
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

    def assign(self, target: cst.CSTNode, value: _Expr, control: tuple[_Expr, ...]) -> None:
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

    def expr_of_names(self, node: cst.CSTNode) -> _Expr:
        """Everything a node reads, its calls included: for what is not read more closely."""
        reads: list[str] = []
        calls: list[_Call] = []
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
        return _Expr(tuple(reads), tuple(calls), False)

    def expr(self, node: cst.BaseExpression) -> _Expr:
        """What an expression reads and which calls' results it uses."""
        kind: type[cst.CSTNode] = type(node)
        if kind is cst.Name:  # the commonest expressions first: a name, a literal
            return _Expr((node.value,), (), True)  # type: ignore[attr-defined]
        if kind in _LITERALS:
            return _NOTHING
        reads: list[str] = []
        calls: list[_Call] = []
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
        return _Expr(tuple(reads), tuple(calls), python)

    def call(self, node: cst.Call) -> _Call:
        kind, callee, receiver = self.classify(node.func)
        dropped = _dropped(kind, callee) if kind == "library" or kind == "creating" else _KEEP_ALL
        args: list[tuple[str, _Expr]] = []
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
            args.append(("#self", _Expr((receiver,), (), True)))
        found = _Call(kind, callee, tuple(args), receiver if kind == "pure" else None)
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


def _reads(path: str, taint: dict[str, int]) -> int:
    """The parameters (a bit mask) whose values an access path may carry."""
    found = 0
    for tainted, mask in taint.items():
        if (
            path == tainted
            or path.startswith(tainted + ".")
            or tainted.startswith(path + ".")
        ):
            found |= mask
    return found


class _Taint(dict[str, int]):
    """Access path -> the parameters it may carry, indexed by prefix so that `reads` costs the
    path's length, not the number of tainted paths (`_reads` on a plain dict)."""

    def __init__(self, initial: dict[str, int]):
        super().__init__()
        self.below: dict[str, int] = {}  # path -> the masks of the tainted paths under it
        for path, mask in initial.items():
            self.add(path, mask)

    def add(self, path: str, mask: int) -> None:
        """Taint a path with more parameters."""
        self[path] = self.get(path, 0) | mask
        dot = path.find(".")
        while dot != -1:
            prefix = path[:dot]
            self.below[prefix] = self.below.get(prefix, 0) | mask
            dot = path.find(".", dot + 1)

    def reads(self, path: str) -> int:
        """`_reads(path, self)`: the path itself, the paths it extends and those under it."""
        found = self.below.get(path, 0)
        dot = path.find(".")
        while dot != -1:
            found |= self.get(path[:dot], 0)
            dot = path.find(".", dot + 1)
        return found | self.get(path, 0)


class _Module:
    """The fixpoint over one module's functions: relevant and returned parameters of each."""

    def __init__(self, functions: dict[str, _Function]):
        self.functions = functions
        self.relevant: dict[str, int] = dict.fromkeys(functions, 0)
        self.returned: dict[str, int] = dict.fromkeys(functions, 0)

    def _param_mask(self, callee: str, key: str) -> int | None:
        """The bit of the callee's parameter an argument key binds; None when unknown."""
        function = self.functions.get(callee)
        if function is None or key.startswith("*"):
            return None
        if key.startswith("#"):
            if not key[1:].isdigit():
                return None  # the called expression or the receiver, not a parameter
            index = int(key[1:])
            return 1 << index if index < len(function.params) else None
        return 1 << function.params.index(key) if key in function.params else None

    def value(self, expr: _Expr, taint: dict[str, int]) -> int:
        """The parameters an expression's value may carry."""
        mask = 0
        if type(taint) is _Taint:
            for path in expr.reads:
                mask |= taint.reads(path)
        else:
            for path in expr.reads:
                mask |= _reads(path, taint)
        for call in expr.calls:
            mask |= self.result(call, taint)
        return mask

    def result(self, call: _Call, taint: dict[str, int]) -> int:
        mask = 0
        for key, value in call.args:
            carried = self.value(value, taint)
            if not carried:
                continue
            if call.kind == "local":
                bit = self._param_mask(call.callee, key)
                if bit is None or self.returned[call.callee] & bit:
                    mask |= carried
            else:
                mask |= carried
        return mask

    def sink(self, call: _Call, taint: dict[str, int]) -> int:
        """Parameters that reach what this call creates."""
        if call.kind in ("pure", "library"):
            return 0
        mask = 0
        for key, value in call.args:
            carried = self.value(value, taint)
            if not carried:
                continue
            if call.kind == "local":
                bit = self._param_mask(call.callee, key)
                if bit is not None and not self.relevant.get(call.callee, 0) & bit:
                    continue
            mask |= carried
        return mask

    def analyse(self, qualname: str, self_name: str | None) -> bool:
        """One pass over a function; True when its relevant or returned parameters grew."""
        function = self.functions[qualname]
        taint = _Taint({name: 1 << i for i, name in enumerate(function.params)})
        changed = True
        while changed:
            changed = False
            for call in function.calls:
                if call.receiver is None:
                    continue
                carried = 0
                for _, value in call.args:
                    carried |= self.value(value, taint)
                before = taint.get(call.receiver, 0)
                if before | carried != before:
                    taint.add(call.receiver, carried)  # `outputs.append(x)` changes outputs
                    changed = True
            for targets, value, control in function.assigns:
                for target in targets:
                    # `config = copy(config)`: what its fields carry stays on its fields.
                    below = target + "."
                    if taint.below.get(target, 0):
                        view = {k: v for k, v in taint.items() if not k.startswith(below)}
                        mask = self.value(value, view)
                    else:
                        mask = self.value(value, taint)
                    if value.python:
                        for condition in control:
                            mask |= self.value(condition, taint)
                    before = taint.get(target, 0)
                    if before | mask != before:
                        taint.add(target, mask)
                        changed = True
        relevant = 0
        for call in function.calls:
            relevant |= self.sink(call, taint)
        for condition in function.conditions:
            relevant |= self.value(condition, taint)
        if self_name is not None:
            for path, mask in taint.items():
                if path.startswith(self_name + "."):
                    relevant |= mask  # kept on the object: another method may build from it
        returned = 0
        for value in function.returns:
            returned |= self.value(value, taint)
        grew = relevant | self.relevant[qualname] != self.relevant[qualname] or (
            returned | self.returned[qualname] != self.returned[qualname]
        )
        self.relevant[qualname] |= relevant
        self.returned[qualname] |= returned
        return grew


@dataclass(frozen=True)
class Target:
    """A function to analyse: its node, qualname, parameters, class and `self` name."""

    node: cst.FunctionDef
    qualname: str
    params: tuple[str, ...]
    class_name: str | None
    self_name: str | None


# Passes over a module before giving up (every parameter is then relevant): a bound for
# pathological recursion; real modules settle in a few.
_MAX_PASSES = 8


def inert_params(ctx: ModuleContext, targets: Sequence[Target]) -> dict[str, tuple[str, ...]]:
    """For each function, the parameters that provably never change the variables it creates."""
    classified: dict[tuple[str, ...], tuple[str, str, str | None]] = {}
    read = {
        t.qualname: _Reader(ctx, t.class_name, t.self_name, classified).read(t.node, t.params)
        for t in targets
    }
    module = _Module(read)
    selves = {t.qualname: t.self_name for t in targets}
    callers: dict[str, set[str]] = {q: set() for q in read}
    for q, function in read.items():
        for call in function.calls:
            if call.kind == "local" and call.callee in callers:
                callers[call.callee].add(q)
    # A worklist: a function is read again only when a function it calls learned more.
    pending = deque(read)
    queued = set(read)
    budget = _MAX_PASSES * len(read)
    while pending:
        budget -= 1
        if budget < 0:
            return {}
        q = pending.popleft()
        queued.discard(q)
        if module.analyse(q, selves[q]):
            for caller in sorted(callers[q] - queued):
                pending.append(caller)
                queued.add(caller)
    return {
        q: tuple(p for i, p in enumerate(f.params) if not module.relevant[q] & (1 << i))
        for q, f in read.items()
    }
