"""No false share: each mechanism by which the scan once claimed two models share a layer they do
not, in the shape of the real code that showed it (issue 20, 6; docs/realcorpus.md)."""

from __future__ import annotations

import functools
import hashlib
import textwrap

import pytest

from codegen.diagnostics import UNRESOLVED_IMPORT
from codegen.model import Plan, SourceFile
from codegen.plan.planner import make_plan, pair_depths
from codegen.scan.extract import extract


def _plan(files: dict[str, str]) -> Plan:
    facts = []
    for path, source in sorted(files.items()):
        text = textwrap.dedent(source)
        facts.append(
            extract(SourceFile(path, path, text, hashlib.sha256(text.encode()).hexdigest()))
        )
    return make_plan(facts)


def _depth(plan: Plan, a: str, b: str) -> int:
    pair = (a, b) if a < b else (b, a)
    return pair_depths(plan).get(pair, 0)


def _models(plan: Plan) -> set[str]:
    return {m.id for m in plan.models}


CRF = """
    import tensorflow as tf

    class CRF(object):
        def __init__(self, units, name="crf"):
            self.transitions = tf.get_variable(name + "/transitions", [units, units])
"""


def test_an_unseen_library_layer_ends_the_trunk_with_a_note() -> None:
    """kashgari: `L` comes from a package outside the scan, so `L.Bidirectional(L.LSTM(...))` and
    `L.Bidirectional(L.GRU(...))` are layers nobody saw; the CRF after them is not shared."""
    models = """
    from ext.layers import L
    from pkg.crf import CRF

    class BiLSTM_CRF_Model(Base):
        def build_model_arc(self):
            rnn = L.Bidirectional(L.LSTM(units=128, return_sequences=True), name="rnn")
            crf = CRF(self.output_dim, name="layer_crf")
            return crf(rnn(self.embed.output))

    class BiGRU_CRF_Model(Base):
        def build_model_arc(self):
            rnn = L.Bidirectional(L.GRU(units=128, return_sequences=True), name="rnn")
            crf = CRF(self.output_dim, name="layer_crf")
            return crf(rnn(self.embed.output))
    """
    plan = _plan({"pkg/crf.py": CRF, "pkg/models.py": models})
    lstm = "pkg/models.py::BiLSTM_CRF_Model.build_model_arc"
    gru = "pkg/models.py::BiGRU_CRF_Model.build_model_arc"
    assert {lstm, gru} <= _models(plan)
    assert _depth(plan, lstm, gru) == 0
    notes = [
        d
        for d in plan.diagnostics
        if d.code == UNRESOLVED_IMPORT and "L.Bidirectional" in d.message
    ]
    assert len(notes) == 2 and all(
        "no layer from this call on is shared" in d.message for d in notes
    )


def test_the_same_layers_after_no_unseen_call_are_still_shared() -> None:
    """The control: with the first layer visible in both, the CRF run is shared (depth 2)."""
    models = """
    import tensorflow as tf
    from pkg.crf import CRF

    class A_Model(Base):
        def build_model_arc(self):
            h = tf.layers.dense(self.x, 128, name="proj")
            return CRF(self.output_dim, name="layer_crf")

    class B_Model(Base):
        def build_model_arc(self):
            h = tf.layers.dense(self.x, 128, name="proj")
            return CRF(self.output_dim, name="layer_crf")
    """
    plan = _plan({"pkg/crf.py": CRF, "pkg/models.py": models})
    assert (
        _depth(
            plan, "pkg/models.py::A_Model.build_model_arc", "pkg/models.py::B_Model.build_model_arc"
        )
        == 2
    )


def test_a_method_of_an_object_passed_in_ends_the_trunk() -> None:
    """opennmt: `self.encoder.encode(...)` runs any encoder given to the constructor; the dense
    layer after it is not shared, and the note names the call."""

    def model(name: str, tail: str) -> str:
        return f"""
    import tensorflow as tf

    class {name}(Model):
        def __init__(self, inputter, encoder, labels):
            super({name}, self).__init__("m", features_inputter=inputter)
            self.encoder = encoder
            self.labels = labels

        def _call(self, features, labels, params, mode):
            training = mode == "train"
            with tf.variable_scope("encoder"):
                inputs = self.features_inputter.make_inputs(features, training=training)
                outputs, state, _ = self.encoder.encode(inputs, mode=mode)
            with tf.variable_scope("generator"):
                logits = tf.layers.dense(outputs, self.labels.vocabulary_size)
            {tail}
            return logits
    """

    plan = _plan(
        {
            "pkg/classifier.py": model("SequenceClassifier", "logits = tf.reduce_mean(logits, 1)"),
            "pkg/tagger.py": model("SequenceTagger", "logits = tf.identity(logits)"),
        }
    )
    a, b = "pkg/classifier.py::SequenceClassifier._call", "pkg/tagger.py::SequenceTagger._call"
    assert {a, b} <= _models(plan)
    assert _depth(plan, a, b) == 0
    assert any(
        d.code == UNRESOLVED_IMPORT and "self.encoder.encode" in d.message for d in plan.diagnostics
    )


def test_a_builtin_method_on_an_attribute_does_not_end_the_trunk() -> None:
    """`self.outputs.append(...)` is a list's method: it creates nothing, the trunk runs on."""

    def model(name: str) -> str:
        return f"""
    import tensorflow as tf

    class {name}(object):
        def build(self, x):
            h = tf.layers.dense(x, 16, name="a")
            self.outputs.append(h)
            return tf.layers.dense(h, 4, name="b")
    """

    plan = _plan({"pkg/a.py": model("A"), "pkg/b.py": model("B")})
    assert _depth(plan, "pkg/a.py::A.build", "pkg/b.py::B.build") == 2


