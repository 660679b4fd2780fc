"""bench/keras_transfer.py: its ratios and sizes, and an end-to-end run at a tiny size on every
installed backend (slow; nothing timed)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "keras_transfer.py"

sys.path.insert(0, str(REPO / "bench"))

import keras_transfer  # noqa: E402  (stdlib imports only: Keras loads in the child process)


@pytest.mark.parametrize("params", [1e6, 1e7, 1e8])
def test_the_trunk_holds_about_the_parameters_asked_for(params: float) -> None:
    vocab, width, ff = keras_transfer._dims(params)
    trunk = vocab * width + (3 * width * width + width) + (width * ff + ff) + (ff * width + width)
    assert abs(trunk - params) <= width


def test_ratios_pair_rounds_and_invert_for_bandwidth() -> None:
    ours = {"samples": [1.0, 2.0, 4.0], "min": 1.0, "median": 2.0}
    base = {"samples": [2.0, 2.0, 2.0], "min": 2.0, "median": 2.0}
    times = keras_transfer._ratios(ours, base)
    assert times == {"ratio_min": 0.5, "ratio_median": 1.0, "ratio_rounds": [0.5, 2.0]}
    bandwidth = keras_transfer._ratios(ours, base, inverse=True)
    assert bandwidth == {"ratio_min": 2.0, "ratio_median": 1.0, "ratio_rounds": [0.5, 2.0]}


def test_each_child_gets_keras_3_and_jax_its_host_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    jax = keras_transfer._child_env("jax", 2)
    assert "TF_USE_LEGACY_KERAS" not in jax and jax["KERAS_BACKEND"] == "jax"
    assert jax["XLA_FLAGS"].split() == [
        "--xla_cpu_enable_fast_math=false",
        "--xla_force_host_platform_device_count=2",
    ]
    tf = keras_transfer._child_env("tensorflow")
    assert tf["KERAS_BACKEND"] == "tensorflow" and "device_count" not in tf["XLA_FLAGS"]


def test_a_backend_that_failed_is_one_row_not_measured() -> None:
    [row] = keras_transfer.rows({"backend": "jax", "error": "exit 1: no jax"})
    assert row["goal"] == "not measured" and row["met"] is None and "no jax" in row["note"]


def _backends() -> str:
    optional = [name for name in ("jax", "torch") if importlib.util.find_spec(name)]
    return ",".join(["tensorflow", *optional])


@pytest.mark.slow
@pytest.mark.tf
def test_keras_benchmark_runs_end_to_end_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "keras_transfer.json"
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["PYTHONPATH"] = str(REPO)
    backends = _backends()
    args = ["--params", "1e6", "--repeats", "1", "--backends", backends, "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    payload = json.loads(out.read_text())
    results = {result["backend"]: result for result in payload["results"]}
    assert set(results) == set(backends.split(","))
    for result in results.values():
        # The trunk is the four marked layers: about the size asked for, the head outside it.
        assert 0.8e6 <= result["trunk_params"] <= 1.2e6
        assert result["model_params"] > result["trunk_params"]
        assert result["weights"] == 7
        assert result["restore_bit_equal"] and result["copy_bit_equal"]
        assert result["file_mb"]["safetensors"] * 2**20 >= result["trunk_bytes"]
        for step in ("restore", "load_weights", "copy", "memcpy", "memcpy_fresh"):
            assert len(result[step]["samples"]) == 1
            assert result[step]["min"] > 0
    assert "deferred" in results["tensorflow"]
    rows = payload["rows"]
    assert len(rows) == 3 + 2 * ("jax" in results) + 2 * ("torch" in results)
    for row in rows:
        assert row["ratio"] > 0 and row["goal"] in ("<= 1.0", ">= 0.9", "report"), row
        assert "per-round ratios" in row["note"]
