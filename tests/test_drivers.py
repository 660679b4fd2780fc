"""Drivers, builders and models told apart by what the code does, never by a name alone (issue 20,
items 1-2): a driver runs things, a model is found whatever calls it, and an inherited `build()`
runs the subclass's own overrides (docs/rules.md, "what counts as what")."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from codegen.cli import main
from codegen.diagnostics import NOT_ROUTABLE
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


def _models(plan: Plan) -> set[str]:
    return {m.id for m in plan.models}


def _depth(plan: Plan, a: str, b: str) -> int:
    pair = (a, b) if a < b else (b, a)
    return pair_depths(plan).get(pair, 0)


ENCODER = """
    import tensorflow as tf

    class Encoder(object):
        def __init__(self, ids, vocab, width):
            table = tf.get_variable("table", [vocab, width])
            x = tf.nn.embedding_lookup(table, ids)
            self.hidden = tf.layers.dense(x, width, name="proj")
"""


def test_a_model_built_in_a_function_named_like_a_loss_is_found() -> None:
    """Pretraining code builds its model inside `get_masked_lm_loss`: the name says loss, the code
    builds an embedding and two dense layers, so it is a model, not a driver."""
    plan = _plan(
        {
            "pretrain.py": """
            import tensorflow as tf

            def get_masked_lm_loss(ids, labels, vocab):
                table = tf.get_variable("table", [vocab, 128])
                x = tf.nn.embedding_lookup(table, ids)
                x = tf.layers.dense(x, 128, name="transform")
                logits = tf.layers.dense(x, vocab, name="output")
                return tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
                )
            """
        }
    )
    assert "pretrain.py::get_masked_lm_loss" in _models(plan)


def test_a_driver_with_an_unusual_name_is_no_model_and_hides_none() -> None:
    """`go()` opens a session and runs it: a driver, whatever its name. The model class it
    constructs is still a model, and `go` is not one."""
    plan = _plan(
        {
            "encoder.py": ENCODER,
            "go.py": """
            import tensorflow as tf
            from encoder import Encoder

            def go(batches):
                ids = tf.placeholder(tf.int32, [None, 16])
                model = Encoder(ids, 1000, 64)
                with tf.Session() as sess:
                    sess.run(tf.global_variables_initializer())
                    for batch in batches:
                        sess.run(model.hidden, feed_dict={ids: batch})
            """,
        }
    )
    assert "encoder.py::Encoder" in _models(plan)
    assert not any(m.startswith("go.py") for m in _models(plan))


def test_a_command_line_driver_is_no_model() -> None:
    """`cmd()` parses arguments and dispatches to a fine-tuning function that restores a
    checkpoint: both are drivers; the build function they reach is the model."""
    plan = _plan(
        {
            "model.py": """
            import tensorflow as tf

            def model(ids, vocab):
                table = tf.get_variable("wte", [vocab, 64])
                h = tf.nn.embedding_lookup(table, ids)
                h = tf.layers.dense(h, 64, name="mlp")
                return tf.layers.dense(h, vocab, name="head")
            """,
            "cli.py": """
            import argparse
            import tensorflow as tf
            import model

            def finetune(sess, steps):
                ids = tf.placeholder(tf.int32, [None, 8])
                logits = model.model(ids, 500)
                saver = tf.train.Saver()
                saver.restore(sess, "ckpt")
                for _ in range(steps):
                    sess.run(logits)

            def cmd():
                parser = argparse.ArgumentParser()
                parser.add_argument("--steps", type=int)
                args = parser.parse_args()
                finetune(tf.Session(), args.steps)
            """,
        }
    )
    models = _models(plan)
    assert "model.py::model" in models
    assert not any(m.startswith("cli.py") for m in models)


def test_a_class_that_a_checkpoint_dumper_constructs_is_still_a_model() -> None:
    """`dump_weights()` (no driver name) builds the model in a session to read its variables:
    it is a driver, so the class it constructs stays a model."""
    plan = _plan(
        {
            "lm.py": ENCODER
            + """
    def dump_weights(ckpt, outfile):
        with tf.Session() as sess:
            ids = tf.placeholder(tf.int32, [None, 4])
            model = Encoder(ids, 1000, 64)
            tf.train.Saver().restore(sess, ckpt)
            for v in tf.trainable_variables():
                outfile.write(sess.run(v))
    """
        }
    )
    assert _models(plan) == {"lm.py::Encoder"}


INHERITED = """
            import tensorflow as tf

            class Transformer(object):
                def __init__(self, vocab, width):
                    self.vocab = vocab
                    self.width = width

                def build(self, ids):
                    self.outputs = self.call(ids)

                def call(self, ids):
                    x = self.apply_embeddings(ids)
                    return self.apply_final_layers(x)

                def apply_embeddings(self, ids):
                    raise NotImplementedError

                def apply_final_layers(self, x):
                    raise NotImplementedError

            class Bert(Transformer):
                def apply_embeddings(self, ids):
                    table = tf.get_variable("token", [self.vocab, self.width])
                    x = tf.nn.embedding_lookup(table, ids)
                    return tf.layers.dense(x, self.width, name="embed_proj")

                def apply_final_layers(self, x):
                    return tf.layers.dense(x, 2, name="cls")

            class Tagger(Bert):
                def apply_final_layers(self, x):
                    return tf.layers.dense(x, 9, name="tags")

            class Ranker(Bert):
                def apply_final_layers(self, x):
                    return tf.layers.dense(x, 1, name="score")
            """


def test_an_inherited_build_runs_the_subclass_overrides() -> None:
    """bert4keras shape: the base's `build()` calls `self.call()`, which calls the stage hooks
    the base leaves abstract; each subclass is a model through the inherited build, its stages
    are not models, and the abstract base is none. Two subclasses that inherit the same
    embedding stage share it."""
    plan = _plan(
        {
            "models.py": INHERITED,
        }
    )
    models = _models(plan)
    # Bert builds as it is (its hooks are concrete): a model too, as BERT under ALBERT is.
    assert models == {"models.py::Bert.build", "models.py::Tagger.build", "models.py::Ranker.build"}
    assert _depth(plan, "models.py::Tagger.build", "models.py::Ranker.build") == 2
    assert _depth(plan, "models.py::Bert.build", "models.py::Tagger.build") == 2


def test_a_class_that_builds_in_call_is_a_model() -> None:
    """bilm shape: the constructor only reads options; `__call__` builds the graph."""
    plan = _plan(
        {
            "bilm.py": """
            import json
            import tensorflow as tf

            class LanguageModel(object):
                def __init__(self, options_file):
                    with open(options_file) as f:
                        self.options = json.load(f)

                def __call__(self, ids):
                    table = tf.get_variable("char_embed", [262, 16])
                    x = tf.nn.embedding_lookup(table, ids)
                    return tf.layers.dense(x, 512, name="proj")
            """
        }
    )
    assert _models(plan) == {"bilm.py::LanguageModel.__call__"}


def test_a_gradient_accumulator_is_no_model() -> None:
    """An optimizer wrapper's slots (made in a comprehension) and scalar accumulators
    (`tf.zeros(shape=[])`) are counters, not layers."""
    plan = _plan(
        {
            "accumulate.py": """
            import tensorflow as tf

            class Accumulator(object):
                def __init__(self, opt, var_list):
                    self.opt = opt
                    self.slots = {
                        v: tf.Variable(tf.zeros_like(v.read_value()), trainable=False)
                        for v in var_list
                    }
                    self.total = tf.Variable(tf.zeros(shape=[], dtype=tf.float32))
                    self.count = tf.Variable(tf.zeros(shape=[], dtype=tf.float32))
            """
        }
    )
    assert _models(plan) == set()


def test_a_script_function_that_creates_and_runs_is_a_driver_only_by_its_name() -> None:
    """Code that both creates variables itself and runs them: the name breaks the tie."""
    body = """
            import tensorflow as tf

            def NAME():
                x = tf.placeholder(tf.float32, [None, 4])
                w = tf.get_variable("w", [4, 2])
                b = tf.get_variable("b", [2])
                y = tf.matmul(x, w) + b
                with tf.Session() as sess:
                    sess.run(y)
            """
    assert _models(_plan({"script.py": body.replace("NAME", "main")})) == set()
    assert _models(_plan({"script.py": body.replace("NAME", "linear_probe")})) == {
        "script.py::linear_probe"
    }


def test_a_sampling_loop_that_reuses_the_model_hides_it_not() -> None:
    """gpt-2-simple shape: the sampling loop calls the model with `reuse=tf.AUTO_REUSE` (the
    variables exist, a driver built them): the model is still a model, the loop is none."""
    plan = _plan(
        {
            "model.py": """
            import tensorflow as tf

            def block(x, width, scope):
                with tf.variable_scope(scope):
                    return tf.layers.dense(x, width, name="mlp")

            def model(hparams, X, reuse=False):
                wte = tf.get_variable("wte", [hparams.n_vocab, hparams.n_embd])
                h = tf.gather(wte, X)
                h = block(h, hparams.n_embd, "h0")
                return block(h, hparams.n_embd, "h1")
            """,
            "sample.py": """
            import tensorflow as tf
            import model

            def sample_sequence(hparams, context, length):
                def step(tokens):
                    return model.model(hparams=hparams, X=tokens, reuse=tf.AUTO_REUSE)

                def body(prev, output):
                    logits = step(prev)
                    return logits, output

                return tf.while_loop(lambda *a: True, body, [context, context])
            """,
        }
    )
    assert _models(plan) == {"model.py::model"}


def test_a_model_fn_is_told_by_what_it_returns_not_by_its_name() -> None:
    """A nested function that returns an `EstimatorSpec` is a model_fn whatever it and the
    function that makes it are named."""
    plan = _plan(
        {
            "head.py": """
            import tensorflow as tf

            def make_estimator_fn(num_labels):
                def my_fn(feats, targets, run_mode, params):
                    table = tf.get_variable("table", [1000, 64])
                    x = tf.nn.embedding_lookup(table, feats["ids"])
                    logits = tf.layers.dense(x, num_labels, name="cls")
                    return tf.estimator.EstimatorSpec(mode=run_mode, predictions=logits)

                return my_fn
            """
        }
    )
    found = [(m.id, m.kind) for m in plan.models]
    assert found == [("head.py::make_estimator_fn.my_fn", "model_fn")]


LAYER_LIBRARY = """
    import tensorflow as tf

    def dense_block(x, units, name=None, reuse=None):
        with tf.variable_scope(name, default_name="dense_block", reuse=reuse):
            h = tf.layers.dense(x, units, name="in")
            return tf.layers.dense(h, units, name="out")

    def gated(x, depth, name=None, reuse=None):
        with tf.variable_scope(name, default_name="gated", values=[x], reuse=reuse):
            gate = tf.get_variable("w", [depth, depth])
            a = dense_block(x, depth, name="lin")
            return tf.sigmoid(tf.matmul(x, gate)) * dense_block(a, depth, name="log")

    def conv_stack(x, filters, name=None):
        with tf.variable_scope(name, default_name="conv_stack"):
            h = tf.layers.conv1d(x, filters, 3, name="c0")
            return dense_block(h, filters, name="proj")
