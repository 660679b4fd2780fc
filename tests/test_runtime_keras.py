"""Keras family runtime: marks, entries, safetensors transfer files, restore, copy, freeze.

Real Keras 3 cases (training, MirroredStrategy, TF -> JAX) run in subprocesses from
tests/keras_cases/cases.py (and the JAX-only ones from jax_cases.py) with KERAS_BACKEND set
and without TF_USE_LEGACY_KERAS, which this process has set for the TF1 family. The in-process
tests use duck-typed stand-ins: the runtime imports no Keras.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from codegen.runtime import keras3_io
from codegen.runtime.core import SharedLayer, TransferError
from codegen.runtime.keras3 import KerasModelTransfer
from codegen.runtime.keras3_file import KerasFileTransfer

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "tests" / "keras_cases" / "cases.py"

TF_CASES = (
    "seq_to_functional",
    "subclassed_renamed_and_copy",
    "mismatch_changes_nothing",
    "freeze",
    "unbuilt_raises",
    "outside_entry",
    "mirrored",
    "routing_changes_nothing",
    "save_for_jax",
)


def _keras3_env(backend: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", **extra)
    env.pop("PYTHONPATH", None)  # the cases import the runtime from their verbatim copy
    return env


def _run_cases(
    backend: str, out: Path, cases: tuple[str, ...], script: Path = CASES, **extra: str
) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(script), str(out), *cases],
        env=_keras3_env(backend, **extra),
        capture_output=True,
        text=True,
        timeout=900,
    )
    rows = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["case"]] = row
    assert rows, f"no case ran (rc {done.returncode}):\n{done.stderr[-4000:]}"
    return rows


@pytest.fixture(scope="module")
def tf_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Every TensorFlow-backend case, in one subprocess (one TF start-up on a busy machine)."""
    out = tmp_path_factory.mktemp("keras_tf")
    return out, _run_cases("tensorflow", out, TF_CASES)


@pytest.mark.tf
@pytest.mark.parametrize("case", TF_CASES)
def test_keras3_tensorflow_backend(tf_cases: tuple[Path, dict[str, Any]], case: str) -> None:
    row = tf_cases[1].get(case)
    assert row is not None, f"case {case} did not report (the process died before it)"
    assert row["ok"], row["error"]


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_file_saved_on_tensorflow_restores_bit_equal_on_jax(
    tf_cases: tuple[Path, dict[str, Any]],
) -> None:
    out, rows = tf_cases
    assert rows["save_for_jax"]["ok"], rows["save_for_jax"]["error"]
    # Two host devices: DataParallel replicates the weights, and each replica gets the values.
    jax_rows = _run_cases(
        "jax", out, ("restore_from_tf",), XLA_FLAGS="--xla_force_host_platform_device_count=2"
    )
    assert jax_rows["restore_from_tf"]["ok"], jax_rows["restore_from_tf"]["error"]


