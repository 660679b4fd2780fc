"""What each subcommand does, on top of the pipeline; prints messages and returns exit codes."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from codegen import diagnostics, names, pipeline, report, write
from codegen.config import Config
from codegen.discover import discover
from codegen.model import Change, Diagnostic, Plan, SourceFile

EXIT_CLEAN, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Outcome:
    """What a run would write (or refuse), with the diagnostics that explain it."""

    generated: tuple[Change, ...]
    models: tuple[Change, ...]
    problems: tuple[Diagnostic, ...]
    notes: tuple[str, ...]  # checkpoint-compatibility changes, in words
    files: dict[str, str] = field(default_factory=dict)  # every generated file as rendered


def _print_diagnostics(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for diagnostic in sorted(set(diagnostics)):
        print(diagnostic.format(), file=sys.stderr)


def run(command: str, paths: list[str], config: Config, args: argparse.Namespace) -> int:
    """Dispatch one subcommand."""
    progress = pipeline.terminal_progress()
    use_cache = not args.no_cache
    discovered = discover(paths, config)
    # The pre-commit hook runs `sync` on every commit: an in-sync tree answers from the cache.
    if command in ("check", "sync") and use_cache and _unchanged_tree_in_sync(discovered, config):
        if command == "check":
            print(f"{config.output}/ and the models are up to date.")
        else:
            print("everything already up to date.")
        return EXIT_CLEAN
    scanned = pipeline.scan(
        paths, config, jobs=args.jobs, use_cache=use_cache, progress=progress, discovered=discovered
    )
    missing = [d for d in scanned.diagnostics if d.code == diagnostics.MISSING_PATH]
    if command == "scan":
        code = _scan(scanned, args)
        return EXIT_ERROR if missing else code
    if missing:  # a path argument that does not exist: nothing sensible to generate
        _print_diagnostics(missing)
        return EXIT_ERROR
    broken = [path for path, status in scanned.plan.files if status == "error"]
    # A folder that cannot be listed may hold models too: same rule as a file that cannot be read.
    broken += [d.path for d in scanned.diagnostics if d.code == diagnostics.UNREADABLE]
    if broken:
        # A file that does not parse may be a model: planning without it would drop its shim and
        # rewrite its partners' keys. Refuse until it is fixed (or excluded).
        _print_diagnostics(
            [d for d in scanned.plan.diagnostics if d.path in broken and d.severity == "error"]
            + [d for d in scanned.diagnostics if d.code == diagnostics.UNREADABLE]
        )
        action = "checked" if command == "check" else "written"
        print(
            f"nothing {action}: {len(broken)} file(s) could not be read or parsed: "
            f"{', '.join(broken)}; fix them or add them to `exclude`.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    writes = command != "check" and not (
        getattr(args, "check", False) or getattr(args, "diff", False)
    )
    if writes:
        # Finish a write that a crash interrupted before planning against a half-old tree.
        root = Path(config.root)
        model_dirs = {Path(source.abspath).parent for source in scanned.sources}
        recovered = (*write.recover(root / config.output), *write.recover(root, dirs=model_dirs))
        _print_diagnostics([d for d in recovered if d.severity == "error"])
    outcome = plan_outcome(
        scanned,
        config,
        force=getattr(args, "force", False),
        use_cache=use_cache,
        with_generated=command != "apply",
        with_models=command != "emit",
    )
    if command == "check":
        code = _check(outcome, config, args)
        if code == EXIT_CLEAN and use_cache:
            pipeline.remember_outputs(
                [(s.path, s.digest) for s in scanned.sources], config, outcome.files, scanned.plan
            )
        return code
    dry_run = getattr(args, "check", False) or getattr(args, "diff", False)  # --diff never writes
    tree = (
        [(source.path, source.digest) for source in scanned.sources] if command == "sync" else None
    )
    return _write(outcome, config, args, dry_run=dry_run, tree=tree, plan=scanned.plan)


def _unchanged_tree_in_sync(
    discovered: tuple[tuple[SourceFile, ...], tuple[Diagnostic, ...]], config: Config
) -> bool:
    """Fast path: this exact tree was seen in sync, and generated/ still holds those bytes."""
    sources, problems = discovered
    if problems or not sources:
        return False
    root = Path(config.root)
    if os.path.lexists(root / write.JOURNAL):
        return False  # an interrupted model write to finish (plan_changes sees the output's)
    files = pipeline.cached_outputs(sources, config)
    if files is None:
        return False
    changes, issues = write.plan_changes(files, root / config.output, root, force=False)
    return not changes and not issues


def _scan(scanned: pipeline.Scan, args: argparse.Namespace) -> int:
    with pipeline.gc_paused():  # a large report is a million acyclic dicts and lists
        if args.json:
            text = report.to_json_text(scanned.plan, scanned.diagnostics)
        else:
            text = report.to_text(scanned.plan, scanned.diagnostics)
    sys.stdout.write(text)
    failed = any(status == "error" for _, status in scanned.plan.files) or any(
        d.severity == "error" for d in (*scanned.diagnostics, *scanned.plan.diagnostics)
    )
    return EXIT_CHANGED if failed else EXIT_CLEAN


def plan_outcome(
    scanned: pipeline.Scan,
    config: Config,
    *,
    force: bool,
    use_cache: bool,
    with_generated: bool = True,
    with_models: bool = True,
) -> Outcome:
    """Everything emit/apply would change, without writing."""
    root = Path(config.root)
    output_dir = root / config.output
    problems: list[Diagnostic] = []
    generated: tuple[Change, ...] = ()
    models: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    files: dict[str, str] = {}
    if with_generated:
        files, render_problems = pipeline.generated_files(scanned, config, use_cache=use_cache)
        problems.extend(render_problems)
        if not render_problems:
            generated, write_problems = write.plan_changes(files, output_dir, root, force=force)
            problems.extend(write_problems)
            notes = compatibility_notes(scanned.plan, generated)
    if with_models:
        edited, apply_problems = pipeline.edited_models(scanned, config, use_cache=use_cache)
        problems.extend(apply_problems)
        models, source_problems = write.plan_source_changes(edited, root)
        problems.extend(source_problems)
    return Outcome(generated, models, tuple(problems), notes, files)


def compatibility_notes(plan: Plan, changes: tuple[Change, ...]) -> tuple[str, ...]:
    """In words: which checkpoint keys a change of the shims adds or drops, and for whom."""
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
                    f"{old.shared_with}: checkpoints of {old.shared_with} will not restore "
                    f"{who}'s layer {old.number} (key {key})"
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


def _describe(change: Change, *, dry_run: bool) -> str:
    verbs = {
        "create": ("would create", "created"),
        "update": ("would update", "updated"),
        "delete": ("would delete", "deleted"),
        "refuse": ("refusing", "refused"),
    }
    verb = verbs[change.action][0 if dry_run else 1]
    return f"{verb} {change.path} ({change.reason})"


def _check(outcome: Outcome, config: Config, args: argparse.Namespace) -> int:
    changes = (*outcome.generated, *outcome.models)
    for change in changes:
        prefix = (
            "stale"
            if change.action == "update"
            else {"create": "missing", "delete": "orphaned"}.get(change.action, "refused")
        )
        where = (
            "its routing through its shim would change"
            if change in outcome.models
            else change.reason
        )
        print(f"{prefix}: {change.path} ({where})")
    for note in outcome.notes:
        print(f"checkpoint compatibility: {note}")
    if getattr(args, "diff", False):
        sys.stdout.write(write.unified_diff(changes))
    errors = [d for d in outcome.problems if d.severity == "error"]
    _print_diagnostics(outcome.problems)
    if changes:
        print(
            f"{len(changes)} file(s) out of date; "
            "run `codegen sync` (or emit/apply) to update them."
        )
        return EXIT_CHANGED
    if errors:
        return EXIT_ERROR
    print(f"{config.output}/ and the models are up to date.")
    return EXIT_CLEAN


def _write(
    outcome: Outcome,
    config: Config,
    args: argparse.Namespace,
    *,
    dry_run: bool,
    tree: list[tuple[str, str]] | None = None,
    plan: Plan | None = None,
) -> int:
    changes = (*outcome.generated, *outcome.models)
    refused = [c for c in changes if c.action == "refuse"]
    errors = [d for d in outcome.problems if d.severity == "error"]
    if getattr(args, "diff", False):
        sys.stdout.write(write.unified_diff(changes))
    _print_diagnostics(outcome.problems)
    if refused or errors:
        for change in refused:
            print(_describe(change, dry_run=True), file=sys.stderr)
        print("nothing written.", file=sys.stderr)
        return EXIT_ERROR
    for note in outcome.notes:
        print(f"checkpoint compatibility: {note}")
    if dry_run:
        for change in changes:
            print(_describe(change, dry_run=True))
        return EXIT_CHANGED if changes else EXIT_CLEAN
    root = Path(config.root)
    failures: list[Diagnostic] = []
    if outcome.generated:
        failures.extend(write.apply_changes(outcome.generated, root / config.output))
    if outcome.models and not failures:
        failures.extend(write.apply_changes(outcome.models, root))
    if failures:
        _print_diagnostics(failures)
        print(
            "nothing written." if not outcome.generated else "write failed; previous files kept.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    for change in changes:
        print(_describe(change, dry_run=False))
    if tree is not None and plan is not None and not args.no_cache:
        # The tree as it now is on disk is in sync: the next check can skip planning entirely.
        written = {
            c.path: hashlib.sha256(getattr(c, "data", b"") or b"").hexdigest()
            for c in outcome.models
        }
        after = [(path, written.get(path, digest)) for path, digest in tree]
        pipeline.remember_outputs(
            after,
            config,
            outcome.files,
            plan,
            rewritten={c.path: c.new for c in outcome.models if c.new is not None},
        )
    unchanged = (
        "everything already up to date" if not changes else f"{len(changes)} file(s) changed"
    )
    print(unchanged + ".")
    return EXIT_CHANGED if changes else EXIT_CLEAN
