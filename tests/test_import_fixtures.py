"""Imports across the scanned tree and TF1 flavour on tests/realcode_imports/ (our own fixtures in
the shapes public TF1 repositories use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen import pipeline
from codegen.apply.rewrite import Failed, apply_edit
from codegen.config import Config
from codegen.diagnostics import LIBRARY_LAYER_SHARED, UNRESOLVED_IMPORT
from codegen.emit import render
from codegen.model import Layer, Plan
from codegen.plan.planner import PlanOptions, model_edits, pair_depths

ROOT = Path(__file__).parent / "realcode_imports"


@pytest.fixture(scope="module")
def plan() -> Plan:
    config = Config(root=str(ROOT), cache_dir="")
    paths = ["textrepo", "otherrepo", "bert", "pkg"]
    return pipeline.scan(paths, config, jobs=1, use_cache=False).plan


def models(plan: Plan) -> dict[str, list[str]]:
    return {m.id: [layer.label for layer in m.layers] for m in plan.models}


def test_tf1_import_and_compat_v1_copies_are_one_exact_clone_class(plan: Plan) -> None:
    [highway] = [c for c in plan.clone_classes if c.name == "highway"]
    assert highway.kind == "exact"
    assert set(highway.members) == {
        "otherrepo/layers.py::highway",
        "textrepo/utils/prepare_data.py::highway",
    }
    a, b = (
        plan.functions[f"{p}::dropout"]
        for p in ("otherrepo/layers.py", "textrepo/utils/prepare_data.py")
    )
    assert a.exact_hash == b.exact_hash  # tf.nn.dropout under both import styles


def test_a_star_import_supplies_tf(plan: Plan) -> None:
    creating = {b.id for b in plan.builders if b.creates_variables}
    assert {"textrepo/model_a.py::build_a", "textrepo/model_b.py::build_b"} <= creating
    assert "tf.get_variable" in models(plan)["textrepo/model_a.py::build_a"]


def test_plain_and_package_qualified_imports_reach_the_same_backbone(plan: Plan) -> None:
    layers = models(plan)
    assert layers["bert/run_classifier.py::create_model"][0] == "BertModel"
    assert layers["bert/run_squad.py::create_model"][0] == "BertModel"
    [first_a] = [m.layers[0] for m in plan.models if m.path == "bert/run_classifier.py"]
    [first_b] = [m.layers[0] for m in plan.models if m.path == "bert/run_squad.py"]
    assert first_a.callee == first_b.callee  # one layer, by identity


A, B, C = (f"textrepo/model_{x}.py::build_{x}" for x in "abc")
OTHER = "otherrepo/model_o.py::build_o"
CLASSIFIER, SQUAD = "bert/run_classifier.py::create_model", "bert/run_squad.py::create_model"
CNN, RNN = "pkg/models/cnn.py::build_cnn", "pkg/models/rnn.py::build_rnn"
P, Q = "otherrepo/model_p.py::build_p", "otherrepo/model_q.py::build_q"  # q imports p's encoder


def layer(plan: Plan, model_id: str, index: int) -> Layer:
    [model] = [m for m in plan.models if m.id == model_id]
    return model.layers[index]


def test_a_builder_from_a_star_import_is_one_layer_by_identity(plan: Plan) -> None:
    layers = models(plan)
    assert layers[A] == ["highway", "tf.get_variable"]  # dropout creates nothing: not a layer
    assert layers[B] == ["highway", "tf.get_variable"]
    # The star import (a, b) and a plain module import (`prepare_data.highway`, c) reach the
    # very same definition: one layer, the same fields a builder of the model's own file gets.
    first = [layer(plan, m, 0) for m in (A, B, C)]
    assert {(x.builder, x.builder_path, x.label, x.kind) for x in first} == {
        ("highway", "textrepo/utils/prepare_data.py", "highway", "builder")
    }
    assert len({x.callee for x in first}) == 1 and len({x.signature for x in first}) == 1
    assert dict(first[0].args) == {"size": "64", "inputs": "<expr>"}  # canonical param names


def test_a_copy_in_another_module_shares_through_its_clone_class(plan: Plan) -> None:
    [highway] = [c for c in plan.clone_classes if c.name == "highway"]
    o, a = layer(plan, OTHER, 0), layer(plan, A, 0)
    assert (o.builder, o.builder_path) == ("highway", "otherrepo/layers.py")
    assert o.callee == a.callee == highway.id and o.signature == a.signature


def test_shared_depths_across_imports(plan: Plan) -> None:
    def pair(x: str, y: str) -> tuple[str, str]:
        return (x, y) if x < y else (y, x)

    assert pair_depths(plan) == {
        pair(A, C): 2,  # highway, then the same tf.get_variable [64, 2]
        pair(A, B): 1,
        pair(B, C): 1,
        pair(A, OTHER): 1,
        pair(B, OTHER): 1,
        pair(C, OTHER): 1,
        pair(CLASSIFIER, SQUAD): 1,  # BertModel, imported plainly and package-qualified
        pair(CNN, RNN): 1,  # conv_block, imported relatively and package-qualified
        pair(P, Q): 1,  # encoder, defined in p's file, imported by q
    }
    [why] = [d for d in plan.divergences if {d.a, d.b} == {A, B}]
    assert why.depth == 1 and "[64, 2] in textrepo/model_a.py but [64, 5]" in why.reason


def test_a_build_function_marks_the_calls_of_imported_builders(plan: Plan) -> None:
    # A build function that calls builders of other scanned files is routed like the other
    # shapes: a file shim, `@model("build_a")` on the build function, a mark at each call.
    trunks = dict(plan.trunks)
    by_id = {m.id: m for m in plan.models}
    for model_id in (A, B, C, OTHER, CNN, RNN, Q):
        model = by_id[model_id]
        assert model.entries == (model.build,) and model.shim, model_id
        assert trunks[model_id] and all(t.inline is not None for t in trunks[model_id]), model_id
    # The star-imported, the plainly imported and the other repository's copy of highway: one key.
    assert len({trunks[m][0].key for m in (A, B, C, OTHER)}) == 1
    # a and c also share the head they build inline after it (a library call in the build
    # function: marked too, since the whole model is routed by marks).
    assert [t.key for t in trunks[A]] == [t.key for t in trunks[C]] and len(trunks[A]) == 2
    # p's own encoder is not routed: its decorator would record q's calls as p's layer.
    assert trunks[P] == ()
    notes = {d.path: d.message for d in plan.diagnostics if d.code == LIBRARY_LAYER_SHARED}
    assert set(notes) == {"otherrepo/model_p.py"}
    assert "other model files import from this one" in notes["otherrepo/model_p.py"]
    files = render.render(
        plan, collection="transferable_variables", scope_prefix="transfer", output="generated"
    )
    shims = {name for name in files if name.endswith("_transfer.py")}
    assert {"model_a_transfer.py", "cnn_transfer.py", "run_squad_transfer.py"} <= shims
    assert "model_p_transfer.py" not in shims
    for edit in model_edits(plan, PlanOptions()):
        source = (ROOT / edit.path).read_text(encoding="utf-8")
        assert not isinstance(apply_edit(source, edit), Failed), edit.path


def test_relative_imports_give_layers(plan: Plan) -> None:
    assert models(plan)[CNN] == ["conv_block", "softmax_head"]
    where = [layer(plan, CNN, i).builder_path for i in (0, 1)]
    assert where == ["pkg/layers.py", "pkg/models/heads.py"]  # `..layers`, `from . import heads`
    # A builder without copies is one layer by identity: the same definition, the same callee.
    cnn, rnn = layer(plan, CNN, 0), layer(plan, RNN, 0)
    assert cnn.callee == rnn.callee == "local:pkg/layers.py::conv_block"
    assert cnn.signature == rnn.signature


def test_an_unresolved_import_that_a_model_calls_is_reported(plan: Plan) -> None:
    [note] = [d for d in plan.diagnostics if d.code == UNRESOLVED_IMPORT]
    assert (note.path, note.line, note.severity) == ("pkg/models/cnn.py", 21, "info")
    assert "`.missing.mystery_layer`" in note.message and "build_cnn" in note.message


def test_unresolved_imports_nobody_calls_and_third_party_imports_are_silent(plan: Plan) -> None:
    assert not any("never_called" in d.message or "numpy" in d.message for d in plan.diagnostics)


def test_a_base_class_in_another_module_contributes_its_methods(plan: Plan) -> None:
    layers = models(plan)["pkg/models/cnn.py::TextCNN"]
    assert len(layers) == 1 and layers[0].startswith("embedding: tf.get_variable")
