"""The scan report as one self-contained HTML page: the shared trie drawn in SVG, a sortable
shared-depth heatmap, each model's layers, near-misses and diagnostics (no network, no CDN).

Python lays out and writes every fragment; templates/report.html only places them
(`string.Template`: importing jinja2 alone would cost more than the report's whole budget, 5% of
a warm 1,000-file scan). The page's own script
re-runs the same row layout when a reader collapses or filters the tree, and builds the matrix
from each model's trie path (a pair's shared depth is the length of their common prefix), so the
file stays linear in the models while the matrix is quadratic only in what a reader shows."""

from __future__ import annotations

import functools
import json
import os
import string
from dataclasses import dataclass
from typing import Any

from codegen import templates_dir
from codegen.ids import id_path
from codegen.model import Diagnostic, Plan
from codegen.paths import display_path
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
    label: str  # cut to fit the box
    title: str  # the whole label, shown on hover
    sub: str  # the second line: its checkpoint key, or why it has none
    count: int
    shade: int  # 1..SHADES: the share of all models that build this layer
    changed: bool  # a layer that a checked change makes some model gain or lose


@dataclass(frozen=True)
class SvgLeaf:
    """A model at the end of its shared run, placed."""

    model: int
    x: int
    y: int
    name: str


@dataclass(frozen=True)
class SvgEdge:
    """An elbow from a node to a child node or leaf."""

    child: str  # "n<index>" or "m<model>"
    d: str
    width: float


@dataclass(frozen=True)
class Drawing:
    """The whole tree, placed: what `svg` writes out."""

    width: int
    height: int
    nodes: tuple[SvgNode, ...]
    leaves: tuple[SvgLeaf, ...]
    edges: tuple[SvgEdge, ...]


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
            leaves.append(SvgLeaf(model, lx, ly, names[model]))
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
    """A box's second line: the layer's checkpoint key, or why it has none."""
    if depth == 0:
        return f"{count} models"
    return f"key {key}" if key else "shared, not transferable"


def _elbow(x1: int, y1: int, x2: int, y2: int) -> str:
    """From the right edge of a parent's box to the left edge of a child, with one bend."""
    start = x1 + BOX_WIDTH
    middle = start + (x2 - start) // 2
    return f"M{start},{y1}H{middle}V{y2}H{x2}"


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def report_data(plan: Plan, tree: Tree, base: str = "") -> dict[str, Any]:
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
        path, build = model.path, model.build
        models.append(
            {
                "n": model.name,
                "id": model.id,
                "p": model.path,
                "k": model.kind,
                "t": list(tree.paths[i]),
                "e": 1 if ends[i] else 0,
                "s": model.static_depth,
                # [label, hyperparameters, path, line, key, holder]; path and holder are ""
                # when they are the model's own (most layers: it keeps the page small)
                "L": [
                    [
                        layer.label,
                        _args(layer.args),
                        "" if layer.path in ("", path) else layer.path,
                        layer.line,
                        shared.get(pos, ""),
                        "" if layer.holder in ("", build) else layer.holder,
                    ]
                    for pos, layer in enumerate(model.layers)
                ],
            }
        )
    nodes = [
        {"p": n.parent, "d": n.depth, "l": n.label, "k": n.key, "c": len(n.models)}
        for n in tree.nodes
    ]
    return {"models": models, "nodes": nodes, "why": why, "base": base}


def _args(args: tuple[tuple[str, str], ...]) -> str:
    """`key=value, ...` of a layer's literal hyperparameters."""
    return ", ".join(f"{k}={v}" for k, v in args if v != "<expr>")


def escape(text: str) -> str:
    """Text safe in HTML content and quoted attributes (the stdlib's `html` imports a table of
    2,000 entities for its unescape: a cost every report would pay for nothing)."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _diff(text: str) -> str:
    """A near-miss diff with its removed and added lines marked for highlighting."""
    rows = []
    for line in text.splitlines():
        if line.startswith(("---", "+++", "@@")):
            kind = "head"
        elif line.startswith("-"):
            kind = "del"
        elif line.startswith("+"):
            kind = "add"
        else:
            kind = "ctx"
        rows.append(f'<span class="{kind}">{escape(line)}</span>')
    return "\n".join(rows)


def svg(drawing: Drawing) -> str:
    """The tree's <svg> element: edges under nodes, nodes, then the model leaves."""
    half = BOX_HEIGHT // 2
    out = [
        f'<svg id="trie" xmlns="http://www.w3.org/2000/svg" width="{drawing.width}" '
        f'height="{drawing.height}" viewBox="0 0 {drawing.width} {drawing.height}">',
        '<g id="edges">',
    ]
    out += [
        f'<path class="e" data-c="{e.child}" d="{e.d}" stroke-width="{e.width}"/>'
        for e in drawing.edges
    ]
    out.append('</g>\n<g id="nodes">')
    toggle = (
        f'<g class="t" transform="translate({BOX_WIDTH + 8},0)"><circle r="6"/>'
        '<text y="4">&minus;</text></g></g>'
    )
    for n in drawing.nodes:
        changed = " chg" if n.changed else ""
        out.append(
            f'<g class="n s{n.shade}{changed}" id="n{n.index}" data-i="{n.index}" '
            f'transform="translate({n.x},{n.y})"><title>{escape(n.title)}</title>'
            f'<rect y="-{half}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="5"/>'
            f'<text class="l" x="7" y="-2">{escape(n.label)}</text>'
            f'<text class="k" x="7" y="9">{escape(n.sub)}</text>'
            f'<text class="c" x="{BOX_WIDTH - 6}" y="-2">{n.count}</text>{toggle}'
        )
    out.append('</g>\n<g id="leaves">')
    out += [
        f'<g class="leaf" id="m{m.model}" data-m="{m.model}" transform="translate({m.x},{m.y})">'
        f'<title>{escape(m.name)}</title><circle r="4"/><text x="8" y="4">{escape(m.name)}'
        "</text></g>"
        for m in drawing.leaves
    ]
    out.append("</g>\n</svg>")
    return "\n".join(out)


