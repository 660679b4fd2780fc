"""Transfer runtime (codegen/runtime/, core + TF1 family): imported directly, real TF graphs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

tf_root = pytest.importorskip("tensorflow")
tf = tf_root.compat.v1

pytestmark = pytest.mark.tf

COLLECTION = "transferable_variables"


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


@pytest.fixture(scope="module")
def rt() -> ModuleType:
    """The runtime package's facade itself, as `emit` copies it into generated/_runtime/."""
    from codegen.runtime import api

    return api


@pytest.fixture
def session() -> Iterator[Callable]:
    """Factory: an initialised Session for a graph, closed after the test.

    The seed reaches only ops created after it: graphs built before `make` get random values.
    """
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
EMBED_W, PROJ_KERNEL, PROJ_BIAS = f"{EMBED}/v0", f"{PROJ}/v0", f"{PROJ}/v1"
SHARED = (EMBED_W, PROJ_KERNEL, PROJ_BIAS)
SHARED_NAMES = ("embed/W", "proj/kernel", "proj/bias")  # the same variables' own names


def two_layer_model(rt, name: str = "a", *, vocab: int = 7, dtype=None, head: bool = True):
    """A model whose embedding and projection are shared; returns (transfer, build)."""
    dtype = dtype or tf.float32
    transfer = rt.ModelTransfer(
        name,
        (
            rt.SharedLayer("embedding", 0, "00_embedding_c1", ("v0",), "layer 1 embedding"),
            rt.SharedLayer("projection", 0, "01_projection_c2", ("v0", "v1"), "layer 2 projection"),
        ),
    )
    embed = transfer.shared_layer("embedding")(embedding)
    project = transfer.shared_layer("projection")(projection)

    @transfer.build
    def build():
        ids = tf.constant([1, 2, 5])
        hidden = project(embed(ids, vocab=vocab, dtype=dtype))
        if head:
            with tf.variable_scope("head"):
                hidden = tf.matmul(hidden, tf.get_variable("W", [4, 2], dtype=dtype))
        return tf.reduce_sum(tf.square(hidden))

    return transfer, build


def keys(transfer, graph) -> list[str]:
    """The canonical checkpoint keys of the graph's transferable variables, sorted."""
    return list(transfer.variable_map(graph))


def names(variables) -> list[str]:
    return [var.op.name for var in variables]


def values(sess, variables) -> dict[str, np.ndarray]:
    return dict(zip(names(variables), sess.run(list(variables)), strict=True))


def shared_values(sess, transfer, graph) -> dict[str, np.ndarray]:
    """The transferable variables' values by canonical key."""
    mapping = transfer.variable_map(graph)
    return dict(zip(mapping, sess.run(list(mapping.values())), strict=True))


def by_name(graph, name: str):
    [var] = [v for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) if v.op.name == name]
    return var


# --- module ------------------------------------------------------------------


def test_module_exports_the_public_api_and_reads_no_template(rt) -> None:
    assert sorted(rt.__all__) == [
        "Entry",
        "FileTransfer",
        "KerasFileTransfer",
        "KerasModelTransfer",
        "ModelTransfer",
        "SharedLayer",
        "TransferError",
        "TransferReport",
    ]
    for name in rt.__all__:
        assert hasattr(rt, name)
    with pytest.raises(rt.TransferError, match="scope prefix"):
        rt.ModelTransfer("m", (), scope_prefix="a/b")


