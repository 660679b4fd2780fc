"""Transfer runtime: render the template, import it, move weights between real TF graphs."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import jinja2
import jinja2.meta
import numpy as np
import pytest

tf_root = pytest.importorskip("tensorflow")
tf = tf_root.compat.v1

pytestmark = pytest.mark.tf

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "runtime.py.jinja"
COLLECTION = "transferable_variables"

# Appended after the runtime like the canonical builder copies in layers_common.py: they rebind
# `tf`, which the runtime must not care about (it uses `_tf`).
BUILDERS = """

import tensorflow.compat.v1 as tf


def embedding(ids, vocab=7, dim=3, dtype=tf.float32):
    with tf.variable_scope("embed"):
        table = tf.get_variable("W", [vocab, dim], dtype=dtype)
    return tf.nn.embedding_lookup(table, ids)


def token_embedding(token_ids, vocab=7, dim=3, dtype=tf.float32):
    with tf.variable_scope("token_embedding"):
        lookup = tf.get_variable("table", [vocab, dim], dtype=dtype)
    return tf.nn.embedding_lookup(lookup, token_ids)


def projection(x, units=4, scope="proj"):
    with tf.variable_scope(scope):
        kernel = tf.get_variable("kernel", [x.shape[-1], units], dtype=x.dtype)
        bias = tf.get_variable("bias", [units], dtype=x.dtype, initializer=tf.ones_initializer())
    return tf.nn.relu(tf.matmul(x, kernel) + bias)


def dense_stack(x, units=4):
    hidden = tf.layers.dense(x, units, activation=tf.nn.relu)
    return tf.layers.dense(hidden, units, name="out")


def scaled(x):
    with tf.variable_scope("plain"):
        scale = tf.Variable(tf.ones([x.shape[-1]]), name="scale")
    return x * scale


def keras_head(x):
    return tf.keras.layers.Dense(2)(x)
"""


def render(**variables: str) -> str:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.from_string(TEMPLATE.read_text()).render(**variables)


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The rendered runtime plus hand-written builders, imported as a module from a file."""
    text = render(collection_name=repr(COLLECTION), scope_prefix=repr("transfer"))
    name = "layers_common_runtime_under_test"
    path = tmp_path_factory.mktemp("runtime") / f"{name}.py"
    path.write_text(text + BUILDERS)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


@pytest.fixture
def session() -> Iterator[Callable]:
    """Factory: an initialised Session for a graph, closed after the test."""
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


EMBED = "transfer/00_embedding_c1"
PROJ = "transfer/01_projection_c2"
SHARED = (f"{EMBED}/embed/W", f"{PROJ}/proj/bias", f"{PROJ}/proj/kernel")


def two_layer_model(rt, name: str = "a", *, vocab: int = 7, dtype=None, head: bool = True):
    """A model whose embedding and projection are shared; returns (transfer, build)."""
    dtype = dtype or tf.float32
    transfer = rt.ModelTransfer(
        name,
        (
            rt.SharedLayer("embedding", 0, "00_embedding_c1", expected=("embed/W",)),
            rt.SharedLayer("projection", 0, "01_projection_c2", (), ("proj/kernel", "proj/bias")),
        ),
    )
    embed = transfer.shared_layer("embedding")(rt.embedding)
    project = transfer.shared_layer("projection")(rt.projection)

    @transfer.build
    def build():
        ids = tf.constant([1, 2, 5])
        hidden = project(embed(ids, vocab=vocab, dtype=dtype))
        if head:
            with tf.variable_scope("head"):
                hidden = tf.matmul(hidden, tf.get_variable("W", [4, 2], dtype=dtype))
        return tf.reduce_sum(tf.square(hidden))

    return transfer, build


def names(variables) -> list[str]:
    return [var.op.name for var in variables]


def values(sess, variables) -> dict[str, np.ndarray]:
    return dict(zip(names(variables), sess.run(list(variables)), strict=True))


def by_name(graph, name: str):
    [var] = [v for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) if v.op.name == name]
    return var


# --- template ------------------------------------------------------------------


