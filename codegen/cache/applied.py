"""The applied memo: (digest, edit) pairs that `apply` left unchanged, so a check parses none."""

from __future__ import annotations

import hashlib

from codegen.cache.records import cache_file, replace_text
from codegen.cache.salt import package_digest
from codegen.config import Config
from codegen.model import ModelEdit

APPLIED_FILE = "applied.txt"


class AppliedMemo:
    """Keys of the (digest, edit) pairs known to be in sync; saved as one sorted text file."""

    def __init__(self, config: Config, enabled: bool):
        self.path = cache_file(config, APPLIED_FILE, use_cache=enabled)
        self.salt = package_digest()[:16]
        self.known: set[str] = set()
        self.dirty = False
        if self.path is not None:
            try:
                self.known = set(self.path.read_text(encoding="ascii").split())
            except (OSError, UnicodeDecodeError):
                self.known = set()

    def key(self, digest: str, edit: ModelEdit) -> str:
        """The memo key of applying `edit` to the file with this content digest."""
        return hashlib.sha256(f"{self.salt}{digest}{edit!r}".encode()).hexdigest()[:32]

    def add(self, key: str) -> None:
        """Remember a pair as in sync."""
        if key not in self.known:
            self.known.add(key)
            self.dirty = True

    def save(self) -> None:
        """Write the memo if anything was added (when caching is on)."""
        if self.path is None or not self.dirty or not self.path.parent.is_dir():
            return
        replace_text(self.path, "\n".join(sorted(self.known)) + "\n")
