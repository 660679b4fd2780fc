"""Why two models stop sharing, in words a person can act on: once per pair of branches."""

from __future__ import annotations

from collections import defaultdict

from codegen.ids import function_id
from codegen.model import (
    Divergence,
    Layer,
    Model,
)
from codegen.plan.fingerprint import (
    Fingerprints,
)

# At most this many divergences are explained per branch point (one per pair of branches).
MAX_DIVERGENCES_PER_NODE = 12


def divergences(
    node_models: dict[tuple[str, ...], list[str]], by_id: dict[str, Model], prints: Fingerprints
) -> tuple[Divergence, ...]:
    """Why branches part, once per pair of branches at each branch point (not per model pair)."""
    near = _NearMissIndex(prints)
    out: list[Divergence] = []
    for path, ids in sorted(node_models.items(), key=lambda item: (len(item[0]), item[0])):
        if len(ids) < 2:
            continue
        depth = len(path)
        branches: dict[str, list[str]] = defaultdict(list)
        for model_id in ids:
            model = by_id[model_id]
            following = model.layers[depth].signature if depth < model.static_depth else ""
            branches[following].append(model_id)
        if len(branches) < 2:
            continue
        groups = sorted(branches.values(), key=lambda group: (-len(group), group[0]))
        pairs = [(x, y) for i, x in enumerate(groups) for y in groups[i + 1 :]]
        if not path:  # before any shared layer: only first layers that are alike need words
            pairs = [(x, y) for x, y in pairs if _alike_first(by_id[x[0]], by_id[y[0]])]
        for group_a, group_b in pairs[:MAX_DIVERGENCES_PER_NODE]:
            a, b = by_id[group_a[0]], by_id[group_b[0]]
            reason = _why_diverge(a, b, depth, near)
            if len(group_a) + len(group_b) > 2:
                reason += f" [{len(group_a)} vs {len(group_b)} models on these branches]"
            out.append(Divergence(a.id, b.id, depth, reason))
    return tuple(out)


def _alike_first(a: Model, b: Model) -> bool:
    """Whether two models' first layers are the same builder or API (differing in arguments)."""
    if not a.layers or not b.layers:
        return False
    return a.layers[0].callee == b.layers[0].callee or a.layers[0].label == b.layers[0].label


def _why_diverge(a: Model, b: Model, depth: int, near: _NearMissIndex) -> str:
    """In words a person can act on: why a and b stop sharing after `depth` layers."""
    # A file's one build function is named by the file; several models in a file, by their ids.
    name_a = a.path if a.kind == "function" else a.id
    name_b = b.path if b.kind == "function" else b.id
    for model in (a, b):
        if depth >= len(model.layers):
            return f"{model.path} has only {len(model.layers)} layers"
        if depth >= model.static_depth:
            layer = model.layers[depth]
            return (
                f"{model.path}:{layer.line} layer {depth + 1} ({layer.label}) is inside a loop "
                "or branch, or after a call the scan cannot see (CG230), so its order is not static"
            )
    la, lb = a.layers[depth], b.layers[depth]
    where = f"layer {depth + 1}"
    if la.callee != lb.callee:
        reason = (
            f"{where}: {name_a}:{la.line} calls `{la.label}` "
            f"but {name_b}:{lb.line} calls `{lb.label}`"
        )
        found = near.between(a.path, la, b.path, lb)
        if found:
            reason += f" ({found})"
        elif la.label == lb.label:
            reason += " (same name, not the same code)"
        return reason
    args_a, args_b = dict(la.args), dict(lb.args)
    differing = sorted(k for k in set(args_a) | set(args_b) if args_a.get(k) != args_b.get(k))
    details = ", ".join(
        f"{_human_key(k)} is {args_a.get(k, 'not given')} in {name_a} "
        f"but {args_b.get(k, 'not given')} in {name_b}"
        for k in differing
    )
    return f"{where} `{la.label}`: {details} ({name_a}:{la.line}, {name_b}:{lb.line})"


def _human_key(key: str) -> str:
    """`#1` reads as `argument 2`."""
    return (
        f"argument {int(key[1:]) + 1}" if key.startswith("#") and key[1:].isdigit() else f"`{key}`"
    )


class _NearMissIndex:
    """Near-miss reasons by pair of clone classes (or lone builders), built once per plan."""

    def __init__(self, prints: Fingerprints):
        self.group = {m: c.id for c in prints.clone_classes for m in c.members}
        self.reasons: dict[frozenset[str], str] = {}
        for near in prints.near_misses:
            key = frozenset((self.group.get(near.a, near.a), self.group.get(near.b, near.b)))
            self.reasons.setdefault(key, near.reason)

    def between(self, path_a: str, la: Layer, path_b: str, lb: Layer) -> str | None:
        if la.builder is None or lb.builder is None:
            return None
        ida = function_id(la.builder_path or path_a, la.builder)
        idb = function_id(lb.builder_path or path_b, lb.builder)
        return self.reasons.get(frozenset((self.group.get(ida, ida), self.group.get(idb, idb))))
