"""Run every benchmark and write the results table: bench/results/RESULTS.md and results.json.

Usage: python bench/run_all.py [--quick] [--files N] [--skip-transfer] [--skip-keras]

Runs bench/bench_scan.py (corpus, parse floor, jobs, warm check, memory, pylint),
bench/bench_transfer.py (TensorFlow transfer runtime) and bench/keras_transfer.py (Keras 3
runtime on the TensorFlow and JAX backends), each as a subprocess, then merges their rows.
Every row compares a value with a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
KERAS_RESULTS = RESULTS / "keras_transfer.json"
# A full run must finish within 15 minutes on the shared 2-core machine.
TOTAL_BUDGET = 870
TOTAL_BUDGET_QUICK = 420
TRANSFER_LIMIT = 330
KERAS_LIMIT = 420  # three backends, each a fresh Keras process, at 100M parameters
MIN_SCAN_BUDGET = 240
SCAN_OVERHEAD = 30  # corpus generation and start-up before bench_scan's own clock starts
REALCORPUS_LIMIT = 240  # the downloaded real-code corpus (bench/realcorpus.py): both rows


def run_step(args: list[str], timeout: float) -> tuple[int, float, str]:
    """(exit code, seconds, error) of one benchmark script; its output goes to our stderr."""
    start = time.perf_counter()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run(
            args, cwd=REPO, env=env, timeout=timeout, check=False, stdout=sys.stderr
        )
    except subprocess.TimeoutExpired:
        return -1, time.perf_counter() - start, f"timed out after {timeout:.0f} s"
    error = f"exit code {done.returncode}" if done.returncode else ""
    return done.returncode, time.perf_counter() - start, error


def fmt(value: Any, unit: str = "") -> str:
    """A table cell: numbers rounded for reading, with their unit."""
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit and not isinstance(value, str) else text


def met_cell(met: Any, goal: str) -> str:
    if met is None or goal.startswith(("report", "none")):
        return "—"
    return "yes" if met else "**no**"


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| name | value | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for item in rows:
        unit = item.get("unit", "")
        goal = str(item.get("goal", ""))
        lines.append(
            f"| {item['name']} | {fmt(item.get('value'), unit)} "
            f"| {fmt(item.get('baseline'), unit)} "
            f"| {fmt(item.get('ratio'))} | {goal} | {met_cell(item.get('met'), goal)} |"
        )
    return "\n".join(lines)


README_START = "<!-- run_all: goals -->"
README_END = "<!-- /run_all: goals -->"


def readme_goals(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The README's table: every row with a goal, from this one run (the rest: RESULTS.md)."""
    lines = [
        README_START,
        f"One `python bench/run_all.py` run (commit {meta['tool_before']['head']}, "
        f"{meta['machine']}); each ratio is against a baseline measured in the same run.",
        "",
        "| measure | value | baseline | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for item in rows:
        unit, goal = item.get("unit", ""), str(item.get("goal", ""))
        if item.get("met") is None or goal.startswith(("none", "report")):
            continue
        lines.append(
            f"| {item['name']} | {fmt(item.get('value'), unit)} "
            f"| {fmt(item.get('baseline'), unit)} | {fmt(item.get('ratio'))} | {goal} "
            f"| {met_cell(item.get('met'), goal)} |"
        )
    return "\n".join([*lines, README_END])


def write_readme_goals(text: str) -> bool:
    """Replace the README's goals table (between its markers); False when the markers are gone."""
    readme = REPO / "README.md"
    current = readme.read_text(encoding="utf-8")
    start, end = current.find(README_START), current.find(README_END)
    if start < 0 or end < start:
        return False
    readme.write_text(current[:start] + text + current[end + len(README_END) :], encoding="utf-8")
    return True


def notes(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"- **{item['name']}**: {item['note']}" for item in rows if item.get("note"))


def tool_state() -> dict[str, str]:
    """Which code was measured: HEAD and a digest of codegen/ and templates/ as on disk."""
    digest = hashlib.sha256()
    files = [*(REPO / "codegen").rglob("*.py"), *(REPO / "templates").rglob("*")]
    for path in sorted(p for p in files if p.is_file()):
        digest.update(path.relative_to(REPO).as_posix().encode() + path.read_bytes())
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "codegen", "templates"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "head": head or "unknown",
        "sources": digest.hexdigest()[:12],
        "dirty": str(bool(dirty)),
    }


