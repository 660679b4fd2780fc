"""The scan report as one self-contained HTML page: the shared trie drawn in SVG, a sortable
shared-depth heatmap, each model's layers, near-misses and diagnostics (no network, no CDN).

Python lays out and prepares everything; the template only places it. The page's own script
re-runs the same row layout when a reader collapses or filters the tree, and builds the matrix
from each model's trie path (a pair's shared depth is the length of their common prefix), so the
file stays linear in the models while the matrix is quadratic only in what a reader shows."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from codegen import templates_dir
from codegen.ids import id_path
from codegen.model import Diagnostic, Layer, Model, Plan
from codegen.report.trie import ROOT, Tree, build_tree, order

COLUMN = 190  # horizontal step per trie depth, px
BOX_WIDTH = 160
BOX_HEIGHT = 26
ROW = 32  # vertical step per leaf row, px
LABEL_CHARS = 22  # a node's label is cut to fit its box; the full text is in its <title>
SHADES = 6  # colour steps for "how many models share this layer"
LEAF_TEXT = 320  # room right of the deepest leaf for its name


@dataclass(frozen=True)
class SvgNode:
    """A trie node's box, placed."""

    index: int
    x: int
    y: int
    label: str
    title: str
    sub: str  # the second line: its checkpoint key, or why it has none
    count: int
    shade: int
    depth: int
    changed: bool  # a layer that a checked change makes some model gain or lose


@dataclass(frozen=True)
class SvgLeaf:
    """A model at the end of its shared run, placed."""

    model: int
    node: int
    x: int
    y: int
    name: str
    title: str


@dataclass(frozen=True)
class SvgEdge:
    """An elbow from a node to a child node or leaf."""

    child: str  # "n<index>" or "m<model>"
    d: str
    width: float


@dataclass(frozen=True)
class Drawing:
    """The whole tree, placed: what the template writes into the <svg>."""

    width: int
    height: int
    nodes: tuple[SvgNode, ...]
    leaves: tuple[SvgLeaf, ...]
    edges: tuple[SvgEdge, ...]


@dataclass(frozen=True)
class DiffLine:
    """One line of a near-miss diff and how to highlight it."""

    kind: str  # "add" | "del" | "head" | "ctx"
    text: str


@dataclass(frozen=True)
class Near:
    """A near-miss, with both builders' source links."""

    a: str
    a_href: str
    b: str
    b_href: str
    reason: str
    diff: tuple[DiffLine, ...]


@dataclass(frozen=True)
class Problem:
    """A diagnostic with its source link."""

    code: str
    severity: str
    where: str
    href: str
    message: str


@dataclass(frozen=True)
class Ending:
    """Why two branches part: one divergence, written out."""

    a: str
    b: str
    depth: int
    reason: str


