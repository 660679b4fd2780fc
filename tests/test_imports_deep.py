"""Layer identity follows imports to any depth: function-local imports, package re-exports,
module aliases, helpers in other modules; and a call nobody can see ends the trunk.

Each test writes a small tree in the shapes real TF1 repositories use (bert-base's
function-local `from bert_base.bert import modeling`, keras-bert's `from .layers import
get_embedding` re-export, a model_fn whose create_model lives in another module)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from codegen import pipeline
from codegen.config import Config
from codegen.diagnostics import UNRESOLVED_IMPORT
from codegen.model import Plan
from codegen.plan.planner import pair_depths

BACKBONE = """
import tensorflow.compat.v1 as tf


class Encoder(object):
    def __init__(self, config, input_ids):
        with tf.variable_scope("encoder"):
            table = tf.get_variable("word_embeddings", [config.vocab_size, 16])
            x = tf.nn.embedding_lookup(table, input_ids)
            self.output = tf.layers.dense(x, 16, name="dense")
"""

HEAD = """
import tensorflow.compat.v1 as tf


def model_fn_builder(config):
    def model_fn(features, labels, mode, params):
        {imports}
        encoder = {call}(config, features["input_ids"])
        logits = tf.layers.dense(encoder.output, {units}, name="{name}")
        return logits

    return model_fn
"""


def scan(root: Path, files: dict[str, str]) -> Plan:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    config = Config(root=str(root), cache_dir="")
    return pipeline.scan(["."], config, jobs=1, use_cache=False).plan


def labels(plan: Plan) -> dict[str, list[str]]:
    return {m.id: [layer.label for layer in m.layers] for m in plan.models}


def head(imports: str, call: str, units: int, name: str) -> str:
    return HEAD.format(imports=imports, call=call, units=units, name=name)


def test_function_local_imports_bind_inside_the_body_with_tf1_flavour(tmp_path: Path) -> None:
    """bert-base's create_classification_model: `import tensorflow as tf` and the backbone's
    module imported inside the body; its head matches a module-level compat.v1 copy."""
    plan = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/modeling.py": BACKBONE,
            "local.py": """
                def create_classifier(config, input_ids, num_labels):
                    import tensorflow as tf
                    from pkg import modeling

                    model = modeling.Encoder(config, input_ids)
                    w = tf.get_variable("output_weights", [num_labels, 16])
                    return tf.matmul(model.output, w, transpose_b=True)
            """,
            "module_level.py": """
                import tensorflow.compat.v1 as tf

                from pkg import modeling


                def create_tagger(config, input_ids, num_labels):
                    model = modeling.Encoder(config, input_ids)
                    w = tf.get_variable("output_weights", [num_labels, 16])
                    return tf.matmul(model.output, w, transpose_b=True)
            """,
        },
    )
    found = labels(plan)
    assert found["local.py::create_classifier"] == [
        "Encoder",
        "output_weights: tf.get_variable [num_labels, 16]",
    ]
    depths = pair_depths(plan)
    assert depths[("local.py::create_classifier", "module_level.py::create_tagger")] == 2
    assert not [d for d in plan.diagnostics if d.code == UNRESOLVED_IMPORT]


def test_a_function_local_import_hides_a_module_name_only_in_its_body(tmp_path: Path) -> None:
    plan = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/modeling.py": BACKBONE,
            "model.py": """
                import tensorflow.compat.v1 as tf


                def modeling(x):
                    return x


                def create_model(config, input_ids):
                    from pkg import modeling

                    model = modeling.Encoder(config, input_ids)
                    return tf.layers.dense(model.output, 2, name="out")
            """,
        },
    )
    [model] = plan.models
    assert model.layers[0].label == "Encoder"
    assert model.layers[0].builder_path == "pkg/modeling.py"


def test_package_reexports_are_followed_to_any_depth(tmp_path: Path) -> None:
    """`from lib import Encoder` where lib/__init__ re-exports from a subpackage that re-exports
    from its module (relative and absolute spellings); one layer, by identity, for every head."""
    plan = scan(
        tmp_path,
        {
            "lib/__init__.py": "from lib.nets import Encoder\n",
            "lib/nets/__init__.py": "from .backbone import Encoder as Encoder\n",
            "lib/nets/backbone.py": BACKBONE,
            "cls.py": head("from lib import Encoder", "Encoder", 3, "cls"),
            "tag.py": head("import lib.nets as nets", "nets.Encoder", 5, "tag"),
        },
    )
    first = {m.id: m.layers[0] for m in plan.models}
    a, b = first["cls.py::model_fn_builder.model_fn"], first["tag.py::model_fn_builder.model_fn"]
    assert a.label == b.label == "Encoder"
    assert a.callee == b.callee and a.builder_path == "lib/nets/backbone.py"
    assert (
        pair_depths(plan)[
            ("cls.py::model_fn_builder.model_fn", "tag.py::model_fn_builder.model_fn")
        ]
        == 1
    )


def test_a_cycle_of_reexports_resolves_to_nothing_and_ends_the_trunk(tmp_path: Path) -> None:
    plan = scan(
        tmp_path,
        {
            "a/__init__.py": "from b import Encoder\n",
            "b/__init__.py": "from a import Encoder\n",
            "model.py": """
                import tensorflow.compat.v1 as tf

                from a import Encoder


                def create_model(config, input_ids):
                    x = tf.layers.dense(input_ids, 4, name="first")
                    model = Encoder(config, x)
                    return tf.layers.dense(model.output, 2, name="out")
            """,
            "other.py": """
                import tensorflow.compat.v1 as tf

                from a import Encoder


                def create_other(config, input_ids):
                    x = tf.layers.dense(input_ids, 4, name="first")
                    model = Encoder(config, x)
                    return tf.layers.dense(model.output, 2, name="out")
            """,
        },
    )
    notes = [d for d in plan.diagnostics if d.code == UNRESOLVED_IMPORT]
    assert {d.path for d in notes} == {"model.py", "other.py"}
    assert "a.Encoder" in notes[0].message
    # The layer before the unseen call is shared; the identical one after it is not.
    assert pair_depths(plan)[("model.py::create_model", "other.py::create_other")] == 1


def test_a_model_fn_reaches_the_backbone_through_a_helper_in_another_module(
    tmp_path: Path,
) -> None:
    """model_fn -> helpers.create_encoder -> Encoder: the helper is looked into, so both heads
    share the backbone, marked at each model_fn's call of the helper; the helper is no model."""
    helper = """
        def create_encoder(config, input_ids):
            from nets import Encoder

            return Encoder(config, input_ids)
    """
    plan = scan(
        tmp_path,
        {
            "nets/__init__.py": "from nets.backbone import Encoder\n",
            "nets/backbone.py": BACKBONE,
            "helpers.py": helper,
            "cls.py": head("import helpers", "helpers.create_encoder", 3, "cls"),
            "tag.py": head("from helpers import create_encoder", "create_encoder", 5, "tag"),
        },
    )
    ids = {m.id for m in plan.models}
    assert ids == {"cls.py::model_fn_builder.model_fn", "tag.py::model_fn_builder.model_fn"}
    assert pair_depths(plan)[tuple(sorted(ids))] == 1  # type: ignore[index]
    trunks = dict(plan.trunks)
    for model in plan.models:
        [layer] = trunks[model.id]
        assert layer.inline is not None
        holder, line, _ = layer.inline
        assert holder == "model_fn_builder.model_fn" and line == 7  # the helper's call
        assert model.layers[0].path == "helpers.py" and model.layers[0].site == (holder, line)


