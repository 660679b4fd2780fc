"""What a change does to the shared trunks, for a reviewer: `check --report` (HTML or Mermaid)."""

from __future__ import annotations

import os

from codegen import names
from codegen.model import Change, Diagnostic, Plan
from codegen.report.html import to_html


def changed_keys(changed: tuple[Change, ...]) -> frozenset[str]:
    """Checkpoint keys that a model gains or loses, or whose partners change, in the shims."""
    keys: set[str] = set()
    for change in changed:
        if not names.is_shim_file(change.path.rsplit("/", 1)[-1]):
            continue
        before = names.parse_layer_comments(change.old)
        after = names.parse_layer_comments(change.new)
        keys.update(before.keys() ^ after.keys())
        keys.update(k for k in before.keys() & after.keys() if before[k] != after[k])
    return frozenset(keys)


def report_text(
    plan: Plan,
    diagnostics: tuple[Diagnostic, ...],
    changed: tuple[Change, ...] | None,
    notes: tuple[str, ...],
    *,
    path: str,
    root: str,
) -> str:
    """The report for `path`: the HTML page for `.html`, else Markdown with a Mermaid diagram.

    `changed` is None for `scan --html`; for `check --report` it is what the run would change in
    generated/, and the layers that gain or lose models are highlighted."""
    highlight = changed_keys(changed) if changed else frozenset()
    if path.endswith((".html", ".htm")):
        return to_html(
            plan,
            diagnostics,
            root=root,
            report_dir=os.path.dirname(path) or ".",
            changes=notes if changed is not None else None,
            highlight=highlight,
        )
    from codegen.report.mermaid import to_mermaid  # only Markdown needs it

    diagram = to_mermaid(plan, highlight=highlight)
    lines = ["## Shared layers", ""]
    lines.append(
        f"{len(plan.models)} models, {len(plan.nodes)} shared layer positions "
        "(written by `codegen check --report`)."
    )
    if changed is not None:
        lines += ["", "### What this change does to transfer checkpoints", ""]
        lines += [f"- {note}" for note in notes] or [
            "- No model gains or loses a shared layer: transfer checkpoints are unaffected."
        ]
        if highlight:
            lines += ["", "Layers outlined in red gain or lose models."]
    lines += ["", "```mermaid", diagram.text.rstrip("\n"), "```", ""]
    return "\n".join(lines)
