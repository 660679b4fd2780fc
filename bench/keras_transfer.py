"""Benchmark the Keras transfer runtime: `restore` vs `load_weights`, `copy` vs NumPy memcpy.

Usage: python bench/keras_transfer.py [--params 1e8] [--repeats 5]
       [--backends tensorflow,jax,torch] [--jax-devices N] [--out bench/results/keras_transfer.json]

One Keras 3 model whose shared trunk (Embedding, Conv1D, two Dense) holds about `--params`
parameters, built through the runtime's marks. Each backend (TensorFlow, JAX, PyTorch) runs in
its own subprocess, one after the other (Keras reads KERAS_BACKEND once, and
TF_USE_LEGACY_KERAS must be unset for Keras 3). Per backend:
- `restore` of the trunk from the runtime's safetensors file vs the same model's
  `load_weights` from its own `.weights.h5` (goal: ratio <= 1.0);
- `copy(source, destination)` bandwidth vs `np.copyto` of the same bytes (goal: >= 0.9), and
  vs a NumPy copy into fresh memory;
- TensorFlow only: `copy` plus the first in-place update of the destination, where TF copies
  the buffers `copy` left shared, vs `np.copyto` plus `np.add`.
The steps of a row alternate, in reverse order every other round, so load from other processes
on the shared machine hits both sides; rows give the ratio of the minima, of the medians, and
the spread of the per-round ratios. JAX steps are timed until `block_until_ready`; with
`--jax-devices 2` both JAX models are replicated on two host devices (Keras `DataParallel`) and
every replica is checked. Both files
are read warm (page cache): the row compares the readers, not the disk. Peak memory: the
process's peak RSS above its RSS before each step (Linux `clear_refs` resets the peak), the
worst round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
RESULTS = BENCH / "results" / "keras_transfer.json"
BACKENDS = ("tensorflow", "jax", "torch")
ROOT = "build_bench"
SEQ = 16
CHILD_TIMEOUT = 900
# What `copy` does with the bytes on each backend, for the copy row's note.
HOW_COPY_MOVES = {
    "tensorflow": "; on TensorFlow the destination shares the source's buffers until either "
    "side is updated in place: see the next row",
    "jax": "; on JAX the bytes are written into the destination weights' own buffers, donated "
    "to the write (JAX arrays are immutable, and Keras `fit` donates weight buffers, so two "
    "models never share one)",
    "torch": "; on PyTorch `copy_` writes into the destination's own Parameters",
}


# -- in the child: one backend ---------------------------------------------------------------


def _dims(params: float) -> tuple[int, int, int]:
    """(vocab, width, feed-forward width) so that the trunk holds about `params` parameters."""
    width = 768 if params >= 2e7 else 64
    ff = 4 * width
    rest = 3 * width * width + width + 2 * width * ff + ff + width  # Conv1D(k=3) + two Dense
    vocab = max(16, round((params - rest) / width))
    return vocab, width, ff


def _shared_layers() -> tuple[Any, ...]:
    from codegen.runtime.core import SharedLayer

    names = ("embedding", "conv1d", "dense", "dense")
    expected = (("v0",), ("v0", "v1"), ("v0", "v1"), ("v0", "v1"))
    return tuple(
        SharedLayer("", 0, f"{i:02d}_{i:08x}", expected[i], f"layer {i + 1} {name}", position=i)
        for i, name in enumerate(names)
    )


def _build(keras: Any, transfer: Any, params: float) -> Any:
    """The benchmark model, its trunk marked as the routed code marks it; built (it has Input)."""
    layers = keras.layers
    vocab, width, ff = _dims(params)

    @transfer.model(ROOT)
    def build_bench() -> Any:
        mark = transfer.layer
        inputs = keras.Input((SEQ,), dtype="int32")
        x = mark(ROOT, 0, layers.Embedding(vocab, width))(inputs)
        x = mark(ROOT, 1, layers.Conv1D(width, 3, padding="same", activation="relu"))(x)
        x = mark(ROOT, 2, layers.Dense(ff, activation="relu"))(x)
        x = mark(ROOT, 3, layers.Dense(width))(x)
        x = layers.GlobalMaxPooling1D()(x)
        return keras.Model(inputs, layers.Dense(2)(x))

    return build_bench()


def _rss_kb(field: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/self/status, in kB (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    """Reset the process's peak RSS to its current RSS (Linux >= 4.0); False if not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _timed(fn: Callable[[], object], sync: Callable[[], object]) -> tuple[float, float]:
    """(seconds, MB of peak RSS above the RSS before) of one call, until its work is done."""
    resettable = _reset_peak()
    before = _rss_kb("VmRSS")
    start = time.perf_counter()
    fn()
    sync()
    seconds = time.perf_counter() - start
    peak = (_rss_kb("VmHWM") - before) / 1024 if resettable else float("nan")
    return seconds, peak