"""


def test_a_library_of_layer_functions_has_no_models() -> None:
    """t2t's common_layers shape: several uncalled functions that transform the tensor they are
    handed are layers some model may call, not models."""
    assert _models(_plan({"common_layers.py": LAYER_LIBRARY})) == set()


def test_functions_that_make_their_inputs_are_models_beside_each_other() -> None:
    """Two uncalled functions that make their own placeholders are two models."""
    models = """
    import tensorflow as tf

    def text_cnn(vocab):
        ids = tf.placeholder(tf.int32, [None, 32])
        table = tf.get_variable("table", [vocab, 64])
        h = tf.layers.conv1d(tf.nn.embedding_lookup(table, ids), 64, 3, name="conv")
        return tf.layers.dense(h, 2, name="cls")

    def text_rnn(vocab):
        ids = tf.placeholder(tf.int32, [None, 32])
        table = tf.get_variable("table", [vocab, 64])
        h = tf.layers.dense(tf.nn.embedding_lookup(table, ids), 64, name="proj")
        return tf.layers.dense(h, 2, name="cls")
    """
    assert _models(_plan({"zoo.py": models})) == {"zoo.py::text_cnn", "zoo.py::text_rnn"}


def test_one_layer_helpers_beside_other_roots_are_not_models() -> None:
    """nlp-architect shapes: a mixin of layer helpers (`define_input_layer`,
    `define_projection_layer`, one scoped block each) and a static embedding helper beside the
    class's real `build`: the helpers are builders, `build` is the model."""
    plan = _plan(
        {
            "common.py": """
            import tensorflow as tf

            class CommonLayers:
                def define_input_layer(self, tokens, trainable=True):
                    with tf.variable_scope("embedding_layer"):
                        self.table = tf.get_variable("table", [self.n, self.d], trainable=trainable)
                        return tf.nn.embedding_lookup(self.table, tokens)

                def define_projection_layer(self, prediction, tied=True):
                    if tied:
                        with tf.variable_scope("embedding_layer", reuse=tf.AUTO_REUSE):
                            b = tf.get_variable("softmax_b", [self.n])
                            out = tf.matmul(prediction, tf.transpose(self.table)) + b
                    else:
                        with tf.variable_scope("projection_layer"):
                            out = tf.layers.dense(prediction, self.n)
                    return out
            """,
            "intent.py": """
            import tensorflow as tf

            class IntentModel:
                @staticmethod
                def create_input_embed(length, vocab, dim, external):
                    if external:
                        inp = emb = tf.keras.layers.Input(shape=(length, dim))
                    else:
                        inp = tf.keras.layers.Input(shape=(length,))
                        emb = tf.keras.layers.Embedding(vocab, dim)(inp)
                    return inp, emb

                def build(self, length, vocab, dim):
                    words = tf.keras.layers.Input(shape=(length,))
                    x = tf.keras.layers.Embedding(vocab, dim)(words)
                    x = tf.keras.layers.LSTM(dim, return_sequences=True)(x)
                    out = tf.keras.layers.Dense(5)(x)
                    self.model = tf.keras.Model(words, out)
            """,
        }
    )
    assert _models(plan) == {"intent.py::IntentModel.build"}


