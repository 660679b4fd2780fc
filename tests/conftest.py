"""Shared test setup: legacy Keras for tf.compat.v1.layers, repo paths, helpers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Set before anything imports TensorFlow: tf.compat.v1.layers needs tf-keras under TF >= 2.16.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
# Fixture trees that the tests scan, never run (realcode has a TF unit test of its own).
collect_ignore_glob = ["realcode/*", "realcode_imports/*"]
MODELS = REPO / "models"
TEMPLATES = REPO / "templates"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _generated_modules() -> dict[str, object]:
    return {n: m for n, m in sys.modules.items() if n == "generated" or n.startswith("generated.")}


@contextlib.contextmanager
def synced_copy_of_models(root: Path) -> Iterator[Path]:
    """The example models as users write them, `codegen sync`ed in `root` (the cwd meanwhile), with
    the `generated` package importable from there only (the repo's own is put back afterwards)."""
    from codegen.cli import main
    from codegen.demo import unrouted_copy

    unrouted_copy(MODELS, root)
    monkey = pytest.MonkeyPatch()
    monkey.chdir(root)
    assert main(["sync", "--no-cache"]) == 1  # it wrote generated/ and routed the models
    saved = _generated_modules()
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in _generated_modules():
            del sys.modules[name]
        sys.modules.update(saved)  # type: ignore[arg-type]
        monkey.undo()


def sigkill_when(
    process: subprocess.Popen[bytes], condition: Callable[[], bool], deadline: float
) -> tuple[str, float]:
    """SIGKILL `process` and its session once `condition()` holds or `deadline` s pass."""
    started = time.monotonic()
    how = "deadline"
    while process.poll() is None:
        if condition():
            how = "condition"
            break
        if time.monotonic() - started > deadline:
            break
        time.sleep(0.0005)
    elapsed = time.monotonic() - started
    finished_first = process.poll() is not None
    process.kill()  # the fault under test: SIGKILL of codegen itself
    process.wait()
    try:  # belt and braces: its workers exit on their own too
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return ("finished" if finished_first else how), elapsed
