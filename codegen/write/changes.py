"""Change planning: what to create, update, delete or refuse, compared with the bytes on disk."""

from __future__ import annotations

import io
import os
import stat
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codegen.model import Change, Diagnostic
from codegen.paths import display_path
from codegen.write.files import (
    CHANGED_SINCE_PLAN,
    EDITED,
    ESCAPES,
    FOREIGN,
    JOURNAL,
    OUTPUT_NOT_DIR,
    PENDING,
    READ_ONLY,
    WRITE_FAILED,
    diag,
    digest,
    inside,
    normalise,
    read_bytes,
    reason,
    unsafe_relative,
)
from codegen.write.header import as_written, classify, same_file


@dataclass(frozen=True)
class FileChange(Change):
    """A Change that knows where it goes on disk and exactly which bytes were and will be there."""

    target: str = ""  # absolute path
    data: bytes | None = None  # new bytes for create/update
    old_digest: str | None = None  # sha256 of the bytes read for the plan; None when absent
    in_place: bool = False  # write through the file itself (hand-written files), not by rename


def plan_changes(
    rendered: Mapping[str, str], output_dir: Path, root: Path, *, force: bool
) -> tuple[tuple[Change, ...], tuple[Diagnostic, ...]]:
    """Compare rendered files with `output_dir`: what to create, update, delete or refuse."""
    output_dir = Path(os.path.abspath(output_dir))
    root = Path(os.path.abspath(root))
    if os.path.lexists(output_dir) and not output_dir.is_dir():
        message = "output folder exists but is not a folder; move it away or change `output`"
        return (), (diag(display_path(output_dir, root), OUTPUT_NOT_DIR, message),)
    real_out = os.path.realpath(output_dir)
    changes: list[Change] = []
    diagnostics: list[Diagnostic] = []
    for relative in sorted(rendered):
        target = output_dir / relative
        shown = display_path(target, root)
        if unsafe_relative(relative) or not inside(target, real_out):
            message = f"refusing to write outside the output folder: {relative!r}"
            diagnostics.append(diag(shown, ESCAPES, message))
            continue
        change, problem = _plan_generated(target, shown, rendered[relative], force=force)
        changes.extend([change] if change else [])
        diagnostics.extend([problem] if problem else [])
    orphans, problems = _plan_orphans(output_dir, root, set(map(normalise, rendered)), force=force)
    if os.path.lexists(output_dir / JOURNAL):
        message = "an interrupted write is pending; call recover() before planning to finish it"
        shown = display_path(output_dir / JOURNAL, root)
        diagnostics.append(diag(shown, PENDING, message, "warning"))
    return tuple(sorted((*changes, *orphans), key=lambda change: change.path)), (
        *diagnostics,
        *problems,
    )


def plan_source_changes(
    rendered: Mapping[str, str], root: Path, *, read: Mapping[str, str] | None = None
) -> tuple[tuple[Change, ...], tuple[Diagnostic, ...]]:
    """Plan rewrites of hand-written files (no header rules), keeping each file's encoding.

    `read` maps a file (as keyed in `rendered`) to the sha256 of the bytes that were scanned and
    edited: the change is planned against exactly those bytes, and a file that holds anything else
    now is refused (CG307). A symlink is written through at its target; a read-only file is
    refused (CG311).
    """
    root = Path(os.path.abspath(root))
    real_root = os.path.realpath(root)
    changes: list[Change] = []
    diagnostics: list[Diagnostic] = []
    for name in sorted(rendered):
        target = Path(os.path.abspath(root / name))
        shown = display_path(target, root)
        if not inside(target, real_root):
            diagnostics.append(diag(shown, ESCAPES, "refusing to write outside the project root"))
            continue
        real = Path(os.path.realpath(target))  # a link is written through, at its target
        try:
            old = read_bytes(real)
        except OSError as error:
            diagnostics.append(diag(shown, WRITE_FAILED, f"cannot read: {reason(error)}"))
            continue
        expected = None if read is None else read.get(name)
        if expected is not None and digest(old) != expected:
            message = (
                "changed on disk since codegen read it; nothing written (your version is kept): "
                "run codegen again"
            )
            diagnostics.append(diag(shown, CHANGED_SINCE_PLAN, message))
            continue
        text = rendered[name]
        encoding = _target_encoding(text, old)
        try:
            data = text.encode(encoding)
        except (UnicodeEncodeError, LookupError) as error:
            diagnostics.append(diag(shown, WRITE_FAILED, f"cannot encode as {encoding}: {error}"))
            continue
        if old == data:
            continue
        old_text = None if old is None else _decode_loosely(old, encoding)
        action: Literal["create", "update", "refuse"] = "create" if old is None else "update"
        why = "new file" if old is None else "content changed"
        if old is not None and not _writable(real):
            mode = stat.S_IMODE(os.stat(real).st_mode)
            message = (
                f"file is read-only (mode {mode:04o}); not rewritten: make it writable "
                "(chmod u+w) to let codegen route it, or exclude it"
            )
            diagnostics.append(diag(shown, READ_ONLY, message))
            action, why = "refuse", "read-only file"
        changes.append(
            FileChange(
                shown,
                action,
                why,
                old_text,
                text,
                str(real),
                data,
                digest(old),
                in_place=old is not None,
            )
        )
    return tuple(changes), tuple(diagnostics)


