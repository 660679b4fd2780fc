"""End to end with real TensorFlow: emit + apply a copy of models/, then move weights around.

Routing renames nothing: every test here compares variables by their own names, and the
canonical keys appear only in transfer checkpoints and reports.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import MODELS, REPO, synced_copy_of_models

from codegen.cli import main

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

pytestmark = pytest.mark.tf

SEQ = 16
BATCH = 4
MODEL_NAMES = ("intent", "ner", "qa", "sentiment", "topic")
COLLECTION = "transferable_variables"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh project: the example models as users write them, then `codegen sync`."""
    with synced_copy_of_models(tmp_path_factory.mktemp("project")) as root:
        assert main(["check", "--no-cache"]) == 0
        yield root


@pytest.fixture(scope="module")
def unrouted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same models before `apply`: no shim imports, no decorators."""
    from codegen.demo import unrouted_copy

    root = tmp_path_factory.mktemp("unrouted")
    unrouted_copy(MODELS, root)
    for path in (root / "models").glob("*.py"):
        assert "_transfer" not in path.read_text(encoding="utf-8"), path
    return root


def load(root: Path, name: str) -> ModuleType:
    tag = "routed" if (root / "generated").is_dir() else "plain"
    spec = importlib.util.spec_from_file_location(
        f"e2e_{tag}_{name}", root / "models" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def shim(name: str) -> ModuleType:
    return importlib.import_module(f"generated.{name}_transfer")


def build_inputs() -> tuple:
    v1.set_random_seed(1)
    ids = v1.placeholder(tf.int32, [None, SEQ])
    labels = v1.placeholder(tf.int32, [None])
    return ids, labels


def batch(ids, labels, logits) -> dict:
    rng = np.random.default_rng(0)
    return {
        ids: rng.integers(0, 20000, (BATCH, SEQ)),
        labels: rng.integers(0, int(logits.shape[-1]), BATCH),
    }


def all_values(graph, session) -> dict[str, np.ndarray]:
    with graph.as_default():
        variables = v1.global_variables()
    return dict(zip([v.op.name for v in variables], session.run(variables), strict=True))


class Built:
    """A model in its own graph and session, initialised, with a train op."""

    def __init__(
        self,
        build: Callable,
        *,
        optimizer: bool = True,
        var_list: Callable | None = None,
        before_optimizer: Callable | None = None,
    ) -> None:
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.ids, self.labels = build_inputs()
            self.logits, self.loss = build(self.ids, self.labels)
            self.session = v1.Session(graph=self.graph)
            self.session.run(v1.global_variables_initializer())
            if before_optimizer:
                before_optimizer(self)
            self.train = None
            if optimizer:
                opt = v1.train.GradientDescentOptimizer(0.5)
                self.train = opt.minimize(
                    self.loss, var_list=var_list(self.graph) if var_list else None
                )
                initialised = set(self.session.run(v1.report_uninitialized_variables()))
                self.session.run(
                    v1.variables_initializer(
                        [v for v in v1.global_variables() if v.op.name.encode() in initialised]
                    )
                )

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.session.run(self.train, batch(self.ids, self.labels, self.logits))

    def values(self) -> dict[str, np.ndarray]:
        return all_values(self.graph, self.session)

    def names(self, transfer: ModuleType) -> dict[str, str]:
        """{canonical key: own variable name} of this model's transferable variables."""
        return {key: var.op.name for key, var in transfer.variable_map(self.graph).items()}


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


def assert_moved_exactly(
    fresh: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
    moved: dict[str, str],
    trained: dict[str, np.ndarray],
    *,
    fresh_shared: bool = True,
) -> None:
    """`moved` ({own name here: own name in the source}) hold the trained values; the rest of
    the destination kept its fresh values (`fresh_shared`: also the moved ones before)."""
    assert moved
    assert after.keys() == fresh.keys()
    for mine, theirs in moved.items():
        assert np.array_equal(after[mine], trained[theirs]), mine
        assert not fresh_shared or not np.array_equal(fresh[mine], trained[theirs]), mine
    for name in after.keys() - moved.keys():
        assert np.array_equal(after[name], fresh[name]), name


