"""Plan: scan facts and their fingerprints in; models, the trunk trie, canonical checkpoint keys,
divergences and what layers_common holds out. A pure function; the steps live beside it
(models, trie, explain, edits)."""

from __future__ import annotations

from collections.abc import Sequence

from codegen.ids import function_id
from codegen.model import Diagnostic, ModuleFacts, Plan, TrunkLayer
from codegen.plan.edits import model_edits
from codegen.plan.fingerprint import Fingerprints, fingerprint
from codegen.plan.linking import Project
from codegen.plan.models import find_models, unroutable
from codegen.plan.options import DEFAULT_OPTIONS, PlanOptions
from codegen.plan.trie import pair_depths, trie

__all__ = ["PlanOptions", "make_plan", "model_edits", "pair_depths"]


def make_plan(
    modules: Sequence[ModuleFacts],
    options: PlanOptions = DEFAULT_OPTIONS,
    *,
    prints: Fingerprints | None = None,
    project: Project | None = None,
) -> Plan:
    """Scan facts and their fingerprints in, plan out: models, trie, keys and divergences.

    The driver passes the fingerprints (and the linked project they were made over); without
    them, as in tests, they are made here."""
    modules = sorted(modules, key=lambda m: m.path)
    if project is None:
        project = Project(modules, output_package=options.output_package)
    if prints is None:
        prints = fingerprint(modules, project=project)
    diagnostics: list[Diagnostic] = [d for m in modules for d in m.diagnostics]
    functions = {function_id(m.path, f.qualname): f for m in modules if m.ok for f in m.functions}
    models, own_file = find_models(modules, prints, options, project, diagnostics)
    # A model's root (its build function, constructor, build method or model_fn) is entered
    # first; the helpers it reaches stay near-miss candidates.
    roots = {function_id(m.path, m.entries[0]) if m.entries else m.id for m in models}
    prints = prints.with_near_misses(roots)
    trunks, nodes, divergences = trie(models, prints, diagnostics, functions, own_file)
    diagnostics += unroutable(models, nodes)
    return Plan(
        files=tuple((m.path, "ok" if m.ok else "error") for m in modules),
        builders=prints.builders,
        clone_classes=prints.clone_classes,
        near_misses=prints.near_misses,
        models=tuple(models),
        trunks=trunks,
        nodes=nodes,
        divergences=divergences,
        diagnostics=tuple(sorted(set(diagnostics))),
        functions=functions,
        modules={m.path: m for m in modules},
        common=_common_builders(trunks, own_file),
    )


def _common_builders(
    trunks: tuple[tuple[str, tuple[TrunkLayer, ...]], ...], own_file: set[str]
) -> tuple[str, ...]:
    """Clone classes layers_common publishes: those the build functions' trunks share, so a
    model may import the canonical copy instead of defining it. (Classes, model_fns and the
    build functions that reach into other files keep their builders where they are.)"""
    return tuple(
        sorted(
            {
                layer.callee
                for model_id, trunk in trunks
                if model_id in own_file
                for layer in trunk
                if not layer.keras  # Keras models keep their helpers; only marks route them
            }
        )
    )
