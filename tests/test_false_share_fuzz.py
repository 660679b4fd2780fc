"""A seeded mutation fuzzer that hunts false shares: two copies of one model, layer k of the second
changed through one indirection (tests/false_share_cases.py), scanned and planned for real.

A real change must leave layer k and every layer after it unshared (claimed depth <= k); a no-op
(a comment, a renamed local, a name string, reordered keywords but inside a loop matched as a
whole) must not change the claimed depth; other no-op misses are recall notes (hypothesis events).
The false shares still open are pinned one mechanism each by the strict xfails at the end, and
the fuzz tests skip exactly those (`known_false_share`); the slow exhaustive run checks that table
is what the scan does today. Those fixed have plain tests there. Runs are reproducible;
CODEGEN_FUZZ_SCALE=10 fuzzes ten times harder, CODEGEN_FUZZ_RANDOM=1 explores new seeds.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import replace

import pytest
from false_share_cases import (
    DRESSINGS,
    ENDS_TRUNK,
    INDIRECTIONS,
    MECHANISMS,
    SHAPES,
    Case,
    NotApplicable,
    all_cases,
    files_of,
    known_false_share,
    plan_of,
    shared_depth,
    targets,
)
from hypothesis import HealthCheck, event, given, note, reject, settings
from hypothesis import strategies as st

from codegen.diagnostics import UNRESOLVED_IMPORT
from codegen.plan.planner import pair_depths

SCALE = float(os.environ.get("CODEGEN_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("CODEGEN_FUZZ_RANDOM") == "1"

# Dressings that change nothing the scan may read: the claimed depth must not move.
PURE = ("comment", "rename", "name", "reorder")


def fuzz_settings(count: int) -> settings:
    """Reproducible in CI, no example database, no deadline (the machine is shared)."""
    return settings(
        max_examples=max(1, int(count * SCALE)),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def _applicable() -> list[tuple[str, str, str]]:
    found = []
    for shape in SHAPES:
        for target in targets(shape):
            for via in INDIRECTIONS:
                try:
                    files_of(Case(shape, 3, 1, target.name, via, mutate=True))
                except NotApplicable:
                    continue
                found.append((shape, target.name, via))
    return found


APPLICABLE = _applicable()


@st.composite
def cases(draw: st.DrawFn, *, mutate: bool, dressings: tuple[str, ...]) -> Case:
    shape, target, via = draw(st.sampled_from(APPLICABLE))
    layers = draw(st.integers(3, 5))
    case = Case(
        shape,
        layers,
        draw(st.integers(0, layers - 1)),
        target,
        via,
        mutate,
        draw(st.sampled_from(dressings)),
    )
    try:
        files_of(case)
    except NotApplicable:
        reject()
    return case


def _show(case: Case) -> str:
    files = files_of(case)
    return f"{case}\n" + "\n".join(f"--- {p}\n{t}" for p, t in sorted(files.items()))


# --- controls ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_shares_all_its_layers_and_stops_at_a_literal_change(shape: str) -> None:
    """The base pair shares every layer but the head; a different literal at k shares k."""
    for layers in (3, 5):
        for k in range(layers):
            same = Case(shape, layers, k, "units", "direct", mutate=False)
            assert shared_depth(same) == layers, _show(same)
            changed = replace(same, mutate=True)
            assert shared_depth(changed) == k, _show(changed)


def test_the_fuzzer_covers_every_shape_target_and_indirection() -> None:
    """Every shape, every target and every indirection occurs in some applicable case."""
    assert {s for s, _, _ in APPLICABLE} == set(SHAPES)
    assert {v for _, _, v in APPLICABLE} == set(INDIRECTIONS)
    assert {t for _, t, _ in APPLICABLE} == {
        "units",
        "dtype",
        "initializer",
        "activation",
        "layer_class",
        "repeat",
        "loop_units",
    }
    assert len(APPLICABLE) > 300


# --- the fuzz ------------------------------------------------------------------------------------


@fuzz_settings(400)
@given(cases(mutate=True, dressings=("", *PURE)))
def test_a_changed_layer_is_never_shared(case: Case) -> None:
    """Layer k differs (through any indirection, with any pure dressing): depth <= k."""
    mechanism = known_false_share(case)
    event(f"mechanism: {mechanism}" if mechanism else f"via {case.via}")
    if mechanism is not None:
        return  # pinned by its strict xfail below
    note(_show(case))
    assert shared_depth(case) <= case.k


@fuzz_settings(250)
@given(cases(mutate=False, dressings=DRESSINGS))
def test_a_no_op_keeps_the_claimed_depth(case: Case) -> None:
    """A pure dressing never moves the claimed depth; a direct literal keeps the full depth; any
    other miss (an explicit default, another indirection, an opaque value) is a recall note."""
    note(_show(case))
    depth = shared_depth(case)
    if _keeps_depth(case):
        assert depth == shared_depth(replace(case, dressing=""))
    if case.via == "direct" and case.dressing in ("", *PURE) and not _loop_in_function(case):
        assert depth == case.layers
    if depth != case.layers:
        event(f"recall: {case.shape} {case.target} via {case.via} [{case.dressing or 'same'}]")


def _keeps_depth(case: Case) -> bool:
    """Whether the case's dressing must keep the claimed depth: a pure one, but reordered
    keywords inside a loop of layers (matched as a whole, by its code: a recall note)."""
    looped = case.target in ("repeat", "loop_units")
    return case.dressing in PURE and not (case.dressing == "reorder" and looped)


def _loop_in_function(case: Case) -> bool:
    """A loop of layers in a `function` model ends its trunk (docs/rules.md)."""
    looped = case.target in ("repeat", "loop_units")
    return looped and case.shape in ("tf1_dense", "helper_module")


@pytest.mark.slow
def test_every_case_is_shared_exactly_as_the_known_table_says() -> None:
    """Exhaustively (3 and 5 layers, every k of 3, k in 0/2/4 of 5): the false shares are
    exactly the known mechanisms', and pure dressings never move the claimed depth."""
    wrong, moved = [], []
    for layers, ks in ((3, (0, 1, 2)), (5, (0, 2, 4))):
        for case in all_cases(layers, ks):
            depth = shared_depth(case)
            if case.mutate:
                if (depth > case.k) != (known_false_share(case) is not None):
                    wrong.append(f"{case}: depth {depth}, known {known_false_share(case)}")
                continue
            for dressing in PURE:
                try:
                    dressed = replace(case, dressing=dressing)
                    files_of(dressed)
                except NotApplicable:
                    continue
                if _keeps_depth(dressed) and shared_depth(dressed) != depth:
                    moved.append(str(dressed))
    assert not wrong, "\n".join(wrong)
    assert not moved, "\n".join(moved)


