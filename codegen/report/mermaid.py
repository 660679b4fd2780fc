"""The shared trie as a Mermaid `flowchart`, which GitHub draws in pull requests and READMEs.

GitHub (and Mermaid's own default) refuses a diagram over 50,000 characters, and a flowchart of
hundreds of nodes is unreadable anyway: past the limits, branches are collapsed into summary
nodes, step by step (models grouped per layer, then the trie cut at a depth), and a note in the
diagram says so."""

from __future__ import annotations

from dataclasses import dataclass

from codegen.model import Plan
from codegen.report.trie import ROOT, Tree, build_tree

MAX_CHARS = 50_000  # GitHub's and Mermaid's `maxTextSize`
MAX_NODES = 150  # past this a flowchart is a wall; Mermaid's default edge cap is 500
NAMES_SHOWN = 3  # models named in a summary node before "and N more"
LABEL_CHARS = 60  # longer labels are cut: 150 nodes of this stay far below MAX_CHARS
SHADES = ("#e3f2fd", "#bbdefb", "#90caf9", "#64b5f6", "#2f8fe0", "#1565c0")


@dataclass(frozen=True)
class Diagram:
    """The flowchart text, how many nodes it draws, and whether branches were collapsed."""

    text: str
    nodes: int
    collapsed: bool


def label(text: str, limit: int = LABEL_CHARS) -> str:
    """Text safe inside a quoted Mermaid label: quotes, brackets and `#` as entity codes."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    out = text.replace("#", "#35;").replace('"', "#quot;")
    return out.replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(
    plan: Plan,
    *,
    max_chars: int = MAX_CHARS,
    max_nodes: int = MAX_NODES,
    title: str = "",
    highlight: frozenset[str] = frozenset(),
) -> Diagram:
    """The largest drawing that fits: every model, then models grouped, then a shallower cut.

    Layers whose key is in `highlight` (what a change touches) are outlined."""
    tree = build_tree(plan)
    names = [m.name for m in plan.models]
    deepest = max((n.depth for n in tree.nodes), default=0)
    attempts: list[tuple[int, bool]] = [(deepest, False), (deepest, True)]
    attempts += [(depth, True) for depth in range(deepest - 1, 0, -1)]
    diagram = None
    for cut, grouped in attempts:
        diagram = _draw(
            tree,
            names,
            cut=cut,
            grouped=grouped,
            title=title,
            branches=max_nodes,
            highlight=highlight,
        )
        if diagram.nodes <= max_nodes and len(diagram.text) <= max_chars:
            return diagram
    # Even one level is too wide: keep the branches shared by the most models.
    branches = max_nodes
    while True:
        branches = max(branches // 2, 1)
        diagram = _draw(
            tree,
            names,
            cut=1,
            grouped=True,
            title=title,
            branches=branches,
            highlight=highlight,
        )
        if (diagram.nodes <= max_nodes and len(diagram.text) <= max_chars) or branches == 1:
            return diagram


def _draw(
    tree: Tree,
    names: list[str],
    *,
    cut: int,
    grouped: bool,
    title: str,
    branches: int,
    highlight: frozenset[str],
) -> Diagram:
    """One attempt: nodes down to depth `cut`, models one per node or grouped per layer."""
    nodes = tree.nodes
    total = max(len(nodes[ROOT].models), 1)
    lines = ["flowchart LR"]
    if title:
        lines.append(f"  %% {title}")
    edges: list[str] = []
    styles: dict[int, list[str]] = {}
    count = 0
    notes: list[str] = []
    changed: list[str] = []
    stack = [ROOT]
    while stack:
        index = stack.pop()
        node = nodes[index]
        shared = len(node.models)
        if index == ROOT:
            lines.append(f'  n0(["all models: {shared}"])')
        else:
            key = f"<br/>key {node.key}" if node.key else "<br/>not transferable"
            lines.append(f'  n{index}["{label(node.label)} · {shared}{key}"]')
            styles.setdefault(-(-len(SHADES) * shared // total), []).append(f"n{index}")
            if node.key in highlight:
                changed.append(f"n{index}")
        count += 1
        children = list(node.children)
        if index == ROOT and len(children) > branches:
            # keep the widest branches, and say how many models the others hold
            children.sort(key=lambda c: (-len(nodes[c].models), c))
            rest = children[branches:]
            children = sorted(children[:branches])
            held = sum(len(nodes[c].models) for c in rest)
            lines.append(f'  o0["… {len(rest)} more branches, {held} models"]')
            edges.append("  n0 -.-> o0")
            count += 1
            notes.append(f"only the {branches} widest first layers are drawn")
        if node.depth >= cut and children:
            below = sum(len(nodes[c].models) for c in children)
            layers = _count_below(tree, index)
            plural = "layer" if layers == 1 else "layers"
            lines.append(f'  c{index}["… {layers} deeper shared {plural}, {below} models"]')
            edges.append(f"  n{index} -.-> c{index}")
            count += 1
            if not notes or "cut" not in notes[-1]:
                notes.append(f"the trie is cut after layer {cut}")
            children = []
        leaves = list(node.leaves)
        if grouped and len(leaves) > 1:
            shown = ", ".join(label(names[m]) for m in leaves[:NAMES_SHOWN])
            more = f" and {len(leaves) - NAMES_SHOWN} more" if len(leaves) > NAMES_SHOWN else ""
            lines.append(f'  g{index}(["{len(leaves)} models: {shown}{more}"])')
            edges.append(f"  n{index} --> g{index}")
            count += 1
            if "models are grouped per layer" not in notes:
                notes.append("models are grouped per layer")
        else:
            for model in leaves:
                lines.append(f'  m{model}(["{label(names[model])}"])')
                edges.append(f"  n{index} --> m{model}")
                count += 1
        for child in children:
            arrow = "==>" if 2 * len(nodes[child].models) >= total else "-->"
            edges.append(f"  n{index} {arrow} n{child}")
        stack.extend(reversed(children))
    if notes:
        text = "Collapsed to fit GitHub: " + "; ".join(notes) + ". codegen scan --html shows all."
        lines.append(f'  notice["{label(text, limit=len(text))}"]')
        lines.append(f"  %% {text}")
        count += 1
    lines += edges
    for shade, ids in sorted(styles.items()):
        colour = SHADES[min(max(shade, 1), len(SHADES)) - 1]
        ink = "#fff" if shade >= len(SHADES) - 1 else "#1f2328"
        lines.append(f"  classDef s{shade} fill:{colour},stroke:#5a7fa6,color:{ink}")
        lines.append(f"  class {','.join(ids)} s{shade}")
    if changed:
        lines.append("  classDef changed stroke:#cf222e,stroke-width:4px")
        lines.append(f"  class {','.join(changed)} changed")
    if notes:
        lines.append("  classDef notice fill:#fff8c5,stroke:#d4a72c,color:#1f2328")
        lines.append("  class notice notice")
    return Diagram("\n".join(lines) + "\n", count, bool(notes))


def _count_below(tree: Tree, index: int) -> int:
    """How many trie nodes hang below one (the size of what a cut hides)."""
    total, stack = 0, list(tree.nodes[index].children)
    while stack:
        child = stack.pop()
        total += 1
        stack.extend(tree.nodes[child].children)
    return total
