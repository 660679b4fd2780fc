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

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.reader import Call, Expr, Function, Reader


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

    def __init__(self, functions: dict[str, Function]):
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

    def value(self, expr: Expr, taint: dict[str, int]) -> int:
        """The parameters an expression's value may carry."""
        mask = 0
        if type(taint) is _Taint:
            reads = taint.reads
            for path in expr.reads:
                mask |= reads(path)
        else:
            for path in expr.reads:
                mask |= _reads(path, taint)
        for call in expr.calls:
            mask |= self.result(call, taint)
        return mask

    def result(self, call: Call, taint: dict[str, int]) -> int:
        """The parameters a call's result may carry."""
        if call.result is not None:
            return self.value(call.result, taint)  # any argument's
        mask = 0
        for key, value in call.args:
            carried = self.value(value, taint)
            if not carried:
                continue
            bit = self._param_mask(call.callee, key)
            if bit is None or self.returned[call.callee] & bit:
                mask |= carried
        return mask

    def sink(self, call: Call, taint: dict[str, int]) -> int:
        """Parameters that reach what this call creates."""
        if call.kind in ("pure", "library"):
            return 0
        if call.result is not None:
            return self.value(call.result, taint)  # what any argument carries
        mask = 0
        for key, value in call.args:
            carried = self.value(value, taint)
            if not carried:
                continue
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
                # A mutating method is pure, never local: its result is what its arguments carry.
                carried = self.value(call.result, taint) if call.result is not None else 0
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
        t.qualname: Reader(ctx, t.class_name, t.self_name, classified).read(t.node, t.params)
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
