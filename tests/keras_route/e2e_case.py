"""Keras 3 end to end, in a subprocess: train a routed model, move its shared layers, compare.

Usage: python e2e_case.py PROJECT PLAIN  (PROJECT: synced by the real CLI, with generated/;
PLAIN: the same model files unrouted). Runs with KERAS_BACKEND set and without
TF_USE_LEGACY_KERAS. Prints one JSON object: {"checks": {name: bool}, "notes": {...}}.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

PROJECT, PLAIN = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(PROJECT))

import generated  # noqa: E402, F401  (first: it must not change which Keras comes next)

checks: dict[str, bool] = {"env_unset": "TF_USE_LEGACY_KERAS" not in os.environ}

import keras  # noqa: E402
import numpy as np  # noqa: E402

checks["keras3"] = keras.__version__.startswith("3.")
rng = np.random.default_rng(0)
X = rng.integers(0, 2000, size=(32, 16)).astype("int32")


def load(root: Path, name: str) -> ModuleType:
    path = root / "models" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"m_{root.name}_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def labels(model: keras.Model) -> np.ndarray:
    shape = model.output_shape
    size = (len(X), shape[1]) if len(shape) == 3 else (len(X),)
    return rng.integers(0, 2, size=size).astype("int32")


def fit(model: keras.Model, y: np.ndarray) -> list[float]:
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    return [float(v) for v in model.fit(X, y, epochs=2, batch_size=8, verbose=0).history["loss"]]


def transfer(source: str, target: str, keys: int) -> None:
    """Train `source`, save its shared layers, restore them into a fresh `target`."""
    src_shim = importlib.import_module(f"generated.{source}_transfer")
    dst_shim = importlib.import_module(f"generated.{target}_transfer")
    src = load(PROJECT, source).build_model()
    fit(src, labels(src))
    path = src_shim.save(src, Path(tempfile.mkdtemp()) / "trunk.safetensors")
    dst = load(PROJECT, target).build_model()
    shared = {id(v) for v in dst_shim.transferable_variables(dst)}
    head = {v.path: np.array(v.numpy()) for v in dst.weights if id(v) not in shared}
    report = dst_shim.restore(dst, path)
    want = {k: np.asarray(v.numpy()) for k, v in src_shim.variable_map(src).items()}
    got = {k: np.asarray(v.numpy()) for k, v in dst_shim.variable_map(dst).items()}
    name = f"{source}_to_{target}"
    # At least: a scan that sees more (custom layer classes as a whole) shares more.
    checks[f"{name}_keys"] = len(report.restored) >= keys and not report.mismatched
    checks[f"{name}_equal"] = want.keys() == got.keys() and all(
        np.array_equal(want[k], got[k]) for k in want
    )
    checks[f"{name}_head_untouched"] = all(
        np.array_equal(v.numpy(), head[v.path]) for v in dst.weights if id(v) not in shared
    )
    fit(dst, labels(dst))  # the destination trains after the restore


def same_model(name: str) -> None:
    """Routing leaves save_weights' layout, get_config/from_config and eager fit unchanged."""
    seen = []
    for root in (PROJECT, PLAIN):
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)
        module = load(root, name)
        model = module.build_model()
        layout = [v.path for v in model.weights]
        config = model.get_config()
        custom = {"ConvBlock": module.ConvBlock} if hasattr(module, "ConvBlock") else None
        again = model.__class__.from_config(config, custom_objects=custom)
        model.compile(
            optimizer="sgd",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            run_eagerly=True,
        )
        keras.utils.set_random_seed(2)
        y = np.random.default_rng(3).integers(0, 2, size=labels(model).shape).astype("int32")
        losses = model.fit(X, y, epochs=1, batch_size=8, verbose=0, shuffle=False).history["loss"]
        weights_file = Path(tempfile.mkdtemp()) / "own.weights.h5"
        model.save_weights(weights_file)
        seen.append(
            (
                layout,
                json.dumps(config, sort_keys=True, default=str),
                [v.path for v in again.weights],
                losses,
            )
        )
    routed, plain = seen
    checks[f"{name}_layout"] = routed[0] == plain[0] and routed[2] == plain[2]
    checks[f"{name}_config"] = routed[1] == plain[1]
    checks[f"{name}_fit"] = routed[3] == plain[3]


keras.utils.set_random_seed(0)
transfer("seq_cnn", "func_cnn", 3)  # Embedding v0, Conv1D kernel and bias
transfer("tagger", "chunker", 7)  # the encoder: embedding, two LSTM directions of 3 weights
for model_name in ("seq_cnn", "func_cnn", "tagger"):
    same_model(model_name)
print(json.dumps({"checks": checks}))
