"""The glue: discover -> (cache | extract, in parallel) -> plan -> render; nothing here writes."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from codegen import __version__, atomic, diagnostics, names, templates_dir
from codegen.cache import FactsCache
from codegen.config import Config
from codegen.discover import discover
from codegen.model import Diagnostic, ModelEdit, ModuleFacts, Plan, SourceFile
from codegen.plan import PlanOptions, make_plan, model_edits
from codegen.trivia import code_digest, copied_text_digest
from codegen.write import add_header

# libcst and jinja2 (extract, render, apply) are imported where they are used: a warm check on an
# unchanged tree needs neither, and every pre-commit run pays for imports.

# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 48


@dataclass(frozen=True)
class ScanStats:
    """How much work a scan did, for progress lines and benchmarks."""

    files: int
    parsed: int
    cached: int
    jobs: int


@dataclass(frozen=True)
class Scan:
    """A finished scan: its plan, the discovery problems and what it cost."""

    plan: Plan
    diagnostics: tuple[Diagnostic, ...]
    stats: ScanStats
    sources: tuple[SourceFile, ...]


def plan_options(config: Config) -> PlanOptions:
    """The subset of the configuration the planner reads."""
    return PlanOptions(build_function=config.build_function, output_package=output_package(config))


def output_package(config: Config) -> str:
    """Dotted import path of the output dir (`generated`, `build/gen` -> `build.gen`)."""
    return ".".join(
        part for part in Path(config.output).as_posix().split("/") if part not in ("", ".")
    )


@functools.cache
def _code_digest(modules: tuple[str, ...]) -> str:
    """sha256 of some of the tool's own modules; read once per process, they do not change."""
    digest = hashlib.sha256(__version__.encode())
    for module in modules:
        path = Path(__file__).parent / module
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]  # a package: all of it
        for file in files:
            digest.update(file.read_bytes())
    return digest.hexdigest()


def cache_salt(config: Config) -> str:
    """Anything that changes extracted facts invalidates the cache: the tool's own code included."""
    return _code_digest(("extract", "literals.py", "apis.py", "model.py"))[:16]


def open_cache(config: Config, enabled: bool = True) -> FactsCache:
    """The facts cache of this project, or a disabled one."""
    if not enabled or not config.cache_dir:
        return FactsCache(None, "")
    return FactsCache(Path(config.root) / config.cache_dir, cache_salt(config))


def _exit_with_parent(parent: int) -> None:
    """Pool worker initializer: when the parent is killed (SIGKILL), exit instead of lingering."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="codegen-parent-watch", daemon=True).start()


def _pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers never outlive this process."""
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_exit_with_parent, initargs=(os.getpid(),)
    )


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: syntax trees are acyclic, and its passes over millions of fresh nodes
    cost a tenth of a cold scan. Reference counting still frees each tree after its file."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _extract_all(sources: Sequence[SourceFile]) -> list[ModuleFacts]:
    """Worker entry point: extract a chunk of files in one process."""
    from codegen.extract import extract

    with gc_paused():
        return [extract(source) for source in sources]


def _chunks(items: Sequence[SourceFile], count: int) -> list[list[SourceFile]]:
    """Split work into about `count * 4` chunks balanced by text size."""
    buckets: list[list[SourceFile]] = [[] for _ in range(max(1, count * 4))]
    sizes = [0] * len(buckets)
    for item in sorted(items, key=lambda s: -len(s.text or "")):
        index = sizes.index(min(sizes))
        buckets[index].append(item)
        sizes[index] += len(item.text or "")
    return [bucket for bucket in buckets if bucket]


def resolve_jobs(requested: int, pending: int) -> int:
    """0 means automatic: every core for a large tree, one process for a small one."""
    if requested > 0:
        return requested
    return (os.cpu_count() or 1) if pending >= PARALLEL_THRESHOLD else 1