def moved_names(dst: dict[str, str], src: dict[str, str], keys) -> dict[str, str]:
    return {dst[key]: src[key] for key in keys}


# --- routing changes no graph and no name -------------------------------------------------------


def graph_signature(graph) -> dict:
    """Variables (name, shape, dtype), ops, and every collection but TRANSFERABLE_VARIABLES."""
    variables = graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)
    return {
        "variables": [
            (v.op.name, tuple(v.shape.as_list()), v.dtype.base_dtype.name) for v in variables
        ],
        "ops": [op.name for op in graph.get_operations()],
        "collections": {
            name: [
                getattr(item, "name", type(item).__name__) for item in graph.get_collection(name)
            ]
            for name in sorted(graph.get_all_collection_keys())
            if name != COLLECTION
        },
    }


def model_graph(root: Path, name: str):
    """The model with an Adam optimizer and a step counter, as a training script builds it."""
    graph = tf.Graph()
    with graph.as_default():
        ids, labels = build_inputs()
        _, loss = load(root, name).build_model(ids, labels)
        step = v1.train.get_or_create_global_step()
        v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=step)
    return graph


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_routing_builds_exactly_the_graph_of_the_unrouted_model(
    project: Path, unrouted: Path, name: str
) -> None:
    before, after = model_graph(unrouted, name), model_graph(project, name)
    assert graph_signature(after) == graph_signature(before)
    transferable = after.get_collection(COLLECTION)
    if (project / "generated" / f"{name}_transfer.py").exists():
        assert transferable and not before.get_collection(COLLECTION)
        own = {v.op.name for v in before.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)}
        assert {v.op.name for v in transferable} <= own  # the model's own names, no keys
    else:
        assert not transferable


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n != "intent"])
def test_a_plain_checkpoint_from_before_sync_restores_after_it(
    project: Path, unrouted: Path, tmp_path: Path, name: str
) -> None:
    old = model_graph(unrouted, name)
    with old.as_default():
        saver = v1.train.Saver()
        sess = v1.Session(graph=old)
        sess.run(v1.global_variables_initializer())
        prefix = saver.save(sess, str(tmp_path / "before_sync"), write_meta_graph=False)
    saved = all_values(old, sess)
    new = model_graph(project, name)
    with new.as_default():
        restored = v1.Session(graph=new)
        v1.train.Saver().restore(restored, prefix)
    after = all_values(new, restored)
    assert after.keys() == saved.keys()
    for key, value in saved.items():
        assert np.array_equal(after[key], value), key


def _variables_in_subprocess(root: Path, name: str) -> dict:
    """Own names and keys of a model built in a fresh interpreter (generated/ as on disk now)."""
    script = f"""
import importlib.util, json, sys
import tensorflow as tf
sys.path.insert(0, {str(root)!r})
spec = importlib.util.spec_from_file_location("m", {str(root / "models" / f"{name}.py")!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with tf.Graph().as_default() as graph:
    module.build_model(tf.compat.v1.placeholder(tf.int32, [None, 16]),
                       tf.compat.v1.placeholder(tf.int32, [None]))
    from generated import {name}_transfer as shim
    print(json.dumps({{"names": [v.op.name for v in tf.compat.v1.global_variables()],
                      "keys": {{k: v.op.name for k, v in shim.variable_map(graph).items()}}}}))
"""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_adding_a_model_that_copies_another_changes_none_of_its_names(tmp_path: Path) -> None:
    with synced_copy_of_models(tmp_path / "grow") as root:
        before = _variables_in_subprocess(root, "qa")
        shutil.copy(MODELS / "qa.py", root / "models" / "qa_copy.py")
        assert main(["sync", "--no-cache"]) == 1
        after = _variables_in_subprocess(root, "qa")
    assert after["names"] == before["names"]
    # Which variables transfer, and under which keys, may change; their names never do.
    assert set(before["keys"].values()) <= set(after["keys"].values()) <= set(after["names"])
    assert len(after["keys"]) > len(before["keys"])  # qa_copy shares all of qa's trunk


