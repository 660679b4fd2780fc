"""What each subcommand does, on top of the pipeline; prints messages and returns exit codes."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codegen import diagnostics, write
from codegen.cache.outputs import cached_outputs, remember_outputs
from codegen.cache.reports import cached_report, remember_report
from codegen.config import Config
from codegen.gcpause import gc_paused
from codegen.model import Change, Diagnostic
from codegen.paths import display_path
from codegen.progress import terminal_progress
from codegen.scan.discover import (
    committed_only,
    discover,
    git_tracked,
    in_commit_hook,
)

if TYPE_CHECKING:
    from codegen import pipeline
    from codegen.pending import Changes

EXIT_CLEAN, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Options:
    """What the command line asked for, typed; built once by cli.py."""

    command: str  # scan | emit | apply | check | sync
    paths: tuple[str, ...]
    use_cache: bool = True
    jobs: int | None = None
    json: bool = False  # scan --json
    check: bool = False  # emit/apply --check: write nothing, exit 1 when something would change
    diff: bool = False  # print a unified diff; never writes
    force: bool = False  # emit/sync --force: overwrite hand-edited generated files
    mermaid: bool = False  # scan --format mermaid: print the shared trie as a flowchart
    html: str | None = None  # scan --html PATH: also write the self-contained HTML report
    report: str | None = None  # check --report PATH: also write what changed (HTML or Mermaid)

    @property
    def dry_run(self) -> bool:
        return self.check or self.diff


def _print_diagnostics(found: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for diagnostic in sorted(set(found)):
        print(diagnostic.format(), file=sys.stderr)


def run(options: Options, config: Config) -> int:
    """Dispatch one subcommand."""
    command, paths = options.command, list(options.paths)
    discovered = discover(paths, config)
    # In a commit hook, the commit holds what git tracks: plan from exactly that, as a fresh
    # clone would (None: not a hook, or not a git work tree, so nothing to tell apart).
    tracked = git_tracked(config.root) if in_commit_hook() else None
    if tracked is not None:
        sources, left_out = committed_only(discovered[0], tracked)
        discovered = (sources, discovered[1])
        _print_diagnostics(left_out)
    # The pre-commit hook runs `sync` on every commit: an in-sync tree answers from the cache.
    if (
        command in ("check", "sync")
        and options.use_cache
        and not options.report  # the report draws the plan: plan even an in-sync tree
        and _unchanged_tree_in_sync(discovered, config)
    ):
        if command == "check":
            print(f"{config.output}/ and the models are up to date.")
        else:
            print("everything already up to date.")
        return EXIT_CLEAN
    if command == "scan" and options.use_cache:
        # An unchanged tree's report, as the last scan printed it: no parse, no plan.
        answered = cached_report(*discovered, config, as_json=options.json)
        if answered is not None:
            sys.stdout.write(answered[0])
            return answered[1]
    # Only now: the planner and every stage behind it, which an in-sync tree never needs.
    from codegen import pending, pipeline

    scanned = pipeline.scan(
        paths,
        config,
        jobs=options.jobs,
        use_cache=options.use_cache,
        progress=terminal_progress(),
        discovered=discovered,
    )
    missing = [d for d in scanned.diagnostics if d.code == diagnostics.MISSING_PATH]
    if command == "scan":
        code = _scan(scanned, options, config)
        if options.html:
            code = max(code, _write_report(options.html, scanned, config, None))
        return EXIT_ERROR if missing else code
    if missing:  # a path argument that does not exist: nothing sensible to generate
        _print_diagnostics(missing)
        return EXIT_ERROR
    broken = [path for path, status in scanned.plan.files if status == "error"]
    # A folder that cannot be listed may hold models too: same rule as a file that cannot be read.
    unlisted = [d for d in scanned.diagnostics if d.code == diagnostics.UNREADABLE]
    broken += [d.path for d in unlisted]
    if broken:
        # A file that does not parse may be a model: planning without it would drop its shim and
        # rewrite its partners' keys. Refuse until it is fixed (or excluded).
        _print_diagnostics(
            [d for d in scanned.plan.diagnostics if d.path in broken and d.severity == "error"]
            + unlisted
        )
        action = "checked" if command == "check" else "written"
        print(
            f"nothing {action}: {len(broken)} file(s) could not be read or parsed: "
            f"{', '.join(broken)}; fix them or add them to `exclude`.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if command != "check" and not options.dry_run:
        # Finish a write that a crash interrupted before planning against a half-old tree.
        root = Path(config.root)
        model_dirs = {Path(source.abspath).parent for source in scanned.sources}
        # One lock and one journal, at the project root, cover generated/ and the models.
        recovered = write.recover(root, dirs=model_dirs, legacy=[root / config.output])
        recovery_errors = [d for d in recovered if d.severity == "error"]
        _print_diagnostics(recovery_errors)
    else:
        recovery_errors = []
    generated, models = command != "apply", command != "emit"
    outcome = pipeline.build(
        config,
        scanned=scanned,
        use_cache=options.use_cache,
        with_generated=generated,
        with_models=models,
    )
    with gc_paused():  # comparing texts and planning changes builds no cycles
        changes = pending.pending_changes(
            outcome,
            config,
            force=options.force,
            generated=generated,
            models=models,
            tracked=tracked,
        )
    if command == "check":
        code = _check(changes, config, options)
        if options.report:
            code = max(code, _write_report(options.report, scanned, config, changes.generated))
        if _report_pending_journals(config):
            return max(code, EXIT_CHANGED)
        if code == EXIT_CLEAN and options.use_cache:
            remember_outputs(
                scanned.tree, config, outcome.files, pipeline.copied_sources(scanned.plan)
            )
        return code
    code = _write(changes, outcome, config, options, remember=command == "sync")
    return max(code, EXIT_ERROR) if recovery_errors else code


def _report_pending_journals(config: Config) -> bool:
    """`check` names an interrupted write that is still pending (it never finishes one itself)."""
    root = Path(config.root)
    pending = [
        journal
        for journal in (root / write.JOURNAL, root / config.output / write.JOURNAL)
        if os.path.lexists(journal)
    ]
    for journal in pending:
        shown = display_path(journal, root)
        message = "an interrupted write is pending; run `codegen sync` to finish it"
        print(diagnostics.error(shown, diagnostics.PENDING, message).format(), file=sys.stderr)
    return bool(pending)


def _unchanged_tree_in_sync(discovered: pipeline.Discovered, config: Config) -> bool:
    """Fast path: this exact tree was seen in sync, and generated/ still holds those bytes."""
    sources, problems = discovered
    if problems or not sources:
        return False
    root = Path(config.root)
    if os.path.lexists(root / write.JOURNAL):
        return False  # an interrupted model write to finish (plan_changes sees the output's)
    files = cached_outputs(sources, config)
    if files is None:
        return False
    changes, issues = write.plan_changes(files, root / config.output, root, force=False)
    return not changes and not issues


def _scan(scanned: pipeline.Scan, options: Options, config: Config) -> int:
    from codegen.report import text as report

    with gc_paused():  # a large report is a million acyclic dicts and lists
        if options.json:
            text = report.to_json_text(scanned.plan, scanned.diagnostics)
        elif options.mermaid:
            from codegen.report.mermaid import to_mermaid

            text = to_mermaid(scanned.plan).text
        else:
            text = report.to_text(scanned.plan, scanned.diagnostics)
    sys.stdout.write(text)
    failed = any(status == "error" for _, status in scanned.plan.files) or any(
        d.severity == "error" for d in (*scanned.diagnostics, *scanned.plan.diagnostics)
    )
    code = EXIT_CHANGED if failed else EXIT_CLEAN
    if options.use_cache:
        remember_report(
            scanned.sources, scanned.diagnostics, config, as_json=options.json, text=text, code=code
        )
    return code


def _write_report(
    path: str, scanned: pipeline.Scan, config: Config, changed: tuple[Change, ...] | None
) -> int:
    """scan --html (changed: None) / check --report: a file the user asked for, written whole."""
    from codegen.atomic import write_text
    from codegen.pending import compatibility_notes
    from codegen.report.changes import report_text

    notes = compatibility_notes(scanned.plan, changed) if changed else ()
    with gc_paused():  # the page is built while the whole plan is alive: no full collections
        text = report_text(
            scanned.plan, scanned.diagnostics, changed, notes, path=path, root=config.root
        )
    try:
        write_text(Path(path), text)
    except OSError as error:
        print(f"codegen: cannot write the report {path}: {error.strerror}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_CLEAN


def _describe(change: Change, *, dry_run: bool) -> str:
    verbs = {
        "create": ("would create", "created"),
        "update": ("would update", "updated"),
        "delete": ("would delete", "deleted"),
        "refuse": ("refusing", "refused"),
    }
    verb = verbs[change.action][0 if dry_run else 1]
    return f"{verb} {change.path} ({change.reason})"


def _check(changes: Changes, config: Config, options: Options) -> int:
    everything = (*changes.generated, *changes.models)
    for change in everything:
        prefix = (
            "stale"
            if change.action == "update"
            else {"create": "missing", "delete": "orphaned"}.get(change.action, "refused")
        )
        where = (
            "its routing through its shim would change"
            if change in changes.models
            else change.reason
        )
        print(f"{prefix}: {change.path} ({where})")
    for note in changes.notes:
        print(f"checkpoint compatibility: {note}")
    if options.diff:
        sys.stdout.write(write.unified_diff(everything))
    errors = [d for d in changes.problems if d.severity == "error"]
    _print_diagnostics(changes.problems)
    if everything:
        print(
            f"{len(everything)} file(s) out of date; "
            "run `codegen sync` (or emit/apply) to update them."
        )
        return EXIT_CHANGED
    if errors:
        return EXIT_ERROR
    print(f"{config.output}/ and the models are up to date.")
    return EXIT_CLEAN


def _write(
    changes: Changes,
    outcome: pipeline.Outcome,
    config: Config,
    options: Options,
    *,
    remember: bool,
) -> int:
    everything = (*changes.generated, *changes.models)
    refused = [c for c in everything if c.action == "refuse"]
    errors = [d for d in changes.problems if d.severity == "error"]
    if options.diff:
        sys.stdout.write(write.unified_diff(everything))
    _print_diagnostics(changes.problems)
    if refused or errors:
        for change in refused:
            print(_describe(change, dry_run=True), file=sys.stderr)
        print("nothing written.", file=sys.stderr)
        return EXIT_ERROR
    for note in changes.notes:
        print(f"checkpoint compatibility: {note}")
    if options.dry_run:  # --diff never writes
        for change in everything:
            print(_describe(change, dry_run=True))
        return EXIT_CHANGED if everything else EXIT_CLEAN
    from codegen.pending import write_changes  # loaded already: this run planned

    problems = write_changes(changes, outcome, config)
    failures = [d for d in problems if d.severity == "error"]
    _print_diagnostics([d for d in problems if d.severity == "warning"])
    if failures:
        _print_diagnostics(failures)
        journaled = any(d.code == diagnostics.JOURNALED for d in failures)
        print(
            "the write is journaled; run codegen again to finish it."
            if journaled
            else "nothing written.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    for change in everything:
        print(_describe(change, dry_run=False))
    if remember and options.use_cache:
        from codegen import pipeline  # loaded already: this run planned

        # The tree as it now is on disk is in sync: the next check can skip planning entirely.
        written = {
            c.path: hashlib.sha256(getattr(c, "data", b"") or b"").hexdigest()
            for c in changes.models
        }
        after = [(path, written.get(path, digest)) for path, digest in outcome.scan.tree]
        remember_outputs(
            after,
            config,
            outcome.files,
            pipeline.copied_sources(outcome.plan),
            rewritten={c.path: c.new for c in changes.models if c.new is not None},
        )
    routed = {
        c.path: c.data
        for c in changes.models
        if isinstance(c, write.FileChange) and c.data is not None
    }
    if routed and options.use_cache:
        from codegen import pipeline  # loaded already: this run planned

        pipeline.warm_caches(outcome.scan, routed, config, jobs=options.jobs)
    unchanged = (
        "everything already up to date" if not everything else f"{len(everything)} file(s) changed"
    )
    print(unchanged + ".")
    return EXIT_CHANGED if everything else EXIT_CLEAN
