"""The transaction: every change or none, through temp files, a journal and os.replace.

`apply_changes` stages new bytes next to each target, records the commit in a journal, then moves
everything into place; `recover` finishes (or undoes) what a crash interrupted, per the journal.

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
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codegen import atomic
from codegen.model import Change, Diagnostic
from codegen.paths import display_path
from codegen.write.changes import FileChange
from codegen.write.files import (
    BAD_JOURNAL,
    CHANGED_SINCE_PLAN,
    ESCAPES,
    FILE_LOCKED,
    JOURNAL,
    JOURNALED,
    LOCKED,
    OUTPUT_NOT_DIR,
    PENDING,
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
    same_file,
    unlink_quietly,
    unsafe_relative,
    write_temp,
)
from codegen.write.lock import LOCK, LOCK_TIMEOUT, locked

try:
    import fcntl
except ImportError:  # Windows: no advisory locks to respect
    fcntl = None  # type: ignore[assignment]

_STRAY = re.compile(r"^\..+\.codegen-(tmp|bak)-[0-9a-f]+$")
_ATOMIC_STRAY = re.compile(rf"^{re.escape(atomic.TEMP_PREFIX)}[0-9a-f]{{16}}$")


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


def recover(
    output_dir: Path, *, dirs: Iterable[Path] = (), legacy: Iterable[Path] = ()
) -> tuple[Diagnostic, ...]:
    """Finish a write that a crash interrupted (per the journal), then remove stray temps.

    `legacy`: folders that may hold a journal an older codegen left (it kept one per output
    folder); they are finished first, under this folder's lock, and swept with `dirs`.
    """
    base = Path(os.path.abspath(output_dir))
    if not base.is_dir():
        return ()
    try:
        with locked(base) as acquired:
            if not acquired:
                return (
                    diag(str(output_dir), LOCKED, f"another codegen run holds {LOCK}; try again"),
                )
            problems: list[Diagnostic] = []
            extra = {Path(os.path.abspath(folder)) for folder in legacy}
            for folder in sorted(extra):
                if os.path.lexists(folder / JOURNAL):
                    problems.extend(_recover_locked(folder, set()))
            return (*problems, *_recover_locked(base, {*dirs, *extra}))
    except OSError as error:
        return (diag(str(output_dir), WRITE_FAILED, f"cannot lock folder: {reason(error)}"),)


def pending_journal(folder: Path) -> Path | None:
    """The journal of an interrupted write in `folder`, if there is one."""
    path = folder / JOURNAL
    return path if os.path.lexists(path) else None


@dataclass(frozen=True)
class _Entry:
    """One journal line: final path, the temp holding new bytes, the backup holding old bytes.

    `old`/`new` are the sha256 the final path holds before and after (None: no file); journal
    version 1 had neither (`checked` False), and such entries are replayed as they always were.
    """

    final: Path
    temp: Path | None
    backup: Path | None
    old: str | None = None
    new: str | None = None
    in_place: bool = False
    checked: bool = False
    shown: str = ""


class _Moved(Exception):
    """A target holds bytes that neither the plan nor this write put there: someone else's."""

    def __init__(self, entry: _Entry) -> None:
        super().__init__(str(entry.final))
        self.entry = entry


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
    problems = _recover_locked(base, {Path(change.target).parent for change in work})
    if any(problem.severity == "error" for problem in problems):
        return problems
    handles: dict[Path, int] = {}
    entries: list[_Entry] = []
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
        _write_journal(base, "commit", entries)
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
        current = _current_bytes(target, handles)
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


def _stage(change: FileChange, staged: list[Path], made_dirs: list[Path]) -> _Entry:
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
    return _Entry(
        final, temp, kept, change.old_digest, new, change.in_place, checked=True, shown=change.path
    )


def _commit(base: Path, entries: list[_Entry], handles: dict[Path, int]) -> tuple[str, str]:
    """Replace/delete in order; on an OS error or a moved file roll back: (outcome, what failed)."""
    try:
        for entry in entries:
            _forward(entry, handles)
    except (OSError, _Moved) as error:
        if isinstance(error, _Moved):
            outcome, failed = "moved", error.entry.shown or str(error.entry.final)
        else:
            outcome, failed = "rolled back", f"{error.filename or entry.final}: {reason(error)}"
        try:
            _write_journal(base, "rollback", entries)
            for undo in reversed(entries):
                _backward(undo, handles)
            fsync_dirs({undo.final.parent for undo in entries} | {base})
            (base / JOURNAL).unlink()
        except OSError:
            return "pending", failed  # the journal stays; the next run's recover() finishes the job
        return outcome, failed
    except BaseException:
        # Interrupted (Ctrl-C): finish what the journal promises rather than leave a half tree.
        _finish_quietly(base, entries, handles)
        raise
    try:
        _finish(base, entries)
    except OSError:
        pass  # every file is in place; a leftover journal is rolled forward harmlessly next time
    return "committed", ""


