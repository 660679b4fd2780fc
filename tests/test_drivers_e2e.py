"""Models that only drivers construct, routed and transferred end to end in TF graph mode.

tests/drivers/models: a language model built in `__call__` (bilm's shape) that a weight dumper
runs, and a tagger that a driver named `go` constructs; they share a copied `embed` builder. The
real `codegen sync` routes both (the drivers are neither models nor layers), one trains, and the
other restores exactly the shared embedding.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_model_file, synced_fixture_tree

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

FIXTURES = Path(__file__).parent / "drivers" / "models"
VOCAB, DIM, TAGS, SEQ = 30, 6, 4, 5


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture tree routed by the real `codegen sync`, importable."""
    with synced_fixture_tree(FIXTURES, tmp_path_factory.mktemp("drivers_e2e")) as root:
        yield root


def load(project: Path, stem: str) -> ModuleType:
    return load_model_file(project, stem, "drivers")


def values(session: object, graph: object) -> dict[str, np.ndarray]:
    with graph.as_default():  # type: ignore[attr-defined]
        variables = v1.global_variables()
        fetched = session.run(variables)  # type: ignore[attr-defined]
    return dict(zip((v.op.name for v in variables), fetched, strict=True))


def test_routing_enters_the_call_built_model_and_leaves_the_drivers(project: Path) -> None:
    lm = (project / "models" / "lm.py").read_text()
    tagger = (project / "models" / "tagger.py").read_text()
    assert '@lm_transfer.model("LanguageModel.__call__")' in lm
    assert '@tagger_transfer.model("Tagger")' in tagger
    assert "def dump_weights" in lm and "def go" in tagger  # untouched drivers
    assert lm.count("lm_transfer.") == 2 and tagger.count("tagger_transfer.") == 2


def test_a_call_built_model_transfers_its_embedding_to_a_driver_built_tagger(
    project: Path, tmp_path: Path
) -> None:
    lm, tagger = load(project, "lm"), load(project, "tagger")
    lm_shim = importlib.import_module("generated.lm_transfer")
    tagger_shim = importlib.import_module("generated.tagger_transfer")
    rng = np.random.default_rng(0)

    graph_a = tf.Graph()
    with graph_a.as_default():
        v1.set_random_seed(1)
        ids = v1.placeholder(tf.int32, [None, SEQ])
        logits = lm.LanguageModel(VOCAB, DIM)(ids)
        loss = v1.reduce_mean(
            v1.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=logits)
        )
        train = v1.train.AdamOptimizer(0.1).minimize(loss)
        sess_a = v1.Session(graph=graph_a)
        sess_a.run(v1.global_variables_initializer())
        for _ in range(5):
            sess_a.run(train, {ids: rng.integers(0, VOCAB, (4, SEQ))})
    path = lm_shim.save(sess_a, tmp_path / "ckpt" / "lm")
    trained = values(sess_a, graph_a)

    graph_b = tf.Graph()
    with graph_b.as_default():
        v1.set_random_seed(2)
        tag_ids = v1.placeholder(tf.int32, [None, SEQ])
        tagger.Tagger(tag_ids, VOCAB, DIM, TAGS)
        sess_b = v1.Session(graph=graph_b)
        sess_b.run(v1.global_variables_initializer())
    before = values(sess_b, graph_b)
    report = tagger_shim.restore(sess_b, path)
    after = values(sess_b, graph_b)

    assert [e.name for e in report.restored] == ["embedding/table"]
    np.testing.assert_array_equal(after["embedding/table"], trained["embedding/table"])
    assert not np.array_equal(before["embedding/table"], after["embedding/table"])
    for name in ("tags/kernel", "tags/bias"):
        np.testing.assert_array_equal(after[name], before[name])
