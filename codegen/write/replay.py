"""Replaying a journal: roll each entry forward or back, idempotently, and recover after a crash.

Every step compares a target with the exact bytes the journal expects, so a file that holds
anything else (a user's edit after the crash) is left alone with a diagnostic.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from codegen import atomic
from codegen.model import Diagnostic
from codegen.paths import display_path
from codegen.write.files import (
    BAD_JOURNAL,
    CHANGED_SINCE_PLAN,
    JOURNAL,
    LOCKED,
    PENDING,
    WRITE_FAILED,
    diag,
    digest,
    fsync_dirs,
    read_bytes_quietly,
    reason,
    same_file,
    unlink_quietly,
)
from codegen.write.journal_file import Entry, read_journal
from codegen.write.lock import LOCK, locked


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
                    problems.extend(recover_locked(folder, set()))
            return (*problems, *recover_locked(base, {*dirs, *extra}))
    except OSError as error:
        return (diag(str(output_dir), WRITE_FAILED, f"cannot lock folder: {reason(error)}"),)


class Moved(Exception):
    """A target holds bytes that neither the plan nor this write put there: someone else's."""

    def __init__(self, entry: Entry) -> None:
        super().__init__(str(entry.final))
        self.entry = entry


def finish(base: Path, entries: list[Entry]) -> None:
    """After every replace: make it durable, drop backups (and in-place temps), then the journal."""
    fsync_dirs({entry.final.parent for entry in entries})
    for entry in entries:
        if entry.backup is not None:
            unlink_quietly(entry.backup)
        if entry.in_place and entry.temp is not None:
            unlink_quietly(entry.temp)
    (base / JOURNAL).unlink()
    fsync_dirs({base})


def finish_quietly(base: Path, entries: list[Entry], handles: dict[Path, int]) -> None:
    try:
        for entry in entries:
            try:
                forward(entry, handles)
            except Moved:
                pass  # someone else's bytes: left alone
        finish(base, entries)
    except OSError:
        pass


def _state(entry: Entry, handles: dict[Path, int]) -> str:
    """What the final path holds now: "new", "old", "torn" (our in-place write, cut) or "other"."""
    current = current_bytes(entry.final, handles)
    found = digest(current)
    if found == entry.new:
        return "new"
    if found == entry.old:
        return "old"
    if entry.in_place and current is not None and torn(current, entry):
        return "torn"
    return "other"


def forward(entry: Entry, handles: dict[Path, int]) -> None:
    """Idempotent commit of one entry; raises Moved when the file holds someone else's bytes."""
    if not entry.checked:
        _forward_unchecked(entry)
        return
    state = _state(entry, handles)
    if state == "new":
        if entry.temp is not None and not entry.in_place:
            unlink_quietly(entry.temp)  # committed, then cut before the journal went away
        return
    if state == "other" or (entry.temp is not None and not os.path.lexists(entry.temp)):
        raise Moved(entry)
    if entry.temp is None:
        os.unlink(entry.final)
    elif entry.in_place:
        _write_through(entry.final, entry.temp.read_bytes(), handles)
    else:
        os.replace(entry.temp, entry.final)


def backward(entry: Entry, handles: dict[Path, int]) -> bool:
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


def _forward_unchecked(entry: Entry) -> None:
    """A version-1 journal entry: move the temp into place, or delete the file."""
    if entry.temp is not None:
        if os.path.lexists(entry.temp):
            os.replace(entry.temp, entry.final)
    elif os.path.lexists(entry.final):
        os.unlink(entry.final)


def _backward_unchecked(entry: Entry) -> None:
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


def current_bytes(path: Path, handles: dict[Path, int]) -> bytes | None:
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

    A crash in the middle leaves `new[:k] + old[k:]` or `new + old[len(new):]`, which `torn`
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


def torn(current: bytes, entry: Entry) -> bool:
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


def recover_locked(base: Path, dirs: set[Path]) -> tuple[Diagnostic, ...]:
    """Roll a leftover journal forward (or back, if it says so), then sweep temp files.

    A target that holds neither the bytes the journal expected nor ours was edited after the
    crash: it is left as it is, with a diagnostic, and the rest is finished.
    """
    journal = base / JOURNAL
    dirs = {*dirs, base}
    problems: list[Diagnostic] = []
    if os.path.lexists(journal):
        parsed = read_journal(base)
        if parsed is None:
            message = f"unreadable {JOURNAL}: inspect the folder, then delete the journal"
            return (diag(str(journal), BAD_JOURNAL, message),)
        phase, entries = parsed
        kept: list[Entry] = []
        try:
            if phase == "rollback":
                for entry in reversed(entries):
                    if not backward(entry, {}):
                        kept.append(entry)
                fsync_dirs({entry.final.parent for entry in entries})
                journal.unlink()
            else:
                for entry in entries:
                    try:
                        forward(entry, {})
                    except Moved:
                        kept.append(entry)
                finish(base, entries)
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
    for folder in sorted(dirs):  # `dirs` holds `base`: a journal write cut short leaves one too
        _sweep(folder)
    return tuple(problems)


def _sweep(folder: Path) -> None:
    """Remove temp and backup files that a crashed run left (only ever called under the lock)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if atomic.is_temp_name(name):
            unlink_quietly(folder / name)
