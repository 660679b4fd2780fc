"""Incremental runs: after random edits, what the caches give is byte for byte a cold run's.

A tree is synced once, then edited at random (a number in a builder, a comment, a file replaced
by another's text, a file put back) and now and then synced again. After every edit the warm
pipeline (facts, applied, shim and layers_common caches from the runs before) must produce the
same generated files, routed model texts, diagnostics and reports as a run with no cache, and
`check`/`scan` must print and exit as they do without a cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

import corpus

from codegen import pipeline
from codegen.apply import rewrite
from codegen.apply.gather import QuickGather
from codegen.cache.rendered import RenderedCache
from codegen.cache.scores import ScoreCache
from codegen.cli import main
from codegen.config import Config
from codegen.emit import canonical
from codegen.model import ModuleFacts, NearMiss, SourceFile
from codegen.plan.fingerprint import fingerprint
from codegen.plan.linking import Project
from codegen.plan.scores import ScoreMemo
from codegen.report import text as report
from codegen.scan.extract import extract

FILES = 14
STEPS = 8
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|[1-9]\d*)(?![\w.])")


class _Scoped(QuickGather):
    """The quick pass that always steps aside: apply runs libcst's scope analysis."""

    @property
    def settled(self) -> bool:
        return False


def _cold_and_warm(root: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """The warm pipeline's outcome equals the cold one, field by field (the cold one with
    apply's scope analysis on every file, when `monkeypatch` is given)."""
    config = Config(root=str(root))
    warm = pipeline.build(config, ["models"], jobs=1, use_cache=True)
    with pytest.MonkeyPatch.context() as patch:
        if monkeypatch is not None:
            patch.setattr(rewrite, "QuickGather", _Scoped)
        cold = pipeline.build(config, ["models"], jobs=1, use_cache=False)
    assert list(warm.files.items()) == list(cold.files.items())  # order included
    assert warm.routed == cold.routed
    assert warm.diagnostics == cold.diagnostics
    assert report.to_json_text(warm.plan, warm.scan.diagnostics) == report.to_json_text(
        cold.plan, cold.scan.diagnostics
    )


def _command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _edit(rng: random.Random, files: list[Path], originals: dict[Path, str]) -> str:
    """One random edit on disk; says what it did (for the failure message). `files` gains
    and loses the files an edit adds and removes."""
    target = rng.choice(files)
    text = target.read_text(encoding="utf-8")
    kind = rng.choice(
        ("number", "number", "comment", "copy", "revert", "alias", "rename", "add", "remove")
    )
    alias = f"{target.stem}_transfer"
    if kind == "alias":  # the alias spelled where apply does not write it: the scope analysis
        spelled = rng.choice(
            (f"\n# see {alias}\n", f"\n\ndef _helper({alias}):\n    return {alias}.x\n")
        )
        target.write_text(text + spelled, encoding="utf-8")
        return f"{target.name}: {alias} spelled {spelled!r}"
    defined = re.findall(r"^def (\w+)\(", text, re.MULTILINE)
    if kind == "rename" and defined:
        old = rng.choice(defined)
        target.write_text(re.sub(rf"\b{old}\b", f"{old}_v2", text), encoding="utf-8")
        return f"{target.name}: {old} renamed"
    if kind == "add":
        extra = target.with_name(f"extra_{rng.randint(0, 999)}.py")
        extra.write_text(text, encoding="utf-8")
        if extra not in files:
            files.append(extra)
        return f"{extra.name}: added, the text of {target.name}"
    if kind == "remove" and target not in originals:
        target.unlink()
        files.remove(target)
        return f"{target.name}: removed"
    if kind == "number":
        found = list(NUMBER.finditer(text))
        if found:
            match = rng.choice(found)
            new = str(rng.randint(2, 999))
            target.write_text(text[: match.start()] + new + text[match.end() :], encoding="utf-8")
            return f"{target.name}: {match.group()} -> {new} at {match.start()}"
    if kind == "comment":
        target.write_text(text + f"\n# edited {rng.random()}\n", encoding="utf-8")
        return f"{target.name}: comment"
    if kind == "copy":
        other = rng.choice(files)
        target.write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
        return f"{target.name}: the text of {other.name}"
    target.write_text(originals.get(target, text + "\n"), encoding="utf-8")
    return f"{target.name}: put back"


@pytest.mark.parametrize("seed", [1, 7, 22])
def test_incremental_runs_equal_cold_runs_after_random_edits(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus.write_corpus(tmp_path, FILES, seed)
    (tmp_path / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    reused: list[int] = []  # shims taken from an earlier render: the incremental path ran
    stored_shims = RenderedCache.shims

    def spy(self: RenderedCache, keys: dict[str, str]) -> dict[str, str]:
        kept = stored_shims(self, keys)
        reused.append(len(kept))
        return kept

    monkeypatch.setattr(RenderedCache, "shims", spy)
    recalled: list[bool] = []  # canonical copies taken from the memo: that path ran too
    stored_recall = canonical._Copier.recall

    def recall_spy(self: canonical._Copier, key: str) -> str | None:
        found = stored_recall(self, key)
        recalled.append(found is not None)
        return found

    monkeypatch.setattr(canonical._Copier, "recall", recall_spy)
    quick: list[bool] = []  # apply's quick pass answered (True) or stepped aside (False)
    stored_settled = QuickGather.settled.fget
    assert stored_settled is not None

    def settled_spy(self: QuickGather) -> bool:
        answer = bool(stored_settled(self))
        quick.append(answer)
        return answer

    monkeypatch.setattr(QuickGather, "settled", property(settled_spy))
    scored: list[bool] = []  # near-miss scores and diffs: reused (True) or computed (False)
    stored_answer = ScoreMemo.answer

    def answer_spy(self: ScoreMemo, key: str, compute: Callable[[], str]) -> str:
        scored.append(key in self.entries)
        return stored_answer(self, key, compute)

    monkeypatch.setattr(ScoreMemo, "answer", answer_spy)
    assert _command(capsys, "sync", "models")[0] in (0, 1)
    assert _command(capsys, "check", "models")[0] == 0
    files = sorted((tmp_path / "models").rglob("*.py"))
    originals = {path: path.read_text(encoding="utf-8") for path in files}
    rng = random.Random(seed)
    done: list[str] = []
    for step in range(STEPS):
        done.append(_edit(rng, files, originals))
        try:
            _cold_and_warm(tmp_path, monkeypatch)
            warm = _command(capsys, "check", "models")
            cold = _command(capsys, "check", "--no-cache", "models")
            assert warm == cold
            warm_scan = _command(capsys, "scan", "--json", "models")
            cold_scan = _command(capsys, "scan", "--json", "--no-cache", "models")
            assert warm_scan == cold_scan
            json.loads(warm_scan[1])
            if step % 3 == 2:  # sometimes move the in-sync state on, as a commit hook would
                assert _command(capsys, "sync", "models")[0] in (0, 1)
                assert _command(capsys, "check", "models")[0] == 0
                _cold_and_warm(tmp_path)
        except AssertionError as error:
            raise AssertionError(f"after edits {done}: {error}") from error
    assert sum(reused) > 0, "no shim was ever reused: the incremental path was not tested"
    assert any(recalled), "no canonical copy came from the memo: that path was not tested"
    assert any(quick), "apply's quick pass never answered: that path was not tested"
    assert any(scored), "no near-miss score came from the memo: that path was not tested"


MODEL = """import tensorflow.compat.v1 as tf


def dense_block(x, units, scope):
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], units])
        return tf.matmul(x, w)


def build_model(x):
    h = dense_block(x, 8, "first")
    h = dense_block(h, {units}, "second")
    return tf.layers.dense(h, {out}, name="logits")
"""


def test_a_shim_is_rendered_again_when_only_its_partners_change(tmp_path: Path) -> None:
    """c leaves the second layer a and b share: a's own model and trunk layers stay the same,
    but its shim names each layer's partners, so the stored shim must not be reused."""
    models = tmp_path / "models"
    models.mkdir()
    for out, name in enumerate("abc", 2):  # not clones of each other: different heads
        (models / f"{name}.py").write_text(MODEL.format(units=64, out=out), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
    config = Config(root=str(tmp_path))
    before = pipeline.build(config, ["models"], jobs=1, use_cache=True)
    assert "layer 2: dense_block, key" in before.files["a_transfer.py"]
    assert (
        "shared with: models/b.py, models/c.py" in before.files["a_transfer.py"].split("layer 2")[1]
    )
    (models / "c.py").write_text(MODEL.format(units=65, out=4), encoding="utf-8")
    warm = pipeline.build(config, ["models"], jobs=1, use_cache=True)
    cold = pipeline.build(config, ["models"], jobs=1, use_cache=False)
    assert "models/c.py" not in cold.files["a_transfer.py"].split("layer 2")[1]
    assert warm.files == cold.files


BLOCK = """import tensorflow.compat.v1 as tf


def block(x, units, scope):
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], units]){extra}
        return tf.nn.relu(tf.matmul(x, w) * {scale})
"""


def _module(name: str, text: str) -> ModuleFacts:
    path = f"models/{name}.py"
    return extract(SourceFile(path, path, text, hashlib.sha256(text.encode()).hexdigest()))


def _near_misses(texts: dict[str, str], memo: ScoreMemo | None) -> tuple[NearMiss, ...]:
    modules = [_module(name, text) for name, text in sorted(texts.items())]
    prints = fingerprint(modules, project=Project(modules), memo=memo)
    return prints.with_near_misses(set()).near_misses


def test_near_miss_scores_are_reused_only_while_both_definitions_are_unchanged() -> None:
    """The score memo answers for unchanged pairs; a pair holding an edited definition is
    scored again even when every stored answer naming the old text was poisoned."""
    texts = {
        "a": BLOCK.format(extra="", scale=2),
        "b": BLOCK.format(extra="\n        w = w + 1.0", scale=2),  # same name, other code
        "c": BLOCK.format(extra="", scale=3),  # differs from a in one number only
    }
    memo = ScoreMemo()
    first = _near_misses(texts, memo)
    assert first == _near_misses(texts, None) and len(first) >= 2
    assert memo.computed > 0 and memo.reused == 0
    again = ScoreMemo(dict(memo.entries))
    assert _near_misses(texts, again) == first
    assert again.reused > 0 and again.computed == 0  # nothing edited: every answer reused

    old = _module("c", texts["c"]).digest
    assert old
    texts["c"] = BLOCK.format(extra="", scale=5)
    poisoned = ScoreMemo(
        {
            key: ("999 999" if key.startswith("alike") else "stale") if old in key else value
            for key, value in memo.entries.items()
        }
    )
    edited = _near_misses(texts, poisoned)
    assert edited == _near_misses(texts, None)
    assert all("stale" not in n.diff for n in edited)
    assert any("5" in n.diff for n in edited)  # the new value shows: c's pairs were rescored
    assert poisoned.computed > 0 and poisoned.reused > 0  # a and b's pair still reused


def test_the_score_cache_survives_runs_and_a_damaged_file_is_a_miss(tmp_path: Path) -> None:
    """Stored across runs (the tool and settings in its key); a damaged file only costs speed."""
    models = tmp_path / "models"
    models.mkdir()
    for name, extra in (("a", ""), ("b", "\n        w = w + 1.0")):
        (models / f"{name}.py").write_text(BLOCK.format(extra=extra, scale=2), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
    config = Config(root=str(tmp_path))
    cold = pipeline.scan(["models"], config, jobs=1, use_cache=False).plan
    first = pipeline.scan(["models"], config, jobs=1, use_cache=True).plan
    cache = ScoreCache(config, use_cache=True)
    assert cache.path is not None and cache.path.is_file()
    assert cache.get().entries
    assert first.near_misses == cold.near_misses and cold.near_misses
    cache.path.write_text("{not json", encoding="utf-8")
    assert not cache.get().entries
    again = pipeline.scan(["models"], config, jobs=1, use_cache=True).plan
    assert again.near_misses == cold.near_misses
    assert cache.get().entries  # written again


def _visited_names(node: object) -> set[str]:
    """Every Name node's value, by libcst's own visitor (the reference for the fields walk)."""
    import libcst as cst

    names: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            names.add(n.value)

    assert isinstance(node, cst.CSTNode)
    node.visit(Collect())
    return names


def test_the_names_walk_finds_what_the_visitor_finds() -> None:
    """canonical._names_in walks node fields instead of visiting: the same names, for every
    top-level statement of the fixture trees (real code included)."""
    from codegen.scan.extract import parse_module

    roots = ("models", "tests/realcode", "tests/realcode_imports", "tests/route_fixtures")
    compared = 0
    for root in roots:
        for path in sorted((REPO / root).rglob("*.py")):
            try:
                module = parse_module(path.read_text(encoding="utf-8"))
            except Exception:  # unparsable fixtures are the scanner's business
                continue
            for statement in module.body:
                assert canonical._names_in(statement) == _visited_names(statement), path
                compared += 1
    assert compared > 200


def _codegen(root: Path, *argv: str) -> tuple[int, str, str]:
    """One `python -m codegen` process in `root`: the console's own path (its parse threshold,
    the collector frozen after each paused stretch), not the in-process one."""
    done = subprocess.run(
        [sys.executable, "-m", "codegen", *argv],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    shown = str(root)  # the two trees differ in their folders only
    return done.returncode, done.stdout.replace(shown, "<root>"), done.stderr.replace(shown, "<root>")


def _tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file of the models and the outputs, by path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for folder in ("models", "generated")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _mirror_models(source: Path, target: Path) -> None:
    shutil.rmtree(target / "models")
    shutil.copytree(source / "models", target / "models")


@pytest.mark.parametrize("seed", [3])
def test_commands_after_random_edits_equal_no_cache_commands_in_their_own_processes(
    seed: int, tmp_path: Path
) -> None:
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    warm.mkdir()
    corpus.write_corpus(warm, FILES, seed)
    (warm / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
    assert _codegen(warm, "sync", "models")[0] in (0, 1)
    shutil.copytree(warm, cold, ignore=shutil.ignore_patterns(".codegen_cache"))
    files = sorted((warm / "models").rglob("*.py"))
    originals = {path: path.read_text(encoding="utf-8") for path in files}
    rng = random.Random(seed)
    done: list[str] = []
    codes: list[int] = []
    for step in range(6):
        done.append(_edit(rng, files, originals))
        _mirror_models(warm, cold)
        try:
            checked = _codegen(warm, "check", "models")
            codes.append(checked[0])
            assert checked == _codegen(cold, "check", "--no-cache", "models")
            assert _codegen(warm, "scan", "--json", "models") == _codegen(
                cold, "scan", "--json", "--no-cache", "models"
            )
            if step % 2 == 1:  # the hook's sync: the same writes, byte for byte
                synced = _codegen(warm, "sync", "models")
                assert synced == _codegen(cold, "sync", "--no-cache", "models")
                assert _tree_bytes(warm) == _tree_bytes(cold)
                assert _codegen(warm, "check", "models") == _codegen(
                    cold, "check", "--no-cache", "models"
                )
        except AssertionError as error:
            raise AssertionError(f"after edits {done}: {error}") from error
    assert 1 in codes, f"no edit changed what check sees: {done}"
