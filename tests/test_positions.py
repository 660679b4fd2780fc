"""Positions come from the syntax tree: marks wrap the statements the scan means, whatever
characters comments and strings hold, however many calls one statement makes."""

from __future__ import annotations

import io
import json
import re
import shutil
import textwrap
import tokenize
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest
from conftest import MODELS, REPO
from libcst.metadata import MetadataWrapper, PositionProvider

from codegen.cli import main
from codegen.demo import unrouted_copy
from codegen.lines import line_starts, split_lines
from codegen.scan.extract.parser import parse_module
from codegen.scan.extract.positions import Positions

ROUTE_FIXTURES = REPO / "tests" / "route_fixtures" / "models"
# Characters str.splitlines() breaks at that Python and libcst do not: a comment or a string may
# hold any of them without starting a line.
NOT_NEWLINES = ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def sprinkle(text: str, char: str) -> str:
    """`text` with `char` inserted into every comment and every (text) string literal."""
    starts = line_starts(text)
    inserts: list[int] = []
    for token in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
        offset = starts[token.start[0] - 1] + token.start[1]
        if token.type == tokenize.COMMENT:
            inserts.append(offset + 1)
        elif token.type == tokenize.STRING:
            prefix = len(token.string) - len(token.string.lstrip("rRbBuUfF"))
            if "b" in token.string[:prefix].lower():
                continue
            quote = token.string[prefix:][:3]
            opening = 3 if quote in ('"""', "'''") else 1
            inserts.append(offset + prefix + opening)
    for offset in sorted(inserts, reverse=True):
        text = text[:offset] + char + text[offset:]
    return text


def run(root: Path, *argv: str) -> tuple[int, str]:
    """One real `codegen` command in `root`, and what it printed to stdout."""
    return run_all(root, *argv)[:2]  # type: ignore[return-value]


def run_all(root: Path, *argv: str) -> tuple[int, str, str]:
    """One real `codegen` command in `root`, and what it printed to stdout and stderr."""
    monkey = pytest.MonkeyPatch()
    monkey.chdir(root)
    out, err = io.StringIO(), io.StringIO()
    monkey.setattr("sys.stdout", out)
    monkey.setattr("sys.stderr", err)
    try:
        return main(list(argv)), out.getvalue(), err.getvalue()
    finally:
        monkey.undo()


def project(tmp: Path, tree: str, char: str | None) -> Path:
    """A copy of a fixture tree as users have it before `sync`, with `char` sprinkled in."""
    root = tmp / (tree + ("" if char is None else f"_{ord(char):x}"))
    if tree == "models":
        unrouted_copy(MODELS, root)
    else:
        shutil.copytree(ROUTE_FIXTURES, root / "models")
    if char is not None:
        for path in (root / "models").rglob("*.py"):
            path.write_text(sprinkle(path.read_text(encoding="utf-8"), char), encoding="utf-8")
    return root


def layer_statements(root: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Per model: each layer's kind, callee and the source lines the scan says it is on."""
    code, out = run(root, "scan", "--json", "--no-cache")
    assert code in (0, 1), out
    report = json.loads(out)
    texts: dict[str, list[str]] = {}
    found: dict[str, list[tuple[str, str, str]]] = {}
    for model in report["models"]:
        for layer in model["layers"]:
            path = layer["path"]
            if path not in texts:
                texts[path] = split_lines((root / path).read_text(encoding="utf-8"))
            lines = texts[path][layer["line"] - 1 : layer["end_line"]]
            # An inline layer's callee hashes its code, strings included: not compared.
            callee = "inline" if layer["callee"].startswith("inline:") else layer["callee"]
            found.setdefault(model["id"], []).append((layer["kind"], callee, "\n".join(lines)))
    for builder in report["builders"]:
        path = builder["path"]
        texts.setdefault(path, split_lines((root / path).read_text(encoding="utf-8")))
        found.setdefault("builders", []).append(
            ("builder", builder["id"], texts[path][builder["line"] - 1])
        )
    return found


def routed(root: Path) -> dict[str, str]:
    """What `sync` makes of the model files, by path (the shims' keys hash the strings that now
    hold the character, so they differ as they should). A mark continued on a line of its own
    counts as on its `with` line: the character makes the header longer."""
    assert run(root, "sync", "--no-cache")[0] == 1
    return {
        p.relative_to(root).as_posix(): re.sub(r" \\(\r\n?|\n) *", " ", p.read_bytes().decode())
        for p in sorted((root / "models").rglob("*.py"))
    }


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, dict]]:
    tmp = tmp_path_factory.mktemp("positions")
    out = {}
    for tree in ("models", "route_fixtures"):
        root = project(tmp, tree, None)
        out[tree] = (layer_statements(root), routed(root))
    return out