LAYERS = """
    import tensorflow as tf
    from keras.layers import *

    class Embedding(object):
        def __init__(self, input_dim, output_dim, name=None):
            self.embeddings = tf.get_variable("embeddings", [input_dim, output_dim])

    class MultiHeadAttention(object):
        def __init__(self, heads, head_size, name=None):
            self.q = tf.get_variable("q", [heads * head_size, heads * head_size])

    class Cached(object):
        def __init__(self, name=None):
            self.cache = tf.get_variable("cache", [1])
"""

MODELS = """
    from pkg.layers import *

    class Transformer(object):
        def apply(self, inputs=None, layer=None, arguments=None, **kwargs):
            name = kwargs.get("name")
            if name not in self.layers:
                layer = layer(**kwargs)
                self.layers[name] = layer
            if isinstance(self.layers[name], MultiHeadAttention):
                if name in self.caches:
                    inputs = Cached(name=name + "-Cached")(inputs)
            return self.layers[name](inputs)

    class ALBERT(Transformer):
        def get_inputs(self):
            return self.apply(layer=Input, shape=(None,), name="Input-Token")

        def apply_embeddings(self, inputs):
            x = self.apply(inputs=inputs, layer=Embedding, input_dim=100, output_dim=8,
                           name="Embedding-Token")
            return self.apply(inputs=x, layer=Dropout, rate=0.1, name="Embedding-Dropout")

        def apply_main_layers(self, inputs):
            x = self.apply(inputs=inputs, layer=MultiHeadAttention, heads=8, head_size=8,
                           name="Attention")
            return self.apply(inputs=x, layer=Dropout, rate=0.1, name="Attention-Dropout")

    class Tiny(Transformer):
        def stages(self):
            x = self.apply(layer=Input, shape=(None,), name="Input-Token")
            return self.apply(inputs=x, layer=Embedding, input_dim=100, output_dim=8,
                              name="Embedding-Token")

    class TinyCopy(Transformer):
        def stages(self):
            x = self.apply(layer=Input, shape=(None,), name="Input")
            return self.apply(inputs=x, layer=Embedding, input_dim=100, output_dim=8,
                              name="Embedding")

    class GPT2(Transformer):
        def get_inputs(self):
            return self.apply(layer=Input, shape=(None,), name="Input-Token")

        def apply_embeddings(self, inputs):
            x = self.apply(inputs=inputs, layer=Embedding, input_dim=100, output_dim=8,
                           name="Embedding-Token")
            return self.apply(inputs=x, layer=Dropout, rate=0.1, name="Embedding-Dropout")
"""


def test_a_layer_class_passed_as_an_argument_decides_the_layer() -> None:
    """bert4keras: `self.apply(layer=Embedding, ...)` and `self.apply(layer=MultiHeadAttention,
    ...)` run the same `apply`, but create different layers; the same class with the same
    arguments is still the same layer."""
    plan = _plan({"pkg/layers.py": LAYERS, "pkg/models.py": MODELS})
    embeddings, main = (
        "pkg/models.py::ALBERT.apply_embeddings",
        "pkg/models.py::ALBERT.apply_main_layers",
    )
    assert {embeddings, main} <= _models(plan)
    assert _depth(plan, embeddings, main) == 0
    # The same Embedding, then the same (weightless) Dropout.
    assert _depth(plan, embeddings, "pkg/models.py::GPT2.apply_embeddings") == 2


def test_a_call_that_only_makes_an_input_layer_is_no_layer() -> None:
    """`self.apply(layer=Input, ...)` (Input through two star imports) creates no variable: such a
    method is no model, and shares nothing."""
    plan = _plan({"pkg/layers.py": LAYERS, "pkg/models.py": MODELS})
    a, b = "pkg/models.py::ALBERT.get_inputs", "pkg/models.py::GPT2.get_inputs"
    assert not {a, b} & _models(plan)
    assert _depth(plan, a, b) == 0


def test_calling_an_object_passed_in_ends_the_trunk() -> None:
    """`self.encoder(inputs)`: the attribute holds whatever the constructor was given."""

    def model(name: str) -> str:
        return f"""
    import tensorflow as tf

    class {name}(object):
        def __init__(self, encoder):
            self.encoder = encoder

        def build(self, x):
            h = self.encoder(x)
            return tf.layers.dense(h, 4, name="out")
    """

    plan = _plan({"pkg/a.py": model("A"), "pkg/b.py": model("B")})
    assert {"pkg/a.py::A.build", "pkg/b.py::B.build"} <= _models(plan)
    assert _depth(plan, "pkg/a.py::A.build", "pkg/b.py::B.build") == 0


def test_a_weightless_layer_keeps_its_place_in_the_sequence() -> None:
    """`Input` then `Embedding` is not `Embedding` alone (the layers after a weightless one are
    never realigned), and is shared whole with a copy; the `Input` alone shares nothing."""
    plan = _plan({"pkg/layers.py": LAYERS, "pkg/models.py": MODELS})
    tiny, copy = "pkg/models.py::Tiny.stages", "pkg/models.py::TinyCopy.stages"
    assert {tiny, copy} <= _models(plan)
    assert _depth(plan, tiny, copy) == 2
    assert _depth(plan, tiny, "pkg/models.py::GPT2.apply_embeddings") == 0
    trunk = dict(plan.trunks)[tiny]
    assert [layer.label for layer in trunk] == ["apply", "apply"]