@pytest.mark.slow
@fuzz_settings(2000)
@given(cases(mutate=True, dressings=("", *PURE)))
def test_a_changed_layer_is_never_shared_at_scale(case: Case) -> None:
    mechanism = known_false_share(case)
    if mechanism is None:
        note(_show(case))
        assert shared_depth(case) <= case.k


def test_every_known_mechanism_is_pinned_below() -> None:
    """Each mechanism the table names has its strict xfail here, by name."""
    pinned = {
        name[len("test_false_share_") :]
        for name in globals()
        if name.startswith("test_false_share_")
    }
    assert set(MECHANISMS) <= pinned, set(MECHANISMS) - pinned
    assert not ENDS_TRUNK - {"partial"}


# --- each false share found, reduced to a minimal case -------------------------------------------


def _depth(a: str, b: str, extra: dict[str, str] | None = None, model: str = "build") -> int:
    """The depth claimed between `a/model.py` and `b/model.py` (with `extra` files)."""
    files = {"a/model.py": textwrap.dedent(a), "b/model.py": textwrap.dedent(b)}
    files.update({path: textwrap.dedent(text) for path, text in (extra or {}).items()})
    plan = plan_of(files)
    return pair_depths(plan).get((f"a/model.py::{model}", f"b/model.py::{model}"), 0)


