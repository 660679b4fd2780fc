"""Keras 3 end to end through the real CLI (issue 21's list): `codegen sync` on a copy of
tests/keras_e2e/models, then every sharing pair trained, saved, restored and frozen in one
Keras 3 child process (no TF_USE_LEGACY_KERAS), a MirroredStrategy destination, a file saved on
TensorFlow restored on JAX, and un-routing back to the original bytes."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codegen import pipeline
from codegen.apply.rewrite import Applied, unroute
from codegen.config import Config
from codegen.plan.planner import model_edits

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "keras_e2e" / "models"
CASE = REPO / "tests" / "keras_e2e" / "pairs_case.py"

# The scan's shared depth of every pair that shares (pooling layers count as layers). Every
# other pair of models, block_a/block_near (kernel 3 vs 5) and vocab_20k/vocab_30k included,
# shares nothing.
DEPTHS = {
    ("block_a.py::build_model", "block_b.py::build_model"): 2,  # ConvBlock, pooling
    ("enc_chunker.py::build_model", "enc_tagger.py::build_model"): 1,  # build_encoder
    ("func_cnn.py::build_model", "seq_cnn.py::build_model"): 3,
    ("func_cnn.py::build_model", "sub_cnn.py::SubCNN"): 3,
    ("func_cnn.py::build_model", "sub_renamed.py::TextNet"): 3,
    ("scale_a.py::build_model", "scale_b.py::build_model"): 1,  # Scale (add_weight in build)
    ("seq_cnn.py::build_model", "sub_cnn.py::SubCNN"): 3,
    ("seq_cnn.py::build_model", "sub_renamed.py::TextNet"): 3,
    ("spell_keras.py::build_model", "spell_tfkeras.py::build_model"): 3,
    ("sub_cnn.py::SubCNN", "sub_renamed.py::TextNet"): 3,  # heads differ: Dense(3), Dense(4)
}
# Weights moved per pair, read from the models: Embedding 1 + Conv1D 2; the encoder's Embedding
# 1 + two LSTM directions of 3; ConvBlock's Conv1D 2 + LayerNormalization 2; Scale's kernel.
MOVED = {
    "seq_cnn->func_cnn": 3,
    "seq_cnn->sub_cnn": 3,
    "sub_cnn->sub_renamed": 3,
    "enc_tagger->enc_chunker": 7,
    "block_a->block_b": 4,
    "scale_a->scale_b": 1,
    "spell_tfkeras->spell_keras": 3,
}
UNSHARED = ("block_near", "vocab_20k", "vocab_30k")


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _keras_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    return env


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project holding a copy of the fixture models, scanned, then synced by the real CLI."""
    project = tmp_path_factory.mktemp("keras_e2e")
    shutil.copytree(FIXTURE, project / "models")
    scan = _cli(project, "scan", "models", "--json", "--no-cache")
    report = json.loads(scan.stdout)
    depths = {
        (d["a"].removeprefix("models/"), d["b"].removeprefix("models/")): d["depth"]
        for d in report["shared_depth"]
        if d["depth"]
    }
    assert depths == DEPTHS  # a scanner regression fails here, before anything trains
    near = {(n["a"], n["b"]): n for n in report["near_misses"]}
    block = near[("models/block_a.py::ConvBlock", "models/block_near.py::ConvBlock")]
    assert "layers.Conv1D(filters, 3," in block["diff"] and "Conv1D(filters, 5," in block["diff"]
    first = {m["id"]: m["layers"][0] for m in report["models"]}
    for vocab in (20000, 30000):  # the literal that keeps the two apart is the one read
        embedding = first[f"models/vocab_{vocab // 1000}k.py::build_model"]
        assert embedding["callee"] == "keras.layers.Embedding"
        assert embedding["args"]["#0"] == vocab
    sync = _cli(project, "sync", "--no-cache")
    assert sync.returncode == 1, sync.stdout + sync.stderr  # 1: it wrote something
    check = _cli(project, "check", "--no-cache")
    assert check.returncode == 0, check.stdout + check.stderr
    return project


