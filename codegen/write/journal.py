"""The transaction: every change or none, through temp files, a journal and os.replace.

`apply_changes` stages new bytes next to each target, records the commit in a journal, then moves
everything into place; `recover` finishes (or undoes) what a crash interrupted, per the journal.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codegen.model import Change, Diagnostic
from codegen.write.changes import FileChange
from codegen.write.files import (
    BAD_JOURNAL,
    CHANGED_SINCE_PLAN,
    ESCAPES,
    JOURNAL,
    LOCKED,
    OUTPUT_NOT_DIR,
    PENDING,
    REFUSED,
    WRITE_FAILED,
    backup,
    diag,
    digest,
    display,
    fsync_dirs,
    inside,
    make_parents,
    read_bytes_quietly,
    reason,
    rmdir_quietly,
    same_file,
    unlink_quietly,
    unsafe_relative,
    write_temp,
)
from codegen.write.lock import LOCK, LOCK_TIMEOUT, locked

_STRAY = re.compile(r"^\..+\.codegen-(tmp|bak)-[0-9a-f]+$")


def apply_changes(changes: Sequence[Change], output_dir: Path) -> tuple[Diagnostic, ...]:
    """Make every change or none: temp files first, a journal, then os.replace; returns problems."""
    base = Path(os.path.abspath(output_dir))
    shown = str(output_dir)
    refused = [change for change in changes if change.action == "refuse"]
    if refused:
        names = ", ".join(change.path for change in refused)
        return (
            diag(shown, REFUSED, f"nothing written: {len(refused)} file(s) refused ({names})"),
        )
    work = [_as_file_change(change) for change in changes]
    if not work:
        return ()
    if os.path.lexists(base) and not base.is_dir():
        return (diag(shown, OUTPUT_NOT_DIR, "output folder exists but is not a folder"),)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return (diag(shown, WRITE_FAILED, f"cannot create folder: {reason(error)}"),)
    real_base = os.path.realpath(base)
    outside = [change for change in work if not inside(Path(change.target), real_base)]
    if outside:
        return tuple(
            diag(change.path, ESCAPES, "refusing to write outside the target folder")
            for change in outside
        )
    try:
        with locked(base) as acquired:
            if not acquired:
                message = (
                    f"another codegen run holds {LOCK} for over {LOCK_TIMEOUT:.0f} s; try again"
                )
                return (diag(shown, LOCKED, message),)
            return _transaction(work, base)
    except OSError as error:
        return (diag(shown, WRITE_FAILED, f"cannot lock folder: {reason(error)}"),)


def recover(output_dir: Path, *, dirs: Iterable[Path] = ()) -> tuple[Diagnostic, ...]:
    """Finish a write that a crash interrupted (per the journal), then remove stray temps."""
    base = Path(os.path.abspath(output_dir))
    if not base.is_dir():
        return ()
    try:
        with locked(base) as acquired:
            if not acquired:
                return (
                    diag(str(output_dir), LOCKED, f"another codegen run holds {LOCK}; try again"),
                )
            return _recover_locked(base, set(dirs))
    except OSError as error:
        return (diag(str(output_dir), WRITE_FAILED, f"cannot lock folder: {reason(error)}"),)


@dataclass(frozen=True)
class _Entry:
    """One journal line: final path, the temp holding new bytes, the backup holding old bytes."""

    final: Path
    temp: Path | None
    backup: Path | None


def _transaction(work: list[FileChange], base: Path) -> tuple[Diagnostic, ...]:
    """Under the lock: recover, check nothing moved since planning, stage temps, journal, commit."""
    problems = _recover_locked(base, {Path(change.target).parent for change in work})
    if any(problem.severity == "error" for problem in problems):
        return problems
    for change in work:
        current = digest(read_bytes_quietly(Path(change.target)))
        if current != change.old_digest:
            message = "file changed on disk after the plan was made; nothing written, run again"
            if problems:
                message = "finished an interrupted write first, so the plan is stale; run again"
            return (*problems, diag(change.path, CHANGED_SINCE_PLAN, message))
    entries: list[_Entry] = []
    staged: list[Path] = []
    made_dirs: list[Path] = []
    outcome = "staging"
    try:
        for change in work:
            entries.append(_stage(change, staged, made_dirs))
        _write_journal(base, "commit", entries)
        outcome, error = _commit(base, entries)
    except OSError as staging_error:
        failed = staging_error.filename if isinstance(staging_error.filename, str) else str(base)
        message = f"cannot write: {reason(staging_error)}; nothing changed"
        return (*problems, diag(display(Path(failed), base.parent), WRITE_FAILED, message))
    finally:
        if outcome in ("staging", "rolled back"):
            # Nothing was committed: drop every temp, backup and folder this run made.
            for path in staged:
                unlink_quietly(path)
            for folder in reversed(made_dirs):
                rmdir_quietly(folder)
    if outcome == "rolled back":
        message = f"cannot replace {error}; rolled back, nothing changed"
        return (*problems, diag(str(base), WRITE_FAILED, message))
    if outcome == "pending":
        message = f"cannot replace {error}; the write is journaled, run codegen again to finish"
        return (*problems, diag(str(base), WRITE_FAILED, message))
    return problems


def _stage(change: FileChange, staged: list[Path], made_dirs: list[Path]) -> _Entry:
    """New bytes to a temp file, old file linked (or copied) to a backup, both next to it."""
    final = Path(change.target)
    make_parents(final.parent, made_dirs)
    mode = None
    if change.action in ("update", "delete"):
        mode = stat.S_IMODE(os.stat(final).st_mode)
    temp = kept = None
    if change.action in ("create", "update"):
        assert change.data is not None
        temp = write_temp(final, change.data, "tmp", mode)
        staged.append(temp)
    if change.action in ("update", "delete"):
        kept = backup(final, mode)
        staged.append(kept)
    return _Entry(final, temp, kept)


def _commit(base: Path, entries: list[_Entry]) -> tuple[str, str]:
    """Replace/delete in order; on an OS error roll back. Returns (outcome, what failed)."""
    try:
        for entry in entries:
            _forward(entry)
    except OSError as error:
        failed = f"{error.filename or entry.final}: {reason(error)}"
        try:
            _write_journal(base, "rollback", entries)
            for undo in reversed(entries):
                _backward(undo)
            fsync_dirs({undo.final.parent for undo in entries} | {base})
            (base / JOURNAL).unlink()
        except OSError:
            return "pending", failed  # the journal stays; the next run's recover() finishes the job
        return "rolled back", failed
    except BaseException:
        # Interrupted (Ctrl-C): finish what the journal promises rather than leave a half tree.
        _finish_quietly(base, entries)
        raise
    try:
        _finish(base, entries)
    except OSError:
        pass  # every file is in place; a leftover journal is rolled forward harmlessly next time
    return "committed", ""


def _finish(base: Path, entries: list[_Entry]) -> None:
    """After every replace: make it durable, drop backups, then the journal."""
    fsync_dirs({entry.final.parent for entry in entries})
    for entry in entries:
        if entry.backup is not None:
            unlink_quietly(entry.backup)
    (base / JOURNAL).unlink()
    fsync_dirs({base})


def _finish_quietly(base: Path, entries: list[_Entry]) -> None:
    try:
        for entry in entries:
            _forward(entry)
        _finish(base, entries)
    except OSError:
        pass


def _forward(entry: _Entry) -> None:
    """Idempotent commit of one entry: move the temp into place, or delete the file."""
    if entry.temp is not None:
        if os.path.lexists(entry.temp):
            os.replace(entry.temp, entry.final)
    elif os.path.lexists(entry.final):
        os.unlink(entry.final)


def _backward(entry: _Entry) -> None:
    """Idempotent undo of one entry: restore the backup, or remove what a create put there."""
    if entry.backup is not None:
        if os.path.lexists(entry.backup):
            if same_file(entry.backup, entry.final):
                # Never moved: the final name still holds the old file, so only the link goes.
                # (No rename needed, which is what a failing disk often refuses.)
                os.unlink(entry.backup)
            else:
                os.replace(entry.backup, entry.final)
    elif (
        entry.temp is not None and not os.path.lexists(entry.temp) and os.path.lexists(entry.final)
    ):
        os.unlink(entry.final)  # a create whose temp is gone was committed
    if entry.temp is not None and os.path.lexists(entry.temp):
        os.unlink(entry.temp)


def _recover_locked(base: Path, dirs: set[Path]) -> tuple[Diagnostic, ...]:
    """Roll a leftover journal forward (or back, if it says so), then sweep temp files."""
    journal = base / JOURNAL
    dirs = {*dirs, base}
    problems: list[Diagnostic] = []
    if os.path.lexists(journal):
        parsed = _read_journal(base)
        if parsed is None:
            message = f"unreadable {JOURNAL}: inspect the folder, then delete the journal"
            return (diag(str(journal), BAD_JOURNAL, message),)
        phase, entries = parsed
        try:
            if phase == "rollback":
                for entry in reversed(entries):
                    _backward(entry)
                fsync_dirs({entry.final.parent for entry in entries})
                journal.unlink()
            else:
                for entry in entries:
                    _forward(entry)
                _finish(base, entries)
        except OSError as error:
            message = f"cannot finish the interrupted write: {reason(error)}"
            return (diag(str(journal), WRITE_FAILED, message),)
        dirs |= {entry.final.parent for entry in entries}
        problems.append(
            diag(str(journal), PENDING, f"finished an interrupted write ({phase})", "info")
        )
    for folder in sorted(dirs):
        _sweep(folder)
    return tuple(problems)


def _sweep(folder: Path) -> None:
    """Remove temp and backup files that a crashed run left (only ever called under the lock)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if _STRAY.match(name):
            unlink_quietly(folder / name)