def layout(tree: Tree, names: list[str], highlight: frozenset[str] = frozenset()) -> Drawing:
    """Tidy rows: each leaf its own row in depth-first order, each node centred on its children."""
    rows = order(tree)
    nodes = tree.nodes
    leaf_y: dict[int, int] = {}
    row = 0
    for _node, model in rows:
        if model >= 0:
            leaf_y[model] = row * ROW + ROW // 2
            row += 1
    node_y = [0] * len(nodes)
    for node, model in reversed(rows):  # children before their parents
        if model >= 0:
            continue
        ys = [node_y[c] for c in nodes[node].children] + [leaf_y[m] for m in nodes[node].leaves]
        node_y[node] = (min(ys) + max(ys)) // 2 if ys else ROW // 2
    total = max(len(nodes[ROOT].models), 1)
    placed = []
    edges = []
    leaves = []
    deepest = 0
    for node, model in rows:
        current = nodes[node]
        x = current.depth * COLUMN
        if model >= 0:
            lx, ly = x + COLUMN, leaf_y[model]
            leaves.append(SvgLeaf(model, node, lx, ly, names[model], names[model]))
            edges.append(SvgEdge(f"m{model}", _elbow(x, node_y[node], lx, ly), 1.0))
            deepest = max(deepest, lx)
            continue
        count = len(current.models)
        placed.append(
            SvgNode(
                node,
                x,
                node_y[node],
                _cut(current.label, LABEL_CHARS),
                current.label,
                _sub(current.key, current.depth, count),
                count,
                max(1, -(-SHADES * count // total)),
                current.depth,
                bool(current.key) and current.key in highlight,
            )
        )
        if node != ROOT:
            parent = nodes[current.parent]
            edges.append(
                SvgEdge(
                    f"n{node}",
                    _elbow(parent.depth * COLUMN, node_y[parent.index], x, node_y[node]),
                    round(1 + 7 * count / total, 1),
                )
            )
    height = max(row, 1) * ROW + ROW
    return Drawing(deepest + LEAF_TEXT, height, tuple(placed), tuple(leaves), tuple(edges))


def _sub(key: str, depth: int, count: int) -> str:
    if depth == 0:
        return f"{count} models"
    return f"key {key}" if key else "shared, not transferable"


def _elbow(x1: int, y1: int, x2: int, y2: int) -> str:
    """From the right edge of a parent's box to the left edge of a child, with one bend."""
    start = x1 + BOX_WIDTH
    middle = start + (x2 - start) // 2
    return f"M{start},{y1}H{middle}V{y2}H{x2}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def report_data(plan: Plan, tree: Tree, links: dict[str, str]) -> dict[str, Any]:
    """What the page's script needs: each model's trie path and layers, each node's facts."""
    index_of = {m.id: i for i, m in enumerate(plan.models)}
    ends = [
        len(tree.paths[i]) == m.static_depth for i, m in enumerate(plan.models)
    ]  # its comparable layers end at its deepest shared node
    why: dict[str, str] = {}
    for divergence in plan.divergences:
        a, b = index_of[divergence.a], index_of[divergence.b]
        depth = divergence.depth
        point = tree.paths[a][depth - 1] if depth else ROOT
        pair = sorted((tree.branch(a, depth, ends=ends[a]), tree.branch(b, depth, ends=ends[b])))
        why[f"{point}:{pair[0]}:{pair[1]}"] = divergence.reason
    keys_of = dict(plan.trunks)
    models = []
    for i, model in enumerate(plan.models):
        shared = {t.position: t.key for t in keys_of.get(model.id, ())}
        models.append(
            {
                "n": model.name,
                "id": model.id,
                "p": model.path,
                "k": model.kind,
                "t": list(tree.paths[i]),
                "e": 1 if ends[i] else 0,
                "s": model.static_depth,
                "L": [
                    _layer_row(layer, model, shared.get(pos, ""))
                    for pos, layer in enumerate(model.layers)
                ],
            }
        )
    nodes = [
        {"p": n.parent, "d": n.depth, "l": n.label, "k": n.key, "c": len(n.models)}
        for n in tree.nodes
    ]
    return {"models": models, "nodes": nodes, "why": why, "links": links}


def _layer_row(layer: Layer, model: Model, key: str) -> list[Any]:
    """[label, hyperparameters, path, line, key, kind, holder] of one layer."""
    args = ", ".join(f"{k}={v}" for k, v in layer.args if v != "<expr>")
    return [
        layer.label,
        args,
        layer.path or model.path,
        layer.line,
        key,
        layer.kind,
        layer.holder or model.build,
    ]


def _diff(text: str) -> tuple[DiffLine, ...]:
    kinds = []
    for line in text.splitlines():
        if line.startswith(("---", "+++", "@@")):
            kind = "head"
        elif line.startswith("-"):
            kind = "del"
        elif line.startswith("+"):
            kind = "add"
        else:
            kind = "ctx"
        kinds.append(DiffLine(kind, line))
    return tuple(kinds)


@functools.cache
def _environment() -> jinja2.Environment:
    """As emit's environment (strict, trimmed), but escaping HTML: scanned text reaches a page."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
    )


def _inline(name: str) -> Markup:
    """A stylesheet or script under templates/, placed verbatim (ours, never scanned text)."""
    return Markup((templates_dir() / name).read_text(encoding="utf-8"))


def _json_script(value: Any) -> Markup:
    """JSON that is safe inside <script>: no `<` can close the element or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return Markup(text.replace("<", "\\u003c"))


def source_links(paths: list[str], root: str, report_dir: str) -> dict[str, str]:
    """Each scanned path as a link from the report's folder (relative: no absolute paths)."""
    links = {}
    for path in paths:
        target = os.path.normpath(os.path.join(root, path))
        try:
            links[path] = os.path.relpath(target, report_dir).replace(os.sep, "/")
        except ValueError:  # another drive on Windows: the path as scanned
            links[path] = path
    return links


def to_html(
    plan: Plan,
    diagnostics: tuple[Diagnostic, ...] = (),
    *,
    root: str = ".",
    report_dir: str = ".",
    title: str = "layershare scan report",
    changes: tuple[str, ...] | None = None,
    highlight: frozenset[str] = frozenset(),
) -> str:
    """The whole page as text; the same plan gives the same bytes.

    `changes` (check --report): what the checked change does to transfer checkpoints, in words;
    the layers whose key is in `highlight` are outlined."""
    tree = build_tree(plan)
    names = [m.name for m in plan.models]
    builders = {b.id: b for b in plan.builders}
    problems = sorted(set(plan.diagnostics) | set(diagnostics))
    paths = sorted(
        {path for path, _ in plan.files}
        | {m.path for m in plan.models}
        | {layer.path for m in plan.models for layer in m.layers if layer.path}
        | {d.path for d in problems}
    )
    links = source_links(paths, root, report_dir)

    def href(path: str, line: int) -> str:
        return f"{links.get(path, path)}#L{line}"

    def builder_link(builder_id: str) -> str:
        builder = builders.get(builder_id)
        path = id_path(builder_id)
        return href(path, builder.line if builder else 1)

    nears = tuple(
        Near(n.a, builder_link(n.a), n.b, builder_link(n.b), n.reason, _diff(n.diff))
        for n in plan.near_misses
    )
    shown = tuple(
        Problem(d.code, d.severity, f"{d.path}:{d.line}", href(d.path, d.line), d.message)
        for d in problems
    )
    endings = tuple(Ending(d.a, d.b, d.depth, d.reason) for d in plan.divergences)
    ok = sum(1 for _, status in plan.files if status == "ok")
    summary = {
        "files": len(plan.files),
        "ok": ok,
        "errors": len(plan.files) - ok,
        "builders": sum(1 for b in plan.builders if b.creates_variables),
        "shared": len(plan.clone_classes),
        "models": len(plan.models),
        "nodes": len(plan.nodes),
        "transferable": sum(1 for n in tree.nodes if n.key),
    }
    template = _environment().get_template("report.html.jinja")
    return template.render(
        title=title,
        summary=summary,
        drawing=layout(tree, names, highlight),
        changes=changes,
        box_width=BOX_WIDTH,
        box_height=BOX_HEIGHT,
        nears=nears,
        problems=shown,
        endings=endings,
        data=_json_script(report_data(plan, tree, links)),
        layout=_json_script(
            {"column": COLUMN, "row": ROW, "box": BOX_WIDTH, "leafText": LEAF_TEXT}
        ),
        css=_inline("report.css"),
        script=_inline("report.js"),
    )
