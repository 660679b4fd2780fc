"""The scanner on real-code shapes (tests/realcode/: our own fixtures in the shapes public TF1 NLP
repositories use): class models, build methods, model_fns, imported backbones, star imports,
inline layers, TF1 flavour, drivers that are never layers, and a report without noise."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codegen.model import Model, Plan, SourceFile
from codegen.plan.planner import PlanOptions, make_plan, model_edits, pair_depths
from codegen.report.text import to_json, to_text
from codegen.scan.extract import extract

TREE = Path(__file__).parent / "realcode"
ROOT = "realcode"


def _facts(folder: Path = TREE) -> list:
    facts = []
    for path in sorted(folder.rglob("*.py")):
        text = path.read_text()
        rel = f"{ROOT}/{path.relative_to(folder).as_posix()}"
        facts.append(
            extract(SourceFile(rel, str(path), text, hashlib.sha256(text.encode()).hexdigest()))
        )
    return facts


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(_facts())


def model(plan: Plan, model_id: str) -> Model:
    return next(m for m in plan.models if m.id == f"{ROOT}/{model_id}")


def creating(plan: Plan) -> set[str]:
    return {b.id.removeprefix(f"{ROOT}/") for b in plan.builders if b.creates_variables}


def test_the_tree_gives_exactly_these_models(plan: Plan) -> None:
    """Every shape is found, with stable readable ids, and nothing else is a model (drivers,
    tests, the optimizer module, the backbone that heads call, unrelated Python)."""
    found = {(m.id.removeprefix(f"{ROOT}/"), m.kind) for m in plan.models}
    assert found == {
        ("textcnn/text_cnn.py::TextCNN", "class"),
        ("seqgan/discriminator.py::Discriminator", "class"),
        ("brightmart/p8_TextRNN_model.py::TextRNN", "class"),
        ("brightmart/p5_fastTextB_model.py::fastTextB", "class"),
        ("ner/model.py::BiLSTM_CRF.build_graph", "method"),
        ("albert/run_classifier.py::model_fn_builder.model_fn", "model_fn"),
        ("albert/run_squad.py::model_fn_builder.model_fn", "model_fn"),
        ("mnist_script/softmax.py::<module>", "module"),
        ("tf1_compat/blocks_tf1.py::build_tagger", "function"),
        ("tf1_compat/blocks_v1.py::build_scorer", "function"),
        ("nearmiss/gates_a.py::build_gated", "function"),
        ("nearmiss/gates_b.py::build_gated", "function"),
    }
    names = [m.name for m in plan.models]
    assert len(set(names)) == len(names)
    # Every shape is routed but module-level script code, which has no function to enter.
    assert {m.kind for m in plan.models if not m.routable} == {"module"}


def test_no_driver_noise_and_no_false_builders(plan: Plan) -> None:
    """train/main/test, losses, optimizer setup, counters and slots, unit tests, and unrelated
    Python are never builders; every creating function listed really creates layers."""
    assert creating(plan) == {
        "albert/modeling.py::BertModel.__init__",
        "albert/modeling.py::embedding_lookup",
        "albert/modeling.py::layer_norm",
        "albert/modeling.py::transformer_model",
        "albert/run_classifier.py::create_model",
        "albert/run_classifier.py::model_fn_builder.model_fn",
        "albert/run_squad.py::create_model",
        "albert/run_squad.py::model_fn_builder.model_fn",
        "brightmart/base_model.py::BaseClassifier.instantiate_weights",
        "brightmart/p5_fastTextB_model.py::fastTextB.__init__",
        "brightmart/p5_fastTextB_model.py::fastTextB.instantiate_weights",
        "brightmart/p8_TextRNN_model.py::TextRNN.__init__",
        "brightmart/p8_TextRNN_model.py::TextRNN.inference",
        "nearmiss/gates_a.py::build_gated",
        "nearmiss/gates_a.py::gated_projection",
        "nearmiss/gates_a.py::linear",
        "nearmiss/gates_b.py::build_gated",
        "nearmiss/gates_b.py::gated_projection",
        "nearmiss/gates_b.py::linear",
        "ner/model.py::BiLSTM_CRF.biLSTM_layer_op",
        "ner/model.py::BiLSTM_CRF.build_graph",
        "ner/model.py::BiLSTM_CRF.lookup_layer_op",
        "seqgan/discriminator.py::Discriminator.__init__",
        "seqgan/utils/ops.py::highway",
        "seqgan/utils/ops.py::linear",
        "textcnn/text_cnn.py::TextCNN.__init__",
        "tf1_compat/blocks_tf1.py::build_tagger",
        "tf1_compat/blocks_tf1.py::dense_dropout",
        "tf1_compat/blocks_v1.py::build_scorer",
        "tf1_compat/blocks_v1.py::dense_dropout",
    }
    labels = [layer.label for m in plan.models for layer in m.layers]
    assert not [label for label in labels if "step" in label.lower() or "adam" in label.lower()]


def test_optimizer_only_train_methods_are_not_builders_nor_clones(plan: Plan) -> None:
    ids = {b.id.removeprefix(f"{ROOT}/"): b for b in plan.builders}
    for train in (
        "brightmart/base_model.py::BaseClassifier.train",
        "brightmart/p5_fastTextB_model.py::fastTextB.train",
        "ner/model.py::BiLSTM_CRF.trainstep_op",
        "albert/optimization.py::create_optimizer",
        "albert/optimization.py::AdamWeightDecayOptimizer.apply_gradients",
    ):
        assert not ids[train].creates_variables, train
    # The two identical `train` bodies are no clone class, and no class is named after a class.
    assert [c.name for c in plan.clone_classes] == ["dense_dropout"]


def test_class_init_then_its_self_calls_in_order_including_an_inherited_one(plan: Plan) -> None:
    """TextRNN.__init__ -> self.instantiate_weights() (inherited from base_model.py) ->
    self.inference() -> self.loss()/self.train() (drivers, left out)."""
    rnn = model(plan, "brightmart/p8_TextRNN_model.py::TextRNN")
    assert [m.removeprefix(f"{ROOT}/") for m in rnn.members] == [
        "brightmart/p8_TextRNN_model.py::TextRNN.__init__",
        "brightmart/base_model.py::BaseClassifier.instantiate_weights",
        "brightmart/p8_TextRNN_model.py::TextRNN.inference",
    ]
    first, second = rnn.layers
    assert (first.holder, first.path) == (
        "BaseClassifier.instantiate_weights",
        f"{ROOT}/brightmart/base_model.py",
    )
    assert first.kind == "inline-block" and first.label.startswith("embedding: tf.get_variable")
    # The two cells and the bidirectional_dynamic_rnn that creates their variables: one layer.
    assert second.kind == "inline-block" and second.label == "tf.nn.bidirectional_dynamic_rnn"
    assert second.holder == "TextRNN.inference"


def test_build_method_when_init_builds_nothing_and_a_frozen_weight(plan: Plan) -> None:
    ner = model(plan, "ner/model.py::BiLSTM_CRF.build_graph")
    assert [layer.holder for layer in ner.layers] == [
        "BiLSTM_CRF.lookup_layer_op",
        "BiLSTM_CRF.biLSTM_layer_op",
        "BiLSTM_CRF.biLSTM_layer_op",
    ]
    glove, lstm, proj = ner.layers
    assert glove.frozen and not lstm.frozen and not proj.frozen
    assert lstm.label == "bi-lstm: tf.nn.bidirectional_dynamic_rnn"
    assert "frozen" in to_text(plan)


def test_model_fn_nested_in_a_builder_calls_create_model_and_an_imported_backbone(
    plan: Plan,
) -> None:
    """model_fn_builder.model_fn -> create_model -> modeling.BertModel (another module, reached
    as `import modeling` in one head and `from albert import modeling` in the other): the backbone
    is one layer, by identity, shared by both heads; the heads diverge after it."""
    heads = [
        model(plan, "albert/run_classifier.py::model_fn_builder.model_fn"),
        model(plan, "albert/run_squad.py::model_fn_builder.model_fn"),
    ]
    for head in heads:
        backbone = head.layers[0]
        assert backbone.kind == "builder" and backbone.builder == "BertModel.__init__"
        assert backbone.builder_path == f"{ROOT}/albert/modeling.py"
        assert backbone.holder == "create_model"
        assert any(m.endswith("::create_model") for m in head.members)
    assert heads[0].layers[0].signature == heads[1].layers[0].signature
    assert pair_depths(plan)[(heads[0].id, heads[1].id)] == 1
    [divergence] = [d for d in plan.divergences if {d.a, d.b} == {heads[0].id, heads[1].id}]
    assert divergence.depth == 1 and "layer 2" in divergence.reason
    assert "output_weights" in divergence.reason
    # A shape from params[...] is marked: only the restore pre-flight can check it.
    answer_bias = heads[1].layers[-1]
    assert not answer_bias.known_shape and "params" in answer_bias.label
    assert "shape known only at run time" in to_text(plan)


def test_star_import_supplies_tf_and_the_builder(plan: Plan) -> None:
    """`from utils.ops import *` brings `tf` and `highway`: highway is a builder, and the
    discriminator's layer list reaches it in the other module."""
    disc = model(plan, "seqgan/discriminator.py::Discriminator")
    highway = next(layer for layer in disc.layers if layer.label == "highway")
    assert highway.builder_path == f"{ROOT}/seqgan/utils/ops.py"
    facts = {f.path: f for f in _facts(TREE / "seqgan")}
    assert facts[f"{ROOT}/discriminator.py"].assumed == (("tf", "tensorflow"),)
    assert facts[f"{ROOT}/discriminator.py"].tf1


