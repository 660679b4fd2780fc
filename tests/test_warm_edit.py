"""After a sync, the check that follows an edit re-reads only what the edit touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen import pipeline
from codegen.cache.rendered import RenderedCache
from codegen.cli import main
from codegen.config import Config

MODEL = """import tensorflow.compat.v1 as tf


def dense_block(x, units, scope):
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], units], initializer=tf.zeros_initializer())
        return tf.matmul(x, w)


def build_model(x):
    h = dense_block(x, 8, "first")
    h = dense_block(h, 16, "second")
    return tf.layers.dense(h, {out}, name="logits")
"""


def _tree(root: Path) -> Path:
    models = root / "models"
    models.mkdir()
    for out, name in enumerate("abcd", 2):
        (models / f"{name}.py").write_text(MODEL.format(out=out), encoding="utf-8")
    (root / "pyproject.toml").write_text("[tool.codegen]\n", encoding="utf-8")
    return models


def test_a_check_after_a_builder_edit_parses_only_the_edited_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """sync rewrites every model; their new texts' facts, shims and layers_common are cached
    then, so the next check re-parses the one edited file and re-renders only what it changes."""
    models = _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["sync", "models"]) == 1
    routed = (models / "a.py").read_text(encoding="utf-8")
    assert "@" in routed  # sync routed the models: their bytes are new to the caches
    # A model's own head changes; the trunk it shares does not.
    edited = routed.replace("(h, 2,", "(h, 7,")
    assert edited != routed
    (models / "a.py").write_text(edited, encoding="utf-8")
    reused: list[int] = []
    stored_shims = RenderedCache.shims

    def spy(self: RenderedCache, keys: dict[str, str]) -> dict[str, str]:
        kept = stored_shims(self, keys)
        reused.append(len(kept))
        return kept

    monkeypatch.setattr(RenderedCache, "shims", spy)
    config = Config(root=str(tmp_path))
    scanned = pipeline.scan(["models"], config, jobs=1)
    assert scanned.stats.parsed == 1  # the edited file; the routed others come from the cache
    warm = pipeline.build(config, scanned=scanned, use_cache=True)
    cold = pipeline.build(config, ["models"], jobs=1, use_cache=False)
    assert warm.files == cold.files and warm.routed == cold.routed
    assert reused and reused[-1] >= 3  # b, c and d: their shims are the ones sync rendered
    capsys.readouterr()
    assert main(["check", "models"]) == main(["check", "--no-cache", "models"])


def test_layers_common_copies_come_from_the_memo_without_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A canonical copy made before is taken from the memo: no module is parsed for it, and
    layers_common is the same text."""
    from codegen.emit import canonical, render

    _tree(tmp_path)
    plan = pipeline.scan(["models"], Config(root=str(tmp_path)), jobs=1, use_cache=False).plan
    settings = {"collection": "c", "scope_prefix": "", "output": "generated"}
    memo: dict[str, str] = {}
    first = render.render(plan, copies=memo, **settings)["layers_common.py"]
    assert memo and "dense_block" in first
    parsed: list[str] = []
    real = canonical.parse_module

    def spy(text: str) -> object:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(canonical, "parse_module", spy)
    again = render.render(plan, copies=dict(memo), **settings)["layers_common.py"]
    assert again == first and parsed == []
    assert render.render(plan, **settings)["layers_common.py"] == first and parsed


def test_a_small_addition_to_the_facts_cache_leaves_the_big_pack_alone(tmp_path: Path) -> None:
    """The check after an edit adds one file's facts: a pack of its own, not a rewrite of every
    file's; the small packs are merged back once there are too many."""
    from test_cache import facts, packs

    from codegen.cache import facts as cache_module
    from codegen.cache.facts import FactsCache

    folder = tmp_path / "cache"  # a new folder: codegen claims it
    cache = FactsCache(folder, "s")
    for number in range(200):
        cache.put(f"d{number}", facts(number))
    cache.flush()
    (big,) = packs(folder)
    stamp = big.stat().st_mtime_ns
    for round in range(cache_module.MAX_PACKS - 1):
        run = FactsCache(folder, "s")
        assert run.get("d3") == facts(3)
        run.put(f"new{round}", facts(100 + round))
        run.flush()
        assert big.exists() and big.stat().st_mtime_ns == stamp
        assert len(packs(folder)) == round + 2
    reopened = FactsCache(folder, "s")
    assert all(reopened.get(f"d{n}") == facts(n) for n in range(200))
    assert all(reopened.get(f"new{r}") == facts(100 + r) for r in range(cache_module.MAX_PACKS - 1))
    reopened.put("last", facts(999))
    reopened.flush()  # one pack too many: merged into one
    assert len(packs(folder)) == 1 and not big.exists()
    merged = FactsCache(folder, "s")
    assert merged.get("last") == facts(999) and merged.get("new0") == facts(100)


def test_sync_warms_no_cache_it_cannot_keep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cache_dir that is not ours (CG601) keeps nothing: sync does not plan the tree twice."""
    _tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.codegen]\ncache_dir = "mine"\n', "utf-8")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    scans: list[int] = []
    real_scan = pipeline.scan

    def spy(*args: object, **kwargs: object) -> pipeline.Scan:
        scans.append(1)
        return real_scan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "scan", spy)
    assert main(["sync", "models"]) == 1
    assert len(scans) == 1
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
    capsys.readouterr()
