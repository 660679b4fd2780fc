"""CPU-time ratios on a shared, noisy machine: cold scan vs the libcst parse floor, pylint
duplicate-code vs `codegen scan --jobs 1`, and `check` after a builder edit vs a cold scan, for
one or more code roots in the same run.

Wall time on a box shared with other work measures the neighbours; CPU time of a child process
(`time.process_time` inside it, `getrusage(RUSAGE_CHILDREN)` around it) does not. Every code
root is measured in the same rounds, interleaved, so a before/after comparison sees one load.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PYLINT_ARGS = (
    "--disable=all",
    "--enable=duplicate-code",
    "--min-similarity-lines=6",
    "--recursive=y",
    "--persistent=n",
    "--score=n",
)


def child_floor(folder: str, trees: list[str], repeats: int) -> dict[str, list[float]]:
    """In this process: CPU seconds of a libcst.parse_module loop and of a cold --jobs 1 scan."""
    os.chdir(folder)
    import libcst

    from codegen import pipeline
    from codegen.config import Config
    from codegen.scan.discover import discover

    config = Config(root=folder, cache_dir="")
    sources, _ = discover(trees, config)
    paths = [Path(s.abspath) for s in sources if s.text is not None]

    def parse() -> None:
        for path in paths:  # reading is on both sides: the scan reads the files too
            libcst.parse_module(path.read_text(encoding="utf-8"))

    def scan() -> None:
        pipeline.scan(trees, config, jobs=1, use_cache=False)

    scan()  # imports and the parser warmed before anything is timed
    parse()
    times: dict[str, list[float]] = {"parse": [], "scan": []}
    for repeat in range(repeats):
        order = ["parse", "scan"] if repeat % 2 == 0 else ["scan", "parse"]
        for name in order:
            gc.collect()
            start = time.process_time()
            (parse if name == "parse" else scan)()
            times[name].append(time.process_time() - start)
    return times


def child_cpu(args: list[str], cwd: str, code: str) -> float:
    """User + system CPU seconds of one subprocess (and anything it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        args, cwd=cwd, env=env(code), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def env(code: str) -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = code
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def floor(code: str, folder: str, trees: list[str], repeats: int) -> dict[str, list[float]]:
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
        "import codegen; assert codegen.__file__.startswith(sys.argv[1]), codegen.__file__;"
        "import cpu_ratio;"
        "print(json.dumps(cpu_ratio.child_floor(sys.argv[3], sys.argv[5:], int(sys.argv[4]))))"
    )
    bench = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", script, code, bench, folder, str(repeats), *trees],
        env=env(code),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def edit_target(corpus: Path) -> tuple[str, str]:
    """(model file, builder) whose edit matters: the shared base copy of the embedding, as in
    bench_scan.py's warm-check rows (a corpus from bench/corpus.py, with its manifest)."""
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    base = {
        b["path"]: b["qualname"]
        for b in manifest["builders"]
        if b["family"] == "embed" and b["variant"] == 0
    }
    model = next(m for m in manifest["models"] if m["path"] in base and m["depth"] >= 2)
    return model["path"], base[model["path"]]


def times_first_done(tree: Path) -> bool:
    """Whether this synced copy has had its first (re-parsing) edit already."""
    return (tree / ".first-edit-done").exists()


