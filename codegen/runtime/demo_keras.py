"""The Keras half of `codegen demo`: fit one Keras 3 model, move its shared layers to another.

`codegen demo` writes this source verbatim into its temporary project, followed by one call of
`main`, and runs it in a child process of its own (Keras 3, without TF_USE_LEGACY_KERAS, apart
from the tf-keras TF1 half).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
from types import ModuleType
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # type: ignore[import-untyped, import-not-found, unused-ignore]
import numpy as np


def load(path: str) -> ModuleType:
    """Import a model file by path (models/ need not be a package)."""
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _labels(model: Any, rng: np.random.Generator, batch: int) -> np.ndarray:
    shape = model.output_shape
    size = (batch, shape[1]) if len(shape) == 3 else (batch,)
    return rng.integers(0, 2, size=size).astype("int32")


def main(
    *,
    source: str,
    target: str,
    source_path: str,
    target_path: str,
    source_shim: str,
    target_shim: str,
) -> int:
    """Fit the source, save its shared layers, restore them into the target; 0 when equal."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 1000, size=(64, 16)).astype("int32")
    source_transfer = importlib.import_module(f"generated.{source_shim}")
    target_transfer = importlib.import_module(f"generated.{target_shim}")
    source_model = load(source_path).build_model()
    source_model.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = source_model.fit(tokens, _labels(source_model, rng, 64), epochs=2, verbose=0)
    loss = history.history["loss"][-1]
    print(f"fit {source}: loss {loss:.4f} (Keras {keras.__version__})")
    path = source_transfer.save(source_model, os.path.join(tempfile.mkdtemp(), "trunk.safetensors"))
    target_model = load(target_path).build_model()
    report = target_transfer.restore(target_model, path)
    print(report)
    want = source_transfer.variable_map(source_model)
    got = target_transfer.variable_map(target_model)
    equal = want.keys() == got.keys() and all(
        np.array_equal(np.asarray(want[k].numpy()), np.asarray(got[k].numpy())) for k in want
    )
    print(f"{len(got)} shared weights of {target} now equal the trained ones: {equal}")
    return 0 if equal and report.restored else 1
