"""Scanner semantics from DESIGN.md, pinned with small inline sources (no disk, no TensorFlow)."""

from __future__ import annotations

import hashlib
import textwrap

from codegen.ids import id_path
from codegen.model import Plan, SourceFile
from codegen.plan.planner import make_plan, pair_depths
from codegen.report.text import to_json
from codegen.scan.extract import extract

TF1 = "import tensorflow.compat.v1 as tf\n"


def scan(**files: str) -> Plan:
    """Plan for inline modules given as name=source (name `a` becomes models/a.py)."""
    facts = []
    for name, source in files.items():
        text = textwrap.dedent(source)
        path = f"models/{name}.py"
        facts.append(
            extract(SourceFile(path, path, text, hashlib.sha256(text.encode()).hexdigest()))
        )
    return make_plan(facts)


def classes(plan: Plan) -> list[tuple[str, set[str]]]:
    return [(c.kind, set(c.members)) for c in plan.clone_classes]


def creating(plan: Plan) -> set[str]:
    return {b.id for b in plan.builders if b.creates_variables}


EMBED = (
    TF1
    + '''
def embed(ids, vocab_size, dim, scope="embed"):
    """Embedding."""
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02))
        return tf.nn.embedding_lookup(w, ids)
'''
)


def test_exact_clone_ignores_comments_docstrings_and_formatting() -> None:
    other = (
        TF1
        + """
def embed(ids,
          vocab_size,
          dim,
          scope = "embed",):
    # a comment the copy added
    with tf.variable_scope(scope):
        w = tf.get_variable(
            "W",
            [vocab_size, dim],
            initializer=tf.random_normal_initializer(stddev=2e-2),  # same number, other spelling
        )
        return tf.nn.embedding_lookup(w, ids)
"""
    )
    plan = scan(a=EMBED, b=other)
    assert classes(plan) == [("exact", {"models/a.py::embed", "models/b.py::embed"})]


def test_different_names_same_body_are_merged() -> None:
    renamed_function = EMBED.replace("def embed(", "def lookup_tokens(")
    plan = scan(a=EMBED, b=renamed_function)
    assert classes(plan) == [("exact", {"models/a.py::embed", "models/b.py::lookup_tokens"})]
    assert plan.clone_classes[0].name == "embed"


def test_renamed_parameters_locals_and_name_strings_form_a_renamed_class() -> None:
    renamed = (
        TF1
        + """
def token_table(token_ids, n, width, name="tokens"):
    with tf.variable_scope(name):
        table = tf.get_variable("table", [n, width], initializer=tf.random_normal_initializer(stddev=0.02))
        return tf.nn.embedding_lookup(table, token_ids)
"""
    )
    plan = scan(a=EMBED, b=renamed)
    assert classes(plan) == [("renamed", {"models/a.py::embed", "models/b.py::token_table"})]


def test_same_name_different_body_is_not_merged() -> None:
    different = (
        TF1
        + """
def embed(ids, vocab_size, dim, scope="embed"):
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [vocab_size, dim])
        return tf.gather(w, ids)
"""
    )
    plan = scan(a=EMBED, b=different)
    assert plan.clone_classes == ()
    assert any("same name" in n.reason for n in plan.near_misses)


def test_a_different_number_is_a_near_miss_not_a_clone() -> None:
    plan = scan(a=EMBED, b=EMBED.replace("0.02", "0.01"))
    assert plan.clone_classes == ()
    [near] = plan.near_misses
    assert "a number: 0.02 vs 0.01" in near.reason
    assert "-" in near.diff and "0.01" in near.diff


