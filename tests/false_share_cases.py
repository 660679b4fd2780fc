"""Two-model trees for the false-share fuzzer: a base model in one of several shapes, its twin, and
one change to layer k of the twin through one indirection (tests/test_false_share_fuzz.py).

A case names what changes (a `Target`: units, dtype, initializer, activation, layer class, a loop's
count), how the value reaches the layer (an `INDIRECTIONS` entry: a literal, a module constant, a
dict, a parameter default, `functools.partial`, an import, ...), and whether it really changes (a
mutation) or only looks different (a no-op dressing: a comment, a renamed local, a name string,
reordered keywords, an explicit default, the same value through another indirection).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from codegen.model import Plan, SourceFile
from codegen.plan.planner import make_plan, pair_depths
from codegen.scan.extract import extract

# --- what a layer is, per shape ------------------------------------------------------------------

SHAPES = (
    "tf1_dense",  # a TF1 build function of tf.compat.v1.layers.dense calls
    "tf1_getvar",  # a TF1 build function of get_variable blocks under variable_scope
    "tf1_slim",  # a TF1 build function of slim.fully_connected calls (arg_scope)
    "keras_functional",  # a Keras functional chain in a build function
    "keras_sequential",  # a Keras Sequential list
    "keras_subclass",  # a Keras subclassed model: layers in __init__, used in call
    "helper_module",  # a build function calling a builder of another scanned module
)

KERAS = ("keras_functional", "keras_sequential", "keras_subclass")

CONSTANT_INIT = "tf.compat.v1.constant_initializer({})"


@dataclass(frozen=True)
class Target:
    """What the mutation changes: a keyword slot (or the callee, or a loop's count) and 3 values,
    the base, the mutated one, and a third a reassigned constant is first bound to."""

    name: str
    slot: str  # a keyword name, "callee" or "count"
    values: tuple[str, str, str]
    fmt: str = "{}"  # how the value sits in the slot (an initializer call around a number)
    positional: bool = False  # the base layer passes it by position (units)


def targets(shape: str) -> tuple[Target, ...]:
    """The targets a shape's layers can carry."""
    units = {"tf1_getvar": "shape", "tf1_slim": "num_outputs"}.get(shape, "units")
    fmt = "[8, {}]" if shape == "tf1_getvar" else "{}"
    found = [Target("units", units, ("16", "24", "40"), fmt, positional=True)]
    if shape != "tf1_slim":
        found.append(Target("dtype", "dtype", ('"float32"', '"float16"', '"float64"')))
    init = {"tf1_getvar": "initializer", "tf1_slim": "weights_initializer"}.get(
        shape, "kernel_initializer"
    )
    if shape in KERAS:
        found.append(Target("initializer", init, ('"zeros"', '"ones"', '"he_normal"')))
    else:
        found.append(Target("initializer", init, ("0.5", "0.25", "0.125"), CONSTANT_INIT))
    if shape == "tf1_slim":
        found.append(Target("activation", "activation_fn", ("tf.nn.relu", "tf.nn.tanh", "None")))
    elif shape != "tf1_getvar":
        found.append(Target("activation", "activation", ('"relu"', '"tanh"', '"sigmoid"')))
    if shape in KERAS:
        found.append(
            Target(
                "layer_class",
                "callee",
                ("tf.keras.layers.Dense", "tf.keras.layers.SimpleRNN", "tf.keras.layers.GRU"),
            )
        )
    if shape in ("tf1_dense", "keras_functional", "keras_subclass", "helper_module"):
        found.append(Target("repeat", "count", ("2", "4", "6")))
        found.append(Target("loop_units", units, ("16", "24", "40"), fmt, positional=True))
    return tuple(found)


def callee(shape: str) -> str:
    return {
        "tf1_dense": "tf.compat.v1.layers.dense",
        "tf1_getvar": "tf.compat.v1.get_variable",
        "tf1_slim": "slim.fully_connected",
        "helper_module": "block",
    }.get(shape, "tf.keras.layers.Dense")


def base_units(i: int) -> str:
    return str(32 + 8 * i)


# --- indirections --------------------------------------------------------------------------------


@dataclass
class Parts:
    """Where a rendered value puts its pieces in one model file."""

    prelude: list[str] = field(default_factory=list)  # module level, after the imports
    imports: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)  # of the build function or __init__
    locals: list[str] = field(default_factory=list)  # top of the build function or __init__
    class_body: list[str] = field(default_factory=list)  # keras_subclass only
    files: dict[str, str] = field(default_factory=dict)  # beside the model file, by name
    wrap: str = ""  # a `with` header around the layer's statement