def check_edit(code: str, corpus: Path, work: Path, edits: int) -> dict[str, list[float]]:
    """CPU seconds of cold `scan --no-cache --jobs 1` and of `check` after each of `edits`
    builder edits (a stddev literal changed to a value never seen before, then put back), in a
    synced copy of the corpus that is this code root's own (a project: `.codegen_cache`)."""
    tree = work / f"check-{abs(hash(code))}"
    if not tree.exists():
        shutil.copytree(corpus / "models", tree / "models")
        (tree / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
        child_cpu([sys.executable, "-m", "codegen", "sync", "models"], str(tree), code)
    path, function = edit_target(corpus)
    target = tree / path
    original = target.read_text(encoding="utf-8")
    match = re.compile(r"stddev=(\d+\.\d+)").search(original, original.find(f"def {function}("))
    assert match is not None, f"no stddev in {path}::{function}"
    times: dict[str, list[float]] = {"cold": [], "check": [], "first": []}
    cold = [sys.executable, "-m", "codegen", "scan", "--no-cache", "--jobs", "1", "models"]
    times["cold"].append(child_cpu(cold, str(tree), code))
    try:
        # sync rewrote the model files and the check after it answered from the outputs memo,
        # so no facts of the routed texts are cached yet: the first real edit re-parses every
        # rewritten file. Kept apart ("first"): the timed edits are those of a tree in use.
        for index in range(edits + (0 if times_first_done(tree) else 1)):
            value = f"{match.group(1)}{time.time_ns() % 10**6}"
            target.write_text(
                original[: match.start(1)] + value + original[match.end(1) :], encoding="utf-8"
            )
            check = [sys.executable, "-m", "codegen", "check", "models"]
            first = index == 0 and not times_first_done(tree)
            times["first" if first else "check"].append(child_cpu(check, str(tree), code))
            if first:
                (tree / ".first-edit-done").write_text("", encoding="utf-8")
    finally:
        target.write_text(original, encoding="utf-8")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", action="append", required=True, help="a code root (repeatable)")
    parser.add_argument("--corpus", action="append", default=[], help="folder:tree[,tree]")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per floor child")
    parser.add_argument("--pylint", default="", help="folder:tree for the pylint comparison")
    parser.add_argument("--pylint-rounds", type=int, default=1, help="rounds that run pylint")
    parser.add_argument(
        "--check-edit",
        default="",
        help="a bench/corpus.py folder: `check` after a builder edit vs a cold scan",
    )
    parser.add_argument("--edits", type=int, default=2, help="builder edits per check-edit round")
    parser.add_argument("--work", default="/tmp/cpu_ratio_work", help="where synced copies live")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    pylint_s: list[float] = []
    for round_ in range(args.rounds):
        codes = args.code if round_ % 2 == 0 else args.code[::-1]
        if args.pylint and round_ < args.pylint_rounds:  # pylint does not depend on the code root
            folder, tree = args.pylint.split(":")
            pylint_s.append(
                child_cpu([sys.executable, "-m", "pylint", *PYLINT_ARGS, tree], folder, codes[0])
            )
        for code in codes:
            for spec in args.corpus:
                folder, trees = spec.split(":")
                times = floor(code, folder, trees.split(","), args.repeats)
                slot = results.setdefault(code, {}).setdefault(spec, {"parse": [], "scan": []})
                for key in ("parse", "scan"):
                    slot[key].extend(times[key])
                # The load changes between children: each child's own ratio, paired in time.
                slot.setdefault("ratios", []).append(
                    statistics.median(times["parse"]) / statistics.median(times["scan"])
                )
            if args.check_edit:
                times = check_edit(code, Path(args.check_edit), Path(args.work), args.edits)
                slot = results.setdefault(code, {}).setdefault("check-edit", {})
                for key, values in times.items():
                    slot.setdefault(key, []).extend(values)
                slot.setdefault("ratios", []).append(
                    statistics.median(times["check"]) / statistics.median(times["cold"])
                )
            if args.pylint and round_ < args.pylint_rounds:
                folder, tree = args.pylint.split(":")
                scan = [sys.executable, "-m", "codegen", "scan", "--json", "--no-cache"]
                slot = results.setdefault(code, {}).setdefault("pylint", {"scan": []})
                slot["scan"].append(child_cpu([*scan, "--jobs", "1", tree], folder, code))
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; CPU seconds")
    pylint_all = pylint_s
    for code, by in results.items():
        for spec, slot in by.items():
            if spec == "check-edit":
                c, k = statistics.median(slot["cold"]), statistics.median(slot["check"])
                print(
                    f"{code} check after a builder edit: cold scan median {c:.2f} s, check "
                    f"median {k:.3f} s, ratio {k / c:.3f} (n={len(slot['check'])}); per-round "
                    f"ratios {' '.join(f'{r:.3f}' for r in slot['ratios'])}"
                )
            if spec in ("pylint", "check-edit"):
                continue
            p, s = statistics.median(slot["parse"]), statistics.median(slot["scan"])
            pm, sm = min(slot["parse"]), min(slot["scan"])
            print(
                f"{code} {spec}: parse median {p:.3f} scan median {s:.3f} ratio {p / s:.3f}"
                f" (min-based {pm / sm:.3f}; n={len(slot['scan'])});"
                f" per-child ratios {' '.join(f'{r:.3f}' for r in slot['ratios'])}"
            )
        if "pylint" in by and pylint_all:
            scan = by["pylint"]["scan"]
            pl = statistics.median(pylint_all)
            print(
                f"{code} pylint: pylint median {pl:.2f} s (n={len(pylint_all)}),"
                f" scan --jobs 1 median {statistics.median(scan):.2f} s (n={len(scan)}),"
                f" ratio {pl / statistics.median(scan):.2f} (min-based"
                f" {min(pylint_all) / min(scan):.2f})"
            )
    print(json.dumps({"pylint": pylint_s, **results}))


if __name__ == "__main__":
    main()