def scan(
    paths: Sequence[str],
    config: Config,
    *,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
    discovered: tuple[tuple[SourceFile, ...], tuple[Diagnostic, ...]] | None = None,
) -> Scan:
    """Discover and extract every file (from cache when unchanged), then plan."""
    sources, discovery = discovered if discovered is not None else discover(paths, config)
    cache = open_cache(config, use_cache)
    with gc_paused():  # facts, loaded or fresh, and the plan over them are all acyclic
        facts, parsed, workers = _gather_facts(
            sources, cache, config.jobs if jobs is None else jobs, progress
        )
        plan = make_plan([facts[s.path] for s in sources], plan_options(config))
    diagnostics = tuple(discovery) + tuple(cache.warnings)
    stats = ScanStats(len(sources), parsed, len(sources) - parsed, workers)
    return Scan(plan, diagnostics, stats, tuple(sources))


def _gather_facts(
    sources: Sequence[SourceFile],
    cache: FactsCache,
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, ModuleFacts], int, int]:
    """Facts of every file, from the cache or extracted (in a pool for many files); the number
    of files parsed and the workers used. New facts go to the cache."""
    from codegen.extract import extract

    facts: dict[str, ModuleFacts] = {}
    pending: list[SourceFile] = []
    for source in sources:
        hit = cache.get(source.digest, path=source.path) if source.text is not None else None
        if hit is not None:
            facts[source.path] = hit
        else:
            pending.append(source)
    workers = resolve_jobs(jobs, len(pending))
    done = len(facts)
    if progress:
        progress(done, len(sources))
    if workers > 1 and len(pending) > 1:
        with _pool(workers) as pool:
            for chunk in pool.map(_extract_all, _chunks(pending, workers)):
                for module in chunk:
                    facts[module.path] = module
                done += len(chunk)
                if progress:
                    progress(done, len(sources))
    else:
        for source in pending:
            facts[source.path] = extract(source)
            done += 1
            if progress and done % 25 == 0:
                progress(done, len(sources))
    for source in pending:
        module = facts[source.path]
        if module.ok:
            cache.put(source.digest, module, path=source.path)
    cache.flush()
    return facts, len(pending), workers


def settings_key(config: Config) -> str:
    """What the outputs depend on besides the model files: the settings and the tool's code."""
    digest = hashlib.sha256(cache_salt(config).encode() + template_digest().encode())
    digest.update(
        _code_digest(
            (
                "render.py",
                "canonical.py",
                "runtime/transfer.py",
                "plan.py",
                "fingerprint.py",
                "write.py",
                "apply.py",
            )
        ).encode()
    )
    settings = (config.collection, config.scope_prefix, config.output, config.build_function)
    digest.update(repr(settings).encode())
    return digest.hexdigest()


def tree_key(sources: Sequence[tuple[str, str]], config: Config) -> str:
    """What the outputs depend on: the inputs (path, digest), the settings, the tool's code."""
    digest = hashlib.sha256(settings_key(config).encode())
    for path, source_digest in sorted(sources):
        digest.update(f"{path}\0{source_digest}\n".encode())
    return digest.hexdigest()


def _replace_text(path: Path, text: str) -> None:
    """Atomically replace a small cache file; a failure only costs speed."""
    with contextlib.suppress(OSError):
        atomic.write_text(path, text)


def _write_json(path: Path | None, key: str, field: str, value: object) -> None:
    """Store `value` under `key` in a one-entry JSON cache file (when caching is on)."""
    if path is not None and path.parent.is_dir():
        _replace_text(path, json.dumps({"key": key, field: value}))


def _read_record(path: Path | None) -> dict | None:
    """The whole JSON record of a cache file, whatever its key (None: no cache, damaged)."""
    if path is None:
        return None
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cached if isinstance(cached, dict) else None


def _read_json(path: Path | None, key: str, field: str) -> object | None:
    """The value stored under exactly `key`, or None (no cache, another key, damaged file)."""
    cached = _read_record(path)
    if cached is None or cached.get("key") != key:
        return None
    return cached.get(field)


