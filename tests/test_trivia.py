"""Which edits cannot change the outputs: the token digests a warm check compares."""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest
from conftest import MODELS
from test_positions import run

from codegen.cache.trivia import code_digest, copied_text_digest

SOURCE = textwrap.dedent(
    '''\
    """A model."""

    import tensorflow as tf

    SIZE = 3  # the width


    @decorated
    def first(x, scope="first"):
        """Docstring."""
        with tf.variable_scope(scope):
            return tf.layers.dense(x, SIZE)


    def second(x):
        y = first(x)
        return y
    '''
)


def insert(text: str, after: str, line: str) -> str:
    """`text` with `line` inserted after the first line that starts with `after`."""
    lines = text.splitlines(keepends=True)
    index = next(i for i, text_line in enumerate(lines) if text_line.startswith(after))
    return "".join([*lines[: index + 1], line, *lines[index + 1 :]])


@pytest.mark.parametrize(
    "edited",
    [
        SOURCE + "# a comment at the end\n",
        insert(SOURCE, "    with tf", "        # a comment inside a function\n"),
        insert(SOURCE, "    y = first", "\n"),
        SOURCE.replace("# the width", "# the width of the layer"),
        SOURCE.replace("SIZE = 3", "SIZE = 3 "),
    ],
)
def test_comments_and_blank_lines_keep_the_code_digest(edited: str) -> None:
    assert edited != SOURCE
    assert code_digest(edited) == code_digest(SOURCE)


@pytest.mark.parametrize(
    "edited",
    [
        SOURCE.replace("SIZE = 3", "SIZE = 4"),
        SOURCE.replace("@decorated\n", ""),
        SOURCE.replace('"""Docstring."""', '"""Another docstring."""'),
        SOURCE.replace("y = first(x)", "y = (first(x))"),
        SOURCE.replace('scope="first"', 'scope="First"'),
    ],
)
def test_code_edits_change_the_code_digest(edited: str) -> None:
    assert code_digest(edited) != code_digest(SOURCE)


def test_untokenizable_text_has_no_digest() -> None:
    assert code_digest('x = """never closed\n') is None
    assert copied_text_digest("def f(:\n  (\n") is None


@pytest.mark.parametrize(
    "edited",
    [
        SOURCE + "\n# a comment at the end\n",
        insert(SOURCE, "SIZE = 3", "# between statements\n"),
        insert(SOURCE, "        return tf.layers", "\n# column 0, before the next def\n"),
        insert(SOURCE, '"""A model."""', "\n\n"),
    ],
)
def test_lines_between_top_level_statements_keep_the_copied_text(edited: str) -> None:
    assert copied_text_digest(edited) == copied_text_digest(SOURCE)
    assert top_level_code(edited) == top_level_code(SOURCE)


@pytest.mark.parametrize(
    "edited",
    [
        insert(SOURCE, "    with tf", "        # a comment inside a function\n"),
        insert(SOURCE, "        return tf.layers", "    # indented: kept in the block footer\n"),
        insert(SOURCE, "@decorated", "# between decorator and def\n"),
        insert(SOURCE, "        return tf.layers", "    \n# whitespace-only line above\n"),
        SOURCE.replace("SIZE = 3  # the width", "SIZE = 3  # another width"),
        SOURCE.replace("y = first(x)", "y = first( x )"),
    ],
)
def test_edits_layers_common_would_copy_change_the_copied_text(edited: str) -> None:
    assert copied_text_digest(edited) != copied_text_digest(SOURCE)


def top_level_code(text: str) -> list[str]:
    """What layers_common copies of each top-level statement: its code without leading lines."""
    module = cst.parse_module(text)
    return [
        cst.Module(body=[statement.with_changes(leading_lines=())]).code  # type: ignore[list-item]
        for statement in module.body
    ]


def test_equal_digests_mean_equal_copies_for_random_insertions_into_the_example_models() -> None:
    # The digests trust two libcst rules: what counts as trivia, and which lines a top-level
    # statement owns. Random comment and blank-line insertions check both against libcst itself.
    rng = random.Random(7)
    insertions = ["\n", "# c\n", "    # c\n", "        \n", "#c\n\n", "\t\n", " # c\n"]
    compared = 0
    for path in sorted(MODELS.glob("*.py")):
        text = path.read_text("utf-8")
        lines = text.splitlines(keepends=True)
        for _ in range(40):
            at = rng.randrange(len(lines) + 1)
            edited = "".join([*lines[:at], rng.choice(insertions), *lines[at:]])
            try:
                cst.parse_module(edited)
            except cst.ParserSyntaxError:
                continue
            if copied_text_digest(edited) == copied_text_digest(text):
                compared += 1
                assert top_level_code(edited) == top_level_code(text), (path.name, at)
    assert compared >= 20


