"""The routed tests/keras_call_order models in one Keras 3 process (no TF_USE_LEGACY_KERAS).

Usage: python transfer_case.py PROJECT OUT. Builds chain_a and chain_b, saves chain_a's shared
layers through its shim, restores them into chain_b through its shim, and prints one JSON object
of facts: which keys moved and whether each layer of chain_b holds chain_a's values."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

PROJECT, OUT = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(PROJECT))

import keras  # noqa: E402
import numpy as np  # noqa: E402


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PROJECT / "models" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tokens = np.random.default_rng(0).integers(0, 500, size=(4, 10)).astype("int32")
keras.utils.set_random_seed(1)
src = load("chain_a").Encoder()
src(tokens)
keras.utils.set_random_seed(2)
dst = load("chain_b").Encoder()
dst(tokens)
src_shim = importlib.import_module("generated.chain_a_transfer")
dst_shim = importlib.import_module("generated.chain_b_transfer")
path = src_shim.save(src, OUT / "chain_a.safetensors")
report = dst_shim.restore(dst, path)


def same(a: keras.layers.Layer, b: keras.layers.Layer) -> bool:
    return len(a.weights) > 0 and all(
        np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a.weights, b.weights, strict=True)
    )


print(
    json.dumps(
        {
            "restored": sorted(report.keys("restored")),
            "embed": same(src.embed, dst.embed),
            "conv0": same(src.convs[0], dst.convs[0]),
            "conv1": same(src.convs[1], dst.convs[1]),
            "proj": same(src.blocks["proj"], dst.blocks["proj"]),
            "head_kept": not np.array_equal(src.head.weights[0][:, :3], dst.head.weights[0][:, :3]),
            "unused_built": src.unused.built,
        }
    )
)
