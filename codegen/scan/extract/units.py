"""Inline layers: the statements and blocks of a body that create variables themselves.

The walker notes where each one starts and ends in its token stream while it walks (`RawUnit`);
this module turns those notes into `InlineLayer` facts: a code hash under the clone rules, a
short label, the lines, and whether the variables are frozen weights or only counters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import libcst as cst

from codegen import literals, names, stable_hash
from codegen.model import InlineLayer, LayerCall
from codegen.scan import apis
from codegen.scan.extract.nodes import dotted, kids

if TYPE_CHECKING:
    from codegen.scan.extract.positions import Positions
    from codegen.scan.extract.walker import FunctionWalker

# Statements whose body runs conditionally or repeatedly: one layer when copied whole.
COMPOUND = frozenset({cst.For, cst.While, cst.If, cst.Try})
# `with` items that only open a scope or pin a device: transparent for layers.
_TRANSPARENT_SUFFIXES = (".variable_scope", ".name_scope", ".device", ".colocate_with")
# Names a counter's variable gets: a step or epoch counter, never a weight.
_COUNTER_NAME = re.compile(r"(^|_)(global_step|step|steps|epoch|epochs|counter|count)(_|$)")
# Roots whose attributes hold run-time configuration: a shape read from them is not static.
_CONFIG_ROOTS = frozenset({"params", "hparams", "FLAGS", "flags", "config", "args", "opts"})
Role = Literal["weight", "frozen", "counter"]


@dataclass
class RawUnit:
    """Where one inline layer sits in a walker's streams, noted during the walk."""

    kind: Literal["statement", "with", "compound"]
    start: int  # token range in walker.renamed (a with block: its body only)
    end: int
    calls: Sequence[int]  # walker.layer_calls indices inside it (renumbered without counters)
    creations: Sequence[int]  # walker.creations indices inside it
    static: bool
    scope: str | None  # the innermost literal scope name around or opening it
    node: cst.CSTNode
    # Signatures of the layer objects (built in earlier statements) whose weights it creates.
    objects: list[str] = field(default_factory=list)
    # A with block's token spans that decide it: its variable-creating statements and those
    # that compute what they read (empty: the whole range).
    parts: Sequence[tuple[int, int]] = ()


def creating_parts(
    inner: Sequence[RawUnit], spans: Sequence[tuple[int, int, cst.CSTNode]]
) -> tuple[tuple[int, int], ...]:
    """The spans of a block's statements that decide its variables: those that create them and,
    backwards, those that assign a name they read. The rest (an `expand_dims`, a second lookup
    of the same table) is context: it never makes two copies of a layer differ."""
    starts = {unit.start for unit in inner}
    if all(begin in starts for begin, _, _ in spans):
        return ()  # every statement creates: the whole body decides
    needed: set[str] = set()
    kept: list[tuple[int, int]] = []
    for begin, end, statement in reversed(spans):
        creates = begin in starts
        if not creates and not (_assigned(statement) & needed):
            continue
        kept.append((begin, end))
        needed |= _read(statement)
    # Every statement decides: the whole body, hashed as it always was (keys stay the same).
    return () if len(kept) == len(spans) else tuple(reversed(kept))


def _targets(statement: cst.CSTNode) -> list[cst.CSTNode]:
    """The assignment targets of a simple statement line."""
    out: list[cst.CSTNode] = []
    if type(statement) is not cst.SimpleStatementLine:
        return out
    for small in statement.body:
        if type(small) is cst.Assign:
            out += [target.target for target in small.targets]
        elif type(small) is cst.AugAssign or type(small) is cst.AnnAssign:
            out.append(small.target)
    return out


def _assigned(statement: cst.CSTNode) -> set[str]:
    """Names and attribute chains a statement binds (`x`, `self.W`; tuple targets unpacked);
    any other statement that is not a plain assignment (a loop, a branch) binds everything it
    names, to stay on the safe side."""
    if type(statement) is not cst.SimpleStatementLine:
        return _read(statement)
    out: set[str] = set()
    pending = _targets(statement)
    while pending:
        node = pending.pop()
        if type(node) in (cst.Tuple, cst.List):
            pending += [e.value for e in node.elements]  # type: ignore[attr-defined]
        elif type(node) is cst.StarredElement:
            pending.append(node.value)  # type: ignore[attr-defined]
        else:
            parts = dotted(node)  # type: ignore[arg-type]
            if parts:
                out.add(".".join(parts))
            elif type(node) is cst.Subscript:
                out |= _read(node)  # `d[k] = v` changes `d`
    return out


