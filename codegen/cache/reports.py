"""The report memo: `scan`'s report and exit code for the last tree scanned, one per format.

A warm `scan` of an unchanged tree prints the stored report instead of planning again, so it
imports neither libcst nor jinja2 (nor the planner). The report is a pure function of the
files' bytes, the settings and the tool's own code: `tree_key` covers all three.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from codegen import diagnostics
from codegen.cache.records import cache_file, replace_text
from codegen.cache.salt import tree_key
from codegen.config import Config
from codegen.model import Diagnostic, SourceFile

# One memo per format; each file is "<key> <exit code>\n" then the report text as printed.
REPORT_FILES = {True: "report-json.txt", False: "report-text.txt"}
# Problems of this run rather than of the tree: a report that carries them is not reused.
_VOLATILE = frozenset(
    {diagnostics.CACHE_DISABLED, diagnostics.MISSING_PATH, diagnostics.UNREADABLE}
)


def _memo_key(sources: Sequence[SourceFile], config: Config, as_json: bool) -> str | None:
    """The key of this tree's report, None when a file could not be read (its bytes are not
    in the key, and a read problem may be transient)."""
    if not sources or any(s.text is None for s in sources):
        return None
    return tree_key([(s.path, s.digest) for s in sources], config) + ("-json" if as_json else "")


def cached_report(
    sources: Sequence[SourceFile],
    problems: Sequence[Diagnostic],
    config: Config,
    *,
    as_json: bool,
) -> tuple[str, int] | None:
    """(report text, exit code) of this exact tree, or None (a miss, damage, or no cache)."""
    key = _memo_key(sources, config, as_json) if not problems else None
    path = cache_file(config, REPORT_FILES[as_json]) if key else None
    if path is None:
        return None
    try:
        with path.open(encoding="utf-8", newline="") as memo:
            head = memo.readline()
            text = memo.read()
    except (OSError, UnicodeDecodeError):
        return None
    parts = head.rstrip("\n").split(" ")
    if len(parts) != 2 or parts[0] != key or parts[1] not in ("0", "1"):
        return None
    return text, int(parts[1])


def remember_report(
    sources: Sequence[SourceFile],
    problems: Sequence[Diagnostic],
    config: Config,
    *,
    as_json: bool,
    text: str,
    code: int,
) -> None:
    """Store a finished scan's report, unless its diagnostics say something was not read or
    not cached (those may differ next time)."""
    if any(d.code in _VOLATILE for d in problems) or code not in (0, 1):
        return
    key = _memo_key(sources, config, as_json)
    path = cache_file(config, REPORT_FILES[as_json]) if key else None
    if path is None or not path.parent.is_dir():
        return
    with contextlib.suppress(UnicodeEncodeError):
        replace_text(path, f"{key} {code}\n{text}")