@pytest.mark.parametrize("char", NOT_NEWLINES, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("tree", ["models", "route_fixtures"])
def test_characters_that_are_no_newline_move_no_mark(
    originals: dict[str, tuple[dict, dict]], tmp_path: Path, tree: str, char: str
) -> None:
    """Every fixture file with the character in each comment and string: the scan's layers are
    the same statements, and `sync` routes every model file the same way (the character aside)."""
    statements, files = originals[tree]
    root = project(tmp_path, tree, char)
    assert any(char in p.read_text() for p in (root / "models").rglob("*.py"))
    found = layer_statements(root)
    assert {
        model: [
            (kind, callee.replace(char, ""), text.replace(char, "")) for kind, callee, text in v
        ]
        for model, v in found.items()
    } == statements
    assert {path: text.replace(char, "") for path, text in routed(root).items()} == files


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["CRLF", "CR"])
@pytest.mark.parametrize("tree", ["models", "route_fixtures"])
def test_line_endings_move_no_mark(
    originals: dict[str, tuple[dict, dict]], tmp_path: Path, tree: str, ending: str
) -> None:
    """Every fixture file with other line endings (both end a line for Python and libcst): the
    same layer statements, and the same routing in the file's own line endings, or (a bare CR,
    which libcst does not print back faithfully) a refusal that names each file and writes
    nothing."""
    statements, files = originals[tree]
    root = project(tmp_path, tree, None)
    for path in (root / "models").rglob("*.py"):
        path.write_bytes(path.read_bytes().replace(b"\n", ending.encode()))
    assert layer_statements(root) == statements
    before = {p: p.read_bytes() for p in (root / "models").rglob("*.py")}
    code, _, err = run_all(root, "sync", "--no-cache")
    if code == 2 and ending == "\r":
        assert "CG406" in err and "a bare CR" in err, err
        assert {p: p.read_bytes() for p in (root / "models").rglob("*.py")} == before
        return
    assert code == 1, err
    texts = {}
    for path in sorted((root / "models").rglob("*.py")):
        text = re.sub(r" \\(\r\n?|\n) *", " ", path.read_bytes().decode())
        others = text.replace(ending, "")
        assert "\n" not in others and "\r" not in others, path  # no other kind of line ending
        texts[path.relative_to(root).as_posix()] = text.replace(ending, "\n")
    assert texts == files


def fixture_files() -> Iterator[Path]:
    yield from sorted(MODELS.glob("*.py"))
    yield from sorted(ROUTE_FIXTURES.rglob("*.py"))


@pytest.mark.parametrize("char", ["", "\f", "\u2028", "\r\n"], ids=["plain", "FF", "LS", "CRLF"])
def test_positions_are_libcsts_own(char: str) -> None:
    """The extractor's position pass gives exactly what libcst's PositionProvider gives (what
    apply places marks by), for every node it records, in every fixture file."""
    checked = 0
    for path in fixture_files():
        text = path.read_text(encoding="utf-8")
        text = text.replace("\n", "\r\n") if char == "\r\n" else sprinkle(text, char)
        module = parse_module(text)
        ours = Positions(module)
        theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        for node, span in theirs.items():
            if type(node).__name__ in ("Call", "FunctionDef", "ClassDef", "With", "For", "If"):
                expected = ((span.start.line, span.start.column), (span.end.line, span.end.column))
                assert (ours.start(node), ours.end(node)) == expected, (path, node)
                checked += 1
            elif isinstance(node, cst.BaseStatement | cst.BaseSmallStatement):
                assert ours.start(node) == (span.start.line, span.start.column), (path, node)
                assert ours.end_line(node) == span.end.line, (path, node)
                checked += 1
    assert checked > 1000


# -- the cases that made marks slide, with the real CLI on a two-model project ----------------

TWO_MODELS = textwrap.dedent(
    """\
    import tensorflow.compat.v1 as tf


    class {name}(object):
        def __init__(self, x):
            W1 = tf.get_variable("W1", [4, 8])
            h = tf.matmul(x, W1)
            W2 = tf.get_variable("W2", [8, {head}])
            self.out = tf.matmul(h, W2)
    """
)
NESTED = textwrap.dedent(
    """\
    import tensorflow.compat.v1 as tf


    class {name}(object):
        def __init__(self, x):
            h = tf.layers.dense(tf.layers.dense(x, 8), 8)
            self.out = tf.layers.dense(h, {head})
    """
)


def two_models(tmp_path: Path, edit: dict[str, str], template: str = TWO_MODELS) -> Path:
    """Alpha and Beta share their first layer and differ in their head; `edit` replaces text
    in both."""
    (tmp_path / "models").mkdir()
    for name, head in (("Alpha", 2), ("Beta", 3)):
        text = template.format(name=name, head=head)
        for old, new in edit.items():
            assert old in text
            text = text.replace(old, new)
        (tmp_path / "models" / f"{name.lower()}.py").write_text(text, encoding="utf-8")
    return tmp_path


def marked(root: Path) -> list[str]:
    """The statements of alpha inside its layer marks, after a real `sync`."""
    assert run(root, "sync", "--no-cache")[0] == 1
    module = cst.parse_module((root / "models" / "alpha.py").read_text(encoding="utf-8"))
    inside: list[str] = []

    class Marks(cst.CSTVisitor):
        def visit_With(self, node: cst.With) -> None:
            if "alpha_transfer.layer(" in module.code_for_node(node.items[-1]):
                for statement in node.body.body:  # type: ignore[attr-defined]
                    inside.append(module.code_for_node(statement).strip())

    module.visit(Marks())
    return inside