def _interleaved(
    fns: Sequence[Callable[[], object]], repeats: int, sync: Callable[[], object]
) -> list[dict[str, Any]]:
    """Every function once per round, the order reversed every other round, one warm-up round."""
    samples: list[list[float]] = [[] for _ in fns]
    peaks: list[list[float]] = [[] for _ in fns]
    for round_ in range(repeats + 1):
        order = list(range(len(fns)))
        if round_ % 2:
            order.reverse()
        for index in order:
            seconds, peak = _timed(fns[index], sync)
            if round_:
                samples[index].append(seconds)
                peaks[index].append(peak)
    return [
        {"samples": s, "min": min(s), "median": statistics.median(s), "peak_mb": max(p)}
        for s, p in zip(samples, peaks, strict=True)
    ]


def _ratios(ours: dict[str, Any], base: dict[str, Any], *, inverse: bool = False) -> dict[str, Any]:
    """Ratio of minima and of medians, and the range of the per-round ratios."""
    pairs = zip(ours["samples"], base["samples"], strict=True)
    rounds = [(b / o) if inverse else (o / b) for o, b in pairs]
    if inverse:  # a bandwidth ratio: baseline time / our time
        by_min, by_median = base["min"] / ours["min"], base["median"] / ours["median"]
    else:
        by_min, by_median = ours["min"] / base["min"], ours["median"] / base["median"]
    return {
        "ratio_min": by_min,
        "ratio_median": by_median,
        "ratio_rounds": [min(rounds), max(rounds)],
    }


def _syncer(backend: str, model: Any) -> Callable[[], object]:
    """Wait for the model's pending weight updates: JAX dispatches them asynchronously."""
    if backend != "jax":
        return lambda: None  # TensorFlow's eager and torch's CPU ops finish before they return
    import jax

    return lambda: jax.block_until_ready([w.value for w in model.weights])


def _bit_equal(var: Any, want: Any) -> bool:
    """The weight holds exactly `want`, on every replica it has (JAX DataParallel) or once."""
    import numpy as np

    shards = getattr(var.value, "addressable_shards", None) or ()
    if len(shards) > 1:
        return all(np.array_equal(np.asarray(shard.data), want) for shard in shards)
    return bool(np.array_equal(np.asarray(var.numpy()), want))


