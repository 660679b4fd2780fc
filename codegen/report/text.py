"""The scan report: a readable text for people and the schema-1 JSON object for tools."""

from __future__ import annotations

import json
from typing import Any

from codegen import literals
from codegen.ids import id_path
from codegen.model import Diagnostic, Layer, Model, Plan
from codegen.names import shim_alias
from codegen.plan.planner import pair_depths

SCHEMA_VERSION = 1
MATRIX_LIMIT = 12  # above this many models the text report lists trie nodes instead


def _args_text(layer: Layer) -> str:
    shown = [f"{key}={value}" for key, value in layer.args if value != "<expr>"]
    return ", ".join(shown)


def _layer_callee(layer: Layer) -> str:
    """Schema callee: the clone class id, or the library API; unshared builders by their id."""
    return layer.callee.removeprefix("local:")


def _args_json(layer: Layer) -> dict[str, Any]:
    # The values are shared between layers (literals memoizes them): only ever serialised.
    return {key: literals.value(value, value) for key, value in layer.args if value != "<expr>"}


def to_json(plan: Plan, diagnostics: tuple[Diagnostic, ...] = ()) -> dict[str, Any]:
    """The documented schema-1 object; fields may be added, never renamed."""
    all_diagnostics = sorted(set(plan.diagnostics) | set(diagnostics))
    return {
        "schema": SCHEMA_VERSION,
        "files": [{"path": path, "status": status} for path, status in plan.files],
        "builders": [
            {
                "id": b.id,
                "path": b.path,
                "qualname": b.qualname,
                "line": b.line,
                "creates_variables": b.creates_variables,
                "clone_class": b.clone_class,
            }
            for b in plan.builders
        ],
        "clone_classes": [
            {
                "id": c.id,
                "kind": c.kind,
                "name": c.name,
                "canonical": c.canonical,
                "members": list(c.members),
            }
            for c in plan.clone_classes
        ],
        "near_misses": [
            {"a": n.a, "b": n.b, "reason": n.reason, "diff": n.diff} for n in plan.near_misses
        ],
        "models": [
            {
                "id": m.id,
                "name": m.name,
                "layers": [
                    {
                        "callee": _layer_callee(layer),
                        "label": layer.label,
                        "args": _args_json(layer),
                        "line": layer.line,
                        "end_line": layer.end_line or layer.line,
                        "kind": layer.kind,
                        "holder": layer.holder or m.build,
                        "path": layer.path or m.path,
                        "builder_path": layer.builder_path or None,
                        "frozen": layer.frozen,
                        "static_shape": layer.known_shape,
                    }
                    for layer in m.layers
                ],
                "kind": m.kind,
                "path": m.path,
                "root": m.build,
                "members": list(m.members) or [m.id],
                "routable": m.routable,
                "shim": _shim(m) if m.routable else None,
                "trunk": [
                    {
                        "position": t.position,
                        "key": t.key,
                        "builder": t.builder,
                        "marked": t.inline is not None,
                        "models_sharing": len(t.shared_with),
                    }
                    for t in dict(plan.trunks).get(m.id, ())
                ],
            }
            for m in plan.models
        ],
        "shared_depth": [
            {"a": a, "b": b, "depth": depth} for (a, b), depth in sorted(pair_depths(plan).items())
        ],
        "divergences": [
            {"a": d.a, "b": d.b, "depth": d.depth, "reason": d.reason} for d in plan.divergences
        ],
        "diagnostics": [d.to_json() for d in all_diagnostics],
    }


# Past this many models the report is written compact: json's indenting encoder is pure Python
# (three times slower than the C one on a 1,000-file tree) and such a report is read by tools.
MAX_MODELS_INDENTED = 50


def to_json_text(plan: Plan, diagnostics: tuple[Diagnostic, ...] = ()) -> str:
    """Stable, sorted-key JSON text: indented for small projects, compact for large ones."""
    indent = 2 if len(plan.models) <= MAX_MODELS_INDENTED else None
    separators = None if indent else (",", ":")
    text = json.dumps(
        to_json(plan, diagnostics), indent=indent, separators=separators, sort_keys=True
    )
    return text + "\n"