def _keras(prelude: str, first: str, before: str = "") -> str:
    """A Keras functional build file: `prelude`, then `first` (a layer over `x`) and one Dense."""
    return (
        "import tensorflow as tf\n"
        + textwrap.dedent(prelude)
        + "\ndef build():\n"
        + textwrap.indent(textwrap.dedent(before), "    ")
        + "    x = tf.keras.Input((8,))\n"
        + f"    x = {first}\n"
        + "    x = tf.keras.layers.Dense(16)(x)\n"
        + "    return x\n"
    )


def _tf1(prelude: str, first: str, params: str = "") -> str:
    """A TF1 build file: `prelude`, then `first` (a statement over `x`) and one dense layer."""
    return (
        "import tensorflow as tf\nslim = tf.contrib.slim\n"
        + textwrap.dedent(prelude)
        + f"\ndef build(x{params}):\n"
        + f"    {first}\n"
        + "    return tf.compat.v1.layers.dense(x, 16)\n"
    )


def _strict(mechanism: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=MECHANISMS[mechanism])


def test_a_string_computed_from_module_values_decides() -> None:
    """Found by the fuzzer, fixed on main (trust): `dtype=CFG["dtype"]` over "float32" vs
    "float16" was read as a name and shared; the same value still shares."""
    body = 'tf.keras.layers.Dense(32, dtype=CFG["dtype"])(x)'
    f32, f16 = (
        _keras('CFG = {"dtype": "float32"}\n', body),
        _keras('CFG = {"dtype": "float16"}\n', body),
    )
    assert _depth(f32, f32) == 2
    assert _depth(f32, f16) == 0
    ternary = 'tf.keras.layers.Dense(32, activation="relu" if BIG else "tanh")(x)'
    big, small = _keras("BIG = True\n", ternary), _keras("BIG = False\n", ternary)
    assert _depth(big, big) == 2
    assert _depth(big, small) == 0


def test_a_library_call_of_literals_in_an_argument_decides() -> None:
    """Found by the fuzzer, fixed (scan/extract/calls.py `library_value`): `kernel_initializer=
    tf.compat.v1.constant_initializer(0.5)` vs `(0.25)`, written out, was opaque and shared; the
    same call still shares, and a call over a value the scan cannot know stays opaque."""
    init = "tf.compat.v1.constant_initializer({})"
    first = f"x = tf.compat.v1.layers.dense(x, 32, kernel_initializer={init})"
    half = _tf1("", first.format(0.5))
    assert _depth(half, _tf1("", first.format(0.25))) == 0
    assert _depth(half, _tf1("", first.format(0.5))) == 2
    unknown = _tf1("", first.format("scale"), ", scale=0.5")
    assert _depth(unknown, unknown) == 2


@_strict("call_argument")
def test_false_share_call_argument() -> None:
    """`**CFG` over `{"kernel_initializer": tf.compat.v1.constant_initializer(0.5)}` vs `(0.25)`."""
    prelude = 'CFG = {{"kernel_initializer": tf.compat.v1.constant_initializer({})}}\n'
    first = "x = tf.compat.v1.layers.dense(x, 32, **CFG)"
    half = _tf1(prelude.format(0.5), first)
    assert _depth(half, half) == 2
    assert _depth(half, _tf1(prelude.format(0.25), first)) == 0


@_strict("reference_argument")
def test_false_share_reference_argument() -> None:
    """slim `activation_fn=tf.nn.relu` vs `tf.nn.tanh`: the same variables, a different layer."""
    first = "x = slim.fully_connected(x, 32, activation_fn=tf.nn.{})"
    assert _depth(_tf1("", first.format("relu")), _tf1("", first.format("tanh"))) == 0


