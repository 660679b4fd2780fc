"""A subclassed Keras model routed by apply (entry on `__init__`, marks on `self.x = ...`),
in a subprocess: it constructs, keeps its layout and config, and takes seq_cnn's trained layers.

Usage: python subclassed_case.py PROJECT PLAIN  (KERAS_BACKEND set, no TF_USE_LEGACY_KERAS).
Prints one JSON object: {"checks": {name: bool}}.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from types import ModuleType

PROJECT, PLAIN = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(PROJECT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from generated import seq_cnn_transfer, sub_cnn_transfer  # noqa: E402

X = np.random.default_rng(0).integers(0, 2000, size=(16, 16)).astype("int32")
checks: dict[str, bool] = {}


def load(root: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"s_{root.name}_{name}", root / "models" / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


seen = []
for root in (PROJECT, PLAIN):
    keras.backend.clear_session()
    model = load(root, "sub_cnn.py").SubCNN(name="sub")
    model(X[:1])
    config = model.get_config()
    again = model.__class__.from_config(config)
    again(X[:1])
    seen.append(([v.path for v in model.weights], json.dumps(config, sort_keys=True, default=str)))
    seen.append(([v.path for v in again.weights], ""))
checks["layout"] = seen[0][0] == seen[2][0] and seen[1][0] == seen[3][0]
checks["config"] = seen[0][1] == seen[2][1]

keras.backend.clear_session()
source = load(PROJECT, "seq_cnn.py").build_model()
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
source.compile(optimizer="sgd", loss=loss)
source.fit(X, np.zeros(len(X), dtype="int32"), epochs=1, verbose=0)
path = seq_cnn_transfer.save(source, Path(tempfile.mkdtemp()) / "trunk.safetensors")
target = load(PROJECT, "sub_cnn.py").SubCNN()
target(X[:1])  # built: weights exist only after the first call
head = np.array(target.head.kernel.numpy())
report = sub_cnn_transfer.restore(target, path)
want = seq_cnn_transfer.variable_map(source)
got = sub_cnn_transfer.variable_map(target)
checks["restored"] = len(report.restored) == 3 and not report.mismatched
checks["equal"] = want.keys() == got.keys() and all(
    np.array_equal(np.asarray(want[k].numpy()), np.asarray(got[k].numpy())) for k in want
)
checks["head_untouched"] = np.array_equal(target.head.kernel.numpy(), head)
target.compile(optimizer="sgd", loss=loss, run_eagerly=True)
target.fit(X, np.zeros(len(X), dtype="int32"), epochs=1, verbose=0)
print(json.dumps({"checks": checks}))
