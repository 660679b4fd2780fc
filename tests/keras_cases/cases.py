"""Keras 3 transfer cases with real training, run in a subprocess (Keras 3, not tf-keras).

Usage: python cases.py OUTDIR CASE...  with KERAS_BACKEND set (tensorflow or jax) and without
TF_USE_LEGACY_KERAS. The runtime is copied verbatim into OUTDIR/pkg/_runtime, as `emit` copies
it into generated/, and imported from there. One JSON line per case on stdout:
{"case": name, "ok": bool, "error": traceback or ""}.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "codegen" / "runtime"
RUNTIME_FILES = ("core.py", "keras3.py", "keras3_file.py", "keras3_io.py", "keras3_values.py")
OUT = Path(sys.argv[1])
BACKEND = os.environ["KERAS_BACKEND"]

if BACKEND == "tensorflow":
    import tensorflow as tf

    # Two logical CPUs for the MirroredStrategy case, before TF initialises its devices.
    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

_pkg = OUT / "pkg" / "_runtime"
_pkg.mkdir(parents=True, exist_ok=True)
(_pkg / "__init__.py").write_text("")
for _name in RUNTIME_FILES:
    shutil.copyfile(RUNTIME / _name, _pkg / _name)
sys.path.insert(0, str(OUT / "pkg"))

from _runtime import keras3_io  # noqa: E402
from _runtime.core import SharedLayer, TransferError  # noqa: E402
from _runtime.keras3 import KerasModelTransfer  # noqa: E402
from _runtime.keras3_file import KerasFileTransfer  # noqa: E402

VOCAB, SEQ = 40, 8
SHARED = (
    SharedLayer("", 0, "00_aaaa1111", ("v0",), "layer 1 embedding", position=0),
    SharedLayer("", 0, "01_bbbb2222", ("v0", "v1"), "layer 2 conv1d", position=1),
)
KEYS = ("transfer/00_aaaa1111/v0", "transfer/01_bbbb2222/v0", "transfer/01_bbbb2222/v1")
ROOTS = ("build_seq", "build_func", "build_func_k5", "SubA", "SubB", "build_lazy")
T = KerasFileTransfer({root: KerasModelTransfer(f"models/x.py::{root}", SHARED) for root in ROOTS})

keras.utils.set_random_seed(0)
# The heads output logits: probabilities would be clipped, and then nothing trains.
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
rng = np.random.default_rng(0)
X = rng.integers(0, VOCAB, size=(32, SEQ)).astype("int32")
Y = rng.integers(0, 2, size=(32,)).astype("int32")


@T.model("build_seq")
def build_seq() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((SEQ,), dtype="int32"),
            T.layer("build_seq", 0, layers.Embedding(VOCAB, 8)),
            T.layer("build_seq", 1, layers.Conv1D(6, 3, activation="relu")),
            layers.GlobalMaxPooling1D(),
            layers.Dropout(0.1),
            layers.Dense(2),
        ]
    )


def _func(root: str, kernel: int, mark: bool = True) -> keras.Model:
    def m(position: int, obj: layers.Layer) -> layers.Layer:
        return T.layer(root, position, obj) if mark else obj

    inputs = keras.Input((SEQ,), dtype="int32")
    x = m(0, layers.Embedding(VOCAB, 8))(inputs)
    x = m(1, layers.Conv1D(6, kernel, activation="relu"))(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(4, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(3)(x))


@T.model("build_func")
def build_func() -> keras.Model:
    return _func("build_func", 3)


def build_func_plain() -> keras.Model:
    return _func("build_func", 3, mark=False)


@T.model("build_func_k5")
def build_func_k5() -> keras.Model:
    return _func("build_func_k5", 5)


class SubA(keras.Model):
    @T.model("SubA")
    def __init__(self, classes: int = 2, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.embed = T.layer("SubA", 0, layers.Embedding(VOCAB, 8))
        self.conv = T.layer("SubA", 1, layers.Conv1D(6, 3, activation="relu"))
        self.pool = layers.GlobalMaxPooling1D()
        self.head = layers.Dense(classes)

    def call(self, x: object) -> object:
        return self.head(self.pool(self.conv(self.embed(x))))


class SubB(keras.Model):
    """A renamed copy of SubA that creates its head first."""

    @T.model("SubB")
    def __init__(self, n_out: int = 5, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.classifier = layers.Dense(n_out)
        self.tokens = T.layer("SubB", 0, layers.Embedding(VOCAB, 8))
        self.features = T.layer("SubB", 1, layers.Conv1D(6, 3, activation="relu"))
        self.reduce = layers.GlobalMaxPooling1D()

    def call(self, x: object) -> object:
        return self.classifier(self.reduce(self.features(self.tokens(x))))


class SubBPlain(keras.Model):
    """SubB without routing: the reference for what routing must not change."""

    def __init__(self, n_out: int = 5, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.classifier = layers.Dense(n_out)
        self.tokens = layers.Embedding(VOCAB, 8)
        self.features = layers.Conv1D(6, 3, activation="relu")
        self.reduce = layers.GlobalMaxPooling1D()

    def call(self, x: object) -> object:
        return self.classifier(self.reduce(self.features(self.tokens(x))))


def values(model: keras.Model) -> dict[str, np.ndarray]:
    """Every weight of the model by its own path (copies)."""
    return {w.path: np.array(w.numpy()) for w in model.weights}


def shared_values(model: keras.Model) -> dict[str, np.ndarray]:
    return {key: np.array(var.numpy()) for key, var in T.variable_map(model).items()}


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Bit-equal dicts of arrays."""
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a
    )