def _numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _computed(value: str, parts: Parts) -> str | None:
    if value.isdigit() and int(value) % 2 == 0:
        parts.prelude.append(f"H = {int(value) // 2}")
        return "H * 2"
    if _numeric(value):
        parts.prelude.append(f"H = {float(value) * 2}")
        return "H / 2"
    if value.startswith('"'):
        parts.prelude.append(f'H = {value[:-1][:3]}"')
        return f'H + "{value[1:-1][2:]}"'
    return None


# Each indirection renders `value` (and may read the pair's two values and the reassigned
# constant's first value) into the expression the layer uses, adding what it needs to `parts`;
# None when it does not apply to the slot.
def render_value(
    via: str, value: str, pair: tuple[str, str], first: str, parts: Parts, *, shape: str, slot: str
) -> str | None:
    if via == "direct":
        return value
    if via == "const":
        parts.prelude.append(f"K = {value}")
        return "K"
    if via == "reassigned":
        parts.prelude.extend([f"K = {first}", f"K = {value}"])
        return "K"
    if via == "computed":
        return _computed(value, parts)
    if via == "ternary":
        parts.prelude.append(f"BIG = {value == pair[0]}")
        return f"{pair[0]} if BIG else {pair[1]}"
    if via == "dict":
        parts.prelude.append(f'CFG = {{"k": {value}}}')
        return 'CFG["k"]'
    if via == "class_cfg":
        parts.prelude.extend(["class Cfg:", f"    k = {value}"])
        return "Cfg.k"
    if via == "param":
        parts.params.append(f"k={value}")
        return "k"
    if via == "func":
        parts.prelude.extend([f"def pick(k={value}):", "    return k"])
        return "pick()"
    if via == "local":
        parts.locals.append(f"k = {value}")
        return "k"
    if via == "local_dict":
        parts.locals.append(f'cfg = {{"k": {value}}}')
        return 'cfg["k"]'
    if via == "imported":
        parts.files["cfg.py"] = f"import tensorflow as tf\n\nK = {value}\n"
        parts.imports.append("from cfg import K")
        return "K"
    if via == "imported_star":
        parts.files["cfg.py"] = f"import tensorflow as tf\n\nK = {value}\n"
        parts.imports.append("from cfg import *")
        return "K"
    if via == "self_attr" and shape == "keras_subclass":
        parts.locals.append(f"self.k = {value}")
        return "self.k"
    if via == "class_attr" and shape == "keras_subclass":
        parts.class_body.append(f"K = {value}")
        return "self.K"
    return None


# Indirections that rewrite the call rather than a value: the slot's keyword leaves the call.
CALL_INDIRECTIONS = ("partial", "kwargs", "arg_scope", "helper_default")

INDIRECTIONS = (
    "direct",
    "const",
    "reassigned",
    "computed",
    "ternary",
    "dict",
    "class_cfg",
    "param",
    "func",
    "local",
    "local_dict",
    "imported",
    "imported_star",
    "self_attr",
    "class_attr",
    *CALL_INDIRECTIONS,
)

# By design a callable bound in advance is unseen: the trunk ends at it (docs/rules.md).
ENDS_TRUNK = frozenset({"partial"})


class NotApplicable(Exception):
    """The case's indirection cannot deliver its target in its shape."""


# --- no-op dressings -----------------------------------------------------------------------------

DRESSINGS = ("", "comment", "rename", "name", "reorder", "explicit_default", "mixed")


@dataclass(frozen=True)
class Case:
    shape: str
    layers: int
    k: int  # the layer (0-based) that changes in b
    target: str
    via: str
    mutate: bool  # b's value differs (else b has a's value)
    dressing: str = ""  # a no-op only b gets ("mixed": a writes the value directly)

    def __str__(self) -> str:
        change = "mutation" if self.mutate else f"no-op[{self.dressing or 'same'}]"
        return f"{self.shape} L={self.layers} k={self.k} {self.target} via {self.via} {change}"