def test_a_different_api_or_operator_or_plain_string_is_not_merged() -> None:
    base = (
        TF1
        + """
def block(x, width, scope="block"):
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], width])
        return tf.nn.relu(tf.matmul(x, w) + 1.0)
"""
    )
    api = base.replace("tf.nn.relu", "tf.nn.tanh")
    operator = base.replace("+ 1.0", "- 1.0")
    padding = base.replace(
        "tf.nn.relu(tf.matmul(x, w) + 1.0)", 'tf.nn.relu(tf.matmul(x, w) + 1.0, name="SAME")'
    )
    for variant, words in ((api, "an API call"), (operator, "an operator")):
        plan = scan(a=base, b=variant)
        assert plan.clone_classes == (), variant
        assert any(words in n.reason for n in plan.near_misses), plan.near_misses
    # A `name=` string is only a name: still a clone.
    assert classes(scan(a=base, b=padding)) == []  # one more argument: different code, never merged
    plain = (
        base.replace('"w"', '"w"')
        .replace("tf.nn.relu(", "tf.nn.relu(")
        .replace(
            "return tf.nn.relu(tf.matmul(x, w) + 1.0)",
            'return tf.nn.conv1d(x, w, 1, padding="SAME")',
        )
    )
    valid = plain.replace('"SAME"', '"VALID"')
    plan = scan(a=plain, b=valid)
    assert plan.clone_classes == ()
    assert any("a string" in n.reason for n in plan.near_misses)


def test_scope_and_variable_names_do_not_count_but_other_strings_do() -> None:
    a = (
        TF1
        + """
def dense(x, units):
    with tf.variable_scope("dense_a"):
        w = tf.get_variable("kernel", [x.shape[-1], units])
    return tf.matmul(x, w)
"""
    )
    b = a.replace('"dense_a"', '"proj"').replace('"kernel"', '"weights"')
    assert classes(scan(a=a, b=b)) == [("renamed", {"models/a.py::dense", "models/b.py::dense"})]


def test_same_body_calling_different_helpers_is_not_merged() -> None:
    a = (
        TF1
        + """
def dropout(x, rate):
    return tf.nn.dropout(x, rate=rate)

def layer_norm_and_dropout(x, rate):
    with tf.variable_scope("ln"):
        g = tf.get_variable("gamma", [x.shape[-1]], initializer=tf.ones_initializer())
    return dropout(x * g, rate)
"""
    )
    b = a.replace("tf.nn.dropout(x, rate=rate)", "tf.nn.dropout(x, rate=rate * 0.5)")
    plan = scan(a=a, b=b)
    assert plan.clone_classes == ()
    reasons = [n.reason for n in plan.near_misses]
    assert any("uses `dropout`" in r and "which differ" in r for r in reasons), reasons


def test_same_body_calling_equivalent_renamed_helpers_is_merged() -> None:
    a = (
        TF1
        + """
def dropout(x, rate):
    return tf.nn.dropout(x, rate=rate)

def norm_drop(x, rate):
    with tf.variable_scope("ln"):
        g = tf.get_variable("gamma", [x.shape[-1]])
    return dropout(x * g, rate)
"""
    )
    b = a.replace("def dropout", "def drop_some").replace("return dropout(", "return drop_some(")
    plan = scan(a=a, b=b)
    assert classes(plan) == [("renamed", {"models/a.py::norm_drop", "models/b.py::norm_drop"})]


def test_module_constants_are_part_of_deep_equivalence() -> None:
    a = (
        TF1
        + """
STDDEV = 0.02

def proj(x, units):
    w = tf.get_variable("w", [x.shape[-1], units], initializer=tf.random_normal_initializer(stddev=STDDEV))
    return tf.matmul(x, w)
"""
    )
    assert classes(scan(a=a, b=a)) == [("exact", {"models/a.py::proj", "models/b.py::proj"})]
    assert scan(a=a, b=a.replace("STDDEV = 0.02", "STDDEV = 0.2")).clone_classes == ()


def test_contrib_layer_norm_aliases_resolve_to_the_same_api() -> None:
    a = """
import tensorflow as tf

def norm(x):
    return tf.contrib.layers.layer_norm(x)
"""
    b = """
from tensorflow.contrib import layers as contrib_layers

def norm(x):
    return contrib_layers.layer_norm(x)
"""
    c = """
import tensorflow.compat.v1 as tf

def norm(x):
    return tf.contrib.layers.layer_norm(x)
"""
    plan = scan(a=a, b=b, c=c)
    assert classes(plan) == [
        ("exact", {"models/a.py::norm", "models/b.py::norm", "models/c.py::norm"})
    ]
    assert creating(plan) == {"models/a.py::norm", "models/b.py::norm", "models/c.py::norm"}