def _text_map(value: object) -> dict[str, str] | None:
    """`value` as {path: text} when it is one (a damaged cache file may hold anything)."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return None
    return dict(value)


def _cache_file(config: Config, name: str, *, use_cache: bool = True) -> Path | None:
    """A file in the project's cache folder, None when caching is off."""
    return Path(config.root) / config.cache_dir / name if use_cache and config.cache_dir else None


# A check compares at most this many edited files token by token; more edits re-plan.
MAX_TRIVIA_COMPARED = 50


def cached_outputs(sources: Sequence[SourceFile], config: Config) -> dict[str, str] | None:
    """The generated files of this tree if it was last seen in sync, or if it differs from such
    a tree only in comments and blank lines that cannot change the outputs (see trivia.py)."""
    if any(s.text is None for s in sources):
        return None
    record = _read_record(_cache_file(config, "outputs.json")) or {}
    memo = record.get("memo")
    files = _text_map(memo.get("files")) if isinstance(memo, dict) else None
    if memo is None or files is None:
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
    cache = open_cache(config)
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
    plan: Plan,
    *,
    rewritten: dict[str, str] | None = None,
) -> None:
    """Record that `tree` (path, digest pairs) has these outputs and its models are routed.
    `rewritten`: new text of the models this run rewrote, whose trivia digests are kept (the
    facts cache has no text for them)."""
    if not files:
        return
    from codegen.render import copied_sources  # loaded already: this run rendered

    copied = copied_sources(plan)
    kept = {
        path: (copied_text_digest if path in copied else code_digest)(text)
        for path, text in (rewritten or {}).items()
    }
    memo = {
        "files": files,
        "settings": settings_key(config),
        "tree": dict(tree),
        "copied": copied,
        "trivia": {path: digest for path, digest in kept.items() if digest is not None},
    }
    _write_json(_cache_file(config, "outputs.json"), tree_key(tree, config), "memo", memo)


def generated_files(
    scan_result: Scan, config: Config, *, use_cache: bool = True
) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """Every generated file's full text (header included), by path relative to the output dir."""
    store = _cache_file(config, "rendered.json", use_cache=use_cache)
    key = tree_key([(s.path, s.digest) for s in scan_result.sources], config) if store else ""
    cached = _text_map(_read_json(store, key, "files"))
    if cached is not None:
        return cached, ()
    with gc_paused():  # rendering builds strings and small trees: nothing for the GC to find
        files, problems = _render_files(scan_result, config, use_cache=use_cache)
    if not problems:
        _write_json(store, key, "files", files)
    return files, problems


def _render_files(
    scan_result: Scan, config: Config, *, use_cache: bool
) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """Render and add headers (the uncached path)."""
    from codegen.render import RenderError, common_inputs, render, sources_line

    # layers_common only changes with its canonical sources: reuse it when only other files moved.
    store = _cache_file(config, "common.json", use_cache=use_cache)
    key = tree_key([("common", p) for p in common_inputs(scan_result.plan)], config)
    cached = _read_json(store, key, "body")
    common = cached if isinstance(cached, str) else None
    try:
        bodies = render(
            scan_result.plan,
            collection=config.collection,
            scope_prefix=config.scope_prefix,
            output=config.output,
            common=common,
        )
    except RenderError as error:
        return {}, (diagnostics.error(config.output, diagnostics.UNSAFE_NAME, str(error)),)
    if common is None:
        _write_json(store, key, "body", bodies[names.common_file()])
    everything = sources_line(scan_result.plan)
    # A shim derives from its own model alone; the shared modules from every scanned file.
    shim_sources = {names.shim_file(m.name): m.path for m in scan_result.plan.models}
    return {
        path: add_header(body, shim_sources.get(path, everything)) for path, body in bodies.items()
    }, ()


