"""The one atomic file write: readers see the old bytes or the new ones, never a half."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TEMP_PREFIX = ".tmp-"  # temp files of a crashed run carry it, so cleanup can find them


def write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file in the same folder, fsync, os.replace.

    The temp file is removed on any failure; the OSError is the caller's to handle.
    """
    # Same folder: os.replace is atomic only within one file system.
    temp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not reach the disk before the bytes
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """`write_bytes` of UTF-8 text."""
    write_bytes(path, text.encode("utf-8"))
