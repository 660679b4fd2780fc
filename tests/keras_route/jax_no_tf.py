"""A Keras shim on a machine without TensorFlow: JAX backend, `tensorflow` made unimportable.

Usage: python jax_no_tf.py REPO  (KERAS_BACKEND=jax). Prints: backend, keys restored, whether
TensorFlow got imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import tempfile


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Every `import tensorflow...` fails, as on a machine that never installed it."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("no TensorFlow on this machine")
        return None


sys.meta_path.insert(0, _NoTensorFlow())
REPO = sys.argv[1]
sys.path.insert(0, REPO)

import keras  # noqa: E402

import generated.seq_cnn_transfer as shim  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "seq_cnn", os.path.join(REPO, "models", "keras_family", "seq_cnn.py")
)
assert spec is not None and spec.loader is not None
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
source = module.build_model()
path = shim.save(source, os.path.join(tempfile.mkdtemp(), "trunk.safetensors"))
report = shim.restore(module.build_model(), path)
print(keras.backend.backend(), len(report.restored), "tensorflow" in sys.modules)