# --- the transfer paths: exactly the shared layers move, nothing else changes ------------------


def test_restore_moves_exactly_the_shared_layers(project: Path, tmp_path: Path) -> None:
    a, checkpoint = trained_sentiment(project, tmp_path)
    assert set(shim("sentiment").variable_map(a.graph)) == SENTIMENT_KEYS
    trained = a.values()
    b = Built(load(project, "topic").build_model)  # built inside its outer variable_scope
    fresh = b.values()
    report = shim("topic").restore(b.session, checkpoint)
    assert set(report.keys()) == SENTIMENT_KEYS
    assert report.missing == report.unexpected == report.mismatched == ()
    names = b.names(shim("topic"))
    assert_moved_exactly(
        fresh, b.values(), moved_names(names, a.names(shim("sentiment")), SENTIMENT_KEYS), trained
    )
    # The report names what a person recognises: key, layer, the model's own variable.
    entries = {entry.key: entry for entry in report.restored}
    conv1 = next(key for key in SENTIMENT_KEYS if "/01_" in key and key.endswith("/v0"))
    assert entries[conv1].layer == "layer 2 conv_block"
    assert entries[conv1].name == "topic_model/conv1/W"
    assert f"{conv1}  (layer 2 conv_block: topic_model/conv1/W)" in str(report)


def test_copy_in_memory_writes_no_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = Built(load(project, "sentiment").build_model)
    a.step(2)
    trained = a.values()
    b = Built(load(project, "topic").build_model)
    c = Built(load(project, "ner").build_model)
    fresh_b, fresh_c = b.values(), c.values()
    monkeypatch.setattr(v1.train.Saver, "save", lambda *a, **k: pytest.fail("copy wrote a file"))
    report = shim("topic").copy(a.session, b.session, c.session)
    assert set(report.keys()) == SENTIMENT_KEYS
    source = a.names(shim("sentiment"))
    assert_moved_exactly(
        fresh_b, b.values(), moved_names(b.names(shim("topic")), source, SENTIMENT_KEYS), trained
    )
    # ner shares two layers with sentiment (its third, 256 wide, only with slots): those move.
    ner_keys = SENTIMENT_KEYS & set(shim("ner").variable_map(c.graph))
    assert ner_keys == {k for k in SENTIMENT_KEYS if "/02_" not in k}
    assert_moved_exactly(
        fresh_c, c.values(), moved_names(c.names(shim("ner")), source, ner_keys), trained
    )


def test_saver_in_a_training_loop_and_a_scaffold(project: Path, tmp_path: Path) -> None:
    a = Built(load(project, "sentiment").build_model)
    with a.graph.as_default():
        saver = shim("sentiment").saver()
        for step in range(3):  # a user's own loop saving transfer checkpoints as it trains
            a.step()
            path = saver.save(a.session, str(tmp_path / "loop" / "shared"), global_step=step)
    assert sorted(dict(v1.train.list_variables(path))) == sorted(SENTIMENT_KEYS)
    trained = a.values()

    graph = tf.Graph()
    with graph.as_default():
        ids, labels = build_inputs()
        load(project, "topic").build_model(ids, labels)
        topic_saver = shim("topic").saver()
        scaffold = v1.train.Scaffold(init_fn=lambda _, sess: topic_saver.restore(sess, path))
        with v1.train.MonitoredTrainingSession(scaffold=scaffold) as mts:
            after = dict(
                zip(
                    [v.op.name for v in v1.global_variables()],
                    mts.run(v1.global_variables()),
                    strict=True,
                )
            )
    fresh = initial_values(graph)  # what a session starts from without the init_fn
    names = {key: var.op.name for key, var in shim("topic").variable_map(graph).items()}
    assert_moved_exactly(
        fresh, after, moved_names(names, a.names(shim("sentiment")), SENTIMENT_KEYS), trained
    )


