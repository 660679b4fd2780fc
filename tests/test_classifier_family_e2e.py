"""A family of copied classifier classes whose embedding blocks differ only in statements that
create nothing (an `expand_dims`, a second lookup): the real `codegen sync` routes the shared
embedding, and a trained TextCNN's embedding moves into the others with real TensorFlow, while
their own layers and the negative control stay as they were (issue 20, 6b)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_model_file, synced_fixture_tree

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

FAMILY = Path(__file__).parent / "classifier_family" / "models"
SEQ, CLASSES, VOCAB, EMB = 10, 3, 40, 8


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The family as users write it, routed by the real `codegen sync`."""
    with synced_fixture_tree(FAMILY, tmp_path_factory.mktemp("family")) as root:
        yield root


def load(project: Path, stem: str) -> ModuleType:
    return load_model_file(project, stem, "family")


def shim(stem: str) -> ModuleType:
    return importlib.import_module(f"generated.{stem}_transfer")


class Graph:
    """One model in its own graph and session, all variables initialised."""

    def __init__(self, build: Callable[[], object]) -> None:
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(7)
            self.model = build()
            self.session = v1.Session(graph=self.graph)
            self.session.run(v1.global_variables_initializer())

    def values(self) -> dict[str, np.ndarray]:
        with self.graph.as_default():
            variables = v1.global_variables()
            return dict(
                zip((v.op.name for v in variables), self.session.run(variables), strict=True)
            )


def test_sync_marks_each_copied_embedding_block_and_nothing_else(project: Path) -> None:
    for stem in ("text_cnn", "text_rnn", "pair_classifier"):
        before = (FAMILY / f"{stem}.py").read_text().splitlines()
        after = (project / "models" / f"{stem}.py").read_text().splitlines()
        added = [line.strip() for line in after if line not in before]
        # One mark, on the embedding block's `with` (its expand_dims or second lookup inside).
        marks = [line for line in added if f"{stem}_transfer.layer(" in line]
        assert len(marks) == 1, added
    assert (project / "models" / "char_cnn.py").read_text() == (
        FAMILY / "char_cnn.py"
    ).read_text()


def test_a_trained_cnn_embedding_moves_into_the_rnn_and_the_pair_model(
    project: Path, tmp_path: Path
) -> None:
    cnn = load(project, "text_cnn")
    a = Graph(lambda: cnn.TextCNN(SEQ, CLASSES, VOCAB, EMB, 4))
    with a.graph.as_default():
        train = v1.train.AdamOptimizer(0.05).minimize(a.model.loss)  # type: ignore[attr-defined]
        a.session.run(v1.variables_initializer(v1.global_variables()))
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.integers(0, VOCAB, (4, SEQ))
        y = np.eye(CLASSES)[rng.integers(0, CLASSES, 4)]
        a.session.run(train, {a.model.input_x: x, a.model.input_y: y})  # type: ignore[attr-defined]
    trained = a.values()
    path = shim("text_cnn").save(a.session, tmp_path / "ckpt" / "text_cnn")

    rnn = load(project, "text_rnn")
    pair = load(project, "pair_classifier")
    for stem, build in (
        ("text_rnn", lambda: rnn.TextRNN(SEQ, CLASSES, VOCAB, EMB, 6)),
        ("pair_classifier", lambda: pair.PairClassifier(SEQ, CLASSES, VOCAB, EMB)),
    ):
        b = Graph(build)
        before = b.values()
        report = shim(stem).restore(b.session, path)
        assert [e.name for e in report.restored] == ["embedding/W"], stem
        after = b.values()
        assert after.keys() == before.keys()
        for name, value in after.items():
            if name == "embedding/W":
                np.testing.assert_array_equal(value, trained["embedding/W"])
                assert not np.array_equal(value, before[name])
            else:
                np.testing.assert_array_equal(value, before[name], err_msg=f"{stem}: {name}")


def test_the_negative_control_has_no_shim_to_restore_through(project: Path) -> None:
    """CharCNN's embedding differs in its initial range: it shares nothing, so sync gives it no
    transfer shim and leaves its file as written."""
    assert not (project / "generated" / "char_cnn_transfer.py").exists()
