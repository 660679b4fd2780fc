"""The near-miss score memo: what scoring answered, by exactly its inputs, across runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ScoreMemo:
    """Near-miss scoring's results by exactly their inputs, kept across runs by the driver.

    A key names both definitions by their module's digest and line span (all that
    `definition_lines` reads), so an edit recomputes only the pairs that hold an edited
    definition. `reused`/`computed` count this run's answers (tests assert reuse happened)."""

    entries: dict[str, str] = field(default_factory=dict)
    reused: int = 0
    computed: int = 0

    def answer(self, key: str, compute: Callable[[], str]) -> str:
        """The stored value of `key` (moved last: most recently used), else computed and kept."""
        found = self.entries.pop(key, None)
        if found is None:
            found = compute()
            self.computed += 1
        else:
            self.reused += 1
        self.entries[key] = found
        return found