def child(backend: str, params: float, repeats: int, devices: int = 1) -> dict[str, Any]:
    """Every measurement on one backend; returns the rows' raw data."""
    import keras
    import numpy as np

    from codegen.runtime.keras3 import KerasModelTransfer
    from codegen.runtime.keras3_file import KerasFileTransfer

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    keras.utils.set_random_seed(0)
    if devices > 1:  # JAX only (see _child_env): every weight replicated on `devices` CPUs
        import jax

        assert len(jax.devices()) == devices, jax.devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    transfer = KerasFileTransfer({ROOT: KerasModelTransfer(f"bench.py::{ROOT}", _shared_layers())})
    rss_start = _rss_kb("VmRSS")
    source = _build(keras, transfer, params)
    dest = _build(keras, transfer, params)
    sync = _syncer(backend, dest)
    shared = transfer.variable_map(source)
    trunk = sum(int(np.prod(v.shape)) for v in shared.values())
    total = sum(int(np.prod(v.shape)) for v in source.weights)
    nbytes = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in shared.values())
    out: dict[str, Any] = {
        "backend": backend,
        "devices": devices,
        "keras": keras.__version__,
        "dims": dict(zip(("vocab", "width", "ff"), _dims(params), strict=True)),
        "trunk_params": trunk,
        "model_params": total,
        "trunk_bytes": nbytes,
        "weights": len(shared),
        "rss_two_models_mb": (_rss_kb("VmRSS") - rss_start) / 1024,
    }
    with tempfile.TemporaryDirectory(prefix="keras-bench-") as tmp:
        trunk_file = os.path.join(tmp, "trunk.safetensors")
        own_file = os.path.join(tmp, "model.weights.h5")
        transfer.save(source, trunk_file)
        dest.save_weights(own_file)
        out["file_mb"] = {
            "safetensors": os.path.getsize(trunk_file) / 2**20,
            "weights_h5": os.path.getsize(own_file) / 2**20,
        }
        restored, loaded = _interleaved(
            [lambda: transfer.restore(dest, trunk_file), lambda: dest.load_weights(own_file)],
            repeats,
            sync,
        )
        transfer.restore(dest, trunk_file)  # the last round may have ended on load_weights
        got = transfer.variable_map(dest)
        out["restore_bit_equal"] = all(
            _bit_equal(got[k], np.asarray(v.numpy())) for k, v in shared.items()
        )
        out["restore"], out["load_weights"] = restored, loaded
        out["restore_vs_load_weights"] = _ratios(restored, loaded)

    # The same bytes with NumPy: into preallocated arrays (the goal's baseline), and into fresh
    # memory, which is what a copy costs wherever the destination cannot keep its old buffer.
    src_arrays = [np.array(v.numpy()) for v in shared.values()]
    dst_arrays = [np.zeros_like(a) for a in src_arrays]

    def memcpy() -> None:
        for d, s in zip(dst_arrays, src_arrays, strict=True):
            np.copyto(d, s)

    def fresh() -> None:
        for s in src_arrays:
            np.array(s)

    # NumPy asks for transparent huge pages on large arrays; framework weights live in 4 KiB
    # pages, where the same memcpy is slower (more TLB misses). The same copy between NumPy
    # arrays in small pages shows how much of a gap is the pages, not the bytes moved.
    small_src, small_dst = _small_page_arrays(np, src_arrays)

    def memcpy_small() -> None:
        for d, s in zip(small_dst, small_src, strict=True):
            np.copyto(d, s)

    copied, baseline, fresh_copy, small = _interleaved(
        [lambda: transfer.copy(source, dest), memcpy, fresh, memcpy_small], repeats, sync
    )
    got = transfer.variable_map(dest)
    out["copy_bit_equal"] = all(
        _bit_equal(got[k], np.asarray(v.numpy())) for k, v in shared.items()
    )
    out["copy"], out["memcpy"], out["memcpy_fresh"] = copied, baseline, fresh_copy
    out["memcpy_small_pages"] = small
    for row in (copied, baseline, fresh_copy, small):
        row["gb_s_min"] = nbytes / row["min"] / 1e9
        row["gb_s_median"] = nbytes / row["median"] / 1e9
    out["copy_vs_memcpy"] = _ratios(copied, baseline, inverse=True)
    out["copy_vs_memcpy_fresh"] = _ratios(copied, fresh_copy, inverse=True)
    out["copy_vs_memcpy_small_pages"] = _ratios(copied, small, inverse=True)
    if backend == "tensorflow":
        out["deferred"] = _deferred_copy(transfer, source, dest, src_arrays, dst_arrays, repeats)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _small_page_arrays(np: Any, arrays: list[Any]) -> tuple[list[Any], list[Any]]:
    """Copies of `arrays` and zeroed destinations allocated without NumPy's huge-page advice."""
    core = getattr(np, "_core", None) or np.core
    advise = getattr(core.multiarray, "_set_madvise_hugepage", None)
    before = advise(False) if advise else None
    try:
        src = [np.array(a) for a in arrays]
        dst = [np.ones_like(a) for a in arrays]  # written once: every page is mapped
    finally:
        if advise:
            advise(before)
    return src, dst