def _writable(path: Path) -> bool:
    """The owner may write it and so may we (root ignores modes, so both are asked)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IWUSR) and os.access(path, os.W_OK)


def encoded_bytes(text: str, target: str) -> bytes:
    """The exact bytes `plan_source_changes` would store for `text` at `target`."""
    try:
        old = read_bytes(Path(target))
    except OSError:
        old = None
    return text.encode(_target_encoding(text, old), errors="replace")


def _plan_generated(
    target: Path, shown: str, text: str, *, force: bool
) -> tuple[Change | None, Diagnostic | None]:
    """One rendered file against what is on disk."""
    data = text.encode("utf-8")
    if target.is_dir():
        return None, diag(shown, FOREIGN, "a folder is in the way of a generated file; not touched")
    try:
        old = read_bytes(target)
    except OSError as error:
        return None, diag(shown, WRITE_FAILED, f"cannot read: {reason(error)}")
    if old is None:
        return FileChange(shown, "create", "new file", None, text, str(target), data, None), None
    if same_file(old, data):
        return None, None  # a CRLF checkout of the same file is up to date
    old_text, status = classify(old)
    old_text = as_written(old_text)  # compared and reported line endings aside
    old_digest = digest(old)
    if status == "valid" or (status == "edited" and force):
        why = "content changed" if status == "valid" else "overwriting hand edits (--force)"
        return FileChange(shown, "update", why, old_text, text, str(target), data, old_digest), None
    refused = FileChange(
        shown, "refuse", f"{status} file", old_text, text, str(target), data, old_digest
    )
    if status == "edited":
        message = "generated file was edited by hand; pass --force to overwrite it, or delete it"
        return refused, diag(shown, EDITED, message)
    message = "not written by codegen (no generated header); never overwritten, even with --force"
    return refused, diag(shown, FOREIGN, message)


def _plan_orphans(
    output_dir: Path, root: Path, keep: set[str], *, force: bool
) -> tuple[list[Change], list[Diagnostic]]:
    """Files no longer rendered: delete ours, keep hand-edited (without --force) and foreign."""
    changes: list[Change] = []
    diagnostics: list[Diagnostic] = []
    for path in _python_files(output_dir):
        relative = path.relative_to(output_dir).as_posix()
        if relative in keep:
            continue
        shown = display_path(path, root)
        try:
            old = path.read_bytes()
        except OSError:
            continue  # unreadable: we cannot tell it is ours, so it stays
        old_text, status = classify(old)
        if status == "valid" or (status == "edited" and force):
            why = "no longer generated" + (
                "" if status == "valid" else " (hand edits dropped, --force)"
            )
            changes.append(
                FileChange(shown, "delete", why, old_text, None, str(path), None, digest(old))
            )
        elif status == "edited":
            message = (
                "stale generated file was edited by hand; left in place (pass --force to delete it)"
            )
            diagnostics.append(diag(shown, EDITED, message, severity="warning"))
    return changes, diagnostics


def _python_files(directory: Path) -> Iterator[Path]:
    """`*.py` files below `directory`, sorted, skipping symlinks and hidden folders."""
    if not directory.is_dir():
        return
    for current, folders, files in os.walk(directory):
        folders[:] = sorted(
            name
            for name in folders
            if not name.startswith(".")
            and name != "__pycache__"
            and not os.path.islink(os.path.join(current, name))
        )
        for name in sorted(files):
            path = Path(current, name)
            if name.endswith(".py") and not path.is_symlink():
                yield path


def _target_encoding(text: str, old: bytes | None) -> str:
    """The encoding a rewritten source must use: the one Python reads the bytes on disk with
    (their BOM or coding cookie, as `tokenize.detect_encoding` finds them, as the scan read
    them), or for a new file the one its text declares."""
    if old is None:
        # The first two lines as Python's cookie search reads bytes: up to each b"\n".
        head = "\n".join(text.split("\n", 2)[:2]).encode("ascii", "replace")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(head if old is None else old).readline)
    except SyntaxError:
        encoding = "utf-8"
    return encoding


def _decode_loosely(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return data.decode("utf-8", "replace")