def test_alias_forms_resolve() -> None:
    plan = scan(
        a="""
        import tensorflow as tf
        tf1 = tf.compat.v1

        def w(shape):
            return tf1.get_variable("w", shape)
        """,
        b="""
        from tensorflow.compat.v1 import get_variable

        def w(shape):
            return get_variable("w", shape)
        """,
        c="""
        from tensorflow.keras import layers

        def head(x):
            return layers.Dense(10)(x)

        def no_state(x):
            return layers.Dropout(0.1)(layers.Flatten()(x))
        """,
        d="""
        import tensorflow.contrib.slim as slim

        def conv(x):
            return slim.conv2d(x, 32, [3, 3])

        def flat(x):
            return slim.flatten(x)
        """,
        e="""
        from tensorflow.compat.v1 import *

        def w(shape):
            return get_variable("w", shape)
        """,
        f="""
        try:
            import tensorflow.compat.v1 as tf
        except ImportError:
            tf = None

        def w(shape):
            return tf.get_variable("w", shape)
        """,
    )
    assert creating(plan) == {
        "models/a.py::w",
        "models/b.py::w",
        "models/c.py::head",
        "models/d.py::conv",
        "models/e.py::w",
        "models/f.py::w",
    }
    assert {"models/a.py::w", "models/f.py::w"} <= next(
        set(c.members) for c in plan.clone_classes if "models/a.py::w" in c.members
    )


def test_identity_and_reading_variables_create_nothing() -> None:
    plan = scan(
        a=TF1
        + """
def passthrough(x):
    return tf.identity(x)

def regularizer():
    return tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])

def reuse(x):
    with tf.variable_scope("scope", reuse=True):
        return tf.get_collection("weights")
"""
    )
    assert creating(plan) == set()


def test_transitive_builders_nested_functions_and_methods() -> None:
    plan = scan(
        a=TF1
        + """
def make_w(shape):
    return tf.get_variable("w", shape)

def uses_make_w(x):
    return tf.matmul(x, make_w([4, 4]))

def outer(x):
    def inner(y):
        return tf.get_variable("b", [4]) + y
    return inner(x)

def relu_only(x):
    return tf.nn.relu(x)

class Head:
    def __init__(self, units):
        self.units = units

    def __call__(self, x):
        return tf.matmul(x, tf.get_variable("w", [x.shape[-1], self.units]))

    def plain(self, x):
        return x * 2
"""
    )
    assert creating(plan) == {
        "models/a.py::make_w",
        "models/a.py::uses_make_w",
        "models/a.py::outer",
        "models/a.py::outer.inner",
        "models/a.py::Head.__call__",
    }
    kinds = {b.qualname for b in plan.builders}
    assert {"outer.inner", "Head.__init__", "Head.plain", "relu_only"} <= kinds


def test_self_attributes_are_names_of_the_class_not_locals() -> None:
    a = (
        TF1
        + """
class Head:
    def __call__(self, x):
        return tf.matmul(x, tf.get_variable("w", [x.shape[-1], self.units]))
"""
    )
    renamed_self = a.replace("(self, x)", "(this, x)").replace("self.units", "this.units")
    other_attribute = a.replace("self.units", "self.size")
    assert classes(scan(a=a, b=renamed_self)) == [
        ("exact", {"models/a.py::Head.__call__", "models/b.py::Head.__call__"})
    ]
    assert scan(a=a, b=other_attribute).clone_classes == ()


def test_unrelated_python_gives_no_builders() -> None:
    plan = scan(
        util="""
        import argparse, json, os

        def load(path):
            with open(path) as f:
                return json.load(f)

        class Variable:
            def get_variable(self, name):
                return name

        def main():
            v = Variable()
            return v.get_variable("x"), os.getcwd(), argparse.ArgumentParser()
        """,
        numpy_code="""
        import numpy as np

        def Variable(x):
            return np.array(x)

        def build_matrix(n):
            return Variable(np.zeros((n, n)))
        """,
    )
    assert creating(plan) == set()
    assert plan.models == ()


