"""Near-miss scoring with a cheap upper bound first gives the exact scorer's verdicts."""

from __future__ import annotations

import hashlib
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import MODELS, REPO

from codegen.config import Config
from codegen.model import ModuleFacts, SourceFile
from codegen.plan import fingerprint as fp
from codegen.plan.linking import Project
from codegen.scan.discover import discover
from codegen.scan.extract import extract

sys.path.insert(0, str(REPO / "bench"))

import corpus

MAX_PAIRS_PER_NAME = 60  # every same-name pair of small groups; a sample of big ones (`__init__`)


def _tree_facts(root: Path, paths: list[str]) -> list[ModuleFacts]:
    sources, _ = discover(paths, Config(root=str(root), cache_dir=""))
    return [extract(source) for source in sources if source.text is not None]


def _corpus_facts(files: int, seed: int, real_shapes: float) -> list[ModuleFacts]:
    texts, _ = corpus.generate(files, seed, real_shapes)
    return [
        extract(SourceFile(path, path, text, hashlib.sha256(text.encode()).hexdigest()))
        for path, text in texts.items()
    ]


TREES = {
    "models": lambda: _tree_facts(MODELS.parent, ["models"]),
    "realcode": lambda: _tree_facts(REPO / "tests" / "realcode", ["."]),
    "realcode_imports": lambda: _tree_facts(REPO / "tests" / "realcode_imports", ["."]),
    "route_fixtures": lambda: _tree_facts(REPO / "tests" / "route_fixtures", ["models"]),
    "corpus": lambda: _corpus_facts(150, 0, 0.0),
    "corpus_real_shapes": lambda: _corpus_facts(150, 1, 0.5),
}


@pytest.fixture(scope="module", params=sorted(TREES))
def tree(request: pytest.FixtureRequest) -> tuple[str, list[ModuleFacts]]:
    return request.param, TREES[request.param]()


def test_bounded_and_exact_verdicts_agree_on_every_same_name_pair(
    tree: tuple[str, list[ModuleFacts]],
) -> None:
    name, modules = tree
    graph = fp._Graph(modules, Project(modules))
    by_name: dict[str, list[str]] = defaultdict(list)
    for fid, function in sorted(graph.functions.items()):
        by_name[function.name].append(fid)
    texts = fp._Texts(graph)
    compared = refused_by_bound = passed = 0
    for fids in by_name.values():
        for a, b in itertools.islice(itertools.combinations(fids, 2), MAX_PAIRS_PER_NAME):
            da, db = texts.get(a), texts.get(b)
            exact = fp.alike_exact(da, db)
            assert fp.alike_bounded(da, db) == exact, (name, a, b)
            compared += 1
            passed += exact is not None
            length = len(da.tokens) + len(db.tokens)
            overlap = sum((da.counts & db.counts).values())
            refused_by_bound += bool(length) and 2.0 * overlap / length < fp.MIN_ALIKE
    assert compared, name  # the tree has same-name functions to score
    if name.startswith("corpus") or name == "realcode":
        # The bound really spares diffs there, and some pairs still pass the gate.
        assert refused_by_bound > 0 and passed > 0, (name, compared, refused_by_bound, passed)


def test_fingerprint_near_misses_are_those_of_the_exact_scorer(
    tree: tuple[str, list[ModuleFacts]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, modules = tree
    project = Project(modules)
    bounded = fp.fingerprint(modules, project=project).with_near_misses(set())
    monkeypatch.setattr(fp, "alike_bounded", fp.alike_exact)
    exact = fp.fingerprint(modules, project=project).with_near_misses(set())
    assert bounded.near_misses == exact.near_misses
    assert bounded.clone_classes == exact.clone_classes


def test_the_bound_never_runs_the_token_diff_for_hopeless_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    short = fp.Definition(("x = 1",), ("x", "=", "1"), fp.Counter(["x", "=", "1"]))
    long_tokens = tuple(f"t{i}" for i in range(40))
    long = fp.Definition(("y",), long_tokens, fp.Counter(long_tokens))
    other_tokens = ("a", "=", "b")
    other = fp.Definition(("a = b",), other_tokens, fp.Counter(other_tokens))

    class Refused:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the exact diff ran for a pair the bound refuses")

    monkeypatch.setattr(fp.difflib, "SequenceMatcher", Refused)
    assert fp.alike_bounded(short, long) is None  # lengths alone
    assert fp.alike_bounded(short, other) is None  # 1 shared token of 6: 0.33 < MIN_ALIKE