def test_emitted_runtime_is_the_module_source_verbatim() -> None:
    from codegen import runtime

    folder = Path(runtime.__file__).parent
    generated = Path(__file__).resolve().parent.parent / "generated"
    emitted = runtime.files()
    assert sorted(emitted) == sorted(
        f"{runtime.MODULE}/{p.name}" for p in (generated / runtime.MODULE).glob("*.py")
    )
    for name, module in runtime.PACKAGE.items():
        text = (folder / f"{module}.py").read_text(encoding="utf-8")
        assert emitted[f"{runtime.MODULE}/{name}"] == text
        on_disk = (generated / runtime.MODULE / name).read_text(encoding="utf-8")
        header, body = on_disk.split("\n", 1)
        assert header.startswith("# @generated by codegen") and body == text
    assert not (generated / f"{runtime.MODULE}.py").exists()


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
        with tf.variable_scope("embed"):
            tf.get_variable("W", [1])  # the same relative name, taken outside the model
        with tf.variable_scope("model"), tf.name_scope("tower_0"):
            loss = build()
    for graph in (plain, nested):
        assert keys(transfer, graph) == list(SHARED)
        assert len(graph.get_collection(COLLECTION)) == len(SHARED)
    # Nothing is renamed: the keys live in transfer checkpoints only.
    assert names(transfer.transferable_variables(plain)) == ["embed/W", "proj/kernel", "proj/bias"]
    assert names(transfer.transferable_variables(nested)) == [
        "model/embed/W",
        "model/proj/kernel",
        "model/proj/bias",
    ]
    assert loss.name.startswith("model/tower_0/")


def test_renamed_copy_gets_the_canonical_keys(rt, session, tmp_path: Path) -> None:
    key = "00_embedding_c1"
    original = rt.ModelTransfer("a", (rt.SharedLayer("embedding", 0, key, expected=("v0",)),))
    renamed = rt.ModelTransfer("b", (rt.SharedLayer("token_embedding", 0, key, expected=("v0",)),))
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        original.build(lambda: original.shared_layer("embedding")(embedding)([1]))()
    with graph_b.as_default(), tf.variable_scope("encoder"):
        renamed.build(lambda: renamed.shared_layer("token_embedding")(token_embedding)([1]))()
    assert keys(original, graph_a) == keys(renamed, graph_b) == [EMBED_W]
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    report = renamed.restore(sess_b, original.save(sess_a, tmp_path / "a"))
    assert report.keys() == (EMBED_W,)
    assert report.restored == (rt.Entry(EMBED_W, "layer 1", "encoder/token_embedding/table"),)
    np.testing.assert_array_equal(
        *[
            s.run(t.transferable_variables(g)[0])
            for s, t, g in ((sess_a, original, graph_a), (sess_b, renamed, graph_b))
        ]
    )


def test_expected_names_are_checked_when_the_layer_is_built(rt) -> None:
    transfer = rt.ModelTransfer("m", (rt.SharedLayer("projection", 0, "01_p", expected=("v0",)),))
    with tf.Graph().as_default(), pytest.raises(rt.TransferError) as err:
        transfer.build(lambda: transfer.shared_layer("projection")(projection)(tf.ones([1, 3])))()
    message = str(err.value)
    for part in ("projection", "01_p", "'v0',)", "'v1')", "'m'", "proj/kernel, proj/bias"):
        assert part in message


def test_occurrences_count_top_level_calls_only(rt) -> None:
    transfer = rt.ModelTransfer(
        "m",
        (
            rt.SharedLayer("block", 0, "00_block"),
            rt.SharedLayer("projection", 0, "01_first"),
            rt.SharedLayer("projection", 1, "02_second"),
        ),
    )
    project = transfer.shared_layer("projection")(projection)

    @transfer.shared_layer("block")
    def block(x):
        with tf.variable_scope("block"):
            return project(project(x, scope="a"), scope="b")  # nested: no occurrence used

    @transfer.build
    def build():
        x = block(tf.ones([1, 3]))
        for index in range(3):  # the third call is not listed, so it is not transferable
            x = project(x, scope=f"p{index}")
        return x

    graph = tf.Graph()
    with graph.as_default():
        build()
    assert keys(transfer, graph) == [
        "transfer/00_block/v0",
        "transfer/00_block/v1",
        "transfer/00_block/v2",
        "transfer/00_block/v3",
        "transfer/01_first/v0",
        "transfer/01_first/v1",
        "transfer/02_second/v0",
        "transfer/02_second/v1",
    ]
    assert names(transfer.transferable_variables(graph)) == [
        "block/a/kernel",
        "block/a/bias",
        "block/b/kernel",
        "block/b/bias",
        "p0/kernel",
        "p0/bias",
        "p1/kernel",
        "p1/bias",
    ]
    assert "p2/kernel" in names(graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))