def test_an_imported_name_decides() -> None:
    """Found by the fuzzer, fixed on main (trust, Project.origin): `from cfg import UNITS`, each
    model's own `cfg.py` binding 32 vs 64, was shared; the same value still shares."""
    source = _keras("from cfg import UNITS\n", "tf.keras.layers.Dense(UNITS)(x)")
    extra = {"a/cfg.py": "UNITS = 32\n", "b/cfg.py": "UNITS = 64\n"}
    assert _depth(source, source, extra) == 0
    same = {"a/cfg.py": "UNITS = 32\n", "b/cfg.py": "UNITS = 32\n"}
    assert _depth(source, source, same) == 2


@_strict("call_result")
def test_false_share_call_result() -> None:
    """`Dense(units())` where the module's `units()` returns 32 vs 64."""
    first = "tf.keras.layers.Dense(units())(x)"
    a = _keras("def units():\n    return 32\n", first)
    b = _keras("def units():\n    return 64\n", first)
    assert _depth(a, b) == 0


def test_an_item_of_a_local_dict_in_a_build_function_decides() -> None:
    """Found by the fuzzer, fixed on main (trust): `cfg = {"units": 32}` vs 64 in the build
    function, then `Dense(cfg["units"])`, was shared; the same value still shares."""
    first = 'tf.keras.layers.Dense(cfg["units"])(x)'
    a = _keras("", first, before='cfg = {"units": 32}\n')
    b = _keras("", first, before='cfg = {"units": 64}\n')
    assert _depth(a, b) == 0
    assert _depth(a, _keras("", first, before='cfg = {"units": 32}\n')) == 2


@_strict("local_dict")
def test_false_share_local_dict() -> None:
    """`cfg = {"k": 32}` vs 64 in a subclass's `__init__`, then `self.d1 = Dense(cfg["k"])`."""
    first = 'tf.keras.layers.Dense(cfg["k"])'
    a, b = _subclass('cfg = {"k": 32}', first), _subclass('cfg = {"k": 64}', first)
    assert _depth(a, a, model="Net") == 2
    assert _depth(a, b, model="Net") == 0


def test_a_tf1_parameter_default_decides() -> None:
    """Found by the fuzzer, fixed (plan/identity.py `read_origins`: a parameter no caller
    tells reads its literal default): `def build(x, units=32)` vs `units=64`, then `tf.compat.v1.layers.dense(x,
    units)`, was opaque and shared; the same default still shares."""
    first = "x = tf.compat.v1.layers.dense(x, units)"
    k32, k64 = _tf1("", first, ", units=32"), _tf1("", first, ", units=64")
    assert _depth(k32, k32) == 2
    assert _depth(k32, k64) == 0


def _subclass(init: str, first: str, body: str = "") -> str:
    return f"""
import tensorflow as tf

class Net(tf.keras.Model):
    {body}
    def __init__(self):
        super().__init__()
        {init}
        self.d1 = {first}
        self.d2 = tf.keras.layers.Dense(16)

    def call(self, x):
        return self.d2(self.d1(x))
"""


def test_a_local_literal_in_init_decides_a_held_layer() -> None:
    """Found by the fuzzer, fixed (scan/extract/held.py `method_values`): `units = 32` vs 64 in
    a subclass's `__init__`, then `self.d1 = Dense(units)`, was opaque and shared; the same
    value still shares, and a local bound to anything else hides the module constant."""
    first = "tf.keras.layers.Dense(units)"
    a, b = _subclass("units = 32", first), _subclass("units = 64", first)
    assert _depth(a, b, model="Net") == 0
    assert _depth(a, _subclass("units = 32", first), model="Net") == 2
    assert _depth(a, _subclass("", "tf.keras.layers.Dense(32)"), model="Net") == 2
    hidden = "units = 32\nclass"
    x = _subclass("units = int('32')", first).replace("class", hidden, 1)
    # The local hides the module's 32: not read as Dense(32).
    assert _depth(x, _subclass("", "tf.keras.layers.Dense(32)"), model="Net") == 0


