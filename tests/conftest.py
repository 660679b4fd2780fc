"""Shared test setup: legacy Keras for tf.compat.v1.layers, repo paths, helpers."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

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


@contextlib.contextmanager
def synced_fixture_tree(
    source: Path, root: Path, *, packages: tuple[str, ...] = ("generated",), on_path: bool = False
) -> Iterator[Path]:
    """A fixture tree of models copied to `root/models` and routed by the real `codegen sync`
    (twice: the second writes nothing), `check` clean, then importable from `root` (and from
    `root/models` with `on_path`); the modules of `packages` are imported afresh from there and
    the previous ones put back afterwards."""
    from codegen.cli import main

    shutil.copytree(source, root / "models")
    monkey = pytest.MonkeyPatch()
    monkey.chdir(root)
    try:
        assert main(["sync", "--no-cache"]) == 1  # wrote generated/ and routed the models
        assert main(["sync", "--no-cache"]) == 0
        assert main(["check", "--no-cache"]) == 0
    finally:
        monkey.undo()
    ours = [n for n in sys.modules if n.split(".")[0] in packages]
    saved = {n: sys.modules.pop(n) for n in ours}
    paths = [str(root), str(root / "models")] if on_path else [str(root)]
    sys.path[:0] = paths
    try:
        yield root
    finally:
        for path in paths:
            sys.path.remove(path)
        for name in [n for n in sys.modules if n.split(".")[0] in packages]:
            del sys.modules[name]
        sys.modules.update(saved)


def load_model_file(project: Path, stem: str, prefix: str) -> ModuleType:
    """Import `project/models/<stem>.py` by path, as `<prefix>_<stem>` (models/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        f"{prefix}_{stem}", project / "models" / f"{stem}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


# --- Test lanes ---------------------------------------------------------------------------------
# `pytest -m "not slow"` is the inner loop (under 90 s on a shared 2-core box); CI runs every lane.
# Lanes are given here, by module and by test function, from `--durations` measurements, rather
# than in each file; a test may also carry the mark itself. A module that imports TensorFlow at
# its top is `tf` without being listed.
SLOW_MODULES: dict[str, str] = {
    "test_fuzz.py": "about 4,700 fuzzed inputs through the scanner and the pipeline",
    "test_robustness.py": "fault injection: SIGKILLs, concurrent emits, failing file systems",
    "test_sacred.py": "real sync processes racing edits, checkouts and SIGKILLs",
    "test_precommit.py": "real pre-commit runs that pip-install the hook",
    "test_transfer_e2e.py": "TensorFlow models built, trained and transferred end to end",
    "test_route_e2e.py": "TensorFlow models routed, built and transferred end to end",
    "test_classifier_family_e2e.py": "a copied classifier family synced, trained and transferred",
    "test_drivers_e2e.py": "TensorFlow models that only drivers build, routed and transferred",
    "test_backbone_e2e.py": "TensorFlow pretraining and two heads over a backbone two imports away",
    "test_positions.py": "every fixture file scanned and synced with each of 8 control characters",
    "test_printer.py": "every repository file printed back through the position printer",
    "test_nearmiss_bound.py": "both near-miss scorers over generated corpora",
    "test_runtime_keras.py": "Keras 3 models trained in a subprocess per backend",
    "test_keras_e2e.py": "real `codegen sync`, then Keras 3 training of every sharing pair",
    "test_runtime_keras_torch.py": "Keras 3 models trained on the torch backend, in subprocesses",
    "test_warm_path.py": "a fresh interpreter per command, to see which modules it loads",
    "test_hf_copies.py": "transformers' TF model files downloaded, extracted and scanned",
    "test_incremental.py": "random edits, each followed by warm and cold builds, checks, scans",
}
SLOW_TESTS: dict[str, frozenset[str]] = {
    "test_keras_route.py": frozenset(
        {
            "test_cli_sync_then_real_keras_transfer",
            "test_a_keras_shim_needs_no_tensorflow",
            "test_codegen_demo_moves_the_keras_layers_too",
            "test_importing_generated_changes_no_keras",
            "test_a_routed_subclassed_model_constructs_and_takes_a_sequential_trunk",
        }
    ),
    "test_keras_call_order.py": frozenset(
        {"test_a_method_chain_model_transfers_its_shared_layers_in_keras_3"}
    ),
    "test_parser.py": frozenset({"test_every_repository_source_parses_to_the_same_tree"}),
    "test_realcode.py": frozenset(
        {"test_sync_on_the_tree_routes_only_what_it_can_and_writes_valid_code"}
    ),
}
NETWORK_MODULES: dict[str, str] = {
    "test_precommit.py": "pre-commit pip-installs the hook's environment from PyPI",
    "test_hf_copies.py": "pip downloads transformers 4.46.3 (cached after the first run)",
}
TF_PACKAGES = frozenset({"tensorflow", "tf_keras", "keras"})


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# Without TensorFlow these cannot even be imported; `-m "not tf"` still runs everything else.
collect_ignore = [] if _installed("tensorflow") else ["test_models_train.py"]


def _imports_tensorflow(module: object) -> bool:
    return any(
        isinstance(value, ModuleType) and value.__name__.partition(".")[0] in TF_PACKAGES
        for value in vars(module).values()
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects on these marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put each test in its lanes: slow, network and tf."""
    seen: set[str] = set()
    for item in items:
        name = item.path.name
        module = getattr(item, "module", None)
        if module is not None and name not in seen:
            seen.add(name)
            stale = sorted(f for f in SLOW_TESTS.get(name, ()) if not hasattr(module, f))
            if stale:
                raise pytest.UsageError(f"conftest SLOW_TESTS names tests {name} lacks: {stale}")
        function = getattr(item, "originalname", item.name)
        if name in SLOW_MODULES or function in SLOW_TESTS.get(name, ()):
            item.add_marker(pytest.mark.slow)
        if name in NETWORK_MODULES:
            item.add_marker(pytest.mark.network)
        if module is not None and _imports_tensorflow(module):
            item.add_marker(pytest.mark.tf)


@pytest.fixture(autouse=True, scope="session")
def _user_cache_in_a_temp_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A tree without [tool.codegen] caches in the user's cache folder: never the real one here
    (subprocesses inherit the variable)."""
    saved = os.environ.get("LAYERSHARE_CACHE_DIR")
    os.environ["LAYERSHARE_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if saved is None:
        os.environ.pop("LAYERSHARE_CACHE_DIR", None)
    else:
        os.environ["LAYERSHARE_CACHE_DIR"] = saved