def load(path: Path, since: float) -> dict[str, Any] | None:
    """A results file written by this run (an older one would mislead)."""
    if not path.exists() or path.stat().st_mtime < since:
        return None
    return json.loads(path.read_text())


def realcorpus_rows(work: Path, repeats: int) -> tuple[list[dict[str, Any]], str]:
    """The real-code corpus of bench/realcorpus.py (pinned public packages, cached downloads) as
    one tree: cold scan vs the libcst parse floor (in process, --jobs 1) and a warm `scan --json`
    of the unchanged tree vs a cold one (subprocesses, user cache folder). ([], why) if absent."""
    sys.path.insert(0, str(BENCH))
    import bench_scan
    import realcorpus

    tree = work / "realcorpus"
    try:
        for pkg in realcorpus.PACKAGES:
            shutil.copytree(realcorpus.build(pkg), tree / pkg.folder, dirs_exist_ok=True)
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        return [], f"real-code corpus not available: {error}"
    for stamp in tree.glob("*/.complete"):
        stamp.unlink()
    floor = bench_scan.run_child("real-floor", tree, REALCORPUS_LIMIT / 2, str(repeats))
    parse_s = bench_scan.median(floor["times"]["parse"])
    scan_s = bench_scan.median(floor["times"]["scan_jobs1"])
    megabytes = floor["bytes"] / 1e6
    what = f"{len(realcorpus.PACKAGES)} packages, {floor['files']} files, {megabytes:.2f} MB"
    rows = [
        bench_scan.row(
            "realcorpus_scan_vs_parse_floor",
            round(megabytes / scan_s, 3),
            round(megabytes / parse_s, 3),
            parse_s / scan_s,
            "ratio >= 0.85",
            parse_s / scan_s >= 0.85,
            "MB/s",
            f"bench/realcorpus.py's corpus as one tree ({what}); in-process scan --jobs 1 vs "
            f"libcst.parse_module of the same files, median of {repeats}, alternating",
        )
    ]
    timeout = REALCORPUS_LIMIT / (4 * repeats)
    bench_scan.run_timed(bench_scan.codegen("scan", "--json", "."), tree, timeout)  # fills caches
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    for repeat in range(repeats):
        order = [("cold", ["--no-cache"]), ("warm", [])]
        for label, flag in order if repeat % 2 == 0 else order[::-1]:
            args = bench_scan.codegen("scan", "--json", *flag, ".")
            times[label].append(bench_scan.run_timed(args, tree, timeout)[0])
    cold_s, warm_s = bench_scan.median(times["cold"]), bench_scan.median(times["warm"])
    rows.append(
        bench_scan.row(
            "realcorpus_scan_warm_unchanged_vs_cold",
            round(warm_s, 3),
            round(cold_s, 3),
            warm_s / cold_s,
            "ratio <= 0.10",
            warm_s / cold_s <= 0.10,
            "s",
            f"{what}; `scan --json .` subprocesses, no pyproject.toml (user cache folder), "
            f"median of {repeats}, alternating with `--no-cache`; both include interpreter start",
        )
    )
    return rows, ""