def test_a_helper_that_builds_two_layers_is_shared_but_not_routed_from_the_model_file(
    tmp_path: Path,
) -> None:
    """One mark at the helper's call would hold two layers: the share is reported, nothing
    transfers (a trunk never marks more than its layer)."""
    helper = """
        import tensorflow.compat.v1 as tf

        from nets.backbone import Encoder


        def create_encoder(config, input_ids):
            x = tf.layers.dense(input_ids, 4, name="pre")
            return Encoder(config, x)
    """
    plan = scan(
        tmp_path,
        {
            "nets/__init__.py": "",
            "nets/backbone.py": BACKBONE,
            "helpers.py": helper,
            "cls.py": head("import helpers", "helpers.create_encoder", 3, "cls"),
            "tag.py": head("import helpers", "helpers.create_encoder", 5, "tag"),
        },
    )
    ids = tuple(sorted(m.id for m in plan.models))
    assert pair_depths(plan)[ids] == 2  # type: ignore[index]
    assert all(trunk == () for _, trunk in plan.trunks)


def test_an_imported_builder_that_makes_its_own_variables_stays_one_layer(tmp_path: Path) -> None:
    """Only a helper that composes builders is looked into; `layers.embed` is a layer."""
    plan = scan(
        tmp_path,
        {
            "layers.py": """
                import tensorflow.compat.v1 as tf


                def embed(ids, vocab):
                    table = tf.get_variable("table", [vocab, 8])
                    return tf.nn.embedding_lookup(table, ids)
            """,
            "cls.py": """
                import tensorflow.compat.v1 as tf

                import layers


                def model_fn(features, labels, mode, params):
                    x = layers.embed(features["ids"], 100)
                    return tf.layers.dense(x, 2, name="cls")
            """,
        },
    )
    [model] = plan.models
    assert model.layers[0].label == "embed"
    assert model.layers[0].builder_path == "layers.py"