def _json_script(value: Any) -> str:
    """JSON that is safe inside <script>: no `<` can close the element or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c")


@functools.cache
def _template(name: str) -> str:
    """A file under templates/ (the page, its stylesheet and script): ours, never scanned text."""
    return (templates_dir() / name).read_text(encoding="utf-8")


def link_base(root: str, report_dir: str) -> str:
    """What turns a scanned path into a link from the report's folder ("" or "../x/"), relative:
    the page carries no absolute path, and moving the project with it keeps the links."""
    base = display_path(root, report_dir)
    if os.path.isabs(base):  # another drive on Windows: paths as scanned
        return ""
    return "" if base == "." else base + "/"


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
    builders = {b.id: b for b in plan.builders}
    problems = sorted(set(plan.diagnostics) | set(diagnostics))
    base = link_base(root, report_dir)

    def link(path: str, line: int, text: str) -> str:
        href = escape(f"{base}{path}#L{line}")
        return f'<a href="{href}">{escape(text)}</a>'

    def builder_link(builder_id: str) -> str:
        builder = builders.get(builder_id)
        return link(id_path(builder_id), builder.line if builder else 1, builder_id)

    nears = [
        f'<div class="nm"><p>{builder_link(n.a)} ~ {builder_link(n.b)}: {escape(n.reason)}</p>'
        f'<pre class="diff">{_diff(n.diff)}</pre></div>'
        for n in plan.near_misses
    ]
    rows = [
        f'<tr class="{d.severity}"><td>{link(d.path, d.line, f"{d.path}:{d.line}")}</td>'
        f"<td>{d.code}</td><td>{d.severity}</td><td>{escape(d.message)}</td></tr>"
        for d in problems
    ]
    endings = [
        f"<li><code>{escape(d.a)}</code> ~ <code>{escape(d.b)}</code>: <b>{d.depth} shared</b>; "
        f"{escape(d.reason)}</li>"
        for d in plan.divergences
    ]
    ok = sum(1 for _, status in plan.files if status == "ok")
    creating = sum(1 for b in plan.builders if b.creates_variables)
    summary = (
        f"{len(plan.files)} files ({ok} ok, {len(plan.files) - ok} with errors) &middot; "
        f"{creating} layer builders, {len(plan.clone_classes)} shared &middot; "
        f"<b>{len(plan.models)} models</b> &middot; {len(plan.nodes)} shared layer positions, "
        f"{sum(1 for n in tree.nodes if n.key)} transferable"
    )
    layout_data = {"column": COLUMN, "row": ROW, "box": BOX_WIDTH, "leafText": LEAF_TEXT}
    page = string.Template(_template("report.html"))
    return page.substitute(
        title=escape(title),
        summary=summary,
        changes=_changes(changes),
        legend="".join(f'<i class="s{shade}"></i>' for shade in range(1, SHADES + 1)),
        svg=svg(layout(tree, [m.name for m in plan.models], highlight)),
        endings=_wrap('<ul class="endings">', endings, "</ul>")
        or "<p>Fewer than two models, or none share a first layer.</p>",
        nears="\n".join(nears) or "<p>None.</p>",
        diagnostics=_wrap(DIAGNOSTICS_HEAD, rows, "</tbody></table>") or "<p>None.</p>",
        data=_json_script(report_data(plan, tree, base)),
        layout=_json_script(layout_data),
        css=_template("report.css"),
        script=_template("report.js"),
    )


DIAGNOSTICS_HEAD = (
    '<table class="diags"><thead><tr><th>where</th><th>code</th><th>severity</th>'
    "<th>message</th></tr></thead><tbody>"
)


def _wrap(head: str, rows: list[str], tail: str) -> str:
    """Rows between an opening and a closing tag, one a line; "" for no rows."""
    return "\n".join([head, *rows, tail]) if rows else ""


def _changes(notes: tuple[str, ...] | None) -> str:
    """check --report's section: what the change does to transfer checkpoints (none for scan)."""
    if notes is None:
        return ""
    if not notes:
        body = "<p>No model gains or loses a shared layer: transfer checkpoints are unaffected.</p>"
    else:
        items = "\n".join(f"<li>{escape(note)}</li>" for note in notes)
        hint = '<p class="hint">Layers outlined in red gain or lose models.</p>'
        body = f"<ul>\n{items}\n</ul>\n{hint}"
    return (
        '<section id="changes">\n<h2>What this change does to transfer checkpoints</h2>\n'
        f"{body}\n</section>"
    )
