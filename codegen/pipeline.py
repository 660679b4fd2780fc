"""The glue: discover -> (cache | extract, in parallel) -> plan -> render and route; writes nothing.

`build()` is the one entry point for everything a run would produce; `scan()` is its first half.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

from codegen import diagnostics, names, parallel
from codegen.cache.applied import AppliedMemo
from codegen.cache.facts import FactsCache, open_facts_cache
from codegen.cache.rendered import CommonCache, RenderedCache
from codegen.cache.scores import ScoreCache
from codegen.config import Config
from codegen.gcpause import gc_paused
from codegen.model import Diagnostic, ModelEdit, ModuleFacts, Plan, SourceFile
from codegen.paths import package_of
from codegen.plan.fingerprint import fingerprint
from codegen.plan.linking import Project
from codegen.plan.planner import PlanOptions, make_plan, model_edits
from codegen.progress import Progress
from codegen.scan.discover import discover, shims_mentioned
from codegen.write import add_header

# libcst and jinja2 (extract, render, apply) are imported where they are used: a warm check on an
# unchanged tree needs neither, and every pre-commit run pays for imports.

Discovered = tuple[tuple[SourceFile, ...], tuple[Diagnostic, ...]]


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

    @property
    def tree(self) -> tuple[tuple[str, str], ...]:
        """(path, content digest) of every scanned file: what the output caches are keyed by."""
        return tuple((s.path, s.digest) for s in self.sources)


@dataclass(frozen=True)
class Outcome:
    """Everything a run would produce, in memory: nothing is written."""

    scan: Scan
    files: dict[str, str]  # every generated file (header included), by path in the output dir
    routed: dict[str, str]  # new text of each model file that apply would change, by abspath
    diagnostics: tuple[Diagnostic, ...]  # rendering and routing problems (the scan has its own)

    @property
    def plan(self) -> Plan:
        return self.scan.plan


def plan_options(config: Config) -> PlanOptions:
    """The subset of the configuration the planner reads."""
    return PlanOptions(
        build_function=config.build_function,
        output_package=output_package(config),
        line_length=config.line_length,
    )


def output_package(config: Config) -> str:
    """Dotted import path of the output dir (`generated`, `build/gen` -> `build.gen`)."""
    return package_of(config.output)


def build(
    config: Config,
    paths: Sequence[str] | None = None,
    *,
    scanned: Scan | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    with_generated: bool = True,
    with_models: bool = True,
) -> Outcome:
    """Scan (unless `scanned` is given), plan, render the outputs and route the models."""
    if scanned is None:
        scanned = scan(list(paths or config.paths), config, jobs=jobs, use_cache=use_cache)
    problems: list[Diagnostic] = []
    files: dict[str, str] = {}
    routed: dict[str, str] = {}
    if with_generated:
        files, render_problems = generated_files(scanned, config, use_cache=use_cache)
        problems.extend(render_problems)
    if with_models:
        routed, apply_problems = edited_models(scanned, config, use_cache=use_cache, jobs=jobs)
        problems.extend(apply_problems)
    return Outcome(scanned, files, routed, tuple(problems))


def scan(
    paths: Sequence[str],
    config: Config,
    *,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    discovered: Discovered | None = None,
) -> Scan:
    """Discover and extract every file (from cache when unchanged), then plan."""
    sources, discovery = discovered if discovered is not None else discover(paths, config)
    cache = open_facts_cache(config, use_cache)
    with gc_paused():  # facts, loaded or fresh, and the plan over them are all acyclic
        try:
            facts, fresh, workers = _gather_facts(
                sources, cache, config.jobs if jobs is None else jobs, progress
            )
            fresh |= _read_library_reexports(facts, sources, cache)
        finally:
            _forget_kept_trees()
        parsed = len(fresh)
        modules = sorted((facts[s.path] for s in sources), key=lambda m: m.path)
        options = plan_options(config)
        project = Project(modules, output_package=options.output_package)
        scores = ScoreCache(config, use_cache=use_cache)
        memo = scores.get()
        prints = fingerprint(modules, project=project, memo=memo)
        plan = make_plan(modules, options, prints=prints, project=project)
        scores.put(memo)
    diagnostics = tuple(discovery) + tuple(cache.warnings)
    stats = ScanStats(len(sources), parsed, len(sources) - parsed, workers)
    return Scan(plan, diagnostics, stats, tuple(sources))


def _read_library_reexports(
    facts: dict[str, ModuleFacts], sources: Sequence[SourceFile], cache: FactsCache
) -> set[str]:
    """Extract again, knowing them, the few modules that import a library name through another
    scanned module (`from kashgari.layers import L`, `L = keras.layers` there) or a Keras layer
    class another scanned module defines; the paths parsed. Cached by content and those names."""
    project = Project([facts[s.path] for s in sources])
    parsed: set[str] = set()
    for source in sources:
        if not facts[source.path].ok:
            continue
        imported = tuple(sorted(project.library_bindings(source.path).items()))
        classes = project.layer_classes(source.path)
        if not imported and not classes:
            continue
        key = hashlib.sha256(repr((source.digest, imported, classes)).encode()).hexdigest()
        hit = cache.get(key, path=source.path)
        if hit is None:
            from codegen.scan.extract import extract  # libcst: only when something needs it

            hit = extract(source, imported, classes)
            cache.put(key, hit, path=source.path)
            parsed.add(source.path)
        facts[source.path] = hit
    cache.flush()
    return parsed


def _forget_kept_trees() -> None:
    """Drop the trees the extractor kept for the re-exports pass, if it ran in this process
    (looked up, not imported: a scan answered from the cache never loads libcst)."""
    extract = sys.modules.get("codegen.scan.extract")
    if extract is not None:
        extract.forget_parsed()


def _unread(source: SourceFile) -> ModuleFacts:
    """What extract() makes of a file without text, without importing libcst for it."""
    return ModuleFacts(source.path, source.digest, (), (), (), source.diagnostics, False, "")


def _gather_facts(
    sources: Sequence[SourceFile],
    cache: FactsCache,
    jobs: int,
    progress: Progress | None,
) -> tuple[dict[str, ModuleFacts], set[str], int]:
    """Facts of every file, from the cache or extracted (in a pool for many files); the files
    parsed and the workers used. New facts go to the cache, failures included: a file
    that does not parse is parsed again only when its bytes change."""
    facts: dict[str, ModuleFacts] = {}
    pending: list[SourceFile] = []
    for source in sources:
        if source.text is None:
            facts[source.path] = _unread(source)
            continue
        hit = cache.get(source.digest, path=source.path)
        if hit is not None:
            facts[source.path] = hit
        else:
            pending.append(source)
    workers = parallel.resolve_jobs(jobs, len(pending))
    done = len(facts)
    if progress:
        progress(done, len(sources))
    if workers > 1 and len(pending) > 1:
        chunks = parallel.chunks_by_size(pending, workers)
        for chunk in parallel.map_as_done(parallel.extract_chunk, chunks, workers):
            for module in chunk:
                facts[module.path] = module
            done += len(chunk)
            if progress:
                progress(done, len(sources))
    elif pending:
        from codegen.scan.extract import extract  # libcst: only when something needs parsing

        for source in pending:
            facts[source.path] = extract(source)
            done += 1
            if progress and done % 25 == 0:
                progress(done, len(sources))
    for source in pending:
        cache.put(source.digest, facts[source.path], path=source.path)
    cache.flush()
    return facts, {source.path for source in pending}, workers


def warm_caches(
    scanned: Scan, written: dict[str, bytes], config: Config, *, jobs: int | None = None
) -> None:
    """Run the cached pipeline once over the tree as a write left it (`written`: the new bytes
    of the model files it routed, by path), so every cache holds that tree: the check after the
    next edit then parses the edited file only, and re-renders only what the edit changes."""
    from codegen.scan.discover import decode_source

    if not open_facts_cache(config).enabled:
        return  # nothing would be kept (a folder that is not ours): the run would be wasted
    sources = []
    for source in scanned.sources:
        data = written.get(source.path)
        if data is None:
            sources.append(source)
            continue
        text, problem = decode_source(data, source.path)
        digest = hashlib.sha256(data).hexdigest()
        sources.append(replace(source, text=text, digest=digest, diagnostics=_problems(problem)))
    discovered = (tuple(sources), scanned.diagnostics)
    after = scan([], config, jobs=jobs, use_cache=True, discovered=discovered)
    build(config, scanned=after, jobs=jobs, use_cache=True)


def _problems(problem: Diagnostic | None) -> tuple[Diagnostic, ...]:
    return () if problem is None else (problem,)


def generated_files(
    scan_result: Scan, config: Config, *, use_cache: bool = True
) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """Every generated file's full text (header included), by path relative to the output dir."""
    store = RenderedCache(config, scan_result.tree, use_cache=use_cache)
    cached = store.get()
    if cached is not None:
        return cached, ()
    from codegen.emit.render import shim_keys  # jinja2: only when something is rendered

    with gc_paused():  # rendering builds strings and small trees: nothing for the GC to find
        keys = shim_keys(
            scan_result.plan, collection=config.collection, scope_prefix=config.scope_prefix
        )
        # A shim whose inputs did not change since the last render is that render's text.
        kept = store.shims(keys) if use_cache else {}
        files, problems = _render_files(scan_result, config, keys, kept, use_cache=use_cache)
    if not problems:
        store.put(files, keys)
    return files, problems