def render(
    scan: dict[str, Any] | None,
    transfer: dict[str, Any] | None,
    meta: dict[str, Any],
    keras: dict[str, Any] | None = None,
) -> str:
    rows = (scan or {}).get("rows", []) + (transfer or {}).get("rows", [])
    rows += (keras or {}).get("rows", [])
    details = (scan or {}).get("details", {})
    corpus = details.get("corpus", {})
    parts = [
        "# Benchmark results",
        "",
        f"`python bench/run_all.py{' --quick' if meta['quick'] else ''}` on {meta['machine']}; "
        f"total {meta['total_s']:.0f} s. The machine is shared and noisy (load average "
        f"{meta['load_before']} before the run): read the ratios, each against a baseline "
        "measured in the "
        "same run, not the absolute times.",
        "",
    ]
    tool = meta["tool_before"]
    parts += [
        f"Measured: commit {tool['head']} (codegen/ and templates/ digest {tool['sources']}"
        f"{', with uncommitted changes' if tool['dirty'] == 'True' else ''}).",
        "",
    ]
    if meta["tool_changed_during_run"]:
        parts += [
            "**Warning: codegen/ or templates/ changed during this run; the rows mix versions. "
            "Run again on a quiet tree.**",
            "",
        ]
    if corpus:
        planted = corpus.get("planted", {})
        parts += [
            f"Corpus: {corpus['files']} files ({corpus['model_files']} models, "
            f"{corpus['utility_files']} "
            f"unrelated), {corpus['bytes'] / 1e6:.1f} MB, seed {corpus['seed']}; planted "
            f"{planted.get('clone_groups')} clone groups, "
            f"{planted.get('renamed_pairs')} renamed pairs, "
            f"{planted.get('exact_pairs')} exact pairs, "
            f"{planted.get('near_miss_pairs')} near-miss pairs.",
            "",
        ]
    parts += [table(rows), ""]
    if not scan:
        parts += [f"bench_scan.py produced no results: {meta['scan_error']}", ""]
    if not transfer:
        parts += [f"bench_transfer.py produced no results: {meta['transfer_error']}", ""]
    if not keras and meta.get("keras_error"):
        parts += [f"keras_transfer.py produced no results: {meta['keras_error']}", ""]
    if meta.get("realcorpus_error"):
        parts += [f"Real-code corpus rows not measured: {meta['realcorpus_error']}", ""]
    parts += ["## Notes", "", notes(rows), ""]
    scaling = details.get("scaling")
    if isinstance(scaling, list) and scaling:
        parts += [
            "## Cold scan stages on growing subsets of the corpus (one scan each, --jobs 1)",
            "",
            "| files | discover s | extract s | plan s |",
            "|---|---|---|---|",
        ]
        parts += [
            f"| {s['files']} | {s.get('discover_s')} | {s.get('extract_s')} | {s.get('plan_s')} |"
            for s in scaling
        ]
        parts.append("")
    profile = details.get("profile")
    if isinstance(profile, list) and profile:
        files = details.get("profile_files", corpus.get("files"))
        parts += [
            f"## Where a cold scan of {files} files spends its time (cProfile, --jobs 1)",
            "",
            "| function | calls | own s | cumulative s |",
            "|---|---|---|---|",
        ]
        parts += [
            f"| `{p['function']}` | {p['calls']} | {p['own_s']} | {p['cumulative_s']} |"
            for p in profile
            if p["by"] == "cumulative"
        ][:15]
        parts.append("")
    return "\n".join(parts)


