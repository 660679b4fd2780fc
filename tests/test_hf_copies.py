"""The Hugging Face "Copied from" corpus (bench/hfcorpus.py): on transformers 4.46.3's TF files of
ten BERT-family models, the class pairs the comments name are in one clone class, and no clone
class joins classes whose code differs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import hfcorpus
import realcorpus

pytestmark = [pytest.mark.slow, pytest.mark.network]


@pytest.fixture(scope="module")
def corpus() -> tuple[Path, dict[str, Any]]:
    folder = realcorpus.build(hfcorpus.PACKAGE, hfcorpus.CACHE)
    return folder, realcorpus.scan(folder)


def test_the_comments_name_79_class_pairs(corpus: tuple[Path, dict[str, Any]]) -> None:
    pairs = hfcorpus.copied_pairs(corpus[0])
    assert len(pairs) == 79
    assert len({p.copy for p in pairs}) == 79


def test_at_least_70_pairs_share_a_clone_class(corpus: tuple[Path, dict[str, Any]]) -> None:
    """At least 70 of 79 pairs are joined, and every pair kept apart is an expectation with a
    reason read from the code (a pair that starts joining must leave the expectations)."""
    folder, scan_json = corpus
    result = hfcorpus.score(hfcorpus.copied_pairs(folder), scan_json, folder)
    assert result["joined"] >= 70, result["apart"]
    expected = hfcorpus.load_expectations()
    apart = {copy for copy, _ in result["apart"]}
    assert apart == set(expected), (sorted(apart - set(expected)), sorted(set(expected) - apart))


def test_no_clone_class_joins_classes_whose_code_differs(
    corpus: tuple[Path, dict[str, Any]],
) -> None:
    folder, scan_json = corpus
    result = hfcorpus.score(hfcorpus.copied_pairs(folder), scan_json, folder)
    assert result["wrong_joins"] == []


def test_class_clone_ids_are_classes(corpus: tuple[Path, dict[str, Any]]) -> None:
    """Clone classes of classes list class ids `path::Class` in the schema's `clone_classes`."""
    _, scan_json = corpus
    classes = [
        c for c in scan_json["clone_classes"] if "." not in c["members"][0].split("::", 1)[1]
    ]
    assert len(classes) >= 20
    for clone in classes:
        assert clone["kind"] in ("exact", "renamed")
        assert all("::" in m and "." not in m.split("::", 1)[1] for m in clone["members"])
