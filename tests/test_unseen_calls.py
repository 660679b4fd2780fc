"""Calls the scanner cannot see into end a shared trunk, with a CG230 note that says where and
what: a method of an object passed in, held in an attribute or bound to a local from one, an item
or an attribute picked at run time, a module-level value, a method of an instance made with a
literal. Methods that create nothing on any object (a container's, a tensor's) do not.

Each case is two model files with the same code: without the note, every layer after the unseen
call would be claimed shared although the callers may pass different objects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from codegen import names, pipeline
from codegen.config import Config
from codegen.diagnostics import UNRESOLVED_IMPORT
from codegen.plan.planner import pair_depths
from codegen.scan import apis
from codegen.scan.extract.dispatch import HANDLERS
from codegen.scan.extract.unseen import UnseenWalker

KERAS = "import keras\nfrom keras import layers\n"
TF1 = "import tensorflow.compat.v1 as tf\n"


def scan(root: Path, a: str, b: str | None = None) -> pipeline.Scan:
    """Scan models/a.py and models/b.py (b the same code as a unless given)."""
    (root / "models").mkdir()
    (root / "models" / "a.py").write_text(textwrap.dedent(a))
    (root / "models" / "b.py").write_text(textwrap.dedent(a if b is None else b))
    return pipeline.scan(["models"], Config(root=str(root), cache_dir=""), jobs=1, use_cache=False)


def depth(result: pipeline.Scan, qualname: str = "build_model") -> int:
    pair = (f"models/a.py::{qualname}", f"models/b.py::{qualname}")
    return pair_depths(result.plan).get(pair, 0)


def notes(result: pipeline.Scan) -> list[tuple[str, int, str]]:
    """(path, line, callee) of each CG230 note: the callee is the message's first code span."""
    return sorted(
        (d.path, d.line, d.message.split("`")[1])
        for d in result.plan.diagnostics
        if d.code == UNRESOLVED_IMPORT
    )


def both(line: int, callee: str) -> list[tuple[str, int, str]]:
    return [("models/a.py", line, callee), ("models/b.py", line, callee)]


def functional(middle: str, params: str = "backbone", head: str = "") -> str:
    """A Keras build function: Dense(8), the middle statement (line 7), Dense(32), Dense(2)."""
    return (
        KERAS
        + head
        + f"def build_model({params}):\n"
        + "    inputs = keras.Input((16,))\n"
        + "    x = layers.Dense(8)(inputs)\n"
        + textwrap.indent(textwrap.dedent(middle), "    ")
        + "    x = layers.Dense(32)(x)\n"
        + "    outputs = layers.Dense(2)(x)\n"
        + "    return keras.Model(inputs, outputs)\n"
    )


def subclassed(held: str, use: str) -> str:
    """A Keras model whose call() applies Dense(8), the use (line 15), Dense(32), Dense(2)."""
    return (
        KERAS
        + "\n\nclass Net(keras.Model):\n"
        + "    def __init__(self, held):\n"
        + "        super().__init__()\n"
        + "        self.first = layers.Dense(8)\n"
        + f"        {held}\n"
        + "        self.mid = layers.Dense(32)\n"
        + "        self.out = layers.Dense(2)\n"
        + "\n"
        + "    def call(self, x):\n"
        + "        x = self.first(x)\n"
        + textwrap.indent(textwrap.dedent(use), "        ")
        + "        x = self.mid(x)\n"
        + "        return self.out(x)\n"
    )


def test_the_reported_case_a_parameters_method_ends_the_trunk(tmp_path: Path) -> None:
    """The issue's two identical files: `backbone.encode(inputs)` first, so nothing is shared
    (main claimed depth 2, no diagnostic)."""
    source = """\
        import keras
        from keras import layers
        def build_model(backbone):
            inputs = keras.Input((16,))
            x = backbone.encode(inputs)        # unseen: may create weights, differs per caller
            x = layers.Dense(32)(x)
            outputs = layers.Dense(2)(x)
            return keras.Model(inputs, outputs)
        """
    result = scan(tmp_path, source)
    assert depth(result) == 0
    assert notes(result) == both(5, "param.backbone.encode")