def test_a_layer_class_that_only_inherits_its_constructor_decides_too() -> None:
    """`class Embedding(keras.layers.Embedding): pass` defines no method the scan can follow; as
    an argument it still decides the layer, as that very class."""
    source = """
    import tensorflow as tf
    from tensorflow import keras

    class Embedding(keras.layers.Embedding):
        pass

    class LayerNorm(keras.layers.LayerNormalization):
        pass

    class Cached(object):
        def __init__(self):
            self.cache = tf.get_variable("cache", [1])

    class Base(object):
        def apply(self, inputs=None, layer=None, **kwargs):
            if self.cached:
                inputs = Cached()(inputs)
            return layer(**kwargs)(inputs)

    class A(Base):
        def embed(self, x):
            return self.apply(x, layer=Embedding, input_dim=10, output_dim=4)

    class B(Base):
        def norm(self, x):
            return self.apply(x, layer=LayerNorm)

    class C(Base):
        def embed(self, x):
            return self.apply(x, layer=Embedding, input_dim=10, output_dim=4)
    """
    plan = _plan({"pkg/m.py": source})
    a, b, c = "pkg/m.py::A.embed", "pkg/m.py::B.norm", "pkg/m.py::C.embed"
    assert {a, b, c} <= _models(plan)
    assert _depth(plan, a, b) == 0
    assert _depth(plan, a, c) == 1


# -- a callable bound in advance, arg_scope defaults, config values (probe) --------------------

_TAIL = """
x = tf.keras.layers.Dense(10, name="d2")(x)
return tf.keras.layers.Dense({head}, name="head")(x)
"""


def _source(prelude: str, body: str, head: int) -> str:
    """A build file: `prelude` at module level, then `build(x)` running `body`, a `d2` layer and
    a head of `head` units."""
    return (
        "import functools\nimport tensorflow as tf\n"
        + textwrap.dedent(prelude)
        + "def build(x):\n"
        + textwrap.indent(textwrap.dedent(body) + _TAIL.format(head=head), "    ")
    )


def _pair(prelude_a: str, prelude_b: str, body_a: str, body_b: str) -> Plan:
    """Two build files that differ only as given (heads 3 and 5)."""
    return _plan(
        {"pkg/a.py": _source(prelude_a, body_a, 3), "pkg/b.py": _source(prelude_b, body_b, 5)}
    )


def _encoder_depth(params: str, a: str, b: str) -> int:
    """Shared depth of two `model_fn`s calling `encoder(<a>)` and `encoder(<b>)`, where
    `def encoder(<params>)` builds two `conv_block`s, the first from `units`."""

    def source(call: str, head: int) -> str:
        return f"""
    import tensorflow as tf

    def conv_block(x, units):
        return tf.layers.dense(x, units, name="c")

    def encoder({params}):
        x = conv_block(x, units)
        return conv_block(x, 10)

    def model_fn(features, labels, mode, params):
        x = encoder({call})
        return tf.layers.dense(x, {head}, name="head")
    """

    plan = _plan({"pkg/a.py": source(a, 3), "pkg/b.py": source(b, 5)})
    return _depth(plan, "pkg/a.py::model_fn", "pkg/b.py::model_fn")


def _ab(plan: Plan) -> int:
    return _depth(plan, "pkg/a.py::build", "pkg/b.py::build")


def _noted(plan: Plan, callee: str) -> bool:
    return any(d.code == UNRESOLVED_IMPORT and f"`{callee}`" in d.message for d in plan.diagnostics)


DENSE = 'x = tf.keras.layers.Dense(64, name="d1")(x)\n'


def test_the_plain_pair_shares_up_to_the_head() -> None:
    """The control for the cases below: the same first layer and `d2` in both, depth 2."""
    assert _ab(_pair("", "", DENSE, DENSE)) == 2


def test_a_module_level_partial_of_a_layer_ends_the_trunk() -> None:
    """`D = functools.partial(Dense, 64)` vs `(Dense, 128)`: `D(name="d1")` was dropped as a
    call into functools, so `d2` (over 64 vs 128 inputs) was claimed shared with no note."""
    plan = _pair(
        "D = functools.partial(tf.keras.layers.Dense, 64)\n",
        "D = functools.partial(tf.keras.layers.Dense, 128)\n",
        'x = D(name="d1")(x)\n',
        'x = D(name="d1")(x)\n',
    )
    assert _ab(plan) == 0
    assert _noted(plan, "D")


def test_a_local_partial_and_a_partial_of_a_builder_end_the_trunk() -> None:
    """The same bound in the build function, and `partial(block, units=...)` of a module
    builder imported as `from functools import partial`."""
    local = _pair(
        "",
        "",
        'D = functools.partial(tf.keras.layers.Dense, 64)\nx = D(name="d1")(x)\n',
        'D = functools.partial(tf.keras.layers.Dense, 128)\nx = D(name="d1")(x)\n',
    )
    assert _ab(local) == 0
    assert _noted(local, "partial(tf.keras.layers.Dense)")
    block = """
    from functools import partial
    def block(x, units):
        return tf.keras.layers.Dense(units, name="d1")(x)
    """
    builder = _pair(
        block + "B = partial(block, units=64)\n",
        block + "B = partial(block, units=128)\n",
        "x = B(x)\n",
        "x = B(x)\n",
    )
    assert _ab(builder) == 0
    assert _noted(builder, "B")


def test_a_make_template_ends_the_trunk() -> None:
    """TF1 `tf.make_template("enc", _enc, units=64)`: calling it runs `_enc` with kwargs the call
    does not show; it was dropped, so the dense layers after it were claimed shared."""
    enc = """
    def _enc(x, units):
        return tf.layers.dense(x, units, name="d1")
    """
    plan = _pair(
        enc,
        enc,
        'enc = tf.make_template("enc", _enc, units=64)\nx = enc(x)\n',
        'enc = tf.make_template("enc", _enc, units=128)\nx = enc(x)\n',
    )
    assert _ab(plan) == 0
    assert _noted(plan, "make_template(_enc)")


