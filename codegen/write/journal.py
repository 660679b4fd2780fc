"""The transaction: every change or none, through temp files, a journal and os.replace.

`apply_changes` stages new bytes next to each target, records the commit in a journal
(`journal_file`), then moves everything into place; `replay.recover` finishes (or undoes) what a
crash interrupted, per the journal.

Users' files are sacred: every step compares a target with the exact bytes the plan was made from
(the digest carried from discovery through the plan), never with a re-read, and a file that holds
anything else is left alone with a diagnostic: before staging, right before each file is replaced,
and again when a crash is recovered. Hand-written files (`FileChange.in_place`) are written
through, into the same inode (links, owner, mode, xattrs and advisory-lock holders stay intact),
with a full copy of the old bytes journaled so that a crash in the middle is still rolled forward
or back; generated files are replaced by rename, which is atomic for readers.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from codegen.model import Change, Diagnostic
from codegen.paths import display_path
from codegen.write.changes import FileChange
from codegen.write.files import (
    CHANGED_SINCE_PLAN,
    ESCAPES,
    FILE_LOCKED,
    JOURNAL,
    JOURNALED,
    LOCKED,
    OUTPUT_NOT_DIR,
    REFUSED,
    WRITE_FAILED,
    backup,
    diag,
    digest,
    fsync_dirs,
    inside,
    make_parents,
    read_bytes,
    read_bytes_quietly,
    reason,
    rmdir_quietly,
    unlink_quietly,
    write_temp,
)
from codegen.write.journal_file import Entry, write_journal
from codegen.write.lock import LOCK, LOCK_TIMEOUT, locked
from codegen.write.replay import (
    Moved,
    backward,
    current_bytes,
    finish,
    finish_quietly,
    forward,
    recover_locked,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks to respect
    fcntl = None  # type: ignore[assignment]


def apply_changes(
    changes: Sequence[Change],
    output_dir: Path,
    *,
    expect: Mapping[str, str | None] | None = None,
) -> tuple[Diagnostic, ...]:
    """Make every change or none; returns problems (empty when everything was written).

    `output_dir` holds the lock and the journal, and every target must lie inside it. `expect`
    maps more files (absolute paths) to the sha256 they held when they were read for this plan
    (None: absent); when any of them, or any target, holds other bytes, nothing is written.
    """
    base = Path(os.path.abspath(output_dir))
    shown = str(output_dir)
    refused = [change for change in changes if change.action == "refuse"]
    if refused:
        names = ", ".join(change.path for change in refused)
        return (diag(shown, REFUSED, f"nothing written: {len(refused)} file(s) refused ({names})"),)
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
                    f"another codegen run holds {LOCK} for over {LOCK_TIMEOUT:.0f} s; "
                    "nothing written, try again"
                )
                return (diag(shown, LOCKED, message),)
            return _transaction(work, base, dict(expect or {}))
    except OSError as error:
        return (diag(shown, WRITE_FAILED, f"cannot lock folder: {reason(error)}"),)


class _Refused(Exception):
    def __init__(self, problem: Diagnostic) -> None:
        super().__init__(problem.message)
        self.problem = problem


_MOVED = (
    "changed on disk since codegen read it; nothing written (your version is kept): "
    "run codegen again"
)


def _transaction(
    work: list[FileChange], base: Path, expect: dict[str, str | None]
) -> tuple[Diagnostic, ...]:
    """Under the lock: recover, check nothing moved since reading, stage, journal, commit."""
    problems = recover_locked(base, {Path(change.target).parent for change in work})
    if any(problem.severity == "error" for problem in problems):
        return problems
    handles: dict[Path, int] = {}
    entries: list[Entry] = []
    staged: list[Path] = []
    made_dirs: list[Path] = []
    outcome, error = "staging", ""
    meanwhile: list[Diagnostic] = []
    try:
        moved = _moved(work, expect, handles)
        if moved:
            message = _MOVED
            if problems:
                message = "finished an interrupted write first, so the plan is stale; run again"
            return (*problems, *(diag(path, CHANGED_SINCE_PLAN, message) for path in moved))
        for change in work:
            if change.in_place:
                handles[Path(change.target)] = _open_in_place(change)
        for change in work:
            entries.append(_stage(change, staged, made_dirs))
        # Staging takes a while (fsync per file): look once more before anything is replaced.
        moved = _moved(work, expect, handles)
        if moved:
            return (*problems, *(diag(path, CHANGED_SINCE_PLAN, _MOVED) for path in moved))
        write_journal(base, "commit", entries)
        outcome = "journaled"  # from here on the staged files belong to the journal
        outcome, error = _commit(base, entries, handles)
        if outcome == "committed":
            meanwhile = _replaced_meanwhile(work, handles)  # while our fds are still open
    except _Refused as refusal:
        return (*problems, refusal.problem)
    except OSError as staging_error:
        failed = staging_error.filename if isinstance(staging_error.filename, str) else str(base)
        message = f"cannot write: {reason(staging_error)}; nothing changed"
        return (*problems, diag(display_path(Path(failed), base.parent), WRITE_FAILED, message))
    finally:
        for fd in handles.values():
            os.close(fd)
        if outcome in ("staging", "rolled back", "moved"):
            # Nothing was committed: drop every temp, backup and folder this run made.
            for path in staged:
                unlink_quietly(path)
            for folder in reversed(made_dirs):
                rmdir_quietly(folder)
    if outcome == "moved":
        return (*problems, diag(error, CHANGED_SINCE_PLAN, _MOVED))
    if outcome == "rolled back":
        message = f"cannot replace {error}; rolled back, nothing changed"
        return (*problems, diag(str(base), WRITE_FAILED, message))
    if outcome == "pending":
        message = f"cannot replace {error}; the write is journaled, run codegen again to finish"
        return (*problems, diag(str(base), JOURNALED, message))
    return (*problems, *meanwhile)


def _moved(
    work: list[FileChange], expect: dict[str, str | None], handles: dict[Path, int]
) -> list[str]:
    """Display paths of the targets and expected files that no longer hold what was read."""
    moved = []
    for change in work:
        target = Path(change.target)
        current = current_bytes(target, handles)
        if digest(current) != change.old_digest:
            moved.append(change.path)
    targets = {os.path.realpath(change.target) for change in work}
    for path, expected in sorted(expect.items()):
        if os.path.realpath(path) in targets:
            continue
        if digest(read_bytes_quietly(Path(path))) != expected:
            moved.append(path)
    return moved


def _replaced_meanwhile(work: list[FileChange], handles: dict[Path, int]) -> list[Diagnostic]:
    """Files saved by rename while we wrote into the old inode: the user's version won."""
    problems = []
    for change in work:
        fd = handles.get(Path(change.target))
        if fd is None:
            continue
        try:
            held, now = os.fstat(fd), os.stat(change.target)
        except OSError:
            continue
        if (held.st_dev, held.st_ino) != (now.st_dev, now.st_ino):
            message = (
                "was replaced while codegen wrote it; your version is kept, not routed: "
                "run codegen again"
            )
            problems.append(diag(change.path, CHANGED_SINCE_PLAN, message, "warning"))
    return problems