def test_template_uses_exactly_the_two_documented_variables() -> None:
    source = TEMPLATE.read_text()
    env = jinja2.Environment()
    assert jinja2.meta.find_undeclared_variables(env.parse(source)) == {
        "collection_name",
        "scope_prefix",
    }
    with pytest.raises(jinja2.UndefinedError):
        render(collection_name=repr(COLLECTION))
    text = render(collection_name=repr("c"), scope_prefix=repr("p"))
    compile(text, "runtime.py", "exec")
    assert "TRANSFERABLE_VARIABLES = 'c'" in text and "SCOPE_PREFIX = 'p'" in text


def test_rendered_module_has_the_public_api_and_private_helpers(rt) -> None:
    for name in ("TransferError", "TransferReport", "SharedLayer", "ModelTransfer"):
        assert hasattr(rt, name)
    assert rt.TRANSFERABLE_VARIABLES == COLLECTION and rt.SCOPE_PREFIX == "transfer"
    assert os.environ.get("TF_USE_LEGACY_KERAS") == "1"
    public = {n for n in vars(rt) if not n.startswith("_")}
    builders = {"embedding", "token_embedding", "projection", "dense_stack", "scaled", "keras_head"}
    assert public - builders == {
        "TRANSFERABLE_VARIABLES",
        "SCOPE_PREFIX",
        "TransferError",
        "TransferReport",
        "SharedLayer",
        "ModelTransfer",
        "tf",  # bound by the appended builders, not by the runtime
    }


def test_model_transfer_rejects_duplicate_layers(rt) -> None:
    with pytest.raises(rt.TransferError, match="duplicate"):
        rt.ModelTransfer("m", (rt.SharedLayer("f", 0, "00_a"), rt.SharedLayer("f", 0, "01_b")))
    with pytest.raises(rt.TransferError, match="duplicate"):
        rt.ModelTransfer("m", (rt.SharedLayer("f", 0, "00_a"), rt.SharedLayer("g", 0, "00_a")))


# --- building: canonical names ---------------------------------------------------


