"""The render caches: every generated file of a tree, and layers_common by its canonical sources."""

from __future__ import annotations

from collections.abc import Sequence

from codegen.cache.records import cache_file, read_value, text_map, write_record
from codegen.cache.salt import tree_key
from codegen.config import Config

RENDERED_FILE = "rendered.json"
COMMON_FILE = "common.json"


class RenderedCache:
    """Every generated file's text, keyed by the whole tree (path, digest) and the settings."""

    def __init__(self, config: Config, tree: Sequence[tuple[str, str]], *, use_cache: bool):
        self.path = cache_file(config, RENDERED_FILE, use_cache=use_cache)
        self.key = tree_key(tree, config) if self.path is not None else ""

    def get(self) -> dict[str, str] | None:
        return text_map(read_value(self.path, self.key, "files"))

    def put(self, files: dict[str, str]) -> None:
        write_record(self.path, self.key, "files", files)


class CommonCache:
    """layers_common's body, keyed by its canonical sources: reused when only other files moved."""

    def __init__(self, config: Config, common_inputs: Sequence[str], *, use_cache: bool):
        self.path = cache_file(config, COMMON_FILE, use_cache=use_cache)
        self.key = tree_key([("common", p) for p in common_inputs], config)

    def get(self) -> str | None:
        cached = read_value(self.path, self.key, "body")
        return cached if isinstance(cached, str) else None

    def put(self, body: str) -> None:
        write_record(self.path, self.key, "body", body)
