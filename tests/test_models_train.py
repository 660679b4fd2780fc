"""The bundled example models build, train a few steps and create the variables we expect."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pytest
import tensorflow as tf
from conftest import MODELS

pytestmark = [
    pytest.mark.tf,
    # The models are TF1-style on purpose; the deprecation notice is expected noise.
    pytest.mark.filterwarnings("ignore:`tf.layers.dense` is deprecated:UserWarning"),
]

MODEL_NAMES = ("intent", "ner", "qa", "review", "sentiment", "slots", "topic")
# How each is entered: a build function, a class whose constructor builds, an Estimator model_fn.
SHAPES = {"review": "class", "slots": "model_fn"}
# The trunk starts with the embedding table; intent deliberately has a larger vocabulary.
EMBED_SHAPES = {
    "intent": [30000, 64],
    "ner": [20000, 64],
    "qa": [20000, 64],
    "review": [20000, 64],
    "sentiment": [20000, 64],
    "slots": [20000, 64],
    "topic": [20000, 64],
}
SEQ_LEN = 16
BATCH = 8
STEPS = 5


def _load(name: str) -> ModuleType:
    """Import models/<name>.py by path, without needing models/ to be a package."""
    spec = importlib.util.spec_from_file_location(
        f"layershare_example_{name}", MODELS / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_set_is_exactly_the_documented_seven() -> None:
    """A new or removed example must be noticed here and in models/README.md."""
    assert sorted(p.stem for p in MODELS.glob("*.py")) == sorted(MODEL_NAMES)


def _build(module: ModuleType, name: str, token_ids, labels):  # type: ignore[no-untyped-def]
    """(logits, loss, train_op or None) however the model is entered."""
    shape = SHAPES.get(name, "function")
    if shape == "class":
        model = module.ReviewCNN(token_ids, labels)  # makes its own optimizer and step counter
        return model.logits, model.loss, model.train_op
    if shape == "model_fn":
        model_fn = module.model_fn_builder(12, 1e-3)
        outputs = model_fn({"token_ids": token_ids}, labels, "train", {})
        return outputs["logits"], outputs["loss"], outputs["train_op"]
    build_names = [n for n in vars(module) if n.startswith("build") and callable(vars(module)[n])]
    assert build_names == ["build_model"]
    logits, loss = module.build_model(token_ids, labels)
    return logits, loss, None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_builds_and_trains(name: str) -> None:
    """The model gives a finite loss, Adam updates weights, and the embed table has its shape."""
    module = _load(name)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)
        token_ids = tf.compat.v1.placeholder(tf.int32, [None, SEQ_LEN], name="token_ids")
        label_shape = [None, SEQ_LEN] if name == "slots" else [None]  # slots tags every token
        labels = tf.compat.v1.placeholder(tf.int32, label_shape, name="labels")
        logits, loss, train_op = _build(module, name, token_ids, labels)
        model_vars = tf.compat.v1.global_variables()
        n_classes = int(logits.shape[-1])
        if train_op is None:
            train_op = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(loss)
        init = tf.compat.v1.global_variables_initializer()
        trainable = tf.compat.v1.trainable_variables()

    shapes = {v.name: v.shape.as_list() for v in model_vars}
    assert EMBED_SHAPES[name] in shapes.values(), shapes
    shared = {v.name for v in graph.get_collection("transferable_variables")}
    if name == "topic":
        # The model lives under its own outer scope, and so do its shared layers' variables:
        # routing renames nothing (canonical keys live only in transfer checkpoints).
        assert all(v.name.startswith("topic_model/") for v in model_vars), shapes
        assert shared and all(v.startswith("topic_model/") for v in shared), shared
    if name == "review":
        # The class model nests its layers in review/; its shim records them under their names.
        assert shared == {
            f"review/{layer}/{v}:0" for layer in ("conv1", "conv2") for v in "Wb"
        } | {"review/embed/W:0"}, shared
    if name == "slots":
        assert len(shared) == 5, shared  # embedding and both conv blocks, shared with ner

    rng = np.random.default_rng(0)
    feed = {
        token_ids: rng.integers(0, 20000, size=(BATCH, SEQ_LEN), dtype=np.int32),
        labels: rng.integers(0, n_classes, size=(BATCH, SEQ_LEN)[: len(label_shape)]),
    }
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init)
        before = sess.run(trainable)
        for _ in range(STEPS):
            _, loss_value = sess.run([train_op, loss], feed)
            assert np.isfinite(loss_value)
        after = sess.run(trainable)

    changed = [
        v.name for v, b, a in zip(trainable, before, after, strict=True) if not np.array_equal(b, a)
    ]
    assert changed, "no trainable variable changed after training"