def _slim(num_outputs: int, head: int) -> str:
    return f"""
    import tensorflow as tf
    slim = tf.contrib.slim

    def build(x):
        with slim.arg_scope([slim.conv2d], num_outputs={num_outputs}, kernel_size=3):
            x = slim.conv2d(x, scope="c1")
        x = slim.conv2d(x, 10, 3, scope="c2")
        return slim.fully_connected(x, {head}, scope="fc")
    """


def test_arg_scope_defaults_decide_the_layers_inside() -> None:
    """slim: `conv2d(x, scope="c1")` under `arg_scope(num_outputs=64)` vs `128` are different
    convolutions; the scan read only the call's own arguments and shared both convs."""
    plan = _plan({"pkg/a.py": _slim(64, 3), "pkg/b.py": _slim(128, 5)})
    assert _ab(plan) == 0
    same = _plan({"pkg/a.py": _slim(64, 3), "pkg/b.py": _slim(64, 5)})
    assert _ab(same) == 2  # the control: the same defaults still share


@pytest.mark.parametrize(
    ("body_a", "body_b"),
    [
        ("u = 64\nx = tf.keras.layers.Dense(u)(x)\n", "u = 128\nx = tf.keras.layers.Dense(u)(x)\n"),
        ("u = 64\nx = tf.layers.dense(x, u)\n", "u = 128\nx = tf.layers.dense(x, u)\n"),
        (
            'u = 64\nw = tf.get_variable("w", [8, u])\nx = tf.matmul(x, w)\n',
            'u = 128\nw = tf.get_variable("w", [8, u])\nx = tf.matmul(x, w)\n',
        ),
    ],
)
def test_a_local_bound_to_a_literal_decides_the_layer(body_a: str, body_b: str) -> None:
    """`units = 64` at the top of a build function, then `Dense(units)`: an argument the scan
    read as opaque (its position only), so 64 and 128 matched."""
    assert _ab(_pair("", "", body_a, body_b)) == 0


def test_a_local_hides_the_module_constant_it_shadows() -> None:
    """`H = 32` in both modules, `H = 64` in one build function: `Dense(H)` read the module's 32
    in both and matched."""
    plan = _pair(
        "H = 32\n",
        "H = 32\n",
        "H = 64\nx = tf.keras.layers.Dense(H)(x)\n",
        "x = tf.keras.layers.Dense(H)(x)\n",
    )
    assert _ab(plan) == 0


@pytest.mark.parametrize(
    ("body_a", "body_b"),
    [
        ("u = 64\nx = tf.keras.layers.Dense(u)(x)\n", "u = 64\nx = tf.keras.layers.Dense(u)(x)\n"),
        ("u = 64\nx = tf.keras.layers.Dense(u)(x)\n", "x = tf.keras.layers.Dense(64)(x)\n"),
        ("u = 64\nx = tf.layers.dense(x, u)\n", "u = 64\nx = tf.layers.dense(x, u)\n"),
    ],
)
def test_the_same_local_literal_still_shares(body_a: str, body_b: str) -> None:
    """The control: the same value, through a local or written out, shares up to the head."""
    assert _ab(_pair("", "", body_a, body_b)) == 2


def test_a_local_bound_again_is_no_literal() -> None:
    """`u = 64` then `u *= 2` in one, `u = 128` in the other: u is not known from its first
    store, so it is opaque (position only) in both; the scan must not read 64 for it."""
    plan = _pair(
        "",
        "",
        "u = 64\nu *= 2\nx = tf.keras.layers.Dense(u)(x)\n",
        "u = 64\nx = tf.keras.layers.Dense(u)(x)\n",
    )
    assert _ab(plan) == 0


def _keras_class(name: str, units: str, head: int, attribute: str = "") -> str:
    return f"""
    import tensorflow as tf

    class {name}(tf.keras.Model):
        {attribute}
        def __init__(self):
            super().__init__()
            self.d1 = tf.keras.layers.Dense({units})
            self.d2 = tf.keras.layers.Dense(10)
            self.head = tf.keras.layers.Dense({head})

        def call(self, x):
            return self.head(self.d2(self.d1(x)))
    """


def test_a_keras_class_s_literal_layers_differ_by_their_literals() -> None:
    """The control for the class-attribute case: literal units decide (64 vs 128: nothing)."""
    plan = _plan({"pkg/a.py": _keras_class("A", "64", 3), "pkg/b.py": _keras_class("B", "64", 5)})
    assert _depth(plan, "pkg/a.py::A", "pkg/b.py::B") == 2
    plan = _plan({"pkg/a.py": _keras_class("A", "64", 3), "pkg/b.py": _keras_class("B", "128", 5)})
    assert _depth(plan, "pkg/a.py::A", "pkg/b.py::B") == 0


def test_a_class_attribute_decides_a_keras_layer() -> None:
    """`UNITS = 64` vs `UNITS = 128` in the class body, `Dense(self.UNITS)`: not the same d1."""
    a = _keras_class("A", "self.UNITS", 3, "UNITS = 64")
    b = _keras_class("B", "self.UNITS", 5, "UNITS = 128")
    assert _depth(_plan({"pkg/a.py": a, "pkg/b.py": b}), "pkg/a.py::A", "pkg/b.py::B") == 0


def test_the_same_class_attribute_still_shares() -> None:
    """The control: `UNITS = 64` in both classes, the same d1 and d2."""
    a = _keras_class("A", "self.UNITS", 3, "UNITS = 64")
    b = _keras_class("B", "self.UNITS", 5, "UNITS = 64")
    assert _depth(_plan({"pkg/a.py": a, "pkg/b.py": b}), "pkg/a.py::A", "pkg/b.py::B") == 2


_BASE = """
    import tensorflow as tf

    class Base(tf.keras.Model):
        def __init__(self, units{defaults}):
            super().__init__()
            self.d1 = tf.keras.layers.Dense(units)
            self.d2 = tf.keras.layers.Dense(10)
            self.head = tf.keras.layers.Dense(n_out)

        def call(self, x):
            return self.head(self.d2(self.d1(x)))
    """