def test_keys_ignore_enclosing_scopes_and_graph_history(rt) -> None:
    transfer, build = two_layer_model(rt)
    plain, nested = tf.Graph(), tf.Graph()
    with plain.as_default():
        build()
    with nested.as_default():
        tf.get_variable("unrelated", [2])
        with tf.variable_scope("model"), tf.name_scope("tower_0"):
            with tf.variable_scope("embed"):
                tf.get_variable("W", [1])  # the same relative name, taken outside the layer
            loss = build()
    for graph in (plain, nested):
        assert names(transfer.transferable_variables(graph)) == list(SHARED)
        assert sorted(names(graph.get_collection(COLLECTION))) == list(SHARED)
    nested_names = names(nested.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    assert "model/head/W" in nested_names and "model/embed/W" in nested_names
    # Only variables move: the model's ops keep their own name scopes.
    assert loss.name.startswith("model/tower_0/")


def test_renamed_copy_gets_the_canonical_keys(rt, session, tmp_path: Path) -> None:
    key = "00_embedding_c1"
    original = rt.ModelTransfer("a", (rt.SharedLayer("embedding", 0, key, expected=("embed/W",)),))
    renamed = rt.ModelTransfer(
        "b",
        (
            rt.SharedLayer(
                "token_embedding",
                0,
                key,
                renames=(("token_embedding", "embed"), ("table", "W")),
                expected=("embed/W",),
            ),
        ),
    )
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        original.build(lambda: original.shared_layer("embedding")(rt.embedding)([1]))()
    with graph_b.as_default(), tf.variable_scope("encoder"):
        renamed.build(lambda: renamed.shared_layer("token_embedding")(rt.token_embedding)([1]))()
    assert names(original.transferable_variables(graph_a)) == [f"{EMBED}/embed/W"]
    assert names(renamed.transferable_variables(graph_b)) == [f"{EMBED}/embed/W"]
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    report = renamed.restore(sess_b, original.save(sess_a, tmp_path / "a"))
    assert report.restored == (f"{EMBED}/embed/W",)
    np.testing.assert_array_equal(
        *[
            s.run(t.transferable_variables(g)[0])
            for s, t, g in ((sess_a, original, graph_a), (sess_b, renamed, graph_b))
        ]
    )


def test_expected_names_are_checked_when_the_layer_is_built(rt) -> None:
    transfer = rt.ModelTransfer(
        "m", (rt.SharedLayer("projection", 0, "01_p", expected=("proj/weights", "proj/bias")),)
    )
    with tf.Graph().as_default(), pytest.raises(rt.TransferError) as err:
        transfer.build(
            lambda: transfer.shared_layer("projection")(rt.projection)(tf.ones([1, 3]))
        )()
    message = str(err.value)
    for part in ("projection", "01_p", "proj/weights", "proj/kernel", "'m'"):
        assert part in message
    # A renamed copy without its renames does not pass for the canonical one either.
    unrenamed = rt.ModelTransfer("b", (rt.SharedLayer("tok", 0, "00_e", expected=("embed/W",)),))
    with tf.Graph().as_default(), pytest.raises(rt.TransferError, match="token_embedding/table"):
        unrenamed.build(lambda: unrenamed.shared_layer("tok")(rt.token_embedding)([1]))()


def test_occurrences_count_top_level_calls_only(rt) -> None:
    transfer = rt.ModelTransfer(
        "m",
        (
            rt.SharedLayer("block", 0, "00_block"),
            rt.SharedLayer("projection", 0, "01_first"),
            rt.SharedLayer("projection", 1, "02_second"),
        ),
    )
    project = transfer.shared_layer("projection")(rt.projection)

    @transfer.shared_layer("block")
    def block(x):
        with tf.variable_scope("block"):
            return project(project(x, scope="a"), scope="b")  # nested: no occurrence used

    @transfer.build
    def build():
        x = block(tf.ones([1, 3]))
        for _ in range(3):  # the third call is not listed, so it is not transferable
            x = project(x)
        return x

    graph = tf.Graph()
    with graph.as_default():
        build()
    assert names(transfer.transferable_variables(graph)) == [
        "transfer/00_block/block/a/bias",
        "transfer/00_block/block/a/kernel",
        "transfer/00_block/block/b/bias",
        "transfer/00_block/block/b/kernel",
        "transfer/01_first/proj/bias",
        "transfer/01_first/proj/kernel",
        "transfer/02_second/proj/bias",
        "transfer/02_second/proj/kernel",
    ]
    all_names = names(graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    assert "proj/kernel" in all_names and "proj/bias" in all_names


def test_build_resets_counters_per_build_but_not_when_nested(rt) -> None:
    transfer = rt.ModelTransfer(
        "m",
        (rt.SharedLayer("projection", 0, "01_first"), rt.SharedLayer("projection", 1, "02_second")),
    )
    project = transfer.shared_layer("projection")(rt.projection)
    inner = transfer.build(lambda x: project(x))

    @transfer.build
    def outer():
        return inner(project(tf.ones([1, 4])))  # nested build: counting goes on

    graph = tf.Graph()
    with graph.as_default():
        with tf.variable_scope("train"):
            outer()
        # A second build in the same graph starts again at occurrence 0 and, with reuse,
        # shares the variables of the first (the usual train/eval tower pattern).
        with tf.variable_scope("train", reuse=True):
            outer()
    assert names(transfer.transferable_variables(graph)) == [
        "transfer/01_first/proj/bias",
        "transfer/01_first/proj/kernel",
        "transfer/02_second/proj/bias",
        "transfer/02_second/proj/kernel",
    ]
    assert len(graph.get_collection(COLLECTION)) == 4


def test_layers_dense_variables_get_canonical_keys(rt) -> None:
    transfer = rt.ModelTransfer(
        "m",
        (
            rt.SharedLayer(
                "dense_stack",
                0,
                "03_dense",
                expected=("dense/kernel", "dense/bias", "out/kernel", "out/bias"),
            ),
        ),
    )
    graph = tf.Graph()
    with graph.as_default(), tf.variable_scope("model"):
        tf.layers.dense(tf.ones([1, 2]), 2)  # the model's own "dense" comes first
        transfer.build(
            lambda: transfer.shared_layer("dense_stack")(rt.dense_stack)(tf.ones([1, 2]))
        )()
    assert names(transfer.transferable_variables(graph)) == [
        "transfer/03_dense/dense/bias",
        "transfer/03_dense/dense/kernel",
        "transfer/03_dense/out/bias",
        "transfer/03_dense/out/kernel",
    ]


def test_tf_variable_and_keras_layers_get_canonical_keys(rt) -> None:
    def build_in(graph, earlier_keras_layers: int):
        transfer = rt.ModelTransfer(
            "m", (rt.SharedLayer("scaled", 0, "04_plain"), rt.SharedLayer("keras_head", 0, "05_k"))
        )
        with graph.as_default(), tf.name_scope("outer"):
            for _ in range(earlier_keras_layers):
                tf.keras.layers.Dense(2)(tf.ones([1, 3]))

            @transfer.build
            def build():
                x = transfer.shared_layer("scaled")(rt.scaled)(tf.ones([1, 3]))
                return transfer.shared_layer("keras_head")(rt.keras_head)(x)

            build()
        return names(transfer.transferable_variables(graph))

    expected = ["transfer/04_plain/plain/scale", "transfer/05_k/bias", "transfer/05_k/kernel"]
    assert build_in(tf.Graph(), 0) == expected
    assert build_in(tf.Graph(), 3) == expected  # Keras' graph-wide layer numbering is ignored


def test_model_scope_defaults_still_apply_inside_shared_layers(rt) -> None:
    seen: list[str] = []

    def spy(getter, name, *args, **kwargs):
        seen.append(name)
        return getter(name, *args, **kwargs)

    transfer = rt.ModelTransfer("m", (rt.SharedLayer("embedding", 0, "00_e"),))
    graph = tf.Graph()
    with (
        graph.as_default(),
        tf.variable_scope(
            "model",
            custom_getter=spy,
            partitioner=tf.fixed_size_partitioner(2),
            initializer=tf.constant_initializer(0.5),
        ),
    ):
        transfer.build(lambda: transfer.shared_layer("embedding")(rt.embedding)([1]))()
    assert seen == ["transfer/00_e/embed/W"]  # the model's getter sees the canonical name
    assert names(transfer.transferable_variables(graph)) == [
        "transfer/00_e/embed/W/part_0",
        "transfer/00_e/embed/W/part_1",
    ]
    with tf.Session(graph=graph) as sess:
        sess.run(tf.variables_initializer(transfer.transferable_variables(graph)))
        assert all((v == 0.5).all() for v in sess.run(transfer.transferable_variables(graph)))


def test_shared_layer_outside_graph_mode_is_an_error(rt) -> None:
    transfer = rt.ModelTransfer("m", (rt.SharedLayer("projection", 0, "01_p"),))
    with pytest.raises(rt.TransferError, match="graph mode"):
        transfer.shared_layer("projection")(rt.projection)(tf_root.ones([1, 2]))


# --- save / restore ----------------------------------------------------------------


def train_step(graph, sess, loss, var_list=None):
    with graph.as_default():
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss, var_list=var_list)
    sess.run(step)


def test_save_then_restore_into_another_graph(rt, session, tmp_path: Path) -> None:
    transfer, build = two_layer_model(rt)
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default(), tf.variable_scope("a_scope"):
        loss = build()
        global_step = tf.train.get_or_create_global_step()
        train = tf.train.AdamOptimizer(0.1).minimize(loss, global_step=global_step)
    with graph_b.as_default():
        build()
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    sess_a.run(train)
    before_b = values(sess_b, graph_b.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))

    prefix = transfer.save(sess_a, tmp_path / "ckpt" / "a")
    assert prefix == str(tmp_path / "ckpt" / "a")
    saved = dict(tf.train.list_variables(prefix))
    assert sorted(saved) == list(SHARED)  # no Adam slots, no global_step, no head
    assert not [n for n in names(transfer.transferable_variables(graph_a)) if "Adam" in n]

    report = transfer.restore(sess_b, prefix)
    assert report == rt.TransferReport(restored=SHARED)
    shared_a = values(sess_a, transfer.transferable_variables(graph_a))
    shared_b = values(sess_b, transfer.transferable_variables(graph_b))
    for key in SHARED:
        np.testing.assert_array_equal(shared_a[key], shared_b[key])
        assert not np.array_equal(shared_b[key], before_b[key]) or key.endswith("bias")
    np.testing.assert_array_equal(sess_b.run(by_name(graph_b, "head/W")), before_b["head/W"])
    assert "restored" in str(report) and f"{EMBED}/embed/W" in str(report)


