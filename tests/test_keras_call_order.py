"""Subclassed Keras models (issue 21, item 1): layers are ordered by their first use in `call()`,
following the model's own methods (`self.encode(x)`) to any depth, and layer objects held in a
dict or list by a literal key; a structure whose use the scan cannot place ends the sequence
there (CG231), never placed where its layers were built. A model's own method is part of the
model, never one layer identified by its body text: two identical `encode` bodies over
different `self.embed` objects are different layers.

Each case is a small tree of model files written here in the shapes of real subclassed models
and scanned in process; the assertions are the layer order, the shared depth and the codes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from codegen.model import Plan, SourceFile
from codegen.plan.planner import make_plan, pair_depths
from codegen.report.text import to_json
from codegen.scan.extract import extract

REPO = Path(__file__).resolve().parent.parent
HEAD = "import keras\nfrom keras import layers\n\n\n"


def plan_of(files: dict[str, str]) -> Plan:
    """The plan of model files given as `path -> source` (the Keras imports prepended)."""
    facts = []
    for path, text in sorted(files.items()):
        source = HEAD + textwrap.dedent(text)
        digest = hashlib.sha256(source.encode()).hexdigest()
        facts.append(extract(SourceFile(path, path, source, digest)))
    return make_plan(facts)


def order(plan: Plan, model: str) -> list[tuple[str, dict[str, Any]]]:
    """A model's layers as (short API or label, literal args)."""
    found = next(m for m in to_json(plan)["models"] if m["id"] == model)
    return [(layer["label"].rsplit(".", 1)[-1], layer["args"]) for layer in found["layers"]]


def depth(plan: Plan, a: str = "a.py::Encoder", b: str = "b.py::Encoder") -> int:
    return pair_depths(plan).get((a, b) if a < b else (b, a), 0)


def codes(plan: Plan) -> list[tuple[str, str, int]]:
    return [(d["code"], d["path"], d["line"]) for d in to_json(plan)["diagnostics"]]


def pair(template: str, a: dict[str, str], b: dict[str, str]) -> Plan:
    """Two model files from one template, filled differently."""
    return plan_of({"a.py": template.format(**a), "b.py": template.format(**b)})


# --- a model's own method over the layer objects it holds (the first repro) ---------------------

ENCODE = """
class Encoder(keras.Model):
    def __init__(self, vocab=20000, **kwargs):
        super().__init__(**kwargs)
        self.convs = [layers.Conv1D(64, 3), layers.Conv1D(64, 3)]
        self.embed = layers.Embedding(vocab, {width})
        self.unused = layers.Dense(8)
        self.head = layers.Dense({classes})

    def encode(self, x):
        x = self.embed(x)
        for conv in self.convs:
            x = conv(x)
        return x

    def call(self, x):
        x = self.encode(x)
        return self.head(x)
"""


def test_an_own_method_is_looked_into_so_a_different_embedding_shares_nothing() -> None:
    plan = pair(ENCODE, {"width": "64", "classes": "2"}, {"width": "32", "classes": "2"})
    # `encode` is the same text in both files, but the Embedding it calls is not.
    assert order(plan, "a.py::Encoder") == [
        ("Embedding", {"#0": 20000, "#1": 64}),
        ("Conv1D", {"layers": "[keras.layers.Conv1D(64,3),keras.layers.Conv1D(64,3)]"}),
        ("Dense", {"#0": 2}),
    ]
    assert depth(plan) == 0


def test_an_own_method_shares_its_layers_when_only_the_head_differs() -> None:
    plan = pair(ENCODE, {"width": "64", "classes": "2"}, {"width": "64", "classes": "5"})
    assert depth(plan) == 2  # the Embedding and the convolutions, not the head


def test_a_layer_never_called_is_no_layer() -> None:
    plan = pair(ENCODE, {"width": "64", "classes": "2"}, {"width": "64", "classes": "2"})
    labels = [label for label, _ in order(plan, "a.py::Encoder")]
    assert ("Dense", {"#0": 8}) not in order(plan, "a.py::Encoder")
    assert labels == ["Embedding", "Conv1D", "Dense"]
    assert depth(plan) == 3


# --- layers held in a dict (the second repro) --------------------------------------------------

BLOCKS = """
class Encoder(keras.Model):
    def __init__(self, vocab=20000, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(vocab, {width})
        self.blocks = {{"conv": layers.Conv1D(64, 3), "proj": layers.Dense(64)}}
        self.head = layers.Dense({classes})

    def call(self, x):
        x = self.embed(x)
        x = self.blocks["conv"](x)
        x = self.blocks["proj"](x)
        return self.head(x)
"""


def test_a_dict_of_layers_by_literal_key_is_ordered_by_use() -> None:
    plan = pair(BLOCKS, {"width": "64", "classes": "2"}, {"width": "32", "classes": "2"})
    assert order(plan, "a.py::Encoder") == [
        ("Embedding", {"#0": 20000, "#1": 64}),
        ("Conv1D", {"#0": 64, "#1": 3}),
        ("Dense", {"#0": 64}),
        ("Dense", {"#0": 2}),
    ]
    assert depth(plan) == 0  # the trunk starts with the Embedding, which differs