KERAS_LAYERS = {
    "kit/__init__.py": "",
    "kit/layers/__init__.py": """
        import tensorflow as tf
        from tensorflow.python import keras

        from kit.layers.crf import CRF

        L = keras.layers
    """,
    "kit/layers/crf.py": """
        import tensorflow as tf


        class CRF(tf.keras.layers.Layer):
            def __init__(self, units, **kwargs):
                super(CRF, self).__init__(**kwargs)
                self.units = units

            def build(self, input_shape):
                self.transitions = self.add_weight(name="t", shape=[self.units, self.units])
    """,
}

TAGGER = """
    from tensorflow import keras

    from kit.layers import L, CRF


    class {name}(object):
        def build_model_arc(self):
            embed_model = self.embedding.embed_model
            layer_rnn = L.Bidirectional(L.{cell}(units=128, return_sequences=True))
            layer_dense = L.Dense(64, activation="tanh")
            layer_crf = CRF(5)
            tensor = layer_rnn(embed_model.output)
            tensor = layer_dense(tensor)
            output = layer_crf(tensor)
            self.tf_model = keras.Model(embed_model.inputs, output)
"""


def test_a_library_alias_a_package_reexports_is_that_library_name(tmp_path: Path) -> None:
    """kashgari's `from kashgari.layers import L` (`L = keras.layers` there, keras from
    tensorflow.python): `L.Dense` is Keras's Dense; the imported custom CRF layer is a layer
    object, in the sequence where it is first called."""
    plan = scan(
        tmp_path,
        {
            **KERAS_LAYERS,
            "lstm.py": TAGGER.format(name="LSTMTagger", cell="LSTM"),
            "lstm_copy.py": TAGGER.format(name="LSTMTaggerCopy", cell="LSTM"),
            "gru.py": TAGGER.format(name="GRUTagger", cell="GRU"),
        },
    )
    found = labels(plan)
    lstm = found["lstm.py::LSTMTagger.build_model_arc"]
    assert lstm[:2] == ["keras.layers.Bidirectional", "keras.layers.Dense"]  # one Keras API
    assert len(lstm) == 3  # the CRF last, where it is called
    depths = pair_depths(plan)
    lstm_ids = (
        "lstm.py::LSTMTagger.build_model_arc",
        "lstm_copy.py::LSTMTaggerCopy.build_model_arc",
    )
    assert depths[lstm_ids] == 3
    # Bidirectional(LSTM) vs Bidirectional(GRU) first: nothing shared, the CRF included.
    assert (
        "gru.py::GRUTagger.build_model_arc",
        "lstm.py::LSTMTagger.build_model_arc",
    ) not in depths
    assert not [d for d in plan.diagnostics if d.code == UNRESOLVED_IMPORT]


def test_the_library_alias_is_known_only_when_the_tree_says_so(tmp_path: Path) -> None:
    """The same model file, its package unscanned: nothing says `L` is Keras, so nothing is
    known to create variables and the scan guesses no model."""
    plan = scan(tmp_path, {"lstm.py": TAGGER.format(name="LSTMTagger", cell="LSTM")})
    assert plan.models == ()
    [module] = [b for b in plan.builders if b.id == "lstm.py::LSTMTagger.build_model_arc"]
    assert not module.creates_variables


def test_a_call_through_an_attribute_of_an_object_passed_in_ends_the_trunk(
    tmp_path: Path,
) -> None:
    """`framework.embedding.word_embedding(x)`: whatever object the caller passes decides what
    it creates, so the identical layer after it is not shared, and CG230 says where."""
    model = """
        import tensorflow.compat.v1 as tf


        def create_model(framework, input_ids):
            x = tf.layers.dense(input_ids, 4, name="first")
            shape = framework.inputs.shape.as_list()
            h = framework.embedding.word_embedding(x)
            return tf.layers.dense(h, 2, name="out")
    """
    plan = scan(tmp_path, {"a.py": model, "b.py": model.replace("create_model", "create_other")})
    assert pair_depths(plan)[("a.py::create_model", "b.py::create_other")] == 1
    notes = [d for d in plan.diagnostics if d.code == UNRESOLVED_IMPORT]
    assert sorted((d.path, d.line) for d in notes) == [("a.py", 7), ("b.py", 7)]
    assert "framework.embedding.word_embedding" in notes[0].message


def test_modules_read_again_for_library_aliases_are_cached(tmp_path: Path) -> None:
    """A warm scan parses nothing, the modules read knowing their library aliases included."""
    files = {**KERAS_LAYERS, "lstm.py": TAGGER.format(name="LSTMTagger", cell="LSTM")}
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    config = Config(root=str(tmp_path), cache_dir=str(tmp_path / ".cache"))
    cold = pipeline.scan(["."], config, jobs=1)
    warm = pipeline.scan(["."], config, jobs=1)
    assert cold.stats.parsed == len(files)  # lstm.py and kit/layers read twice, counted once
    assert warm.stats.parsed == 0
    assert [m.layers for m in warm.plan.models] == [m.layers for m in cold.plan.models]
    assert len(warm.plan.models[0].layers) == 3