MODEL_TEMPLATE = (
    TF1
    + """
VOCAB = {vocab}

def embed(ids, vocab_size, dim, scope="embed"):
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [vocab_size, dim])
        return tf.nn.embedding_lookup(w, ids)

def conv_block(x, width, scope="conv"):
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [3, x.shape[-1], width])
        return tf.nn.relu(tf.nn.conv1d(x, w, 1, "SAME"))

def {build}(ids):
    h = embed(ids, VOCAB, 64)
    h = conv_block(h, {width1}, scope="{scope1}")
    h = conv_block(h, {width2}, scope="c2")
    return tf.layers.dense(tf.reduce_max(h, 1), 2)
"""
)


def model(
    vocab: int = 20000,
    width1: int = 128,
    width2: int = 128,
    build: str = "build_model",
    scope1: str = "c1",
) -> str:
    return MODEL_TEMPLATE.format(
        vocab=vocab, width1=width1, width2=width2, build=build, scope1=scope1
    )


def _all_pairs(plan: Plan) -> list[tuple[str, str]]:
    ids = sorted(m.id for m in plan.models)
    return [(x, y) for i, x in enumerate(ids) for y in ids[i + 1 :]]


def depth(plan: Plan, a: str, b: str) -> int:
    for (x, y), d in {**{k: 0 for k in _all_pairs(plan)}, **pair_depths(plan)}.items():
        if {x, y} == {f"models/{a}.py::build_model", f"models/{b}.py::build_model"} or {
            id_path(x),
            id_path(y),
        } == {f"models/{a}.py", f"models/{b}.py"}:
            return d
    raise AssertionError("pair not found")


def test_layer_sequence_has_literal_hyperparameters_and_resolves_constants() -> None:
    plan = scan(a=model())
    [m] = plan.models
    assert [layer.label for layer in m.layers] == [
        "embed",
        "conv_block",
        "conv_block",
        "tf.layers.dense",
    ]
    assert ("#1", "20000") in m.layers[0].args  # VOCAB resolved from the module constant
    assert ("#1", "128") in m.layers[1].args


def test_trunk_depth_and_history_aware_keys() -> None:
    plan = scan(
        a=model(),
        b=model(width2=256),
        c=model(vocab=30000),
        d=model(build="build_graph", scope1="first"),
    )
    assert depth(plan, "a", "b") == 2
    assert depth(plan, "a", "c") == 0
    assert depth(plan, "a", "d") == 4  # other function name and scope string: same layers
    trunks = {id_path(mid): t for mid, t in plan.trunks}
    keys = {path: [t.key for t in trunk] for path, trunk in trunks.items()}
    assert keys["models/a.py"][:2] == keys["models/b.py"]
    assert keys["models/c.py"] == []  # same builders after another first layer: nothing shared
    # Keys never mention model files or function names.
    assert not any("build" in k or "models" in k for ks in keys.values() for k in ks)
    why = next(
        d.reason
        for d in plan.divergences
        if {id_path(d.a), id_path(d.b)} == {"models/a.py", "models/c.py"}
    )
    assert "20000" in why and "30000" in why


def test_keys_ignore_names_and_which_copy_is_canonical() -> None:
    """Scope names at the call site, renamed copies and new files sorting first change no key."""
    plan = scan(b=model(), d=model(scope1="first"))
    keys = {mid: [t.key for t in trunk] for mid, trunk in plan.trunks}
    assert keys["models/b.py::build_model"] == keys["models/d.py::build_model"]
    renamed_first = model().replace("def conv_block(x, width, scope=", "def aaa_conv(x, width, scope=")
    renamed_first = renamed_first.replace("conv_block(h", "aaa_conv(h").replace('"W", [3', '"kernel", [3')
    more = scan(a=renamed_first, b=model(), d=model(scope1="first"))
    assert {mid: [t.key for t in trunk] for mid, trunk in more.trunks}["models/b.py::build_model"] == keys[
        "models/b.py::build_model"
    ]


def test_layers_in_loops_or_branches_end_the_trunk() -> None:
    looped = model().replace(
        '    h = conv_block(h, 128, scope="c1")\n',
        '    for i in range(1):\n        h = conv_block(h, 128, scope="c1")\n',
    )
    plan = scan(a=model(), b=looped)
    assert depth(plan, "a", "b") == 1
    reason = next(d.reason for d in plan.divergences)
    assert "loop or branch" in reason