def test_build_resets_counters_per_build_but_not_when_nested(rt) -> None:
    transfer = rt.ModelTransfer(
        "m",
        (rt.SharedLayer("projection", 0, "01_first"), rt.SharedLayer("projection", 1, "02_second")),
    )
    project = transfer.shared_layer("projection")(projection)
    inner = transfer.build(lambda x: project(x))

    @transfer.build
    def outer():
        return inner(project(tf.ones([1, 4]), scope="first"))  # nested build: counting goes on

    graph = tf.Graph()
    with graph.as_default():
        with tf.variable_scope("train"):
            outer()
        # A second build in the same graph starts again at occurrence 0 and, with reuse,
        # shares the variables of the first (the usual train/eval tower pattern).
        with tf.variable_scope("train", reuse=True):
            outer()
    assert keys(transfer, graph) == [
        "transfer/01_first/v0",
        "transfer/01_first/v1",
        "transfer/02_second/v0",
        "transfer/02_second/v1",
    ]
    assert len(graph.get_collection(COLLECTION)) == 4
    assert names(transfer.transferable_variables(graph)) == [
        "train/first/kernel",
        "train/first/bias",
        "train/proj/kernel",
        "train/proj/bias",
    ]


def test_layers_dense_variables_get_canonical_keys(rt) -> None:
    transfer = rt.ModelTransfer(
        "m",
        (
            rt.SharedLayer(
                "dense_stack",
                0,
                "03_dense",
                expected=("v0", "v1", "v2", "v3"),
            ),
        ),
    )
    graph = tf.Graph()
    with graph.as_default(), tf.variable_scope("model"):
        tf.layers.dense(tf.ones([1, 2]), 2)  # the model's own "dense" comes first
        transfer.build(lambda: transfer.shared_layer("dense_stack")(dense_stack)(tf.ones([1, 2])))()
    assert keys(transfer, graph) == [f"transfer/03_dense/v{i}" for i in range(4)]
    kernel = transfer.variable_map(graph)["transfer/03_dense/v0"]
    assert kernel.shape.as_list() == [2, 4]  # creation order: the first layer's kernel


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
                x = transfer.shared_layer("scaled")(scaled)(tf.ones([1, 3]))
                return transfer.shared_layer("keras_head")(keras_head)(x)

            build()
        return keys(transfer, graph)

    expected = ["transfer/04_plain/v0", "transfer/05_k/v0", "transfer/05_k/v1"]
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
        transfer.build(lambda: transfer.shared_layer("embedding")(embedding)([1]))()
    assert seen == ["model/embed/W"]  # the model's getter sees the variable's own name
    assert keys(transfer, graph) == ["transfer/00_e/v0/part_0", "transfer/00_e/v0/part_1"]
    with tf.Session(graph=graph) as sess:
        sess.run(tf.variables_initializer(transfer.transferable_variables(graph)))
        assert all((v == 0.5).all() for v in sess.run(transfer.transferable_variables(graph)))


def test_shared_layer_outside_graph_mode_is_an_error(rt) -> None:
    transfer = rt.ModelTransfer("m", (rt.SharedLayer("projection", 0, "01_p"),))
    with pytest.raises(rt.TransferError, match="graph mode"):
        transfer.shared_layer("projection")(projection)(tf_root.ones([1, 2]))


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
    assert not [key for key in keys(transfer, graph_a) if "Adam" in key]

    report = transfer.restore(sess_b, prefix)
    assert report.keys() == SHARED and not report.missing + report.unexpected
    shared_a = shared_values(sess_a, transfer, graph_a)
    shared_b = shared_values(sess_b, transfer, graph_b)
    for key, name in zip(SHARED, SHARED_NAMES, strict=True):
        np.testing.assert_array_equal(shared_a[key], shared_b[key])
        assert not np.array_equal(shared_b[key], before_b[name]) or name.endswith("bias")
    np.testing.assert_array_equal(sess_b.run(by_name(graph_b, "head/W")), before_b["head/W"])
    assert "restored" in str(report) and EMBED_W in str(report)