@pytest.mark.parametrize("char", NOT_NEWLINES, ids=lambda c: f"U+{ord(c):04X}")
def test_a_page_break_before_a_class_model_moves_no_mark(tmp_path: Path, char: str) -> None:
    # Failed before: the mark wrapped `h = tf.matmul(x, W1)`, one statement down.
    root = two_models(tmp_path, {"\n\nclass": f"\n# page{char}break\nclass"})
    assert marked(root) == ['W1 = tf.get_variable("W1", [4, 8])']


def test_two_calls_of_one_api_in_one_statement_move_no_later_mark(tmp_path: Path) -> None:
    # Failed before: the second call took the next line that calls get_variable, W2's, and the
    # mark wrapped the model's own head.
    both = 'W1, b1 = tf.get_variable("W1", [4, 8]), tf.get_variable("b1", [8])'
    root = two_models(tmp_path, {'W1 = tf.get_variable("W1", [4, 8])': both})
    assert marked(root) == [both]


def test_a_nested_call_of_one_api_moves_no_later_mark(tmp_path: Path) -> None:
    # Failed before: the inner dense took the head's line, and the mark held the head too.
    root = two_models(tmp_path, {}, NESTED)
    assert marked(root) == ["h = tf.layers.dense(tf.layers.dense(x, 8), 8)"]


def test_a_docstring_that_names_the_call_is_not_the_call(tmp_path: Path) -> None:
    # Failed before: the mark wrapped the docstring, and the model raised when built.
    docstring = '"""Makes W1 = tf.get_variable(name, shape), then W2."""'
    root = two_models(
        tmp_path,
        {"    def __init__(self, x):\n": f"    def __init__(self, x):\n        {docstring}\n"},
    )
    assert marked(root) == ['W1 = tf.get_variable("W1", [4, 8])']
    text = (root / "models" / "alpha.py").read_text(encoding="utf-8")
    assert f"def __init__(self, x):\n        {docstring}\n        with alpha_transfer" in text


def test_a_comment_that_names_the_call_is_not_the_call(tmp_path: Path) -> None:
    # Failed before: the comment's line was taken as the call's.
    header = "    def __init__(self, x):\n"
    root = two_models(tmp_path, {header: header + "        # W1 = tf.get_variable(\n"})
    assert marked(root) == ['W1 = tf.get_variable("W1", [4, 8])']


PARENTHESISED = textwrap.dedent(
    """\
    import tensorflow.compat.v1 as tf


    class {name}(object):
        def __init__(self, x):
            with (tf.variable_scope("emb")):
                W1 = tf.get_variable("W1", [4, {width}])
            with (
                tf.variable_scope("proj"),
            ):
                W3 = tf.get_variable("W3", [{width}, 8])
            h = tf.matmul(tf.matmul(x, W1), W3)
            W2 = tf.get_variable("W2", [8, {head}])
            self.out = tf.matmul(h, W2)
    """
)


def test_unrouting_a_parenthesised_with_gives_back_its_bytes(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for name, head in (("Alpha", 2), ("Beta", 3)):
        text = PARENTHESISED.format(name=name, head=head, width=8)
        (models / f"{name.lower()}.py").write_text(text, encoding="utf-8")
    originals = {path.name: path.read_bytes() for path in models.glob("*.py")}
    assert marked(tmp_path) == [
        'W1 = tf.get_variable("W1", [4, 8])',
        'W3 = tf.get_variable("W3", [8, 8])',
    ]
    # Beta, routed, stops sharing: both files go back to their bytes (beta's with its edit).
    beta = models / "beta.py"
    beta.write_text(beta.read_text(encoding="utf-8").replace("[4, 8]", "[4, 9]"), encoding="utf-8")
    originals["beta.py"] = originals["beta.py"].replace(b"[4, 8]", b"[4, 9]")
    assert run(tmp_path, "sync", "--no-cache")[0] == 1
    assert {path.name: path.read_bytes() for path in models.glob("*.py")} == originals


@pytest.mark.parametrize(
    "text",
    ["", "\n", "x", "x\n", "a\nb", "a\n\nb\n", "a\fb\u2028c\x85d\ne", "a\r\nb\rc\nd", "\r", "a\r"],
)
def test_line_starts_split_as_python_counts(text: str) -> None:
    """Both ways line_starts finds lines (str.split without a CR, the regex with one) start
    each line where Python's universal newlines do, and nowhere else."""
    lengths = [len(line) for line in io.StringIO(text, newline="").readlines()]
    expected = [0]
    for length in lengths:
        expected.append(expected[-1] + length)
    if not text or text.endswith(("\n", "\r")):
        assert line_starts(text) == expected
    else:
        assert line_starts(text) == expected[:-1]