def test_keys_are_stable_across_unrelated_changes() -> None:
    base = scan(a=model(), b=model())
    more = scan(a=model(), b=model(), z=model(vocab=99))
    assert dict(base.trunks)["models/a.py::build_model"] == tuple(
        t.__class__(**{**t.__dict__, "shared_with": ("models/a.py::build_model", "models/b.py::build_model")})
        for t in dict(more.trunks)["models/a.py::build_model"]
    )


def test_bad_input_is_a_diagnostic_and_the_scan_goes_on() -> None:
    plan = scan(
        good=model(),
        py2='print "hello"\n\ndef f():\n    pass\n',
        empty="",
        broken="def f(:\n    pass\n",
    )
    status = dict(plan.files)
    assert status == {
        "models/good.py": "ok",
        "models/py2.py": "error",
        "models/empty.py": "ok",
        "models/broken.py": "error",
    }
    messages = {d.path: d for d in plan.diagnostics}
    assert "Python 2" in messages["models/py2.py"].message
    assert messages["models/broken.py"].code == "CG201" and messages["models/broken.py"].line == 1
    assert messages["models/broken.py"].column == 6
    assert messages["models/broken.py"].format().startswith("models/broken.py:1:")
    assert len(plan.models) == 1


def test_mutually_recursive_helpers_do_not_hang() -> None:
    a = (
        TF1
        + """
def ping(x, n):
    return pong(x, n - 1) if n else tf.get_variable("w", [1])

def pong(x, n):
    return ping(x, n)
"""
    )
    plan = scan(a=a, b=a)
    assert {"models/a.py::ping", "models/b.py::ping"} in [
        set(c.members) for c in plan.clone_classes
    ]


def test_json_follows_schema_1() -> None:
    data = to_json(scan(a=model(), b=model(width2=256), c=EMBED.replace("0.02", "0.03")))
    assert data["schema"] == 1
    assert set(data) >= {
        "files",
        "builders",
        "clone_classes",
        "near_misses",
        "models",
        "shared_depth",
        "diagnostics",
    }
    builder = data["builders"][0]
    assert set(builder) >= {"id", "path", "qualname", "line", "creates_variables", "clone_class"}
    assert builder["id"] == f"{builder['path']}::{builder['qualname']}"
    layer = data["models"][0]["layers"][0]
    assert set(layer) >= {"callee", "args", "line"} and layer["args"]["vocab_size"] == 20000
    assert all(set(d) == {"a", "b", "depth"} for d in data["shared_depth"])


def test_the_example_models_share_exactly_what_models_readme_documents() -> None:
    """models/README.md's shared-depth matrix is what the scan finds (it must be kept true)."""
    from conftest import MODELS

    plan = scan(**{p.stem: p.read_text(encoding="utf-8") for p in MODELS.glob("*.py")})
    by_stem = {m.id: m.path.rsplit("/", 1)[-1].removesuffix(".py") for m in plan.models}
    found = {
        frozenset((by_stem[a], by_stem[b])): depth for (a, b), depth in pair_depths(plan).items()
    }
    lines = (MODELS / "README.md").read_text(encoding="utf-8").split("## Expected sharing")[1]
    rows = [r.strip("|").split("|") for r in lines.splitlines() if r.startswith("| ")]
    header = [c.strip() for c in rows[0][1:]]
    documented = {}
    for row in rows[1:]:
        name, cells = row[0].strip(), [c.strip() for c in row[1:]]
        for other, cell in zip(header, cells, strict=True):
            if other != name and cell != "0":
                documented[frozenset((name, other))] = int(cell)
    assert sorted(header) == sorted(by_stem.values())
    assert documented == found


def test_a_copy_of_a_class_model_keeps_its_layers_and_keys() -> None:
    """Copying review.py to start a new model makes `inference` a clone; a clone method that calls
    builders is still looked into, so both copies keep the trunk they share with sentiment."""
    from conftest import MODELS

    sources = {p.stem: p.read_text(encoding="utf-8") for p in MODELS.glob("*.py")}
    keys = {m: [t.key for t in trunk] for m, trunk in scan(**sources).trunks}
    copied = scan(**sources, review_copy=sources["review"])
    assert any(c.name == "inference" for c in copied.clone_classes)
    after = {m: [t.key for t in trunk] for m, trunk in copied.trunks}
    sentiment = keys["models/sentiment.py::build_model"]
    assert keys["models/review.py::ReviewCNN"] == sentiment
    # The copies now also share their inline head: one more layer, the first three unchanged.
    assert after["models/review.py::ReviewCNN"][:3] == sentiment
    assert after["models/review_copy.py::ReviewCNN"] == after["models/review.py::ReviewCNN"]
    assert len(after["models/review.py::ReviewCNN"]) == 4