def _write_journal(base: Path, phase: str, entries: list[_Entry]) -> None:
    """Atomically record what the commit phase does, with paths relative to `base`."""

    def rel(path: Path | None) -> str | None:
        return None if path is None else os.path.relpath(path, base).replace(os.sep, "/")

    document = {
        "version": 1,
        "phase": phase,
        "entries": [
            {"final": rel(e.final), "temp": rel(e.temp), "backup": rel(e.backup)} for e in entries
        ],
    }
    data = json.dumps(document, indent=1).encode()
    temp = write_temp(base / JOURNAL, data, "tmp", None)
    try:
        os.replace(temp, base / JOURNAL)
    finally:
        unlink_quietly(temp)
    fsync_dirs({base})


def _read_journal(base: Path) -> tuple[str, list[_Entry]] | None:
    """Phase and entries of a journal; None when it is damaged or names paths outside `base`."""
    try:
        document = json.loads((base / JOURNAL).read_text("utf-8"))
        phase = document["phase"]
        raw = document["entries"]
        if (
            document.get("version") != 1
            or phase not in ("commit", "rollback")
            or not isinstance(raw, list)
        ):
            return None
        real_base = os.path.realpath(base)

        def path(value: object) -> Path | None:
            if value is None:
                return None
            if not isinstance(value, str) or unsafe_relative(value):
                raise ValueError(value)
            result = base / value
            if not inside(result, real_base):
                raise ValueError(value)
            return result

        entries = []
        for item in raw:
            final = path(item["final"])
            if final is None:
                return None
            entries.append(_Entry(final, path(item["temp"]), path(item["backup"])))
        return phase, entries
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _as_file_change(change: Change) -> FileChange:
    if not isinstance(change, FileChange) or not change.target:
        raise TypeError(
            "apply_changes needs the changes that plan_changes/plan_source_changes returned"
        )
    return change