def initial_values(graph) -> dict[str, np.ndarray]:
    """What the graph's initializers give in a fresh session: the same graph gives the same
    values (op seeds are fixed when ops are made; rebuilding a graph may not reproduce them)."""
    with graph.as_default(), v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        return all_values(graph, sess)


def _values_in_monitored_session(graph, fetch_train=None) -> dict[str, np.ndarray]:
    with graph.as_default():
        variables = v1.global_variables()
        with v1.train.MonitoredTrainingSession() as mts:
            values = mts.run(variables)  # the initial values, before any step
            if fetch_train is not None:
                mts.run(fetch_train[0], fetch_train[1])
    return dict(zip([v.op.name for v in variables], values, strict=True))


def test_init_from_checkpoint_then_a_monitored_training_session(
    project: Path, tmp_path: Path
) -> None:
    a, checkpoint = trained_sentiment(project, tmp_path)
    trained = a.values()
    graph = tf.Graph()
    with graph.as_default():
        ids, labels = build_inputs()
        logits, loss = load(project, "topic").build_model(ids, labels)
        report = shim("topic").init_from_checkpoint(checkpoint)
        step = v1.train.get_or_create_global_step()
        train = v1.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    assert set(report.keys()) == SENTIMENT_KEYS
    assert all(name.startswith("topic_model/") for name in report.names())
    fresh = initial_values(graph)
    after = _values_in_monitored_session(graph, (train, batch(ids, labels, logits)))
    names = {key: var.op.name for key, var in shim("topic").variable_map(graph).items()}
    moved = moved_names(names, a.names(shim("sentiment")), SENTIMENT_KEYS)
    # The initializers themselves now load the checkpoint: any session starts from it.
    assert_moved_exactly(fresh, after, moved, trained, fresh_shared=False)


def test_init_from_checkpoint_inside_a_model_fn(project: Path, tmp_path: Path) -> None:
    a, checkpoint = trained_sentiment(project, tmp_path)
    trained = a.values()
    topic = load(project, "topic")
    reports = []

    def model_fn(features, labels, mode, params):  # type: ignore[no-untyped-def]
        """Estimator-style: build, warm-start the shared layers, return the train op."""
        logits, loss = topic.build_model(features["ids"], labels)
        if params.get("warm_start"):
            reports.append(shim("topic").init_from_checkpoint(params["warm_start"]))
        step = v1.train.get_or_create_global_step()
        optimizer = v1.train.GradientDescentOptimizer(0.1)
        return {
            "loss": loss,
            "train_op": optimizer.minimize(loss, global_step=step),
            "logits": logits,
        }

    graph = tf.Graph()
    with graph.as_default():
        ids, labels = build_inputs()
        model_fn({"ids": ids}, labels, "train", {"warm_start": checkpoint})
    fresh = initial_values(graph)
    after = _values_in_monitored_session(graph)
    [report] = reports
    assert set(report.keys()) == SENTIMENT_KEYS
    names = {key: v.op.name for key, v in shim("topic").variable_map(graph).items()}
    moved = moved_names(names, a.names(shim("sentiment")), SENTIMENT_KEYS)
    assert_moved_exactly(fresh, after, moved, trained, fresh_shared=False)
    # Without warm_start the same model_fn builds the same graph, and nothing is loaded.
    cold = tf.Graph()
    with cold.as_default():
        ids, labels = build_inputs()
        model_fn({"ids": ids}, labels, "train", {})
    assert graph_signature(cold)["variables"] == graph_signature(graph)["variables"]
    assert len(reports) == 1


def test_pair_sharing_two_layers_gets_two_layers(project: Path, tmp_path: Path) -> None:
    a, checkpoint = trained_sentiment(project, tmp_path)
    ner = Built(load(project, "ner").build_model)
    fresh = ner.values()
    report = shim("ner").restore(ner.session, checkpoint)
    # embed (renamed copy `token_embedding`) and the first conv block: 3 variables, 2 layers.
    shared = {k for k in SENTIMENT_KEYS if "/02_" not in k}
    assert set(report.keys()) == shared
    assert set(report.keys("unexpected")) == {k for k in SENTIMENT_KEYS if "/02_" in k}
    assert all(entry.name is None for entry in report.unexpected)
    assert_moved_exactly(
        fresh,
        ner.values(),
        moved_names(ner.names(shim("ner")), a.names(shim("sentiment")), shared),
        a.values(),
    )


