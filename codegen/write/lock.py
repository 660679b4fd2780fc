"""The project's write lock: one codegen run at a time writes (flock, or an exclusive lock file)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codegen.write.files import unlink_quietly

try:
    import fcntl
except ImportError:  # Windows: fall back to an exclusive-create lock file
    fcntl = None  # type: ignore[assignment]

LOCK = ".codegen-lock"
LOCK_TIMEOUT = 30.0


@contextmanager
def locked(base: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[bool]:
    """Hold `.codegen-lock` in `base` while the block runs; yields False after waiting `timeout`."""
    path = base / LOCK
    fd = acquire(path, timeout)
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        if fcntl is None:
            os.close(fd)
            unlink_quietly(path)
        else:
            unlink_quietly(path)  # unlink while still holding the lock; waiters re-check the inode
            os.close(fd)


def acquire(path: Path, timeout: float) -> int | None:
    """An fd holding the lock on `path`, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        fd = _try_lock(path)
        if fd is not None:
            return fd
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _try_lock(path: Path) -> int | None:
    if fcntl is None:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    # The previous holder unlinks the file on release: a lock on that dead inode protects nothing.
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        os.close(fd)
        return None
    held = os.fstat(fd)
    if (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino):
        os.close(fd)
        return None
    return fd
