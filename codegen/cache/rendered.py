"""The render caches: every generated file of a tree, and layers_common by its canonical sources."""

from __future__ import annotations

import json
from collections.abc import Sequence

from codegen.cache.records import (
    cache_file,
    read_record,
    read_value,
    replace_text,
    text_map,
    write_record,
)
from codegen.cache.salt import settings_key, tree_key
from codegen.config import Config

RENDERED_FILE = "rendered.json"
COMMON_FILE = "common.json"
COPIES_FILE = "copies.json"
MAX_COPIES = 4000  # canonical-copy memo entries kept, the most recently used


class RenderedCache:
    """Every generated file's text, keyed by the whole tree (path, digest) and the settings;
    with each shim's key (`emit.render.shim_keys`), so a tree that changed reuses the shims
    whose inputs did not."""

    def __init__(self, config: Config, tree: Sequence[tuple[str, str]], *, use_cache: bool):
        self.path = cache_file(config, RENDERED_FILE, use_cache=use_cache)
        self.key = tree_key(tree, config) if self.path is not None else ""
        self.settings = settings_key(config) if self.path is not None else ""
        self.record = read_record(self.path) or {}

    def get(self) -> dict[str, str] | None:
        """Every file of exactly this tree, or None."""
        return text_map(self.record.get("files")) if self.record.get("key") == self.key else None

    def shims(self, keys: dict[str, str]) -> dict[str, str]:
        """The stored text of every shim whose key is the one given (same settings and tool)."""
        files = text_map(self.record.get("files")) or {}
        stored = text_map(self.record.get("shims")) or {}
        if self.record.get("settings") != self.settings:
            return {}
        return {
            path: files[path]
            for path, key in keys.items()
            if stored.get(path) == key and path in files
        }

    def put(self, files: dict[str, str], shims: dict[str, str]) -> None:
        """Store this tree's files and the key of each shim among them."""
        if self.path is not None and self.path.parent.is_dir():
            record = {"key": self.key, "files": files, "shims": shims, "settings": self.settings}
            replace_text(self.path, json.dumps(record))


class CommonCache:
    """layers_common's body, keyed by its canonical sources: reused when only other files moved."""

    def __init__(self, config: Config, common_inputs: Sequence[str], *, use_cache: bool):
        self.path = cache_file(config, COMMON_FILE, use_cache=use_cache)
        self.key = tree_key([("common", p) for p in common_inputs], config)
        self.copies_path = cache_file(config, COPIES_FILE, use_cache=use_cache)
        self.copies_key = tree_key([], config)  # the tool and settings: what a copy depends on

    def copies(self) -> dict[str, str]:
        """The canonical-copy memo (emit.canonical), in order of use; empty when not cached."""
        return text_map(read_value(self.copies_path, self.copies_key, "copies")) or {}

    def put_copies(self, memo: dict[str, str]) -> None:
        """Store the memo, the most recently used entries last, at most MAX_COPIES of them."""
        kept = dict(list(memo.items())[-MAX_COPIES:])
        write_record(self.copies_path, self.copies_key, "copies", kept)

    def get(self) -> str | None:
        cached = read_value(self.path, self.key, "body")
        return cached if isinstance(cached, str) else None

    def put(self, body: str) -> None:
        write_record(self.path, self.key, "body", body)