def _subclasses(args_a: str, args_b: str, defaults: str = ", n_out") -> int:
    """Depth of two subclasses of one scanned Keras base, calling `super().__init__` so."""

    def sub(name: str, args: str) -> str:
        return f"""
    from pkg.base import Base

    class {name}(Base):
        def __init__(self):
            super().__init__({args})
    """

    base = _BASE.format(defaults=defaults)
    plan = _plan({"pkg/base.py": base, "pkg/a.py": sub("A", args_a), "pkg/b.py": sub("B", args_b)})
    return _depth(plan, "pkg/a.py::A", "pkg/b.py::B")


def test_super_init_arguments_decide_the_base_s_layers() -> None:
    """Two subclasses of one scanned Keras base, `super().__init__(64, 3)` vs `(128, 5)`: even
    their heads differ, yet all three layers were claimed shared (with CG221: not transferred);
    the same arguments (the control) still share."""
    assert _subclasses("64, 3", "128, 5") == 0
    assert _subclasses("64, 3", "64, 3") == 3


def test_super_init_arguments_override_the_base_s_defaults() -> None:
    """`def __init__(self, units=64, n_out=3)`: `super().__init__()` vs `(128, 5)` read the
    defaults for both and matched all three layers; `super().__init__(64)` is the default."""
    defaults = "=64, n_out=3"
    assert _subclasses("", "128, 5", defaults) == 0
    assert _subclasses("", "64", defaults) == 3


def test_arguments_of_a_method_looked_into_decide_the_layers_inside() -> None:
    """`self.encoder(x, 64)` vs `(x, 128)`, where `encoder` composes `conv_block(x, units)`: the
    walk looks into it, and read `units` as an opaque argument in both (depth 3). What the call
    tells a parameter is now what an argument reading it stands for, to any depth."""

    def source(units: int, head: int) -> str:
        return f"""
    import tensorflow as tf

    def conv_block(x, units):
        return tf.layers.dense(x, units, name="c")

    class M(object):
        def build(self, x):
            x = self.encoder(x, {units})
            return tf.layers.dense(x, {head}, name="head")

        def encoder(self, x, units):
            x = conv_block(x, units)
            return conv_block(x, 10)
    """

    a, b = "pkg/a.py::M.build", "pkg/b.py::M.build"
    assert _depth(_plan({"pkg/a.py": source(64, 3), "pkg/b.py": source(128, 5)}), a, b) == 0
    assert _depth(_plan({"pkg/a.py": source(64, 3), "pkg/b.py": source(64, 5)}), a, b) == 2


@pytest.mark.parametrize(
    ("prelude_a", "prelude_b", "body"),
    [
        ("H = 32\n", "H = 64\n", "x = tf.keras.layers.Dense(H * 2)(x)\n"),
        ("BIG = True\n", "BIG = False\n", "x = tf.keras.layers.Dense(64 if BIG else 32)(x)\n"),
        (
            "CFG = {'units': 64}\n",
            "CFG = {'units': 128}\n",
            "x = tf.keras.layers.Dense(**CFG)(x)\n",
        ),
    ],
)
def test_an_argument_computed_from_module_literals_decides(
    prelude_a: str, prelude_b: str, body: str
) -> None:
    """The same expression over module values that differ: not the same d1; over the same
    values (the control), still shared."""
    assert _ab(_pair(prelude_a, prelude_b, body, body)) == 0
    assert _ab(_pair(prelude_a, prelude_a, body, body)) == 2
    assert _ab(_pair(prelude_b, prelude_b, body, body)) == 2


def test_a_closure_over_a_local_literal_decides() -> None:
    """`u = 64; def blk(h): return Dense(u)(h)` vs `u = 128`: not the same d1 (the nested
    function was walked on its own, the outer local opaque there); the same literal still
    shares."""
    body = "u = {}\ndef blk(h):\n    return tf.keras.layers.Dense(u)(h)\nx = blk(x)\n"
    assert _ab(_pair("", "", body.format(64), body.format(128))) == 0
    assert _ab(_pair("", "", body.format(64), body.format(64))) == 2


def test_an_outer_local_hides_the_module_constant_from_a_closure() -> None:
    """`H = 32` in both modules, `H = 64` in one build function around the closure: the closure
    reads the function's H, not the module's."""
    blk = "def blk(h):\n    return tf.keras.layers.Dense(H)(h)\nx = blk(x)\n"
    assert _ab(_pair("H = 32\n", "H = 32\n", "H = 64\n" + blk, blk)) == 0
    assert _ab(_pair("H = 32\n", "H = 32\n", "H = n\n" + blk, blk)) == 0
    assert _ab(_pair("H = 32\n", "H = 32\n", blk, blk)) == 2


@pytest.mark.parametrize(
    ("prelude_a", "prelude_b", "value"),
    [
        ("class CFG:\n    units = 64\n", "class CFG:\n    units = 128\n", "CFG.units"),
        ("CFG = {'units': 64}\n", "CFG = {'units': 128}\n", "CFG['units']"),
    ],
)
def test_a_module_config_value_decides_a_layer(prelude_a: str, prelude_b: str, value: str) -> None:
    """Two files with the same code over a config that differs: not the same d1."""
    body = f'x = tf.keras.layers.Dense({value}, name="d1")(x)\n'
    assert _ab(_pair(prelude_a, prelude_b, body, body)) == 0
    assert _ab(_pair(prelude_a, prelude_a, body, body)) == 2


