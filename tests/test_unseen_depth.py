"""An object the scanner cannot resolve, handed down through scanned functions to any depth
(`build_model(backbone)` -> `trunk(backbone, x)` -> `encode(backbone, x)` -> `backbone(x)`),
ends the shared trunk at the call that hands it over, with a CG230 note at the innermost call,
in that call's own file. Handed over by keyword, in a list or dict, or in a loop or branch
matched as a whole, alike. A parameter passed on but only used as a tensor, an object the scan
knows, and a class named by reference (`layer=Dense`) do not end the trunk.

Each case is two model files with the same code: without the note, every layer after the call
would be claimed shared although the callers may pass different objects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codegen import pipeline
from codegen.config import Config
from codegen.diagnostics import UNRESOLVED_IMPORT
from codegen.plan.planner import pair_depths

KERAS = "import keras\nfrom keras import layers\n"


def scan(root: Path, model: str, **others: str) -> pipeline.Scan:
    """Scan models/a.py and models/b.py (both `model`) with the other files given by name."""
    (root / "models").mkdir()
    for name, text in {"a": model, "b": model, **others}.items():
        (root / "models" / f"{name}.py").write_text(textwrap.dedent(text))
    return pipeline.scan(["models"], Config(root=str(root), cache_dir=""), jobs=1, use_cache=False)


def depth(result: pipeline.Scan, qualname: str = "build_model") -> int:
    pair = (f"models/a.py::{qualname}", f"models/b.py::{qualname}")
    return pair_depths(result.plan).get(pair, 0)


def notes(result: pipeline.Scan) -> list[tuple[str, int, str, str]]:
    """(path, line, callee, holder) of each CG230 note."""
    return sorted(
        (d.path, d.line, d.message.split("`")[1], d.message.split("`")[3])
        for d in result.plan.diagnostics
        if d.code == UNRESOLVED_IMPORT
    )


def both(line: int, callee: str, holder: str) -> list[tuple[str, int, str, str]]:
    return [("models/a.py", line, callee, holder), ("models/b.py", line, callee, holder)]


# Helpers from line 5 on, a build function at 15-20 (the helper call at 17): Dense(32) and
# Dense(2) come after the call, so a trunk ended at the call shares nothing.
def keras_model(helpers: str, call: str, params: str = "backbone") -> str:
    head = KERAS + "\n\n" + textwrap.dedent(helpers).strip("\n") + "\n"
    head += "\n" * (12 - head.count("\n"))
    return (
        head
        + f"\n\ndef build_model({params}):\n"
        + "    inputs = keras.Input((16,))\n"
        + f"    x = {call}\n"
        + "    x = layers.Dense(32)(x)\n"
        + "    outputs = layers.Dense(2)(x)\n"
        + "    return keras.Model(inputs, outputs)\n"
    )


THREE_DEEP = """\
    def encode(backbone, x):
        return backbone(x)


    def trunk(backbone, x):
        x = encode(backbone, x)
        return layers.Dense(32)(x)
    """


def test_keras_model_lines_are_where_the_docstring_says() -> None:
    lines = keras_model(THREE_DEEP, "trunk(backbone, inputs)").splitlines()
    assert lines[4] == "def encode(backbone, x):"
    assert lines[14] == "def build_model(backbone):"
    assert lines[16] == "    x = trunk(backbone, inputs)"


def test_the_reported_case_passed_two_levels_down(tmp_path: Path) -> None:
    """The brief's repro: main shared all 3 layers with no diagnostic."""
    result = scan(tmp_path, keras_model(THREE_DEEP, "trunk(backbone, inputs)"))
    assert depth(result) == 0
    assert notes(result) == both(6, "param.backbone", "encode")


@pytest.mark.parametrize(
    ("helpers", "call", "line", "callee", "holder"),
    [
        # depth 2: the builder calls it itself (a build function had no such check at all)
        (
            "def trunk(backbone, x):\n    x = backbone(x)\n    return layers.Dense(32)(x)\n",
            "trunk(backbone, inputs)",
            6,
            "param.backbone",
            "trunk",
        ),
        # its method, and through a keyword argument
        (
            "def trunk(x, encoder=None):\n    x = encoder.encode(x)\n"
            "    return layers.Dense(32)(x)\n",
            "trunk(inputs, encoder=backbone)",
            6,
            "param.encoder.encode",
            "trunk",
        ),
        # depth 3 through a keyword argument at each level
        (
            "def encode(x, enc=None):\n    return enc(x)\n\n\n"
            "def trunk(x, enc=None):\n    x = encode(x, enc=enc)\n"
            "    return layers.Dense(32)(x)\n",
            "trunk(inputs, enc=backbone)",
            6,
            "param.enc",
            "encode",
        ),
        # in a list, each item called in a loop
        (
            "def trunk(blocks, x):\n    for block in blocks:\n        x = block(x)\n"
            "    return layers.Dense(32)(x)\n",
            "trunk([backbone], inputs)",
            7,
            "param.blocks[?]",
            "trunk",
        ),
        # in a dict, an item called
        (
            'def trunk(parts, x):\n    x = parts["enc"](x)\n    return layers.Dense(32)(x)\n',
            'trunk({"enc": backbone}, inputs)',
            6,
            "param.parts[?]",
            "trunk",
        ),
        # an attribute of the parameter handed over, then passed on by a local alias
        (
            "def encode(enc, x):\n    return enc(x)\n\n\n"
            "def trunk(fw, x):\n    e = fw.encoder\n    x = encode(e, x)\n"
            "    return layers.Dense(32)(x)\n",
            "trunk(backbone, inputs)",
            6,
            "param.enc",
            "encode",
        ),
    ],
)
def test_an_object_handed_down_ends_the_trunk_at_the_innermost_call(
    tmp_path: Path, helpers: str, call: str, line: int, callee: str, holder: str
) -> None:
    result = scan(tmp_path, keras_model(helpers, call))
    assert depth(result) == 0
    assert notes(result) == both(line, callee, holder)


