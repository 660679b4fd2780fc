"""Statement-level inline matching and argument relevance (issue 20, 5 and 7).

Inside a block, the statements that create variables are the layer; the rest is context that
never hides them. An argument decides a builder call's layer only when it can change what the
builder creates."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

from codegen.model import FunctionFacts, Plan, SourceFile
from codegen.plan.planner import make_plan, pair_depths
from codegen.scan.extract import extract

FAMILY = Path(__file__).parent / "classifier_family" / "models"


def _facts(path: str, source: str):  # type: ignore[no-untyped-def]
    text = textwrap.dedent(source)
    return extract(SourceFile(path, path, text, hashlib.sha256(text.encode()).hexdigest()))


def _plan(files: dict[str, str]) -> Plan:
    return make_plan([_facts(path, source) for path, source in sorted(files.items())])


def _depth(plan: Plan, a: str, b: str) -> int:
    pair = (a, b) if a < b else (b, a)
    return pair_depths(plan).get(pair, 0)


def _function(path: str, source: str, qualname: str) -> FunctionFacts:
    return next(f for f in _facts(path, source).functions if f.qualname == qualname)


# --- statement-level inline matching -------------------------------------------------------------


def _classifier(name: str, embedding_block: str, head: str = "") -> str:
    block = textwrap.indent(textwrap.dedent(embedding_block).strip(), " " * 12)
    return (
        "import tensorflow.compat.v1 as tf\n\n\n"
        f"class {name}(object):\n"
        "    def __init__(self, sequence_length, num_classes, vocab_size, embedding_size):\n"
        '        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="x")\n'
        '        with tf.device("/cpu:0"), tf.name_scope("embedding"):\n'
        f"{block}\n"
        "        self.logits = tf.layers.dense(\n"
        f"            tf.reduce_mean(self.embedded, 1), num_classes{head}\n"
        "        )\n"
    )


EMBEDDING = """
self.W = tf.Variable(tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W")
self.embedded = tf.nn.embedding_lookup(self.W, self.input_x)
"""


def test_an_embedding_block_matches_whatever_context_statements_it_holds() -> None:
    """TextCNN's block also expands dims, a pair model's looks the table up twice: the same
    variable, made the same way, is one shared layer."""
    plan = _plan(
        {
            "a.py": _classifier("A", EMBEDDING),
            "b.py": _classifier(
                "B", EMBEDDING + "self.expanded = tf.expand_dims(self.embedded, -1)\n"
            ),
            "c.py": _classifier(
                "C", EMBEDDING + "self.other = tf.nn.embedding_lookup(self.W, self.input_x)\n"
            ),
        }
    )
    assert _depth(plan, "a.py::A", "b.py::B") == 2
    assert _depth(plan, "a.py::A", "c.py::C") == 2
    assert _depth(plan, "b.py::B", "c.py::C") == 2


def test_a_context_statement_the_variable_reads_still_decides() -> None:
    """A statement that computes what the creating statement reads is part of the layer: a
    different literal there (a vocabulary one larger) ends the share."""
    feeding = """
    rows = vocab_size + {extra}
    self.W = tf.Variable(tf.random_uniform([rows, embedding_size], -1.0, 1.0), name="W")
    self.embedded = tf.nn.embedding_lookup(self.W, self.input_x)
    """
    plan = _plan(
        {
            "a.py": _classifier("A", feeding.format(extra=1)),
            "b.py": _classifier("B", feeding.format(extra=2)),
            "c.py": _classifier(
                "C", feeding.format(extra=1) + "self.expanded = tf.expand_dims(self.embedded, -1)"
            ),
        }
    )
    assert _depth(plan, "a.py::A", "b.py::B") == 0
    assert _depth(plan, "a.py::A", "c.py::C") == 2


def test_a_different_initializer_literal_in_the_block_never_matches() -> None:
    narrow = EMBEDDING.replace("-1.0, 1.0", "-0.5, 0.5")
    plan = _plan({"a.py": _classifier("A", EMBEDDING), "b.py": _classifier("B", narrow)})
    assert _depth(plan, "a.py::A", "b.py::B") == 0


def test_the_classifier_family_shares_its_embedding_and_nothing_else() -> None:
    """tests/classifier_family: three copied classifiers share the embedding (one with a
    channel axis, one with a second lookup); the negative control's initial range differs."""
    plan = make_plan(
        [
            extract(
                SourceFile(
                    f"models/{p.name}",
                    str(p),
                    p.read_text(),
                    hashlib.sha256(p.read_bytes()).hexdigest(),
                )
            )
            for p in sorted(FAMILY.glob("*.py"))
        ]
    )
    cnn, rnn = "models/text_cnn.py::TextCNN", "models/text_rnn.py::TextRNN"
    pair, char = "models/pair_classifier.py::PairClassifier", "models/char_cnn.py::CharCNN"
    assert _depth(plan, cnn, rnn) == 1
    assert _depth(plan, cnn, pair) == 1
    assert _depth(plan, rnn, pair) == 1
    for other in (cnn, rnn, pair):
        assert _depth(plan, char, other) == 0
    first = {m.id: m.layers[0] for m in plan.models}
    assert first[cnn].kind == "inline-block" and first[cnn].signature == first[rnn].signature


# --- argument relevance ------------------------------------------------------------------------

BACKBONE = """
import copy
import tensorflow.compat.v1 as tf


def dropout(x, prob):
    if prob is None or prob == 0.0:
        return x
    return tf.nn.dropout(x, rate=prob)


def embed(ids, vocab, width, one_hot=False, name="embed"):
    table = tf.get_variable(name, [vocab, width])
    if one_hot:
        out = tf.matmul(tf.one_hot(ids, vocab), table)
    else:
        out = tf.gather(table, ids)
    return out


class Backbone(object):
    def __init__(self, config, is_training, ids, one_hot=False, units=64, scope=None):
        config = copy.deepcopy(config)
        if not is_training:
            config.dropout = 0.0
        with tf.variable_scope(scope, default_name="backbone"):
            h = embed(ids, config.vocab, config.width, one_hot=one_hot)
            h = dropout(h, config.dropout)
            self.output = tf.layers.dense(h, units)
"""


def test_parameters_that_never_reach_a_variable_are_inert() -> None:
    facts = _facts("backbone.py", BACKBONE)
    inert = {f.qualname: set(f.inert_params) for f in facts.functions}
    assert inert["embed"] == {"ids", "one_hot", "name"}
    # is_training only sets a dropout rate; units reaches the dense layer's kernel.
    assert inert["Backbone.__init__"] == {"is_training", "one_hot", "scope"}
    assert inert["dropout"] == {"x", "prob"}


def test_a_parameter_guarding_variable_creation_or_kept_on_self_decides() -> None:
    source = """
    import tensorflow.compat.v1 as tf
    from elsewhere import unseen

    def guarded(x, with_bias):
        w = tf.get_variable("w", [4, 4])
        if with_bias:
            b = tf.get_variable("b", [4])
        return x

    def passed_on(x, size):
        return unseen(x, size)

    class Kept(object):
        def __init__(self, size):
            self.size = size
            self.w = tf.get_variable("w", [4, 4])

    class Base(object):
        def __init__(self, units):
            self.build(units)

        def build(self, units):
            self.w = tf.get_variable("w", [4, 4])
    """
    facts = _facts("m.py", source)
    inert = {f.qualname: set(f.inert_params) for f in facts.functions}
    assert inert["guarded"] == {"x"}
    assert inert["passed_on"] == set()  # a call the scanner cannot see may build from it
    assert inert["Kept.__init__"] == set()  # another method may build from self.size
    assert inert["Base.build"] == {"units"}
    assert inert["Base.__init__"] == set()  # a subclass may override build() to use it


def _heads(first: str, second: str) -> dict[str, str]:
    head = """
    import tensorflow.compat.v1 as tf
    from backbone import Backbone

    def model_fn(features, labels, mode, params):
        model = Backbone({call})
        logits = tf.layers.dense(model.output, 2)
        return logits
    """
    return {
        "backbone.py": BACKBONE,
        "a.py": head.format(call=first),
        "b.py": head.format(call=second),
    }


def test_inert_arguments_and_explicit_defaults_never_end_a_shared_backbone() -> None:
    """bert: `is_training=False` vs an expression, `one_hot=<expr>` passed vs left out, and
    `units=64` spelled out vs left out are the same variables."""
    plan = _plan(
        _heads(
            "params, is_training=False, ids=features, units=64",
            "params, is_training=mode == 1, ids=features, one_hot=params.one_hot",
        )
    )
    assert _depth(plan, "a.py::model_fn", "b.py::model_fn") == 2


def test_an_argument_that_reaches_a_variable_still_decides() -> None:
    plan = _plan(_heads("params, False, features, units=64", "params, False, features, units=32"))
    assert _depth(plan, "a.py::model_fn", "b.py::model_fn") == 0
    plan = _plan(_heads("params, False, features", "params, False, features, units=n"))
    assert _depth(plan, "a.py::model_fn", "b.py::model_fn") == 0


def test_a_keras_layer_objects_name_and_mask_zero_never_decide() -> None:
    """nlp-architect: the chunker's `Embedding(..., name="embedding", mask_zero=False)` (the
    default) and the tagger's `Embedding(..., name="word_embedding")` make the same variables."""
    model = """
    import tensorflow as tf

    class {name}(object):
        def build(self):
            words = tf.keras.layers.Input(shape=(None,))
            layer = tf.keras.layers.Embedding(self.vocab, self.dims, {extra})
            embedded = layer(words)
            self.out = tf.keras.layers.Dense(self.tags)(embedded)
    """
    plan = _plan(
        {
            "a.py": model.format(name="Chunker", extra='name="embedding", mask_zero=False'),
            "b.py": model.format(name="Tagger", extra='name="word_embedding"'),
            "c.py": model.format(name="Other", extra='embeddings_initializer="zeros"'),
        }
    )
    assert _depth(plan, "a.py::Chunker.build", "b.py::Tagger.build") == 2  # Embedding, Dense
    assert _depth(plan, "a.py::Chunker.build", "c.py::Other.build") == 0  # another initializer


# --- false layers -----------------------------------------------------------------------------


def test_a_state_tuple_is_not_a_layer() -> None:
    """`LSTMStateTuple(c, h)` is a namedtuple of tensors: a property returning one is no builder
    (it once became a model), and building one beside an RNN adds no layer."""
    source = """
    import tensorflow as tf

    class Seq2Seq(object):
        def __init__(self, vocab, units):
            self.x = tf.placeholder(tf.int32, [None, 20])
            self.emb = tf.get_variable("emb", [vocab, units])
            h = tf.nn.embedding_lookup(self.emb, self.x)
            cell = tf.nn.rnn_cell.LSTMCell(units)
            c = tf.zeros([4, units])
            state = tf.nn.rnn_cell.LSTMStateTuple(c, c)
            out, _ = tf.nn.dynamic_rnn(cell, h, initial_state=state)
            self.logits = tf.layers.dense(out, 2)

        @property
        def state_size(self):
            return tf.nn.rnn_cell.LSTMStateTuple(10, 10)
    """
    plan = _plan({"m.py": source})
    creating = {b.id for b in plan.builders if b.creates_variables}
    assert "m.py::Seq2Seq.state_size" not in creating
    assert {m.id for m in plan.models} == {"m.py::Seq2Seq"}
    assert len(plan.models[0].layers) == 3  # embedding, the RNN with its cell, the dense


CELLS = """
import tensorflow as tf


def get_cell(units, keep):
    cell = tf.nn.rnn_cell.LSTMCell(units)
    return tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=keep)


class {name}(object):
    def __init__(self, vocab, keep):
        self.x = tf.placeholder(tf.int32, [None, 20])
        self.emb = tf.get_variable("emb", [vocab, 32])
        h = tf.nn.embedding_lookup(self.emb, self.x)
        cell = get_cell({units}, keep)
        out, _ = tf.nn.dynamic_rnn(cell, h, dtype=tf.float32)
        self.logits = tf.layers.dense(out, 2)
"""


def test_a_cell_factory_binds_a_layer_object_whose_arguments_decide() -> None:
    """A function that only builds and returns a cell creates nothing; the RNN that runs the
    cell it returns is the layer, and the factory's literal arguments (64 vs 128 units) are part
    of that layer's identity, as a cell constructor's are."""
    plan = _plan(
        {
            "a.py": CELLS.format(name="A", units=64),
            "b.py": CELLS.format(name="B", units=128),
            "c.py": CELLS.format(name="C", units=64),
        }
    )
    creating = {b.id for b in plan.builders if b.creates_variables}
    assert "a.py::get_cell" not in creating
    assert _depth(plan, "a.py::A", "b.py::B") == 1  # the embedding only
    assert _depth(plan, "a.py::A", "c.py::C") == 3