def test_inline_embedding_block_copied_between_two_classes(plan: Plan) -> None:
    """TextCNN's embedding block and conv loop, renamed (self.W -> self.table) and nested in an
    outer variable_scope('discriminator') in the other class: the same two layers."""
    cnn = model(plan, "textcnn/text_cnn.py::TextCNN")
    disc = model(plan, "seqgan/discriminator.py::Discriminator")
    assert cnn.layers[0].label == "embedding: tf.Variable [vocab_size, embedding_size]"
    assert (cnn.layers[0].line, cnn.layers[0].end_line) == (17, 21)
    assert [layer.kind for layer in cnn.layers[:2]] == ["inline-block", "inline-block"]
    assert [layer.signature for layer in cnn.layers[:2]] == [
        layer.signature for layer in disc.layers[:2]
    ]
    assert cnn.layers[1].label.startswith("loop: ")
    assert pair_depths(plan)[(disc.id, cnn.id)] == 2
    [divergence] = [d for d in plan.divergences if {d.a, d.b} == {cnn.id, disc.id}]
    assert (
        divergence.depth == 2 and "highway" in divergence.reason and "output" in divergence.reason
    )


def test_tf1_and_compat_v1_copies_are_exact_clones(plan: Plan) -> None:
    [clone] = plan.clone_classes
    assert clone.kind == "exact"
    assert set(clone.members) == {
        f"{ROOT}/tf1_compat/blocks_tf1.py::dense_dropout",
        f"{ROOT}/tf1_compat/blocks_v1.py::dense_dropout",
    }
    # Generated code runs on TF2: the compat.v1 spelling is the canonical copy.
    assert clone.canonical.endswith("blocks_v1.py::dense_dropout")


