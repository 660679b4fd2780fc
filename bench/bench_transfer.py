"""Benchmark the transfer runtime: copy vs a var.load loop, restore vs Saver, memcpy."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

# Before TensorFlow loads: the builders use tf.compat.v1 under tf-keras.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "transfer.json"

sys.path.insert(0, str(REPO))


def block(vars_per_block: int, shape: tuple) -> list:
    """A layer builder with several same-shaped weights, all through get_variable."""
    v1 = tf.compat.v1
    with v1.variable_scope(None, default_name="block"):  # block, block_1, ...: own names
        return [
            v1.get_variable(f"w{i}", shape, initializer=v1.random_normal_initializer())
            for i in range(vars_per_block)
        ]


def load_runtime() -> ModuleType:
    """The runtime package's facade (`emit` copies it verbatim into generated/_runtime/)."""
    from codegen.runtime import api

    return api


def build_model(rt: ModuleType, transfer, blocks: int, vars_per_block: int, shape: tuple):
    """A graph whose `blocks` shared layers hold all the parameters; returns (graph, sess)."""
    graph = tf.Graph()
    layer = transfer.shared_layer("block")(block)

    @transfer.build
    def build():
        with tf.compat.v1.variable_scope("model"):
            for _ in range(blocks):
                layer(vars_per_block, shape)

    with graph.as_default():
        build()
        init = tf.compat.v1.global_variables_initializer()
    sess = tf.compat.v1.Session(graph=graph)
    sess.run(init)
    return graph, sess