def test_a_dict_of_layers_shares_up_to_the_head() -> None:
    plan = pair(BLOCKS, {"width": "64", "classes": "2"}, {"width": "64", "classes": "5"})
    assert depth(plan) == 3


UNPLACED = """
class Encoder(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(20000, 64)
        self.blocks = {{"conv": layers.Conv1D(64, 3), "proj": layers.Dense(64)}}
        self.head = layers.Dense(2)

    def call(self, x):
        x = self.embed(x)
        for name in {names}:
            x = self.blocks[name](x)
        return self.head(x)
"""


def test_a_dict_read_by_a_computed_key_ends_the_trunk_where_it_is_read() -> None:
    plan = pair(UNPLACED, {"names": '("conv", "proj")'}, {"names": '("proj", "conv")'})
    # Which block runs first is the loop's data: the scan cannot tell, so nothing past the
    # Embedding is shared, and the blocks are never placed where `__init__` built them.
    assert order(plan, "a.py::Encoder") == [
        ("Embedding", {"#0": 20000, "#1": 64}),
        ("Dense", {"#0": 2}),
    ]
    assert depth(plan) == 1
    assert ("CG231", "a.py", 15) in codes(plan)
    message = next(d.message for d in plan.diagnostics if d.code == "CG231")
    assert "self.blocks" in message and "Encoder.call" in message


def test_layers_kept_where_the_scan_does_not_follow_are_never_placed_at_their_constructor() -> None:
    source = BLOCKS.replace(
        '{{"conv": layers.Conv1D(64, 3), "proj": layers.Dense(64)}}',
        "dict(conv=layers.Conv1D(64, 3), proj=layers.Dense(64))",
    )
    plan = pair(source, {"width": "64", "classes": "2"}, {"width": "32", "classes": "2"})
    assert depth(plan) == 0  # not Conv1D + Dense shared ahead of the differing Embedding
    assert ("CG231", "a.py", 10) in codes(plan)  # `self.blocks = dict(...)`
    same = pair(source, {"width": "64", "classes": "2"}, {"width": "64", "classes": "2"})
    assert depth(same) == 0


def test_values_of_a_dict_of_layers_end_the_trunk() -> None:
    source = UNPLACED.replace("for name in {names}:\n", "for block in self.blocks.values():\n")
    source = source.replace("x = self.blocks[name](x)", "x = block(x)")
    plan = plan_of({"a.py": source.format(), "b.py": source.format()})
    assert depth(plan) == 1
    assert [c for c, *_ in codes(plan)].count("CG231") == 2  # one per model


ALIAS = """
class Encoder(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(20000, 64)
        self.proj = layers.Dense(64)
        self.head = layers.Dense(2)

    def call(self, x):
        width = self.embed.output_dim
        x = self.embed(x)
        {use}
        return self.head(x)
"""


def test_a_layer_object_passed_on_or_aliased_ends_the_trunk_where_it_is_read() -> None:
    for use in (
        "layer = self.proj\n        x = layer(x)",
        "x = keras.ops.vectorized_map(self.proj, x)",
    ):
        plan = plan_of({"a.py": ALIAS.format(use=use), "b.py": ALIAS.format(use=use)})
        # `self.embed.output_dim` reads a setting, not a use; `self.proj` is used where the
        # scan cannot follow: the Embedding is shared, nothing after it.
        assert depth(plan) == 1, use
        assert ("CG231", "a.py", 16) in codes(plan), use


# --- own methods to any depth, an indexed list, a branch, a layer used twice -------------------

CHAIN = """
class Encoder(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense({classes})
        self.proj = layers.Dense(64)
        self.embed = layers.Embedding(20000, {width})

    def stem(self, x):
        return self.embed(x)

    def encode(self, x):
        return self.proj(self.stem(x))

    def call(self, x):
        return self.head(self.encode(x))
"""


def test_a_chain_of_own_methods_two_deep_gives_the_call_order() -> None:
    plan = pair(CHAIN, {"width": "64", "classes": "2"}, {"width": "32", "classes": "2"})
    assert order(plan, "a.py::Encoder") == [
        ("Embedding", {"#0": 20000, "#1": 64}),
        ("Dense", {"#0": 64}),
        ("Dense", {"#0": 2}),
    ]
    assert depth(plan) == 0
    same_trunk = pair(CHAIN, {"width": "64", "classes": "2"}, {"width": "64", "classes": "3"})
    assert depth(same_trunk) == 2


INHERITED = {
    "base.py": """
class Base(keras.Model):
    def __init__(self, width=64, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(20000, width)
        self.proj = layers.Dense(64)

    def encode(self, x):
        return self.proj(self.embed(x))
""",
    "a.py": """
from base import Base


class Encoder(Base):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(self.encode(x))
""",
}