@pytest.mark.parametrize("char", ["\f", "\v", "\x1c", "\x85", "\u2028", "\u2029"])
def test_a_character_that_is_no_newline_moves_no_copied_row(char: str) -> None:
    # Failed before: rows were numbered with str.splitlines(), which breaks at `char`, while the
    # tokenizer's rows (and libcst's lines) do not; the rows dropped as gaps slid one down, so the
    # last line of a copied builder (here its trailing comment) was left out of the digest.
    source = f'"""A model.{char}"""\n' + SOURCE.split("\n", 1)[1]
    source = source.replace("return y", "return y  # the output")
    edited = source.replace("# the output", "# the result")
    assert copied_text_digest(edited) != copied_text_digest(source)
    gap = insert(source, "SIZE = 3", f"# between{char} statements\n")
    assert copied_text_digest(gap) == copied_text_digest(source)
    assert top_level_code(gap) == top_level_code(source)


def test_a_bare_cr_is_not_trivia_the_tokenizer_can_judge() -> None:
    """Python and libcst end a line at a bare CR; `tokenize` cannot, so nothing is trivia there."""
    assert code_digest("x = 1\ry = 2\r") is None
    assert copied_text_digest("x = 1\ry = 2\r") is None
    assert code_digest("x = 1\r\ny = 2\r\n") is not None


# -- the cached `check` and `check --no-cache` give one verdict after every kind of edit -------

SHARED = textwrap.dedent(
    """\
    # shared blocks{char}
    import tensorflow.compat.v1 as tf


    def dense_block(x, units):
        W = tf.get_variable("W", [4, units])
        return tf.matmul(x, W)  # note


    def build(x):
        h = dense_block(x, 8)
        return tf.layers.dense(h, {head})
    """
)


def _to_crlf(root: Path, folders: tuple[str, ...]) -> None:
    for folder in folders:
        for path in (root / folder).rglob("*.py"):
            path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def _replace(root: Path, old: str, new: str) -> None:
    for path in (root / "models").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")


EDITS: dict[str, tuple[Callable[[Path], None], int]] = {
    # edit -> (what it does to a synced tree, the verdict both checks must give)
    "nothing": (lambda root: None, 0),
    "comment in a copied builder": (lambda root: _replace(root, "# note", "# a note"), 1),
    "comment between statements": (
        lambda root: _replace(root, "# note\n\n\n", "# note\n\n# later\n\n"),
        0,
    ),
    "form feed in a comment between statements": (
        lambda root: _replace(root, "# note\n\n\n", "# note\n\n# page\f break\n\n"),
        0,
    ),
    "form feed in a copied builder's comment": (
        lambda root: _replace(root, "# note", "# no\fte"),
        1,
    ),
    "builder edit": (lambda root: _replace(root, "[4, units]", "[5, units]"), 1),
    "CRLF checkout of everything": (lambda root: _to_crlf(root, ("models", "generated")), 0),
    "CRLF checkout of the models": (lambda root: _to_crlf(root, ("models",)), 0),
    "CRLF checkout of generated/": (lambda root: _to_crlf(root, ("generated",)), 0),
}


@pytest.mark.parametrize("char", ["", "\f"], ids=["plain", "form-feed"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_the_cached_and_the_uncached_check_agree(tmp_path: Path, edit: str, char: str) -> None:
    """After a real `sync` (which remembers the tree), each kind of edit: `check` from the cache
    and `check --no-cache` give the same verdict, the right one."""
    # Failed before: a comment edit in a copied builder of a file holding a form feed was "up
    # to date" from the cache, stale without it; a CRLF checkout was stale (both ways), with
    # "now shared with models/b.py (was models/b.py\r)".
    (tmp_path / "pyproject.toml").write_text(
        '[tool.codegen]\npaths = ["models"]\noutput = "generated"\n', encoding="utf-8"
    )
    (tmp_path / "models").mkdir()
    for name, head in (("alpha", 2), ("beta", 3)):
        text = SHARED.format(char=char, head=head)
        (tmp_path / "models" / f"{name}.py").write_text(text, encoding="utf-8")
    assert run(tmp_path, "sync")[0] == 1
    assert run(tmp_path, "check")[0] == 0
    change, expected = EDITS[edit]
    change(tmp_path)
    cached, uncached = run(tmp_path, "check"), run(tmp_path, "check", "--no-cache")
    assert (cached[0], uncached[0]) == (expected, expected), (cached[1], uncached[1])
    assert "\r" not in cached[1] + uncached[1]