def test_slots_and_step_counters_never_transfer_even_if_collected(rt, session, tmp_path) -> None:
    transfer, build = two_layer_model(rt)
    graph = tf.Graph()
    with graph.as_default():
        loss = build()
        step = tf.train.get_or_create_global_step()
        optimizer = tf.train.AdamOptimizer(0.1)
        optimizer.minimize(loss, global_step=step)
        embed = transfer.variable_map(graph)[EMBED_W]
        # A careless user (or library) puts optimizer state into the collection.
        tf.add_to_collection(COLLECTION, optimizer.get_slot(embed, "m"))
        tf.add_to_collection(COLLECTION, optimizer.get_slot(embed, "v"))
        tf.add_to_collection(COLLECTION, step)
    assert keys(transfer, graph) == list(SHARED)
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
        x = transfer_b.shared_layer("embedding")(embedding)(tf.constant([1]))
        return transfer_b.shared_layer("dense_stack")(dense_stack)(x)

    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_b.as_default():
        build_b()
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    dense_before = shared_values(sess_b, transfer_b, graph_b)
    report = transfer_b.restore(sess_b, transfer_a.save(sess_a, tmp_path / "a"))
    assert report.keys() == (EMBED_W,)
    assert report.keys("missing") == tuple(f"transfer/03_dense/v{i}" for i in range(4))
    assert report.keys("unexpected") == (PROJ_KERNEL, PROJ_BIAS)
    assert report.mismatched == ()
    after = shared_values(sess_b, transfer_b, graph_b)
    np.testing.assert_array_equal(
        after[EMBED_W], sess_a.run(transfer_a.variable_map(graph_a)[EMBED_W])
    )
    for key in report.keys("missing"):
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
    before = shared_values(sess_b, transfer_b, graph_b)
    prefix = transfer_a.save(sess_a, tmp_path / "a")

    with pytest.raises(rt.TransferError) as err:
        transfer_b.restore(sess_b, prefix)
    assert f"{EMBED_W}  (layer 1 embedding: embed/W): model {ours} vs checkpoint {theirs}" in str(
        err.value
    )
    with pytest.raises(rt.TransferError) as err:
        transfer_b.copy(sess_a, sess_b)
    assert f"{EMBED_W}  (layer 1 embedding: embed/W): destination #0 {ours} vs source {theirs}" in (
        str(err.value)
    )

    after = shared_values(sess_b, transfer_b, graph_b)
    for key, value in before.items():  # the projection matched, and was not assigned either
        np.testing.assert_array_equal(after[key], value)
    if "dtype" in change:
        assert PROJ_KERNEL in str(err.value)  # every mismatching variable is named


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
    before = shared_values(sess_b, transfer, graph_b)
    for name, path in corrupt_copies(prefix, tmp_path).items():
        with pytest.raises(rt.TransferError) as err:
            transfer.restore(sess_b, path)
        assert path in str(err.value), name
        assert "Detected at node" not in str(err.value)  # TF's traceback noise is dropped
    after = shared_values(sess_b, transfer, graph_b)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


