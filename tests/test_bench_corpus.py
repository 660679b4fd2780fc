"""The benchmark corpus: deterministic, parseable, and codegen finds what it plants."""

from __future__ import annotations

import ast
import json
import sys
import textwrap

import libcst as cst
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

import corpus
import scoring

from codegen import pipeline
from codegen.config import Config
from codegen.ids import split_id
from codegen.report import text as report

FILES = 40
SEED = 3


@pytest.fixture(scope="module")
def generated():
    return corpus.generate(FILES, SEED)


def test_same_seed_same_bytes_other_seed_other_corpus(generated):
    texts, manifest = generated
    again_texts, again_manifest = corpus.generate(FILES, SEED)
    assert texts == again_texts
    assert json.dumps(manifest, sort_keys=True) == json.dumps(again_manifest, sort_keys=True)
    other_texts, _ = corpus.generate(FILES, SEED + 1)
    assert other_texts != texts


def test_every_file_parses_and_the_mix_is_planted(generated):
    texts, manifest = generated
    assert len(texts) == FILES
    for path, text in texts.items():
        ast.parse(text, filename=path)
        cst.parse_module(text)
    assert manifest["utility_files"] == round(FILES * corpus.UTIL_SHARE)
    assert not any("tensorflow" in texts[path] for path in manifest["utilities"])
    assert any(path.count("/") > 1 for path in texts), "some files live in subfolders"
    assert manifest["renamed_pairs"] and manifest["exact_pairs"] and manifest["near_miss_pairs"]


def test_renamed_copy_differs_in_names_only(generated):
    texts, manifest = generated
    pair = manifest["renamed_pairs"][0]

    def body(builder_id: str) -> str:
        path, name = split_id(builder_id)
        tree = ast.parse(texts[path])
        node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
        return ast.unparse(node)

    assert body(pair["copy"]) != body(pair["origin"])
    assert pair["renaming"], "the manifest says what was renamed"


def test_codegen_finds_the_planted_clones_and_near_misses(generated, tmp_path):
    manifest = corpus.write_corpus(tmp_path, FILES, SEED)
    scanned = pipeline.scan(["models"], Config(root=str(tmp_path)), jobs=1, use_cache=False)
    found = scoring.codegen_scores(
        manifest, json.loads(report.to_json_text(scanned.plan, scanned.diagnostics))
    )
    assert found["renamed_pairs_found"] == found["renamed_pairs"] > 0
    assert found["renamed_pairs_found_as_renamed_class"] == found["renamed_pairs"]
    assert found["exact_pairs_found"] == found["exact_pairs"] > 0
    assert found["near_miss_pairs_found"] == found["near_miss_pairs"] > 0
    assert found["clone_classes_mixing_builders"] == 0
    assert found["clone_classes_equal_to_planted"] == found["planted_groups"]


def test_pylint_blocks_are_parsed_with_one_based_inclusive_lines():
    output = textwrap.dedent(
        """\
        ************* Module b
        models/b.py:1:0: R0801: Similar lines in 2 files
        ==a:[17:25]
        ==b:[3:11]
            x = 1
            y = 2 (duplicate-code)
        """
    )
    assert scoring.parse_pylint(output) == [[("a", 18, 25), ("b", 4, 11)]]
