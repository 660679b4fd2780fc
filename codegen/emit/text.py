"""Python source text the templates place, already in `ruff format` style: string literals,
docstrings and comments, wrapped to the generated code's width.

Generated code must be stable under the project's formatter without running one: every call
and collection the templates write is exploded with a magic trailing comma (stable at any line
length), and what a formatter never rewraps (docstrings, comments) is wrapped here.
"""

from __future__ import annotations

import textwrap

from codegen.model import DEFAULT_LINE_LENGTH

# Docstrings and comments end by this column: within ruff's and black's default, so generated
# code passes E501 in any project that keeps that default or a longer line.
WIDTH = DEFAULT_LINE_LENGTH


def string(text: str) -> str:
    """A string literal as ruff format spells it: double quotes, unless the text holds more
    double quotes than single ones; backslashes and unprintable characters escaped."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for char in text:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return quote + "".join(out) + quote


def one_line(text: str) -> str:
    """Text from file names, safe inside a generated docstring or comment: one line, no quotes
    or backslashes that could end the string (a path is data, never code)."""
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def wrap(text: str, *, width: int = WIDTH, indent: str = "", subsequent: str = "") -> list[str]:
    """`text` as lines of at most `width` columns (a word longer than that stays whole)."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=subsequent or indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def docstring(summary: str, *paragraphs: str) -> str:
    """A module docstring: the summary line, then each non-empty paragraph, all wrapped."""
    lines = wrap(f'"""{summary}')
    for paragraph in paragraphs:
        if paragraph:
            lines += ["", *wrap(paragraph)]
    if len(lines) == 1 and len(lines[0]) + 3 <= WIDTH:
        return lines[0] + '"""'
    return "\n".join([*lines, '"""'])


def comment(text: str, *, indent: int = 0) -> list[str]:
    """A comment (without its indentation) wrapped so that, indented, it ends by WIDTH;
    continuation lines start with `#   `."""
    return wrap(text, width=WIDTH - indent, indent="# ", subsequent="#   ")