def test_restore_without_common_keys_raises(rt, session, tmp_path) -> None:
    transfer_a, build_a = two_layer_model(rt, "a")
    other = rt.ModelTransfer("o", (rt.SharedLayer("dense_stack", 0, "09_other"),))
    graph_a, graph_o = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_o.as_default():
        other.build(lambda: other.shared_layer("dense_stack")(dense_stack)(tf.ones([1, 2])))()
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
    assert report.keys() == SHARED and not report.missing + report.unexpected
    source = shared_values(src, transfer, graphs[0])
    copied = shared_values(dst, transfer, graphs[1])
    for key in SHARED:
        np.testing.assert_array_equal(copied[key], source[key])
    np.testing.assert_array_equal(dst.run(by_name(graphs[1], "head/W")), head_before)

    train_step(graphs[0], src, losses[0])  # the source moves on; copy again to both
    source = shared_values(src, transfer, graphs[0])
    assert transfer.copy(src, dst, dst2).keys() == SHARED
    for sess, graph in ((dst, graphs[1]), (dst2, graphs[2])):
        copied = shared_values(sess, transfer, graph)
        for key in SHARED:
            np.testing.assert_array_equal(copied[key], source[key])

    # Copies share no state: training one destination changes neither the other nor the source.
    # The step trains a loss linear in every shared variable, so each one moves whatever the
    # random init (the model's own loss can leave every ReLU dead after the source's step).
    with graphs[1].as_default():
        shared = list(transfer.variable_map(graphs[1]).values())
        linear_loss = tf.add_n([tf.reduce_sum(variable) for variable in shared])
    train_step(graphs[1], dst, linear_loss)
    for sess, graph in ((src, graphs[0]), (dst2, graphs[2])):
        untouched = shared_values(sess, transfer, graph)
        for key in SHARED:
            np.testing.assert_array_equal(untouched[key], source[key])
    trained = shared_values(dst, transfer, graphs[1])
    for key in SHARED:
        np.testing.assert_allclose(trained[key], source[key] - 0.1, rtol=1e-6)


def test_copy_into_ref_variables_and_partial_destinations(rt, session) -> None:
    transfer_a, build_a = two_layer_model(rt, "a")
    transfer_b = rt.ModelTransfer("b", (rt.SharedLayer("embedding", 0, "00_embedding_c1"),))
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_b.as_default(), tf.variable_scope("legacy", use_resource=False):
        loss_b = transfer_b.build(
            lambda: tf.reduce_sum(transfer_b.shared_layer("embedding")(embedding)([1, 2]))
        )()
    [embed_b] = transfer_b.transferable_variables(graph_b)
    assert "Ref" in embed_b.dtype.name or not hasattr(embed_b, "handle")  # a RefVariable
    src, dst = session(graph_a, seed=1), session(graph_b, seed=2)
    report = transfer_b.copy(src, dst)
    assert report.keys() == (EMBED_W,)
    assert report.keys("unexpected") == (PROJ_KERNEL, PROJ_BIAS)
    assert transfer_b.variable_map(graph_a) == {}  # b was not built there: a's keys stay a's
    source = src.run(transfer_a.variable_map(graph_a)[EMBED_W])
    np.testing.assert_array_equal(dst.run(embed_b), source)
    train_step(graph_b, dst, loss_b)  # in-place update of a ref variable
    np.testing.assert_array_equal(src.run(transfer_a.variable_map(graph_a)[EMBED_W]), source)