def train(model: keras.Model, steps: int = 2, lr: float = 0.05, **fit: object) -> None:
    model.compile(optimizer=keras.optimizers.SGD(lr), loss=LOSS)
    model.fit(X[: 16 * steps], Y[: 16 * steps], batch_size=16, epochs=1, verbose=0, **fit)


def trained_source() -> keras.Model:
    """A Sequential trained for a few steps: the source of the transfer cases."""
    source = build_seq()
    train(source)
    return source


def case_seq_to_functional() -> None:
    source = trained_source()
    path = T.save(source, OUT / "seq.safetensors")
    shapes, _ = keras3_io.read_specs(path)
    assert sorted(shapes) == list(KEYS), shapes  # only the shared keys, no head, no optimizer
    described = keras3_io.read_description(path)
    own = {key: var.path for key, var in T.variable_map(source).items()}
    assert {k: v["path"] for k, v in described["keys"].items()} == own, described
    assert described["keys"][KEYS[1]]["layer"] == "layer 2 conv1d"
    assert described["model"] == "models/x.py::build_seq"

    dest = build_func()
    before = values(dest)
    report = T.restore(dest, path)
    assert report.keys() == KEYS and not report.missing and not report.unexpected, report
    assert report.names() == tuple(T.variable_map(dest)[k].path for k in KEYS)
    assert same(shared_values(dest), shared_values(source))  # the trunk moved
    after = values(dest)
    moved = {var.path for var in T.variable_map(dest).values()}
    assert moved and all(not np.array_equal(before[p], after[p]) for p in moved)
    assert same(
        {p: v for p, v in after.items() if p not in moved},
        {p: v for p, v in before.items() if p not in moved},
    )  # the head did not
    train(dest)  # and the destination trains on from there

    # Restoring from a callback inside fit: with a zero learning rate fit leaves what it got.
    class RestoreAtStart(keras.callbacks.Callback):
        def on_train_begin(self, logs: object = None) -> None:
            T.restore(self.model, path)

    inside = build_func()
    train(inside, lr=0.0, callbacks=[RestoreAtStart()])
    assert same(shared_values(inside), shared_values(source))


def case_subclassed_renamed_and_copy() -> None:
    source = SubA(classes=2)
    train(source)
    dest = SubB(n_out=5)
    dest(X[:1])
    head_before = values(dest)
    path = T.save(source, OUT / "sub.safetensors")
    report = T.restore(dest, path)
    assert report.keys() == KEYS, report
    assert same(shared_values(dest), shared_values(source))
    head = {w.path for w in dest.classifier.weights}
    assert same({p: values(dest)[p] for p in head}, {p: head_before[p] for p in head})
    # Keras's own by-path load of the renamed copy moves nothing: the case this tool is for.
    assert [w.path for w in source.embed.weights] != [w.path for w in dest.tokens.weights]

    # In memory, to two destinations of different kinds, one report.
    other, func = SubB(n_out=3), build_func()
    other(X[:1])
    report = T.copy(source, other, func)
    assert report.keys() == KEYS and not report.missing and not report.unexpected, report
    assert same(shared_values(other), shared_values(source))
    assert same(shared_values(func), shared_values(source))
    # The copies are the destinations' own: training the source (in-place optimizer updates)
    # or a destination afterwards changes no other model.
    copied, func_before = shared_values(source), values(func)
    train(source)
    assert same(shared_values(other), copied) and same(values(func), func_before)
    train(other)
    assert same(values(func), func_before)
    assert not same(shared_values(source), copied)


