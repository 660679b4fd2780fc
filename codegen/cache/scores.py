"""The near-miss score memo: pair verdicts and diffs by their definitions' digests and spans."""

from __future__ import annotations

from codegen.cache.records import cache_file, read_value, text_map, write_record
from codegen.cache.salt import tree_key
from codegen.config import Config
from codegen.plan.scores import ScoreMemo

SCORES_FILE = "scores.json"
MAX_SCORES = 8000  # memo entries kept, the most recently used


class ScoreCache:
    """`ScoreMemo` entries across runs, keyed by the tool and settings (what a score depends on
    besides the definitions its key names)."""

    def __init__(self, config: Config, *, use_cache: bool):
        self.path = cache_file(config, SCORES_FILE, use_cache=use_cache)
        self.key = tree_key([], config) if self.path is not None else ""

    def get(self) -> ScoreMemo:
        """The stored memo (empty when not cached, another tool's or damaged)."""
        return ScoreMemo(text_map(read_value(self.path, self.key, "scores")) or {})

    def put(self, memo: ScoreMemo) -> None:
        """Store the memo when this run added to it, at most MAX_SCORES entries (oldest go)."""
        if memo.computed:
            kept = dict(list(memo.entries.items())[-MAX_SCORES:])
            write_record(self.path, self.key, "scores", kept)