def test_slots_and_step_counters_never_transfer_even_if_collected(rt, session, tmp_path) -> None:
    transfer, build = two_layer_model(rt)
    graph = tf.Graph()
    with graph.as_default():
        loss = build()
        step = tf.train.get_or_create_global_step()
        optimizer = tf.train.AdamOptimizer(0.1)
        optimizer.minimize(loss, global_step=step)
        embed = by_name(graph, f"{EMBED}/embed/W")
        # A careless user (or library) puts optimizer state into the collection.
        tf.add_to_collection(COLLECTION, optimizer.get_slot(embed, "m"))
        tf.add_to_collection(COLLECTION, optimizer.get_slot(embed, "v"))
        tf.add_to_collection(COLLECTION, step)
    assert names(transfer.transferable_variables(graph)) == list(SHARED)
    prefix = transfer.save(session(graph), tmp_path / "s")
    assert sorted(dict(tf.train.list_variables(prefix))) == list(SHARED)


def test_partial_restore_loads_exactly_the_intersection(rt, session, tmp_path) -> None:
    transfer_a, build_a = two_layer_model(rt, "a")
    transfer_b = rt.ModelTransfer(
        "b",
        (
            rt.SharedLayer("embedding", 0, "00_embedding_c1"),
            rt.SharedLayer("dense_stack", 0, "03_dense"),
        ),
    )

    @transfer_b.build
    def build_b():
        x = transfer_b.shared_layer("embedding")(rt.embedding)(tf.constant([1]))
        return transfer_b.shared_layer("dense_stack")(rt.dense_stack)(x)

    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_b.as_default():
        build_b()
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    dense_before = values(sess_b, transfer_b.transferable_variables(graph_b))
    report = transfer_b.restore(sess_b, transfer_a.save(sess_a, tmp_path / "a"))
    assert report.restored == (f"{EMBED}/embed/W",)
    assert report.missing == tuple(
        f"transfer/03_dense/{n}" for n in ("dense/bias", "dense/kernel", "out/bias", "out/kernel")
    )
    assert report.unexpected == (f"{PROJ}/proj/bias", f"{PROJ}/proj/kernel")
    assert report.mismatched == ()
    after = values(sess_b, transfer_b.transferable_variables(graph_b))
    np.testing.assert_array_equal(
        after[f"{EMBED}/embed/W"], sess_a.run(by_name(graph_a, f"{EMBED}/embed/W"))
    )
    for key in report.missing:
        np.testing.assert_array_equal(after[key], dense_before[key])


