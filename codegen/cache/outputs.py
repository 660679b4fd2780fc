"""The outputs memo: the generated files of a tree last seen in sync, so `check`/`sync` can skip.

A tree that differs from that one only in comments and blank lines that cannot change the
outputs (see trivia.py) is still in sync.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.cache.facts import open_facts_cache
from codegen.cache.records import cache_file, read_record, text_map, write_record
from codegen.cache.salt import settings_key, tree_key
from codegen.cache.trivia import code_digest, copied_text_digest
from codegen.config import Config
from codegen.model import SourceFile

OUTPUTS_FILE = "outputs.json"

# A check compares at most this many edited files token by token; more edits re-plan.
MAX_TRIVIA_COMPARED = 50


def cached_outputs(sources: Sequence[SourceFile], config: Config) -> dict[str, str] | None:
    """The generated files of this tree if it was last seen in sync, or if it differs from such
    a tree only in comments and blank lines that cannot change the outputs (see trivia.py)."""
    if any(s.text is None for s in sources):
        return None
    record = read_record(cache_file(config, OUTPUTS_FILE)) or {}
    memo = record.get("memo")
    files = text_map(memo.get("files")) if isinstance(memo, dict) else None
    if not isinstance(memo, dict) or files is None:
        return None
    if record.get("key") == tree_key([(s.path, s.digest) for s in sources], config):
        return files
    before, copied, kept = memo.get("tree"), memo.get("copied"), memo.get("trivia")
    if memo.get("settings") != settings_key(config) or not (
        isinstance(before, dict) and isinstance(copied, list) and isinstance(kept, dict)
    ):
        return None  # another version's or a damaged memo: re-plan
    if set(before) != {s.path for s in sources}:
        return None  # a file came or went: its shim, keys and partners may all change
    edited = [s for s in sources if before[s.path] != s.digest]
    if len(edited) > MAX_TRIVIA_COMPARED:
        return None
    cache = open_facts_cache(config)
    for source in edited:
        compare = copied_text_digest if source.path in copied else code_digest
        old = kept.get(source.path)
        if not isinstance(old, str):
            facts = cache.get(str(before[source.path]), path=source.path)
            old = compare(facts.text) if facts is not None and facts.text is not None else None
        if old is None or old != compare(source.text or ""):
            return None
    return files


def remember_outputs(
    tree: Sequence[tuple[str, str]],
    config: Config,
    files: dict[str, str],
    copied: Sequence[str],
    *,
    rewritten: dict[str, str] | None = None,
) -> None:
    """Record that `tree` (path, digest pairs) has these outputs and its models are routed.
    `copied`: the files layers_common copies source text from (where any comment counts).
    `rewritten`: new text of the models this run rewrote, whose trivia digests are kept (the
    facts cache has no text for them)."""
    if not files:
        return
    kept = {
        path: (copied_text_digest if path in copied else code_digest)(text)
        for path, text in (rewritten or {}).items()
    }
    memo = {
        "files": files,
        "settings": settings_key(config),
        "tree": dict(tree),
        "copied": list(copied),
        "trivia": {path: digest for path, digest in kept.items() if digest is not None},
    }
    write_record(cache_file(config, OUTPUTS_FILE), tree_key(tree, config), "memo", memo)
