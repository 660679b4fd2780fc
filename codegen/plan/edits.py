"""What apply must change in each model file, derived from the plan's trunks."""

from __future__ import annotations

from codegen.model import (
    LayerMark,
    Model,
    ModelEdit,
    Plan,
    RootRoute,
)
from codegen.names import common_module, shim_alias, shim_module
from codegen.plan.options import PlanOptions


def model_edits(plan: Plan, options: PlanOptions) -> tuple[ModelEdit, ...]:
    """What apply must change in each model file (one edit per file), derived from its trunks."""
    trunks = dict(plan.trunks)
    by_path: dict[str, list[Model]] = {}
    for model in plan.models:
        if model.routable:  # module-level script code: no edit, its file untouched
            by_path.setdefault(model.path, []).append(model)
    edits = []
    for path, models in by_path.items():
        builders: set[str] = set()
        roots: list[RootRoute] = []
        marks: list[LayerMark] = []
        for model in models:
            trunk = trunks.get(model.id, ())
            builders.update(t.builder for t in trunk if t.builder and t.inline is None)
            if trunk:
                roots.extend(RootRoute(entry, model.root) for entry in model.entries)
                marks.extend(
                    LayerMark(
                        t.inline[0],
                        t.inline[1],
                        t.inline[2],
                        model.root,
                        t.position,
                        expression=t.keras,
                        name=t.label.rpartition(".")[2] if t.keras else "",
                    )
                    for t in trunk
                    if t.inline is not None
                )
        edits.append(
            ModelEdit(
                path=path,
                shim_module=shim_module(options.output_package, models[0].shim),
                shim_alias=shim_alias(models[0].shim),
                shared_builders=tuple(sorted(builders)),
                common_module=common_module(options.output_package),
                roots=tuple(dict.fromkeys(roots)),
                marks=tuple(marks),
                line_length=options.line_length,
            )
        )
    return tuple(edits)
