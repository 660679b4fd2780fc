"""Pausing the cyclic garbage collector around work that builds only acyclic data."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_freeze = False  # set by a process that runs one command from its command line, then exits


def freeze_after_pauses() -> None:
    """From now on, what a paused stretch leaves alive is frozen out of the collector's passes.

    Only for a process that runs one command and exits: the facts, plan and texts a stretch
    builds stay alive to the end and hold no cycles, yet the first passes after it would walk
    every one of them (a third of a second in the check after an edit of a 1000-file tree).
    """
    global _freeze
    _freeze = True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: syntax trees are acyclic, and its passes over millions of fresh nodes
    cost a tenth of a cold scan. Reference counting still frees each tree after its file."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
