"""The extractor's second read of a module that imports a library alias or a Keras layer class
through another scanned module (pipeline's library re-exports) reuses the first parse, and
reads the same facts as a fresh parse would."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import codegen.scan.extract as extract_package
from codegen import pipeline
from codegen.config import Config
from codegen.model import ModuleFacts

FILES = {
    "kit/__init__.py": "",
    "kit/layers/__init__.py": """
        from tensorflow.python import keras

        from kit.layers.crf import CRF

        L = keras.layers
    """,
    "kit/layers/crf.py": """
        import tensorflow as tf


        class CRF(tf.keras.layers.Layer):
            def build(self, input_shape):
                self.transitions = self.add_weight(name="t", shape=[4, 4])
    """,
    "tagger.py": """
        from tensorflow import keras

        from kit.layers import L, CRF


        class Tagger(object):
            def build_model_arc(self, units):
                layer_dense = L.Dense(units, activation="tanh")
                output = CRF(5)(layer_dense(self.inputs))
                self.tf_model = keras.Model(self.inputs, output)
    """,
}


def _scan(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, ModuleFacts], list[str]]:
    """Scan the tree in this process: the facts after the second pass, and every parse."""
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    parsed: list[str] = []
    real_parse = extract_package.parse_module

    def counting_parse(text: str):  # type: ignore[no-untyped-def]
        parsed.append(text)
        return real_parse(text)

    monkeypatch.setattr(extract_package, "parse_module", counting_parse)
    captured: dict[str, ModuleFacts] = {}
    real_pass = pipeline._read_library_reexports

    def capturing_pass(facts, sources, cache):  # type: ignore[no-untyped-def]
        found = real_pass(facts, sources, cache)
        captured.update(facts)
        return found

    monkeypatch.setattr(pipeline, "_read_library_reexports", capturing_pass)
    config = Config(root=str(root), cache_dir="")
    monkeypatch.chdir(root)
    pipeline.scan(["."], config, jobs=1, use_cache=False)
    return captured, parsed


def test_the_second_read_reuses_the_parse_and_reads_the_same_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = sorted(textwrap.dedent(text).lstrip() for text in FILES.values())
    reused, parses = _scan(tmp_path / "reused", monkeypatch)
    assert sorted(parses) == texts  # each file parsed once, those read twice included
    assert ("L", "keras.layers") in reused["tagger.py"].aliases  # it was read a second time
    assert not extract_package._KEPT  # nothing kept once the pass is over
    monkeypatch.setattr(extract_package, "_KEEP_LIMIT", 0)  # nothing kept: parsed again
    fresh, parses = _scan(tmp_path / "fresh", monkeypatch)
    assert len(parses) > len(texts)
    assert reused == fresh


def test_the_second_read_reuses_the_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen.scan.extract import facts

    made: list[str] = []
    real_positions = facts.Positions

    def counting_positions(module, text=None):  # type: ignore[no-untyped-def]
        made.append(text)
        return real_positions(module, text)

    monkeypatch.setattr(facts, "Positions", counting_positions)
    reused, _ = _scan(tmp_path / "reused", monkeypatch)
    assert ("L", "keras.layers") in reused["tagger.py"].aliases  # it was read a second time
    assert sorted(made) == sorted(textwrap.dedent(text).lstrip() for text in FILES.values())
