"""Small file-system primitives the planner and the transaction share."""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from codegen import atomic, diagnostics
from codegen.diagnostics import (  # noqa: F401  (re-exported: the writer's codes)
    BAD_JOURNAL,
    CHANGED_SINCE_PLAN,
    EDITED,
    ESCAPES,
    FILE_LOCKED,
    FOREIGN,
    JOURNALED,
    LOCKED,
    OUTPUT_NOT_DIR,
    PENDING,
    READ_ONLY,
    REFUSED,
    WRITE_FAILED,
)
from codegen.model import Diagnostic, Severity

JOURNAL = ".codegen-journal"


def write_temp(final: Path, data: bytes, kind: str, mode: int | None) -> Path:
    """A fsynced `.<name>.codegen-<kind>-<random>` next to `final`."""
    temp = atomic.temp_path(final, kind)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_quietly(temp)
        raise
    os.close(fd)
    return temp


def backup(final: Path, mode: int | None) -> Path:
    """A second name for the old file: a hard link when the filesystem has them, else a copy."""
    name = atomic.temp_path(final, "bak")
    try:
        os.link(final, name, follow_symlinks=False)
        return name
    except OSError:
        return write_temp(final, final.read_bytes(), "bak", mode)


def make_parents(folder: Path, made: list[Path]) -> None:
    """Create `folder` and its missing parents, recording each one made (outermost first)."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def fsync_dirs(folders: Iterable[Path]) -> None:
    """Make renames durable; not every platform or filesystem can fsync a folder."""
    for folder in sorted(folders):
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, None when it does not exist (a dangling symlink counts as absent)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def read_bytes_quietly(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def same_file(a: Path, b: Path) -> bool:
    """Both names are links to one inode (a hard-link backup of a file that was never replaced)."""
    try:
        first, second = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def rmdir_quietly(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def unsafe_relative(relative: str) -> bool:
    """Absolute, `..`, backslash or non-normal paths (`a//b`, `./a`) could escape or collide."""
    if not relative or "\\" in relative or "\0" in relative or os.path.isabs(relative):
        return True
    return posixpath.normpath(relative) != relative or relative.split("/", 1)[0] == ".."


def inside(path: Path, real_base: str) -> bool:
    real = os.path.realpath(path)
    return real.startswith(real_base.rstrip(os.sep) + os.sep)


def normalise(relative: str) -> str:
    return PurePosixPath(relative).as_posix()


def reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


_FACTORIES = {"error": diagnostics.error, "warning": diagnostics.warning, "info": diagnostics.info}


def diag(path: str, code: str, message: str, severity: Severity = "error") -> Diagnostic:
    """A whole-file diagnostic (line 1, column 0) through the one factory."""
    return _FACTORIES[severity](path, code, message)
