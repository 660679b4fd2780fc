"""The transfer half of `codegen demo`: train one model briefly, move its shared layers to another.

`codegen demo` writes this source verbatim into its temporary project, followed by one call of
`main` with the pair of models it picked, and runs it from the project folder (the script's
folder, first on sys.path, so `generated` imports), with only TensorFlow needed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
from types import ModuleType
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf  # type: ignore[import-untyped]

SEQ_LEN = 16
BATCH = 8


def load(path: str) -> ModuleType:
    """Import a model file by path (models/ need not be a package)."""
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Built:
    """A model in a fresh graph and session, with an optimizer and initialised variables."""

    def __init__(self, module: ModuleType, build_name: str) -> None:
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(0)
            self.ids = tf.compat.v1.placeholder(tf.int32, [None, SEQ_LEN])
            self.labels = tf.compat.v1.placeholder(tf.int32, [None])
            entry = getattr(module, build_name)
            built = entry(self.ids, self.labels)
            # A class model builds in its constructor and keeps its tensors; a build function
            # returns them.
            self.logits, loss = (built.logits, built.loss) if isinstance(entry, type) else built
            self.train = tf.compat.v1.train.AdamOptimizer(1e-2).minimize(loss)
            init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(init)

    def values(self) -> dict[str, Any]:
        """Every global variable's value by its own name."""
        with self.graph.as_default():
            variables = tf.compat.v1.global_variables()
        return dict(zip([v.op.name for v in variables], self.session.run(variables), strict=True))

    def own_names(self, shim: ModuleType) -> dict[str, str]:
        """{canonical key: the variable's own name} of the shim's transferable variables."""
        mapping = shim.variable_map(self.graph)
        return {key: var.op.name for key, var in mapping.items()}


def main(
    *,
    source: str,
    target: str,
    source_path: str,
    target_path: str,
    source_build: str,
    target_build: str,
    source_shim: str,
    target_shim: str,
) -> int:
    """Train `source` for 5 steps, restore its shared layers into `target`, check, copy."""
    shim_a = importlib.import_module(f"generated.{source_shim}")
    shim_b = importlib.import_module(f"generated.{target_shim}")

    a = Built(load(source_path), source_build)
    rng = np.random.default_rng(0)
    n_classes = int(a.logits.shape[-1])
    for _ in range(5):
        a.session.run(
            a.train,
            {
                a.ids: rng.integers(0, 20000, (BATCH, SEQ_LEN)),
                a.labels: rng.integers(0, n_classes, BATCH),
            },
        )
    trained = a.values()
    names_a = a.own_names(shim_a)
    checkpoint = shim_a.save(a.session, os.path.join(tempfile.mkdtemp(), "shared"))
    print(f"trained {source} for 5 steps; saved {len(names_a)} shared variables to {checkpoint}")

    b = Built(load(target_path), target_build)
    fresh = b.values()
    report = shim_b.restore(b.session, checkpoint)
    print()
    print(f"restore report for {target}:")
    print(report)
    after = b.values()
    names_b = b.own_names(shim_b)
    restored = {names_b[key]: names_a[key] for key in report.keys()}
    equal = all(np.array_equal(after[mine], trained[theirs]) for mine, theirs in restored.items())
    kept = all(np.array_equal(after[name], fresh[name]) for name in after if name not in restored)
    print()
    print(f"check: {len(restored)} restored variables equal {source}'s trained values: {equal}")
    print(f"check: {len(after) - len(restored)} other variables kept their fresh values: {kept}")

    c = Built(load(target_path), target_build)
    copied = shim_b.copy(a.session, c.session)
    moved = c.values()
    names_c = c.own_names(shim_b)
    same = all(np.array_equal(moved[names_c[key]], trained[names_a[key]]) for key in copied.keys())
    print(
        f"check: in-memory copy (no file) moved {len(copied.restored)} variables, "
        f"equal to the trained values: {same}"
    )
    return 0 if (equal and kept and same and restored) else 1
