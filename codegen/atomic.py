"""The one atomic file write, and the one naming scheme for every temp file codegen leaves.

Readers see the old bytes or the new ones, never a half. A crash can leave temp files behind;
they are all named `.<name>.codegen-<kind>-<hex>`, so one pattern finds them for cleanup.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

TEMP_KINDS = ("tmp", "bak")  # new bytes on their way in; old bytes kept until the commit
_TEMP_NAME = re.compile(r"^\..+\.codegen-(tmp|bak)-[0-9a-f]+$")


def temp_path(final: Path, kind: str = "tmp") -> Path:
    """A fresh name next to `final` (same folder: os.replace is atomic only within one disk)."""
    assert kind in TEMP_KINDS, kind
    return final.with_name(f".{final.name}.codegen-{kind}-{secrets.token_hex(8)}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one that `temp_path` gives (a leftover of a crashed run)."""
    return _TEMP_NAME.match(name) is not None


def write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file in the same folder, fsync, os.replace.

    The temp file is removed on any failure; the OSError is the caller's to handle.
    """
    temp = temp_path(path)
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