def median_times(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each function over `repeats` rounds, after one warm-up round.

    The functions alternate within each round, so load from other processes on the shared
    machine slows the runtime and its baseline alike.
    """
    times: list[list[float]] = [[] for _ in fns]
    for round_ in range(repeats + 1):
        for fn, samples in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            if round_:
                samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def row(name: str, value: float, unit: str, baseline: float, goal: str, met: bool) -> dict:
    ratio = baseline / value if value else float("inf")
    return {
        "name": name,
        "value": round(value, 6),
        "unit": unit,
        "baseline": round(baseline, 6),
        "ratio": round(ratio, 3),
        "goal": goal,
        "met": bool(met),
    }


def copy_vs_load(rt, blocks: int, per_block: int, shape: tuple, repeats: int) -> tuple:
    """Two models; returns (transfer, src, dst, (copy, fetch-once load loop, fetch+load loop))."""
    layers = tuple(rt.SharedLayer("block", i, f"{i:03d}_block_bench") for i in range(blocks))
    transfer = rt.ModelTransfer("bench", layers)
    src_graph, src = build_model(rt, transfer, blocks, per_block, shape)
    dst_graph, dst = build_model(rt, transfer, blocks, per_block, shape)
    src_vars = transfer.transferable_variables(src_graph)
    dst_vars = transfer.transferable_variables(dst_graph)
    assert len(src_vars) == len(dst_vars) == blocks * per_block

    transfer.copy(src, dst)
    # Both sides were initialised at random, so equality means the copy happened.
    step = max(1, len(src_vars) // 7)
    for src_var, dst_var in zip(src_vars[::step], dst_vars[::step], strict=True):
        assert np.array_equal(src.run(src_var), dst.run(dst_var)), "copy did not copy"

    def load_loop() -> None:
        values = src.run(src_vars)
        for var, value in zip(dst_vars, values, strict=True):
            var.load(value, dst)

    def fetch_load_loop() -> None:
        for src_var, dst_var in zip(src_vars, dst_vars, strict=True):
            dst_var.load(src.run(src_var), dst)

    with dst_graph.as_default():
        times = median_times([lambda: transfer.copy(src, dst), load_loop, fetch_load_loop], repeats)
    return transfer, (src_graph, src), (dst_graph, dst), tuple(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~50 variables / 5M params")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)

    if args.quick:
        blocks, per_block, shape, repeats = 10, 5, (250, 400), args.repeats or 3
    else:
        blocks, per_block, shape, repeats = 100, 5, (400, 500), args.repeats or 5
    n_vars = blocks * per_block
    n_params = n_vars * int(np.prod(shape))
    nbytes = n_params * 4

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rt = load_runtime()
        # Same variable count, 16 parameters each: per-variable overhead alone.
        _, (_, small_src), (_, small_dst), small = copy_vs_load(
            rt, blocks, per_block, (4, 4), repeats
        )
        small_src.close()
        small_dst.close()
        transfer, (_, src), (dst_graph, dst), big = copy_vs_load(
            rt, blocks, per_block, shape, repeats
        )
        copy_time, load_time, fetch_load_time = big
        dst_vars = transfer.transferable_variables(dst_graph)

        # restore: runtime restore vs a plain Saver over the same variables and checkpoint.
        prefix = transfer.save(src, str(work / "ckpt" / "bench"))
        with dst_graph.as_default():
            # The same {key: variable} map: a plain Saver.restore of the same checkpoint.
            plain = tf.compat.v1.train.Saver(var_list=transfer.variable_map(dst_graph))
            restore_time, saver_time = median_times(
                [lambda: transfer.restore(dst, prefix), lambda: plain.restore(dst, prefix)],
                repeats,
            )

        # memcpy reference: the same bytes through np.copyto into preallocated arrays.
        sources = dst.run(dst_vars)
        targets = [np.empty_like(value) for value in sources]

        def memcpy() -> None:
            for target, value in zip(targets, sources, strict=True):
                np.copyto(target, value)

        [memcpy_time] = median_times([memcpy], repeats)
        src.close()
        dst.close()

    gb = nbytes / 1e9
    copy_gbps, memcpy_gbps = gb / copy_time, gb / memcpy_time
    rows = [
        row("copy_vs_load_loop", copy_time, "s", load_time, "ratio >= 10", False),
        row("copy_vs_fetch_load_loop", copy_time, "s", fetch_load_time, "ratio >= 10", False),
        row("copy_vs_load_loop_16_params", small[0], "s", small[1], "ratio >= 10", False),
        row("restore_vs_saver", restore_time, "s", saver_time, "value <= 1.5 x baseline", False),
        {
            "name": "copy_bandwidth_vs_memcpy",
            "value": round(copy_gbps, 3),
            "unit": "GB/s",
            "baseline": round(memcpy_gbps, 3),
            "ratio": round(copy_gbps / memcpy_gbps, 3),
            "goal": "none (reference)",
            "met": True,
        },
        # Any copy moves the bytes at least once: load loop / memcpy bounds the copy ratio.
        row("memcpy_vs_load_loop_bound", memcpy_time, "s", load_time, "none (reference)", True),
    ]
    for r in rows[:3]:
        r["met"] = r["ratio"] >= 10
    rows[3]["met"] = restore_time <= 1.5 * saver_time
    result = {
        "rows": rows,
        "notes": {
            "ratio": "baseline / value for seconds rows, value / baseline for GB/s rows",
            "copy_vs_load_loop": "baseline fetches all source values in one run, then "
            "Variable.load per variable",
            "copy_vs_fetch_load_loop": "baseline runs the source once per variable too",
            "copy_vs_load_loop_16_params": "same variable count, 16 params each",
            "memcpy_vs_load_loop_bound": "ratio = the best copy ratio possible when the "
            "bytes are moved once at np.copyto speed",
        },
        "config": {
            "quick": args.quick,
            "variables": n_vars,
            "parameters": n_params,
            "bytes": nbytes,
            "repeats": repeats,
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{n_vars} variables, {n_params / 1e6:.1f}M float32 params, median of {repeats}")
    print(f"{'name':<30} {'value':>10} {'baseline':>10} {'unit':>5} {'ratio':>8}  goal  met")
    for r in rows:
        print(
            f"{r['name']:<30} {r['value']:>10.4f} {r['baseline']:>10.4f} {r['unit']:>5} "
            f"{r['ratio']:>8.2f}  {r['goal']}  {r['met']}"
        )
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
