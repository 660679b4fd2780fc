"""Keras 3 backbones in keras-hub's shapes (our own fixtures, tests/keras_classes/hub and
defaults, heads): a tree whose package has a library's name (keras_hub's own source) holds layer
classes of its own; a layer object's constructor arguments that name the enclosing constructor's
parameters decide by their defaults; a list of layer objects a loop fills in `self` is one layer;
a branch that only builds layer objects is none; a call of an object passed in is unseen."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from codegen import pipeline
from codegen.config import Config
from codegen.diagnostics import UNRESOLVED_IMPORT
from codegen.model import Plan
from codegen.plan.planner import pair_depths

ROOT = Path(__file__).parent / "keras_classes"
HUB = "keras_hub/src/models"


@cache
def scanned(case: str) -> pipeline.Scan:
    root = ROOT / case
    config = Config(root=str(root), cache_dir="")
    paths = sorted(p.name for p in root.iterdir() if p.is_dir())
    return pipeline.scan(paths, config, jobs=1, use_cache=False)


def depth(plan: Plan, a: str, b: str) -> int:
    return pair_depths(plan).get((a, b) if a < b else (b, a), 0)


def enc(name: str) -> str:
    return f"{HUB}/enc_{name.lower()}.py::Enc{name}"


def test_a_library_named_tree_holds_its_own_layer_classes() -> None:
    """`keras_hub.src.layers.positions.Positions` is defined in the scan: a layer class of the
    tree (its first call is one layer), not an unseen library call that ends the trunk."""
    scan = scanned("hub")
    model = next(m for m in scan.plan.models if m.id == enc("A"))
    assert [lay.label for lay in model.layers[:2]] == [
        "keras.layers.Embedding",
        "keras_hub.src.layers.positions.Positions",
    ]
    assert not [
        d for d in scan.plan.diagnostics if d.code == UNRESOLVED_IMPORT and "positions" in d.message
    ]
    assert depth(scan.plan, enc("A"), enc("B")) == 2  # the norms differ (1e-6, 1e-5)


def test_a_parameter_default_decides_a_layer_object_of_a_scanned_class() -> None:
    """`Positions(length=max_len)` with max_len=128 in A and 512 in C: two tables of different
    shapes. Before, both read as `length=?` and A ~ C shared all four layers."""
    plan = scanned("defaults").plan
    assert depth(plan, "models/enc_a.py::EncA", "models/enc_c.py::EncC") == 1
    assert depth(scanned("hub").plan, enc("A"), enc("C")) == 1


def test_only_the_defaults_an_argument_reads_decide() -> None:
    """A scanned layer class's constructor arguments read the enclosing constructor's parameter
    defaults, as a library layer's do (objects.binding): D's extra `types=2`, which its position
    table does not read, no longer separates that table from A's. Before, every default of the
    constructor decided (a stopgap in the planner)."""
    assert depth(scanned("hub").plan, enc("A"), enc("D")) == 2


def test_a_list_of_layer_objects_held_in_self_is_one_layer() -> None:
    """`self.blocks.append(Block(...))` in a loop, applied by `for block in self.blocks`: the
    stack is one layer, matched as a whole (objects.stacked). Before, it was invisible and E ~ F
    shared the norm and head past Block(64) vs Block(32): a false share."""
    plan = scanned("hub").plan
    assert depth(plan, enc("E"), enc("F")) == 2
    model = next(m for m in plan.models if m.id == enc("E"))
    assert [lay.label for lay in model.layers][2] == "loop: keras_hub.src.layers.block.Block"


def test_a_stack_built_in_init_is_one_layer_where_call_applies_it() -> None:
    """A subclassed model: the loop that fills `self.blocks` is in `__init__`, the loop that
    applies it in `call`. H (Block(64)) ~ I (Block(32)) share the embedding and positions only;
    H ~ J (the same stack, each block named before it is appended) share all four layers."""
    plan = scanned("hub").plan
    assert depth(plan, enc("H"), enc("I")) == 2
    assert depth(plan, enc("H"), enc("J")) == 4


def test_a_branch_that_only_builds_a_layer_object_is_no_layer() -> None:
    """`if width != 64: self.projection = Dense(64)` only builds an object (objects.branched):
    the layer is the later branch that calls it, after the position table. Before, the first
    branch was a layer where it was built, so G shared nothing."""
    plan = scanned("hub").plan
    assert depth(plan, enc("A"), enc("G")) == 2
    model = next(m for m in plan.models if m.id == enc("G"))
    assert [lay.label for lay in model.layers][2] == "branch: keras.layers.Dense"


def test_a_name_two_branches_bind_keeps_the_branch_a_layer_where_it_is_built() -> None:
    """`if width > 64: self.projection = Dense(64) else: ... Dense(32)`: which object the name
    holds is the condition's, so no one signature stands for it; the branch stays a layer where
    it is built, first in K's sequence, and K shares nothing with A (a negative control)."""
    plan = scanned("hub").plan
    model = next(m for m in plan.models if m.id == enc("K"))
    assert model.layers[0].label == "branch: keras.layers.Dense"
    assert depth(plan, enc("A"), enc("K")) == 0