@pytest.mark.parametrize(
    ("middle", "params", "head", "callee", "at"),
    [
        # a parameter's method, and a method of its attribute (already handled before)
        ("x = backbone.encode(x)", "backbone", "", "param.backbone.encode", 0),
        ("x = fw.encoder.encode(x)", "fw", "", "param.fw.encoder.encode", 0),
        ("x = backbone(x)", "backbone", "", "param.backbone", 0),
        # a local bound to a parameter's object, called or its method called
        ("enc = backbone.encoder\nx = enc(x)", "backbone", "", "param.backbone.encoder", 1),
        ("enc = backbone\nx = enc.encode(x)", "backbone", "", "param.backbone.encode", 1),
        # a loop over a parameter's layers
        ("for b in backbone.blocks:\n    x = b(x)", "backbone", "", "param.backbone.blocks[?]", 1),
        # a local bound to what a parameter or an import makes: that call is the unseen one
        ("enc = factory()\nx = enc(x)", "factory", "", "param.factory", 0),
        ("enc = make()\nx = enc(x)", "", "from encoders import make\n", "encoders.make", 0),
        # an item picked at run time
        ('x = by_name["x"](x)', "by_name", "", "param.by_name[?]", 0),
        ("x = TABLE[kind](32)(x)", "kind", "TABLE = {'dense': layers.Dense}\n", "TABLE[?]", 0),
        # an attribute picked at run time
        ("x = getattr(obj, name)(x)", "obj, name", "", "param.obj.?", 0),
        ('x = getattr(backbone, "encode")(x)', "backbone", "", "param.backbone.encode", 0),
        ("x = getattr(layers, kind)(32)(x)", "kind", "", "layers.?", 0),
        # a call of a call's result: the inner call is the unseen one
        ('x = backbone.get_layer("enc")(x)', "backbone", "", "param.backbone.get_layer", 0),
        ("x = get_layer()(x)", "", "from registry import get_layer\n", "registry.get_layer", 0),
        # a module-level value made at import time
        ("x = ENCODER(x)", "", "from encoders import make\nENCODER = make()\n", "ENCODER", 0),
        # inside a branch of the build function
        ("if f:\n    x = backbone.encode(x)", "backbone, f=1", "", "param.backbone.encode", 1),
    ],
)
def test_an_unseen_call_in_a_build_function_ends_the_trunk_where_it_is(
    tmp_path: Path, middle: str, params: str, head: str, callee: str, at: int
) -> None:
    """Dense(8) before the unseen call is shared; Dense(32) and Dense(2) after it are not. The
    note is on the middle's line `at` (its first line is the module's line 6 after the head)."""
    result = scan(tmp_path, functional(middle + "\n", params, head))
    assert depth(result) == 1
    assert notes(result) == both(6 + head.count("\n") + at, callee)


@pytest.mark.parametrize(
    ("held", "use", "callee", "at"),
    [
        ("self.held = held", "x = self.held.transform(x)", "self.held.transform", 0),
        ("self.held = held", "x = self.held(x)", "self.held", 0),
        ("self.held = held", "enc = self.held\nx = enc(x)", "self.held", 1),
        ("self.blocks = held", "x = self.blocks[0](x)", "self.blocks[?]", 0),
        ("self.blocks = held", "for b in self.blocks:\n    x = b(x)", "self.blocks[?]", 1),
        ("self.held = held", "x = getattr(self, 'held')(x)", "self.held", 0),
        # in a branch matched as a whole: the same code, maybe not the same object (main
        # shared all three layers)
        ("self.held = held", "if self.training:\n    x = self.held(x)", "self.held", 1),
    ],
)
def test_an_unseen_call_in_a_keras_models_call_ends_the_trunk(
    tmp_path: Path, held: str, use: str, callee: str, at: int
) -> None:
    """The note is on the use's line `at` (its first line is the module's line 15)."""
    result = scan(tmp_path, subclassed(held, use + "\n"))
    assert depth(result, "Net") == 1
    assert notes(result) == both(15 + at, callee)