def test_a_constructor_that_builds_then_restores_leaves_its_build_method_the_model() -> None:
    """An inference wrapper whose `__init__` builds through `self._build()` and then opens a
    session and restores a checkpoint runs things: the building method is the model."""
    plan = _plan(
        {
            "predictor.py": """
            import tensorflow as tf

            class Predictor(object):
                def __init__(self, ckpt, vocab):
                    self.ids = tf.placeholder(tf.int32, [None, 16])
                    self.logits = self._build(vocab)
                    self.sess = tf.Session()
                    tf.train.Saver().restore(self.sess, ckpt)

                def _build(self, vocab):
                    table = tf.get_variable("table", [vocab, 64])
                    x = tf.nn.embedding_lookup(table, self.ids)
                    return tf.layers.dense(x, 2, name="cls")

                def predict(self, batch):
                    return self.sess.run(self.logits, feed_dict={self.ids: batch})
            """
        }
    )
    assert _models(plan) == {"predictor.py::Predictor._build"}


def test_sync_leaves_an_inherited_build_shared_by_several_models_unrouted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The classes' models share one inherited `build()`: apply has no place to mark one class
    there, so they are reported (CG221, saying to define `build` in the class) and the file is
    left as it is; `sync` succeeds and `check` is clean."""
    models = tmp_path / "models"
    models.mkdir()
    source = textwrap.dedent(INHERITED)
    (models / "models.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    assert main(["sync", "--no-cache"]) == 1  # generated/ written
    assert (models / "models.py").read_text() == source
    assert main(["check", "--no-cache"]) == 0
    plan = _plan({"models.py": INHERITED})
    unrouted = {d.message.split("`")[1] for d in plan.diagnostics if d.code == NOT_ROUTABLE}
    assert unrouted == {"Bert.build", "Tagger.build", "Ranker.build"}


def test_two_classes_build_methods_in_one_file_get_their_own_shim_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nlp-architect's intent_extraction.py shape: `MultiTask.build` and `Seq2Seq.build`, each
    a model, in one file: the shim names them by their whole root, and sync routes both."""
    models = tmp_path / "models"
    models.mkdir()
    source = textwrap.dedent(
        """
        import tensorflow.compat.v1 as tf

        class MultiTask(object):
            def build(self, ids, vocab):
                table = tf.get_variable("table", [vocab, 64])
                x = tf.nn.embedding_lookup(table, ids)
                return tf.layers.dense(x, 3, name="intent")

        class Seq2Seq(object):
            def build(self, ids, vocab):
                table = tf.get_variable("table", [vocab, 64])
                x = tf.nn.embedding_lookup(table, ids)
                return tf.layers.dense(x, 9, name="slots")
        """
    )
    (models / "intent.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    assert main(["sync", "--no-cache"]) == 1
    shim = (tmp_path / "generated" / "intent_transfer.py").read_text()
    assert "MultiTask_build = " in shim and "Seq2Seq_build = " in shim
    assert main(["check", "--no-cache"]) == 0


def test_a_branch_of_inherited_method_calls_is_a_layer_and_ends_a_false_share() -> None:
    """bert4keras shape: `if self.segments: self.apply(layer=Input, ...)` in an inherited stage is
    a branch layer (the method the class runs, the class passed in); it was dropped, so two models
    that differ right there shared the layers after it."""
    source = """
    from tensorflow import keras

    class Base(object):
        def apply(self, inputs=None, layer=None, **kwargs):
            if kwargs.pop("project", False):
                inputs = keras.layers.Dense(8)(inputs)
            made = layer(**kwargs)
            return made if inputs is None else made(inputs)

        def build(self):
            self.outputs = self.call(self.get_inputs())

        def call(self, inputs):
            return self.apply_embeddings(inputs)

    class Segmented(Base):
        def get_inputs(self):
            x = self.apply(layer=keras.layers.Input, shape=(None,))
            if self.segments:
                self.apply(layer=keras.layers.Input, shape=(None,))
            return x

        def apply_embeddings(self, x):
            x = self.apply(inputs=x, layer=keras.layers.Embedding, input_dim=self.n, output_dim=8)
            return self.apply(inputs=x, layer=keras.layers.Dense, units=8)

    class Plain(Base):
        def get_inputs(self):
            return self.apply(layer=keras.layers.Input, shape=(None,))

        def apply_embeddings(self, x):
            x = self.apply(inputs=x, layer=keras.layers.Embedding, input_dim=self.n, output_dim=8)
            return self.apply(inputs=x, layer=keras.layers.Dense, units=8)
    """
    plan = _plan({"models.py": source})
    assert {"models.py::Segmented.build", "models.py::Plain.build"} <= _models(plan)
    assert _depth(plan, "models.py::Segmented.build", "models.py::Plain.build") == 0