def _finish(base: Path, entries: list[_Entry]) -> None:
    """After every replace: make it durable, drop backups (and in-place temps), then the journal."""
    fsync_dirs({entry.final.parent for entry in entries})
    for entry in entries:
        if entry.backup is not None:
            unlink_quietly(entry.backup)
        if entry.in_place and entry.temp is not None:
            unlink_quietly(entry.temp)
    (base / JOURNAL).unlink()
    fsync_dirs({base})


def _finish_quietly(base: Path, entries: list[_Entry], handles: dict[Path, int]) -> None:
    try:
        for entry in entries:
            try:
                _forward(entry, handles)
            except _Moved:
                pass  # someone else's bytes: left alone
        _finish(base, entries)
    except OSError:
        pass


def _state(entry: _Entry, handles: dict[Path, int]) -> str:
    """What the final path holds now: "new", "old", "torn" (our in-place write, cut) or "other"."""
    current = _current_bytes(entry.final, handles)
    found = digest(current)
    if found == entry.new:
        return "new"
    if found == entry.old:
        return "old"
    if entry.in_place and current is not None and _torn(current, entry):
        return "torn"
    return "other"


def _forward(entry: _Entry, handles: dict[Path, int]) -> None:
    """Idempotent commit of one entry; raises _Moved when the file holds someone else's bytes."""
    if not entry.checked:
        _forward_unchecked(entry)
        return
    state = _state(entry, handles)
    if state == "new":
        if entry.temp is not None and not entry.in_place:
            unlink_quietly(entry.temp)  # committed, then cut before the journal went away
        return
    if state == "other" or (entry.temp is not None and not os.path.lexists(entry.temp)):
        raise _Moved(entry)
    if entry.temp is None:
        os.unlink(entry.final)
    elif entry.in_place:
        _write_through(entry.final, entry.temp.read_bytes(), handles)
    else:
        os.replace(entry.temp, entry.final)


def _backward(entry: _Entry, handles: dict[Path, int]) -> bool:
    """Idempotent undo of one entry; False when the file holds someone else's bytes (kept)."""
    if not entry.checked:
        _backward_unchecked(entry)
        return True
    state = _state(entry, handles)
    if state in ("new", "torn"):
        if entry.backup is None:
            os.unlink(entry.final)  # a create that was committed
        elif entry.in_place:
            _write_through(entry.final, entry.backup.read_bytes(), handles)
        elif not same_file(entry.backup, entry.final):
            os.replace(entry.backup, entry.final)
    for leftover in (entry.temp, entry.backup):
        if leftover is not None and os.path.lexists(leftover):
            os.unlink(leftover)
    return state != "other"


def _forward_unchecked(entry: _Entry) -> None:
    """A version-1 journal entry: move the temp into place, or delete the file."""
    if entry.temp is not None:
        if os.path.lexists(entry.temp):
            os.replace(entry.temp, entry.final)
    elif os.path.lexists(entry.final):
        os.unlink(entry.final)


def _backward_unchecked(entry: _Entry) -> None:
    """A version-1 journal entry: restore the backup, or remove what a create put there."""
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


def _current_bytes(path: Path, handles: dict[Path, int]) -> bytes | None:
    """The bytes at `path` now: through our open fd when we hold one (the inode we write)."""
    fd = handles.get(path)
    if fd is None:
        return read_bytes_quietly(path)
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, max(size - offset, 1 << 16), offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _write_through(path: Path, data: bytes, handles: dict[Path, int]) -> None:
    """Write `data` into the file itself (same inode): front to back, then cut the tail, fsync.

    A crash in the middle leaves `new[:k] + old[k:]` or `new + old[len(new):]`, which `_torn`
    recognises, so recovery can tell our interrupted write from a user's edit.
    """
    fd = handles.get(path)
    own = fd is None
    if fd is None:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        view = memoryview(data)
        offset = 0
        while offset < len(data):
            offset += os.pwrite(fd, view[offset:], offset)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        if own:
            os.close(fd)


def _torn(current: bytes, entry: _Entry) -> bool:
    """Whether `current` is an in-place write of the new bytes over the old ones, cut short."""
    if entry.temp is None or entry.backup is None:
        return False
    try:
        new, old = entry.temp.read_bytes(), entry.backup.read_bytes()
    except OSError:
        return False
    if digest(old) != entry.old or digest(new) != entry.new:
        return False
    if len(current) > len(old):
        return len(current) <= len(new) and new.startswith(current)
    if len(current) < len(old):
        return False
    agree = _common_prefix(current, new)  # current == new[:k] + old[k:] for some k <= agree
    differ = len(current) - _common_suffix(current, old)
    return differ <= agree


