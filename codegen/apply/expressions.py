"""apply for Keras models: `<shim>.layer("<root>", <position>, <layer>)` around the expression
that makes each shared layer object.

Keras creates a layer's weights at its first call, so the mark wraps the constructor (the
innermost call on the layer's line whose callee is not itself a call: `layers.Dense(64)` in
`layers.Dense(64)(x)`, a Sequential list's item, `self.conv = ...`) and returns it unchanged.
The mark's arguments go around the constructor's own text, so taking a mark out gives back
exactly the bytes that were there (un-routing round-trips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

from codegen import diagnostics, names
from codegen.apply.marks import MarkTargets
from codegen.model import Diagnostic, LayerMark, ModelEdit

_Spot = tuple[str, int]  # (model, position): what one mark says


def expression_spot(call: cst.Call, alias: str) -> _Spot | None:
    """The (model, position) of our `alias.layer("model", position, obj)` call; None if the call
    is not an expression mark of `alias`."""
    func = call.func
    if not (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == alias
        and func.attr.value == names.LAYER
        and len(call.args) == 3
        and not any(arg.keyword or arg.star for arg in call.args)
    ):
        return None
    model, position = call.args[0].value, call.args[1].value
    if isinstance(model, cst.SimpleString) and isinstance(position, cst.Integer):
        evaluated = model.evaluated_value
        if isinstance(evaluated, str):
            return evaluated, int(position.value)
    return "", -1  # ours, in a form we never write: taken out


def mark_expressions(
    module: cst.Module, edit: ModelEdit, code: str | None = None
) -> tuple[cst.Module, tuple[Diagnostic, ...]]:
    """Wrap the constructors `edit` asks for; unwrap every other expression mark of its shim.
    `code`: the module's text when the caller has it (printing a module is not free)."""
    wanted = [mark for mark in edit.marks if mark.expression] if edit.routes else []
    text = module.code if code is None else code
    if not wanted and f"{edit.shim_alias}.{names.LAYER}(" not in text:
        return module, ()
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    finder = _Targets(edit.shim_alias, wanted)
    wrapper.visit(finder)
    problems = []
    for mark in wanted:
        found = finder.found.get(mark, [])
        if len(found) == 1:
            continue
        what = "no layer constructor" if not found else f"{len(found)} layer constructors"
        problems.append(
            diagnostics.error(
                edit.path,
                diagnostics.MISSING_LAYER,
                f"{what} of `{mark.function}` start on line {mark.line} for the shared layer "
                f"{mark.position} of `{mark.model}`; put that layer's constructor on a line "
                "of its own",
                line=mark.line,
            )
        )
    if problems:
        return module, tuple(problems)
    targets = {id(found[0]): (mark.model, mark.position) for mark, found in finder.found.items()}
    return wrapper.module.visit(_Wrap(edit.shim_alias, targets)), ()


@dataclass(frozen=True)
class _Candidate:
    """A call that may make a layer object: where it starts and ends, its callee's last name."""

    call: cst.Call
    start: tuple[int, int]
    end: tuple[int, int]
    name: str


class _Targets(MarkTargets):
    """Read-only: the constructor call each wanted mark wraps, found by function and line."""

    def __init__(self, alias: str, wanted: Sequence[LayerMark]) -> None:
        super().__init__(alias, wanted)
        self.found: dict[LayerMark, list[cst.Call]] = {}
        self._calls: list[list[_Candidate]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append(node.name.value)
        self._calls.append([])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        calls = self._calls.pop()
        marks = self.by_function.get(".".join(self._stack), [])
        self._stack.pop()
        for mark in marks:
            self.found[mark] = [c.call for c in _outermost(calls, mark)]

    def visit_Call(self, node: cst.Call) -> None:
        if not self._calls or isinstance(node.func, cst.Call):
            return  # `Dense(64)(x)` applies a layer; its inner call makes it
        if expression_spot(node, self.alias) is not None:
            return  # our own mark: what it wraps is the candidate
        span = self.get_metadata(PositionProvider, node)
        name = get_full_name_for_node(node.func) or ""
        self._calls[-1].append(
            _Candidate(
                node,
                (span.start.line, span.start.column),
                (span.end.line, span.end.column),
                name.rpartition(".")[2],
            )
        )


def _outermost(calls: list[_Candidate], mark: LayerMark) -> list[_Candidate]:
    """The constructors on the mark's line that no other one on it holds (`Bidirectional(LSTM(
    8))` is one layer), narrowed to the layer's own name where several start there."""
    on_line = [c for c in calls if c.start[0] == mark.line]
    if mark.name and len(on_line) > 1:
        # Several calls start here (`x = Dense(8)(Input(...))`): only the layer's own may be
        # marked; none of that name (an alias) is a refusal, never a guess.
        on_line = [c for c in on_line if c.name == mark.name]
    return [
        c
        for c in on_line
        if not any(o is not c and o.start <= c.start and c.end <= o.end for o in on_line)
    ]


class _Wrap(cst.CSTTransformer):
    """Wraps each target constructor in a mark; unwraps every other mark of the alias."""

    def __init__(self, alias: str, targets: dict[int, _Spot]) -> None:
        super().__init__()
        self.alias = alias
        self.targets = targets
        self._made: set[int] = set()  # marks this pass wrote around a constructor

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if expression_spot(original_node, self.alias) is not None:
            inner = updated_node.args[2].value
            if id(inner) in self._made:  # the constructor inside was just marked: keep one mark
                assert isinstance(inner, cst.Call)
                inner = inner.args[2].value
            spot = self.targets.get(id(original_node.args[2].value))
            if spot is None:
                return inner  # taken out: the constructor as it was
            return _mark(self.alias, spot, inner, updated_node)
        spot = self.targets.get(id(original_node))
        if spot is None:
            return updated_node
        marked = _mark(self.alias, spot, updated_node, None)
        self._made.add(id(marked))
        return marked


def _mark(alias: str, spot: _Spot, inner: cst.BaseExpression, old: cst.Call | None) -> cst.Call:
    """`alias.layer("model", position, inner)`, keeping an existing mark's layout."""
    model = cst.SimpleString(f'"{spot[0]}"')
    position = cst.Integer(str(spot[1]))
    if old is not None:
        args = old.args
        return old.with_changes(
            args=[
                args[0].with_changes(value=model),
                args[1].with_changes(value=position),
                args[2].with_changes(value=inner),
            ]
        )
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return cst.Call(
        func=cst.Attribute(cst.Name(alias), cst.Name(names.LAYER)),
        args=[
            cst.Arg(model, comma=comma),
            cst.Arg(position, comma=comma),
            cst.Arg(inner),
        ],
    )