@_strict("self_attr")
def test_false_share_self_attr() -> None:
    """`self.units = 32` vs 64 in `__init__`, then `Dense(self.units)`."""
    first = "tf.keras.layers.Dense(self.units)"
    a, b = _subclass("self.units = 32", first), _subclass("self.units = 64", first)
    assert _depth(a, b, model="Net") == 0


@_strict("factory_object")
def test_false_share_factory_object() -> None:
    """`def make(units=32): return Dense(units)` vs `units=64`, `self.d1 = make()`."""
    a = _subclass("", "make()").replace(
        "class Net", "def make(units=32):\n    return tf.keras.layers.Dense(units)\n\nclass Net"
    )
    b = a.replace("units=32", "units=64")
    assert _depth(a, a, model="Net") == 2
    assert _depth(a, b, model="Net") == 0


@_strict("list_computed")
def test_false_share_list_computed() -> None:
    """`get_variable("w", [8, H * 2])` over `H = 16` vs `H = 32`."""
    first = 'x = tf.matmul(x, tf.compat.v1.get_variable("w", [8, H * 2]))'
    assert _depth(_tf1("H = 16\n", first), _tf1("H = 32\n", first)) == 0


@_strict("loop_values")
def test_false_share_loop_values() -> None:
    """`for _ in range(CFG["n"])` of Dense layers, over n = 2 vs 4: a stack of another depth."""
    loop = """
        x = tf.keras.Input((8,))
        for _ in range(CFG["n"]):
            x = tf.keras.layers.Dense(32)(x)
    """

    def source(n: int) -> str:
        return (
            f'import tensorflow as tf\nCFG = {{"n": {n}}}\n\ndef build():\n'
            + textwrap.indent(textwrap.dedent(loop).lstrip(), "    ")
            + "    return tf.keras.layers.Dense(16)(x)\n"
        )

    assert _depth(source(2), source(4)) == 0


def test_a_call_of_a_class_attribute_or_a_returned_reference_ends_the_trunk() -> None:
    """Found by the fuzzer, fixed (scan/extract/unseen.py): `Cfg.layer = tf.keras.layers.Dense`
    vs `GRU`, then `Cfg.layer(32)(x)`, and `def pick(k=Dense): return k`, then `pick()(32)(x)`,
    were no layer and no note, so the Dense after them was claimed shared over different
    inputs; now each is unseen (CG230) and ends the trunk. A factory still builds its layer."""
    for prelude, first, spelled in (
        ("class Cfg:\n    layer = tf.keras.layers.{}\n", "Cfg.layer(32)(x)", "`Cfg.layer`"),
        ("def pick(k=tf.keras.layers.{}):\n    return k\n", "pick()(32)(x)", "`pick()`"),
    ):
        a = _keras(prelude.format("Dense"), first)
        b = _keras(prelude.format("GRU"), first)
        plan = plan_of({"a/model.py": a, "b/model.py": b})
        assert pair_depths(plan).get(("a/model.py::build", "b/model.py::build"), 0) == 0
        assert any(d.code == UNRESOLVED_IMPORT and spelled in d.message for d in plan.diagnostics)
    factory = _keras("def make(n):\n    return tf.keras.layers.Dense(n)\n", "make(32)(x)")
    assert _depth(factory, factory) == 2
    assert _depth(factory, factory.replace("make(32)", "make(64)")) == 0
    constant = _keras("class Cfg:\n    units = 32\n", "tf.keras.layers.Dense(Cfg.units)(x)")
    assert _depth(constant, constant) == 2