def test_a_computed_argument_over_an_unknown_name_stays_opaque() -> None:
    """`Dense(H * 2)` where `H` comes from an import: unknown, today's opaque match (and a local
    `H` hides the module's, as for a bare constant)."""
    body = "x = tf.keras.layers.Dense(H * 2)(x)\n"
    assert _ab(_pair("from pkg.cfg import H\n", "from pkg.cfg import H\n", body, body)) == 2
    local = "H = n\nx = tf.keras.layers.Dense(H * 2)(x)\n"
    assert _ab(_pair("H = 32\n", "H = 64\n", "n = 1\n" + local, "n = 1\n" + local)) == 2


def test_a_computed_name_never_decides() -> None:
    """`name=PREFIX + "/d1"` over prefixes that differ, or a name inside `**CFG`: still shared."""
    body = 'x = tf.keras.layers.Dense(64, name=PREFIX + "/d1")(x)\n'
    assert _ab(_pair("PREFIX = 'a'\n", "PREFIX = 'b'\n", body, body)) == 2
    body = "x = tf.keras.layers.Dense(**CFG)(x)\n"
    cfg = "CFG = {{'units': 64, 'name': '{}'}}\n"
    assert _ab(_pair(cfg.format("a"), cfg.format("b"), body, body)) == 2


# -- names of other modules in an argument (probe) ---------------------------------------------

_CONFIGS = {"pkg/__init__.py": "", "pkg/ca.py": "H = 32\nBIG = True\n", "pkg/cb.py": "H = 64\n"}


def _imports(prelude_a: str, prelude_b: str, body_a: str, body_b: str = "") -> int:
    """Depth of two build files over the config modules pkg/ca.py (H = 32) and pkg/cb.py (64)."""
    files = {
        **_CONFIGS,
        "pkg/a.py": _source(prelude_a, body_a, 3),
        "pkg/b.py": _source(prelude_b, body_b or body_a, 5),
    }
    return _ab(_plan(files))


_FROM = ("from pkg.ca import H, BIG\n", "from pkg.cb import H\nBIG = True\n")
_MODULE = ("from pkg import ca as cfg\n", "from pkg import cb as cfg\n")
_DOTTED = ("import pkg.ca as cfg\n", "import pkg.cb as cfg\n")


@pytest.mark.parametrize(
    ("preludes", "value"),
    [
        (_FROM, "H * 2"),
        (_FROM, "H + 1"),
        (_FROM, "[H, H]"),
        (_FROM, "(H, 3)"),
        (_FROM, "max(H, 3)"),
        (_FROM, "(H if BIG else 16) * 2"),
        (_MODULE, "cfg.H"),
        (_MODULE, "cfg.H * 2"),
        (_DOTTED, "[cfg.H, 8]"),
    ],
)
def test_an_argument_over_an_imported_value_decides(preludes: tuple[str, str], value: str) -> None:
    """`from pkg.ca import H` in one file, `from pkg.cb import H` in the other (32 vs 64), the
    same `Dense(H * 2)`: not the same d1 (a bare `Dense(H)` already was not); the same import
    in both (the control) still shares."""
    body = f'x = tf.keras.layers.Dense({value}, name="d1")(x)\n'
    assert _imports(*preludes, body) == 0
    assert _imports(preludes[0], preludes[0], body) == 2


@pytest.mark.parametrize(
    "body",
    [
        'x = tf.layers.dense(x, H * 2, name="d1")\n',
        'w = tf.get_variable("w", [H, 8])\nx = tf.matmul(x, w)\n',
        "x = block(x, H * 2)\n",
        "x = tf.keras.layers.Dense(**dict(units=H))(x)\n",
    ],
)
def test_every_layer_shape_reads_the_imported_value(body: str) -> None:
    """TF1 layers, variables and builder calls alike."""
    block = 'def block(x, u):\n    return tf.layers.dense(x, u, name="d1")\n'
    assert _imports(_FROM[0] + block, _FROM[1] + block, body) == 0
    assert _imports(_FROM[0] + block, _FROM[0] + block, body) == 2


def test_the_value_not_the_module_decides() -> None:
    """Two config modules that bind H to the same literal: the same d1 (a name a scanned module
    binds to a literal stands for it); the same text spelled `pkg.ca.H * 2` against
    `H * 3` over the one import differs."""
    files = {**_CONFIGS, "pkg/cc.py": "H = 32\n"}
    body = 'x = tf.keras.layers.Dense(H * 2, name="d1")(x)\n'
    files["pkg/a.py"] = _source("from pkg.ca import H\n", body, 3)
    files["pkg/b.py"] = _source("from pkg.cc import H\n", body, 5)
    assert _ab(_plan(files)) == 2
    three = 'x = tf.keras.layers.Dense(H * 3, name="d1")(x)\n'
    assert _imports(_FROM[0], _FROM[0], body, three) == 0


def test_a_name_from_outside_the_scan_decides_by_what_it_is_called() -> None:
    """`from exta import H` vs `from extb import H`: nothing knows their values, so they differ
    (a miss at worst); the same import still shares."""
    body = 'x = tf.keras.layers.Dense(H * 2, name="d1")(x)\n'
    assert _imports("from exta import H\n", "from extb import H\n", body) == 0
    assert _imports("from exta import H\n", "from exta import H\n", body) == 2


@pytest.mark.parametrize("value", ["H", "H * 2"])
def test_a_relative_import_is_the_module_of_its_own_package(value: str) -> None:
    """`from .c import H` in p1/a.py and in p2/a.py are p1/c.py (32) and p2/c.py (64): spelled
    alike, not the same value (both the bare name and a computed one were claimed shared);
    `from c import H` (the file's folder on sys.path) too."""
    body = f'x = tf.keras.layers.Dense({value}, name="d1")(x)\n'
    for spelled in ("from .c import H\n", "from c import H\n"):
        files = {
            "p1/__init__.py": "",
            "p2/__init__.py": "",
            "p1/c.py": "H = 32\n",
            "p2/c.py": "H = 64\n",
            "p1/a.py": _source(spelled, body, 3),
            "p2/a.py": _source(spelled, body, 5),
        }
        assert _depth(_plan(files), "p1/a.py::build", "p2/a.py::build") == 0
        files["p2/c.py"] = "H = 32\n"
        assert _depth(_plan(files), "p1/a.py::build", "p2/a.py::build") == 2