def _render_files(
    scan_result: Scan,
    config: Config,
    shims: dict[str, str],
    kept: dict[str, str],
    *,
    use_cache: bool,
) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """Render and add headers (the uncached path). `shims`: every shim file, in render order;
    `kept`: the texts of those reused as they are."""
    from codegen.emit.render import RenderError, common_inputs, render, sources_line

    store = CommonCache(config, common_inputs(scan_result.plan), use_cache=use_cache)
    common = store.get()
    copies = store.copies() if common is None and use_cache else {}
    try:
        bodies = render(
            scan_result.plan,
            collection=config.collection,
            scope_prefix=config.scope_prefix,
            output=config.output,
            common=common,
            skip=kept,
            copies=copies,
        )
    except RenderError as error:
        return {}, (diagnostics.error(config.output, diagnostics.UNSAFE_NAME, str(error)),)
    if common is None:
        store.put(bodies[names.common_file()])
        store.put_copies(copies)
    everything = sources_line(scan_result.plan)
    # A shim derives from its own model alone; the shared modules from every scanned file.
    shim_sources = {names.shim_file(m.shim or m.name): m.path for m in scan_result.plan.models}
    files = {
        path: add_header(body, shim_sources.get(path, everything)) for path, body in bodies.items()
    }
    # The order of a render without reuse: the shared files, then every shim in plan order.
    ordered = {path: text for path, text in files.items() if path not in shims}
    ordered.update((path, kept[path] if path in kept else files[path]) for path in shims)
    return ordered, ()


