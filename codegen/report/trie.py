"""The plan's shared trie as a tree to draw: parents, children and the model leaves, in order."""

from __future__ import annotations

from dataclasses import dataclass

from codegen.model import Plan

ROOT = 0  # index of the tree's root: "all models", before any layer


@dataclass(frozen=True)
class TreeNode:
    """One shared layer (a trie node), or the root at depth 0."""

    index: int
    parent: int  # -1 for the root
    depth: int  # layers from the start, this one included
    label: str
    key: str  # canonical checkpoint key ("" when shared but not transferable, and for the root)
    models: tuple[str, ...]  # every model id through this node, in plan order
    children: tuple[int, ...]  # trie nodes right below, ordered by their first model
    leaves: tuple[int, ...]  # indices (in plan.models) of the models whose shared run ends here
    first: int  # index (in plan.models) of its first model: siblings are ordered by it


@dataclass(frozen=True)
class Tree:
    """The trie with the models hung under their deepest shared layer."""

    nodes: tuple[TreeNode, ...]
    paths: tuple[tuple[int, ...], ...]  # per model (plan order): its node indices from depth 1

    def branch(self, model: int, depth: int, *, ends: bool) -> str:
        """Which branch a model takes below its node at `depth`, as the divergences group them.

        The next shared node's index; "e" for the models whose comparable layers end there
        (`ends`: their static depth is `depth`); else the model alone ("m<index>")."""
        path = self.paths[model]
        if depth < len(path):
            return str(path[depth])
        return "e" if ends else f"m{model}"


def build_tree(plan: Plan) -> Tree:
    """Rebuild parent links from `plan.nodes`: nodes of one depth hold disjoint models."""
    index_of = {m.id: i for i, m in enumerate(plan.models)}
    ordered = sorted(plan.nodes, key=lambda n: (n.depth, index_of[n.models[0]]))
    deepest = [ROOT] * len(plan.models)  # per model: its deepest node seen so far
    paths: list[list[int]] = [[] for _ in plan.models]
    parents = [-1]
    for number, node in enumerate(ordered, start=1):
        parents.append(deepest[index_of[node.models[0]]])
        for model_id in node.models:
            model = index_of[model_id]
            deepest[model] = number
            paths[model].append(number)
    children: list[list[int]] = [[] for _ in parents]
    for number in range(1, len(parents)):
        children[parents[number]].append(number)
    leaves: list[list[int]] = [[] for _ in parents]
    for model, deepest_node in enumerate(deepest):
        leaves[deepest_node].append(model)
    keys = _keys(plan, index_of, paths)
    first = [0] + [index_of[n.models[0]] for n in ordered]
    labels = ["all models"] + [n.label for n in ordered]
    members = [tuple(m.id for m in plan.models)] + [n.models for n in ordered]
    nodes = tuple(
        TreeNode(
            number,
            parents[number],
            0 if number == ROOT else ordered[number - 1].depth,
            labels[number],
            keys.get(number, ""),
            members[number],
            tuple(sorted(children[number], key=first.__getitem__)),
            tuple(leaves[number]),
            first[number],
        )
        for number in range(len(parents))
    )
    return Tree(nodes, tuple(tuple(p) for p in paths))


def _keys(plan: Plan, index_of: dict[str, int], paths: list[list[int]]) -> dict[int, str]:
    """Checkpoint key of each transferable node (the same for every model on it)."""
    keys: dict[int, str] = {}
    for model_id, trunk in plan.trunks:
        path = paths[index_of[model_id]]
        for layer in trunk:
            keys.setdefault(path[layer.position], layer.key)
    return keys


def order(tree: Tree) -> list[tuple[int, int]]:
    """Depth-first rows: (node index, -1) for a node, (parent index, model) for a leaf.

    Under a node, child nodes and leaves interleave by their first model, so models that share
    more sit next to each other (the matrix's "trie" order is the leaves of this walk)."""
    rows: list[tuple[int, int]] = []
    stack: list[tuple[int, int]] = [(ROOT, -1)]
    nodes = tree.nodes
    while stack:
        node, model = stack.pop()
        rows.append((node, model))
        if model >= 0:
            continue
        below = [(nodes[c].first, c, -1) for c in nodes[node].children]
        below += [(leaf, node, leaf) for leaf in nodes[node].leaves]
        below.sort()
        stack.extend((n, m) for _, n, m in reversed(below))
    return rows
