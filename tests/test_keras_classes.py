"""Custom Keras layer classes as whole classes, on tests/keras_classes/ (our own fixtures): clone
classes of classes, near-misses between them, `add_weight`, annotations, classes across modules
and re-exported `keras`, class attributes, and a custom layer class as one layer of a model."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from codegen import pipeline
from codegen.config import Config
from codegen.model import Layer, Plan
from codegen.plan.planner import pair_depths
from codegen.report.text import to_json

ROOT = Path(__file__).parent / "keras_classes"


@cache
def scanned(case: str) -> Plan:
    """The plan of one fixture tree (every folder in it scanned)."""
    root = ROOT / case
    config = Config(root=str(root), cache_dir="")
    paths = sorted(p.name for p in root.iterdir() if p.is_dir())
    return pipeline.scan(paths, config, jobs=1, use_cache=False).plan


def is_class(plan: Plan, member: str) -> bool:
    path, name = member.split("::", 1)
    return any(cls.name == name for cls in plan.modules[path].classes)


def class_clones(plan: Plan) -> dict[str, tuple[str, ...]]:
    """Clone classes of whole classes (members `path::Class`): name -> members."""
    return {
        c.name: c.members for c in plan.clone_classes if all(is_class(plan, m) for m in c.members)
    }


def layers(plan: Plan, model: str) -> list[Layer]:
    return list(next(m for m in plan.models if m.id == model).layers)


def depth(plan: Plan, a: str, b: str) -> int:
    return pair_depths(plan).get((a, b) if a < b else (b, a), 0)


def report(plan: Plan) -> dict[str, Any]:
    return to_json(plan)


# --- a copied ConvBlock(keras.layers.Layer), and a near-miss copy with kernel 5 ---------------

A, B, C = (f"models/text_{n}.py" for n in "abc")


def test_a_copied_layer_class_is_one_clone_class_of_classes() -> None:
    plan = scanned("copied")
    assert class_clones(plan) == {"ConvBlock": (f"{A}::ConvBlock", f"{B}::ConvBlock")}
    [clone] = [c for c in plan.clone_classes if c.canonical == f"{A}::ConvBlock"]
    assert clone.kind == "renamed"  # text_b renames its parameters and locals
    listed = {c["id"]: c["members"] for c in report(plan)["clone_classes"]}
    assert listed[clone.id] == [f"{A}::ConvBlock", f"{B}::ConvBlock"]


def test_the_copied_class_is_one_shared_layer_and_the_near_miss_stops_the_trunk() -> None:
    plan = scanned("copied")
    [clone] = [c for c in plan.clone_classes if f"{A}::ConvBlock" in c.members]
    a, b, c = (layers(plan, f"{p}::build_model") for p in (A, B, C))
    assert [lay.callee for lay in a[:2]] == ["keras.layers.Embedding", clone.id]
    assert [lay.callee for lay in b[:2]] == ["keras.layers.Embedding", clone.id]
    assert a[1].label == "ConvBlock" and a[1].signature == b[1].signature
    assert c[1].callee == f"local:{C}::ConvBlock"  # its own class: kernel 5
    assert depth(plan, f"{A}::build_model", f"{B}::build_model") >= 2
    assert depth(plan, f"{A}::build_model", f"{C}::build_model") == 1
    assert depth(plan, f"{B}::build_model", f"{C}::build_model") == 1


def test_the_near_miss_between_classes_is_reported_with_its_number() -> None:
    plan = scanned("copied")
    pairs = {(n.a, n.b): n.reason for n in plan.near_misses}
    reason = pairs[(f"{A}::ConvBlock", f"{C}::ConvBlock")]
    assert "3 vs 5" in reason and "`__init__`" in reason
    assert (f"{A}::ConvBlock", f"{B}::ConvBlock") not in pairs


def test_a_custom_layer_class_is_never_a_model() -> None:
    for case in ("copied", "weights", "annotated", "modules", "attributes"):
        plan = scanned(case)
        roots = {m.root for m in plan.models}
        assert roots == {"build_model"}, (case, roots)


# --- add_weight in build() ----------------------------------------------------------------------


def test_add_weight_in_build_creates_variables() -> None:
    plan = scanned("weights")
    creating = {b.id for b in plan.builders if b.creates_variables}
    for path in ("models/scaled_a.py", "models/scaled_b.py"):
        assert f"{path}::Scale.build" in creating
        assert f"{path}::Scale.__init__" in creating  # constructing the layer makes its weights
        assert f"{path}::Scale.call" not in creating
    assert list(class_clones(plan)) == ["Scale"]
    a = layers(plan, "models/scaled_a.py::build_model")
    assert a[0].label == "Scale" and dict(a[0].args) == {"#0": "8"}
    assert depth(plan, "models/scaled_a.py::build_model", "models/scaled_b.py::build_model") == 1


# --- annotations never decide ---------------------------------------------------------------


def test_annotations_never_decide() -> None:
    plan = scanned("annotated")
    init_a, init_b = (plan.functions[f"models/tagger_{n}.py::Head.__init__"] for n in "ab")
    call_a, call_b = (plan.functions[f"models/tagger_{n}.py::Head.call"] for n in "ab")
    assert init_a.exact_hash == init_b.exact_hash  # `config: TaggerConfig` vs `ChunkerConfig`
    assert call_a.exact_hash == call_b.exact_hash  # return annotations, and none
    [head] = [c for c in plan.clone_classes if c.name == "Head"]
    assert head.kind == "exact"
    assert head.members == ("models/tagger_a.py::Head", "models/tagger_b.py::Head")
    assert depth(plan, "models/tagger_a.py::build_model", "models/tagger_b.py::build_model") == 1


# --- a class across modules, keras re-exported ------------------------------------------------


def test_a_base_class_in_another_module_and_a_reexported_keras() -> None:
    plan = scanned("modules")
    # `try: import tf_keras as keras / except ImportError: import keras` is the Keras library.
    assert dict(plan.modules["lib/compat.py"].aliases)["keras"] == "keras"
    reader = plan.modules["models/reader_a.py"]
    assert ("keras", "keras") in reader.assumed  # `from lib.compat import keras`
    creating = {b.id for b in plan.builders if b.creates_variables}
    # keras.layers.Conv1D through the re-exported `keras`, and the base's `self.proj` used.
    assert "models/reader_a.py::ConvBlock.call" in creating
    assert "models/reader_a.py::ConvBlock.__init__" in creating
    assert class_clones(plan) == {
        "ConvBlock": ("models/reader_a.py::ConvBlock", "models/reader_b.py::ConvBlock")
    }
    assert not any(m.path.startswith("lib/") for m in plan.models)
    assert depth(plan, "models/reader_a.py::build_model", "models/reader_b.py::build_model") == 1


# --- class attributes ---------------------------------------------------------------------------


def test_a_class_attribute_decides_only_when_building_reads_it() -> None:
    plan = scanned("attributes")
    a, b, c = (f"models/enc_{n}.py" for n in "abc")
    # `config_name` differs between a and b, but nothing that builds the layer reads it.
    assert class_clones(plan) == {"Encoder": (f"{a}::Encoder", f"{b}::Encoder")}
    # `kernel_size = 5` (read in __init__) keeps c apart, as a near-miss that says so.
    reasons = {(n.a, n.b): n.reason for n in plan.near_misses}
    assert "`kernel_size`" in reasons[(f"{a}::Encoder", f"{c}::Encoder")]
    # Deep equivalence of functions sees it too: c's build_model uses another Encoder.
    [builds] = [x.members for x in plan.clone_classes if x.name == "build_model"]
    assert builds == (f"{a}::build_model", f"{b}::build_model")
    assert depth(plan, f"{a}::build_model", f"{c}::build_model") == 0


# --- a custom layer class held in a subclassed model's attribute ------------------------------


def test_a_layer_class_in_a_model_attribute_is_one_layer_of_its_clone_class() -> None:
    plan = scanned("subclassed")
    [clone] = [c for c in plan.clone_classes if "models/clf_a.py::ConvBlock" in c.members]
    assert clone.members == ("models/clf_a.py::ConvBlock", "models/clf_b.py::ConvBlock")
    for path in ("models/clf_a.py", "models/clf_b.py"):
        found = [lay for lay in layers(plan, f"{path}::Classifier") if lay.callee == clone.id]
        assert len(found) == 1 and dict(found[0].args) == {"#0": "64"}
    assert depth(plan, "models/clf_a.py::Classifier", "models/clf_b.py::Classifier") >= 1


# --- one layer class imported by two model files ----------------------------------------------


def test_an_imported_layer_class_is_one_layer_by_identity() -> None:
    plan = scanned("imported")
    a, b = (layers(plan, f"models/clf_{n}.py::build_model") for n in "ab")
    assert a[0].callee == b[0].callee == "local:lib/blocks.py::ConvBlock"
    assert a[0].builder_path == "lib/blocks.py" and a[0].signature == b[0].signature
    assert depth(plan, "models/clf_a.py::build_model", "models/clf_b.py::build_model") == 1
    assert not any(m.path == "lib/blocks.py" for m in plan.models)


# --- a layer class that inherits its constructor from Keras -----------------------------------


def test_a_layer_class_without_a_constructor_is_still_a_layer() -> None:
    """`Gate()` of a class with only `build` and `call` is a layer (its weights are unseen
    otherwise, and a trunk would run on past it): a copy shares it, a kernel 32 copy does not."""
    plan = scanned("no_init")
    a, b, c = (f"models/gate_{n}.py" for n in "abc")
    assert class_clones(plan) == {"Gate": (f"{a}::Gate", f"{b}::Gate")}
    [clone] = [x for x in plan.clone_classes if x.name == "Gate"]
    labels = [lay.callee for lay in layers(plan, f"{a}::build_model")]
    assert labels == ["keras.layers.Embedding", clone.id, "keras.layers.Dense"]
    assert layers(plan, f"{c}::build_model")[1].callee == f"local:{c}::Gate"
    assert depth(plan, f"{a}::build_model", f"{b}::build_model") == 3
    assert depth(plan, f"{a}::build_model", f"{c}::build_model") == 1  # not past Gate
    reasons = {(n.a, n.b): n.reason for n in plan.near_misses}
    assert "16 vs 32" in reasons[(f"{a}::Gate", f"{c}::Gate")]


def test_sibling_classes_with_an_inherited_constructor_are_two_layers() -> None:
    """`Relu(8)` and `Tanh(8)` both run `Base.__init__` (imported from another module): the layer
    is the class constructed, not the class whose constructor runs. Were it the base, the two
    would share one key, and a restore would move Relu's weight into Tanh's (same shape)."""
    plan = scanned("siblings")
    a, b, c = (f"models/{stem}.py::build_model" for stem in "abc")
    assert [layer.label for layer in layers(plan, a)][1] == "Relu"
    assert [layer.label for layer in layers(plan, b)][1] == "Tanh"
    assert depth(plan, a, b) == 1  # the Embedding only
    assert depth(plan, a, c) == 3  # the same class in both: shared, and the Dense after it