@pytest.mark.parametrize(
    ("change", "ours", "theirs"),
    [
        ({"vocab": 9}, "(9, 3) float32", "(7, 3) float32"),
        ({"dtype": tf.float64}, "(7, 3) float64", "(7, 3) float32"),
    ],
    ids=["shape", "dtype"],
)
def test_mismatch_raises_naming_both_sides_and_assigns_nothing(
    rt, session, tmp_path, change, ours, theirs
) -> None:
    transfer_a, build_a = two_layer_model(rt, "a")
    transfer_b, build_b = two_layer_model(rt, "b", head=False, **change)
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_b.as_default():
        build_b()
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    before = values(sess_b, transfer_b.transferable_variables(graph_b))
    prefix = transfer_a.save(sess_a, tmp_path / "a")

    with pytest.raises(rt.TransferError) as err:
        transfer_b.restore(sess_b, prefix)
    assert f"{EMBED}/embed/W: model {ours} vs checkpoint {theirs}" in str(err.value)
    with pytest.raises(rt.TransferError) as err:
        transfer_b.copy(sess_a, sess_b)
    assert f"{EMBED}/embed/W: destination #0 {ours} vs source {theirs}" in str(err.value)

    after = values(sess_b, transfer_b.transferable_variables(graph_b))
    for key, value in before.items():  # the projection matched, and was not assigned either
        np.testing.assert_array_equal(after[key], value)
    if "dtype" in change:
        assert f"{PROJ}/proj/kernel" in str(err.value)  # every mismatching variable is named