def _open_in_place(change: FileChange) -> int:
    """An fd to write `change` through, holding both kinds of advisory lock on the file."""
    try:
        fd = os.open(change.target, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        raise _Refused(
            diag(
                change.path,
                WRITE_FAILED,
                f"cannot open for writing: {reason(error)}; nothing written",
            )
        ) from error
    if fcntl is None:
        return fd
    try:
        for take in (fcntl.flock, fcntl.lockf):
            try:
                take(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    continue  # this file system has no such locks (ENOLCK, EOPNOTSUPP)
                raise
    except OSError as error:
        os.close(fd)
        message = (
            "another process holds a lock on this file (it may be writing it); nothing written: "
            "let it finish, then run codegen again"
        )
        raise _Refused(diag(change.path, FILE_LOCKED, message)) from error
    return fd


def _stage(change: FileChange, staged: list[Path], made_dirs: list[Path]) -> Entry:
    """New bytes to a temp file, old bytes to a backup (a link, or a copy when written in place)."""
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
        if change.in_place:
            old = read_bytes(final)
            kept = write_temp(final, old or b"", "bak", mode)
        else:
            kept = backup(final, mode)
        staged.append(kept)
    new = digest(change.data) if change.action in ("create", "update") else None
    return Entry(
        final, temp, kept, change.old_digest, new, change.in_place, checked=True, shown=change.path
    )


def _commit(base: Path, entries: list[Entry], handles: dict[Path, int]) -> tuple[str, str]:
    """Replace/delete in order; on an OS error or a moved file roll back: (outcome, what failed)."""
    try:
        for entry in entries:
            forward(entry, handles)
    except (OSError, Moved) as error:
        if isinstance(error, Moved):
            outcome, failed = "moved", error.entry.shown or str(error.entry.final)
        else:
            outcome, failed = "rolled back", f"{error.filename or entry.final}: {reason(error)}"
        try:
            write_journal(base, "rollback", entries)
            for undo in reversed(entries):
                backward(undo, handles)
            fsync_dirs({undo.final.parent for undo in entries} | {base})
            (base / JOURNAL).unlink()
        except OSError:
            return "pending", failed  # the journal stays; the next run's recover() finishes the job
        return outcome, failed
    except BaseException:
        # Interrupted (Ctrl-C): finish what the journal promises rather than leave a half tree.
        finish_quietly(base, entries, handles)
        raise
    try:
        finish(base, entries)
    except OSError:
        pass  # every file is in place; a leftover journal is rolled forward harmlessly next time
    return "committed", ""


def _as_file_change(change: Change) -> FileChange:
    if not isinstance(change, FileChange) or not change.target:
        raise TypeError(
            "apply_changes needs the changes that plan_changes/plan_source_changes returned"
        )
    return change
