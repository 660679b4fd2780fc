"""Keras family runtime on the PyTorch backend: real training, save/restore, copy, freeze, the
mismatch file, bfloat16, and transfer files crossing TensorFlow -> torch -> JAX bit-equal.

Each backend runs in its own subprocess (tests/keras_cases/torch_cases.py, which reuses the
models and backend-independent cases of tests/keras_cases/cases.py) with KERAS_BACKEND set and
without TF_USE_LEGACY_KERAS, as in tests/test_runtime_keras.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "tests" / "keras_cases" / "torch_cases.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed (pip install torch: the CPU build is enough)",
)

# From cases.py, on torch: the same models and checks the TF and JAX backends pass.
SHARED_CASES = (
    "seq_to_functional",
    "subclassed_renamed_and_copy",
    "mismatch_changes_nothing",
    "freeze",
    "unbuilt_raises",
    "outside_entry",
    "routing_changes_nothing",
)
# From torch_cases.py.
TORCH_CASES = (
    "torch_weights_stay_parameters",
    "copy_is_an_assign",
    "bfloat16_round_trip",
    "save_from_torch",
)


def _run(backend: str, out: Path, cases: tuple[str, ...], **extra: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", **extra)
    done = subprocess.run(
        [sys.executable, str(CASES), str(out), *cases],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    rows = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["case"]] = row
    assert rows, f"no case ran (rc {done.returncode}):\n{done.stderr[-4000:]}"
    return rows


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keras_torch")


@pytest.fixture(scope="module")
def torch_rows(out: Path) -> dict[str, Any]:
    """Every torch-backend case, in one subprocess (one start-up on a busy machine)."""
    return _run("torch", out, (*SHARED_CASES, *TORCH_CASES))


def _ok(rows: dict[str, Any], case: str) -> None:
    row = rows.get(case)
    assert row is not None, f"case {case} did not report (the process died before it)"
    assert row["ok"], row["error"]


@pytest.mark.parametrize("case", SHARED_CASES + TORCH_CASES)
def test_keras3_torch_backend(torch_rows: dict[str, Any], case: str) -> None:
    _ok(torch_rows, case)


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="no tensorflow")
def test_file_saved_on_tensorflow_restores_bit_equal_on_torch(out: Path) -> None:
    _ok(_run("tensorflow", out, ("save_for_torch",)), "save_for_torch")
    _ok(_run("torch", out, ("restore_from_tf",)), "restore_from_tf")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_file_saved_on_torch_restores_bit_equal_on_jax(
    out: Path, torch_rows: dict[str, Any]
) -> None:
    _ok(torch_rows, "save_from_torch")
    _ok(_run("jax", out, ("restore_from_torch",)), "restore_from_torch")
