"""Where a tree's cache lives: its project's `cache_dir`, else a folder in the user's cache.

A tree without `[tool.codegen]` (every repository before adoption) caches in the user's cache
folder, as black does, in one subfolder per tree root: never inside the user's files. That
folder is bounded: when a new tree gets a subfolder, the least recently used ones beyond
`MAX_TREES` or `MAX_USER_CACHE_BYTES` are removed (only subfolders codegen marked as its own).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from codegen.cache.facts import OWNER_MARKER, claim
from codegen.config import Config

USER_CACHE_ENV = "LAYERSHARE_CACHE_DIR"  # overrides the user's cache folder (tests, CI)
APP_NAME = "layershare"
TREES = "trees"
MAX_TREES = 32
MAX_USER_CACHE_BYTES = 256 * 1024 * 1024

_maintained: dict[Path, bool] = {}  # user folders this process claimed and touched: usable?


def cache_folder(config: Config) -> Path | None:
    """This tree's cache folder, None when caching is off; a user folder is claimed, marked as
    used and its siblings pruned (once per process)."""
    if config.cache_dir:
        return Path(config.root) / config.cache_dir
    if not config.user_cache:
        return None
    folder = user_cache_root() / TREES / tree_folder_name(config.root)
    if folder not in _maintained:
        _maintained[folder] = _maintain(folder)
    # Nobody asked for this cache: when it cannot be used (a read-only home), run without it
    # rather than warn on every run.
    return folder if _maintained[folder] else None


def user_cache_root() -> Path:
    """The user's cache folder for codegen (`~/.cache/layershare` on Linux)."""
    override = os.environ.get(USER_CACHE_ENV)
    if override:
        return Path(os.path.abspath(os.path.expanduser(override)))
    import platformdirs  # only for trees without [tool.codegen]

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def tree_folder_name(root: str) -> str:
    """One subfolder per tree: named by a digest of its real root path."""
    return hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:24]


def _maintain(folder: Path) -> bool:
    """Claim `folder`, record its use, and prune the others when it is new; False: unusable."""
    new = not os.path.lexists(folder)
    if claim(folder):
        return False  # not ours, or not writable
    try:
        os.utime(folder / OWNER_MARKER)  # least recently used is judged by this mtime
    except OSError:
        return False
    if new:
        prune(folder.parent, keep=folder)
    return True


def prune(trees: Path, *, keep: Path) -> list[Path]:
    """Remove least recently used tree folders beyond the count and size bounds; the removed."""
    found: list[tuple[float, Path]] = []
    try:
        children = list(trees.iterdir())
    except OSError:
        return []
    for child in children:
        marker = child / OWNER_MARKER
        if child.is_symlink() or not marker.is_file():
            continue  # never touch what codegen did not make
        try:
            found.append((marker.stat().st_mtime, child))
        except OSError:
            continue
    # `keep` first, then the most recently used.
    found.sort(key=lambda item: (item[1] != keep, -item[0], item[1].name))
    removed = []
    kept = total = 0
    for _, child in found:
        size = _size(child)
        if child == keep or (kept < MAX_TREES and total + size <= MAX_USER_CACHE_BYTES):
            kept += 1
            total += size
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child)
    return removed


def _size(folder: Path) -> int:
    """Bytes of the files in a cache folder (they are all at its top level)."""
    total = 0
    try:
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        pass
    return total