def target_of(case: Case) -> Target:
    for target in targets(case.shape):
        if target.name == case.target:
            return target
    raise NotApplicable(case.target)


@dataclass
class Layer:
    """One layer call before a shape lays it out."""

    callee: str
    args: list[str]
    kwargs: list[tuple[str, str]]
    count: str = ""  # a loop's count, for a stack of this layer


def _base_layer(shape: str, i: int, var: str, name: str) -> Layer:
    units = base_units(i)
    if shape == "tf1_getvar":
        return Layer(callee(shape), ['"w"', f"[8, {units}]"], [])
    if shape == "tf1_slim":
        return Layer(callee(shape), [var, units], [("scope", f'"{name}"')])
    if shape in KERAS:
        return Layer(callee(shape), [units], [("name", f'"{name}"')])
    return Layer(callee(shape), [var, units], [("name", f'"{name}"')])


def _layer(case: Case, side: str, i: int, parts: Parts, var: str) -> Layer:
    """Layer i of one side: the base, or at k the target's value through the indirection."""
    dressed = side == "b" and i == case.k
    name = f"layer_{i}" if dressed and case.dressing == "name" else f"d{i}"
    if case.shape == "tf1_getvar":
        name = f"s{i}" if not (dressed and case.dressing == "name") else f"scope_{i}"
    layer = _base_layer(case.shape, i, var, name)
    if i != case.k:
        return layer
    target = target_of(case)
    value = target.values[1 if side == "b" and case.mutate else 0]
    via = "direct" if side == "a" and case.dressing == "mixed" else case.via
    pair = (target.values[0], target.values[1] if case.mutate else target.values[0])
    if target.slot == "count" and via in CALL_INDIRECTIONS:
        raise NotApplicable(via)
    if target.name == "loop_units":
        layer.count = "2"  # a stack of two, each of the mutated units
    if via in CALL_INDIRECTIONS:
        _call_indirection(case, via, target, value, layer, parts)
    else:
        expr = render_value(
            via, value, pair, target.values[2], parts, shape=case.shape, slot=target.slot
        )
        if expr is None:
            raise NotApplicable(via)
        if target.slot == "callee":
            layer.callee = expr
        elif target.slot == "count":
            layer.count = expr
        else:
            _set_slot(layer, target, target.fmt.format(expr))
    if dressed and case.dressing == "explicit_default":
        layer.kwargs.append(
            ("trainable", "True")
            if case.shape == "tf1_getvar"
            else (
                ("activation_fn", "tf.nn.relu")
                if case.shape == "tf1_slim"
                else ("use_bias", "True")
            )
        )
        if case.shape == "helper_module":
            layer.kwargs[-1] = ("activation", "None")
    if dressed and case.dressing == "reorder":
        if len(layer.kwargs) < 2:
            raise NotApplicable("reorder")
        layer.kwargs.reverse()
    return layer


def _set_slot(layer: Layer, target: Target, text: str) -> None:
    if target.positional:
        position = 1 if len(layer.args) > 1 else 0
        layer.args[position] = text
    else:
        layer.kwargs.insert(0, (target.slot, text))


def _call_indirection(
    case: Case, via: str, target: Target, value: str, layer: Layer, parts: Parts
) -> Layer:
    text = target.fmt.format(value)
    if via == "helper_default":
        # A helper of the module whose keyword default carries the value: `make(...)`.
        if target.slot == "callee":
            parts.prelude += [
                f"def make(*args, k={value}, **kwargs):",
                "    return k(*args, **kwargs)",
            ]
            layer.callee = "make"
            return layer
        made = f"{layer.callee}(*args, {target.slot}={target.fmt.format('k')}, **kwargs)"
        parts.prelude += [f"def make(*args, k={value}, **kwargs):", f"    return {made}"]
        layer.callee = "make"
    elif target.slot == "callee":
        raise NotApplicable(via)
    if target.positional:
        position = 1 if len(layer.args) > 1 else 0
        del layer.args[position]
    if via == "helper_default":
        pass
    elif via == "partial":
        parts.prelude.append(f"D = functools.partial({layer.callee}, {target.slot}={text})")
        layer.callee = "D"
    elif via == "kwargs":
        parts.prelude.append(f'CFG = {{"{target.slot}": {text}}}')
        layer.kwargs.append(("**", "CFG"))
    elif via == "arg_scope" and case.shape == "tf1_slim":
        parts.wrap = f"with slim.arg_scope([slim.fully_connected], {target.slot}={text}):"
    else:
        raise NotApplicable(via)
    return layer