# -- module values no one assignment gives, computed strings, dict() (probe) -------------------

_D1 = 'x = tf.keras.layers.Dense({}, name="d1")(x)\n'


@pytest.mark.parametrize(
    ("prelude_a", "prelude_b"),
    [
        ("BIG = True\nH = 32\nif BIG:\n    H = 64\n", "BIG = False\nH = 32\nif BIG:\n    H = 64\n"),
        (
            "try:\n    H = 64\nexcept Exception:\n    H = 32\n",
            "try:\n    H = 128\nexcept Exception:\n    H = 32\n",
        ),
        ("H = 32\nH *= 2\n", "H = 32\nH *= 4\n"),
        ("H, W = 32, 3\n", "H, W = 64, 3\n"),
        (
            "H = 32\ndef setup():\n    global H\n    H = 64\n",
            "H = 32\ndef setup():\n    global H\n    H = 128\n",
        ),
    ],
)
@pytest.mark.parametrize("value", ["H", "H * 2"])
def test_a_module_value_bound_more_than_once_is_no_literal(
    prelude_a: str, prelude_b: str, value: str
) -> None:
    """`H = 32` then `if BIG: H = 64` (BIG differing), a `try` that binds 64 or 128, `H *= 2`,
    `H, W = 32, 3`, a function's `global H`: the scan read the first literal (or nothing) in
    both files and matched. Such a name is now its own module's: two files never match on it
    (a miss for the same code in two files, which is acceptable); two files that import it from
    one module (the control) still do."""
    body = _D1.format(value)
    assert _ab(_pair(prelude_a, prelude_b, body, body)) == 0
    files = {
        "pkg/cfg.py": prelude_a,
        "pkg/a.py": _source("from pkg.cfg import H\n", body, 3),
        "pkg/b.py": _source("from pkg.cfg import H\n", body, 5),
    }
    assert _ab(_plan(files)) == 2


def test_an_imported_value_bound_more_than_once_is_no_literal() -> None:
    """`from pkg.ca import H`, where ca binds H in a branch: not the literal of its first line."""
    files = {
        "pkg/ca.py": "import os\nH = 32\nif os.environ.get('BIG'):\n    H = 64\n",
        "pkg/cc.py": "H = 32\n",
        "pkg/a.py": _source("from pkg.ca import H\n", _D1.format("H * 2"), 3),
        "pkg/b.py": _source("from pkg.cc import H\n", _D1.format("H * 2"), 5),
    }
    assert _ab(_plan(files)) == 0


@pytest.mark.parametrize(
    ("prelude_a", "prelude_b", "argument"),
    [
        ("A = 'relu'\n", "A = 'tanh'\n", "64, activation=f'{A}'"),
        ("BITS = 16\n", "BITS = 32\n", "64, dtype=f'float{BITS}'"),
        ("BITS = '16'\n", "BITS = '32'\n", "64, dtype='float' + BITS"),
    ],
)
def test_a_computed_string_that_is_no_name_decides(
    prelude_a: str, prelude_b: str, argument: str
) -> None:
    """A string computed from module values (an f-string, a sum) in an argument that is no
    variable or scope name decides as the literal it computes, as `activation='relu'` does."""
    body = _D1.format(argument).replace(', name="d1"', "")
    assert _ab(_pair(prelude_a, prelude_b, body, body)) == 0
    assert _ab(_pair(prelude_a, prelude_a, body, body)) == 2


@pytest.mark.parametrize(
    ("prelude", "body"),
    [
        ("CFG = dict(units={})\n", "x = tf.keras.layers.Dense(**CFG)(x)\n"),
        ("", "x = tf.keras.layers.Dense(**dict(units={}))(x)\n"),
        ("", "cfg = dict(units={})\nx = tf.keras.layers.Dense(**cfg)(x)\n"),
        ("", "cfg = {{'units': {}}}\nx = tf.keras.layers.Dense(**cfg)(x)\n"),
        ("", "u = {} * 2\nx = tf.keras.layers.Dense(u)(x)\n"),
    ],
)
def test_a_dict_call_or_a_local_computed_from_literals_decides(prelude: str, body: str) -> None:
    """`dict(units=64)` spread with `**` (module-level, inline or bound to a local) and a local
    bound once to a value computed from literals: opaque before, so 64 and 128 matched."""
    a = (prelude.format(64), body.format(64)) if prelude else ("", body.format(64))
    b = (prelude.format(128), body.format(128)) if prelude else ("", body.format(128))
    assert _ab(_pair(a[0], b[0], a[1], b[1])) == 0
    assert _ab(_pair(a[0], a[0], a[1], a[1])) == 2


def test_defaults_keyword_only_defaults_and_loop_variables_already_decide() -> None:
    """Controls from the probe that were already right: a builder called without its argument
    (`units=64` vs `128`, positional or keyword-only) and a loop variable as units."""
    for params in ("x, units={}", "x, *, units={}"):
        block = f"def block({params}):\n    return tf.layers.dense(x, units, name='d1')\n"
        assert (
            _ab(_pair(block.format(64), block.format(128), "x = block(x)\n", "x = block(x)\n")) == 0
        )
        assert (
            _ab(_pair(block.format(64), block.format(64), "x = block(x)\n", "x = block(x)\n")) == 2
        )
    loop = "for u in [{}]:\n    x = tf.keras.layers.Dense(u, name='d1')(x)\n"
    assert _ab(_pair("", "", loop.format(64), loop.format(128))) == 0


