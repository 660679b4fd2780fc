"""One way of counting lines in the whole tool: Python's and libcst's (`\\n`, `\\r\\n`, `\\r`).

`str.splitlines()` also breaks at `\\v`, `\\f`, `\\x1c`-`\\x1e`, `\\x85`, U+2028 and U+2029, which
Python source holds in comments and strings without starting a line there: a row counted that way
is not the row that Python, libcst's positions and an editor's "go to line" mean.
"""

from __future__ import annotations

import bisect
import io
import re
from itertools import accumulate

NEWLINE = re.compile(r"\r\n?|\n")
_NEWLINE_BYTES = re.compile(rb"\r\n?|\n")
_PAST_NEWLINE = (1).__add__


def split_lines(text: str, *, keepends: bool = False) -> list[str]:
    """The text's lines as Python counts them (a final line ending starts no new line)."""
    # Universal newlines, returned untranslated: exactly `\n`, `\r\n` and `\r` end a line.
    lines = io.StringIO(text, newline="").readlines()
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def line_starts(text: str) -> list[int]:
    """The offset where each line starts (line 1 at index 0)."""
    if "\r" in text:
        return [0, *(match.end() for match in NEWLINE.finditer(text))]
    # Only `\n` ends a line: each starts one past the previous line's length (all in C).
    return [0, *accumulate(map(_PAST_NEWLINE, map(len, text.split("\n")[:-1])))]


def position(starts: list[int], offset: int) -> tuple[int, int]:
    """(line from 1, column from 0) of `offset`, given the text's `line_starts`."""
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index]


def position_in(data: str | bytes, offset: int) -> tuple[int, int]:
    """(line from 1, column from 0) of `offset` in text or undecoded bytes."""
    pattern = _NEWLINE_BYTES if isinstance(data, bytes) else NEWLINE
    start, line = 0, 1
    for match in pattern.finditer(data, 0, offset):  # type: ignore[arg-type]
        start, line = match.end(), line + 1
    return line, offset - start