def _call_text(layer: Layer) -> str:
    pieces = list(layer.args) + [
        f"**{value}" if key == "**" else f"{key}={value}" for key, value in layer.kwargs
    ]
    return f"{layer.callee}({', '.join(pieces)})"


# --- laying out one model file -------------------------------------------------------------------

HEADS = {"a": "3", "b": "5"}


def _statements(shape: str, i: int, layer: Layer, var: str, wrap: str) -> list[str]:
    """The statements of a function-shaped model that apply layer i to `var`."""
    if shape == "tf1_getvar":
        lines = [
            f'with tf.compat.v1.variable_scope("{"s" + str(i)}"):',
            f"    w = {_call_text(layer)}",
            f"    {var} = tf.matmul({var}, w)",
        ]
    elif shape in ("keras_functional",):
        lines = [f"{var} = {_call_text(layer)}({var})"]
    else:
        lines = [f"{var} = {_call_text(layer)}"]
    if layer.count:
        lines = [f"for _ in range({layer.count}):", *["    " + line for line in lines]]
    if wrap:
        lines = [wrap, *["    " + line for line in lines]]
    return lines


def render(case: Case, side: str) -> dict[str, str]:
    """One side's files (`<side>/model.py` and what it imports beside it)."""
    if case.k >= case.layers:
        raise NotApplicable("k")
    target_of(case)
    var = "h" if side == "b" and case.dressing == "rename" else "x"
    parts = Parts()
    layers = [_layer(case, side, i, parts, var) for i in range(case.layers)]
    if side == "b" and case.dressing == "name" and case.shape == "tf1_getvar":
        scope = f"scope_{case.k}"
    else:
        scope = ""
    comment = side == "b" and case.dressing == "comment"
    imports = ["import functools", "import tensorflow as tf", *parts.imports]
    if case.shape == "tf1_slim":
        imports.append("slim = tf.contrib.slim")
    if case.shape == "helper_module":
        imports.append("from common.blocks import block")
    header = "\n".join(imports) + "\n\n" + "".join(line + "\n" for line in parts.prelude) + "\n"
    if case.shape == "keras_subclass":
        body = _subclass(case, side, layers, parts, var, comment)
    else:
        body = _function(case, side, layers, parts, var, comment, scope)
    files = {f"{side}/model.py": header + body}
    for name, text in parts.files.items():
        files[f"{side}/{name}"] = text
    if case.shape == "helper_module":
        files["common/blocks.py"] = BLOCKS
        files["common/__init__.py"] = ""
    return files


BLOCKS = """import tensorflow as tf


def block(x, units, activation=None, kernel_initializer=None, dtype=None, name=None):
    return tf.compat.v1.layers.dense(
        x, units, activation=activation, kernel_initializer=kernel_initializer, dtype=dtype,
        name=name,
    )
"""


def _function(
    case: Case, side: str, layers: list[Layer], parts: Parts, var: str, comment: bool, scope: str
) -> str:
    shape = case.shape
    lines = list(parts.locals)
    head = HEADS[side]
    if shape == "keras_sequential":
        lines.append("return tf.keras.Sequential([")
        for i, layer in enumerate(layers):
            if comment and i == case.k:
                lines.append("    # the layer the fuzzer dressed")
            lines.append(f"    {_call_text(layer)},")
        lines.append(f'    tf.keras.layers.Dense({head}, name="head"),')
        lines.append("])")
    else:
        if shape == "keras_functional":
            lines += ["inputs = tf.keras.Input((8,))", f"{var} = inputs"]
        for i, layer in enumerate(layers):
            if comment and i == case.k:
                lines.append("# the layer the fuzzer dressed")
            statements = _statements(shape, i, layer, var, parts.wrap if i == case.k else "")
            if scope and i == case.k:
                statements[0] = statements[0].replace(f'"s{i}"', f'"{scope}"')
            lines += statements
        head_layer = replace(_base_layer(shape, case.layers, var, "head"))
        _set_slot(head_layer, targets(shape)[0], targets(shape)[0].fmt.format(head))
        lines += _statements(shape, case.layers, head_layer, var, "")
        lines.append(
            "return tf.keras.Model(inputs, x)".replace("x)", f"{var})")
            if shape == "keras_functional"
            else f"return {var}"
        )
    params = ([] if shape in ("keras_functional", "keras_sequential") else [var]) + parts.params
    return f"def build({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in lines)