def test_pure_methods_on_parameters_do_not_end_the_trunk(tmp_path: Path) -> None:
    """A tensor's, a dict's and a string's methods create nothing: all three layers shared."""
    middle = """\
        width = x_in.get_shape().as_list()[-1]
        units = params.get("units", 8)
        keys = params.keys()
        x_in.set_shape([None, 16])
        label = name.lower()
        values = hparams.values()
        dims = x_in.shape.as_list()
        """
    result = scan(tmp_path, functional(middle, "x_in, params, name, hparams"))
    assert depth(result) == 3
    assert notes(result) == []


def test_a_loop_over_layers_the_class_builds_still_shares(tmp_path: Path) -> None:
    """`self.blocks = [Dense(16) for _ in range(2)]` is a stack the scan follows: not unseen."""
    source = subclassed(
        "self.blocks = [layers.Dense(16) for _ in range(2)]",
        "for block in self.blocks:\n    x = block(x)\n",
    )
    result = scan(tmp_path, source)
    assert depth(result, "Net") == 4
    assert notes(result) == []


TF1_INSTANCE = """\
    import tensorflow.compat.v1 as tf


    class Encoder:
        def __init__(self{init}):
            self.width = {width}

        def encode(self, x):
            return tf.layers.dense(x, self.width)


    def build_model(inputs):
        with tf.variable_scope("embed"):
            x = tf.layers.dense(inputs, 8)
        enc = Encoder({args})
        x = enc.encode(x)
        with tf.variable_scope("head"):
            x = tf.layers.dense(x, 32)
        return tf.layers.dense(x, 2)
    """


def test_a_local_instance_of_a_module_class_runs_its_method(tmp_path: Path) -> None:
    """`enc = Encoder(); enc.encode(x)`: Encoder.encode's layer, matched by its clone class (main
    left it out of the sequence)."""
    source = TF1_INSTANCE.format(init="", width="16", args="")
    result = scan(tmp_path, source)
    assert depth(result) == 4
    model = next(m for m in result.plan.models if m.id == "models/a.py::build_model")
    assert [layer.line for layer in model.layers] == [14, 16, 18, 19]
    assert notes(result) == []


def test_a_method_of_an_instance_made_with_a_literal_is_unseen(tmp_path: Path) -> None:
    """`Encoder(16)` and `Encoder(32)`: the same `encode` makes different variables. The method's
    identity does not hold the 16, so the call ends the trunk rather than match."""
    a = TF1_INSTANCE.format(init=", width", width="width", args="16")
    b = TF1_INSTANCE.format(init=", width", width="width", args="32")
    result = scan(tmp_path, a, b)
    assert depth(result) == 1
    assert notes(result) == both(16, names.of_instance("Encoder", "encode"))


def test_an_attribute_holding_an_instance_made_with_a_literal_is_unseen(tmp_path: Path) -> None:
    """`self._encoder = Encoder(16)` vs `Encoder(32)`, then `self._encoder.encode(x)`: main
    shared all four layers."""
    source = """\
        import tensorflow.compat.v1 as tf


        class Encoder:
            def __init__(self, width):
                self.width = width

            def encode(self, x):
                return tf.layers.dense(x, self.width)


        class Net:
            def __init__(self, inputs):
                self._encoder = Encoder({width})
                with tf.variable_scope("embed"):
                    x = tf.layers.dense(inputs, 8)
                x = self._encoder.encode(x)
                with tf.variable_scope("head"):
                    x = tf.layers.dense(x, 32)
                self.logits = tf.layers.dense(x, 2)
        """
    result = scan(tmp_path, source.format(width=16), source.format(width=32))
    assert depth(result, "Net") == 1
    assert notes(result) == both(17, "self._encoder.encode")


