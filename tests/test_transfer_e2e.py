"""End to end with real TensorFlow: emit + apply a copy of models/, then move weights around."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import MODELS, synced_copy_of_models

from codegen.cli import main

tf = pytest.importorskip("tensorflow")

SEQ = 16
BATCH = 4


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh project: the example models as users write them, then `codegen sync`."""
    with synced_copy_of_models(tmp_path_factory.mktemp("project")) as root:
        assert main(["check", "--no-cache"]) == 0
        yield root


def load(project: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"e2e_{name}", project / "models" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def shim(name: str) -> ModuleType:
    return importlib.import_module(f"generated.{name}_transfer")


import importlib  # noqa: E402


class Built:
    """A model in its own graph and session, initialised, with a train op."""

    def __init__(
        self, build, *, optimizer: bool = True, var_list=None, before_optimizer=None
    ) -> None:  # type: ignore[no-untyped-def]
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(1)
            self.ids = tf.compat.v1.placeholder(tf.int32, [None, SEQ])
            self.labels = tf.compat.v1.placeholder(tf.int32, [None])
            self.logits, self.loss = build(self.ids, self.labels)
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(tf.compat.v1.global_variables_initializer())
            if before_optimizer:
                before_optimizer(self)
            self.train = None
            if optimizer:
                opt = tf.compat.v1.train.GradientDescentOptimizer(0.5)
                self.train = opt.minimize(
                    self.loss, var_list=var_list(self.graph) if var_list else None
                )
                initialised = set(self.session.run(tf.compat.v1.report_uninitialized_variables()))
                self.session.run(
                    tf.compat.v1.variables_initializer(
                        [
                            v
                            for v in tf.compat.v1.global_variables()
                            if v.op.name.encode() in initialised
                        ]
                    )
                )

    def step(self, n: int = 1) -> None:
        rng = np.random.default_rng(0)
        classes = int(self.logits.shape[-1])
        for _ in range(n):
            self.session.run(
                self.train,
                {
                    self.ids: rng.integers(0, 20000, (BATCH, SEQ)),
                    self.labels: rng.integers(0, classes, BATCH),
                },
            )

    def values(self) -> dict[str, np.ndarray]:
        with self.graph.as_default():
            variables = tf.compat.v1.global_variables()
        return dict(zip([v.op.name for v in variables], self.session.run(variables), strict=True))


def _sentiment_keys() -> set[str]:
    """The canonical keys of sentiment's trunk, from the plan (3 layers, 5 variables)."""
    from codegen import pipeline
    from codegen.config import Config

    scanned = pipeline.scan(["models"], Config(root=str(MODELS.parent)), use_cache=False)
    trunk = dict(scanned.plan.trunks)["models/sentiment.py::build_model"]
    keys = {f"transfer/{layer.key}/{name}" for layer in trunk for name in layer.expected or ()}
    assert len(trunk) == 3 and len(keys) == 5, keys
    return keys


SENTIMENT_KEYS = _sentiment_keys()


def trained_sentiment(project: Path, tmp_path: Path) -> tuple[Built, str]:
    a = Built(load(project, "sentiment").build_model)
    a.step(3)
    return a, shim("sentiment").save(a.session, str(tmp_path / "sentiment"))


def test_restore_moves_exactly_the_shared_layers(project: Path, tmp_path: Path) -> None:
    a, checkpoint = trained_sentiment(project, tmp_path)
    trained = a.values()
    assert {v.op.name for v in shim("sentiment").transferable_variables(a.graph)} == SENTIMENT_KEYS
    b = Built(load(project, "topic").build_model)  # built inside its outer variable_scope
    fresh = b.values()
    report = shim("topic").restore(b.session, checkpoint)
    assert set(report.restored) == SENTIMENT_KEYS
    assert report.missing == report.unexpected == report.mismatched == ()
    after = b.values()
    for key in SENTIMENT_KEYS:
        assert np.array_equal(after[key], trained[key]), key
        assert not np.array_equal(fresh[key], trained[key]), key
    others = [k for k in after if k not in SENTIMENT_KEYS]
    assert any(k.startswith("topic_model/") for k in others)
    for key in others:
        assert np.array_equal(after[key], fresh[key]), key
    assert "restored" in str(report) and "5" in str(report)


def test_copy_in_memory_writes_no_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = Built(load(project, "sentiment").build_model)
    a.step(2)
    trained = a.values()
    b = Built(load(project, "topic").build_model)
    c = Built(load(project, "ner").build_model)
    monkeypatch.setattr(
        tf.compat.v1.train.Saver, "save", lambda *a, **k: pytest.fail("copy wrote a file")
    )
    report = shim("topic").copy(a.session, b.session, c.session)
    assert SENTIMENT_KEYS <= set(report.restored) or set(report.restored) == SENTIMENT_KEYS
    after_b, after_c = b.values(), c.values()
    for key in SENTIMENT_KEYS:
        assert np.array_equal(after_b[key], trained[key])
    ner_shared = {k for k in after_c if k.startswith("transfer/")}
    assert ner_shared == {k for k in SENTIMENT_KEYS if "/02_" not in k}
    for key in ner_shared:
        assert np.array_equal(after_c[key], trained[key])


def test_pair_sharing_two_layers_gets_two_layers(project: Path, tmp_path: Path) -> None:
    _, checkpoint = trained_sentiment(project, tmp_path)
    ner = Built(load(project, "ner").build_model)
    fresh = ner.values()
    report = shim("ner").restore(ner.session, checkpoint)
    # embed (renamed copy `token_embedding`) and the first conv block: 3 variables, 2 layers.
    assert set(report.restored) == {k for k in SENTIMENT_KEYS if "/02_" not in k}
    assert set(report.unexpected) == {k for k in SENTIMENT_KEYS if "/02_" in k}
    after = ner.values()
    conv2 = [k for k in after if "conv2" in k and not k.startswith("transfer/")]
    assert conv2 and all(np.array_equal(after[k], fresh[k]) for k in conv2)


def test_same_builder_after_a_different_first_layer_gets_nothing(
    project: Path, tmp_path: Path
) -> None:
    assert not (project / "generated" / "intent_transfer.py").exists()
    intent = Built(load(project, "intent").build_model)
    assert not [k for k in intent.values() if k.startswith("transfer/")]
    assert "intent_transfer" not in (project / "models" / "intent.py").read_text()


def test_shape_mismatch_raises_and_assigns_nothing(project: Path, tmp_path: Path) -> None:
    _, checkpoint = trained_sentiment(project, tmp_path)
    topic = shim("topic")

    @topic.build
    def narrow(ids, labels):  # the same builders, the second one called with another width
        h = topic.embed(ids, 20000, 64)
        h = topic.conv_block(h, 32, 3, "conv1")
        logits = tf.compat.v1.layers.dense(tf.reduce_max(h, 1), 2)
        return logits, tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )

    b = Built(narrow, optimizer=False)
    before = b.values()
    with pytest.raises(topic.TransferError) as raised:
        topic.restore(b.session, checkpoint)
    message = str(raised.value)
    conv1 = next(k for k in SENTIMENT_KEYS if "/01_" in k and k.endswith("/v0"))  # the kernel
    assert conv1 in message
    assert "32" in message and "128" in message
    after = b.values()
    assert all(np.array_equal(after[k], before[k]) for k in before)


@pytest.mark.parametrize("how", ["freeze", "var_list"])
def test_frozen_transfer_survives_an_optimizer_step(
    project: Path, tmp_path: Path, how: str
) -> None:
    _, checkpoint = trained_sentiment(project, tmp_path)
    topic = shim("topic")
    if how == "freeze":
        b = Built(
            load(project, "topic").build_model,
            before_optimizer=lambda m: topic.restore(m.session, checkpoint, freeze=True),
        )
    else:
        b = Built(
            load(project, "topic").build_model,
            var_list=lambda g: topic.trainable_variables(g),
            before_optimizer=lambda m: topic.restore(m.session, checkpoint),
        )
    before = b.values()
    b.step(1)
    after = b.values()
    for key in SENTIMENT_KEYS:
        assert np.array_equal(after[key], before[key]), key
    changed = [
        k for k in after if k not in SENTIMENT_KEYS and not np.array_equal(after[k], before[k])
    ]
    assert any(k.startswith("topic_model/") for k in changed)
