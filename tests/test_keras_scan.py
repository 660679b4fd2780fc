"""Keras models in the scanner (issue 21, item 1): one API for every Keras spelling, weightless
layers as steps, hyperparameters from parameter defaults, and the layer sequences of Sequential,
functional and subclassed models, so the same stack shares its layers in every spelling.

Each case is a folder of `tests/keras_scan/`, scanned with `codegen scan --json` as a user would;
the tests assert the exact layer lists and shared depths."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_positions import run

from codegen.model import SourceFile
from codegen.plan.planner import make_plan
from codegen.scan import apis
from codegen.scan.extract import extract

CASES = Path(__file__).parent / "keras_scan"

STACK = [
    ("keras.layers.Embedding", {"#0": 20000, "#1": 128}),
    ("keras.layers.Conv1D", {"#0": 128, "#1": 5, "activation": "relu"}),
    ("keras.layers.GlobalMaxPooling1D", {}),
    ("keras.layers.Dropout", {"#0": 0.5}),
    ("keras.layers.Dense", {"#0": 64, "activation": "relu"}),
]


def scan(case: str, tmp_path: Path) -> dict[str, Any]:
    """`codegen scan --json` of one case folder, copied to a folder of its own."""
    root = tmp_path / case
    shutil.copytree(CASES / case, root)
    code, out = run(root, "scan", "--json", "--no-cache", ".")
    assert code == 0, out
    report: dict[str, Any] = json.loads(out)
    assert {f["status"] for f in report["files"]} == {"ok"}
    return report


def layers(report: dict[str, Any], model: str) -> list[tuple[str, dict[str, Any]]]:
    """A model's layers as (callee, literal args)."""
    found = next(m for m in report["models"] if m["id"] == model)
    return [(layer["callee"], layer["args"]) for layer in found["layers"]]


def depths(report: dict[str, Any]) -> dict[frozenset[str], int]:
    return {frozenset((d["a"], d["b"])): d["depth"] for d in report["shared_depth"]}


def depth(report: dict[str, Any], a: str, b: str) -> int:
    return depths(report).get(frozenset((a, b)), 0)


def codes(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    return sorted((d["code"], d["path"], d["line"]) for d in report["diagnostics"])


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("tensorflow.keras.layers.Dense", "keras.layers.Dense"),
        ("tensorflow.compat.v1.keras.layers.Dense", "keras.layers.Dense"),
        ("tensorflow.compat.v2.keras.layers.Dense", "keras.layers.Dense"),
        ("tf_keras.layers.Dense", "keras.layers.Dense"),
        ("tensorflow.keras", "keras"),
        ("keras_nlp.layers.TransformerEncoder", "keras_hub.layers.TransformerEncoder"),
        ("tensorflow.kerasx.Dense", "tensorflow.kerasx.Dense"),
        ("tensorflow.compat.v1.layers.dense", "tensorflow.compat.v1.layers.dense"),
    ],
)
def test_every_keras_spelling_is_one_api(spelled: str, canonical: str) -> None:
    assert apis.normalize_api(spelled) == canonical


@pytest.mark.parametrize(
    "name",
    ["GlobalMaxPooling1D", "SpatialDropout1D", "MaxPooling2D", "LeakyReLU", "Dropout", "Flatten"],
)
def test_weightless_keras_layers_create_nothing_but_are_layers(name: str) -> None:
    api = "keras.layers." + name
    assert not apis.creates_variables(api)
    assert apis.is_weightless_layer(api) and apis.is_sequence_step(api)


def test_weighted_keras_and_hub_layers_create_variables() -> None:
    for api in (
        "keras.layers.Dense",
        "keras.layers.Embedding",
        "keras.layers.Bidirectional",
        "keras_hub.layers.TransformerEncoder",
        "keras_hub.models.BertBackbone.from_preset",
        "keras.applications.ResNet50",
        "keras.models.load_model",
    ):
        assert apis.creates_variables(api), api
        assert apis.is_sequence_step(api), api
    assert not apis.is_keras_layer("keras.applications.resnet50.preprocess_input")
    assert not apis.creates_variables("keras_hub.models.BertTokenizer.from_preset")
    assert not apis.is_sequence_step("keras.layers.Input")