def _subclass(
    case: Case, side: str, layers: list[Layer], parts: Parts, var: str, comment: bool
) -> str:
    init = ["super().__init__()", *parts.locals]
    call = []
    for i, layer in enumerate(layers):
        if comment and i == case.k:
            init.append("# the layer the fuzzer dressed")
        if layer.count:
            init.append(f"self.l{i} = [{_call_text(layer)} for _ in range({layer.count})]")
            call += [f"for blk in self.l{i}:", f"    {var} = blk({var})"]
        else:
            init.append(f"self.l{i} = {_call_text(layer)}")
            call.append(f"{var} = self.l{i}({var})")
    init.append(f"self.head = tf.keras.layers.Dense({HEADS[side]})")
    call.append(f"return self.head({var})")
    params = ", ".join(["self", *parts.params])
    lines = ["class Net(tf.keras.Model):"]
    lines += [f"    {line}" for line in parts.class_body]
    lines += [f"    def __init__({params}):"] + [f"        {line}" for line in init]
    lines += ["", f"    def call(self, {var}):"] + [f"        {line}" for line in call]
    return "\n".join(lines) + "\n"


# --- scanning a case -----------------------------------------------------------------------------


def plan_of(files: dict[str, str]) -> Plan:
    facts = []
    for path, text in sorted(files.items()):
        facts.append(
            extract(SourceFile(path, path, text, hashlib.sha256(text.encode()).hexdigest()))
        )
    return make_plan(facts)


def model_id(case: Case, side: str) -> str:
    return f"{side}/model.py::{'Net' if case.shape == 'keras_subclass' else 'build'}"


def files_of(case: Case) -> dict[str, str]:
    files = render(case, "a")
    files.update(render(case, "b"))
    return files


def shared_depth(case: Case) -> int:
    """The depth the real pipeline claims `a` and `b` share."""
    plan = plan_of(files_of(case))
    a, b = model_id(case, "a"), model_id(case, "b")
    models = {m.id for m in plan.models}
    assert {a, b} <= models, (str(case), sorted(models))
    return pair_depths(plan).get((a, b) if a < b else (b, a), 0)


def all_cases(layers: int = 3, ks: tuple[int, ...] = (1,)) -> list[Case]:
    """Every applicable shape x target x indirection, as a mutation and as the same value."""
    found = []
    for shape in SHAPES:
        for target in targets(shape):
            for via in INDIRECTIONS:
                for k in ks:
                    for mutate in (True, False):
                        case = Case(shape, layers, k, target.name, via, mutate)
                        try:
                            files_of(case)
                        except NotApplicable:
                            continue
                        found.append(case)
    return found


# --- the false shares known today, by mechanism --------------------------------------------------
# Each is pinned by a strict xfail in tests/test_false_share_fuzz.py; the fuzz tests skip them and
# fail on any other. The exhaustive run checks this table is exactly what the scan does today.