# --- task models over a backbone passed in, layers rebuilt from a config (keras_classes/heads)

HEADS = "models"


def test_a_functional_model_on_inputs_it_is_given_shares_nothing() -> None:
    """`inputs = encoder.input; x = encoder(inputs)`: the graph starts from an encoder passed in,
    which the scan cannot see (a call of a parameter), so the same head code after two different
    encoders is no shared layer. Before, HeadA ~ HeadB shared Dropout and Dense (a false share)."""
    scan = scanned("heads")
    ids = {m.id for m in scan.plan.models}
    a, b = f"{HEADS}/head_a.py::HeadA", f"{HEADS}/head_b.py::HeadB"
    assert {a, b, f"{HEADS}/own_inputs.py::OwnInputs"} <= ids  # still models: heads of their own
    assert depth(scan.plan, a, b) == 0
    notes = [d for d in scan.plan.diagnostics if d.code == UNRESOLVED_IMPORT]
    assert {(d.path, "`param.encoder`" in d.message) for d in notes if "head_" in d.path} == {
        (f"{HEADS}/head_a.py", True),
        (f"{HEADS}/head_b.py", True),
    }
    assert not [d for d in notes if "own_inputs" in d.path]  # it makes its own Input
    assert f"{HEADS}/generator.py::Generator" not in ids  # no variable of its own


def test_a_call_of_a_parameter_is_unseen_and_ends_the_trunk() -> None:
    """`x = backbone(backbone.input)` in a masked LM that also makes an `Input` of its own (the
    mask positions): the call of an object passed in is noted (CG230) and ends the trunk, so two
    identical heads over it share nothing. Before, MaskedA ~ MaskedB shared the norm and the
    logits (a false share): the model made an Input, so it did not count as built on given
    inputs."""
    scan = scanned("heads")
    a, b = f"{HEADS}/masked_a.py::MaskedA", f"{HEADS}/masked_b.py::MaskedB"
    assert depth(scan.plan, a, b) == 0
    noted = {
        d.path
        for d in scan.plan.diagnostics
        if d.code == UNRESOLVED_IMPORT and "`param.backbone`" in d.message
    }
    assert noted == {f"{HEADS}/masked_a.py", f"{HEADS}/masked_b.py"}


def test_a_layer_rebuilt_from_a_config_is_unseen() -> None:
    """`keras.layers.deserialize(config["encoder_a"])`: what it holds is data. It is noted
    (CG230) and ends the trunk; before, the two build functions shared it and both heads."""
    scan = scanned("heads")
    a, b = f"{HEADS}/restore_a.py::build_model", f"{HEADS}/restore_b.py::build_model"
    assert depth(scan.plan, a, b) == 0
    noted = {
        d.path
        for d in scan.plan.diagnostics
        if d.code == UNRESOLVED_IMPORT and "keras.layers.deserialize" in d.message
    }
    assert noted == {f"{HEADS}/restore_a.py", f"{HEADS}/restore_b.py"}
    assert f"{HEADS}/base.py::Task.from_config" not in {m.id for m in scan.plan.models}
