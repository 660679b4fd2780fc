"""What a run would change on disk, in memory: the change planning every command shares.

`pending_changes` turns a pipeline `Outcome` into the creates, updates, deletes and refusals of
generated/ and the models, the problems that stop them and the checkpoint-compatibility notes;
`check` prints them; `emit`, `apply`, `sync` and `demo` write them with `write_changes`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from codegen import diagnostics, names, write
from codegen.config import Config
from codegen.model import Change, Diagnostic, Plan
from codegen.pipeline import Outcome, output_package
from codegen.scan.discover import imported_shims, routed_elsewhere


@dataclass(frozen=True)
class Changes:
    """What a run would write (or refuse), with the diagnostics that explain it."""

    generated: tuple[Change, ...]
    models: tuple[Change, ...]
    problems: tuple[Diagnostic, ...]
    notes: tuple[str, ...]  # checkpoint-compatibility changes, in words


def pending_changes(
    outcome: Outcome,
    config: Config,
    *,
    force: bool,
    generated: bool = True,
    models: bool = True,
    tracked: frozenset[str] | None = None,
) -> Changes:
    """Everything emit/apply would change on disk for this outcome, without writing.

    `tracked`, in a commit hook: the real paths git tracks. A generated file outside them is
    not part of the commit, so it is left alone (named in a note), never deleted.
    """
    root = Path(config.root)
    problems = list(outcome.diagnostics)
    generated_changes: tuple[Change, ...] = ()
    model_changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    if generated and outcome.files:  # no files: rendering failed, and outcome says why
        generated_changes, write_problems = write.plan_changes(
            outcome.files, root / config.output, root, force=force
        )
        problems.extend(write_problems)
        if tracked is not None:
            generated_changes, left = _committed_changes(generated_changes, tracked)
            problems.extend(left)
        problems.extend(_partial_scan_conflicts(generated_changes, outcome, config, tracked))
        problems.extend(_still_imported(generated_changes, outcome, config, models=models))
        notes = compatibility_notes(outcome.plan, generated_changes)
    if models:
        # Planned against the exact bytes that were scanned and edited, not a re-read.
        read = {source.abspath: source.digest for source in outcome.scan.sources}
        model_changes, source_problems = write.plan_source_changes(outcome.routed, root, read=read)
        problems.extend(source_problems)
    return Changes(generated_changes, model_changes, tuple(problems), notes)


def write_changes(changes: Changes, outcome: Outcome, config: Config) -> tuple[Diagnostic, ...]:
    """Write `changes` in one transaction: all of generated/ and the models, or none of it.

    Every file read for this plan must still hold the bytes that were read (users' files are
    sacred); the problems say what was refused, or that a failed write is journaled (CG315).
    """
    expect = {s.abspath: s.digest for s in outcome.scan.sources if s.text is not None}
    everything = (*changes.generated, *changes.models)
    return write.apply_changes(everything, Path(config.root), expect=expect)


def _committed_changes(
    changes: tuple[Change, ...], tracked: frozenset[str]
) -> tuple[tuple[Change, ...], list[Diagnostic]]:
    """The changes a commit holds: deleting a generated file git does not track is not one."""
    kept: list[Change] = []
    notes: list[Diagnostic] = []
    for change in changes:
        target = change.target if isinstance(change, write.FileChange) else ""
        if change.action == "delete" and os.path.realpath(target) not in tracked:
            message = "not tracked by git, so not part of this commit: left alone"
            notes.append(diagnostics.info(change.path, diagnostics.UNTRACKED, message))
        else:
            kept.append(change)
    return tuple(kept), notes


def _partial_scan_conflicts(
    changes: tuple[Change, ...],
    outcome: Outcome,
    config: Config,
    tracked: frozenset[str] | None,
) -> list[Diagnostic]:
    """Deletions and rewrites of generated/ follow what is routed, not what this scan saw.

    A file this scan did not see (excluded, not named by a path argument) that still imports a
    shim keeps that shim, and the shared modules beside it, from being deleted or rewritten; in
    a commit hook, only a file the commit holds (`tracked`) does.
    """
    touched = [c for c in changes if c.action in ("update", "delete")]
    if not touched:
        return []
    seen = {source.path for source in outcome.scan.sources}
    elsewhere = routed_elsewhere(config, output_package(config), seen, tracked=tracked)
    if not elsewhere:
        return []
    problems = []
    for change in touched:
        name = change.path.rsplit("/", 1)[-1]
        users = elsewhere.get(name) if names.is_shim_file(name) else next(iter(elsewhere.values()))
        if not users:
            continue
        verb = "delete" if change.action == "delete" else "rewrite"
        message = (
            f"this scan does not see {users[0]}, which still imports generated code: it would "
            f"{verb} {change.path} under it. Scan the whole project (no path argument or "
            "--exclude that leaves routed models out), or un-route that file first"
        )
        problems.append(diagnostics.error(users[0], diagnostics.PARTIAL_SCAN, message))
    return problems


def _still_imported(
    changes: tuple[Change, ...], outcome: Outcome, config: Config, *, models: bool
) -> list[Diagnostic]:
    """A shim is deleted only when no scanned file imports it once this run is written.

    Each file is judged by the text it will hold (its routed text when this run rewrites it), so
    a renamed model that `sync` un-routes lets its old shim go, while `emit` alone, or a file
    that also uses the shim for itself (`x_transfer.restore(...)`), keeps it and says why.
    """
    deleted = {
        c.path.rsplit("/", 1)[-1]: c.path
        for c in changes
        if c.action == "delete" and names.is_shim_file(c.path.rsplit("/", 1)[-1])
    }
    if not deleted:
        return []
    package = output_package(config)
    problems = []
    for source in outcome.scan.sources:
        text = outcome.routed.get(source.abspath, source.text) if models else source.text
        if text is None:
            continue
        for alias, line in imported_shims(text, package).items():
            shim = deleted.get(f"{alias}.py")
            if shim is None:
                continue
            how = (
                "remove that import, or stop using the shim there"
                if models
                else "run `codegen sync` (or apply first): it un-routes the file and deletes the "
                "shim in one go"
            )
            message = f"imports `{alias}`, but this run would delete {shim}: {how}"
            problems.append(
                diagnostics.error(source.path, diagnostics.STILL_IMPORTED, message, line=line)
            )
    return problems


def compatibility_notes(plan: Plan, changes: tuple[Change, ...]) -> tuple[str, ...]:
    """In words: which transfer-checkpoint keys a change of the shims adds or drops, and for
    whom (variables keep their own names, so a model's own checkpoints are never at risk)."""
    notes: list[str] = []
    model_of = {names.shim_file(m.name): m for m in plan.models}
    for change in changes:
        name = change.path.rsplit("/", 1)[-1]
        if not names.is_shim_file(name) or change.action == "create":
            continue  # a brand-new shim breaks no existing checkpoint
        before = names.parse_layer_comments(change.old)
        after = names.parse_layer_comments(change.new)
        model = model_of.get(name)
        who = model.path if model else names.model_of_shim_file(name)
        for key, old in sorted(before.items()):
            if key not in after:
                notes.append(
                    f"{who} no longer shares `{old.label}` (layer {old.number}) with "
                    f"{old.shared_with}: transfer checkpoints of {old.shared_with} will not "
                    f"restore {who}'s layer {old.number} (key {key}); {who}'s own checkpoints "
                    "are unaffected"
                )
        for key, new in sorted(after.items()):
            if key not in before:
                notes.append(
                    f"{who} now shares `{new.label}` (layer {new.number}) with "
                    f"{new.shared_with} (key {key})"
                )
            elif before[key].shared_with != new.shared_with:
                notes.append(
                    f"{who} layer {new.number} `{new.label}` is now shared with "
                    f"{new.shared_with} (was {before[key].shared_with})"
                )
        if change.action == "delete" and not before:
            notes.append(f"{who} no longer shares any layer")
    return tuple(notes)
