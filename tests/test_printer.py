"""The short-cut printer behind positions prints every file back as libcst does."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODELS, REPO

from codegen.scan.extract.parser import parse_module
from codegen.scan.extract.positions import Positions, SpanRecorder
from codegen.scan.extract.printer import print_module

TREES = [MODELS, REPO / "tests" / "realcode", REPO / "tests" / "realcode_imports", REPO / "codegen"]


def files() -> list[Path]:
    return sorted(p for tree in TREES for p in tree.rglob("*.py"))


@pytest.mark.parametrize("crlf", [False, True])
def test_the_short_cut_prints_every_file_back(crlf: bool) -> None:
    """Byte for byte, with its own line endings: otherwise Positions falls back to libcst."""
    checked = 0
    for path in files():
        text = path.read_text(encoding="utf-8")
        if crlf:
            text = text.replace("\n", "\r\n")
        module = parse_module(text)
        recorder = SpanRecorder(module)
        print_module(module, recorder)
        assert "".join(recorder.tokens) == text, path
        checked += 1
    assert checked > 50


def test_a_printing_that_differs_falls_back_to_libcst() -> None:
    """Positions measured against another text than the module's own: libcst's printing."""
    text = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.layers.dense(x, 4)\n"
    module = parse_module(text)
    call = module.body[1].body.body[0].body[0].value
    assert Positions(module, text).start(call) == (5, 11)
    assert Positions(module, "something else").start(call) == (5, 11)
