"""Benchmark `codegen` on a generated corpus: parse floor, jobs, warm check, peak RSS, pylint.

Every figure is a ratio against a baseline measured in the same run (the machine is shared).
Usage: python bench/bench_scan.py [--files 1000] [--quick] [--work DIR] [--keep]
Writes bench/results/scan.json; bench/run_all.py turns it into the results table.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results" / "scan.json"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import scoring  # noqa: E402

SEED = 0
# Set by main() to a folder inside the work folder (see env()).
USER_CACHE = Path(tempfile.gettempdir()) / "layershare-bench-user-cache"
PYLINT_ARGS = (
    "--disable=all",
    "--enable=duplicate-code",
    "--min-similarity-lines=6",
    "--recursive=y",  # the corpus folders have no __init__.py
    "--persistent=n",
    "--score=n",
)


RSS_GOAL = "net RSS(5000)/RSS(1000) <= 5.5"
WARM_ROWS = (
    "check_warm_unchanged_vs_cold_scan",
    "check_after_comment_edit_vs_cold_scan",
    "check_after_builder_edit_vs_cold_scan",
)
# Warm `scan --json` of an unchanged tree vs a cold one, in a tree with and without [tool.codegen].
WARM_SCAN_ROWS = {
    "configured": "scan_warm_unchanged_vs_cold_with_tool_codegen",
    "unconfigured": "scan_warm_unchanged_vs_cold_without_tool_codegen",
}
WARM_SCAN_GOAL = "ratio <= 0.10"
# Real code (issue 22, item 6): the trees of public repositories kept as test fixtures.
REAL_TREES = ("tests/realcode", "tests/realcode_imports")
REAL_ROWS = {
    "floor": "real_scan_vs_parse_floor",
    "warm": "real_scan_warm_unchanged_vs_cold",
}
SECTIONS = ("floor", "pylint", "warm_check", "warm_scan", "real", "memory")


class Timeout(Exception):
    """A measured command ran past its time limit."""


def env() -> dict[str, str]:
    """Subprocess environment: the repo importable, no bytecode surprises from the user's env."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), out.get("PYTHONPATH", "")) if p)
    out.pop("CODEGEN_DEBUG", None)
    # A tree without [tool.codegen] caches in the user's cache folder: the bench's own, not theirs.
    out["LAYERSHARE_CACHE_DIR"] = str(USER_CACHE)
    # Users run with cached bytecode; without it every subprocess would recompile the tool.
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def run_timed(
    args: Sequence[str], cwd: Path, timeout: float, stdout: Any = subprocess.DEVNULL
) -> tuple[float, int]:
    """(wall seconds, exit code) of one subprocess; raises Timeout past `timeout`."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            list(args),
            cwd=cwd,
            env=env(),
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise Timeout(f"{' '.join(args[1:4])}... exceeded {timeout:.0f} s") from error
    return time.perf_counter() - start, done.returncode


def codegen(*args: str) -> list[str]:
    return [sys.executable, "-m", "codegen", *args]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def row(
    name: str,
    value: Any,
    baseline: Any,
    ratio: float | None,
    goal: str,
    met: bool | None,
    unit: str = "",
    note: str = "",
) -> dict[str, Any]:
    """One results-table row (the same shape bench_transfer.py writes)."""
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": None if ratio is None else round(ratio, 4),
        "goal": goal,
        "met": met,
        "note": note,
    }


def skipped(name: str, goal: str, reason: str) -> dict[str, Any]:
    """A row that could not be measured: a goal it carries counts as not met."""
    return row(
        name, None, None, None, goal, None if goal.startswith("report") else False, note=reason
    )


def ensure_corpus(folder: Path, files: int, real_shapes: float = 0.0) -> dict[str, Any]:
    """Generate the corpus once per (files, seed, shapes); reuse it when the manifest matches."""
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if (
            manifest.get("files") == files
            and manifest.get("seed") == SEED
            and manifest.get("real_shapes", 0.0) == real_shapes
        ):
            return manifest
    folder.mkdir(parents=True, exist_ok=True)
    return corpus.write_corpus(folder, files, SEED, real_shapes)


def corpus_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in (folder / "models").rglob("*.py"))


# -- child processes: "same process" measurements, isolated so a slow tool can be timed out ----


def child_floor(folder: str, repeats: int, parse_only: bool = False) -> dict[str, Any]:
    """Cold scan (jobs 1 and 2) against a plain libcst.parse_module loop, alternating order."""
    os.chdir(folder)
    import libcst

    from codegen import pipeline
    from codegen.config import Config

    config = Config(root=folder)
    paths = sorted(Path("models").rglob("*.py"))
    size = sum(p.stat().st_size for p in paths)

    def parse() -> None:
        for path in paths:  # reading is part of both sides: the scan reads the files too
            libcst.parse_module(path.read_text(encoding="utf-8"))

    try:  # the scan's own parse: libcst's minus re-validating lexical nodes
        from codegen.scan.extract import parse_module as own_parse_module
    except ImportError:  # an older codegen: its parse is libcst's
        own_parse_module = libcst.parse_module

    def own_parse() -> None:
        for path in paths:
            own_parse_module(path.read_text(encoding="utf-8"))

    stats: dict[str, Any] = {}

    def scan(jobs: int) -> Callable[[], None]:
        def run() -> None:
            result = pipeline.scan(["models"], config, jobs=jobs, use_cache=False)
            stats[f"jobs{jobs}"] = {
                "files": result.stats.files,
                "parsed": result.stats.parsed,
                "workers": result.stats.jobs,
            }

        return run

    # Warm imports and libcst's parser on a few files before anything is timed.
    for path in paths[:10]:
        libcst.parse_module(path.read_text(encoding="utf-8"))
    pipeline.scan([str(p) for p in paths[:10]], config, jobs=1, use_cache=False)

    steps = {"parse": parse, "own_parse": own_parse, "scan_jobs1": scan(1), "scan_jobs2": scan(2)}
    if parse_only:  # the tool cannot finish a scan in time: measure the floor alone
        steps = {"parse": parse}
    order = list(steps)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for repeat in range(repeats):
        rotated = order[repeat % len(order) :] + order[: repeat % len(order)]
        for name in rotated:
            gc.collect()
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    result: dict[str, Any] = {"files": len(paths), "bytes": size, "times": times, "stats": stats}
    if not parse_only:
        result["breakdown"] = breakdown(config)
    return result


def child_real_floor(folder: str, repeats: int) -> dict[str, Any]:
    """Cold scan (jobs 1) of a real tree against libcst.parse_module of the files it scans."""
    os.chdir(folder)
    import libcst

    from codegen import pipeline
    from codegen.config import Config
    from codegen.scan.discover import discover

    config = Config(root=folder, cache_dir="")
    sources, _ = discover(["."], config)
    paths = [Path(source.abspath) for source in sources if source.text is not None]
    size = sum(p.stat().st_size for p in paths)

    def parse() -> None:
        for path in paths:
            libcst.parse_module(path.read_text(encoding="utf-8"))

    def scan() -> None:
        pipeline.scan(["."], config, jobs=1, use_cache=False)

    scan()  # warm imports before anything is timed
    steps = {"parse": parse, "scan_jobs1": scan}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for repeat in range(repeats):
        order = list(steps) if repeat % 2 == 0 else list(steps)[::-1]
        for name in order:
            gc.collect()
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    return {"files": len(paths), "bytes": size, "times": times}


def subset(count: int) -> list[str]:
    """The first `count` files of the corpus (cwd) in path order: a smaller scan of its kind."""
    return [p.as_posix() for p in sorted(Path("models").rglob("*.py"))[:count]]


def child_scaling(folder: str, sizes: Sequence[int]) -> dict[str, Any]:
    """Stage times of one cold scan of growing subsets: shows which stage grows faster than N."""
    os.chdir(folder)
    from codegen.config import Config

    config = Config(root=folder)
    return {"scaling": [{"files": n, **breakdown(config, subset(n))} for n in sizes]}


def breakdown(config: Any, paths: Sequence[str] = ("models",)) -> dict[str, Any]:
    """Seconds in discover, extract (parse + walk) and plan for one cold single-process scan."""
    try:
        from codegen import pipeline
        from codegen.plan.planner import make_plan
        from codegen.scan.discover import discover
        from codegen.scan.extract import extract

        start = time.perf_counter()
        sources, _ = discover(list(paths), config)
        discovered = time.perf_counter()
        facts = [extract(source) for source in sources]
        extracted = time.perf_counter()
        make_plan(facts, pipeline.plan_options(config))
        planned = time.perf_counter()
    except Exception as error:  # the tool's internals may move; the benchmark must not break
        return {"unavailable": f"{type(error).__name__}: {error}"}
    return {
        "discover_s": round(discovered - start, 4),
        "extract_s": round(extracted - discovered, 4),
        "plan_s": round(planned - extracted, 4),
    }


def profile_scan(
    config: Any, paths: Sequence[str] = ("models",), top: int = 20
) -> list[dict[str, Any]]:
    """The functions that dominate one cold single-process scan (cProfile)."""
    import cProfile
    import pstats

    from codegen import pipeline

    profiler = cProfile.Profile()
    profiler.enable()
    pipeline.scan(list(paths), config, jobs=1, use_cache=False)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({function})",
                "calls": calls,
                "own_s": round(own, 4),
                "cumulative_s": round(cumulative, 4),
            }
        )
    by_cumulative = sorted(rows, key=lambda r: -r["cumulative_s"])
    by_own = sorted(rows, key=lambda r: -r["own_s"])
    return [{"by": "cumulative", **r} for r in by_cumulative[:top]] + [
        {"by": "own", **r} for r in by_own[:top]
    ]


def _short(filename: str) -> str:
    for marker in ("/codegen/", "/libcst/", "/lib/python"):
        if marker in filename:
            return filename[filename.index(marker) + 1 :]
    return filename


def child_rss(folder: str) -> dict[str, Any]:
    """Peak RSS of one cold `codegen scan --no-cache --jobs 1 models` in this process."""
    import resource

    os.chdir(folder)
    from codegen import cli

    start = time.perf_counter()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        code = cli.main(["scan", "--no-cache", "--jobs", "1", "models"])
    seconds = time.perf_counter() - start
    return {"rc": code, "seconds": seconds, "maxrss_kb": peak_rss_kb(resource)}


def peak_rss_kb(resource: Any) -> int:
    """This process's peak RSS in KB."""
    # ru_maxrss survives exec on Linux (a child starts at its parent's peak); VmHWM does not.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run_child(kind: str, folder: Path, timeout: float, *extra: str) -> dict[str, Any]:
    """Run one child measurement and return its JSON."""
    args = [sys.executable, __file__, "--child", kind, str(folder), *extra]
    try:
        done = subprocess.run(
            args, env=env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise Timeout(f"{kind} measurement exceeded {timeout:.0f} s") from error
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- sections -----------------------------------------------------------------------------------


class Bench:
    """Runs the sections and collects rows; a timed-out section is reported, not fatal."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args = args
        self.work = work
        self.quick = args.quick
        self.files = args.files
        self.repeats = args.repeats or (2 if self.quick else 3)
        self.rows: list[dict[str, Any]] = []
        self.details: dict[str, Any] = {}
        self.too_slow = ""  # set when a cold scan cannot finish in time: later sections skip
        self.slow_limit = 0.0  # the time limit that scan ran past
        self.scale = max(1.0, self.files / 1000)
        self.deadline = time.perf_counter() + args.budget
        shapes = f"-real{args.real_shapes:g}" if args.real_shapes else ""
        self.corpus = work / f"corpus-{self.files}{shapes}"

    def log(self, message: str) -> None:
        print(f"[bench_scan {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def limit(self, seconds: float) -> float:
        """A section's time limit, cut to what is left of the run's budget."""
        left = self.deadline - time.perf_counter()
        if left < 20:
            raise Timeout(f"time budget of {self.args.budget:.0f} s used up")
        return min(seconds * self.scale, left)

    def run(self) -> dict[str, Any]:
        self.log(f"corpus: {self.files} files, seed {SEED}, in {self.corpus}")
        start = time.perf_counter()
        self.manifest = ensure_corpus(self.corpus, self.files, self.args.real_shapes)
        self.details["corpus"] = {
            "files": self.manifest["files"],
            "model_files": self.manifest["model_files"],
            "utility_files": self.manifest["utility_files"],
            "bytes": corpus_bytes(self.corpus),
            "seed": SEED,
            "generate_s": round(time.perf_counter() - start, 2),
            "planted": {
                k: len(self.manifest[k])
                for k in ("clone_groups", "renamed_pairs", "exact_pairs", "near_miss_pairs")
            },
        }
        subprocess.run(
            [sys.executable, "-c", "import codegen.cli, codegen.commands, codegen.pipeline"],
            env=env(),
            check=True,
        )  # compile the tool's bytecode before timing it
        self.probe()
        for section, expected in (
            (
                self.floor,
                (
                    ("scan_vs_parse_floor", "ratio >= 0.85"),
                    ("scan_vs_own_parse", "report"),
                    ("scan_jobs2_vs_jobs1", "report"),
                ),
            ),
            (
                self.pylint,
                (
                    ("pylint_vs_codegen_scan_jobs1", "ratio >= 3"),
                    ("pylint_vs_codegen_scan_default_jobs", "ratio >= 3"),
                ),
            ),
            (self.warm_check, tuple((name, "ratio <= 0.05") for name in WARM_ROWS)),
            (self.warm_scan, tuple((name, WARM_SCAN_GOAL) for name in WARM_SCAN_ROWS.values())),
            (
                self.real,
                (
                    (REAL_ROWS["floor"], "ratio >= 0.85"),
                    (REAL_ROWS["warm"], WARM_SCAN_GOAL),
                ),
            ),
            (
                self.memory,
                (
                    (f"peak_rss_cold_scan_{1000 if not self.quick else self.files}", "report"),
                    *([] if self.quick else [("peak_rss_cold_scan_5000", RSS_GOAL)]),
                ),
            ),
        ):
            if section.__name__ not in self.args.sections:
                continue
            try:
                section()
            except Timeout as error:
                self.log(f"{section.__name__}: {error}")
                self.too_slow = self.too_slow or str(error)
                present = {r["name"] for r in self.rows}
                self.rows += [
                    skipped(name, goal, str(error))
                    for name, goal in expected
                    if name not in present
                ]
        return {
            "rows": self.rows,
            "details": self.details,
            "config": {
                "quick": self.quick,
                "files": self.files,
                "repeats": self.repeats,
                "seed": SEED,
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
            },
        }

    # 0. can the tool scan this corpus in reasonable time at all?
    def probe(self) -> None:
        """One cold subprocess scan; if it cannot finish, later sections report bounds instead."""
        self.probe_limit = self.limit(90 if self.quick else 240)
        self.log(f"probe: one cold `codegen scan --jobs 1` (limit {self.probe_limit:.0f} s)")
        try:
            seconds, code = run_timed(
                codegen("scan", "--no-cache", "--jobs", "1", "models"),
                self.corpus,
                self.probe_limit,
            )
        except Timeout:
            self.too_slow = (
                f"a cold `codegen scan --jobs 1` of {self.files} files did not finish "
                f"in {self.probe_limit:.0f} s"
            )
            self.slow_limit = self.probe_limit
            self.details["probe"] = {"finished": False, "limit_s": self.probe_limit}
            self.log(self.too_slow)
            self.scaling()
            return
        self.details["probe"] = {"finished": True, "seconds": round(seconds, 3), "rc": code}

    def scaling(self) -> None:
        """Stage times on growing subsets and a profile of the largest: what to optimise."""
        sizes = [n for n in (50, 100, 150) if n < self.files] or [self.files]
        try:
            result = run_child("scaling", self.corpus, self.limit(180), *map(str, sizes))
        except (Timeout, RuntimeError) as error:
            self.details["scaling"] = f"unavailable: {error}"
            return
        steps = result["scaling"]
        self.details["scaling"] = steps
        first, last = steps[0], steps[-1]
        if "plan_s" in first and "plan_s" in last and len(steps) > 1 and first["plan_s"] > 0:
            import math

            exponent = math.log(last["plan_s"] / first["plan_s"]) / math.log(
                last["files"] / first["files"]
            )
            extract_exponent = math.log(last["extract_s"] / first["extract_s"]) / math.log(
                last["files"] / first["files"]
            )
            self.rows.append(
                row(
                    "plan_time_growth_exponent",
                    round(last["plan_s"], 3),
                    round(first["plan_s"], 3),
                    exponent,
                    "report (1.0 = linear in files)",
                    None,
                    "s",
                    f"plan stage on the first {first['files']} vs {last['files']} files of the "
                    f"corpus; extract grows with exponent {extract_exponent:.2f} "
                    f"({first['extract_s']:.2f} s -> {last['extract_s']:.2f} s)",
                )
            )
        try:
            profiled = run_child("profile", self.corpus, self.limit(180), str(sizes[-1]))
            self.details["profile"] = profiled["profile"]
            self.details["profile_files"] = profiled["files"]
        except (Timeout, RuntimeError) as error:
            self.details["profile"] = f"unavailable: {error}"

    # 1. cold scan against the parse floor, and jobs 2 against jobs 1
    def floor(self) -> None:
        if self.too_slow:
            self.floor_bound()
            return
        self.log("scan vs parse floor (in one process, alternating order)")
        result = run_child(
            "floor", self.corpus, self.limit(150 if self.quick else 420), str(self.repeats)
        )
        self.details["floor"] = result
        times = result["times"]
        megabytes = result["bytes"] / 1e6
        parse_s, scan1_s, scan2_s = (
            median(times[k]) for k in ("parse", "scan_jobs1", "scan_jobs2")
        )
        ratio = parse_s / scan1_s
        breakdown = result.get("breakdown")
        note = f"median of {self.repeats}; {result['files']} files, {megabytes:.1f} MB"
        if isinstance(breakdown, dict):
            note += (
                f"; one scan: discover {breakdown['discover_s']:.2f} s,"
                f" extract {breakdown['extract_s']:.2f} s,"
                f" plan {breakdown['plan_s']:.2f} s"
            )
        self.rows.append(
            row(
                "scan_vs_parse_floor",
                round(megabytes / scan1_s, 3),
                round(megabytes / parse_s, 3),
                ratio,
                "ratio >= 0.85",
                ratio >= 0.85,
                "MB/s",
                note,
            )
        )
        if "own_parse" in times:
            own_s = median(times["own_parse"])
            self.rows.append(
                row(
                    "scan_vs_own_parse",
                    round(megabytes / scan1_s, 3),
                    round(megabytes / own_s, 3),
                    own_s / scan1_s,
                    "report (what the walk and plan cost)",
                    None,
                    "MB/s",
                    "the scan's own parse (lexical nodes not re-validated) is the baseline;"
                    f" it took {own_s / parse_s:.2f} of libcst.parse_module's time",
                )
            )
        self.rows.append(
            row(
                "scan_jobs2_vs_jobs1",
                round(scan2_s, 3),
                round(scan1_s, 3),
                scan1_s / scan2_s,
                "report (speed-up; 2 shared cores)",
                None,
                "s",
                "cold, no cache, same process; ratio = jobs1 time / jobs2 time",
            )
        )
        if ratio < 0.85 and not self.quick:
            self.log("below the floor goal: profiling one scan")
            try:
                profiled = run_child("profile", self.corpus, self.limit(300))
                self.details["profile"] = profiled["profile"]
                self.details["profile_files"] = profiled["files"]
            except (Timeout, RuntimeError) as error:
                self.details["profile"] = f"unavailable: {error}"

    def floor_bound(self) -> None:
        """The parse floor alone, and the most the scan's throughput can be given its timeout."""
        self.log("parse floor only (the scan did not finish)")
        result = run_child("floor", self.corpus, self.limit(300), str(self.repeats), "parse-only")
        self.details["floor"] = result
        megabytes = result["bytes"] / 1e6
        parse_s = median(result["times"]["parse"])
        bound = megabytes / self.slow_limit
        self.rows.append(
            row(
                "scan_vs_parse_floor",
                f"< {bound:.3g} MB/s",
                round(megabytes / parse_s, 3),
                None,
                "ratio >= 0.85",
                False,
                "MB/s",
                f"ratio < {bound / (megabytes / parse_s):.3g}: {self.too_slow}; "
                "parse floor: median "
                f"of {self.repeats}, {result['files']} files, {megabytes:.1f} MB",
            )
        )
        self.rows.append(skipped("scan_jobs2_vs_jobs1", "report", f"skipped: {self.too_slow}"))

    # 2. warm check against cold scan, unchanged and after one edit
    def warm_check(self) -> None:
        names = WARM_ROWS
        if self.too_slow:
            self.interpreter_rows()
            raise Timeout(f"skipped: {self.too_slow}")
        self.log("warm check vs cold scan")
        tree = self.work / f"check-{self.files}"
        if tree.exists():
            shutil.rmtree(tree)
        shutil.copytree(self.corpus / "models", tree / "models")
        # A project root, so the cache is the project's own .codegen_cache.
        (tree / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
        step = 120 if self.quick else 300  # each command's limit, cut to what is left of the budget
        self.interpreter_rows()
        sync_s, sync_rc = run_timed(codegen("sync", "models"), tree, self.limit(step))
        _, check_rc = run_timed(codegen("check", "models"), tree, self.limit(step))
        self.details["sync"] = {
            "seconds": round(sync_s, 3),
            "rc": sync_rc,
            "check_after_sync_rc": check_rc,
            "generated_files": sum(1 for _ in (tree / "generated").glob("*.py")),
        }
        target, function = self.edit_target(tree)
        original = target.read_text(encoding="utf-8")
        cold: list[float] = []
        times: dict[str, list[float]] = {"warm": [], "comment": [], "builder": [], "reverted": []}
        rcs: dict[str, list[int]] = {name: [] for name in times}

        def check(kind: str) -> None:
            seconds, code = run_timed(codegen("check", "models"), tree, self.limit(step))
            times[kind].append(seconds)
            rcs[kind].append(code)

        cold_cmd = codegen("scan", "--no-cache", "--jobs", "1", "models")
        try:
            # The unchanged tree first: an edit, even reverted, may cost the tool its warm state.
            for _ in range(self.repeats):
                cold.append(run_timed(cold_cmd, tree, self.limit(step))[0])
                check("warm")
            for repeat in range(self.repeats):
                target.write_text(original + f"\n# benchmark edit {repeat}\n", encoding="utf-8")
                check("comment")
                target.write_text(original, encoding="utf-8")
            for repeat in range(self.repeats):
                target.write_text(self.number_edit(original, repeat, function), encoding="utf-8")
                check("builder")
                target.write_text(original, encoding="utf-8")
            check("reverted")
        finally:
            target.write_text(original, encoding="utf-8")
        cold_s = median(cold)
        self.details["warm_check"] = {
            "target": f"{target.relative_to(tree)}::{function}",
            "cold_scan_s": cold,
            **{f"{kind}_s": series for kind, series in times.items()},
            "exit_codes": rcs,
        }
        warm, comment, builder = times["warm"], times["comment"], times["builder"]
        start_s = self.interpreter_rows()
        labels = (
            (
                names[0],
                warm,
                "unchanged tree after one sync (once every edit below was reverted: "
                f"{times['reverted'][0]:.2f} s)",
                rcs["warm"],
                0,
            ),
            (
                names[1],
                comment,
                "one model file (the one layers_common copies the embedding from) gained a comment "
                "at its end: only its tokens are compared, nothing is re-planned",
                rcs["comment"],
                0,
            ),
            (
                names[2],
                builder,
                "one builder's stddev changed (a near-miss now): check must fail; the edited "
                "file is re-parsed and re-applied, the whole tree re-planned from cached facts "
                "(sync cached the routed models'), unchanged shims and layers_common copies "
                "reused",
                rcs["builder"],
                1,
            ),
        )
        for name, series, what, codes, expected in labels:
            value = median(series)
            ratio = value / cold_s
            wrong = [code for code in codes if code != expected]
            note = (
                f"{what}; exit codes {sorted(set(codes))}"
                + (f" (expected {expected}: the check did not do what is timed)" if wrong else "")
                + "; subprocess times include interpreter start "
                f"({start_s:.2f} s); without it: {(value - start_s) / (cold_s - start_s):.3f}"
            )
            self.rows.append(
                row(
                    name,
                    round(value, 3),
                    round(cold_s, 3),
                    ratio,
                    "ratio <= 0.05",
                    ratio <= 0.05 and not wrong,
                    "s",
                    note,
                )
            )

    # 2b. warm scan of an unchanged tree against a cold one, with and without [tool.codegen]
    def warm_scan(self) -> None:
        if self.too_slow:
            raise Timeout(f"skipped: {self.too_slow}")
        step = 120 if self.quick else 300
        start_s = self.interpreter_rows()
        for kind, name in WARM_SCAN_ROWS.items():
            self.log(f"warm scan of an unchanged tree vs cold scan ({kind})")
            tree = self.work / f"scan-{kind}-{self.files}"
            if tree.exists():
                shutil.rmtree(tree)
            shutil.copytree(self.corpus / "models", tree / "models")
            if kind == "configured":
                (tree / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
            command = codegen("scan", "--json", "models")
            first_s, first_rc = run_timed(command, tree, self.limit(step))  # fills the cache
            cold: list[float] = []
            warm: list[float] = []
            codes: set[int] = {first_rc}
            for repeat in range(self.repeats):
                order = [("cold", "--no-cache"), ("warm", "")]
                for label, flag in order if repeat % 2 == 0 else order[::-1]:
                    args = codegen("scan", "--json", *([flag] if flag else []), "models")
                    seconds, code = run_timed(args, tree, self.limit(step))
                    (cold if label == "cold" else warm).append(seconds)
                    codes.add(code)
            cold_s, warm_s = median(cold), median(warm)
            ratio = warm_s / cold_s
            in_tree = sorted(p.name for p in tree.iterdir())
            self.details[f"warm_scan_{kind}"] = {
                "first_s": round(first_s, 3),
                "cold_s": cold,
                "warm_s": warm,
                "exit_codes": sorted(codes),
                "tree_after": in_tree,
            }
            where = (
                "cache in .codegen_cache"
                if kind == "configured"
                else "no pyproject.toml: cache in the user cache folder; the tree holds "
                + ", ".join(in_tree)
            )
            note = (
                f"`scan --json models`, default jobs, median of {self.repeats}, alternating "
                f"with `--no-cache` (the baseline); {where}; the first scan, which fills the "
                f"cache, took {first_s:.2f} s; exit codes {sorted(codes)}; subprocess times "
                f"include interpreter start ({start_s:.2f} s); without it: "
                f"{(warm_s - start_s) / (cold_s - start_s):.3f}"
            )
            self.rows.append(
                row(
                    name,
                    round(warm_s, 3),
                    round(cold_s, 3),
                    ratio,
                    WARM_SCAN_GOAL,
                    ratio <= 0.10,
                    "s",
                    note,
                )
            )

    # 2c. real code: cold scan vs the parse floor, warm scan vs cold
    def real(self) -> None:
        tree = self.work / "real"
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir()
        for source in REAL_TREES:  # one tree, no pyproject.toml: the user cache folder applies
            shutil.copytree(REPO / source, tree / Path(source).name)
        self.log(f"real code ({', '.join(REAL_TREES)}): scan vs parse floor")
        repeats = max(5, self.repeats)
        result = run_child("real-floor", tree, self.limit(120), str(repeats))
        parse_s, scan_s = median(result["times"]["parse"]), median(result["times"]["scan_jobs1"])
        megabytes = result["bytes"] / 1e6
        ratio = parse_s / scan_s
        self.details["real_floor"] = result
        self.rows.append(
            row(
                REAL_ROWS["floor"],
                round(megabytes / scan_s, 3),
                round(megabytes / parse_s, 3),
                ratio,
                "ratio >= 0.85",
                ratio >= 0.85,
                "MB/s",
                f"{' + '.join(REAL_TREES)} as one tree: {result['files']} files, "
                f"{result['bytes'] / 1e3:.0f} KB; in-process scan --jobs 1 vs libcst.parse_module "
                f"of the same files, median of {repeats}, alternating",
            )
        )
        self.log("real code: warm scan of the unchanged tree vs cold")
        start_s = self.interpreter_rows()
        first_s, _ = run_timed(codegen("scan", "--json", "."), tree, self.limit(60))
        cold: list[float] = []
        warm: list[float] = []
        for repeat in range(repeats):
            order = [("cold", "--no-cache"), ("warm", "")]
            for label, flag in order if repeat % 2 == 0 else order[::-1]:
                args = codegen("scan", "--json", *([flag] if flag else []), ".")
                (cold if label == "cold" else warm).append(run_timed(args, tree, self.limit(60))[0])
        cold_s, warm_s = median(cold), median(warm)
        self.details["real_warm"] = {"first_s": first_s, "cold_s": cold, "warm_s": warm}
        self.rows.append(
            row(
                REAL_ROWS["warm"],
                round(warm_s, 3),
                round(cold_s, 3),
                warm_s / cold_s,
                WARM_SCAN_GOAL,
                warm_s / cold_s <= 0.10,
                "s",
                f"`scan --json .` subprocesses, no pyproject.toml (user cache folder), median of "
                f"{repeats}, alternating with `--no-cache`; both include interpreter start "
                f"({start_s:.2f} s): on a tree this small it is most of the cold scan, so the "
                f"ratio without it is {(warm_s - start_s) / (cold_s - start_s):.3f}",
            )
        )

    def interpreter_rows(self) -> float:
        """Interpreter start plus `import codegen.cli`, against a bare `python -c pass`."""
        if "interpreter" in self.details:
            return float(self.details["interpreter"]["import_codegen_cli_s"])
        bare, cli = [], []
        for _ in range(5):
            bare.append(run_timed([sys.executable, "-c", "pass"], REPO, 60)[0])
            cli.append(run_timed([sys.executable, "-c", "import codegen.cli"], self.work, 60)[0])
        bare_s, cli_s = median(bare), median(cli)
        self.details["interpreter"] = {"python_pass_s": bare, "import_codegen_cli_s": cli_s}
        self.rows.append(
            row(
                "interpreter_start_import_codegen_cli",
                round(cli_s, 3),
                round(bare_s, 3),
                cli_s / bare_s,
                "report (part of every subprocess time)",
                None,
                "s",
                "value: python -c 'import codegen.cli'; baseline: python -c pass",
            )
        )
        return cli_s

    def edit_target(self, tree: Path) -> tuple[Path, str]:
        """A model file whose embedding is the shared base copy, so an edit there matters, and
        the name of that embedding builder."""
        base = {
            b["path"]: b["qualname"]
            for b in self.manifest["builders"]
            if b["family"] == "embed" and b["variant"] == 0
        }
        for model in self.manifest["models"]:
            if model["path"] in base and model["depth"] >= 2:
                return tree / model["path"], base[model["path"]]
        return tree / self.manifest["models"][0]["path"], ""

    @staticmethod
    def number_edit(text: str, repeat: int, function: str = "") -> str:
        """Change the first stddev literal of `function` (else of the file) to a new value each
        time (never one seen before)."""
        start = text.find(f"def {function}(") if function else -1
        match = re.compile(r"stddev=(\d+\.\d+)").search(text, max(start, 0))
        if match is None:
            return text.replace("VOCAB_SIZE = ", f"VOCAB_SIZE = 1{repeat}", 1)
        return text[: match.start(1)] + f"{match.group(1)}{repeat + 1}" + text[match.end(1) :]

    # 3. peak memory of the cold scan at N and 5N files
    def memory(self) -> None:
        goal = RSS_GOAL
        if self.too_slow:
            raise Timeout(f"skipped: {self.too_slow}")
        self.log("peak RSS of the cold scan")
        empty = self.work / "corpus-empty"
        (empty / "models").mkdir(parents=True, exist_ok=True)
        base = run_child("rss", empty, self.limit(120))
        small_folder = self.corpus if self.files == 1000 else self.work / "corpus-1000"
        small_files = 1000 if not self.quick else self.files
        if self.quick:
            small_folder = self.corpus
        else:
            ensure_corpus(small_folder, 1000)
        small = run_child("rss", small_folder, self.limit(200))
        base_mb, small_mb = base["maxrss_kb"] / 1024, small["maxrss_kb"] / 1024
        per_1000 = (small_mb - base_mb) * 1000 / small_files
        self.details["memory"] = {"empty": base, str(small_files): small}
        self.rows.append(
            row(
                f"peak_rss_cold_scan_{small_files}",
                round(small_mb, 1),
                round(base_mb, 1),
                round(per_1000, 2),
                "report (ratio = net MB per 1000 files)",
                None,
                "MB",
                "jobs 1, no cache; baseline: scan of an empty folder; "
                f"scan took {small['seconds']:.1f} s",
            )
        )
        if self.quick:
            return
        large_folder = self.work / "corpus-5000"
        self.log("generating the 5000-file corpus")
        ensure_corpus(large_folder, 5000)
        large = run_child("rss", large_folder, self.limit(600))
        large_mb = large["maxrss_kb"] / 1024
        growth = (large_mb - base_mb) / (small_mb - base_mb)
        self.details["memory"]["5000"] = large
        self.rows.append(
            row(
                "peak_rss_cold_scan_5000",
                round(large_mb, 1),
                round(small_mb, 1),
                growth,
                goal,
                growth <= 5.5,
                "MB",
                f"ratio = (RSS5000 - empty) / (RSS1000 - empty); linear growth is 5.0; "
                f"scan took {large['seconds']:.1f} s",
            )
        )

    # 4. pylint duplicate-code on the same files
    def pylint(self) -> None:
        names = ("pylint_vs_codegen_scan_jobs1", "pylint_vs_codegen_scan_default_jobs")
        self.log("pylint duplicate-code vs codegen scan")
        rcfile = self.work / "empty-pylintrc"
        rcfile.write_text("")
        pylint_cmd = [sys.executable, "-m", "pylint", f"--rcfile={rcfile}", *PYLINT_ARGS, "models"]
        limit = self.limit(240 if self.quick else 420)
        pylint_s: list[float] = []
        jobs1_s: list[float] = []
        default_s: list[float] = []
        pylint_out = self.work / "pylint.txt"
        scan_json = self.work / "scan.json"
        rounds = self.args.pylint_repeats or (1 if self.quick else 2)
        for repeat in range(rounds):
            if repeat and self.deadline - time.perf_counter() < 360:
                break  # a second round only when the rest of the run still fits
            try:
                with open(pylint_out, "w") as handle:
                    pylint_s.append(run_timed(pylint_cmd, self.corpus, limit, stdout=handle)[0])
            except Timeout as error:  # pylint's slowness is a result, not the tool's problem
                for name in names:
                    self.rows.append(skipped(name, "ratio >= 3", f"pylint: {error}"))
                return
            if self.too_slow:
                break
            try:
                with open(scan_json, "w") as handle:
                    jobs1_s.append(
                        run_timed(
                            codegen("scan", "--json", "--no-cache", "--jobs", "1", "models"),
                            self.corpus,
                            limit,
                            stdout=handle,
                        )[0]
                    )
                with open(os.devnull, "w") as handle:
                    default_s.append(
                        run_timed(
                            codegen("scan", "--json", "--no-cache", "models"),
                            self.corpus,
                            limit,
                            stdout=handle,
                        )[0]
                    )
            except Timeout as error:
                self.too_slow, self.slow_limit = str(error), limit
                break
        blocks = scoring.parse_pylint(pylint_out.read_text())
        paths = {b["path"] for b in self.manifest["builders"]}
        ranges = scoring.function_ranges(self.corpus, paths)
        found_pylint = scoring.pylint_scores(self.manifest, blocks, ranges)
        self.details["pylint"] = {
            "seconds": pylint_s,
            "scores": found_pylint,
            "command": " ".join(pylint_cmd[1:]),
        }
        pylint_median = median(pylint_s)
        if not jobs1_s or not default_s:
            for name in names:
                self.rows.append(
                    row(
                        name,
                        f"> {self.slow_limit:.0f} s",
                        round(pylint_median, 3),
                        None,
                        "ratio >= 3",
                        False,
                        "s",
                        f"ratio < {pylint_median / self.slow_limit:.2g}; codegen scan did not "
                        f"finish: {self.too_slow}",
                    )
                )
            self.found_rows(None, found_pylint)
            return
        scan = json.loads(scan_json.read_text())
        found_codegen = scoring.codegen_scores(self.manifest, scan)
        self.details["codegen_findings"] = found_codegen
        self.details["codegen_times"] = {"jobs1_s": jobs1_s, "default_jobs_s": default_s}
        for name, series, what in (
            (names[0], jobs1_s, "--jobs 1"),
            (names[1], default_s, "default jobs"),
        ):
            value = median(series)
            ratio = pylint_median / value
            self.rows.append(
                row(
                    name,
                    round(value, 3),
                    round(pylint_median, 3),
                    ratio,
                    "ratio >= 3",
                    ratio >= 3,
                    "s",
                    f"value: codegen scan --json --no-cache ({what}); "
                    "baseline: pylint duplicate-code;"
                    f" ratio = pylint / codegen; median of {len(series)}",
                )
            )
        self.found_rows(found_codegen, found_pylint)

    def found_rows(self, ours: dict[str, Any] | None, theirs: dict[str, Any]) -> None:
        def share(found: int, total: int) -> str:
            return f"{found}/{total} ({100 * found / total:.0f}%)" if total else "0/0"

        planted = theirs["renamed_pairs"]
        ours_found = ours["renamed_pairs_found"] if ours else 0
        recall = ours_found / planted if planted else 0.0
        met = bool(ours) and recall >= 0.95 and theirs["renamed_pairs_found"] < ours_found
        self.rows.append(
            row(
                "renamed_clone_pairs_found",
                share(ours_found, planted) if ours else "not run",
                share(theirs["renamed_pairs_found"], planted),
                recall,
                "codegen finds >= 95% of planted renamed pairs; pylint fewer",
                met,
                "pairs",
                "value: codegen (same clone class); baseline: pylint R0801 linking both functions; "
                f"pylint links {theirs['renamed_copies_linked_to_any_other_spelling']} renamed "
                "copies to any other "
                "spelling of the same builder",
            )
        )
        if ours:
            self.rows.append(
                row(
                    "copies_linked_to_another_copy",
                    share(ours["copies_linked"], ours["copies"]),
                    share(theirs["copies_linked"], theirs["copies"]),
                    ours["copies_linked"] / max(1, ours["copies"]),
                    "report",
                    None,
                    "builders",
                    "planted builder copies (exact, renamed) that each tool ties to at least "
                    "one other copy",
                )
            )
            self.rows.append(
                row(
                    "near_miss_pairs_reported",
                    share(ours["near_miss_pairs_found"], ours["near_miss_pairs"]),
                    f"{theirs['near_miss_pairs_reported_as_duplicates']} reported as duplicates",
                    ours["near_miss_pairs_found"] / max(1, ours["near_miss_pairs"]),
                    "report",
                    None,
                    "pairs",
                    "codegen: reported as a near-miss with the reason; "
                    "pylint has no near-miss verdict",
                )
            )
            self.rows.append(
                row(
                    "clone_classes_equal_to_planted",
                    share(ours["clone_classes_equal_to_planted"], ours["planted_groups"]),
                    f"{ours['clone_classes_mixing_builders']} mixed",
                    None,
                    "report",
                    None,
                    "classes",
                    f"codegen found {ours['clone_classes']} classes; "
                    f"{ours['clone_classes_of_unplanted_functions']} "
                    "more are identical build functions the generator did not plant",
                )
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        kind, folder, *rest = argv[1:]
        if kind == "floor":
            result = child_floor(folder, int(rest[0]), parse_only=rest[1:] == ["parse-only"])
        elif kind == "real-floor":
            result = child_real_floor(folder, int(rest[0]))
        elif kind == "scaling":
            result = child_scaling(folder, [int(n) for n in rest])
        elif kind == "profile":
            os.chdir(folder)
            from codegen.config import Config

            paths = subset(int(rest[0]) if rest else 10**9)
            result = {"profile": profile_scan(Config(root=folder), paths), "files": len(paths)}
        else:
            result = child_rss(folder)
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", type=int, default=None, help="corpus size (default 1000, quick 200)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small corpus, fewer repeats, no 5000-file RSS"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats (default 3, quick 2)"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="work folder (default: a new temp folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--real-shapes",
        type=float,
        default=0.0,
        help="share of model files written as class models or model_fns (default 0)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--pylint-repeats",
        type=int,
        default=None,
        help="pylint/codegen timing rounds (default 2, quick 1; about 50 s per 1000 files)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=600.0,
        help="seconds for the whole run; sections past it are reported as skipped (default 600)",
    )
    args = parser.parse_args(argv)
    args.files = args.files or (200 if args.quick else 1000)
    args.sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="layershare-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    global USER_CACHE
    USER_CACHE = work.resolve() / "user-cache"
    try:
        result = Bench(args, work.resolve()).run()
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for item in result["rows"]:
        print(
            f"{item['name']}: {item['value']} vs {item['baseline']} "
            f"(ratio {item['ratio']}, goal {item['goal']})"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
