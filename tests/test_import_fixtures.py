"""Imports across the scanned tree and TF1 flavour on tests/realcode_imports/ (our own fixtures in
the shapes public TF1 repositories use). Verdicts the scanner does not give yet are strict xfails
that name the gap, so the day it is fixed the test says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen import pipeline
from codegen.config import Config
from codegen.model import Plan

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


@pytest.mark.xfail(strict=True, reason="issue 12 item 4: a builder that arrives through a star "
                   "import (`highway` from utils.prepare_data) is not a layer of the model yet")
def test_a_builder_from_a_star_import_is_one_layer_by_identity(plan: Plan) -> None:
    layers = models(plan)
    assert layers["textrepo/model_a.py::build_a"][0] == "highway"
    assert layers["textrepo/model_b.py::build_b"][0] == "highway"


@pytest.mark.xfail(strict=True, reason="issue 12 item 4: `from ..layers import conv_block` and "
                   "`from . import heads` do not make layers of build_cnn yet")
def test_relative_imports_give_layers(plan: Plan) -> None:
    assert models(plan)["pkg/models/cnn.py::build_cnn"] == ["conv_block", "softmax_head"]


@pytest.mark.xfail(strict=True, reason="issue 12 item 4: a call into an import of the tree that "
                   "no scanned file defines (`.missing.mystery_layer`) is not reported yet")
def test_an_unresolved_import_that_a_model_calls_is_reported(plan: Plan) -> None:
    assert any(
        d.path == "pkg/models/cnn.py" and "mystery_layer" in d.message for d in plan.diagnostics
    )


def test_unresolved_imports_nobody_calls_and_third_party_imports_are_silent(plan: Plan) -> None:
    assert not any("never_called" in d.message or "numpy" in d.message for d in plan.diagnostics)


def test_a_base_class_in_another_module_contributes_its_methods(plan: Plan) -> None:
    layers = models(plan)["pkg/models/cnn.py::TextCNN"]
    assert len(layers) == 1 and layers[0].startswith("embedding: tf.get_variable")