def _read(node: cst.CSTNode) -> set[str]:
    """Every name and attribute chain a node spells (`self`, `self.W`, `tf.nn`, ...)."""
    out: set[str] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        kind = type(current)
        if kind is cst.Name:
            out.add(current.value)  # type: ignore[attr-defined]
            continue
        if kind is cst.Attribute:
            parts = dotted(current)  # type: ignore[arg-type]
            if parts:
                path = parts[0]
                out.add(path)
                for part in parts[1:]:  # and every chain it extends: `self`, `self.W`
                    path += "." + part
                    out.add(path)
                continue
        pending.extend(kids(current))
    return out


def is_mark(item: cst.WithItem) -> bool:
    """Whether a `with` item is a layer mark apply wrote (`<model>_transfer.layer(...)`)."""
    call = item.item
    if type(call) is not cst.Call or item.asname is not None:
        return False
    func = call.func
    # Asked of every `with` item several times: most are rejected by their last name alone.
    if type(func) is not cst.Attribute or func.attr.value != names.LAYER:
        return False
    parts = dotted(func)
    return parts is not None and names.is_layer_mark(".".join(parts))


def only_marks(node: cst.With) -> bool:
    """True for a `with` apply added around a layer's statements: it holds nothing else."""
    return all(is_mark(item) for item in node.items)


def transparent(node: cst.With, walker: FunctionWalker) -> bool:
    """True for a `with` whose items only open scopes or devices (or are our layer marks)."""
    for item in node.items:
        if is_mark(item):
            continue
        call = item.item
        if type(call) is not cst.Call:
            return False
        parts = dotted(call.func)
        api = walker.ctx.resolve_final(parts) if parts else None
        if api is None or not api.endswith(_TRANSPARENT_SUFFIXES):
            return False
    return True


def scope_name(call: cst.Call) -> str | None:
    """The literal scope name a scope-opening call gives, if any."""
    for index, arg in enumerate(call.args):
        if (arg.keyword is None and index == 0) or (
            arg.keyword is not None and arg.keyword.value in apis.NAME_KEYWORDS
        ):
            if type(arg.value) is cst.SimpleString:
                return literals.string(arg.value.value)
            return None
    return None


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    args = [a for a in call.args if a.keyword is None and not a.star]
    return args[index].value if index < len(args) else None


def _is_scalar_number(node: cst.BaseExpression | None) -> bool:
    if node is None:
        return False
    if type(node) is cst.UnaryOperation:
        node = node.expression
    if type(node) in (cst.Integer, cst.Float):
        return True
    if type(node) is cst.Call:  # tf.constant(0), tf.zeros([]) style initial values
        shape = _keyword(node, "shape")
        if shape is not None:  # tf.zeros(shape=[], dtype=...): an accumulator's scalar
            return type(shape) is cst.List and not shape.elements and _positional(node, 0) is None
        if len(node.args) != 1 or node.args[0].keyword is not None:
            return False  # tf.constant(0.1, shape=[n]) is a bias, not a counter
        first = node.args[0].value
        return _is_scalar_number(first) or (type(first) is cst.List and not first.elements)
    return False


def _name_literal(call: cst.Call, api: str) -> str | None:
    node = _keyword(call, "name")
    if node is None and apis.first_arg_is_name(api):
        node = _positional(call, 0)
    if type(node) is cst.SimpleString:
        return literals.string(node.value)
    return None


def creation_role(call: cst.Call, api: str, dynamic: bool) -> Role:
    """A weight, a frozen (non-trainable) weight, or a counter or slot that is never a layer."""
    trainable = _keyword(call, "trainable")
    frozen = type(trainable) is cst.Name and trainable.value == "False"
    name = _name_literal(call, api) or ""
    if api.endswith(".Variable"):
        initial = _keyword(call, "initial_value") or _positional(call, 0)
        if _is_scalar_number(initial):
            return "counter"  # tf.Variable(0, ...): a step, epoch or learning-rate counter
    elif api.endswith((".get_variable", ".get_local_variable")):
        shape = _keyword(call, "shape") or _positional(call, 1)
        if type(shape) is cst.List and not shape.elements:
            return "counter"  # shape [] : a scalar
    if frozen and (dynamic or _COUNTER_NAME.search(name.lower())):
        return "counter"  # non-trainable state made in a loop (optimizer slots) or a step counter
    if name and _COUNTER_NAME.search(name.lower()) and "step" in name.lower():
        return "counter"
    return "frozen" if frozen else "weight"


