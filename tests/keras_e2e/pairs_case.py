"""Every pair of tests/keras_e2e/models, after the real `codegen sync`, in one Keras 3 process.

Usage: python pairs_case.py PROJECT OUT [jax]  (run without TF_USE_LEGACY_KERAS). On the
TensorFlow backend, for each pair: fit the source, save through its shim into OUT, restore into a
fresh destination through its shim, then freeze and fit it; also a hand-made mismatch file and a
MirroredStrategy destination. With `jax` (KERAS_BACKEND=jax): restore OUT's seq_cnn file into
func_cnn and compare with the trained values. Prints one JSON object: {case: {fact: value}}.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT, OUT = Path(sys.argv[1]), Path(sys.argv[2])
ON_JAX = sys.argv[3:] == ["jax"]
sys.path.insert(0, str(PROJECT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

# (source, its root, destination, its root)
PAIRS = (
    ("seq_cnn", "build_model", "func_cnn", "build_model"),
    ("seq_cnn", "build_model", "sub_cnn", "SubCNN"),
    ("sub_cnn", "SubCNN", "sub_renamed", "TextNet"),
    ("enc_tagger", "build_model", "enc_chunker", "build_model"),
    ("block_a", "build_model", "block_b", "build_model"),
    ("scale_a", "build_model", "scale_b", "build_model"),
    ("spell_tfkeras", "build_model", "spell_keras", "build_model"),
)
rng = np.random.default_rng(0)
TOKENS = rng.integers(0, 500, size=(32, 16)).astype("int32")
FLOATS = {
    "block": rng.normal(size=(32, 16, 4)).astype("float32"),
    "scale": rng.normal(size=(32, 10)).astype("float32"),
}
TMP = OUT


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PROJECT / "models" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(name: str, root: str) -> keras.Model:
    model = getattr(load(name), root)()
    model(inputs(name)[:2])  # a subclassed model makes its weights at its first call
    return model


def inputs(name: str) -> np.ndarray:
    return FLOATS.get(name.split("_")[0], TOKENS)


def fit(name: str, model: keras.Model) -> None:
    x = inputs(name)
    shape = model(x[:1]).shape  # a subclassed model has no output_shape
    y = rng.integers(0, shape[-1], size=(len(x), *shape[1:-1])).astype("int32")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)


def values(model: keras.Model) -> dict[int, np.ndarray]:
    return {id(v): np.array(v.numpy()) for v in model.weights}


def unchanged(model: keras.Model, before: dict[int, np.ndarray]) -> bool:
    return all(np.array_equal(v.numpy(), before[id(v)]) for v in model.weights)


def pair(source: str, src_root: str, target: str, dst_root: str) -> dict[str, Any]:
    src_shim = importlib.import_module(f"generated.{source}_transfer")
    dst_shim = importlib.import_module(f"generated.{target}_transfer")
    src = build(source, src_root)
    fit(source, src)
    path = src_shim.save(src, TMP / f"{source}.safetensors")
    trained = {k: np.array(v.numpy()) for k, v in src_shim.variable_map(src).items()}
    dst = build(target, dst_root)
    shared = {id(v) for v in dst_shim.transferable_variables(dst)}
    fresh = values(dst)
    report = dst_shim.restore(dst, path)
    by_key = dst_shim.variable_map(dst)
    moved = report.keys("restored")
    facts: dict[str, Any] = {
        "restored": sorted(moved),
        "missing": sorted(report.keys("missing")),
        "unexpected": sorted(report.keys("unexpected")),
        "mismatched": len(report.mismatched),
        "dst_keys": sorted(by_key),
        "src_keys": sorted(trained),
        "moved_equal": all(np.array_equal(by_key[k].numpy(), trained[k]) for k in moved),
        "shared_are_the_restored": shared == {id(by_key[k]) for k in moved},
        "rest_fresh": all(
            np.array_equal(v.numpy(), fresh[id(v)]) for v in dst.weights if id(v) not in shared
        ),
        "moved_changed": any(not np.array_equal(fresh[id(by_key[k])], trained[k]) for k in moved),
    }
    # freeze: exactly the head stays trainable, and a later fit moves only the head.
    dst_shim.freeze(dst)
    head = [v for v in dst.trainable_weights]
    facts["trainable_is_head"] = {id(v) for v in head} == {
        id(v) for v in dst.weights if id(v) not in shared
    } and bool(head)
    restored = values(dst)
    fit(target, dst)
    facts["frozen_kept"] = all(
        np.array_equal(v.numpy(), restored[id(v)]) for v in dst.weights if id(v) in shared
    )
    facts["head_trained"] = all(not np.array_equal(v.numpy(), restored[id(v)]) for v in head)
    facts["file"] = str(path)
    np.savez(OUT / f"{source}_trained.npz", **{k.replace("/", "|"): v for k, v in trained.items()})
    return facts


def restore_matches(path: Path, target: str, dst_root: str) -> dict[str, Any]:
    """Restore a file into a fresh destination; are its shared weights the trained ones?"""
    dst_shim = importlib.import_module(f"generated.{target}_transfer")
    dst = build(target, dst_root)
    report = dst_shim.restore(dst, path)
    with np.load(str(path).replace(".safetensors", "_trained.npz")) as saved:
        trained = {k.replace("|", "/"): saved[k] for k in saved.files}
    by_key = dst_shim.variable_map(dst)
    return {
        "restored": len(report.keys("restored")),
        "equal": sorted(report.keys("restored")) == sorted(trained)
        and all(np.array_equal(np.asarray(by_key[k].numpy()), trained[k]) for k in trained),
    }


def mirrored(path: Path, target: str, dst_root: str) -> dict[str, Any]:
    """The destination built under a MirroredStrategy scope (two logical CPUs) takes the file."""
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        facts = restore_matches(path, target, dst_root)
    facts["replicas"] = strategy.num_replicas_in_sync
    return facts


def mismatch(path: str, target: str, dst_root: str) -> dict[str, Any]:
    """A copy of a transfer file with one tensor of the wrong shape: raises, assigns nothing."""
    with safe_open(path, framework="np") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    victim = sorted(tensors)[-1]  # the last key: a restore that assigned in order would be caught
    tensors[victim] = np.zeros((*tensors[victim].shape, 2), tensors[victim].dtype)
    wrong = TMP / "wrong_shape.safetensors"
    save_file(tensors, str(wrong), metadata=metadata)
    dst_shim = importlib.import_module(f"generated.{target}_transfer")
    dst = build(target, dst_root)
    before = values(dst)
    try:
        dst_shim.restore(dst, wrong)
        raised, message = False, ""
    except dst_shim.TransferError as exc:
        raised, message = True, str(exc)
    return {"raised": raised, "names_it": victim in message, "unchanged": unchanged(dst, before)}


def two_cpus() -> None:
    """Two logical CPUs for MirroredStrategy, set before TensorFlow makes its devices."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


out: dict[str, Any] = {"keras": keras.__version__, "backend": keras.backend.backend()}
if ON_JAX:
    keras.utils.set_random_seed(0)
    out["jax"] = restore_matches(OUT / "seq_cnn.safetensors", "func_cnn", "build_model")
else:
    two_cpus()
    keras.utils.set_random_seed(0)
    for src_name, src_root, dst_name, dst_root in PAIRS:
        out[f"{src_name}->{dst_name}"] = pair(src_name, src_root, dst_name, dst_root)
    out["mirrored"] = mirrored(OUT / "seq_cnn.safetensors", "func_cnn", "build_model")
    out["mismatch"] = mismatch(out["seq_cnn->func_cnn"]["file"], "func_cnn", "build_model")
print(json.dumps(out, sort_keys=True))
