"""Property (issue 19, "Done when"): whatever bytes a model file holds, a transfer is right or
refused.

For a fixture model with random characters that are no newline in its comments and strings, a
random encoding (coding cookie), line endings and a doubled call inserted as an extra statement,
`codegen sync` either refuses with a diagnostic, or routes so that a save/restore between two
sharing copies moves exactly the variables of the shared layers that `scan --json` lists, under
the same keys as a copy with none of these bytes, and never another variable."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import tokenize
from functools import cache
from pathlib import Path

import libcst as cst
import pytest
from conftest import MODELS, REPO
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider
from test_positions import NOT_NEWLINES, run

from codegen.lines import line_starts, split_lines

pytestmark = [pytest.mark.slow, pytest.mark.tf]

ROUTE_FIXTURES = REPO / "tests" / "route_fixtures" / "models"
# Fixture file -> (the function the doubled call goes into, how the script builds the model).
FIXTURES = {
    "intent": ("build_model", "m.build_model(ids, labels)"),
    "ner": ("build_model", "m.build_model(ids, labels)"),
    "sentiment": ("build_model", "m.build_model(ids, labels)"),
    "topic": ("build_model", "m.build_model(ids, labels)"),
    "review": ("ReviewCNN.__init__", "m.ReviewCNN(ids, labels)"),
    "textrnn": ("TextRNN.__init__", "m.TextRNN(3, 0.01, 4, 10, 0.9, 16, 100, 8, True)"),
    "textcnn": ("TextCNN.__init__", "m.TextCNN(16, 3, 100, 8, [2, 3], 4)"),
    "cnn_variants": ("SmallCNN.__init__", "m.SmallCNN(16, 100, 8)"),
}
DOUBLED = "_doubled = {tf}.layers.dense({tf}.layers.dense({tf}.zeros([2, 4]), 8), 8)"

SCRIPT = textwrap.dedent(
    """\
    import importlib, json, sys
    import numpy as np
    import tensorflow.compat.v1 as tf
    sys.path.insert(0, ".")
    build = sys.argv[2]

    def built(name, seed):
        m = importlib.import_module("models." + name)
        shim = importlib.import_module("generated." + name + "_transfer")
        graph = tf.Graph()
        with graph.as_default():
            tf.set_random_seed(seed)
            ids = tf.placeholder(tf.int32, [None, 16])
            labels = tf.placeholder(tf.int32, [None])
            eval(build, {"m": m, "ids": ids, "labels": labels})
            session = tf.Session(graph=graph)
            session.run(tf.global_variables_initializer())
            if seed == 2:  # b: every variable away from a's value, zero-initialised biases too
                for var in tf.global_variables():
                    dtype = var.dtype.base_dtype
                    noise = tf.random_normal(var.shape, seed=seed) + 1.0
                    offset = noise if dtype.is_floating else 7
                    session.run(var.assign(var + tf.cast(offset, dtype)))
        names = {key: var.op.name for key, var in shim.variable_map(graph).items()}
        return shim, graph, session, names

    def values(graph, session):
        with graph.as_default():
            variables = tf.global_variables()
        return dict(zip([v.op.name for v in variables], session.run(variables)))

    a_shim, a_graph, a_session, a_names = built("a", 1)
    b_shim, b_graph, b_session, b_names = built("b", 2)
    c_names = built("c", 3)[3]
    path = a_shim.save(a_session, sys.argv[1])
    before = values(b_graph, b_session)
    report = b_shim.restore(b_session, path)
    after, source = values(b_graph, b_session), values(a_graph, a_session)
    print(json.dumps({
        "a": a_names, "b": b_names, "c": c_names,
        "restored": sorted(entry.key for entry in report.restored),
        "missing": sorted(map(str, report.missing)),
        "changed": sorted(n for n in after if not np.array_equal(after[n], before[n])),
        "from_a": sorted(
            n for n in after if n in source and np.array_equal(after[n], source[n])
            and not np.array_equal(before[n], source[n])
        ),
    }))
    """
)


@cache
def sources(tmp: str) -> dict[str, str]:
    """The fixture files as users write them (models/ unrouted), by name."""
    from codegen.demo import unrouted_copy

    root = Path(tmp) / "unrouted"
    if not root.exists():
        unrouted_copy(MODELS, root)
    out = {}
    for name in FIXTURES:
        path = root / "models" / f"{name}.py"
        if not path.exists():
            path = ROUTE_FIXTURES / f"{name}.py"
        out[name] = path.read_text(encoding="utf-8")
    return out


def with_doubled_call(text: str, function: str) -> str:
    """`text` with the doubled call as the first statement of `function`."""
    wrapper = MetadataWrapper(cst.parse_module(text))
    positions = wrapper.resolve(PositionProvider)
    found: list[int] = []

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[str] = []

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self.stack.append(node.name.value)

        def leave_ClassDef(self, node: cst.ClassDef) -> None:
            self.stack.pop()

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.append(node.name.value)
            if ".".join(self.stack) == function and not found:
                body = list(node.body.body)  # type: ignore[attr-defined]
                first = body[0]
                if (
                    isinstance(first, cst.SimpleStatementLine)
                    and isinstance(first.body[0], cst.Expr)
                    and isinstance(first.body[0].value, cst.SimpleString)
                ):
                    first = body[1]
                found.append(positions[first].start.line)

        def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.pop()

    wrapper.visit(Finder())
    line = found[0]
    rows = split_lines(text, keepends=True)
    indent = re.match(r"\s*", rows[line - 1]).group()  # type: ignore[union-attr]
    tf = "tf.compat.v1" if "import tensorflow as tf" in text else "tf"
    rows.insert(line - 1, indent + DOUBLED.format(tf=tf) + "\n")
    return "".join(rows)


def sprinkle_comments(text: str, char: str) -> str:
    """`text` with `char` in every comment and docstring: the strings TensorFlow reads as names
    would reject it whether or not the file is routed."""
    starts = line_starts(text)
    inserts: list[int] = []
    for token in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
        offset = starts[token.start[0] - 1] + token.start[1]
        if token.type == tokenize.COMMENT:
            inserts.append(offset + 1)
        elif token.type == tokenize.STRING and token.string.startswith(('"""', "'''")):
            inserts.append(offset + 3)
    for offset in sorted(inserts, reverse=True):
        text = text[:offset] + char + text[offset:]
    return text