def case_mismatch_changes_nothing() -> None:
    source = trained_source()
    path = T.save(source, OUT / "mismatch.safetensors")
    dest = build_func_k5()  # kernel 5 under the same keys: stale routing
    before = values(dest)
    try:
        T.restore(dest, path)
    except TransferError as exc:
        text = str(exc)
    else:
        raise AssertionError("a mismatched restore did not raise")
    conv = T.variable_map(dest)[KEYS[1]]
    for needle in (KEYS[1], "layer 2 conv1d", conv.path, "(5, 8, 6)", "(3, 8, 6)", "nothing"):
        assert needle in text, (needle, text)
    assert same(values(dest), before)
    try:
        T.copy(source, dest)
    except TransferError as exc:
        assert KEYS[1] in str(exc) and "nothing assigned" in str(exc), exc
    else:
        raise AssertionError("a mismatched copy did not raise")
    assert same(values(dest), before)


def case_freeze() -> None:
    source = trained_source()
    path = T.save(source, OUT / "freeze.safetensors")
    dest = build_func()
    report = T.restore(dest, path, freeze=True)
    assert report.keys() == KEYS
    trunk = {var.path for var in T.variable_map(dest).values()}
    head = {w.path for w in dest.weights} - trunk
    assert {w.path for w in dest.trainable_weights} == head
    assert {v.path for v in T.trainable_variables(dest)} == head
    before = values(dest)
    train(dest, lr=0.5)  # compile after freezing: Keras honours trainable at compile
    after = values(dest)
    assert all(np.array_equal(before[p], after[p]) for p in trunk)
    # The output layer always gets a gradient (a hidden ReLU unit may be dead for a batch).
    output = {w.path for w in dest.layers[-1].weights}
    assert output <= head and all(not np.array_equal(before[p], after[p]) for p in output)

    other = build_func()
    train(other)  # compiled before freezing
    frozen = T.freeze(other)
    assert [layer.name for layer in frozen] == [other.layers[1].name, other.layers[2].name]
    assert {w.path for w in other.trainable_weights} == {w.path for w in other.weights} - {
        v.path for v in T.variable_map(other).values()
    }


def case_unbuilt_raises() -> None:
    @T.model("build_lazy")
    def build_lazy() -> keras.Model:
        return keras.Sequential(
            [
                T.layer("build_lazy", 0, layers.Embedding(VOCAB, 8)),
                T.layer("build_lazy", 1, layers.Conv1D(6, 3)),
                layers.Dense(2),
            ]
        )

    model = build_lazy()
    target = OUT / "never.safetensors"
    for action in (lambda: T.save(model, target), lambda: T.variable_map(model)):
        try:
            action()
        except TransferError as exc:
            assert "not built" in str(exc) and "call it" in str(exc), exc
        else:
            raise AssertionError("an unbuilt model did not raise")
    assert not target.exists()
    model(X[:1])  # built now
    assert tuple(T.variable_map(model)) == KEYS


def case_outside_entry() -> None:
    """Marks outside any entry: a model owns the marked layers whose weights it holds."""
    inputs = keras.Input((SEQ,), dtype="int32")
    x = T.layer("build_func", 0, layers.Embedding(VOCAB, 8))(inputs)
    x = T.layer("build_func", 1, layers.Conv1D(6, 3))(x)
    model = keras.Model(inputs, layers.Dense(2)(layers.GlobalMaxPooling1D()(x)))
    assert tuple(T.variable_map(model)) == KEYS
    wrapper = keras.Sequential([model, layers.Dense(1)])  # a routed model inside another one
    wrapper(X[:1])
    assert same(shared_values(wrapper), shared_values(model))


def case_mirrored() -> None:
    source = trained_source()
    path = T.save(source, OUT / "mirrored.safetensors")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        dest = build_func()
        dest.compile(optimizer=keras.optimizers.SGD(0.0), loss=LOSS)
    report = T.restore(dest, path)
    assert report.keys() == KEYS
    expected = shared_values(source)
    for key, var in T.variable_map(dest).items():
        replicas = strategy.experimental_local_results(var.value)
        assert len(replicas) == 2, replicas
        for replica in replicas:
            assert np.array_equal(replica.numpy(), expected[key]), (key, replica.device)
    dest.fit(X[:16], Y[:16], batch_size=16, epochs=1, verbose=0)  # the strategy still trains
    assert same(shared_values(dest), expected)  # at learning rate 0

    # In memory, from a plain model into a mirrored one and back out.
    with strategy.scope():
        mirrored = build_func()
    T.copy(source, mirrored)
    for key, var in T.variable_map(mirrored).items():
        for replica in strategy.experimental_local_results(var.value):
            assert np.array_equal(replica.numpy(), expected[key]), (key, replica.device)
    plain = build_func()
    T.copy(mirrored, plain)
    assert same(shared_values(plain), expected)