def known_shape(call: cst.Call) -> bool:
    """False when an argument reads run-time configuration (`params["units"]`, `FLAGS.dim`)."""
    # By hand over the few node types a shape is written with: libcst's `children` rebuilds
    # the nodes it returns, which would cost more than the rest of the walk.
    pending: list[cst.BaseExpression] = [arg.value for arg in call.args]
    while pending:
        node = pending.pop()
        kind = type(node)
        if kind is cst.Subscript:
            return False
        if kind is cst.Attribute:
            parts = dotted(node)
            if parts and parts[0] in _CONFIG_ROOTS:
                return False
        elif kind is cst.Call:
            pending.extend(arg.value for arg in node.args)  # type: ignore[attr-defined]
        elif kind is cst.List or kind is cst.Tuple:
            pending.extend(element.value for element in node.elements)  # type: ignore[attr-defined]
        elif kind is cst.BinaryOperation:
            pending += (node.left, node.right)  # type: ignore[attr-defined]
        elif kind is cst.UnaryOperation:
            pending.append(node.expression)  # type: ignore[attr-defined]
    return True


def _source(node: cst.CSTNode) -> str:
    """Source text of a small expression, printed by hand for the shapes shapes are written in
    (libcst's code generator costs more than the whole walk of a file)."""
    kind = type(node)
    if kind is cst.Name or kind is cst.Integer or kind is cst.Float:
        return node.value  # type: ignore[attr-defined,no-any-return]
    if kind is cst.SimpleString:
        return node.value  # type: ignore[attr-defined,no-any-return]
    if kind is cst.Attribute:
        return f"{_source(node.value)}.{node.attr.value}"  # type: ignore[attr-defined]
    if kind is cst.List or kind is cst.Tuple:
        items = ", ".join(_source(e.value) for e in node.elements)  # type: ignore[attr-defined]
        return f"[{items}]" if kind is cst.List else f"({items})"
    if kind is cst.Subscript:
        inner = ", ".join(
            _source(e.slice.value) if type(e.slice) is cst.Index else "..."
            for e in node.slice  # type: ignore[attr-defined]
        )
        return f"{_source(node.value)}[{inner}]"  # type: ignore[attr-defined]
    if kind is cst.BinaryOperation:
        operator = _OPERATORS.get(type(node.operator), "?")  # type: ignore[attr-defined]
        return f"{_source(node.left)} {operator} {_source(node.right)}"  # type: ignore[attr-defined]
    if kind is cst.UnaryOperation and type(node.operator) is cst.Minus:  # type: ignore[attr-defined]
        return "-" + _source(node.expression)  # type: ignore[attr-defined]
    if kind is cst.Call:
        parts = dotted(node.func)  # type: ignore[attr-defined]
        return (".".join(parts) if parts else "...") + "(...)"
    return "..."


_OPERATORS = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Power: "**",
}


def _shape_text(call: cst.Call, api: str) -> str:
    """The shape as written: `[vocab_size, embedding_size]`, or "" when there is none."""
    node: cst.BaseExpression | None = None
    if api.endswith((".get_variable", ".get_local_variable", ".model_variable")):
        node = _keyword(call, "shape") or _positional(call, 1)
    elif api.endswith(".Variable"):
        initial = _keyword(call, "initial_value") or _positional(call, 0)
        if type(initial) is cst.Call:
            node = _keyword(initial, "shape") or _positional(initial, 0)
        else:
            node = initial
    if node is None:
        return ""
    text = _source(node)
    return text if len(text) <= 60 else text[:57] + "..."


# A placeholder token in the joined stream: a local/parameter (L), name string (S) or module
# symbol (D) numbered in the function, or a `self` attribute as one token or as `SELF` + `.attr`.
_PLACEHOLDER = re.compile(r"(?<=\x1f)(?:([LSD])(\d+)|SELF(?:\x1f)?\.(\w+))(?=[\x1f.])")
# Hashes of units that use no module symbol (no D token), by their tokens: copied layers are
# what this tool looks for, so the same unit recurs across files. Bounded, for huge trees.
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_MAX = 1 << 16


def _normalized(
    walker: FunctionWalker, symbol_of: dict[str, str], spans: Sequence[tuple[int, int]]
) -> str:
    """The unit's renamed tokens with names renumbered from zero: placement-independent.

    Locals, parameters and `self` attributes are renumbered in order of first use (they may be
    renamed consistently), name strings too (they never decide); module symbols are kept by
    name (`symbol_of`: placeholder -> name), and literal constants by value."""
    renamed = walker.renamed
    text = "\x1f" + "\x1f;\x1f".join("\x1f".join(renamed[a:b]) for a, b in spans) + "\x1f"
    # Without a D token the hash depends on the tokens alone (a `Dict` token only skips this).
    plain = "\x1fD" not in text
    if plain:
        known = _NORMALIZED.get(text)
        if known is not None:
            return known
    constants = walker.ctx.constants
    numbers: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        head, digits, attribute = match.groups()
        if attribute is not None:
            key = "SELF." + attribute
            return numbers.setdefault(key, f"P{len(numbers)}")
        if head == "D":
            name = symbol_of.get(head + digits, "?")
            return f"C:{constants[name]}" if name in constants else f"G:{name}"
        return numbers.setdefault(head + digits, f"{head}{len(numbers)}")

    digest = stable_hash(_PLACEHOLDER.sub(renumber, text))
    if plain:
        if len(_NORMALIZED) >= _NORMALIZED_MAX:
            _NORMALIZED.clear()
        _NORMALIZED[text] = digest
    return digest