def test_handed_down_inside_a_branch_matched_whole_ends_the_trunk(tmp_path: Path) -> None:
    """A TF1 model_fn whose branch (one layer, matched as a whole) calls a builder handing it
    the object a parameter holds: the code is the same, the object need not be."""
    model = """\
        import tensorflow.compat.v1 as tf


        def encode(x, backbone):
            return backbone.encode(x)


        def create(x, backbone):
            with tf.variable_scope("enc"):
                x = encode(x, backbone)
                return tf.layers.dense(x, 8)


        def model_fn(features, labels, mode, params):
            x = tf.layers.dense(features["x"], 4)
            if params["deep"]:
                x = create(x, params["backbone"])
            x = tf.layers.dense(x, 32)
            logits = tf.layers.dense(x, 2)
            return tf.estimator.EstimatorSpec(mode=mode, predictions=logits)
        """
    result = scan(tmp_path, model)
    assert depth(result, "model_fn") == 1  # the first dense; not the branch nor the heads
    assert notes(result) == both(5, "param.backbone.encode", "encode")


def test_the_note_is_in_the_helpers_file(tmp_path: Path) -> None:
    """The helper chain lives in another file: the note names that file and its line (it named
    the model's file with the helper's line)."""
    helpers = """\
        from keras import layers


        def encode(backbone, x):
            return backbone.encode(x)


        def trunk(backbone, x):
            x = encode(backbone, x)
            return layers.Dense(32)(x)
        """
    model = """\
        import keras
        from keras import layers

        from helpers import trunk


        def build_model(backbone):
            inputs = keras.Input((16,))
            x = trunk(backbone, inputs)
            x = layers.Dense(32)(x)
            outputs = layers.Dense(2)(x)
            return keras.Model(inputs, outputs)
        """
    result = scan(tmp_path, model, helpers=helpers)
    assert depth(result) == 0
    assert notes(result) == [("models/helpers.py", 5, "param.backbone.encode", "encode")]


@pytest.mark.parametrize(
    ("helpers", "call", "params"),
    [
        # a parameter passed on two levels but only used as a tensor
        (
            "def encode(h, units):\n    return layers.Dense(units)(h)\n\n\n"
            "def trunk(h):\n    h = encode(h, 16)\n    return layers.Dense(32)(h)\n",
            "trunk(inputs)",
            "width",
        ),
        # an object the scan knows: a local instance of this module's class, made without a literal
        (
            "class Encoder:\n    def __call__(self, x):\n        return layers.Dense(8)(x)\n\n\n"
            "def trunk(enc, x):\n    x = enc(x)\n    return layers.Dense(32)(x)\n",
            "trunk(Encoder(), inputs)",
            "width",
        ),
        # a layer class named by reference decides the layer instead
        (
            "def encode(x, layer=None):\n    return layer(16)(x)\n\n\n"
            "def trunk(x, layer=None):\n    x = encode(x, layer=layer)\n"
            "    return layers.Dense(32)(x)\n",
            "trunk(inputs, layer=layers.Dense)",
            "width",
        ),
    ],
)
def test_what_the_scan_knows_still_shares(
    tmp_path: Path, helpers: str, call: str, params: str
) -> None:
    result = scan(tmp_path, keras_model(helpers, call, params))
    assert depth(result) >= 3  # trunk (and what it makes), Dense(32), Dense(2): all shared
    assert notes(result) == []


def test_an_unknown_calls_result_handed_over_is_noted_at_that_call(tmp_path: Path) -> None:
    """`trunk(make_backbone(), inputs)`: the import's call runs first and is the unseen one."""
    helpers = (
        "from zoo import make_backbone\n\n\n"
        "def trunk(backbone, x):\n    x = backbone(x)\n    return layers.Dense(32)(x)\n"
    )
    result = scan(tmp_path, keras_model(helpers, "trunk(make_backbone(), inputs)", "width"))
    assert depth(result) == 0
    assert notes(result) == both(17, "zoo.make_backbone", "build_model")