def copied_sources(plan: Plan) -> list[str]:
    """Files whose source text layers_common copies (where even a comment changes the output)."""
    from codegen.emit.render import copied_sources as copied  # the rule lives with the copying

    return copied(plan)


def edited_models(
    scan_result: Scan, config: Config, *, use_cache: bool = True, jobs: int | None = None
) -> tuple[dict[str, str], tuple[Diagnostic, ...]]:
    """New text of every model file that `apply` would change, by absolute path."""
    changed: dict[str, str] = {}
    problems: list[Diagnostic] = []
    memo = AppliedMemo(config, use_cache)
    with gc_paused():  # edits and memo keys are small acyclic values, but there is one a file
        pending = _unapplied(scan_result, config, memo)
    if not pending:
        memo.save()
        return changed, ()
    from codegen.apply.rewrite import Applied, Failed  # libcst: only when some file must be applied

    work = [(source.text or "", edit) for source, edit, _ in pending]
    workers = parallel.resolve_jobs(config.jobs if jobs is None else jobs, len(work))
    if workers > 1 and len(work) > 1:
        results = parallel.map_in_order(parallel.apply_chunk, work, workers)
    else:
        results = parallel.apply_chunk(work)
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


def _unapplied(
    scan_result: Scan, config: Config, memo: AppliedMemo
) -> list[tuple[SourceFile, ModelEdit, str]]:
    """(file, edit, memo key) of every file apply must look at that the memo does not know."""
    pending: list[tuple[SourceFile, ModelEdit, str]] = []
    package = output_package(config)
    edits = {edit.path: edit for edit in model_edits(scan_result.plan, plan_options(config))}
    for source in scan_result.sources:
        if source.text is None:
            continue
        edit = edits.get(source.path)
        # A file that routes is looked at whatever it mentions: no text search for it.
        if edit is None or not edit.routes:
            # What a file routes decides, not what the plan says of it: every shim of ours a
            # file imports and the plan does not want is un-routed, also in files the plan
            # leaves alone.
            mentioned = shims_mentioned(source.text, package)
            edit = edit or _unrouting_edit(source.path, mentioned, package)
            if edit is None or not (mentioned or edit.shim_alias in source.text):
                continue  # nothing routed and nothing to unroute: no need to parse
        key = memo.key(source.digest, edit)
        if key not in memo.known:
            pending.append((source, edit, key))
    return pending


def _unrouting_edit(path: str, mentioned: Sequence[str], package: str) -> ModelEdit | None:
    """An edit that routes nothing, for a file the plan has no edit for but that mentions shims:
    apply then takes out every alias of ours it finds (None when it mentions none)."""
    if not mentioned:
        return None
    alias = mentioned[0]
    return ModelEdit(
        path=path,
        shim_module=f"{package}.{alias}",
        shim_alias=alias,
        shared_builders=(),
        common_module=names.common_module(package),
    )


def _digest_text(text: str, original: SourceFile) -> str:
    """sha256 of the bytes the writer will store for `text` (same encoding as the original)."""
    from codegen.write import encoded_bytes

    return hashlib.sha256(encoded_bytes(text, original.abspath)).hexdigest()