def test_sequential_functional_and_subclassed_spellings_share_the_stack(tmp_path: Path) -> None:
    report = scan("stacks", tmp_path)
    seq, func, added = "seq.py::build_model", "func.py::build_model", "added.py::build_model"
    sub, renamed = "sub.py::TextModel", "sub_renamed.py::SentimentNet"
    # The Sequential list, with `vocab_size` read from its default; tf.keras in the functional
    # chain and tf_keras in the `.add()` model are the same API.
    assert layers(report, seq) == [
        *STACK,
        ("keras.layers.Dense", {"#0": 2, "activation": "softmax"}),
    ]
    assert layers(report, func) == [
        *STACK,
        ("keras.layers.Dense", {"#0": 5, "activation": "softmax"}),
    ]
    assert layers(report, added) == layers(report, seq)
    # The subclassed model builds its head first; call() decides the order.
    assert layers(report, sub) == [
        *STACK,
        ("keras.layers.Dense", {"#0": 3, "activation": "softmax"}),
    ]
    assert layers(report, renamed) == layers(report, sub)
    assert depth(report, seq, added) == 6
    assert depth(report, sub, renamed) == 6
    for a, b in [(seq, func), (seq, sub), (func, sub), (func, renamed), (added, sub)]:
        assert depth(report, a, b) == 5, (a, b)
    assert [c for c in codes(report) if c[0] == "CG230"] == []


def test_a_different_vocabulary_or_head_size_shares_nothing_there(tmp_path: Path) -> None:
    report = scan("vocab", tmp_path)
    big, binary = "big.py::build_model", "binary.py::build_model"
    fiveway = "fiveway.py::build_model"
    assert layers(report, big)[0] == ("keras.layers.Embedding", {"#0": 30000, "#1": 128})
    assert layers(report, binary)[0] == ("keras.layers.Embedding", {"#0": 20000, "#1": 128})
    assert depth(report, big, binary) == 0
    assert depth(report, big, fiveway) == 0
    # An exact copy but for `num_classes=2` vs `5`: the head is not shared.
    assert layers(report, binary)[-1] == ("keras.layers.Dense", {"#0": 2, "activation": "softmax"})
    assert layers(report, fiveway)[-1] == ("keras.layers.Dense", {"#0": 5, "activation": "softmax"})
    assert depth(report, binary, fiveway) == 3


def test_a_copied_encoder_helper_is_one_shared_layer(tmp_path: Path) -> None:
    report = scan("encoder", tmp_path)
    (clone,) = report["clone_classes"]
    assert sorted(clone["members"]) == [
        "classify.py::build_encoder",
        "subclass.py::build_encoder",
        "tagger.py::build_encoder",
    ]
    tagger, classify = "tagger.py::build_model", "classify.py::build_model"
    subclass = "subclass.py::Tagger"
    # The helper's arguments are named as in the canonical copy (subclass.py's: the first path).
    helper = (clone["id"], {"units": 32, "vocab_size": 20000})
    assert layers(report, tagger) == [
        helper,
        # A wrapped layer is part of its wrapper: one layer, the inner one in its arguments.
        ("keras.layers.TimeDistributed", {"#0": "keras.layers.Dense(9)"}),
    ]
    assert layers(report, classify) == [
        helper,
        ("keras.layers.GlobalAveragePooling1D", {}),
        ("keras.layers.Dense", {"#0": 4, "activation": "softmax"}),
    ]
    assert depth(report, tagger, classify) == 1
    # Bound to `self.encoder` in __init__, the helper's sub-model is a layer where call() first
    # uses it; the head built before it comes after it.
    assert layers(report, subclass) == layers(report, tagger)
    assert depth(report, tagger, subclass) == 2


def test_keras_hub_presets_are_library_layers_and_unseen_calls_end_the_trunk(
    tmp_path: Path,
) -> None:
    report = scan("hub", tmp_path)
    backbone = "keras_hub.models.BertBackbone.from_preset"
    intent, sentiment = "intent.py::build_model", "sentiment.py::build_model"
    larger, unseen = "larger.py::build_model", "unseen.py::build_model"
    assert layers(report, intent) == [
        (backbone, {"#0": "bert_tiny_en_uncased"}),
        ("keras.layers.Dropout", {"#0": 0.1}),
        ("keras.layers.Dense", {"#0": 12, "activation": "softmax"}),
    ]
    # keras_nlp is keras_hub's former name: the same preset is the same layer.
    assert layers(report, sentiment)[0] == (backbone, {"#0": "bert_tiny_en_uncased"})
    assert depth(report, intent, sentiment) == 2
    assert depth(report, intent, larger) == 0
    # `textblocks.residual_block` is outside the scan: CG230, and nothing after it is shared.
    assert ("CG230", "unseen.py", 11) in codes(report)
    assert depth(report, sentiment, unseen) == 1
    assert depth(report, intent, unseen) == 1
    # Kept by a subclassed model and called in call(): the backbone is a layer where it is used.
    assert layers(report, "subclassed.py::IntentModel") == layers(report, intent)
    assert depth(report, intent, "subclassed.py::IntentModel") == 3


