"""The real corpus's last mechanisms (issue 20): layers held in lists are layers where a loop
applies them, in list order, not where they are built."""

from __future__ import annotations

import hashlib
import textwrap

from codegen.model import Plan, SourceFile
from codegen.plan.planner import make_plan, pair_depths
from codegen.scan.extract import extract


def _plan(files: dict[str, str]) -> Plan:
    facts = []
    for path, source in sorted(files.items()):
        text = textwrap.dedent(source)
        digest = hashlib.sha256(text.encode()).hexdigest()
        facts.append(extract(SourceFile(path, path, text, digest)))
    return make_plan(facts)


def _depth(plan: Plan, a: str, b: str) -> int:
    pair = (a, b) if a < b else (b, a)
    return pair_depths(plan).get(pair, 0)


_HELD = '''
from tensorflow import keras
L = keras.layers


def first():
    x = keras.Input((20, 8))
    drop = L.SpatialDropout1D(0.25)
    convs = [L.Conv1D(64, 3) for _ in range(4)]
    heads = []
    heads.append(L.GlobalMaxPooling1D())
    heads.append(L.Dense(8))
    h = drop(x)
    hs = [conv(h) for conv in convs]
    t = L.Concatenate()(hs)
    for layer in heads:
        t = layer(t)
    return keras.Model(x, t)


def second():
    x = keras.Input((20, 8))
    drop = L.SpatialDropout1D(0.25)
    convs = [L.Conv1D(64, 3) for _ in range(4)]
    heads = []
    heads.append(L.GlobalAveragePooling1D())
    heads.append(L.Dense(8))
    h = drop(x)
    hs = [conv(h) for conv in convs]
    t = L.Concatenate()(hs)
    for layer in heads:
        t = layer(t)
    return keras.Model(x, t)


def third():
    x = keras.Input((20, 8))
    heads = []
    heads.append(L.SpatialDropout1D(0.5))
    heads.append(L.Dense(8))
    for layer in heads:
        x = layer(x)
    return keras.Model(x, x)
'''


def test_layers_held_in_a_list_are_sequenced_where_a_loop_applies_them() -> None:
    plan = _plan({"m.py": _HELD})
    # SpatialDropout1D, the Conv1D comprehension and Concatenate come first in both (the list
    # heads is applied last, filled by appends); then the pooling
    # layers differ.
    assert _depth(plan, "m.py::first", "m.py::second") == 3
    # A different dropout rate is a different first layer: nothing shared.
    assert _depth(plan, "m.py::first", "m.py::third") == 0


def test_a_list_of_layers_a_call_takes_is_sequenced_there() -> None:
    source = '''
from tensorflow import keras
L = keras.layers


def stacked():
    x = keras.Input((20, 8))
    h = L.Conv1D(32, 3)(x)
    steps = []
    steps.append(L.GlobalMaxPooling1D())
    steps.append(L.Dense(8))
    head = keras.Sequential(steps)
    return keras.Model(x, head(h))


def plain():
    x = keras.Input((20, 8))
    h = L.Conv1D(32, 3)(x)
    h = L.GlobalMaxPooling1D()(h)
    return keras.Model(x, L.Dense(8)(h))
'''
    plan = _plan({"a.py": source})
    sequences = {m: [t.key for t in trunk] for m, trunk in plan.trunks}
    # The list's layers are not lost: the same trunk (Conv1D, then Dense) as the plain one.
    assert sequences["a.py::stacked"] == sequences["a.py::plain"]
    assert len(sequences["a.py::plain"]) == 2


_HELD_INSTANCES = '''
from tensorflow import keras
L = keras.layers


class Base:
    def build(self):
        x = keras.Input((8,))
        h = self.apply(x)
        self.model = keras.Model(x, h)

    def apply(self, x):
        raise NotImplementedError


class Encoder(Base):
    def apply(self, x):
        return L.Dense(4)(L.Dense(16)(x))


class Decoder(Base):
    def apply(self, x):
        return L.Dense(32)(x)


class Joined(Base):
    def __init__(self):
        self._encoder = Encoder()
        self._decoder = Decoder()

    def build(self):
        self._encoder.build()
        self._decoder.build()
        self.model = keras.Model(self._encoder.model.inputs, self._decoder.model.outputs)
'''


def test_a_method_of_an_attribute_holding_a_scanned_class_runs_as_that_class() -> None:
    plan = _plan({"t.py": _HELD_INSTANCES})
    sequences = {m: [t.key for t in trunk] for m, trunk in plan.trunks}
    # Joined builds through `self._encoder.build()`: Base.build run as an Encoder (its apply),
    # then as a Decoder; Base itself builds nothing (its hook is abstract).
    assert "t.py::Joined.build" in sequences
    assert _depth(plan, "t.py::Joined.build", "t.py::Encoder.build") == 2
    assert _depth(plan, "t.py::Joined.build", "t.py::Decoder.build") == 0


_UNSEEN = '''
from tensorflow import keras

from outside_attention import MultiHead
from outside_embed import TokenEmbedding


def get_model(vocab, width):
    x = keras.layers.Input(shape=(None,))
    h = TokenEmbedding(vocab, width)(x)
    h = MultiHead(4)(h)
    return keras.models.Model(inputs=x, outputs=h)


def transform(h):
    return MultiHead(4)(TokenEmbedding(10, 8)(h))
'''


def test_a_keras_model_of_layers_the_scan_cannot_see_is_a_model_that_shares_nothing() -> None:
    plan = _plan({"k.py": _UNSEEN})
    ids = {m.id for m in plan.models}
    # get_model makes its Input and a Model: a model, though no layer it shows creates a
    # variable; transform (no Input, no Model) is none.
    assert ids == {"k.py::get_model"}
    model = next(m for m in plan.models if m.id == "k.py::get_model")
    assert model.static_depth == 0
    unseen = [d for d in plan.diagnostics if d.code == "CG230"]
    assert unseen and all("get_model" in d.message for d in unseen)