MECHANISMS = {
    "call_argument": "a library call in an argument (`kernel_initializer=tf.compat.v1."
    "constant_initializer(0.5)`) decides by its literal arguments now (scan/extract/computed.py "
    "`Reader.library_call`), but not when it sits in a dict spread as `**CFG`, in an "
    "`arg_scope`, or reads a module function's result or a Keras build function's "
    "parameter default: then it is opaque, matched by position only",
    "reference_argument": "a function reference passed to an inline TF1 call (`activation_fn="
    "tf.nn.tanh` vs `tf.nn.relu`) is opaque, matched by position only",
    "call_result": "a module function's result (`pick()` returning its literal default) is "
    "opaque, matched by position only",
    "local_dict": "an item of a local dict literal in a Keras subclass's `__init__` (`cfg = "
    "{'k': 32}; self.d = Dense(cfg['k'])`) is opaque (build functions read it)",
    "self_attr": "an instance attribute set to a literal in `__init__` (`self.k = 32; "
    "Dense(self.k)`) is opaque (only the class body is read)",
    "list_computed": "a computed value inside a list argument (`shape=[8, H * 2]`, "
    "`[8, CFG['k']]`, `[8, cfg['k']]` over a local dict) is not evaluated: the list is opaque",
    "loop_values": "a loop or list comprehension of layers matched as a whole compares its "
    "code, not the values its names read (the count in `range(CFG['n'])`, the units in "
    "`Dense(CFG['units'])` or `Dense(**CFG)` inside it) through a computed value, a local, a "
    "local dict, a parameter default, an imported name or a module name bound twice",
    "factory_object": "a layer object a Keras subclass gets from a module factory (`def make(k="
    "32): return Dense(k)`, `self.l1 = make()`) is identified by the API it returns only "
    "(scan/extract/calls.py `object_layer`): the factory's keyword defaults never decide",
    "dropped_call": "a layer made by a module function that only calls its parameter's default "
    "(`def make(*a, k=Dense, **kw): return k(*a, **kw)`, `make(40)(x)`) is silently no layer and "
    "no unseen call (no CG230): the layers after it are claimed shared (a class attribute's "
    "call `Cfg.k(40)` and a call of what a function returns, `pick()(40)`, are unseen now)",
}

_COMPUTED = frozenset({"computed", "ternary", "dict", "class_cfg", "class_attr"})
_TF1 = ("tf1_dense", "tf1_getvar", "tf1_slim", "helper_module")
_FUNCTION_LOOPS = ("tf1_dense", "helper_module")  # a loop there ends the trunk (docs/rules.md)
# Names a Keras loop matched as a whole reads but never follows, in every shape with such loops.
_LOOP_NAMES = frozenset({"imported", "imported_star", "local_dict", "reassigned"})
_LOOP_READS = {
    ("keras_functional", "repeat"): {"class_cfg", "dict", "local", "param"},
    ("keras_functional", "loop_units"): {"class_cfg", "dict", "kwargs", "local", "param"},
    ("keras_subclass", "repeat"): {"class_attr", "class_cfg", "computed", "dict", "ternary"},
    ("keras_subclass", "loop_units"): {
        "class_attr",
        "class_cfg",
        "computed",
        "dict",
        "kwargs",
        "ternary",
    },
}


def known_false_share(case: Case) -> str | None:
    """The mechanism by which the scan claims `case`'s mutated layer shared today, else None."""
    target, via, shape = target_of(case), case.via, case.shape
    if not case.mutate or via in ENDS_TRUNK:
        return None
    looped = target.name in ("repeat", "loop_units")
    if looped and shape in _FUNCTION_LOOPS:
        return None
    # The layer is dropped: only a layer after it (not the differing head) is claimed.
    dropped = "dropped_call" if case.k < case.layers - 1 else None
    if target.name == "layer_class":
        if via == "helper_default":
            return dropped
        return None
    if via == "helper_default":
        return "factory_object" if shape == "keras_subclass" and not looped else None
    if target.fmt == CONSTANT_INIT:
        if via == "param" and shape in _TF1:
            return None  # the TF1 build function's parameter default decides (plan/identity.py)
        return "call_argument" if via in ("func", "kwargs", "param", "arg_scope") else None
    if shape == "tf1_slim" and target.name == "activation":
        return "reference_argument"
    if via == "func" and (not looped or shape == "keras_subclass"):
        return "call_result"
    if via == "self_attr":
        return "self_attr"
    if via in _LOOP_READS.get((shape, target.name), set()) | (_LOOP_NAMES if looped else set()):
        return "loop_values"
    if via == "local_dict" and shape == "keras_subclass":
        return "local_dict"
    if shape == "tf1_getvar" and target.name == "units" and via in _COMPUTED | {"local_dict"}:
        return "list_computed"
    return None