def to_text(plan: Plan, diagnostics: tuple[Diagnostic, ...] = (), *, limit: int = 50) -> str:
    """A report a person can read top to bottom; long sections are cut at `limit` rows."""
    lines: list[str] = []
    ok = sum(1 for _, status in plan.files if status == "ok")
    errors = len(plan.files) - ok
    creating = sum(1 for b in plan.builders if b.creates_variables)
    lines.append(
        f"Scanned {len(plan.files)} files ({ok} ok, {errors} with errors): "
        f"{creating} layer builders, {len(plan.clone_classes)} shared, {len(plan.models)} models."
    )

    lines += ["", "Shared builders (clone classes)"]
    if not plan.clone_classes:
        lines.append("  none")
    for clone in plan.clone_classes[:limit]:
        lines.append(
            f"  {clone.id:<4} {clone.name:<24} {clone.kind:<8} {len(clone.members)} copies"
        )
        for member in clone.members:
            marker = "*" if member == clone.canonical else " "
            lines.append(f"       {marker} {member}")
    _cut(lines, len(plan.clone_classes), limit)

    lines += ["", "Layer sequences (models and the layers their roots reach)"]
    trunks = dict(plan.trunks)
    for model in plan.models[:limit]:
        shared_positions = {t.position: t for t in trunks.get(model.id, ())}
        how = f"shim: {_shim(model)}" if model.routable else f"{model.kind}, not routed"
        lines.append(f"  {model.id}  ({how})")
        for position, layer in enumerate(model.layers):
            trunk = shared_positions.get(position)
            where = f"-> {trunk.key}" if trunk else ""
            static = "" if position < model.static_depth else "  (in a loop/branch)"
            lines.append(
                f"    {position + 1:>2}. {_layer_text(layer)}  [{_where(layer, model)}]"
                f"{_marks(layer)}{static} {where}".rstrip()
            )
        if not model.layers:
            lines.append("    (no layer calls)")
    _cut(lines, len(plan.models), limit)

    lines += ["", "Shared depth (layers both models build identically from the start)"]
    if len(plan.models) <= MATRIX_LIMIT:
        lines += _matrix(plan.models, pair_depths(plan))
    else:
        lines += _deepest_pairs(plan, limit)

    lines += ["", "Where shared trunks end"]
    for divergence in plan.divergences[:limit]:
        lines.append(
            f"  {divergence.a} ~ {divergence.b}: {divergence.depth} shared; {divergence.reason}"
        )
    if not plan.divergences:
        lines.append("  fewer than two models")

    lines += ["", "Near-misses (alike, never merged)"]
    if not plan.near_misses:
        lines.append("  none")
    for near in plan.near_misses[:limit]:
        lines.append(f"  {near.a} ~ {near.b}: {near.reason}")
        lines += [f"      {row}" for row in near.diff.splitlines()[:12]]
    _cut(lines, len(plan.near_misses), limit)

    all_diagnostics = sorted(set(plan.diagnostics) | set(diagnostics))
    lines += ["", "Diagnostics"]
    if not all_diagnostics:
        lines.append("  none")
    lines += [f"  {d.format()}" for d in all_diagnostics[: limit * 4]]
    return "\n".join(lines) + "\n"


def _layer_text(layer: Layer) -> str:
    """`conv_block(width=128)` for a call; the label alone for an inline layer."""
    if layer.kind.startswith("inline"):
        return layer.label
    return f"{layer.label}({_args_text(layer)})"


def _where(layer: Layer, model: Model) -> str:
    """What identifies the layer and where it sits: `C1, line 30`, `inline, Model.build:12`."""
    where = f"line {layer.line}"
    if layer.holder and layer.holder != model.build:
        path = f"{layer.path}:" if layer.path and layer.path != model.path else ""
        where = f"in {path}{layer.holder}, line {layer.line}"
    if layer.kind.startswith("inline"):
        return f"inline, {where}"
    if layer.callee.startswith("local:"):
        origin = f"from {layer.builder_path}" if layer.builder_path else "own"
        return f"{origin}, {where}"
    return f"{layer.callee}, {where}"


def _marks(layer: Layer) -> str:
    marks = []
    if layer.frozen:
        marks.append("frozen: not trainable")
    if not layer.known_shape:
        marks.append("shape known only at run time")
    return f"  ({'; '.join(marks)})" if marks else ""


def _cut(lines: list[str], total: int, limit: int) -> None:
    if total > limit:
        lines.append(f"  ... and {total - limit} more (use --json for everything)")


def _deepest_pairs(plan: Plan, limit: int) -> list[str]:
    """For many models a matrix is unreadable: the shared trie nodes, deepest first."""
    nodes = sorted(plan.nodes, key=lambda n: (-n.depth, -len(n.models), n.models[0]))
    rows = [f"  {len(plan.models)} models; shared layer positions, deepest first:"]
    for node in nodes[:limit]:
        shown = ", ".join(id_path(m) for m in node.models[:4])
        more = f" and {len(node.models) - 4} more" if len(node.models) > 4 else ""
        rows.append(
            f"    depth {node.depth} ({node.label}): {len(node.models)} models: {shown}{more}"
        )
    _cut(rows, len(nodes), limit)
    return rows


def _matrix(models: tuple[Model, ...], depth: dict[tuple[str, str], int]) -> list[str]:
    """Pairwise shared depth as a small table."""
    if len(models) < 2:
        return ["  fewer than two models"]
    names = [m.name for m in models]
    width = max(len(n) for n in names) + 2
    rows = ["  " + " " * width + "".join(f"{n[:10]:>11}" for n in names)]
    for a in models:
        cells = []
        for b in models:
            value = (
                "-" if a.id == b.id else str(depth.get((a.id, b.id), depth.get((b.id, a.id), 0)))
            )
            cells.append(f"{value:>11}")
        rows.append(f"  {a.name:<{width}}" + "".join(cells))
    return rows


def _shim(model: Model) -> str:
    """The shim module a routable model goes through (one per file for entered models)."""
    return shim_alias(model.shim or model.name)