def _deferred_copy(
    transfer: Any, source: Any, dest: Any, src: list[Any], dst: list[Any], repeats: int
) -> dict[str, Any]:
    """TensorFlow: `copy` shares the source's buffers; the first in-place update of the
    destination (an optimizer step's kind of write) copies them. Measured as copy + one
    `assign_add` of zeros per weight, against the update alone and NumPy copyto + add."""
    import numpy as np
    import tensorflow as tf

    weights = list(transfer.variable_map(dest).values())
    zeros = [tf.zeros(w.shape, w.dtype) for w in weights]
    np_zeros = [np.zeros_like(a) for a in dst]

    def update() -> None:
        for w, z in zip(weights, zeros, strict=True):
            w.value.assign_add(z)  # the tf.Variable's own in-place op, as TF optimizers use

    def copy_update() -> None:
        transfer.copy(source, dest)
        update()

    def numpy_copy_add() -> None:
        for d, s, z in zip(dst, src, np_zeros, strict=True):
            np.copyto(d, s)
            np.add(d, z, out=d)

    both, alone, numpy_both = _interleaved(
        [copy_update, update, numpy_copy_add], repeats, lambda: None
    )
    return {
        "copy_then_update": both,
        "update_alone": alone,
        "numpy_copy_add": numpy_both,
        "vs_numpy": _ratios(both, numpy_both, inverse=True),
    }


# -- in the parent: one subprocess per backend, then rows -------------------------------------