def test_an_inherited_method_of_a_scanned_base_gives_the_base_s_layers_in_order() -> None:
    files = dict(INHERITED)
    files["b.py"] = files["a.py"].replace("Dense(2)", "Dense(3)")
    plan = plan_of(files)
    assert order(plan, "a.py::Encoder") == [
        ("Embedding", {"#0": 20000, "#1": 64}),
        ("Dense", {"#0": 64}),
        ("Dense", {"#0": 2}),
    ]
    assert depth(plan) == 2


def test_a_base_method_over_objects_only_the_subclass_holds_ends_the_trunk() -> None:
    # The base's `encode` calls `self.embed`, which only each subclass builds: the scan does
    # not follow it there, so the trunk ends (CG230) rather than dropping the call.
    files = {
        "base.py": "class Base(keras.Model):\n    def encode(self, x):\n"
        "        return self.proj(self.embed(x))\n",
        "a.py": INHERITED["a.py"].replace(
            "self.head = layers.Dense(2)",
            "self.embed = layers.Embedding(20000, 64)\n        self.proj = layers.Dense(64)\n"
            "        self.head = layers.Dense(2)",
        ),
    }
    files["b.py"] = files["a.py"]
    plan = plan_of(files)
    assert depth(plan) == 0
    assert "CG230" in [code for code, *_ in codes(plan)]


INDEXED = """
class Encoder(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.convs = [layers.Conv1D(64, 3), layers.Conv1D({second}, 5)]
        self.embed = layers.Embedding(20000, 64)
        self.head = layers.Dense(2)

    def call(self, x):
        x = self.embed(x)
        x = self.convs[1](x)
        x = self.convs[0](x)
        return self.head(x)
"""


def test_a_list_indexed_by_a_literal_is_ordered_by_use() -> None:
    plan = pair(INDEXED, {"second": "64"}, {"second": "32"})
    assert order(plan, "a.py::Encoder") == [
        ("Embedding", {"#0": 20000, "#1": 64}),
        ("Conv1D", {"#0": 64, "#1": 5}),
        ("Conv1D", {"#0": 64, "#1": 3}),
        ("Dense", {"#0": 2}),
    ]
    assert depth(plan) == 1  # `self.convs[1]` runs second, and it differs


BRANCH = """
class Encoder(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(20000, 64)
        self.noise = layers.Dense({noise})
        self.head = layers.Dense(2)

    def call(self, x, training=False):
        x = self.embed(x)
        if training:
            x = self.noise(x)
        return self.head(x)
"""


def test_a_layer_used_conditionally_ends_the_trunk_unless_the_branch_is_the_same() -> None:
    plan = pair(BRANCH, {"noise": "64"}, {"noise": "32"})
    assert order(plan, "a.py::Encoder")[0][0] == "Embedding"
    assert depth(plan) == 1
    same = pair(BRANCH, {"noise": "64"}, {"noise": "64"})
    assert depth(same) == 3


TWICE = """
class Encoder(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(20000, 64)
        self.proj = layers.Dense(64)
        self.head = layers.Dense({classes})

    def encode(self, x):
        return self.proj(self.embed(x))

    def call(self, x):
        x = self.encode(x)
        x = self.proj(x)
        x = self.proj(x)
        return self.head(x)
"""


def test_a_layer_used_twice_is_one_layer() -> None:
    plan = pair(TWICE, {"classes": "2"}, {"classes": "3"})
    assert order(plan, "a.py::Encoder") == [
        ("Embedding", {"#0": 20000, "#1": 64}),
        ("Dense", {"#0": 64}),
        ("Dense", {"#0": 2}),
    ]
    assert depth(plan) == 2


# --- end to end: the method chain routed by the real CLI, a real Keras 3 transfer ---------------

E2E = Path(__file__).parent / "keras_call_order"


def test_a_method_chain_model_transfers_its_shared_layers_in_keras_3(tmp_path: Path) -> None:
    """chain_a and chain_b (own methods two deep, an indexed list, a dict by literal key, an
    unused layer; only the head differs): synced by the CLI, then chain_a's shared layers move
    into chain_b in a Keras 3 child process, the head stays chain_b's own."""
    shutil.copytree(E2E / "models", tmp_path / "models")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args, expected in ((("sync", "--no-cache"), 1), (("check", "--no-cache"), 0)):
        done = subprocess.run(
            [sys.executable, "-m", "codegen", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == expected, done.stdout + done.stderr
    dropped = ("TF_USE_LEGACY_KERAS", "PYTHONPATH")  # Keras 3, and the runtime copied there
    keras_env = {k: v for k, v in os.environ.items() if k not in dropped}
    keras_env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    done = subprocess.run(
        [sys.executable, str(E2E / "transfer_case.py"), str(tmp_path), str(tmp_path)],
        env=keras_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    # Embedding 1, two Conv1D 2 each, the pooling none, Dense(12) 2: seven weights moved.
    assert len(facts.pop("restored")) == 7
    assert facts == {
        "embed": True,
        "conv0": True,
        "conv1": True,
        "proj": True,
        "head_kept": True,
        "unused_built": False,
    }
