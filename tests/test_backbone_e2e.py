"""A backbone two hops away, end to end in TF graph mode: pretraining, then two fine-tuning heads.

tests/backbone_fixture/models is written in the shape real TF1 BERT-style repositories have:
each task's `model_fn` calls a helper in another module (`helpers.build_encoder`, imported
inside the model_fn or at module level), which imports the backbone class inside its body from
a package that re-exports it (`from encoder import Encoder`, `encoder/__init__.py` importing
`.backbone`). The real `codegen sync` routes the three model files (one mark each, at the
helper's call), pretraining is trained and saved, and both heads restore: the whole backbone
moves, the heads and optimizer slots keep their fresh values.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_model_file, synced_fixture_tree

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

FIXTURES = Path(__file__).parent / "backbone_fixture" / "models"
VOCAB, SEQ, LABELS, TAGS = 40, 6, 3, 5
_OURS = ("generated", "encoder", "helpers")  # modules the tree's imports bind


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture tree routed by the real `codegen sync`, importable as users import it."""
    root = tmp_path_factory.mktemp("backbone_e2e")
    with synced_fixture_tree(FIXTURES, root, packages=_OURS, on_path=True):
        yield root


def added_lines(project: Path, relative: str) -> list[str]:
    before = (FIXTURES / relative).read_text().splitlines()
    after = (project / "models" / relative).read_text().splitlines()
    return [line.strip() for line in after if line not in before]


def load(project: Path, stem: str) -> ModuleType:
    return load_model_file(project, stem, "backbone")


def shim(stem: str) -> ModuleType:
    return importlib.import_module(f"generated.{stem}_transfer")


class Graph:
    """One model built through its model_fn in its own graph and session."""

    def __init__(
        self,
        model_fn: Callable[..., dict[str, object]],
        features: dict[str, list[int | None]],
        *,
        seed: int = 3,
    ) -> None:
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(seed)
            self.inputs = {
                name: v1.placeholder(tf.int32, shape, name=name) for name, shape in features.items()
            }
            self.model = model_fn(dict(self.inputs), None, "train", {})
            self.session = v1.Session(graph=self.graph)
            self.session.run(v1.global_variables_initializer())

    def train(self, batches: list[dict[str, np.ndarray]]) -> None:
        with self.graph.as_default():
            for batch in batches:
                feed = {self.inputs[name]: value for name, value in batch.items()}
                self.session.run(self.model["train_op"], feed)

    def values(self) -> dict[str, np.ndarray]:
        with self.graph.as_default():
            variables = v1.global_variables()
            values = self.session.run(variables)
        return dict(zip((v.op.name for v in variables), values, strict=True))


def config(project: Path):  # type: ignore[no-untyped-def]
    return importlib.import_module("encoder").EncoderConfig(VOCAB, hidden_size=8)


def pretrained(project: Path, tmp_path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """Pretraining built through its model_fn, trained 5 steps, saved as a transfer checkpoint."""
    model_fn = load(project, "pretrain").model_fn_builder(config(project), 0.05)
    graph = Graph(model_fn, {"input_ids": [None, SEQ], "masked_ids": [None, SEQ]}, seed=7)
    rng = np.random.default_rng(0)
    ids = (rng.integers(0, VOCAB, (4, SEQ)) for _ in range(10))
    graph.train([{"input_ids": next(ids), "masked_ids": next(ids)} for _ in range(5)])
    return shim("pretrain").save(graph.session, tmp_path / "ckpt" / "pretrain"), graph.values()


def is_backbone(name: str) -> bool:
    """The encoder's own weights (its Adam slots are the optimizer's, never transferred)."""
    return name.startswith("encoder/") and not name.endswith(("/Adam", "/Adam_1"))


def assert_backbone_moved(
    before: dict[str, np.ndarray], after: dict[str, np.ndarray], trained: dict[str, np.ndarray]
) -> None:
    assert after.keys() == before.keys()
    for name, value in after.items():
        if is_backbone(name):
            np.testing.assert_array_equal(value, trained[name], err_msg=name)
        else:
            np.testing.assert_array_equal(value, before[name], err_msg=f"{name} changed")
    # Pretraining changed them (the pooler, which it never uses, keeps its initial values).
    for name in ("encoder/embeddings/word_embeddings", "encoder/layer_0/query/kernel"):
        assert not np.array_equal(after[name], before[name]), f"{name} did not move"


def test_sync_marks_each_model_at_its_call_of_the_helper(project: Path) -> None:
    for stem in ("pretrain", "classify", "tag"):
        added = added_lines(project, f"{stem}.py")
        assert added[0] == f"from generated import {stem}_transfer"
        assert added[1] == f'@{stem}_transfer.model("model_fn_builder.model_fn")'
        assert added[2] == f'with {stem}_transfer.layer("model_fn_builder.model_fn", 0):'
        assert added[3].startswith("encoder = ") and "build_encoder(config" in added[3]
        assert len(added) == 4
    # The helper and the backbone package are nobody's model: untouched, and no shim.
    for relative in ("helpers.py", "encoder/__init__.py", "encoder/backbone.py"):
        assert (project / "models" / relative).read_bytes() == (FIXTURES / relative).read_bytes()
    assert not (project / "generated" / "helpers_transfer.py").exists()


def test_pretrained_backbone_moves_into_the_classifier_and_its_head_stays_fresh(
    project: Path, tmp_path: Path
) -> None:
    path, trained = pretrained(project, tmp_path)
    model_fn = load(project, "classify").model_fn_builder(config(project), LABELS, 0.05)
    graph = Graph(model_fn, {"input_ids": [None, SEQ], "label": [None]})
    before = graph.values()
    backbone = sorted(name for name in before if is_backbone(name))
    assert len(backbone) > 15 and {"output_weights", "output_bias"} <= before.keys()
    report = shim("classify").restore(graph.session, path)
    assert sorted(e.name for e in report.restored) == backbone
    assert not report.mismatched
    assert_backbone_moved(before, graph.values(), trained)
    # The head trains on from the pretrained backbone.
    rng = np.random.default_rng(1)
    batch = {"input_ids": rng.integers(0, VOCAB, (4, SEQ)), "label": rng.integers(0, LABELS, (4,))}
    graph.train([batch])


def test_pretrained_backbone_moves_into_the_tagger_and_its_head_stays_fresh(
    project: Path, tmp_path: Path
) -> None:
    path, trained = pretrained(project, tmp_path)
    model_fn = load(project, "tag").model_fn_builder(config(project), TAGS, 0.05)
    graph = Graph(model_fn, {"input_ids": [None, SEQ], "tags": [None, SEQ]})
    before = graph.values()
    assert {"tagger/kernel", "tagger/bias"} <= before.keys()
    report = shim("tag").restore(graph.session, path)
    assert sorted(e.name for e in report.restored) == sorted(n for n in before if is_backbone(n))
    assert_backbone_moved(before, graph.values(), trained)
    # The pretraining head never moves: it is not in the tagger, and not shared with it.
    assert "cls/predictions/output_bias" in trained
    assert not any(name.startswith("cls/") for name in before)