def inline_layers(
    walker: FunctionWalker, positions: Positions, calls: tuple[LayerCall, ...]
) -> tuple[InlineLayer, ...]:
    """The walker's noted units as facts, in walk order."""
    out: list[InlineLayer] = []
    symbol_of = {placeholder: name for name, placeholder in walker.deps.items()}
    for unit in walker.raw_units:
        covered = tuple(unit.calls)
        if not covered:
            continue
        made = [walker.creations[i] for i in unit.creations]
        # The statement or block itself, where libcst puts it: what apply's mark must hold.
        line, end_line = positions.line(unit.node), positions.end_line(unit.node)
        # An RNN's variables are made by the call that runs its cells: it names the layer.
        shown = next((m for m in made if is_rnn_runner(m[0])), made[0] if made else None)
        if shown is not None:
            api, node = shown[0], shown[1]
            shape = _shape_text(node, api)
            label = apis.short_label(api) + (f" {shape}" if shape else "")
        else:
            api, label = "", "layer calls"
        scope = unit.scope
        if unit.kind == "compound":
            scope = "loop" if type(unit.node) in (cst.For, cst.While) else "branch"
        elif scope is None and made:
            scope = _name_literal(made[0][1], made[0][0])
        kind: Literal["inline-api", "inline-block"] = (
            "inline-api"
            if unit.kind == "statement"
            and len(made) == 1
            and len(covered) == 1
            and not unit.objects
            else "inline-block"
        )
        code_hash = _normalized(walker, symbol_of, unit.parts or ((unit.start, unit.end),))
        if unit.objects:
            # The objects it runs or calls decide too: their APIs and literal arguments.
            code_hash = stable_hash("|".join([code_hash, *unit.objects]))
        out.append(
            InlineLayer(
                kind=kind,
                api=api,
                code_hash=code_hash,
                label=f"{scope}: {label}" if scope else label,
                line=line,
                end_line=end_line,
                calls=covered,
                static=unit.static,
                frozen=bool(made) and all(m[2] for m in made),
                known_shape=all(m[3] for m in made),
                variables=_variable_count(unit, made, covered),
            )
        )
    return _with_their_cells(out)


def _variable_count(
    unit: RawUnit, made: Sequence[tuple[str, cst.Call, bool, bool]], covered: Sequence[int]
) -> int | None:
    """One variable per `tf.Variable`/`get_variable` in straight-line code; None otherwise."""
    if unit.kind == "compound" or len(made) != len(covered):
        return None  # repeated or conditional, or builder calls inside: not known statically
    if all(m[0].endswith((".Variable", ".get_variable")) for m in made):
        return len(made)
    return None


def is_rnn_runner(api: str) -> bool:
    """The calls that create an RNN's variables by running its cells."""
    return api.endswith(("dynamic_rnn", "static_rnn", "static_bidirectional_rnn", ".raw_rnn"))


def _is_cell(layer: InlineLayer) -> bool:
    leaf = layer.api.rsplit(".", 1)[-1]
    return layer.kind == "inline-api" and "rnn" in layer.api and leaf.endswith("Cell")


def _with_their_cells(layers: list[InlineLayer]) -> tuple[InlineLayer, ...]:
    """RNN cells built in their own statements, merged into the call that runs them: one layer
    (`cell_fw = LSTMCell(n); cell_bw = ...; tf.nn.bidirectional_dynamic_rnn(cell_fw, ...)`)."""
    out: list[InlineLayer] = []
    cells: list[InlineLayer] = []
    for layer in layers:
        if _is_cell(layer):
            cells.append(layer)
            continue
        if cells and is_rnn_runner(layer.api):
            parts = [*cells, layer]
            layer = InlineLayer(
                kind="inline-block",
                api=layer.api,
                code_hash=stable_hash("|".join(p.code_hash for p in parts)),
                label=layer.label,
                line=cells[0].line,
                end_line=layer.end_line,
                calls=tuple(i for p in parts for i in p.calls),
                static=all(p.static for p in parts),
                frozen=all(p.frozen for p in parts),
                known_shape=all(p.known_shape for p in parts),
            )
        else:
            out += cells
        cells = []
        out.append(layer)
    return tuple(out + cells)