def test_a_loop_of_layers_is_one_layer_matched_as_a_whole(tmp_path: Path) -> None:
    report = scan("loop", tmp_path)
    func, func_copy = "func.py::build_model", "func_copy.py::build_model"
    stack, stack_copy = "stack.py::DeepText", "stack_copy.py::DeepTextCopy"
    func_layers = layers(report, func)
    assert [callee for callee, _ in func_layers[:2]] == [
        "keras.layers.Embedding",
        "keras.layers.GlobalAveragePooling1D",
    ]
    assert func_layers[2][0].startswith("inline:") and len(func_layers) == 4
    assert depth(report, func, func_copy) == 3
    # A list of layers built in a comprehension and run in a loop: one layer, its signature
    # the layers it holds and how many.
    stack_layers = layers(report, stack)
    assert [callee for callee, _ in stack_layers] == [
        "keras.layers.Embedding",
        "keras.layers.GlobalAveragePooling1D",
        "keras.layers.Dense",
        "keras.layers.Dense",
    ]
    assert stack_layers[2][1] == {"layers": "[keras.layers.Dense(64,activation='relu') for ?(3)]"}
    assert layers(report, stack_copy)[:3] == stack_layers[:3]
    assert depth(report, stack, stack_copy) == 3
    assert depth(report, func, stack) == 2


def test_a_helper_that_builds_a_wrapped_layer_decides_the_wrapper(tmp_path: Path) -> None:
    report = scan("wrapped", tmp_path)
    lstm, copy, gru = "lstm.py::build_model", "lstm_copy.py::build_model", "gru.py::build_model"
    # `Bidirectional(make_cell(32))` is one layer: the helper call is no layer of its own.
    assert [callee for callee, _ in layers(report, lstm)] == [
        "keras.layers.Embedding",
        "keras.layers.Bidirectional",
        "keras.layers.Dense",
    ]
    assert depth(report, lstm, copy) == 2
    # The GRU helper is another layer inside the same wrapper: the trunk ends at the wrapper.
    assert depth(report, lstm, gru) == 1
    assert depth(report, copy, gru) == 1


def test_a_comprehension_of_layers_in_a_sequential_list_is_one_layer(tmp_path: Path) -> None:
    report = scan("loop", tmp_path)
    listed, deeper = "listed.py::build_model", "listed_deeper.py::build_model"
    assert layers(report, listed) == [
        ("keras.layers.Embedding", {"#0": 20000, "#1": 64}),
        ("keras.layers.GlobalAveragePooling1D", {}),
        ("keras.layers.Dense", {"layers": "[keras.layers.Dense(64,activation='relu') for ?(3)]"}),
        ("keras.layers.Dense", {"#0": 2}),
    ]
    # Three dense layers are not four: the trunk ends at the comprehension.
    assert layers(report, deeper)[2][1] == {
        "layers": "[keras.layers.Dense(64,activation='relu') for ?(4)]"
    }
    assert depth(report, listed, deeper) == 2


def test_weightless_layers_are_on_the_shared_path_but_never_transferred() -> None:
    facts = []
    for name in ("sub.py", "sub_renamed.py"):
        text = (CASES / "stacks" / name).read_text()
        path = f"stacks/{name}"
        digest = hashlib.sha256(text.encode()).hexdigest()
        facts.append(extract(SourceFile(path, path, text, digest)))
    plan = make_plan(facts)
    trunk = dict(plan.trunks)["stacks/sub.py::TextModel"]
    # Six shared layers; the pooling and the dropout carry no weights, so four move.
    assert [(t.position, t.label) for t in trunk] == [
        (0, "keras.layers.Embedding"),
        (1, "keras.layers.Conv1D"),
        (4, "keras.layers.Dense"),
        (5, "keras.layers.Dense"),
    ]


def test_layers_come_in_data_flow_order_and_a_list_run_in_a_comprehension_is_one(
    tmp_path: Path,
) -> None:
    report = scan("flow", tmp_path)
    function = "multi.py::build_model"
    (model,) = [m["id"] for m in report["models"] if m["id"].startswith("multi.py::Multi")]
    # `Dense(2)(Concatenate()(pooled))`: the concatenation feeds the head, so it comes first;
    # the comprehension that runs the convolutions (and pools) is one layer, matched as a whole.
    callees = [callee for callee, _ in layers(report, function)]
    assert callees[0] == "keras.layers.Embedding" and callees[1].startswith("inline:")
    assert callees[2:] == ["keras.layers.Concatenate", "keras.layers.Dense"]
    # The list kept by the class and run in a comprehension: one layer, by its code.
    kept = layers(report, model)
    assert kept[0] == ("keras.layers.Embedding", {"#0": 20000, "#1": 64})
    assert kept[1][0].startswith("inline:")
    assert kept[2:] == [("keras.layers.Dense", {"#0": 2})]
