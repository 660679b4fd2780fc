"""The runtime's marks for real model shapes: `layer(root, position)`, `model(root)`, file shims."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

tf_root = pytest.importorskip("tensorflow")
tf = tf_root.compat.v1

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def rt() -> ModuleType:
    from codegen.runtime import api

    return api


def file_shim(rt: ModuleType, *, expected: tuple[str, ...] | None = ("v0",)):  # type: ignore[no-untyped-def]
    """Two models in one file: a class with an inline embedding, a function with a method."""
    a = rt.ModelTransfer(
        "models/m.py::A",
        (rt.SharedLayer("", 0, "00_emb", expected=expected, label="layer 1 emb", position=0),),
    )
    b = rt.ModelTransfer(
        "models/m.py::B",
        (rt.SharedLayer("B.weights", 0, "00_emb", expected=("v0",), label="layer 1 weights"),),
    )
    return rt.FileTransfer({"A": a, "B": b})


def embedding_block(shim, vocab: int = 7) -> tf.Variable:  # type: ignore[no-untyped-def]
    """The TextCNN inline block, with the mark apply adds."""
    with tf.device("/cpu:0"), tf.name_scope("embedding"), shim.layer("A", 0):
        W = tf.Variable(tf.random_uniform([vocab, 3], -1.0, 1.0), name="W")
    return W


def test_keys_do_not_depend_on_scopes_numbering_or_an_optimizer_in_the_constructor(rt) -> None:
    maps = []
    for variant in range(5):
        shim = file_shim(rt)
        graph = tf.Graph()
        with graph.as_default():
            extra = tf.Variable(1.0, name="W")  # takes the plain name: the next is W_1

            @shim.model("A")
            def build(variant=variant, shim=shim, extra=extra):  # type: ignore[no-untyped-def]
                if variant == 0:
                    return embedding_block(shim)
                if variant == 1:
                    with tf.variable_scope("discriminator"):
                        return embedding_block(shim)
                if variant == 2:
                    with tf.name_scope("ignored_by_get_variable"):
                        return embedding_block(shim)
                if variant == 3:
                    with tf.name_scope("embedding"):
                        pass
                    return embedding_block(shim)  # default-name numbering: embedding_1/W
                W = embedding_block(shim)
                tf.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(W) + extra)
                return W

            W = build()
            mapping = shim.variable_map(graph)
            assert list(mapping.values()) == [W]
            maps.append((tuple(mapping), W.op.name))
    assert {keys for keys, _ in maps} == {("transfer/00_emb/v0",)}
    assert [name for _, name in maps] == [
        "embedding/W",
        "discriminator/embedding/W",
        "ignored_by_get_variable/embedding/W",
        "embedding_1/W",
        "embedding/W",
    ]


def test_the_mark_checks_the_variables_it_expects(rt) -> None:
    shim = file_shim(rt, expected=("v0", "v1"))
    with tf.Graph().as_default(), pytest.raises(rt.TransferError, match=r"expected variables"):
        embedding_block(shim)


def test_unknown_variables_are_recorded_in_creation_order(rt) -> None:
    shim = file_shim(rt, expected=None)
    graph = tf.Graph()
    with graph.as_default():
        with shim.layer("A", 0):
            first = tf.get_variable("b", [2])
            second = tf.Variable(tf.zeros([3]), name="a")
        assert shim.variable_map(graph) == {
            "transfer/00_emb/v0": first,
            "transfer/00_emb/v1": second,
        }


def test_a_mark_inside_another_shared_layer_or_for_an_unshared_position_records_nothing(
    rt,
) -> None:
    shim = file_shim(rt)
    graph = tf.Graph()
    with graph.as_default():
        with shim.layer("A", 5):
            tf.Variable(1.0, name="unshared")

        @shim.model("B")
        def build():  # type: ignore[no-untyped-def]
            @shim.shared_layer("B.weights")
            def weights():  # type: ignore[no-untyped-def]
                with shim.layer("A", 0):  # nested: the enclosing layer records it
                    return tf.get_variable("w", [2])

            return weights()

        w = build()
        assert shim.variable_map(graph) == {"transfer/00_emb/v0": w}


def test_a_stale_mark_names_the_fix(rt) -> None:
    shim = file_shim(rt)
    with pytest.raises(rt.TransferError, match="codegen sync"):
        shim.layer("Gone", 0)


def test_file_functions_act_on_the_models_built_in_the_session(rt, tmp_path) -> None:
    shim = file_shim(rt)
    graphs, sessions = [], []
    for root in ("A", "B"):
        graph = tf.Graph()
        with graph.as_default():
            tf.set_random_seed(0)
            if root == "A":
                shim.model("A")(lambda: embedding_block(shim, vocab=2))()
            else:

                @shim.shared_layer("B.weights")
                def weights():  # type: ignore[no-untyped-def]
                    return tf.get_variable("table", [2, 3])

                shim.model("B")(weights)()
            sess = tf.Session(graph=graph)
            sess.run(tf.global_variables_initializer())
        graphs.append(graph)
        sessions.append(sess)
    assert shim._built(graphs[1]) is shim.models["B"]
    path = shim.save(sessions[0], tmp_path / "a")
    report = shim.restore(sessions[1], path)
    assert [(e.key, e.name) for e in report.restored] == [("transfer/00_emb/v0", "table")]
    a_value = sessions[0].run(shim.variable_map(graphs[0])["transfer/00_emb/v0"])
    b_value = sessions[1].run(shim.variable_map(graphs[1])["transfer/00_emb/v0"])
    np.testing.assert_array_equal(a_value, b_value)
    # The objects named after the roots see the same per-graph map.
    assert shim.models["B"].variable_map(graphs[1]) == shim.variable_map(graphs[1])


def test_a_shared_builder_called_outside_every_entry_is_a_plain_call(rt) -> None:
    """Another model file importing the builder, or a unit test calling it, builds no layer of
    this file's models: nothing is recorded, nothing joins the collection."""
    shim = file_shim(rt)

    @shim.shared_layer("B.weights")
    def weights(name="table"):  # type: ignore[no-untyped-def]
        return tf.get_variable(name, [2, 3])

    graph = tf.Graph()
    with graph.as_default():
        weights("outside")
        assert len(tf.global_variables()) == 1
        assert tf.get_collection("transferable_variables") == []
        assert shim.variable_map(graph) == {}
        shim.model("B")(weights)()  # entered: now it is B's layer 1
        assert {k: v.op.name for k, v in shim.variable_map(graph).items()} == {
            "transfer/00_emb/v0": "table"
        }
