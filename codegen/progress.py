"""The one-line progress bar a scan shows on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[int, int], None]  # (files done, files in all)


def terminal_progress(stream: TextIO | None = None) -> Progress | None:
    """A one-line progress bar on a terminal; None (silence) when output is redirected."""
    stream = stream if stream is not None else sys.stderr  # the current one, not the one at import
    try:
        if not stream.isatty():
            return None
    except (ValueError, AttributeError):  # closed or not a real stream
        return None

    def show(done: int, total: int) -> None:
        if total < 50:
            return
        width = 30
        filled = int(width * done / total) if total else width
        stream.write(f"\rscanning [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show
