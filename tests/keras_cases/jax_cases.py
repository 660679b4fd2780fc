"""Keras 3 transfer cases on the JAX backend, run in a subprocess (KERAS_BACKEND=jax).

Usage: python jax_cases.py OUTDIR CASE...  with KERAS_BACKEND=jax, two host devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2) and without TF_USE_LEGACY_KERAS. The
models, data and backend-independent cases are those of cases.py (imported from beside this
file, which copies the runtime verbatim into OUTDIR/pkg/_runtime); this file adds what is
particular to JAX: arrays are immutable and Keras's `fit` donates a weight's buffer, so a copy
writes into the destination's own buffer and never leaves two models holding one array, and a
restore uses the array it read without copying it. A case named here runs from this file, any
other from cases.py. One JSON line per case on stdout: {"case": name, "ok": bool, "error": ...}.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import cases  # the directory of this script is on sys.path
import jax
import keras
import numpy as np
from cases import KEYS, OUT, T, build_func, same, shared_values, train


def _buffers(model: keras.Model) -> dict[str, int]:
    """{key: address of the weight's buffer} of the shared weights (one device)."""
    return {key: var.value.unsafe_buffer_pointer() for key, var in T.variable_map(model).items()}


def _shard_buffers(var: keras.Variable) -> list[int]:
    return [shard.data.unsafe_buffer_pointer() for shard in var.value.addressable_shards]


def case_copy_writes_into_the_destination() -> None:
    """A copy lands in the destination weights' own buffers, bit-equal; after it each model
    trains (fit donates its buffers) without touching the other's weights."""
    source = cases.trained_source()
    dest, other = build_func(), build_func()
    held = _buffers(dest)
    report = T.copy(source, dest, other)
    assert report.keys() == KEYS and not report.missing and not report.unexpected, report
    expected = shared_values(source)
    assert same(shared_values(dest), expected) and same(shared_values(other), expected)
    assert _buffers(dest) == held  # written in place: no new allocation
    mine = set(_buffers(source).values())
    assert not mine & set(_buffers(dest).values()) and not mine & set(_buffers(other).values())
    train(dest)  # donates dest's buffers: the source's arrays must survive it
    assert same(shared_values(source), expected) and same(shared_values(other), expected)
    assert not same(shared_values(dest), expected)
    train(source)
    assert same(shared_values(other), expected)


def case_copy_leaves_arrays_others_hold() -> None:
    """A destination array that something else holds (a caller's reference, another model's
    weight assigned the same array) is not donated: the holder keeps its values."""
    source, dest, third = cases.trained_source(), build_func(), build_func()
    held = T.variable_map(dest)[KEYS[0]].value
    before = np.array(held)
    theirs = T.variable_map(third)[KEYS[1]]
    theirs.assign(T.variable_map(dest)[KEYS[1]].value)  # Keras on JAX keeps the very array
    assert theirs.value is T.variable_map(dest)[KEYS[1]].value
    kept = shared_values(third)
    T.copy(source, dest)
    assert same(shared_values(dest), shared_values(source))
    assert not held.is_deleted() and np.array_equal(np.asarray(held), before)
    assert not theirs.value.is_deleted() and same(shared_values(third), kept)
    T.copy(source, source)  # a model onto itself: nothing lost
    assert same(shared_values(source), shared_values(dest))


def case_copy_inside_fit() -> None:
    """A copy from `on_train_begin` reaches the weights `fit` trains from."""
    source = cases.trained_source()

    class CopyAtStart(keras.callbacks.Callback):
        def on_train_begin(self, logs: object = None) -> None:
            T.copy(source, self.model)

    dest = build_func()
    train(dest, lr=0.0, callbacks=[CopyAtStart()])
    assert same(shared_values(dest), shared_values(source))


def case_restore_then_train_and_copy() -> None:
    """A restored weight may be the array read from the file (no copy); the model trains on
    from it and copies in and out of it."""
    source = cases.trained_source()
    path = T.save(source, OUT / "jax_own.safetensors")
    dest, other = build_func(), build_func()
    assert T.restore(dest, path).keys() == KEYS
    expected = shared_values(source)
    assert same(shared_values(dest), expected)
    T.copy(dest, other)
    assert same(shared_values(other), expected)
    train(dest)
    assert not same(shared_values(dest), expected) and same(shared_values(other), expected)
    T.copy(other, dest)
    assert same(shared_values(dest), expected)


def case_bfloat16_round_trip() -> None:
    """bfloat16 weights come back bit-equal through a file and in memory."""

    @T.model("build_func")
    def build_bf16(head: int) -> keras.Model:
        inputs = keras.Input((cases.SEQ,), dtype="int32")
        embed = keras.layers.Embedding(cases.VOCAB, 8, dtype="bfloat16")
        x = T.layer("build_func", 0, embed)(inputs)
        x = T.layer("build_func", 1, keras.layers.Conv1D(6, 3, dtype="bfloat16"))(x)
        x = keras.layers.GlobalMaxPooling1D(dtype="bfloat16")(x)
        return keras.Model(inputs, keras.layers.Dense(head)(x))

    source, dest, other = build_bf16(2), build_bf16(3), build_bf16(4)
    path = T.save(source, OUT / "bf16_jax.safetensors")
    held = _buffers(other)
    assert T.restore(dest, path).keys() == KEYS
    assert T.copy(source, other).keys() == KEYS
    expected = shared_values(source)
    assert {str(v.dtype) for v in expected.values()} == {"bfloat16"}
    assert same(shared_values(dest), expected) and same(shared_values(other), expected)
    assert _buffers(other) == held


def case_copy_replicated() -> None:
    """Models replicated on two devices (Keras DataParallel): every replica gets the values."""
    devices = jax.devices()
    assert len(devices) == 2, devices
    source = cases.trained_source()
    expected = shared_values(source)
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    try:
        first, second = build_func(), build_func()
        T.copy(source, first)  # one device to two: a fresh replicated copy
        held = {k: _shard_buffers(v) for k, v in T.variable_map(second).items()}
        T.copy(first, second)  # two to two: written in place
        assert {k: _shard_buffers(v) for k, v in T.variable_map(second).items()} == held
        for model in (first, second):
            for key, var in T.variable_map(model).items():
                shards = var.value.addressable_shards
                assert len(shards) == 2, shards
                for shard in shards:
                    got = np.asarray(shard.data)
                    assert got.tobytes() == expected[key].tobytes(), (key, shard.device)
        train(second)
        assert same(shared_values(first), expected)
    finally:
        keras.distribution.set_distribution(None)


def main() -> int:
    backend = keras.backend.backend()
    assert backend == os.environ["KERAS_BACKEND"] == "jax", backend
    for name in sys.argv[2:]:
        case = globals().get(f"case_{name}") or getattr(cases, f"case_{name}")
        try:
            case()
        except BaseException:
            row = {"case": name, "ok": False, "error": traceback.format_exc()}
        else:
            row = {"case": name, "ok": True, "error": ""}
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