def test_a_class_and_a_build_function_name_the_same_argument_the_same_way() -> None:
    """Layer args are keyed by the canonical copy's parameter names in every shape, so a
    divergence between a class model and a build function names the one argument that differs."""
    embed = '''
def embed(ids, vocab_size, dim, scope="embed"):
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [vocab_size, dim])
        return tf.nn.embedding_lookup(w, ids)


def conv(x, width, scope="conv"):
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [3, 64, width])
        return tf.nn.conv1d(x, w, 1, "SAME")
'''
    plan = scan(
        a=TF1 + embed + "\n\ndef build_model(ids):\n    return conv(embed(ids, 20000, 64), 8)\n",
        b=TF1
        + embed
        + "\n\nclass Tagger(object):\n    def __init__(self, ids):\n"
        + "        self.out = conv(embed(ids, 30000, 64), 8)\n",
    )
    [model] = [m for m in plan.models if m.kind == "class"]
    assert dict(model.layers[0].args) == {"ids": "<expr>", "dim": "64", "vocab_size": "30000"}
    [why] = [d.reason for d in plan.divergences]
    assert "`vocab_size` is 20000 in models/a.py but 30000 in models/b.py::Tagger" in why, why
    assert "argument" not in why and "not given" not in why


def test_lines_are_the_nodes_own_not_a_text_search() -> None:
    # Failed before: lines came from a text search (`def embed` in a string was taken as the
    # def, a docstring naming a call as the call) and str.splitlines() (a form feed in a comment
    # was a line).
    source = (
        TF1
        + '''
USAGE = """
def embed(ids):
    tf.get_variable("W", [3, 3])
"""
# a page break\f, a line separator\u2028 and a next line\x85 in a comment


def embed(ids, vocab_size, dim, scope="embed"):
    """Calls tf.get_variable(name, shape) once."""
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [vocab_size, dim])
        return tf.nn.embedding_lookup(w, ids)


def build(ids):
    h, g = embed(ids, 10, 4), embed(ids, 10, 4, scope="other")
    return tf.get_variable("b", [4]) + tf.get_variable("c", [4])
'''
    )
    facts = extract(SourceFile("models/a.py", "models/a.py", source, "0"))
    lines = source.split("\n")
    functions = {f.qualname: f for f in facts.functions}
    embed, build = functions["embed"], functions["build"]
    assert lines[embed.line - 1].startswith("def embed(ids, vocab_size")
    assert lines[embed.end_line - 1] == "        return tf.nn.embedding_lookup(w, ids)"
    [creation] = embed.layer_calls
    assert lines[creation.line - 1][creation.column :].startswith('tf.get_variable("W", [vocab')
    calls = [(c.callee, c.line, c.column) for c in build.layer_calls]
    h_line = next(i for i, line in enumerate(lines, 1) if line.startswith("    h, g ="))
    assert [(callee, line) for callee, line, _ in calls] == [
        ("embed", h_line),
        ("embed", h_line),
        ("tensorflow.compat.v1.get_variable", h_line + 1),
        ("tensorflow.compat.v1.get_variable", h_line + 1),
    ]
    assert [column for *_, column in calls] == [11, 30, 11, 39]


def test_a_near_miss_diff_covers_the_whole_definition() -> None:
    # Failed before: a definition ended at the first column-0 line (here inside a string), so
    # the differing line after it was missing from the diff.
    template = (
        TF1
        + '''
def embed(ids, vocab_size, dim, scope="embed"):
    doc = """
column-0 text in a string
"""
    with tf.variable_scope(scope):
        w = tf.get_variable("W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02))
        return tf.nn.embedding_lookup(w, ids), doc
'''
    )
    plan = scan(a=template, b=template.replace("0.02", "0.01"))
    [near] = plan.near_misses
    assert "stddev=0.02" in near.diff and "stddev=0.01" in near.diff
