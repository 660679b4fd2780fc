"""The only stage that writes.

- `header`: the generated-file header and its checksum;
- `changes`: change planning (create / update / delete / refuse) against the bytes on disk;
- `journal`: the all-or-nothing transaction;
- `journal_file`: the journal a commit writes first (its format: writer and reader);
- `replay`: rolling a journal forward or back, and recovery after a crash;
- `lock`: one writer at a time;
- `diff`: the unified diff that `--diff` prints;
- `files`: the small file-system primitives they share.
"""

from __future__ import annotations

from codegen.write.changes import FileChange, encoded_bytes, plan_changes, plan_source_changes
from codegen.write.diff import unified_diff
from codegen.write.files import (
    BAD_JOURNAL,
    CHANGED_SINCE_PLAN,
    EDITED,
    ESCAPES,
    FOREIGN,
    JOURNAL,
    LOCKED,
    OUTPUT_NOT_DIR,
    PENDING,
    REFUSED,
    WRITE_FAILED,
)
from codegen.write.header import (
    HEADER_PREFIX,
    Header,
    HeaderStatus,
    add_header,
    body_checksum,
    header_status,
    read_header,
)
from codegen.write.journal import apply_changes
from codegen.write.lock import LOCK, LOCK_TIMEOUT
from codegen.write.replay import recover

__all__ = [
    "BAD_JOURNAL",
    "CHANGED_SINCE_PLAN",
    "EDITED",
    "ESCAPES",
    "FOREIGN",
    "HEADER_PREFIX",
    "JOURNAL",
    "LOCK",
    "LOCKED",
    "LOCK_TIMEOUT",
    "OUTPUT_NOT_DIR",
    "PENDING",
    "REFUSED",
    "WRITE_FAILED",
    "FileChange",
    "Header",
    "HeaderStatus",
    "add_header",
    "apply_changes",
    "body_checksum",
    "encoded_bytes",
    "header_status",
    "plan_changes",
    "plan_source_changes",
    "read_header",
    "recover",
    "unified_diff",
]
