"""The runtime checks what it records (issue 19), on real TF graphs: one key map per model
instance, layers that record nothing raise, freeze freezes or refuses, init_from_checkpoint
refuses when it comes too late."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

tf_root = pytest.importorskip("tensorflow")
tf = tf_root.compat.v1

pytestmark = pytest.mark.tf

EMBED_W = "transfer/00_embed/v0"
PROJ = ("transfer/01_proj/v0", "transfer/01_proj/v1")
SHARED = (EMBED_W, *PROJ)


@pytest.fixture(scope="module")
def rt() -> ModuleType:
    from codegen.runtime import api

    return api


@pytest.fixture
def session() -> Iterator[Callable]:
    """Factory: an initialised Session for a graph (the init op is made here), closed after."""
    opened = []

    def make(graph, seed: int = 0):
        with graph.as_default():
            tf.set_random_seed(seed)
            init = tf.global_variables_initializer()
        sess = tf.Session(graph=graph)
        sess.run(init)
        opened.append(sess)
        return sess

    yield make
    for sess in opened:
        sess.close()


def embed(ids):
    with tf.variable_scope("embed"):
        table = tf.get_variable("W", [7, 3])
    return tf.nn.embedding_lookup(table, ids)


def proj(x):
    with tf.variable_scope("proj"):
        kernel = tf.get_variable("kernel", [3, 4])
        bias = tf.get_variable("bias", [4], initializer=tf.ones_initializer())
    return tf.matmul(x, kernel) + bias


def model(rt, name: str, *, use_resource: bool = True):
    """A model sharing `embed` and `proj`, with its own head; returns (transfer, build)."""
    transfer = rt.ModelTransfer(
        name,
        (
            rt.SharedLayer("embed", 0, "00_embed", ("v0",), "layer 1 embed"),
            rt.SharedLayer("proj", 0, "01_proj", ("v0", "v1"), "layer 2 proj"),
        ),
    )
    shared_embed = transfer.shared_layer("embed")(embed)
    shared_proj = transfer.shared_layer("proj")(proj)

    @transfer.build
    def build(scope: str = name):
        with tf.variable_scope(scope, use_resource=use_resource):
            hidden = shared_proj(shared_embed(tf.constant([1, 2, 5])))
            head = tf.get_variable("head", [4, 2])
            return tf.reduce_sum(tf.square(tf.matmul(hidden, head)))

    return transfer, build


def values(sess, variables) -> list[np.ndarray]:
    return sess.run(list(variables))


def trained_checkpoint(rt, session, tmp_path: Path) -> str:
    """A transfer checkpoint of a separately built and initialised source model."""
    source, build = model(rt, "source")
    graph = tf.Graph()
    with graph.as_default():
        build()
    return source.save(session(graph, seed=7), tmp_path / "source")


# --- one key map per model instance -----------------------------------------------------


def test_two_models_in_one_graph_each_restore_only_their_own_variables(
    rt, session, tmp_path
) -> None:
    """Multi-task training: sentiment built first, topic second, in one graph. Restoring into
    topic must load topic's variables; the old per-graph map loaded sentiment's instead."""
    prefix = trained_checkpoint(rt, session, tmp_path)
    sentiment, build_sentiment = model(rt, "sentiment")
    topic, build_topic = model(rt, "topic")
    graph = tf.Graph()
    with graph.as_default():
        build_sentiment()
        build_topic()
    assert [v.op.name for v in topic.transferable_variables(graph)] == [
        "topic/embed/W",
        "topic/proj/kernel",
        "topic/proj/bias",
    ]
    assert next(v.op.name for v in sentiment.transferable_variables(graph)) == "sentiment/embed/W"
    sess = session(graph, seed=1)
    sentiment_before = values(sess, sentiment.transferable_variables(graph))
    report = topic.restore(sess, prefix)
    assert report.names() == ("topic/embed/W", "topic/proj/kernel", "topic/proj/bias")
    loaded = dict(zip(SHARED, values(sess, topic.transferable_variables(graph)), strict=True))
    for key, value in tf.train.list_variables(prefix):
        assert loaded[key].shape == tuple(value)
    reader = tf.train.load_checkpoint(prefix)
    for key in SHARED:
        np.testing.assert_array_equal(loaded[key], reader.get_tensor(key))
    for before, after in zip(
        sentiment_before, values(sess, sentiment.transferable_variables(graph)), strict=True
    ):
        np.testing.assert_array_equal(before, after)


def test_two_instances_of_one_model_in_one_graph_need_instance(rt, session, tmp_path) -> None:
    prefix = trained_checkpoint(rt, session, tmp_path)
    transfer, build = model(rt, "m")
    graph = tf.Graph()
    with graph.as_default():
        build("teacher")
        build("student")  # no reuse: its own variables, its own key map
    sess = session(graph, seed=1)
    with pytest.raises(rt.TransferError, match=r"built 2 times.*instance=0\.\.1"):
        transfer.restore(sess, prefix)
    with pytest.raises(rt.TransferError, match="instance="):
        transfer.variable_map(graph)
    teacher = transfer.transferable_variables(graph, instance=0)
    student = transfer.transferable_variables(graph, instance=1)
    assert next(v.op.name for v in teacher) == "teacher/embed/W"
    assert next(v.op.name for v in student) == "student/embed/W"
    teacher_before = values(sess, teacher)
    assert transfer.restore(sess, prefix, instance=1).names()[0] == "student/embed/W"
    reader = tf.train.load_checkpoint(prefix)
    np.testing.assert_array_equal(sess.run(student[0]), reader.get_tensor(EMBED_W))
    for before, after in zip(teacher_before, values(sess, teacher), strict=True):
        np.testing.assert_array_equal(before, after)
    with pytest.raises(rt.TransferError, match="no instance 2"):
        transfer.variable_map(graph, instance=2)
    alone = tf.Graph()
    with alone.as_default():
        build("m")
    with pytest.raises(rt.TransferError, match=r"2 model instances \(m\).*instance=\.\.\."):
        transfer.copy(sess, session(alone))


def test_a_copy_from_a_graph_holding_two_models_refuses_to_guess(rt, session) -> None:
    _sentiment, build_sentiment = model(rt, "sentiment")
    topic, build_topic = model(rt, "topic")
    both, alone = tf.Graph(), tf.Graph()
    with both.as_default():
        build_sentiment()
        build_topic()
    with alone.as_default():
        build_topic()
    with pytest.raises(rt.TransferError, match=r"2 model instances \(sentiment, topic\)"):
        rt.ModelTransfer("other", ()).copy(session(both), session(alone))
    # The destination's own model is in the source graph: its variables are the source.
    src, dst = session(both, seed=1), session(alone, seed=2)
    assert topic.copy(src, dst).names() == ("topic/embed/W", "topic/proj/kernel", "topic/proj/bias")
    np.testing.assert_array_equal(
        *[s.run(topic.variable_map(g)[EMBED_W]) for s, g in ((src, both), (dst, alone))]
    )


def test_a_file_shim_with_two_of_its_models_in_one_graph_names_them(rt) -> None:
    a, build_a = model(rt, "models/m.py::A")
    b, build_b = model(rt, "models/m.py::B")
    shim = rt.FileTransfer({"A": a, "B": b})
    graph = tf.Graph()
    with graph.as_default():
        build_a("A")
        build_b("B")
    with pytest.raises(rt.TransferError, match=r"models A, B of this file.*A\.restore"):
        shim.variable_map(graph)
    assert shim.models["B"].variable_map(graph)[EMBED_W].op.name == "B/embed/W"


def test_a_layer_built_twice_in_one_build_raises_instead_of_keeping_the_first(rt) -> None:
    transfer = rt.ModelTransfer(
        "m", (rt.SharedLayer("", 0, "00_embed", label="layer 1 embed", position=0),)
    )

    @transfer.build
    def build():
        for index in range(2):  # a marked layer in a loop: two variables for one key
            with transfer.layer(0):
                tf.get_variable(f"W{index}", [2])

    with tf.Graph().as_default(), pytest.raises(rt.TransferError, match=r"built twice.*W0.*W1"):
        build()


# --- a shared layer that records nothing raises -----------------------------------------------


def test_a_mark_around_a_constructor_whose_weights_appear_later_raises(rt) -> None:
    """`self.proj = Dense(3)` marked, `self.proj(h)` later: the old runtime recorded nothing and
    reported success; now the build stops, naming model, layer, position and key."""
    transfer = rt.ModelTransfer(
        "models/m.py::TextCNN",
        (rt.SharedLayer("", 0, "00_5e1f", label="layer 1 proj", position=0),),
    )

    @transfer.build
    def build():
        with transfer.layer(0):
            layer = tf.keras.layers.Dense(3)
        return layer(tf.ones([1, 2]))  # the weights are made here, outside the mark

    with tf.Graph().as_default(), pytest.raises(rt.TransferError) as raised:
        build()
    message = str(raised.value)
    for part in ("models/m.py::TextCNN", "layer 1 proj", "trunk position 0", "'00_5e1f'"):
        assert part in message, part
    assert "recorded no variable" in message


@pytest.mark.filterwarnings("ignore:`tf.nn.rnn_cell.GRUCell` is deprecated")
def test_a_routed_cell_constructor_that_creates_nothing_raises(rt) -> None:
    transfer = rt.ModelTransfer("m", (rt.SharedLayer("cell", 0, "02_cell", label="layer 3"),))
    make_cell = transfer.shared_layer("cell")(lambda: tf.nn.rnn_cell.GRUCell(4))
    with tf.Graph().as_default(), pytest.raises(rt.TransferError) as raised:
        transfer.build(make_cell)()
    assert "call #0 of 'cell'" in str(raised.value) and "'02_cell'" in str(raised.value)


# --- freeze freezes, or refuses -------------------------------------------------------------


def trainable_names(graph) -> list[str]:
    return [v.op.name for v in graph.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)]


@pytest.mark.parametrize("use_resource", [True, False], ids=["resource", "ref"])
@pytest.mark.parametrize("how", ["freeze", "restore"])
def test_freeze_with_the_optimizer_already_built_raises_and_changes_nothing(
    rt, session, tmp_path, use_resource, how
) -> None:
    """The TF1 class that makes its train op in __init__: the old runtime took the variables
    out of TRAINABLE_VARIABLES and the existing train op went on updating them."""
    prefix = trained_checkpoint(rt, session, tmp_path)
    transfer, build = model(rt, "m", use_resource=use_resource)
    graph = tf.Graph()
    with graph.as_default():
        loss = build()
        train = tf.train.AdamOptimizer(0.1).minimize(loss)
    sess = session(graph, seed=1)
    trainable, n_ops = trainable_names(graph), len(graph.get_operations())
    before = values(sess, transfer.transferable_variables(graph))
    with pytest.raises(rt.TransferError) as raised:
        if how == "freeze":
            transfer.freeze(graph)
        else:
            transfer.restore(sess, prefix, freeze=True)
    message = str(raised.value)
    assert "nothing changed" in message and "var_list=trainable_variables()" in message
    assert "Adam" in message and "updates m/embed/W" in message and "m/proj/kernel" in message
    assert "m/head" not in message  # only the transferred variables matter
    assert trainable_names(graph) == trainable
    for old, new in zip(before, values(sess, transfer.transferable_variables(graph)), strict=True):
        np.testing.assert_array_equal(old, new)  # restore did not load either
    assert len(graph.get_operations()) == n_ops
    sess.run(train)  # and training goes on as before


@pytest.mark.parametrize("use_resource", [True, False], ids=["resource", "ref"])
def test_freeze_before_the_optimizer_then_three_steps_move_nothing_frozen(
    rt, session, tmp_path, use_resource
) -> None:
    prefix = trained_checkpoint(rt, session, tmp_path)
    transfer, build = model(rt, "m", use_resource=use_resource)
    graph = tf.Graph()
    with graph.as_default():
        loss = build()
        own_saver = tf.train.Saver()  # a model's own Saver restores; it does not train
    sess = session(graph, seed=1)
    with graph.as_default():  # a Saver needs its graph as the default one
        own_saver.save(sess, str(tmp_path / "own"))
    transfer.restore(sess, prefix, freeze=True)
    frozen = transfer.freeze(graph)  # again: idempotent, and the Saver is no obstacle
    assert [v.op.name for v in frozen] == ["m/embed/W", "m/proj/kernel", "m/proj/bias"]
    assert trainable_names(graph) == ["m/head"]
    with graph.as_default():
        model_variables = {v.op.name for v in tf.global_variables()}
        train = tf.train.AdamOptimizer(0.1).minimize(loss)
        slots = [v for v in tf.global_variables() if v.op.name not in model_variables]
        sess.run(tf.variables_initializer(slots))
    [head] = [v for v in graph.get_collection("variables") if v.op.name == "m/head"]
    before, head_before = values(sess, frozen), sess.run(head)
    for _ in range(3):
        sess.run(train)
    for old, new in zip(before, values(sess, frozen), strict=True):
        np.testing.assert_array_equal(old, new)
    assert not np.array_equal(head_before, sess.run(head))
    # An optimizer built from trainable_variables() never targets them either: freeze passes.
    with graph.as_default():
        tf.train.GradientDescentOptimizer(0.1).minimize(
            loss, var_list=transfer.trainable_variables(graph)
        )
    assert transfer.freeze(graph) == frozen


def test_freeze_after_init_from_checkpoint_is_not_blocked_by_the_new_initializers(
    rt, session, tmp_path
) -> None:
    prefix = trained_checkpoint(rt, session, tmp_path)
    transfer, build = model(rt, "m")
    graph = tf.Graph()
    with graph.as_default():
        build()
        transfer.init_from_checkpoint(prefix, freeze=True)
    assert trainable_names(graph) == ["m/head"]


# --- init_from_checkpoint that comes too late raises --------------------------------------------


@pytest.mark.parametrize("initialised", [False, True], ids=["init-op-made", "init-op-run"])
def test_init_from_checkpoint_after_the_init_op_exists_raises_naming_the_fix(
    rt, session, tmp_path, initialised
) -> None:
    """The old runtime returned "restored 3" here and the init op loaded nothing."""
    prefix = trained_checkpoint(rt, session, tmp_path)
    transfer, build = model(rt, "m")
    graph = tf.Graph()
    with graph.as_default():
        build()
        init = tf.global_variables_initializer()
    if initialised:
        tf.Session(graph=graph).run(init)
    initializers = [v.initializer for v in transfer.transferable_variables(graph)]
    n_ops = len(graph.get_operations())
    with pytest.raises(rt.TransferError) as raised:
        transfer.init_from_checkpoint(prefix, graph)
    message = str(raised.value)
    assert "too late" in message and "nothing changed" in message
    assert "before tf.global_variables_initializer()" in message
    assert f"{init.name} runs the initializer of m/embed/W" in message
    assert [v.initializer for v in transfer.transferable_variables(graph)] == initializers
    assert len(graph.get_operations()) == n_ops
