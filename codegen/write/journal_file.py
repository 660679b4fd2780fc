"""The journal file: what a commit is about to do, written before it and read back by recovery.

Its writer and its reader live here together, so the format has one home. Paths in it are
relative to the folder holding it; a journal naming a path outside that folder is damaged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from codegen import atomic
from codegen.paths import display_path
from codegen.write.files import JOURNAL, fsync_dirs, inside, unsafe_relative


@dataclass(frozen=True)
class Entry:
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


def write_journal(base: Path, phase: str, entries: list[Entry]) -> None:
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


def read_journal(base: Path) -> tuple[str, list[Entry]] | None:
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
                entries.append(Entry(final, path(item["temp"]), path(item["backup"])))
                continue
            in_place = item["in_place"]
            shown = item.get("shown", "")
            if not isinstance(in_place, bool) or not isinstance(shown, str):
                return None
            entries.append(
                Entry(
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