def encoded(text: str, char: str | None, encoding: str, crlf: bool) -> bytes:
    """The file's bytes: `char` in every comment and string, a coding cookie, line endings."""
    if char is not None:
        text = sprinkle_comments(text, char)
    try:
        (char or "").encode(encoding)
    except UnicodeEncodeError:
        encoding = "utf-8"
    text = f"# -*- coding: {encoding} -*-\n# caf\u00e9 (a byte the encoding decides)\n" + text
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode(encoding)


copies = st.tuples(
    st.sampled_from([None, *NOT_NEWLINES]),
    st.sampled_from(["utf-8", "latin-1"]),
    st.booleans(),
)


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # each example runs TensorFlow: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(sorted(FIXTURES)),
    doubled=st.booleans(),
    first=copies,
    second=copies,
)
def test_a_transfer_moves_exactly_the_shared_layers_or_sync_refuses(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    doubled: bool,
    first: tuple[str | None, str, bool],
    second: tuple[str | None, str, bool],
) -> None:
    base = tmp_path_factory.getbasetemp()
    check(base, tmp_path_factory.mktemp(name), name, doubled, first, second)


def check(
    base: Path,
    root: Path,
    name: str,
    doubled: bool,
    first: tuple[str | None, str, bool],
    second: tuple[str | None, str, bool],
) -> None:
    """One example: three copies of a fixture (a and b with the drawn bytes, c plain)."""
    function, build = FIXTURES[name]
    text = sources(str(base))[name]
    if doubled:
        text = with_doubled_call(text, function)
    models = root / "models"
    models.mkdir()
    (models / "a.py").write_bytes(encoded(text, *first))
    (models / "b.py").write_bytes(encoded(text, *second))
    (models / "c.py").write_bytes(encoded(text, None, "utf-8", False))
    code, out = run(root, "sync", "--no-cache")
    if code == 2:
        assert re.search(r"CG\d{3}", out), out  # refused, and says why
        event("sync refused")
        return
    assert code in (0, 1), out
    scan = json.loads(run(root, "scan", "--json", "models")[1])
    root_name = function.split(".")[0]
    ours = {Path(m["path"]).stem: m for m in scan["models"] if m["root"] == root_name}
    trunks = {n: {t["position"]: t["key"] for t in m.get("trunk", [])} for n, m in ours.items()}
    layers = {n: m["layers"] for n, m in ours.items()}
    assert trunks["a"] == trunks["b"] == trunks["c"], trunks
    if not trunks["b"]:
        event("nothing shared")
        return  # nothing shared (the plan may end a trunk at a statement it cannot mark)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_USE_LEGACY_KERAS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root / "ckpt" / "a"), build],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # The bytes moved no mark: every copy maps the same keys to the same variables.
    assert result["a"] == result["b"] == result["c"]
    keys = result["b"]
    # Every layer the scan shares recorded variables, and only those layers have keys.
    recorded = {key.split("/")[-2] for key in keys}
    assert recorded == set(trunks["b"].values()), (recorded, trunks["b"])
    assert result["restored"] == sorted(keys) and result["missing"] == []
    # Exactly the shared layers' variables moved, each to a's value; nothing else changed.
    assert result["changed"] == result["from_a"] == sorted(keys.values()), result
    event(f"transfer checked, {len(trunks['b'])} shared layers")
    if doubled:
        # The doubled call is the layer at its line, holding its own four variables.
        data = (models / "b.py").read_bytes()
        routed = data.decode(tokenize.detect_encoding(io.BytesIO(data).readline)[0])
        line = next(n for n, row in enumerate(split_lines(routed), 1) if "_doubled = " in row)
        at = [i for i, layer in enumerate(layers["b"]) if layer["line"] == line]
        assert at, (line, layers["b"])
        if at[0] in trunks["b"]:
            mine = sorted(v for k, v in keys.items() if k.split("/")[-2] == trunks["b"][at[0]])
            assert [re.sub(r"^.*?(dense(_1)?/\w+)$", r"\1", v) for v in mine] == [
                "dense/bias",
                "dense/kernel",
                "dense_1/bias",
                "dense_1/kernel",
            ], mine