def case_routing_changes_nothing() -> None:
    """A routed model's own weight layout, config and eager fit equal the unrouted one's."""
    import inspect

    assert inspect.getfullargspec(SubB.__init__) == inspect.getfullargspec(SubBPlain.__init__)
    assert inspect.signature(SubB.__init__) == inspect.signature(SubBPlain.__init__)

    def run(make: object, name: str) -> tuple[list[str], object, list[float], list[str]]:
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)
        model = make()  # type: ignore[operator]
        model(X[:1])
        model.compile(
            optimizer=keras.optimizers.SGD(0.05),
            loss=LOSS,
            run_eagerly=True,
        )
        losses = model.fit(X, Y, batch_size=16, epochs=2, verbose=0).history["loss"]
        target = OUT / f"{name}.weights.h5"
        model.save_weights(target)
        import h5py

        with h5py.File(target, "r") as handle:
            layout: list[str] = []
            handle.visit(layout.append)
        config = {k: v for k, v in model.get_config().items() if k != "name"}  # the class's
        return [w.path for w in model.weights], config, losses, sorted(layout)

    assert run(build_func_plain, "plain_func") == run(build_func, "routed_func")
    plain, routed = run(lambda: SubBPlain(n_out=4), "plain_sub"), run(lambda: SubB(n_out=4), "sub")
    assert plain[0] == [p.replace("sub_b_plain", "sub_b") for p in routed[0]] or plain[0] == [
        p.replace("sub_b", "sub_b_plain") for p in routed[0]
    ], (plain[0], routed[0])
    assert plain[1:] == routed[1:], (plain[1:], routed[1:])
    # from_config rebuilds the routed class as it rebuilds the plain one (Keras's subclassed
    # auto-config keeps constructor defaults, routed or not).
    rebuilt = SubB.from_config(SubB(n_out=4).get_config())
    rebuilt_plain = SubBPlain.from_config(SubBPlain(n_out=4).get_config())
    assert rebuilt.classifier.units == rebuilt_plain.classifier.units


def case_save_for_jax() -> None:
    source = trained_source()
    T.save(source, OUT / "from_tf.safetensors")
    np.savez(
        OUT / "from_tf.npz", **{k.replace("/", "|"): v for k, v in shared_values(source).items()}
    )


def case_restore_from_tf() -> None:
    """On JAX: the file the TF backend wrote restores bit-equal, also replicated on 2 devices."""
    import jax

    expected = {k.replace("|", "/"): v for k, v in np.load(OUT / "from_tf.npz").items()}
    dest = build_func()
    report = T.restore(dest, OUT / "from_tf.safetensors")
    assert report.keys() == KEYS
    assert same(shared_values(dest), expected)
    train(dest)

    class RestoreAtStart(keras.callbacks.Callback):
        def on_train_begin(self, logs: object = None) -> None:
            T.restore(self.model, OUT / "from_tf.safetensors")

    inside = build_func()  # inside fit on JAX: fit reads the variables after on_train_begin
    train(inside, lr=0.0, callbacks=[RestoreAtStart()])
    assert same(shared_values(inside), expected)

    devices = jax.devices()
    assert len(devices) == 2, devices
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    try:
        replicated = build_func()
        T.restore(replicated, OUT / "from_tf.safetensors")
        for key, var in T.variable_map(replicated).items():
            shards = var.value.addressable_shards
            assert len(shards) == 2, shards
            for shard in shards:
                got = np.asarray(shard.data)
                assert got.tobytes() == expected[key].tobytes(), (key, shard.device)
        train(replicated)
    finally:
        keras.distribution.set_distribution(None)


def main() -> int:
    for name in sys.argv[2:]:
        try:
            globals()[f"case_{name}"]()
        except BaseException:
            row = {"case": name, "ok": False, "error": traceback.format_exc()}
        else:
            row = {"case": name, "ok": True, "error": ""}
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
