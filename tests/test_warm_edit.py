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
