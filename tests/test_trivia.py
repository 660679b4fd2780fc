"""Which edits cannot change the outputs: the token digests a warm check compares."""

from __future__ import annotations

import random
import textwrap

import libcst as cst
import pytest
from conftest import MODELS

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