def test_a_helper_s_parameter_told_or_left_to_its_default() -> None:
    """A model_fn's `encoder(features)` (units=64 by default) vs `encoder(features, 128)`: not
    the same first block; `encoder(features, 64)` is the default, the same block (the head
    differs: depth 2). A parameter no caller tells stays a position, as before (bert-base's
    `create_model(..., False)` into BertModel's inert `use_one_hot_embeddings` still shares)."""

    depth = functools.partial(_encoder_depth, "x, units=64")

    assert depth("features", "features, 128") == 0
    assert depth("features", "features, 64") == 2
    assert depth("features, units=128", "features, 128") == 2


@pytest.mark.parametrize("spelled", ["from .c import H", "from c import H"])
def test_a_builder_body_reading_a_relative_import_s_constant(spelled: str) -> None:
    """`def block(x): return Dense(H * 2)(x)` in p1/a.py and p2/a.py, each importing H from the
    c.py of its own folder (32 vs 64): the two blocks were one clone class (the same spelling
    `.c.H`), so one layer; the clone rules now read what the name stands for. The same value
    in both (the control) is still one clone class."""
    block = f"{spelled}\ndef block(x):\n    return tf.keras.layers.Dense(H * 2)(x)\n"
    files = {
        "p1/__init__.py": "",
        "p2/__init__.py": "",
        "p1/c.py": "H = 32\n",
        "p2/c.py": "H = 64\n",
        "p1/a.py": _source(block, "x = block(x)\n", 3),
        "p2/a.py": _source(block, "x = block(x)\n", 5),
    }
    assert _depth(_plan(files), "p1/a.py::build", "p2/a.py::build") == 0
    files["p2/c.py"] = "H = 32\n"
    assert _depth(_plan(files), "p1/a.py::build", "p2/a.py::build") == 2


def test_a_local_recomputed_from_a_literal_decides() -> None:
    """`u = 64; u = u * 2` vs `u = 128; u = u * 2`: 128 and 256 units, matched by position
    (a local stored twice was opaque); the same literals still share, and a store in a branch
    still makes it unknown (opaque in both: shared by position, as a run-time value)."""
    body = "u = {}\nu = u * 2\nx = tf.keras.layers.Dense(u)(x)\n"
    assert _ab(_pair("", "", body.format(64), body.format(128))) == 0
    assert _ab(_pair("", "", body.format(64), body.format(64))) == 2
    branch = "u = {}\nif x.shape[0]:\n    u = 128\nx = tf.keras.layers.Dense(u)(x)\n"
    assert _ab(_pair("", "", branch.format(64), "x = tf.keras.layers.Dense(64)(x)\n")) == 0
    assert _ab(_pair("", "", branch.format(64), branch.format(64))) == 2


@pytest.mark.parametrize(
    ("prelude_a", "prelude_b"),
    [
        ("BIG = True\nH = 32\nif BIG:\n    H = 64\n", "BIG = False\nH = 32\nif BIG:\n    H = 64\n"),
        ("H = 32\nH *= 2\n", "H = 32\nH *= 4\n"),
    ],
)
def test_a_builder_body_reading_a_module_value_bound_more_than_once(
    prelude_a: str, prelude_b: str
) -> None:
    """`block` reads H, which its module binds twice: the two copies were one clone class (deep
    equivalence compared `H = 32` alone); H is now its own module's. The same block over H
    imported from one config module (the control) is still one clone class."""
    block = "def block(x):\n    return tf.keras.layers.Dense(H * 2)(x)\n"
    assert _ab(_pair(prelude_a + block, prelude_b + block, "x = block(x)\n", "x = block(x)\n")) == 0
    shared = "from pkg.cfg import H\n" + block
    files = {
        "pkg/cfg.py": prelude_a,
        "pkg/a.py": _source(shared, "x = block(x)\n", 3),
        "pkg/b.py": _source(shared, "x = block(x)\n", 5),
    }
    assert _ab(_plan(files)) == 2


_UNITS_BASE = """
    import tensorflow as tf

    class Base(tf.keras.Model):
        UNITS = 64

        def __init__(self):
            super().__init__()
            self.d1 = tf.keras.layers.Dense(self.UNITS)
            self.d2 = tf.keras.layers.Dense(10)
            self.head = tf.keras.layers.Dense(3)

        def call(self, x):
            return self.head(self.d2(self.d1(x)))
"""


@pytest.mark.parametrize(
    ("attribute_b", "depth"), [("UNITS = 32", 0), ("pass", 0), ("UNITS = 128", 3)]
)
def test_a_subclass_s_class_attribute_decides_the_base_s_layers(
    attribute_b: str, depth: int
) -> None:
    """`class A(Base): UNITS = 128` and `class B(Base): UNITS = 32` (or none: Base's 64), where
    Base's constructor builds `Dense(self.UNITS)`: the scan read Base's 64 for both (all three
    layers claimed shared); the same override in both still shares."""

    def sub(name: str, attribute: str) -> str:
        return f"""
    from pkg.base import Base

    class {name}(Base):
        {attribute}
    """

    files = {"pkg/base.py": _UNITS_BASE, "pkg/a.py": sub("A", "UNITS = 128")}
    files["pkg/b.py"] = sub("B", attribute_b)
    assert _depth(_plan(files), "pkg/a.py::A", "pkg/b.py::B") == depth


def test_a_keyword_only_parameter_told_to_a_helper_decides() -> None:
    """`encoder(x, *, units=64)` called `encoder(features)` vs `encoder(features, units=128)`:
    the first block was claimed shared; the same keyword (the control) still shares."""

    depth = functools.partial(_encoder_depth, "x, *, units=64")

    assert depth("features", "features, units=128") == 0
    assert depth("features, units=128", "features, units=128") == 2