def corrupt_copies(prefix: str, tmp_path: Path) -> dict[str, str]:
    """Broken variants of a checkpoint: truncated data, truncated index, garbage index."""
    index, data = Path(prefix + ".index"), Path(prefix + ".data-00000-of-00001")
    variants = {}
    for name, index_bytes, data_bytes in (
        ("short_data", index.read_bytes(), data.read_bytes()[: data.stat().st_size // 2]),
        ("short_index", index.read_bytes()[: index.stat().st_size // 2], data.read_bytes()),
        ("garbage", b"not a checkpoint" * 8, data.read_bytes()),
    ):
        target = tmp_path / name / "ckpt"
        target.parent.mkdir()
        Path(str(target) + ".index").write_bytes(index_bytes)
        Path(str(target) + ".data-00000-of-00001").write_bytes(data_bytes)
        variants[name] = str(target)
    variants["missing"] = str(tmp_path / "nowhere" / "ckpt")
    return variants


def test_unreadable_checkpoints_raise_transfer_error_naming_the_path(rt, session, tmp_path) -> None:
    transfer, build = two_layer_model(rt)
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build()
    with graph_b.as_default():
        build()
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    prefix = transfer.save(sess_a, tmp_path / "good" / "ckpt")
    before = values(sess_b, transfer.transferable_variables(graph_b))
    for name, path in corrupt_copies(prefix, tmp_path).items():
        with pytest.raises(rt.TransferError) as err:
            transfer.restore(sess_b, path)
        assert path in str(err.value), name
        assert "Detected at node" not in str(err.value)  # TF's traceback noise is dropped
    after = values(sess_b, transfer.transferable_variables(graph_b))
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


def test_restore_without_common_keys_raises(rt, session, tmp_path) -> None:
    transfer_a, build_a = two_layer_model(rt, "a")
    other = rt.ModelTransfer("o", (rt.SharedLayer("dense_stack", 0, "09_other"),))
    graph_a, graph_o = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_o.as_default():
        other.build(lambda: other.shared_layer("dense_stack")(rt.dense_stack)(tf.ones([1, 2])))()
    prefix = transfer_a.save(session(graph_a), tmp_path / "a")
    with pytest.raises(rt.TransferError, match="no transferable variables in common"):
        other.restore(session(graph_o), prefix)


# --- copy ----------------------------------------------------------------------------


def test_copy_in_memory_to_one_and_two_destinations(rt, session) -> None:
    transfer, build = two_layer_model(rt)
    graphs = [tf.Graph() for _ in range(3)]
    losses = []
    for graph in graphs:
        with graph.as_default():
            losses.append(build())
    src, dst, dst2 = (session(g, seed=i) for i, g in enumerate(graphs))
    head_before = dst.run(by_name(graphs[1], "head/W"))

    report = transfer.copy(src, dst)
    assert report == rt.TransferReport(restored=SHARED)
    source = values(src, transfer.transferable_variables(graphs[0]))
    copied = values(dst, transfer.transferable_variables(graphs[1]))
    for key in SHARED:
        np.testing.assert_array_equal(copied[key], source[key])
    np.testing.assert_array_equal(dst.run(by_name(graphs[1], "head/W")), head_before)

    train_step(graphs[0], src, losses[0])  # the source moves on; copy again to both
    source = values(src, transfer.transferable_variables(graphs[0]))
    assert transfer.copy(src, dst, dst2) == rt.TransferReport(restored=SHARED)
    for sess, graph in ((dst, graphs[1]), (dst2, graphs[2])):
        copied = values(sess, transfer.transferable_variables(graph))
        for key in SHARED:
            np.testing.assert_array_equal(copied[key], source[key])

    # Copies share no state: training one destination changes neither the other nor the source.
    train_step(graphs[1], dst, losses[1])
    for sess, graph in ((src, graphs[0]), (dst2, graphs[2])):
        untouched = values(sess, transfer.transferable_variables(graph))
        for key in SHARED:
            np.testing.assert_array_equal(untouched[key], source[key])
    trained = values(dst, transfer.transferable_variables(graphs[1]))
    assert not np.array_equal(trained[f"{PROJ}/proj/kernel"], source[f"{PROJ}/proj/kernel"])


def test_copy_into_ref_variables_and_partial_destinations(rt, session) -> None:
    _, build_a = two_layer_model(rt, "a")
    transfer_b = rt.ModelTransfer("b", (rt.SharedLayer("embedding", 0, "00_embedding_c1"),))
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_b.as_default(), tf.variable_scope("legacy", use_resource=False):
        loss_b = transfer_b.build(
            lambda: tf.reduce_sum(transfer_b.shared_layer("embedding")(rt.embedding)([1, 2]))
        )()
    [embed_b] = transfer_b.transferable_variables(graph_b)
    assert "Ref" in embed_b.dtype.name or not hasattr(embed_b, "handle")  # a RefVariable
    src, dst = session(graph_a, seed=1), session(graph_b, seed=2)
    report = transfer_b.copy(src, dst)
    assert report.restored == (f"{EMBED}/embed/W",)
    assert report.unexpected == (f"{PROJ}/proj/bias", f"{PROJ}/proj/kernel")
    source = src.run(by_name(graph_a, f"{EMBED}/embed/W"))
    np.testing.assert_array_equal(dst.run(embed_b), source)
    train_step(graph_b, dst, loss_b)  # in-place update of a ref variable
    np.testing.assert_array_equal(src.run(by_name(graph_a, f"{EMBED}/embed/W")), source)


def test_copy_between_unrelated_graphs_raises(rt, session) -> None:
    transfer, build = two_layer_model(rt)
    graph_a, graph_plain = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build()
    with graph_plain.as_default():
        tf.get_variable("w", [2])
    with pytest.raises(rt.TransferError, match="no transferable variables in common"):
        transfer.copy(session(graph_a), session(graph_plain))


def test_copy_and_restore_with_finalized_graphs(rt, session, tmp_path) -> None:
    transfer, build = two_layer_model(rt)
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build()
    with graph_b.as_default():
        build()
    src, dst = session(graph_a, seed=1), session(graph_b, seed=2)
    prefix = transfer.save(src, tmp_path / "a")  # builds the source's Saver before finalizing
    graph_a.finalize()
    graph_b.finalize()
    n_ops = len(graph_b.get_operations())
    assert transfer.copy(src, dst).restored == SHARED  # falls back to ops that already exist
    source = values(src, transfer.transferable_variables(graph_a))
    copied = values(dst, transfer.transferable_variables(graph_b))
    for key in SHARED:
        np.testing.assert_array_equal(copied[key], source[key])
    assert len(graph_b.get_operations()) == n_ops
    with pytest.raises(rt.TransferError, match="finalized"):
        transfer.restore(dst, prefix)
    assert transfer.save(src, tmp_path / "again") == str(tmp_path / "again")  # Saver is cached


@pytest.mark.parametrize(
    ("ragged", "chunk_bytes"),
    [(False, None), (False, 16), (True, None)],
    ids=["chunked", "many-small-chunks", "unknown-shape-fallback"],
)
def test_copy_handles_mixed_dtypes_odd_sizes_and_unknown_shapes(
    rt, session, monkeypatch, ragged, chunk_bytes
) -> None:
    if chunk_bytes:
        monkeypatch.setattr(rt, "_CHUNK_BYTES", chunk_bytes)

    def make(graph):
        transfer = rt.ModelTransfer("m", (rt.SharedLayer("mixed", 0, "07_mixed"),))

        @transfer.shared_layer("mixed")
        def mixed():
            with tf.variable_scope("mixed"):
                tf.get_variable("half", [3], dtype=tf.float16)
                tf.get_variable("count", [], dtype=tf.int64, initializer=tf.constant_initializer(4))
                tf.get_variable("odd", [5, 3])
                tf.get_variable("big", [40, 8])
                if ragged:
                    tf.Variable(tf.ones([3]), shape=tf.TensorShape([None]), name="ragged")

        with graph.as_default():
            transfer.build(mixed)()
        return transfer

    graph_a, graph_b = tf.Graph(), tf.Graph()
    transfer = make(graph_a)
    make(graph_b)
    src, dst = session(graph_a, seed=1), session(graph_b, seed=2)
    with graph_a.as_default():
        src.run([v.assign_add(tf.ones_like(v)) for v in transfer.transferable_variables(graph_a)])
    report = transfer.copy(src, dst)
    assert len(report.restored) == (5 if ragged else 4)
    source = values(src, transfer.transferable_variables(graph_a))
    copied = values(dst, transfer.transferable_variables(graph_b))
    for key, value in source.items():
        np.testing.assert_array_equal(copied[key], value)
        assert copied[key].dtype == value.dtype


def test_copy_and_restore_are_one_run_per_session_and_add_ops_once(
    rt, session, monkeypatch, tmp_path
) -> None:
    from tensorflow.python.client import session as session_module

    transfer, build = two_layer_model(rt)
    graphs = [tf.Graph() for _ in range(3)]
    for graph in graphs:
        with graph.as_default():
            build()
    src, dst, dst2 = (session(g, seed=i) for i, g in enumerate(graphs))
    prefix = transfer.save(src, tmp_path / "a")
    transfer.copy(src, dst, dst2)
    transfer.restore(dst, prefix)
    ops = [len(g.get_operations()) for g in graphs]

    runs: list[object] = []
    real_run = session_module.tf_session.TF_SessionRun_wrapper

    def counting_run(c_session, *args):
        runs.append(c_session)
        return real_run(c_session, *args)

    monkeypatch.setattr(session_module.tf_session, "TF_SessionRun_wrapper", counting_run)
    transfer.copy(src, dst, dst2)
    assert runs == [src._session, dst._session, dst2._session]
    runs.clear()
    transfer.restore(dst, prefix)
    assert runs == [dst._session]
    monkeypatch.undo()
    assert [len(g.get_operations()) for g in graphs] == ops


# --- freezing ---------------------------------------------------------------------------


def test_restore_with_freeze_keeps_transferred_variables_out_of_training(
    rt, session, tmp_path
) -> None:
    transfer, build = two_layer_model(rt)
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build()
    with graph_b.as_default():
        loss = build()
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    transfer.restore(sess_b, transfer.save(sess_a, tmp_path / "a"), freeze=True)
    assert names(graph_b.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)) == ["head/W"]
    before = values(sess_b, graph_b.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    train_step(graph_b, sess_b, loss)  # optimizer created after the restore
    after = values(sess_b, graph_b.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    for key in SHARED:
        np.testing.assert_array_equal(after[key], before[key])
    assert not np.array_equal(after["head/W"], before["head/W"])


def test_trainable_variables_as_var_list_freezes_transferred(rt, session) -> None:
    transfer, build = two_layer_model(rt)
    graph = tf.Graph()
    with graph.as_default():
        loss = build()
    sess = session(graph)
    assert names(transfer.trainable_variables(graph)) == ["head/W"]
    assert sorted(names(transfer.trainable_variables(graph, exclude_transferred=False))) == sorted(
        [*SHARED, "head/W"]
    )
    with graph.as_default():
        assert names(transfer.trainable_variables()) == ["head/W"]  # default graph
    before = values(sess, graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    train_step(graph, sess, loss, var_list=transfer.trainable_variables(graph))
    after = values(sess, graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    for key in SHARED:
        np.testing.assert_array_equal(after[key], before[key])
    assert not np.array_equal(after["head/W"], before["head/W"])


def test_report_prints_counts_and_keys(rt) -> None:
    text = str(rt.TransferReport(restored=("a/x", "a/y"), missing=("b/z",)))
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["restored", "2"] and "a/x, a/y" in lines[0]
    assert lines[1].split() == ["missing", "1", "b/z"]
    assert lines[2].split() == ["unexpected", "0", "-"]
    assert lines[3].split() == ["mismatched", "0", "-"]
