"""Layer objects built in one statement and used in a later one (issue 19, "layers that record
nothing"): an RNN cell run by `dynamic_rnn`, a Keras layer built in `__init__` and called in
another method, a layer object called where it is built. The use is the layer, the
constructors decide its identity, and the constructor statements are no layers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO
from test_positions import run

MODEL = textwrap.dedent(
    '''\
    """Text GRU: embedding, GRU over time, projection (a class model, cells built apart)."""

    import tensorflow.compat.v1 as tf


    class {name}(object):
        def __init__(self, vocab_size, embed_size, hidden_size, num_classes):
            self.input_x = tf.placeholder(tf.int32, [None, 6], name="input_x")
            self.projection = tf.keras.layers.Dense(12, activation="tanh")
            with tf.variable_scope("embedding"):
                self.Embedding = tf.get_variable("Embedding", shape=[vocab_size, embed_size])
            self.logits = self.inference(hidden_size, num_classes)

        def inference(self, hidden_size, num_classes):
            embedded = tf.nn.embedding_lookup(self.Embedding, self.input_x)
            cell = tf.nn.rnn_cell.GRUCell(hidden_size)
            cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=1.0)
            outputs, _ = tf.nn.dynamic_rnn(cell, embedded, dtype=tf.float32, scope="rnn")
            pooled = self.projection(tf.reduce_mean(outputs, axis=1))
            mix = tf.layers.Dense(10)
            mixed = mix(pooled)
            return tf.layers.dense(mixed, num_classes, name="head")
    '''
)

SCRIPT = textwrap.dedent(
    """\
    import json, sys
    import numpy as np
    import tensorflow.compat.v1 as tf
    sys.path.insert(0, ".")
    from models.alpha import Alpha
    from models.beta import Beta
    import generated.alpha_transfer as alpha_transfer
    import generated.beta_transfer as beta_transfer

    def built(cls, classes):
        graph = tf.Graph()
        with graph.as_default():
            model = cls(50, 8, 16, classes)
            session = tf.Session(graph=graph)
            session.run(tf.global_variables_initializer())
        return graph, session

    def values(graph, session):
        with graph.as_default():
            return {v.op.name: session.run(v) for v in tf.global_variables()}

    a_graph, a_session = built(Alpha, 2)
    b_graph, b_session = built(Beta, 3)
    path = alpha_transfer.save(a_session, sys.argv[1])
    before = values(b_graph, b_session)
    report = beta_transfer.restore(b_session, path)
    after = values(b_graph, b_session)
    trained = values(a_graph, a_session)
    moved = sorted(n for n in after if not np.array_equal(after[n], before[n]))
    same = sorted(n for n in moved if np.array_equal(after[n], trained.get(n)))
    print(json.dumps({
        "keys": sorted(alpha_transfer.variable_map(a_graph)),
        "restored": sorted(e.key for e in report.restored),
        "missing": list(report.missing),
        "moved": moved,
        "same": same,
    }))
    """
)


def project(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    for name in ("Alpha", "Beta"):
        text = MODEL.format(name=name)
        if name == "Beta":  # the same trunk, another head
            text = text.replace('num_classes, name="head"', "num_classes, use_bias=False")
        (models / f"{name.lower()}.py").write_text(text, encoding="utf-8")
    (models / "__init__.py").write_text("", encoding="utf-8")
    return tmp_path


def layers(root: Path) -> list[tuple[str, int]]:
    """(label, line) of alpha's layers, from `scan --json`."""
    assert run(root, "scan", "--json", "models")[0] == 0
    data = json.loads(run(root, "scan", "--json", "models")[1])
    model = next(m for m in data["models"] if m["path"].endswith("alpha.py"))
    return [(layer["label"], layer["line"]) for layer in model["layers"]]


def test_the_use_of_a_layer_object_is_the_layer(tmp_path: Path) -> None:
    root = project(tmp_path)
    found = layers(root)
    labels = [label for label, _ in found]
    assert not any("GRUCell" in label or "DropoutWrapper" in label for label in labels)
    assert [line for _, line in found][1:4] == [18, 19, 21]  # dynamic_rnn, projection, mix


def test_a_literal_of_a_constructor_decides_the_match(tmp_path: Path) -> None:
    root = project(tmp_path)
    beta = root / "models" / "beta.py"
    beta.write_text(
        beta.read_text(encoding="utf-8").replace("output_keep_prob=1.0", "output_keep_prob=0.5"),
        encoding="utf-8",
    )
    data = json.loads(run(root, "scan", "--json", "models")[1])
    assert [pair["depth"] for pair in data["shared_depth"]] == [1]  # the embedding only


@pytest.mark.slow
@pytest.mark.tf
def test_cell_and_keras_weights_move_between_two_class_models(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert run(root, "sync", "--no-cache")[0] == 1
    assert "alpha_transfer.layer(" in (root / "models" / "alpha.py").read_text(encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_USE_LEGACY_KERAS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "ckpt" / "alpha")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["keys"] and result["restored"] == result["keys"]
    assert result["missing"] == []
    moved = result["moved"]
    assert any("rnn/gru_cell" in name for name in moved), moved
    assert any("dense" in name and "kernel" in name for name in moved), moved
    assert result["same"] == moved  # every moved variable now holds alpha's value
    assert not any(name.startswith(("head", "dense_2")) for name in moved)


REUSED = textwrap.dedent(
    """\
    import tensorflow.compat.v1 as tf


    def build_{name}(x):
        cells = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(8) for _ in range(2)])
        outputs, _ = tf.nn.dynamic_rnn(cells, x, dtype=tf.float32)
        layer = tf.layers.Dense(4)
        a = layer(outputs)
        b = layer(a)
        return tf.layers.dense(b, {head}, name="head")
    """
)


def test_a_second_call_of_a_layer_object_is_no_layer(tmp_path: Path) -> None:
    """Its weights exist already: a mark on it would record nothing."""
    models = tmp_path / "models"
    models.mkdir()
    for name, head in (("alpha", 2), ("beta", 3)):
        text = REUSED.format(name=name, head=head)
        (models / f"{name}.py").write_text(text, encoding="utf-8")
    found = layers(tmp_path)
    assert [line for _, line in found] == [6, 8, 10], found  # dynamic_rnn, layer(outputs), head
    assert found[0][0] == "tf.nn.dynamic_rnn"