def test_copy_report_follows_key_maps_that_change_between_copies(rt, session) -> None:
    # copy remembers what it checked per version of the key maps; a new layer is a new version.
    transfer_a, build_a = two_layer_model(rt, "a")
    transfer_b = rt.ModelTransfer(
        "b",
        (
            rt.SharedLayer("embedding", 0, "00_embedding_c1"),
            rt.SharedLayer("projection", 0, "01_projection_c2"),
        ),
    )
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build_a()
    with graph_b.as_default():
        transfer_b.build(lambda: transfer_b.shared_layer("embedding")(embedding)([1, 2]))()
    src, dst = session(graph_a, seed=1), session(graph_b, seed=2)
    first = transfer_b.copy(src, dst)
    assert first.keys() == (EMBED_W,) and first.keys("unexpected") == (PROJ_KERNEL, PROJ_BIAS)
    assert first.names() == ("embed/W",)
    assert first.names("unexpected") == ("proj/kernel", "proj/bias")  # the source's
    assert transfer_b.copy(src, dst) == first

    # Another model built in the destination graph is not b: its variables never join b's map.
    transfer_p = rt.ModelTransfer("p", (rt.SharedLayer("projection", 0, "01_projection_c2"),))
    with graph_b.as_default():
        transfer_p.build(
            lambda: transfer_p.shared_layer("projection")(projection)(tf.ones([1, 3]), scope="p")
        )()
    assert transfer_b.copy(src, dst) == first
    assert list(transfer_p.variable_map(graph_b)) == [PROJ_KERNEL, PROJ_BIAS]

    # b's own layer built later (outside an entry: b's instance goes on) is a new version.
    with graph_b.as_default():
        transfer_b.shared_layer("projection")(projection)(tf.ones([1, 3]))
        dst.run(
            tf.variables_initializer(
                [by_name(graph_b, name) for name in ("proj/kernel", "proj/bias")]
            )
        )
    second = transfer_b.copy(src, dst)
    assert second.keys() == SHARED and not second.unexpected + second.missing
    assert second.names() == SHARED_NAMES
    assert [entry.layer for entry in second.restored] == ["layer 1", "layer 2", "layer 2"]
    copied = shared_values(dst, transfer_b, graph_b)
    for key, value in shared_values(src, transfer_a, graph_a).items():
        np.testing.assert_array_equal(copied[key], value)


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
    assert transfer.copy(src, dst).keys() == SHARED  # falls back to ops that already exist
    source = shared_values(src, transfer, graph_a)
    copied = shared_values(dst, transfer, graph_b)
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
        from codegen.runtime import tf1_copy

        monkeypatch.setattr(tf1_copy, "_CHUNK_BYTES", chunk_bytes)

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
    source = shared_values(src, transfer, graph_a)
    copied = shared_values(dst, transfer, graph_b)
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
    for name in SHARED_NAMES:
        np.testing.assert_array_equal(after[name], before[name])
    assert not np.array_equal(after["head/W"], before["head/W"])