def test_a_real_api_difference_names_both_full_dotted_paths() -> None:
    def facts(name: str, source: str):
        text = textwrap.dedent(source)
        return extract(SourceFile(name, name, text, hashlib.sha256(text.encode()).hexdigest()))

    body = """
    def block(x, scope="b"):
        with tf.variable_scope(scope):
            h = tf.layers.dense(x, 8)
            return tf.nn.{op}(h)
    """
    body = textwrap.dedent(body)
    tf1 = "import tensorflow as tf\nx = tf.placeholder(tf.float32)\n" + body.format(op="relu")
    v2 = "import tensorflow as tf\nimport tensorflow.compat.v1 as v1\n" + body.replace(
        "tf.variable_scope", "v1.variable_scope"
    ).replace("tf.layers", "v1.layers").format(op="relu6")
    plan = make_plan([facts("a.py", tf1), facts("b.py", v2)])
    [near] = plan.near_misses
    assert "tensorflow.compat.v1.nn.relu vs tensorflow.nn.relu6" in near.reason


def test_near_miss_only_between_alike_bodies(plan: Plan) -> None:
    """gated_projection differs in one number: a near-miss saying so; the two `linear`s share
    only a name: not a near-miss."""
    pairs = {
        (n.a.removeprefix(f"{ROOT}/"), n.b.removeprefix(f"{ROOT}/")): n for n in plan.near_misses
    }
    assert set(pairs) == {
        ("nearmiss/gates_a.py::gated_projection", "nearmiss/gates_b.py::gated_projection")
    }
    near = next(iter(pairs.values()))
    assert "a number: 2.0 vs 1.0" in near.reason and "-2.0" in near.diff