def _child_env(backend: str, devices: int = 1) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    if devices > 1:  # host "devices" for JAX, set before it starts
        flag = f"--xla_force_host_platform_device_count={devices}"
        env["XLA_FLAGS"] = " ".join(f for f in (env.get("XLA_FLAGS", ""), flag) if f)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def run_backend(backend: str, params: float, repeats: int, devices: int = 1) -> dict[str, Any]:
    """One backend's measurements from a fresh interpreter, or {"error": ...}."""
    devices = devices if backend == "jax" else 1
    args = [sys.executable, str(Path(__file__).resolve()), "--child", backend]
    args += ["--params", repr(params), "--repeats", str(repeats), "--jax-devices", str(devices)]
    try:
        done = subprocess.run(
            args,
            env=_child_env(backend, devices),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"backend": backend, "error": f"timed out after {CHILD_TIMEOUT} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"backend": backend, "error": f"exit {done.returncode}: {done.stderr[-3000:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _row(
    name: str, value: float, baseline: float, unit: str, ratios: dict[str, Any], goal: str
) -> dict[str, Any]:
    """A results-table row: the ratio column is the ratio of the medians."""
    low, high = ratios["ratio_rounds"]
    return {
        "name": name,
        "value": value,
        "baseline": baseline,
        "unit": unit,
        "ratio": ratios["ratio_median"],
        "goal": goal,
        "note": f"ratio of minima {ratios['ratio_min']:.2f}, of medians "
        f"{ratios['ratio_median']:.2f}, per-round ratios {low:.2f}-{high:.2f}",
    }


def _small_pages_note(result: dict[str, Any]) -> str:
    """The copy row's comparison with `np.copyto` between arrays in 4 KiB pages, if measured."""
    small = result.get("copy_vs_memcpy_small_pages")
    if not small:
        return ""
    return (
        f"against `np.copyto` between NumPy arrays in 4 KiB pages, as framework weights are "
        f"({result['memcpy_small_pages']['gb_s_median']:.1f} GB/s; the baseline's arrays have "
        f"transparent huge pages): {small['ratio_median']:.2f}; "
    )


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The results table's rows for one backend's measurements."""
    backend = result["backend"]
    if result.get("devices", 1) > 1:
        backend += f", DataParallel on {result['devices']} devices"
    if "error" in result:
        return [
            {
                "name": f"Keras `restore` and `copy` ({backend})",
                "value": None,
                "baseline": None,
                "goal": "not measured",
                "met": None,
                "note": result["error"][-500:],
            }
        ]
    size = f"{result['trunk_params'] / 1e6:.0f}M-parameter trunk"
    restore = _row(
        f"Keras `restore` of a {size} from safetensors / the model's `load_weights` from its "
        f"`.weights.h5` ({backend})",
        result["restore"]["median"],
        result["load_weights"]["median"],
        "s",
        result["restore_vs_load_weights"],
        "<= 1.0",
    )
    restore["met"] = restore["ratio"] <= 1.0
    restore["note"] += (
        f"; values bit-equal after restore: {result['restore_bit_equal']}; peak RSS above the "
        f"RSS before the call: restore {result['restore']['peak_mb']:.0f} MB, load_weights "
        f"{result['load_weights']['peak_mb']:.0f} MB"
    )
    copy = _row(
        f"Keras `copy` bandwidth, {size} / NumPy `np.copyto` of the same bytes ({backend})",
        result["copy"]["gb_s_median"],
        result["memcpy"]["gb_s_median"],
        "GB/s",
        result["copy_vs_memcpy"],
        ">= 0.9",
    )
    copy["met"] = copy["ratio"] >= 0.9
    fresh = result["copy_vs_memcpy_fresh"]
    copy["note"] += (
        f"; against a NumPy copy into fresh memory (`np.array`, "
        f"{result['memcpy_fresh']['gb_s_median']:.1f} GB/s): {fresh['ratio_median']:.2f}; "
        + _small_pages_note(result)
        + f"values bit-equal: {result['copy_bit_equal']}; process peak RSS "
        f"{result['peak_rss_mb']:.0f} MB (two models, the NumPy baselines)"
    )
    copy["note"] += HOW_COPY_MOVES.get(result["backend"], "")
    out = [restore, copy]
    deferred = result.get("deferred")
    if deferred:
        both = deferred["copy_then_update"]
        alone = deferred["update_alone"]
        row = _row(
            f"Keras `copy` then one in-place update of every destination weight (TF "
            f"`assign_add`, which copies a shared buffer) / `np.copyto` + `np.add` ({backend})",
            result["trunk_bytes"] / both["median"] / 1e9,
            result["trunk_bytes"] / deferred["numpy_copy_add"]["median"] / 1e9,
            "GB/s",
            deferred["vs_numpy"],
            "report",
        )
        row["met"] = None
        row["note"] += (
            f"; the update alone took {alone['median']:.3f} s, copy + update "
            f"{both['median']:.3f} s: the deferred copy is the difference"
        )
        out.append(row)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=1e8, help="trunk size (default 1e8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated Keras backends"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--jax-devices",
        type=int,
        default=1,
        help="JAX: replicate the models on this many host devices (keras DataParallel)",
    )
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(args.child, args.params, args.repeats, args.jax_devices)
        print(json.dumps(result), flush=True)
        return 0
    results = []
    for backend in args.backends.split(","):
        print(f"keras_transfer: {backend} backend ...", file=sys.stderr, flush=True)
        results.append(run_backend(backend, args.params, args.repeats, args.jax_devices))
    table = [row for result in results for row in rows(result)]
    payload = {
        "rows": table,
        "results": results,
        "params": args.params,
        "repeats": args.repeats,
        "jax_devices": args.jax_devices,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    for row in table:
        print(f"{row['name']}: {row.get('ratio')}  ({row['note']})")
    return 0 if all("error" not in result for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