def test_a_builder_calling_an_object_its_caller_passes_in_is_not_shared(tmp_path: Path) -> None:
    """`create_encoder(x, params["backbone"])` is one layer (it makes its variables itself), and
    it calls `backbone.encode`: the backbones two models pass may differ, so the layer is not
    shared (main shared it and the head after it). A class passed as a reference
    (`layer=Embedding`) names what it creates and decides instead (bert4keras, realcorpus)."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "helpers.py").write_text(
        textwrap.dedent(
            """\
            import tensorflow.compat.v1 as tf


            def create_encoder(inputs, backbone):
                with tf.variable_scope("embed"):
                    x = tf.layers.dense(inputs, 8)
                x = backbone.encode(x)
                with tf.variable_scope("head"):
                    x = tf.layers.dense(x, 32)
                return x
            """
        )
    )
    model = """\
        import tensorflow.compat.v1 as tf

        import helpers


        def model_fn(features, labels, mode, params):
            x = helpers.create_encoder(features["x"], params["backbone"])
            logits = tf.layers.dense(x, 2)
            return tf.estimator.EstimatorSpec(mode=mode, predictions=logits)
        """
    for name in ("a", "b"):
        (tmp_path / "models" / f"{name}.py").write_text(textwrap.dedent(model))
    config = Config(root=str(tmp_path), cache_dir="")
    result = pipeline.scan(["models"], config, jobs=1, use_cache=False)
    assert depth(result, "model_fn") == 0
    found = [d for d in result.plan.diagnostics if d.code == UNRESOLVED_IMPORT]
    # The note is where the call is, in helpers.py: one, as both models say the same there.
    assert sorted((d.path, d.line, d.message.split("`")[1]) for d in found) == [
        ("models/helpers.py", 7, "param.backbone.encode"),
    ]
    assert all("called in `create_encoder`" in d.message for d in found)


def test_a_tf1_block_after_an_unseen_call_is_not_shared(tmp_path: Path) -> None:
    """TF1 scopes: the unseen call inside a `with` block ends the trunk at its statement."""
    source = """\
        import tensorflow.compat.v1 as tf


        def build_model(inputs, encoder):
            with tf.variable_scope("embed"):
                x = tf.layers.dense(inputs, 8)
            with tf.variable_scope("enc"):
                x = tf.layers.dense(x, 8)
                x = encoder.encode(x)
            with tf.variable_scope("head"):
                x = tf.layers.dense(x, 32)
            return tf.layers.dense(x, 2)
        """
    result = scan(tmp_path, source)
    assert depth(result) == 2
    assert notes(result) == both(9, "param.encoder.encode")


def test_one_list_of_methods_that_create_nothing() -> None:
    """The method lists' one home: relevance's pure and mutating methods create nothing; the
    names encoders and layers also give their methods are not on it."""
    assert all(apis.creates_nothing(m) for m in apis.PURE_METHODS - {"split", "join"})
    assert all(apis.creates_nothing(m) for m in apis.MUTATING_METHODS)
    for method in ("get_shape", "as_list", "get", "keys", "append", "set_shape", "numpy"):
        assert apis.creates_nothing(method)
    for method in ("encode", "decode", "split", "join", "transform", "get_layer", "scope"):
        assert not apis.creates_nothing(method)


def test_the_walk_binds_locals_on_assignment() -> None:
    """The locals' bindings ride on the walk's Assign and For handlers: if libcst's fields ever
    change and the walker falls back to its generic walk, this fails rather than the scan
    silently missing `enc = backbone.encoder; enc(x)`."""
    assert HANDLERS[cst.Assign] is UnseenWalker.assign
    assert HANDLERS[cst.For].__qualname__.endswith("for_loop")