def test_module_level_graph_code_is_a_model(plan: Plan) -> None:
    script = model(plan, "mnist_script/softmax.py::<module>")
    assert [layer.label for layer in script.layers] == ["tf.Variable [784, 10]", "tf.Variable [10]"]
    assert [layer.line for layer in script.layers] == [6, 7]


def test_build_function_narrows_the_roots() -> None:
    plan = make_plan(_facts(), PlanOptions(build_function=r"TextCNN|model_fn"))
    kinds = {m.id.removeprefix(f"{ROOT}/"): m.kind for m in plan.models if m.entries}
    assert kinds == {
        "textcnn/text_cnn.py::TextCNN": "class",
        "albert/run_classifier.py::model_fn_builder.model_fn": "model_fn",
        "albert/run_squad.py::model_fn_builder.model_fn": "model_fn",
    }


def test_json_adds_fields_and_keeps_schema_1(plan: Plan) -> None:
    report = to_json(plan)
    assert report["schema"] == 1
    cnn = next(m for m in report["models"] if m["id"].endswith("::TextCNN"))
    assert {"id", "name", "layers", "trunk"} <= set(cnn)
    assert (cnn["kind"], cnn["routable"], cnn["root"]) == ("class", True, "TextCNN")
    layer = cnn["layers"][0]
    assert {"callee", "label", "args", "line"} <= set(layer)
    assert (layer["kind"], layer["holder"], layer["end_line"]) == (
        "inline-block",
        "TextCNN.__init__",
        21,
    )
    disc = next(m for m in report["models"] if m["id"].endswith("::Discriminator"))
    # The embedding block and the conv loop, copied between the two classes: same keys in both.
    assert len(cnn["trunk"]) == 2
    assert [t["key"] for t in cnn["trunk"]] == [t["key"] for t in disc["trunk"]]


# The files of the tree whose models share layers with another file's: the ones sync routes.
SHARING_FILES = {
    "tf1_compat/blocks_tf1.py",
    "tf1_compat/blocks_v1.py",
    "textcnn/text_cnn.py",
    "seqgan/discriminator.py",
    "albert/run_classifier.py",
    "albert/run_squad.py",
}


def test_apply_routes_every_sharing_shape(plan: Plan) -> None:
    edits = {e.path.removeprefix(f"{ROOT}/"): e for e in model_edits(plan, PlanOptions())}
    routing = {path for path, e in edits.items() if e.routes}
    assert routing == SHARING_FILES
    cnn = edits["textcnn/text_cnn.py"]
    assert [(r.qualname, r.model) for r in cnn.roots] == [("TextCNN.__init__", "TextCNN")]
    assert [(m.function, m.model, m.position) for m in cnn.marks] == [
        ("TextCNN.__init__", "TextCNN", 0),
        ("TextCNN.__init__", "TextCNN", 1),
    ]
    squad = edits["albert/run_squad.py"]
    assert {r.qualname for r in squad.roots} == {"model_fn_builder.model_fn", "create_model"}
    assert [(m.function, m.line, m.end_line) for m in squad.marks] == [
        ("create_model", squad.marks[0].line, squad.marks[0].line)  # the backbone call
    ]
    assert "albert/modeling.py" not in edits  # the imported backbone's file is never edited
    assert "mnist_script/softmax.py" not in routing
    assert "CG221" not in {d.code for d in plan.diagnostics}


def test_sync_on_the_tree_routes_only_what_it_can_and_writes_valid_code(tmp_path: Path) -> None:
    """`codegen sync` on a tree with every shape: no crash, the sharing class and model_fn files
    routed, the rest untouched, everything written compiles, a second sync and check find
    nothing to do."""
    shutil.copytree(TREE, tmp_path / ROOT)
    (tmp_path / "pyproject.toml").write_text(f'[tool.codegen]\npaths = ["{ROOT}"]\n')
    before = {p: p.read_bytes() for p in (tmp_path / ROOT).rglob("*.py")}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "codegen", *args],
            cwd=tmp_path,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )

    first = run("sync")
    assert first.returncode == 1, first.stdout + first.stderr
    changed = {
        p.relative_to(tmp_path).as_posix() for p, data in before.items() if p.read_bytes() != data
    }
    assert changed == {f"{ROOT}/{path}" for path in SHARING_FILES}
    for path in [*(tmp_path / "generated").glob("*.py"), *(tmp_path / ROOT).rglob("*.py")]:
        compile(path.read_text(), str(path), "exec")
    assert run("sync").returncode == 0
    assert run("check").returncode == 0
