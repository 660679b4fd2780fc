"""A call into an import no scanned file defines, inside a loop or branch matched as a whole
(the same code in two models), ends the shared trunk before that block with CG230, as it does
outside one: a layer nobody saw (the nlp-architect chunker's `if "crf" in self.classifier:`
branch calling CRF from a file the scan does not hold). A branch of library layers still shares."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codegen import pipeline
from codegen.config import Config
from codegen.diagnostics import UNRESOLVED_IMPORT
from codegen.plan.planner import pair_depths

TAGGER = """\
    import tensorflow as tf
    from crf import CRF


    class Tagger(object):
        def __init__(self, classifier, n):
            self.classifier = classifier
            self.n = n

        def build(self):
            word_input = tf.keras.layers.Input(shape=(None,))
            x = tf.keras.layers.Embedding(100, 8, name="embedding")(word_input)
            x = tf.keras.layers.Dense(16)(x)
            if "crf" in self.classifier:
                with tf.device("/cpu:0"):
                    out = {branch}
            else:
                out = tf.keras.layers.Dense(self.n, activation="softmax")(x)
            out = tf.keras.layers.Dense(4)(out)
            self.model = tf.keras.Model(word_input, out)
    """


def scan(root: Path, text: str) -> pipeline.Scan:
    (root / "models").mkdir()
    for name in ("a", "b"):
        (root / "models" / f"{name}.py").write_text(text)
    return pipeline.scan(["models"], Config(root=str(root), cache_dir=""), jobs=1, use_cache=False)


def result_of(root: Path, branch: str) -> tuple[int, list[tuple[str, int, str]]]:
    result = scan(root, textwrap.dedent(TAGGER).replace("{branch}", branch))
    pair = ("models/a.py::Tagger.build", "models/b.py::Tagger.build")
    notes = sorted(
        (d.path, d.line, d.message.split("`")[1])
        for d in result.plan.diagnostics
        if d.code == UNRESOLVED_IMPORT
    )
    return pair_depths(result.plan).get(pair, 0), notes


@pytest.mark.parametrize(
    "branch",
    [
        'CRF(self.n, name="chunk_crf")(tf.keras.layers.Dense(self.n)(x))',  # the chunker's shape
        "tf.keras.layers.Dense(self.n)(CRF(self.n)(x))",  # after a library layer
    ],
)
def test_an_unscanned_import_in_a_branch_ends_the_trunk(tmp_path: Path, branch: str) -> None:
    found, notes = result_of(tmp_path, branch)
    assert found == 2  # the embedding and the dense before the branch
    assert notes == [("models/a.py", 16, "crf.CRF"), ("models/b.py", 16, "crf.CRF")]


def test_a_branch_of_library_layers_still_shares(tmp_path: Path) -> None:
    found, notes = result_of(tmp_path, "tf.keras.layers.Dense(self.n)(x)")
    assert notes == []
    assert found == 4  # embedding, dense, the branch, the head
