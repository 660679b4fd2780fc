"""One-entry JSON cache files ({"key": ..., field: value}): written atomically, damage is a miss."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from codegen import atomic
from codegen.cache.location import cache_folder, claim
from codegen.config import Config


def cache_file(config: Config, name: str, *, use_cache: bool = True) -> Path | None:
    """A file in the tree's cache folder, None when caching is off or the folder is not ours."""
    directory = cache_folder(config) if use_cache else None
    if directory is None:
        return None
    return directory / name if claim(directory) == "" else None


def replace_text(path: Path, text: str) -> None:
    """Atomically replace a small cache file; a failure only costs speed."""
    with contextlib.suppress(OSError):
        atomic.write_text(path, text)


def write_record(path: Path | None, key: str, field: str, value: object) -> None:
    """Store `value` under `key` in a one-entry JSON cache file (when caching is on)."""
    if path is not None and path.parent.is_dir():
        replace_text(path, json.dumps({"key": key, field: value}))


def read_record(path: Path | None) -> dict[str, object] | None:
    """The whole JSON record of a cache file, whatever its key (None: no cache, damaged)."""
    if path is None:
        return None
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cached if isinstance(cached, dict) else None


def read_value(path: Path | None, key: str, field: str) -> object | None:
    """The value stored under exactly `key`, or None (no cache, another key, damaged file)."""
    cached = read_record(path)
    if cached is None or cached.get("key") != key:
        return None
    return cached.get(field)


def text_map(value: object) -> dict[str, str] | None:
    """`value` as {path: text} when it is one (a damaged cache file may hold anything)."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return None
    return dict(value)
