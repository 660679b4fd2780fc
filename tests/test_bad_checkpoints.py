"""Bad checkpoints at run time, on the real generated shims: one TransferError, nothing half-done.

The example models are copied to a temporary project and synced (`codegen sync`), then built in
their own graphs. Every failure must raise the shim's TransferError naming the path, keys and
shapes involved, and every variable of every session involved must keep its value.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from conftest import synced_copy_of_models

tf_root = pytest.importorskip("tensorflow")
tf = tf_root.compat.v1

pytestmark = pytest.mark.tf

SEQ = 8


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Unrouted copies of the example models, synced; `generated` importable from there only."""
    with synced_copy_of_models(tmp_path_factory.mktemp("bad_checkpoints")) as root:
        yield root


def shim(name: str) -> ModuleType:
    return importlib.import_module(f"generated.{name}_transfer")


def routed_common_builders(transfer: ModuleType) -> tuple[Any, Any]:
    """layers_common's embed and conv_block, routed as the shim's model's shared layers."""
    common = importlib.import_module("generated.layers_common")
    route = transfer.shared_layer
    return route("embed")(common.embed), route("conv_block")(common.conv_block)


def model(project: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"bad_ckpt_{name}", project / "models" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Session:
    """A graph with one model built in it, its variables initialised with a given seed."""

    def __init__(self, build: Callable | None, seed: int, *, initialise: bool = True) -> None:
        self.graph = tf_root.Graph()
        with self.graph.as_default():
            tf.set_random_seed(seed)
            if build is not None:
                ids = tf.placeholder(tf_root.int32, [None, SEQ])
                labels = tf.placeholder(tf_root.int32, [None])
                build(ids, labels)
            self.init = tf.global_variables_initializer()
        self.session = tf.Session(graph=self.graph)
        if initialise:
            self.session.run(self.init)

    def shared(self, shim: ModuleType) -> dict[str, np.ndarray]:
        """The transferable variables' values by canonical key."""
        mapping = shim.variable_map(self.graph)
        return dict(zip(mapping, self.session.run(list(mapping.values())), strict=True))

    def values(self) -> dict[str, np.ndarray]:
        """Every global variable (transferable or not) by name."""
        with self.graph.as_default():
            variables = tf.global_variables()
        return dict(zip([v.op.name for v in variables], self.session.run(variables), strict=True))

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def sessions() -> Iterator[Callable[..., Session]]:
    opened: list[Session] = []

    def make(build: Callable | None, seed: int, **kwargs: bool) -> Session:
        opened.append(Session(build, seed, **kwargs))
        return opened[-1]

    yield make
    for item in opened:
        item.close()


def assert_unchanged(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> None:
    assert before.keys() == after.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


@pytest.fixture(scope="module")
def trained(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A sentiment checkpoint of its transferable variables, and their keys and shapes."""
    folder = tmp_path_factory.mktemp("checkpoints")
    source = Session(model(project, "sentiment").build_model, seed=1)
    prefix = shim("sentiment").save(source.session, str(folder / "sentiment"))
    variables = shim("sentiment").variable_map(source.graph)
    facts = {
        "prefix": prefix,
        "keys": sorted(variables),
        "shapes": {key: tuple(v.shape.as_list()) for key, v in variables.items()},
        "values": source.shared(shim("sentiment")),
    }
    source.close()
    return facts


def checkpoint_files(prefix: str) -> tuple[Path, Path]:
    return Path(prefix + ".index"), Path(prefix + ".data-00000-of-00001")


def broken_copy(
    prefix: str, folder: Path, *, index: bytes | None = None, data: bytes | None = None
) -> str:
    """A copy of a checkpoint with its index and/or data bytes replaced."""
    folder.mkdir(parents=True)
    old_index, old_data = checkpoint_files(prefix)
    target = folder / "ckpt"
    new_index, new_data = checkpoint_files(str(target))
    new_index.write_bytes(old_index.read_bytes() if index is None else index)
    new_data.write_bytes(old_data.read_bytes() if data is None else data)
    return str(target)


def restore_fails(project: Path, sessions, path: str, name: str = "topic") -> str:
    """Restore `path` into a freshly built model: TransferError, and every variable unchanged."""
    destination = sessions(model(project, name).build_model, seed=7)
    before = destination.values()
    with pytest.raises(shim(name).TransferError) as raised:
        shim(name).restore(destination.session, path)
    assert_unchanged(before, destination.values())
    message = str(raised.value)
    assert "Traceback" not in message and "Detected at node" not in message
    return message


# --- the good path, as a control -----------------------------------------------------------------


def test_a_good_checkpoint_restores_exactly_its_keys(
    project: Path, trained: dict, sessions
) -> None:
    destination = sessions(model(project, "topic").build_model, seed=7)
    before = destination.values()
    report = shim("topic").restore(destination.session, trained["prefix"])
    assert list(report.keys()) == trained["keys"]
    shared = destination.shared(shim("topic"))
    for key in trained["keys"]:
        np.testing.assert_array_equal(shared[key], trained["values"][key])
    own = set(report.names())
    assert own and all(name.startswith("topic_model/") for name in own)  # its own names
    after = destination.values()
    assert_unchanged(
        {k: v for k, v in before.items() if k not in own},
        {k: v for k, v in after.items() if k not in own},
    )


# --- missing, truncated, corrupted ---------------------------------------------------------------


@pytest.mark.parametrize(
    "where", ["no_such_folder", "no_such_prefix", "empty_string", "folder_not_prefix"]
)
def test_missing_checkpoint_path(
    project: Path, trained: dict, sessions, tmp_path: Path, where: str
) -> None:
    path = {
        "no_such_folder": str(tmp_path / "nowhere" / "ckpt"),
        "no_such_prefix": str(Path(trained["prefix"]).with_name("not_saved")),
        "empty_string": "",
        "folder_not_prefix": str(
            Path(trained["prefix"]).parent
        ),  # no `checkpoint` state file there
    }[where]
    message = restore_fails(project, sessions, path)
    assert repr(path) in message


def test_index_present_but_data_file_missing(
    project: Path, trained: dict, sessions, tmp_path: Path
) -> None:
    path = broken_copy(trained["prefix"], tmp_path / "no_data")
    checkpoint_files(path)[1].unlink()
    assert repr(path) in restore_fails(project, sessions, path)


@pytest.mark.parametrize(
    "damage",
    [
        "data_truncated_half",
        "data_truncated_one_byte",
        "data_empty",
        "data_bytes_flipped",
        "index_truncated",
        "index_garbage",
        "index_empty",
        "data_of_another_checkpoint",
    ],
)
def test_truncated_or_corrupted_checkpoint(
    project: Path, trained: dict, sessions, tmp_path: Path, damage: str
) -> None:
    index, data = (p.read_bytes() for p in checkpoint_files(trained["prefix"]))
    if damage == "data_truncated_half":
        path = broken_copy(trained["prefix"], tmp_path / damage, data=data[: len(data) // 2])
    elif damage == "data_truncated_one_byte":
        path = broken_copy(trained["prefix"], tmp_path / damage, data=data[:-1])
    elif damage == "data_empty":
        path = broken_copy(trained["prefix"], tmp_path / damage, data=b"")
    elif damage == "data_bytes_flipped":
        # Same size, so only the per-tensor checksums in the index can tell.
        middle = len(data) // 2
        path = broken_copy(
            trained["prefix"],
            tmp_path / damage,
            data=data[:middle]
            + bytes(b ^ 0xFF for b in data[middle : middle + 64])
            + data[middle + 64 :],
        )
    elif damage == "index_truncated":
        path = broken_copy(trained["prefix"], tmp_path / damage, index=index[: len(index) // 2])
    elif damage == "index_garbage":
        path = broken_copy(
            trained["prefix"], tmp_path / damage, index=b"not a checkpoint index" * 10
        )
    elif damage == "index_empty":
        path = broken_copy(trained["prefix"], tmp_path / damage, index=b"")
    else:
        # Same keys and shapes, values from another run: checksums of this index do not match them.
        other = Session(model(project, "sentiment").build_model, seed=99)
        other_prefix = shim("sentiment").save(other.session, str(tmp_path / "other" / "ckpt"))
        other.close()
        path = broken_copy(
            trained["prefix"],
            tmp_path / damage,
            data=checkpoint_files(other_prefix)[1].read_bytes(),
        )
    message = restore_fails(project, sessions, path)
    assert repr(path) in message, message


# --- wrong shapes and dtypes ---------------------------------------------------------------------


def foreign_checkpoint(
    path: Path, variables: dict[str, tuple[tuple[int, ...], object]], extra: Callable | None = None
) -> str:
    """A checkpoint written by some other program: plain Saver, chosen names, shapes and dtypes."""
    graph = tf_root.Graph()
    with graph.as_default():
        created = [
            tf.get_variable(name, shape, dtype=dtype) for name, (shape, dtype) in variables.items()
        ]
        if extra is not None:
            created += extra()
        saver = tf.train.Saver(var_list={v.op.name: v for v in created})
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            return saver.save(sess, str(path), write_meta_graph=False, write_state=False)


def test_wrong_shape_names_the_key_and_both_shapes(
    project: Path, trained: dict, sessions, tmp_path: Path
) -> None:
    keys, shapes = trained["keys"], trained["shapes"]
    wrong = {key: (shapes[key], tf_root.float32) for key in keys}
    embedding = next(key for key in keys if len(shapes[key]) == 2)  # the [vocab, dim] table
    wrong[embedding] = ((shapes[embedding][0] + 1, shapes[embedding][1]), tf_root.float32)
    path = foreign_checkpoint(tmp_path / "wide", wrong)
    message = restore_fails(project, sessions, path)
    assert embedding in message
    assert str(shapes[embedding]) in message and str(wrong[embedding][0]) in message
    assert "nothing restored" in message  # the keys that did fit were not loaded either


def test_wrong_dtype_names_every_mismatching_key(
    project: Path, trained: dict, sessions, tmp_path: Path
) -> None:
    keys, shapes = trained["keys"], trained["shapes"]
    doubled = [key for key in keys if len(shapes[key]) == 1]  # the conv biases
    assert doubled
    variables = {
        key: (shapes[key], tf_root.float64 if key in doubled else tf_root.float32) for key in keys
    }
    message = restore_fails(project, sessions, foreign_checkpoint(tmp_path / "f64", variables))
    for key in doubled:
        assert key in message and "float64" in message and "float32" in message


def test_narrower_model_built_from_the_same_shim(project: Path, trained: dict, sessions) -> None:
    """The same shared builders called with another width: same key, other shape, refused."""
    topic = shim("topic")
    embed, conv_block = routed_common_builders(topic)

    @topic.model("build_model")
    def narrow(ids, labels):  # type: ignore[no-untyped-def]
        h = embed(ids, 20000, 64)
        h = conv_block(h, 32, 3, "conv1")
        return tf.layers.dense(tf_root.reduce_max(h, 1), 2), labels

    destination = sessions(narrow, seed=3)
    before = destination.values()
    with pytest.raises(topic.TransferError) as raised:
        topic.restore(destination.session, trained["prefix"])
    conv = next(
        key for key in trained["keys"] if "/01_" in key and len(trained["shapes"][key]) == 3
    )
    assert conv in str(raised.value) and "32" in str(raised.value) and "128" in str(raised.value)
    assert_unchanged(before, destination.values())


# --- checkpoints of other models -----------------------------------------------------------------


def test_checkpoint_of_an_unrelated_model(project: Path, sessions, tmp_path: Path) -> None:
    """A plain checkpoint of a model that shares nothing (its own names only)."""
    intent = sessions(model(project, "intent").build_model, seed=5)
    with intent.graph.as_default():
        prefix = tf.train.Saver().save(
            intent.session, str(tmp_path / "intent"), write_meta_graph=False
        )
    message = restore_fails(project, sessions, prefix)
    assert "no transferable variables in common" in message and repr(prefix) in message


def test_checkpoint_with_only_other_keys_and_optimizer_slots(
    project: Path, trained: dict, sessions, tmp_path: Path
) -> None:
    """Canonical-looking keys of another trunk, and slots of ours: nothing may be loaded."""
    shapes = trained["shapes"]
    variables = {"transfer/00_other_deadbeef/embed/W": ((3, 4), tf_root.float32)}
    for key in trained["keys"]:
        variables[f"{key}/Adam"] = (shapes[key], tf_root.float32)
    variables["transfer/global_step"] = ((), tf_root.int64)
    message = restore_fails(project, sessions, foreign_checkpoint(tmp_path / "slots", variables))
    assert "no transferable variables in common" in message


def test_a_models_own_checkpoint_is_not_a_transfer_checkpoint(
    project: Path, sessions, tmp_path: Path
) -> None:
    """A whole-model checkpoint holds own names: a clear error that says what to pass instead."""
    source = sessions(model(project, "sentiment").build_model, seed=11)
    with source.graph.as_default():
        prefix = tf.train.Saver().save(
            source.session, str(tmp_path / "full"), write_meta_graph=False
        )
    message = restore_fails(project, sessions, prefix)
    assert "no transferable variables in common" in message and "transfer checkpoint" in message


def test_transfer_checkpoint_saved_during_training_restores_only_the_shared_layers(
    project: Path, trained: dict, sessions, tmp_path: Path
) -> None:
    """Control: saver() next to Adam slots and a step counter writes only the shared keys."""
    source = sessions(model(project, "sentiment").build_model, seed=11)
    with source.graph.as_default():
        loss = tf_root.reduce_sum([tf_root.reduce_sum(v) for v in tf.trainable_variables()])
        step = tf.train.get_or_create_global_step()
        tf.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
        source.session.run(tf.global_variables_initializer())
        prefix = shim("sentiment").saver().save(
            source.session, str(tmp_path / "during"), write_meta_graph=False
        )
    assert sorted(dict(tf.train.list_variables(prefix))) == trained["keys"]
    destination = sessions(model(project, "topic").build_model, seed=12)
    report = shim("topic").restore(destination.session, prefix)
    assert list(report.keys()) == trained["keys"] and not report.unexpected


# --- copy between sessions -----------------------------------------------------------------------


def test_copy_between_graphs_that_share_nothing(project: Path, sessions) -> None:
    sentiment = sessions(model(project, "sentiment").build_model, seed=1)
    plain = sessions(model(project, "intent").build_model, seed=2)  # intent shares no layer
    empty = sessions(None, seed=3)

    def other_trunk(ids, labels):  # type: ignore[no-untyped-def]
        with tf.variable_scope("transfer/00_other_deadbeef"):
            w = tf.get_variable("W", [3, 4])
        tf.add_to_collection(shim("sentiment").TRANSFERABLE_VARIABLES, w)
        return w, labels

    disjoint = sessions(other_trunk, seed=4)
    everyone = (sentiment, plain, empty, disjoint)
    before = [s.values() for s in everyone]
    transfer = shim("sentiment")
    for source, destination in (
        (sentiment, plain),
        (sentiment, empty),
        (plain, sentiment),
        (empty, sentiment),
        (sentiment, disjoint),
        (disjoint, sentiment),
    ):
        with pytest.raises(transfer.TransferError, match="no transferable variables in common"):
            transfer.copy(source.session, destination.session)
    for session, values in zip(everyone, before, strict=True):
        assert_unchanged(values, session.values())


def test_copy_to_several_destinations_is_all_or_nothing(project: Path, sessions) -> None:
    """The second destination does not fit: the first one is not assigned either."""
    topic = shim("topic")
    embed, conv_block = routed_common_builders(topic)

    @topic.model("build_model")
    def narrow(ids, labels):  # type: ignore[no-untyped-def]
        h = embed(ids, 20000, 64)
        return conv_block(h, 16, 3, "conv1"), labels

    source = sessions(model(project, "sentiment").build_model, seed=1)
    fits = sessions(model(project, "topic").build_model, seed=2)
    misfit = sessions(narrow, seed=3)
    before = [s.values() for s in (source, fits, misfit)]
    with pytest.raises(topic.TransferError) as raised:
        topic.copy(source.session, fits.session, misfit.session)
    message = str(raised.value)
    conv_kernel = next(k for k in topic.variable_map(fits.graph) if "/01_" in k)
    assert (
        "destination #1" in message
        and conv_kernel in message
        and "conv1/W" in message
        and "16" in message
        and "128" in message
    )
    for session, values in zip((source, fits, misfit), before, strict=True):
        assert_unchanged(values, session.values())


def test_copy_from_an_uninitialised_source_is_a_transfer_error(project: Path, sessions) -> None:
    source = sessions(model(project, "sentiment").build_model, seed=1, initialise=False)
    destination = sessions(model(project, "topic").build_model, seed=2)
    before = destination.values()
    try:
        with pytest.raises(shim("topic").TransferError):
            shim("topic").copy(source.session, destination.session)
    finally:
        assert_unchanged(before, destination.values())


def test_restore_into_a_model_with_no_shared_layers_is_a_transfer_error(
    project: Path, trained: dict, sessions
) -> None:
    """intent has no shim of its own; using another model's shim on its graph finds nothing."""
    intent = sessions(model(project, "intent").build_model, seed=5)
    before = intent.values()
    with pytest.raises(
        shim("sentiment").TransferError, match="no transferable variables in common"
    ):
        shim("sentiment").restore(intent.session, trained["prefix"])
    assert_unchanged(before, intent.values())


def test_error_type_is_shared_by_every_shim(project: Path) -> None:
    """One exception type to catch, whichever model's shim raised it."""
    names = [
        p.name.removesuffix("_transfer.py")
        for p in sorted((project / "generated").glob("*_transfer.py"))
    ]
    assert len(names) >= 3
    assert len({shim(name).TransferError for name in names}) == 1
