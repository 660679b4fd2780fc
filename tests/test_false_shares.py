"""No false share: each mechanism by which the scan once claimed two models share a layer they do
not, in the shape of the real code that showed it (issue 20, 6; docs/realcorpus.md)."""

from __future__ import annotations

import hashlib
import textwrap

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