def test_trainable_variables_as_var_list_freezes_transferred(rt, session) -> None:
    transfer, build = two_layer_model(rt)
    graph = tf.Graph()
    with graph.as_default():
        loss = build()
    sess = session(graph)
    assert names(transfer.trainable_variables(graph)) == ["head/W"]
    assert sorted(names(transfer.trainable_variables(graph, exclude_transferred=False))) == sorted(
        [*SHARED_NAMES, "head/W"]
    )
    with graph.as_default():
        assert names(transfer.trainable_variables()) == ["head/W"]  # default graph
    before = values(sess, graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    train_step(graph, sess, loss, var_list=transfer.trainable_variables(graph))
    after = values(sess, graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    for name in SHARED_NAMES:
        np.testing.assert_array_equal(after[name], before[name])
    assert not np.array_equal(after["head/W"], before["head/W"])


def test_report_names_key_layer_and_own_name(rt) -> None:
    report = rt.TransferReport(
        restored=(
            rt.Entry("t/00_a/v0", "layer 1 embed", "emb/W"),
            rt.Entry("t/01_b/v0", "layer 2 conv_block", "conv1/W"),
        ),
        unexpected=(rt.Entry("t/02_c/v0", "layer 3", None),),
    )
    assert report.keys() == ("t/00_a/v0", "t/01_b/v0") and report.names() == ("emb/W", "conv1/W")
    assert str(report).splitlines() == [
        "restored       2",
        "    t/00_a/v0  (layer 1 embed: emb/W)",
        "    t/01_b/v0  (layer 2 conv_block: conv1/W)",
        "missing        0  -",
        "unexpected     1",
        "    t/02_c/v0  (layer 3: not in this model)",
        "mismatched     0  -",
    ]


# --- own names: routing changes nothing in the graph --------------------------------------


def graph_signature(graph) -> dict:
    """Everything routing must leave alone: variables, ops, every collection but ours."""
    variables = graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)
    collections = {}
    for name in graph.get_all_collection_keys():
        if name != COLLECTION:
            collections[name] = [
                getattr(item, "name", repr(type(item))) for item in graph.get_collection(name)
            ]
    return {
        "variables": [
            (v.op.name, tuple(v.shape.as_list()), v.dtype.base_dtype.name) for v in variables
        ],
        "ops": [op.name for op in graph.get_operations()],
        "collections": collections,
    }


def busy_model(transfer=None):
    """Default names before, inside and after the shared layers: dense, Keras, scope numbering."""
    route = transfer.shared_layer if transfer else (lambda _: lambda fn: fn)

    @route("dense_stack")
    def shared_dense(x):
        return dense_stack(x)

    @route("keras_head")
    def shared_keras(x):
        return keras_head(x)

    def build():
        x = tf.layers.dense(tf.ones([2, 3]), 4)  # dense
        with tf.variable_scope(None, default_name="block"):  # block
            x = tf.layers.dense(x, 4)
        x = shared_dense(x)  # dense_1, out
        with tf.variable_scope(None, default_name="block"):  # block_1
            x = tf.layers.dense(x, 4)  # block_1/dense
        x = shared_keras(x)
        x = tf.keras.layers.Dense(3)(x)
        x = tf.layers.dense(x, 2)  # dense_2
        return tf.reduce_sum(x)

    return transfer.build(build) if transfer else build


def test_a_routed_model_builds_exactly_the_unrouted_graph(rt) -> None:
    transfer = rt.ModelTransfer(
        "m",
        (
            rt.SharedLayer("dense_stack", 0, "00_d", ("v0", "v1", "v2", "v3"), "layer 1 dense"),
            rt.SharedLayer("keras_head", 0, "01_k", ("v0", "v1"), "layer 2 head"),
        ),
    )
    plain, routed = tf.Graph(), tf.Graph()
    for graph, model in ((plain, busy_model()), (routed, busy_model(transfer))):
        with graph.as_default(), tf.variable_scope("outer"), tf.name_scope("tower"):
            model()
    assert graph_signature(plain) == graph_signature(routed)
    assert names(transfer.transferable_variables(routed)) == [
        "outer/dense_1/kernel",
        "outer/dense_1/bias",
        "outer/out/kernel",
        "outer/out/bias",
        *[
            n
            for n in names(routed.get_collection(COLLECTION))
            if "dense_1" not in n and "out/" not in n
        ],
    ]
    assert keys(transfer, routed) == [
        *(f"transfer/00_d/v{i}" for i in range(4)),
        "transfer/01_k/v0",
        "transfer/01_k/v1",
    ]
    assert len(routed.get_collection(COLLECTION)) == 6 and not plain.get_collection(COLLECTION)


def test_reused_towers_map_keys_to_the_first_towers_variables(rt) -> None:
    transfer, build = two_layer_model(rt)
    graph = tf.Graph()
    with graph.as_default():
        with tf.variable_scope("tower"):
            build()
        with tf.variable_scope("tower", reuse=True):
            build()
    assert keys(transfer, graph) == list(SHARED)
    assert names(transfer.transferable_variables(graph))[0] == "tower/embed/W"
    assert len(graph.get_collection(COLLECTION)) == 3


# --- without a session: saver() and init_from_checkpoint -------------------------------------


def test_saver_writes_and_reads_transfer_checkpoints(rt, session, tmp_path) -> None:
    transfer, build = two_layer_model(rt)
    graph_a, graph_b = tf.Graph(), tf.Graph()
    with graph_a.as_default():
        build()
        saver = transfer.saver()
    with graph_b.as_default():
        build()
    assert isinstance(saver, tf.train.Saver) and transfer.saver(graph_a) is saver
    sess_a, sess_b = session(graph_a, seed=1), session(graph_b, seed=2)
    with graph_a.as_default():  # a Saver needs its graph as the default one
        prefix = saver.save(sess_a, str(tmp_path / "s" / "ckpt"), write_meta_graph=False)
    assert sorted(dict(tf.train.list_variables(prefix))) == list(SHARED)
    assert transfer.restore(sess_b, prefix).keys() == SHARED
    source, copied = (
        shared_values(sess_a, transfer, graph_a),
        shared_values(sess_b, transfer, graph_b),
    )
    for key in SHARED:
        np.testing.assert_array_equal(copied[key], source[key])
    with pytest.raises(rt.TransferError, match="no transferable variables"):
        transfer.saver(tf.Graph())


def built_with_seed(build, seed: int = 3):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        build()
    return graph


def test_init_from_checkpoint_loads_exactly_the_shared_variables(rt, session, tmp_path) -> None:
    transfer, build = two_layer_model(rt)
    source_graph = built_with_seed(build, seed=1)
    source_sess = session(source_graph, seed=1)
    prefix = transfer.save(source_sess, tmp_path / "a")
    trained = shared_values(source_sess, transfer, source_graph)

    fresh_graph, graph = built_with_seed(build), built_with_seed(build)
    fresh = values(session(fresh_graph), fresh_graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    report = transfer.init_from_checkpoint(prefix, graph)
    assert report.keys() == SHARED and report.names() == SHARED_NAMES
    sess = tf.Session(graph=graph)
    with graph.as_default():
        sess.run(tf.global_variables_initializer())
    after = values(sess, graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
    for key, name in zip(SHARED, SHARED_NAMES, strict=True):
        np.testing.assert_array_equal(after[name], trained[key])
    np.testing.assert_array_equal(after["head/W"], fresh["head/W"])
    assert not np.array_equal(fresh["embed/W"], trained[EMBED_W])
    sess.close()


def test_init_from_checkpoint_checks_first_and_changes_nothing_on_mismatch(
    rt, session, tmp_path
) -> None:
    transfer_a, build_a = two_layer_model(rt, "a")
    transfer_b, build_b = two_layer_model(rt, "b", vocab=9)
    prefix = transfer_a.save(session(built_with_seed(build_a, 1), seed=1), tmp_path / "a")
    graph, fresh_graph = built_with_seed(build_b), built_with_seed(build_b)
    n_ops = len(graph.get_operations())
    with pytest.raises(rt.TransferError, match=r"(?s)nothing restored.*\(9, 3\) float32"):
        transfer_b.init_from_checkpoint(prefix, graph)
    assert len(graph.get_operations()) == n_ops  # no restore op, no initializer replaced
    assert graph_signature(graph) == graph_signature(fresh_graph)
    with pytest.raises(rt.TransferError, match="no transferable variables in common"):
        other = rt.ModelTransfer("o", (rt.SharedLayer("dense_stack", 0, "09_other"),))
        other_graph = tf.Graph()
        with other_graph.as_default():
            other.build(lambda: other.shared_layer("dense_stack")(dense_stack)(tf.ones([1, 2])))()
        other.init_from_checkpoint(prefix, other_graph)
    graph.finalize()
    with pytest.raises(rt.TransferError, match="finalized"):
        transfer_b.init_from_checkpoint(prefix, graph)


def test_init_from_checkpoint_before_a_monitored_training_session(rt, session, tmp_path) -> None:
    transfer, build = two_layer_model(rt)
    source_graph = built_with_seed(build, seed=1)
    source_sess = session(source_graph, seed=1)
    prefix = transfer.save(source_sess, tmp_path / "a")
    trained = shared_values(source_sess, transfer, source_graph)
    graph = tf.Graph()
    with graph.as_default():
        loss = build()
        step = tf.train.get_or_create_global_step()
        train = tf.train.GradientDescentOptimizer(0.0).minimize(loss, global_step=step)
        transfer.init_from_checkpoint(prefix, freeze=False)
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path / "run")) as mts:
            mts.run(train)
            loaded = mts.run(transfer.variable_map())
    for key in SHARED:
        np.testing.assert_array_equal(loaded[key], trained[key])