def run_keras(quick: bool, started: float) -> tuple[dict[str, Any] | None, float, str]:
    """The Keras runtime rows (bench/keras_transfer.py): (results or None, seconds, error)."""
    cmd = [sys.executable, str(BENCH / "keras_transfer.py"), "--out", str(KERAS_RESULTS)]
    cmd += ["--params", "1e7", "--repeats", "2"] if quick else []
    print("running keras_transfer.py ...", file=sys.stderr, flush=True)
    code, seconds, error = run_step(cmd, KERAS_LIMIT)
    # A backend that failed still has its row (not measured, with the reason).
    results = load(KERAS_RESULTS, started) if code in (0, 1) else None
    return results, seconds, error


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 200 files, fewer repeats, no 5000-file RSS, transfer --quick",
    )
    parser.add_argument(
        "--files", type=int, default=None, help="corpus size (default 1000, quick 200)"
    )
    parser.add_argument(
        "--skip-transfer", action="store_true", help="do not run the TensorFlow benchmark"
    )
    parser.add_argument(
        "--skip-keras", action="store_true", help="do not run the Keras 3 benchmark"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help=f"seconds for the whole run (default {TOTAL_BUDGET}, quick {TOTAL_BUDGET_QUICK}); "
        "every scan row at 1,000 files needs about 1,500 on the 2-core box",
    )
    args = parser.parse_args(argv)
    started = time.time()
    before = tool_state()
    start = time.perf_counter()
    load_before = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    RESULTS.mkdir(parents=True, exist_ok=True)

    # TensorFlow first: it takes what it takes; the scan benchmarks get the rest of the budget.
    transfer = None
    transfer_s = 0.0
    transfer_err = "skipped (--skip-transfer)"
    if not args.skip_transfer:
        transfer_cmd = [sys.executable, str(BENCH / "bench_transfer.py")]
        transfer_cmd += ["--quick"] if args.quick else []
        print("running bench_transfer.py ...", file=sys.stderr, flush=True)
        code, transfer_s, transfer_err = run_step(transfer_cmd, TRANSFER_LIMIT)
        transfer = load(RESULTS / "transfer.json", started) if code == 0 else None
    keras, keras_s, keras_err = None, 0.0, "skipped (--skip-keras)"
    if not args.skip_keras:
        keras, keras_s, keras_err = run_keras(args.quick, started)

    total = args.budget or (TOTAL_BUDGET_QUICK if args.quick else TOTAL_BUDGET)
    budget = max(MIN_SCAN_BUDGET, total - (time.perf_counter() - start) - SCAN_OVERHEAD)
    scan_cmd = [sys.executable, str(BENCH / "bench_scan.py"), "--out", str(RESULTS / "scan.json")]
    scan_cmd += ["--budget", f"{budget:.0f}"]
    if args.quick:
        scan_cmd.append("--quick")
    if args.files:
        scan_cmd += ["--files", str(args.files)]
    print(f"running bench_scan.py (budget {budget:.0f} s) ...", file=sys.stderr, flush=True)
    code, scan_s, scan_err = run_step(scan_cmd, budget + SCAN_OVERHEAD)
    scan = load(RESULTS / "scan.json", started) if code == 0 else None

    # The real-code corpus of issue 20, beside the generated one (bench_scan's `real` section
    # measures the hand-written fixtures in tests/realcode*).
    print("measuring the real-code corpus (bench/realcorpus.py) ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="layershare-realcorpus-") as work:
        try:
            real_rows, real_err = realcorpus_rows(Path(work), 3 if args.quick else 5)
        except Exception as error:  # a benchmark row that fails is reported, never fatal
            real_rows, real_err = [], f"real-code corpus rows failed: {error!r}"
    if scan is not None:
        scan["rows"] = scan.get("rows", []) + real_rows

    after = tool_state()
    meta = {
        "tool_before": before,
        "tool_after": after,
        "tool_changed_during_run": before["sources"] != after["sources"],
        "quick": args.quick,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "load_before": load_before,
        "total_s": time.perf_counter() - start,
        "scan_s": round(scan_s, 1),
        "transfer_s": round(transfer_s, 1),
        "keras_s": round(keras_s, 1),
        "scan_error": scan_err if scan is None else "",
        "realcorpus_error": real_err,
        "transfer_error": transfer_err if transfer is None else "",
        "keras_error": keras_err if keras is None else "",
    }
    text = render(scan, transfer, meta, keras)
    (RESULTS / "RESULTS.md").write_text(text)
    combined = {
        "rows": (scan or {}).get("rows", [])
        + (transfer or {}).get("rows", [])
        + (keras or {}).get("rows", []),
        "meta": meta,
        "scan": scan,
        "transfer": transfer,
        "keras": keras,
    }
    (RESULTS / "results.json").write_text(json.dumps(combined, indent=2) + "\n")
    # Only a full run speaks for the README (a smaller or partial one would misquote the goals).
    if not args.quick and args.files in (None, 1000) and not args.skip_transfer:
        if not args.skip_keras and not write_readme_goals(readme_goals(combined["rows"], meta)):
            print("README.md has no goals table markers: not updated", file=sys.stderr)
    print(text)
    print(
        f"wrote {RESULTS / 'RESULTS.md'} and {RESULTS / 'results.json'} in {meta['total_s']:.0f} s",
        file=sys.stderr,
    )
    done = scan is not None and (transfer is not None or args.skip_transfer)
    return 0 if done and (keras is not None or args.skip_keras) else 1


if __name__ == "__main__":
    raise SystemExit(main())
