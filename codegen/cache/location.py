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

from codegen import atomic
from codegen.config import Config

USER_CACHE_ENV = "LAYERSHARE_CACHE_DIR"  # overrides the user's cache folder (tests, CI)
APP_NAME = "layershare"
TREES = "trees"
MAX_TREES = 32
MAX_USER_CACHE_BYTES = 256 * 1024 * 1024

_maintained: dict[Path, bool] = {}  # user folders this process claimed and touched: usable?


CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by codegen.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


OWNER_MARKER = ".codegen-cache-owner"  # our own mark: codegen made this folder and may clear it
_MARKER_TEXT = "This folder was created by codegen as its scan cache; it is safe to delete.\n"


def claim(directory: Path) -> str:
    """Make `directory` codegen's cache folder: "" when it is ours, else why it cannot be used.

    A missing folder is created whole, marked (CACHEDIR.TAG with its signature, our own marker
    file, a `.gitignore`) and renamed into place, so it is never seen half-marked. An existing
    folder is used only when it carries our marker (or the CACHEDIR.TAG an earlier codegen
    wrote); nothing is ever written into, or deleted from, a folder that is not ours.
    """
    try:
        if (directory / OWNER_MARKER).is_file() and not directory.is_symlink():
            return ""
        if os.path.lexists(directory):
            tag = directory / "CACHEDIR.TAG"
            if directory.is_dir() and not directory.is_symlink() and _read(tag) == CACHEDIR_TAG:
                atomic.write_bytes(directory / OWNER_MARKER, _MARKER_TEXT.encode())  # ours, older
                return ""
            return (
                f"cache_dir {directory.name!r} exists and was not created by codegen; it is "
                "left untouched: choose another cache_dir, or delete that folder"
            )
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = atomic.temp_path(directory)
        staging.mkdir()
        try:
            for name, content in (
                (".gitignore", "*\n"),
                ("CACHEDIR.TAG", CACHEDIR_TAG),
                (OWNER_MARKER, _MARKER_TEXT),
            ):
                (staging / name).write_text(content, "utf-8")
            os.rename(staging, directory)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if (directory / OWNER_MARKER).is_file():
                return ""  # another codegen run made it first
            raise
    except OSError as error:
        return f"cannot use cache folder: {error.strerror or error}"
    return ""


def _read(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


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