def _common_prefix(a: bytes, b: bytes) -> int:
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_suffix(a: bytes, b: bytes) -> int:
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            low = mid
        else:
            high = mid - 1
    return low


def _recover_locked(base: Path, dirs: set[Path]) -> tuple[Diagnostic, ...]:
    """Roll a leftover journal forward (or back, if it says so), then sweep temp files.

    A target that holds neither the bytes the journal expected nor ours was edited after the
    crash: it is left as it is, with a diagnostic, and the rest is finished.
    """
    journal = base / JOURNAL
    dirs = {*dirs, base}
    problems: list[Diagnostic] = []
    if os.path.lexists(journal):
        parsed = _read_journal(base)
        if parsed is None:
            message = f"unreadable {JOURNAL}: inspect the folder, then delete the journal"
            return (diag(str(journal), BAD_JOURNAL, message),)
        phase, entries = parsed
        kept: list[_Entry] = []
        try:
            if phase == "rollback":
                for entry in reversed(entries):
                    if not _backward(entry, {}):
                        kept.append(entry)
                fsync_dirs({entry.final.parent for entry in entries})
                journal.unlink()
            else:
                for entry in entries:
                    try:
                        _forward(entry, {})
                    except _Moved:
                        kept.append(entry)
                _finish(base, entries)
        except OSError as error:
            message = f"cannot finish the interrupted write: {reason(error)}"
            return (diag(str(journal), WRITE_FAILED, message),)
        dirs |= {entry.final.parent for entry in entries}
        problems.append(
            diag(str(journal), PENDING, f"finished an interrupted write ({phase})", "info")
        )
        for entry in kept:
            message = (
                "changed since an interrupted codegen write; left as it is, not overwritten: "
                "run codegen again to route it"
            )
            problems.append(diag(display_path(entry.final, base), CHANGED_SINCE_PLAN, message))
    for folder in sorted(dirs):
        _sweep(folder)
    _sweep(base, _ATOMIC_STRAY)  # a journal write cut short by a crash
    return tuple(problems)


def _sweep(folder: Path, pattern: re.Pattern[str] = _STRAY) -> None:
    """Remove temp and backup files that a crashed run left (only ever called under the lock)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if pattern.match(name):
            unlink_quietly(folder / name)


def _write_journal(base: Path, phase: str, entries: list[_Entry]) -> None:
    """Atomically record what the commit phase does, with paths relative to `base`."""

    def rel(path: Path | None) -> str | None:
        return None if path is None else display_path(path, base)

    document = {
        "version": 2,
        "phase": phase,
        "entries": [
            {
                "final": rel(e.final),
                "temp": rel(e.temp),
                "backup": rel(e.backup),
                "old": e.old,
                "new": e.new,
                "in_place": e.in_place,
                "shown": e.shown,
            }
            for e in entries
        ],
    }
    atomic.write_bytes(base / JOURNAL, json.dumps(document, indent=1).encode())
    fsync_dirs({base})


def _read_journal(base: Path) -> tuple[str, list[_Entry]] | None:
    """Phase and entries of a journal; None when it is damaged or names paths outside `base`."""
    try:
        document = json.loads((base / JOURNAL).read_text("utf-8"))
        phase = document["phase"]
        raw = document["entries"]
        version = document.get("version")
        if (
            version not in (1, 2)
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

        def sha(value: object) -> str | None:
            if value is None or (isinstance(value, str) and len(value) == 64):
                return value
            raise ValueError(value)

        entries = []
        for item in raw:
            final = path(item["final"])
            if final is None:
                return None
            if version == 1:
                entries.append(_Entry(final, path(item["temp"]), path(item["backup"])))
                continue
            in_place = item["in_place"]
            shown = item.get("shown", "")
            if not isinstance(in_place, bool) or not isinstance(shown, str):
                return None
            entries.append(
                _Entry(
                    final,
                    path(item["temp"]),
                    path(item["backup"]),
                    sha(item["old"]),
                    sha(item["new"]),
                    in_place,
                    checked=True,
                    shown=shown,
                )
            )
        return phase, entries
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _as_file_change(change: Change) -> FileChange:
    if not isinstance(change, FileChange) or not change.target:
        raise TypeError(
            "apply_changes needs the changes that plan_changes/plan_source_changes returned"
        )
    return change