def test_sync_routes_the_sharing_files_and_leaves_the_others(synced: Path) -> None:
    for path in sorted(FIXTURE.glob("*.py")):
        routed = (synced / "models" / path.name).read_text(encoding="utf-8")
        shim = synced / "generated" / f"{path.stem}_transfer.py"
        if path.stem in UNSHARED:  # the tool's word on these: no shim, not one byte changed
            assert routed == path.read_text(encoding="utf-8") and not shim.exists()
        else:
            assert f"{path.stem}_transfer.layer(" in routed and shim.exists(), path.name


def _child(project: Path, out: Path, backend: str) -> dict[str, Any]:
    """pairs_case.py in a fresh Keras 3 process on `backend`; its JSON answer."""
    args = [
        sys.executable,
        str(CASE),
        str(project),
        str(out),
        *(["jax"] if backend == "jax" else []),
    ]
    env = {**_keras_env(), "KERAS_BACKEND": backend}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["keras"].startswith("3.") and result["backend"] == backend
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the TensorFlow child leaves its transfer files for the JAX one."""
    return tmp_path_factory.mktemp("transfer_files")


@pytest.fixture(scope="module")
def trained(synced: Path, files: Path) -> dict[str, Any]:
    return _child(synced, files, "tensorflow")


@pytest.mark.parametrize("pair", sorted(MOVED))
def test_exactly_the_shared_layers_move_and_only_the_head_trains(
    trained: dict[str, Any], pair: str
) -> None:
    facts = trained[pair]
    # Every shared key of the destination came from the file, nothing else: same keys on both
    # sides, none missing, none unexpected, none mismatched.
    assert len(facts["restored"]) == MOVED[pair]
    assert facts["restored"] == facts["dst_keys"] == facts["src_keys"]
    assert not facts["missing"] and not facts["unexpected"] and not facts["mismatched"]
    assert facts["shared_are_the_restored"]
    assert facts["moved_equal"] and facts["moved_changed"]  # bit-equal to trained, not to fresh
    assert facts["rest_fresh"]  # every other weight kept its fresh value
    # freeze: the trainable weights are exactly the head's; a later fit moves them and no other.
    assert facts["trainable_is_head"] and facts["frozen_kept"] and facts["head_trained"]


def test_a_wrong_shape_in_the_file_raises_and_changes_nothing(trained: dict[str, Any]) -> None:
    assert trained["mismatch"] == {"raised": True, "names_it": True, "unchanged": True}


def test_a_mirrored_strategy_destination_takes_the_file(trained: dict[str, Any]) -> None:
    assert trained["mirrored"] == {"restored": 3, "equal": True, "replicas": 2}


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_a_file_saved_on_tensorflow_restores_bit_equal_on_jax(
    synced: Path, files: Path, trained: dict[str, Any]
) -> None:
    assert _child(synced, files, "jax")["jax"] == {"restored": 3, "equal": True}


def test_unrouting_gives_back_the_original_bytes(synced: Path, tmp_path: Path) -> None:
    """The unroute API on every routed file, and `codegen sync` after a partner is removed."""
    project = tmp_path / "project"
    shutil.copytree(synced, project, ignore=shutil.ignore_patterns(".codegen*", "__pycache__"))
    config = Config(root=str(project))
    plan = pipeline.scan(["models"], config, use_cache=False).plan
    edits = model_edits(plan, pipeline.plan_options(config))
    unrouted = 0
    for edit in edits:
        source = (project / edit.path).read_text(encoding="utf-8")
        back = unroute(source, edit)
        if isinstance(back, Applied):
            unrouted += 1
            assert back.new_source == (FIXTURE / Path(edit.path).name).read_text(encoding="utf-8")
    assert unrouted == len(list(FIXTURE.glob("*.py"))) - len(UNSHARED)
    # Removing scale_b takes away scale_a's only partner: sync un-routes scale_a, deletes its shim.
    (project / "models" / "scale_b.py").unlink()
    sync = _cli(project, "sync", "--no-cache")
    assert sync.returncode == 1, sync.stdout + sync.stderr
    assert (project / "models" / "scale_a.py").read_bytes() == (FIXTURE / "scale_a.py").read_bytes()
    assert not (project / "generated" / "scale_a_transfer.py").exists()
    assert not (project / "generated" / "scale_b_transfer.py").exists()
    assert _cli(project, "check", "--no-cache").returncode == 0