@_strict("dropped_call")
def test_false_share_dropped_call() -> None:
    """`def make(*a, k=tf.keras.layers.Dense, **kw): return k(*a, **kw)` vs `k=GRU`, then
    `make(32)(x)`: the call is no layer and no note, so the Dense after it is claimed shared."""
    helper = "def make(*a, k=tf.keras.layers.{}, **kw):\n    return k(*a, **kw)\n"
    a, b = _keras(helper.format("Dense"), "make(32)(x)"), _keras(helper.format("GRU"), "make(32)(x)")
    assert _depth(a, a) == 2
    assert _depth(a, b) == 0


def test_a_call_of_a_local_bound_to_a_library_layer_ends_the_trunk() -> None:
    """Found by the fuzzer, fixed: `layer = tf.keras.layers.Dense` vs `GRU`, then `layer(32)(x)`
    was dropped (no layer, no note) and the Dense after it claimed shared; now it is unseen
    (CG230) and ends the trunk. A local bound to what creates nothing still does not."""
    first = "layer(32)(x)"
    a = _keras("", first, before="layer = tf.keras.layers.Dense\n")
    b = _keras("", first, before="layer = tf.keras.layers.GRU\n")
    files = {"a/model.py": a, "b/model.py": b}
    plan = plan_of(files)
    assert pair_depths(plan).get(("a/model.py::build", "b/model.py::build"), 0) == 0
    assert any(
        d.code == UNRESOLVED_IMPORT and "`tf.keras.layers.Dense`" in d.message
        for d in plan.diagnostics
    )
    act = "tf.keras.layers.Dense(32, activation=act())(x)"
    relu = _keras("", act, before="act = tf.keras.layers.ReLU\n")
    assert _depth(relu, relu) == 2


def test_a_module_alias_bound_twice_is_its_last_binding() -> None:
    """Found by the fuzzer, fixed: `Layer = GRU` then `Layer = Dense` vs `Layer = LSTM` were both
    read as the first binding, a GRU, and shared; functions see the last binding."""
    first = "Layer(32)(x)"
    dense = _keras("Layer = tf.keras.layers.GRU\nLayer = tf.keras.layers.Dense\n", first)
    lstm = _keras("Layer = tf.keras.layers.GRU\nLayer = tf.keras.layers.LSTM\n", first)
    assert _depth(dense, lstm) == 0
    assert _depth(dense, dense) == 2
    assert _depth(dense, _keras("", "tf.keras.layers.Dense(32)(x)")) == 2


def test_an_alias_rebound_in_a_block_is_unseen_unless_the_same() -> None:
    """Found reducing the fixed case: `Layer = Dense`, then `except ImportError: Layer = GRU` vs
    `LSTM` were both read as the first binding and shared; which one runs is not known, so the
    call is unseen (CG230) and ends the trunk, unless every binding is the same layer class."""
    prelude = """
        Layer = tf.keras.layers.Dense
        try:
            import fast_layers
        except ImportError:
            Layer = tf.keras.layers.{}
    """
    first = "Layer(32)(x)"
    gru, lstm = _keras(prelude.format("GRU"), first), _keras(prelude.format("LSTM"), first)
    assert _depth(gru, lstm) == 0
    plan = plan_of({"a/model.py": gru, "b/model.py": gru})
    assert any(d.code == UNRESOLVED_IMPORT and "`Layer`" in d.message for d in plan.diagnostics)
    same = _keras(prelude.format("Dense"), first)
    assert _depth(same, same) == 2
    assert _depth(same, _keras("", "tf.keras.layers.Dense(32)(x)")) == 2
    # Read between its bindings (a default), the name is not one alias: unseen too.
    read = _keras(
        "Layer = tf.keras.layers.GRU\ndef make(k=Layer):\n    return k\n"
        "Layer = tf.keras.layers.Dense\n",
        first,
    )
    assert _depth(read, read) == 0