@pytest.mark.tf
def test_importing_the_runtime_changes_no_keras_choice() -> None:
    script = (
        "import os, sys\n"
        "import codegen.runtime.keras3_file, codegen.runtime.keras3_io\n"
        "assert 'TF_USE_LEGACY_KERAS' not in os.environ\n"
        "assert not {'keras', 'tensorflow', 'jax', 'safetensors'} & set(sys.modules)\n"
        "import tensorflow as tf\n"
        "assert tf.keras.__version__.startswith('3.'), tf.keras.__version__\n"
    )
    env = _keras3_env("tensorflow", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


# -- in process, with duck-typed stand-ins for Keras layers ------------------------------


class FakeVariable:
    """What the runtime uses of a Keras variable: shape, dtype, path, numpy, assign."""

    def __init__(self, path: str, value: np.ndarray) -> None:
        self.path, self.value = path, value
        self.name = path.rpartition("/")[2]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> str:
        return str(self.value.dtype)

    def numpy(self) -> np.ndarray:
        return self.value.copy()

    def assign(self, value: np.ndarray) -> None:
        assert value.shape == self.value.shape and value.dtype == self.value.dtype
        self.value = np.array(value)


class FakeLayer:
    def __init__(self, name: str, *shapes: tuple[int, ...], dtype: str = "float32") -> None:
        self.name, self.trainable, self.built = name, True, bool(shapes)
        rng = np.random.default_rng(abs(hash(name)) % 1000)
        self.weights = [
            FakeVariable(f"{name}/v{i}", rng.standard_normal(shape).astype(dtype))
            for i, shape in enumerate(shapes)
        ]


class FakeModel:
    def __init__(self, *layers: FakeLayer) -> None:
        self.layers, self.trainable = layers, True

    @property
    def weights(self) -> list[FakeVariable]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_variables(self) -> list[FakeVariable]:
        return [w for layer in self.layers if layer.trainable for w in layer.weights]


LAYERS = (
    SharedLayer("", 0, "00_aaaa1111", ("v0",), "layer 1 embedding", position=0),
    SharedLayer("", 0, "01_bbbb2222", ("v0", "v1"), "layer 2 conv1d", position=1),
)
KEYS = ("transfer/00_aaaa1111/v0", "transfer/01_bbbb2222/v0", "transfer/01_bbbb2222/v1")


@pytest.fixture
def shim() -> Iterator[KerasFileTransfer]:
    yield KerasFileTransfer(
        {
            "build_a": KerasModelTransfer("m/a.py::build_a", LAYERS),
            "build_b": KerasModelTransfer("m/b.py::build_b", LAYERS[:1]),
        }
    )


def _build(shim: KerasFileTransfer, root: str, prefix: str, conv: tuple[int, ...] = (3, 4, 6)):
    @shim.model(root)
    def build(units: int = 2) -> FakeModel:
        return FakeModel(
            shim.layer(root, 0, FakeLayer(f"{prefix}_embed", (10, 4))),
            shim.layer(root, 1, FakeLayer(f"{prefix}_conv", conv, (conv[-1],))),
            FakeLayer(f"{prefix}_head", (6, units), (units,)),
        )

    return build


def _values(model: FakeModel) -> dict[str, bytes]:
    return {w.path: w.value.tobytes() for w in model.weights}


def test_entry_keeps_the_signature_keras_reads() -> None:
    transfer = KerasModelTransfer("m/a.py::Model", LAYERS)

    class Model:
        def __init__(self, vocab: int, dim: int = 8, *args: int, name: str = "m", **kw: Any):
            """Doc."""

    plain = inspect.getfullargspec(Model.__init__)
    wrapped = transfer.build(Model.__init__)
    assert inspect.getfullargspec(wrapped) == plain  # getfullargspec ignores __wrapped__
    assert wrapped.__name__ == "__init__" and wrapped.__doc__ == "Doc."
    assert wrapped.__wrapped__ is Model.__init__  # type: ignore[attr-defined]
    partial = transfer.build(functools.partial(lambda a, b: a + b, 1))
    assert partial(2) == 3


def test_mark_returns_its_argument_and_records_per_model(tmp_path: Path, shim) -> None:
    obj = FakeLayer("x", (2,))
    assert shim.layer("build_a", 0, obj) is obj
    assert shim.layer("build_a", 7, "not shared: untouched") == "not shared: untouched"
    first, second = _build(shim, "build_a", "a")(), _build(shim, "build_a", "a2")()
    assert tuple(shim.variable_map(first)) == KEYS
    assert [v.path for v in shim.variable_map(second).values()] == [
        "a2_embed/v0",
        *(f"a2_conv/v{i}" for i in range(2)),
    ]
    with pytest.raises(TransferError, match="not a Keras layer"):
        shim.layer("build_a", 0, 42)
    with pytest.raises(TransferError, match="no model 'nope'"):
        shim.layer("nope", 0, obj)


def test_save_restore_intersection_with_report(tmp_path: Path, shim) -> None:
    source, dest = _build(shim, "build_a", "a")(), _build(shim, "build_b", "b")()
    path = shim.save(source, tmp_path / "t.safetensors")
    described = keras3_io.read_description(path)
    assert described["model"] == "m/a.py::build_a"
    assert described["keys"][KEYS[1]] == {"layer": "layer 2 conv1d", "path": "a_conv/v0"}
    before = _values(dest)
    report = shim.restore(dest, path)
    assert report.keys() == KEYS[:1] and report.keys("unexpected") == KEYS[1:]
    assert report.names() == ("b_embed/v0",) and not report.missing
    after = _values(dest)
    assert after["b_embed/v0"] == _values(source)["a_embed/v0"]
    assert {p: v for p, v in after.items() if p != "b_embed/v0"} == {
        p: v for p, v in before.items() if p != "b_embed/v0"
    }


def test_mismatch_names_everything_and_assigns_nothing(tmp_path: Path, shim) -> None:
    source = _build(shim, "build_a", "a")()
    dest = _build(shim, "build_a", "c", conv=(5, 4, 7))()
    path = shim.save(source, tmp_path / "t.safetensors")
    before = _values(dest)
    with pytest.raises(TransferError) as caught:
        shim.restore(dest, path)
    text = str(caught.value)
    for needle in (*KEYS[1:], "layer 2 conv1d", "c_conv/v0", "(5, 4, 7)", "(3, 4, 6)", "(7,)"):
        assert needle in text
    assert "nothing restored" in text and _values(dest) == before
    with pytest.raises(TransferError, match="nothing assigned"):
        shim.copy(source, dest)
    assert _values(dest) == before


def test_dtype_mismatch_raises(tmp_path: Path, shim) -> None:
    @shim.model("build_b")
    def build() -> FakeModel:
        return FakeModel(shim.layer("build_b", 0, FakeLayer("h", (10, 4), dtype="float16")))

    path = shim.save(_build(shim, "build_a", "a")(), tmp_path / "t.safetensors")
    with pytest.raises(TransferError, match="float16 vs checkpoint"):
        shim.restore(build(), path)


def test_copy_freeze_and_trainable(shim) -> None:
    source, dest, other = (_build(shim, "build_a", p)() for p in ("a", "d", "o"))
    report = shim.copy(source, dest, other)
    assert report.keys() == KEYS and not report.missing and not report.unexpected
    assert _values(dest)["d_conv/v1"] == _values(source)["a_conv/v1"]
    assert [v.path for v in shim.trainable_variables(dest)] == ["d_head/v0", "d_head/v1"]
    assert [layer.name for layer in shim.freeze(dest)] == ["d_embed", "d_conv"]
    assert [v.path for v in dest.trainable_variables] == ["d_head/v0", "d_head/v1"]


def test_unbuilt_weightless_and_stale_layers_raise(tmp_path: Path, shim) -> None:
    @shim.model("build_a")
    def unbuilt() -> FakeModel:
        return FakeModel(shim.layer("build_a", 0, FakeLayer("u")), FakeLayer("v", (2,)))

    with pytest.raises(TransferError, match=r"not built.*call it"):
        shim.save(unbuilt(), tmp_path / "never.safetensors")
    assert not (tmp_path / "never.safetensors").exists()

    def weightless() -> FakeModel:
        layer = FakeLayer("w")
        layer.built = True
        return FakeModel(shim.layer("build_b", 0, layer))

    with pytest.raises(TransferError, match="has no weights"):
        shim.variable_map(shim.model("build_b")(weightless)())

    @shim.model("build_a")
    def partial() -> FakeModel:  # position 1 never marked: routing behind the plan
        return FakeModel(shim.layer("build_a", 0, FakeLayer("p", (10, 4))))

    with pytest.raises(TransferError, match=r"was not marked.*codegen sync"):
        shim.variable_map(partial())

    @shim.model("build_a")
    def wrong_count() -> FakeModel:
        return FakeModel(
            shim.layer("build_a", 0, FakeLayer("e", (10, 4))),
            shim.layer("build_a", 1, FakeLayer("k", (3, 4, 6))),  # no bias
        )

    with pytest.raises(TransferError, match=r"expected weights \('v0', 'v1'\)"):
        shim.variable_map(wrong_count())

    @shim.model("build_a")
    def twice() -> FakeModel:
        shim.layer("build_a", 0, FakeLayer("t1", (1,)))
        return FakeModel(shim.layer("build_a", 0, FakeLayer("t2", (1,))))

    with pytest.raises(TransferError, match="marked twice"):
        twice()


def test_keras_layers_need_positions() -> None:
    with pytest.raises(TransferError, match="no trunk position"):
        KerasModelTransfer("m/a.py::f", (SharedLayer("conv_block", 0, "00_ab"),))


def test_damaged_file_raises_before_anything_is_assigned(tmp_path: Path, shim) -> None:
    source, dest = _build(shim, "build_a", "a")(), _build(shim, "build_a", "d")()
    path = Path(shim.save(source, tmp_path / "t.safetensors"))
    path.write_bytes(path.read_bytes()[:-8])  # a truncated copy
    before = _values(dest)
    with pytest.raises(TransferError, match="cannot read checkpoint"):
        shim.restore(dest, path)
    assert _values(dest) == before
    assert not list(tmp_path.glob(".layershare-*"))  # save left no temp file behind


def test_bfloat16_round_trip(tmp_path: Path, shim) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")

    def build(prefix: str) -> FakeModel:
        layer = FakeLayer(f"{prefix}_embed", (10, 4))
        layer.weights[0].value = layer.weights[0].value.astype(ml_dtypes.bfloat16)
        return shim.model("build_b")(lambda: FakeModel(shim.layer("build_b", 0, layer)))()

    source, dest = build("s"), build("d")
    report = shim.restore(dest, shim.save(source, tmp_path / "bf16.safetensors"))
    assert report.keys() == KEYS[:1]
    assert _values(dest)["d_embed/v0"] == _values(source)["s_embed/v0"]


@pytest.mark.tf
def test_tf_keras_models_move_too(tmp_path: Path, shim) -> None:
    """The same duck-typed runtime serves tf_keras (Keras 2) models, in this process."""
    tf_keras = pytest.importorskip("tf_keras")
    layers = tf_keras.layers

    def build(root: str, head: int) -> Any:
        return tf_keras.Sequential(
            [
                tf_keras.Input((6,), dtype="int32"),
                shim.layer(root, 0, layers.Embedding(30, 4)),
                shim.layer(root, 1, layers.Conv1D(5, 3)),
                layers.GlobalMaxPooling1D(),
                layers.Dense(head),
            ]
        )

    source = shim.model("build_a")(lambda: build("build_a", 2))()
    dest = shim.model("build_a")(lambda: build("build_a", 7))()
    report = shim.restore(dest, shim.save(source, tmp_path / "k2.safetensors"))
    assert report.keys() == KEYS
    assert report.names()[0].endswith("embeddings:0")  # tf_keras names: no variable.path
    for key, var in shim.variable_map(dest).items():
        assert np.array_equal(var.numpy(), shim.variable_map(source)[key].numpy())
    other = shim.model("build_a")(lambda: build("build_a", 3))()
    assert shim.copy(source, other).keys() == KEYS
    source.layers[1].weights[0].assign_add(np.ones((3, 4, 5), "float32"))
    assert not np.array_equal(
        other.layers[1].weights[0].numpy(), source.layers[1].weights[0].numpy()
    )


# -- JAX: copies written into the destination's buffers, restores without a copy ------------

JAX_SHARED_CASES = (
    "seq_to_functional",
    "subclassed_renamed_and_copy",
    "mismatch_changes_nothing",
    "freeze",
    "unbuilt_raises",
    "outside_entry",
    "routing_changes_nothing",
)
JAX_CASES = (
    "copy_writes_into_the_destination",
    "copy_leaves_arrays_others_hold",
    "copy_inside_fit",
    "restore_then_train_and_copy",
    "bfloat16_round_trip",
    "copy_replicated",
)


@pytest.fixture(scope="module")
def jax_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every JAX-backend case, in one subprocess with two host devices."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    return _run_cases(
        "jax",
        tmp_path_factory.mktemp("keras_jax"),
        (*JAX_SHARED_CASES, *JAX_CASES),
        script=REPO / "tests" / "keras_cases" / "jax_cases.py",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )


@pytest.mark.parametrize("case", JAX_SHARED_CASES + JAX_CASES)
def test_keras3_jax_backend(jax_rows: dict[str, Any], case: str) -> None:
    row = jax_rows.get(case)
    assert row is not None, f"case {case} did not report (the process died before it)"
    assert row["ok"], row["error"]