@functools.cache
def template_digest() -> str:
    """Templates shape the output: part of every render-cache key."""
    digest = hashlib.sha256()
    for path in sorted(templates_dir().glob("*.jinja")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


class _InSyncMemo:
    """Remembers (digest, edit) pairs that apply left unchanged: a warm check parses nothing."""

    def __init__(self, config: Config, enabled: bool):
        self.path = (
            Path(config.root) / config.cache_dir / "applied.txt"
            if enabled and config.cache_dir
            else None
        )
        salt = hashlib.sha256((Path(__file__).parent / "apply.py").read_bytes()).hexdigest()[:16]
        self.salt = salt
        self.known: set[str] = set()
        self.dirty = False
        if self.path is not None:
            try:
                self.known = set(self.path.read_text(encoding="ascii").split())
            except (OSError, UnicodeDecodeError):
                self.known = set()

    def key(self, digest: str, edit: ModelEdit) -> str:
        return hashlib.sha256(f"{self.salt}{digest}{edit!r}".encode()).hexdigest()[:32]

    def add(self, key: str) -> None:
        if key not in self.known:
            self.known.add(key)
            self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty or not self.path.parent.is_dir():
            return
        _replace_text(self.path, "\n".join(sorted(self.known)) + "\n")


def _apply_all(work: Sequence[tuple[str, ModelEdit]]) -> list[object]:
    """Worker entry point: apply a chunk of edits in one process."""
    from codegen.apply import apply_edit  # libcst and its metadata: only when applying

    return [apply_edit(text, edit) for text, edit in work]


def edited_models(
    scan_result: Scan, config: Config, *, use_cache: bool = True, jobs: int | None = None
) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """New text of every model file that `apply` would change, by absolute path."""
    from codegen.apply import Applied, Failed

    changed: dict[str, str] = {}
    problems: list[Diagnostic] = []
    by_path = {s.path: s for s in scan_result.sources}
    memo = _InSyncMemo(config, use_cache)
    pending: list[tuple[SourceFile, ModelEdit, str]] = []
    for edit in model_edits(scan_result.plan, plan_options(config)):
        source = by_path.get(edit.path)
        if source is None or source.text is None:
            continue
        if not edit.shared_builders and edit.shim_alias not in source.text:
            continue  # nothing routed and nothing to unroute: no need to parse
        key = memo.key(source.digest, edit)
        if key not in memo.known:
            pending.append((source, edit, key))
    work = [(source.text or "", edit) for source, edit, _ in pending]
    workers = resolve_jobs(config.jobs if jobs is None else jobs, len(work))
    if workers > 1 and len(work) > 1:
        chunks = [work[i :: workers * 4] for i in range(workers * 4)]
        with _pool(workers) as pool:
            parts = list(pool.map(_apply_all, chunks))
        # Undo the round-robin split so results line up with `pending` again.
        results: list[object] = [None] * len(work)
        for offset, part in enumerate(parts):
            results[offset :: workers * 4] = part
    else:
        results = _apply_all(work)
    for (source, edit, key), result in zip(pending, results, strict=True):
        if isinstance(result, Applied):
            changed[source.abspath] = result.new_source
            # apply is idempotent: its output is in sync by construction, so the next check of
            # the rewritten file needs no parse.
            memo.add(memo.key(_digest_text(result.new_source, source), edit))
        elif isinstance(result, Failed):
            problems.extend(result.diagnostics)
        else:
            memo.add(key)
    memo.save()
    return changed, tuple(problems)


def _digest_text(text: str, original: SourceFile) -> str:
    """sha256 of the bytes the writer will store for `text` (same encoding as the original)."""
    from codegen.write import encoded_bytes

    return hashlib.sha256(encoded_bytes(text, original.abspath)).hexdigest()


def terminal_progress(stream: TextIO | None = None) -> Callable[[int, int], None] | None:
    """A one-line progress bar on a terminal; None (silence) when output is redirected."""
    stream = stream if stream is not None else sys.stderr  # the current one, not the one at import
    try:
        if not stream.isatty():
            return None
    except (ValueError, AttributeError):  # closed or not a real stream
        return None

    def show(done: int, total: int) -> None:
        if total < 50:
            return
        width = 30
        filled = int(width * done / total) if total else width
        stream.write(f"\rscanning [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show