def test_same_builder_after_a_different_first_layer_gets_nothing(
    project: Path, tmp_path: Path
) -> None:
    assert not (project / "generated" / "intent_transfer.py").exists()
    intent = Built(load(project, "intent").build_model)
    assert not intent.graph.get_collection(COLLECTION)
    assert "intent_transfer" not in (project / "models" / "intent.py").read_text()


def test_shape_mismatch_raises_and_assigns_nothing(project: Path, tmp_path: Path) -> None:
    _, checkpoint = trained_sentiment(project, tmp_path)
    topic = shim("topic")
    common = importlib.import_module("generated.layers_common")
    embed = topic.shared_layer("embed")(common.embed)  # the canonical copies, routed
    conv_block = topic.shared_layer("conv_block")(common.conv_block)

    @topic.model("build_model")
    def narrow(ids, labels):  # the same builders, the second one called with another width
        h = embed(ids, 20000, 64)
        h = conv_block(h, 32, 3, "conv1")
        logits = v1.layers.dense(tf.reduce_max(h, 1), 2)
        return logits, tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )

    b = Built(narrow, optimizer=False)
    before = b.values()
    with pytest.raises(topic.TransferError) as raised:
        topic.restore(b.session, checkpoint)
    message = str(raised.value)
    conv1 = next(k for k in SENTIMENT_KEYS if "/01_" in k and k.endswith("/v0"))  # the kernel
    assert f"{conv1}  (layer 2 conv_block: conv1/W)" in message
    assert "32" in message and "128" in message
    with pytest.raises(topic.TransferError):
        with b.graph.as_default():
            topic.init_from_checkpoint(checkpoint)
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
    shared = set(b.names(topic).values())
    before = b.values()
    b.step(1)
    after = b.values()
    for name in shared:
        assert np.array_equal(after[name], before[name]), name
    changed = [k for k in after if k not in shared and not np.array_equal(after[k], before[k])]
    assert any(k.startswith("topic_model/head") for k in changed)


def test_builders_imported_from_layers_common_keep_their_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that imports a shared builder from generated code runs it through its shim after
    `apply`: the same canonical code, so the same graph, now with the layer transferable."""
    case = REPO / "tests" / "golden" / "cross_module" / "models"
    root = tmp_path / "imported"
    shutil.copytree(case, root / "models")
    shutil.copytree(case, root / "plain")
    monkeypatch.chdir(root)
    assert main(["sync", "--no-cache"]) == 1
    saved = {n: m for n, m in sys.modules.items() if n == "generated" or n.startswith("generated.")}
    for name in saved:
        del sys.modules[name]
    monkeypatch.syspath_prepend(str(root))
    try:
        for stem in ("reader", "tagger", "zeta"):
            graphs = []
            for folder in ("plain", "models"):
                spec = importlib.util.spec_from_file_location(
                    f"imported_{folder}_{stem}", root / folder / f"{stem}.py"
                )
                module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
                spec.loader.exec_module(module)  # type: ignore[union-attr]
                [build] = [v for n, v in vars(module).items() if n.startswith("build_")]
                graph = tf.Graph()
                with graph.as_default():
                    build(v1.placeholder(tf.float32, [None, 16]), v1.placeholder(tf.int32, [None]))
                graphs.append(graph)
            plain, routed = graphs
            assert graph_signature(routed) == graph_signature(plain), stem
            assert routed.get_collection(COLLECTION) and not plain.get_collection(COLLECTION)
    finally:
        for name in [n for n in sys.modules if n == "generated" or n.startswith("generated.")]:
            del sys.modules[name]
        sys.modules.update(saved)
