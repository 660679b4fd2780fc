"""Keras 3 transfer cases on the PyTorch backend, run in a subprocess (KERAS_BACKEND=torch).

Usage: python torch_cases.py OUTDIR CASE...  with KERAS_BACKEND set and without
TF_USE_LEGACY_KERAS. The models, data and backend-independent cases are those of cases.py
(imported from beside this file, which copies the runtime verbatim into OUTDIR/pkg/_runtime);
this file adds what is particular to torch: the weights stay the model's own torch Parameters
on the CPU after a restore or a copy, and transfer files cross between the TensorFlow, PyTorch
and JAX backends bit-equal. A case named here runs from this file, any other from cases.py.
One JSON line per case on stdout: {"case": name, "ok": bool, "error": traceback or ""}.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import cases  # the directory of this script is on sys.path
import keras
import numpy as np
from cases import KEYS, OUT, T, build_func, same, shared_values, train

# Transfer files between backends: name -> (the file, its expected values as an npz).
FROM_TF = (OUT / "from_tf.safetensors", OUT / "from_tf.npz")
FROM_TORCH = (OUT / "from_torch.safetensors", OUT / "from_torch.npz")


def _save_with_expected(model: keras.Model, files: tuple[object, object]) -> None:
    """Save the model's shared layers, and beside them their values, for another backend."""
    target, expected = files
    T.save(model, target)  # type: ignore[arg-type]
    arrays = {k.replace("/", "|"): v for k, v in shared_values(model).items()}
    np.savez(expected, **arrays)  # type: ignore[arg-type]


def _expected(files: tuple[object, object]) -> dict[str, np.ndarray]:
    return {k.replace("|", "/"): v for k, v in np.load(files[1]).items()}  # type: ignore[arg-type]


def _parameters(model: keras.Model) -> dict[str, object]:
    """{own path: the torch Parameter object} of every weight (identity, not values)."""
    return {w.path: w.value for w in model.weights}


def _restores_into_torch(files: tuple[object, object]) -> None:
    """Restore a file written by another backend; the values land bit-equal, in the model's
    own CPU Parameters, and the model trains on from them (also from inside fit)."""
    import torch

    expected = _expected(files)
    dest = build_func()
    held = _parameters(dest)
    report = T.restore(dest, files[0])  # type: ignore[arg-type]
    assert report.keys() == KEYS and not report.missing and not report.unexpected, report
    assert same(shared_values(dest), expected)
    after = _parameters(dest)
    assert after.keys() == held.keys() and all(after[p] is held[p] for p in held)
    for var in T.variable_map(dest).values():
        tensor = var.value
        assert isinstance(tensor, torch.nn.Parameter) and tensor.device.type == "cpu", tensor
        assert tensor.requires_grad  # still trainable: fit's gradients reach it
    before = shared_values(dest)
    train(dest)
    assert not same(shared_values(dest), before)  # the restored trunk trains

    class RestoreAtStart(keras.callbacks.Callback):
        def on_train_begin(self, logs: object = None) -> None:
            T.restore(self.model, files[0])  # type: ignore[arg-type]

    inside = build_func()
    train(inside, lr=0.0, callbacks=[RestoreAtStart()])
    assert same(shared_values(inside), expected)


def case_torch_weights_stay_parameters() -> None:
    """Restore and copy assign into the destination's own Parameters (the optimizer holds
    those), and a copy shares no storage with its source."""
    source = cases.trained_source()
    path = T.save(source, OUT / "torch_own.safetensors")
    dest, other = build_func(), build_func()
    held, held_other = _parameters(dest), _parameters(other)
    T.restore(dest, path)
    T.copy(source, other)
    assert all(_parameters(dest)[p] is v for p, v in held.items())
    assert all(_parameters(other)[p] is v for p, v in held_other.items())
    expected = shared_values(source)
    assert same(shared_values(dest), expected) and same(shared_values(other), expected)
    source_storage = {v.value.untyped_storage().data_ptr() for v in source.weights}
    for var in T.variable_map(other).values():
        assert var.value.untyped_storage().data_ptr() not in source_storage, var.path
        assert var.value.grad_fn is None  # a leaf still: the copy left no autograd graph
    train(source)  # in-place optimizer updates of the source reach no copy
    assert same(shared_values(other), expected) and same(shared_values(dest), expected)


def case_copy_is_an_assign() -> None:
    """The copy writes bytes into the Parameters as `assign` would: autograd sees the in-place
    change (version counter), and inside a Keras StatelessScope it records, never writes."""
    source, dest = cases.trained_source(), build_func()
    before = shared_values(dest)
    with keras.StatelessScope() as scope:
        T.copy(source, dest)
        recorded = [scope.get_current_value(var) for var in T.variable_map(dest).values()]
    assert all(value is not None for value in recorded)
    assert same(shared_values(dest), before)  # the scope kept the new values to itself
    versions = {p: v._version for p, v in _parameters(dest).items()}
    T.copy(source, dest)
    assert same(shared_values(dest), shared_values(source))
    for var in T.variable_map(dest).values():
        assert var.value._version > versions[var.path], var.path


def case_bfloat16_round_trip() -> None:
    """bfloat16 weights (torch tensors NumPy cannot read directly) save as BF16 and come back
    bit-equal, through a file and in memory."""

    @T.model("build_func")
    def build_bf16(head: int) -> keras.Model:
        inputs = keras.Input((cases.SEQ,), dtype="int32")
        x = T.layer("build_func", 0, keras.layers.Embedding(cases.VOCAB, 8, dtype="bfloat16"))(
            inputs
        )
        x = T.layer("build_func", 1, keras.layers.Conv1D(6, 3, dtype="bfloat16"))(x)
        x = keras.layers.GlobalMaxPooling1D(dtype="bfloat16")(x)
        return keras.Model(inputs, keras.layers.Dense(head)(x))

    source, dest, other = build_bf16(2), build_bf16(3), build_bf16(4)
    path = T.save(source, OUT / "bf16.safetensors")
    _, codes = cases.keras3_io.read_specs(path)
    assert set(codes.values()) == {"BF16"}, codes
    assert T.restore(dest, path).keys() == KEYS
    assert T.copy(source, other).keys() == KEYS
    expected = shared_values(source)
    assert {str(v.dtype) for v in expected.values()} == {"bfloat16"}
    assert same(shared_values(dest), expected) and same(shared_values(other), expected)


def case_save_for_torch() -> None:
    """On TensorFlow (or JAX): a trained model's file for the torch backend to restore."""
    _save_with_expected(cases.trained_source(), FROM_TF)


def case_restore_from_tf() -> None:
    """On torch: the file the TensorFlow backend wrote restores bit-equal."""
    _restores_into_torch(FROM_TF)


def case_save_from_torch() -> None:
    """On torch: a trained model's file, restored bit-equal on torch itself, for JAX next."""
    _save_with_expected(cases.trained_source(), FROM_TORCH)
    _restores_into_torch(FROM_TORCH)


def case_restore_from_torch() -> None:
    """On JAX: the file the torch backend wrote restores bit-equal and trains on."""
    expected = _expected(FROM_TORCH)
    dest = build_func()
    report = T.restore(dest, FROM_TORCH[0])
    assert report.keys() == KEYS and not report.missing and not report.unexpected, report
    assert same(shared_values(dest), expected)
    train(dest)
    assert not same(shared_values(dest), expected)


def main() -> int:
    backend = keras.backend.backend()
    assert backend == os.environ["KERAS_BACKEND"], (backend, os.environ["KERAS_BACKEND"])
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
