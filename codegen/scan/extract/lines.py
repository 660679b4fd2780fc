"""Line numbers for facts: where each def, call and constant is, looked up in the text.

libcst's position metadata would cost a second pass over every tree; a def, a call or an
assignment can instead be found in the text by its name, in source order."""

from __future__ import annotations

import bisect
import functools
import itertools
import re

_DEF_LINE = re.compile(r"^[ \t]*(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.MULTILINE)


@functools.lru_cache(maxsize=1024)
def _call_pattern(leaf: str) -> re.Pattern[str]:
    """A call of `leaf` on one line (compiled once per name rather than once per call)."""
    return re.compile(r"\b" + re.escape(leaf) + r"\s*\(")


class LineIndex:
    """One module's text, indexed lazily for the line lookups the extractor makes."""

    def __init__(self, text: str):
        self.text = text
        self.def_lines: dict[tuple[str, str], list[int]] = {}
        self.lines: list[str] | None = None
        self.joined: str | None = None  # for call_line()
        self.starts: list[int] = []
        self.call_scan: dict[tuple[int, str], int] = {}  # (def line, leaf) -> where to look next
        # Line by line, as `^` under MULTILINE sees lines (a match never spans one): matching
        # only the lines that can hold a def beats a regex search through the whole text.
        for line, content in enumerate(text.split("\n"), 1):
            if "def" in content or "class" in content:
                match = _DEF_LINE.match(content)
                if match:
                    self.def_lines.setdefault((match.group(1), match.group(2)), []).append(line)

    def take_line(self, kind: str, name: str) -> int:
        """Line of the next `def name`/`class name` in source order (1 when not found)."""
        lines = self.def_lines.get((kind, name))
        return lines.pop(0) if lines else 1

    def all_lines(self) -> list[str]:
        """The text's lines, split once."""
        if self.lines is None:
            self.lines = self.text.splitlines()
        return self.lines

    def call_line(self, def_line: int, leaf: str) -> int:
        """Line of the next textual call of `leaf` after the def line (formatting-tolerant)."""
        lines = self.all_lines()
        if self.joined is None:
            # The lines joined, and where each starts: str.find skips the lines without the leaf
            # far faster than a loop over them (a leaf, an identifier, never spans two lines).
            self.joined = "\n".join(lines)
            self.starts = list(itertools.accumulate((len(t) + 1 for t in lines), initial=0))
        search = _call_pattern(leaf).search
        # Each call of a leaf takes the first matching line not taken yet, so the lines taken are
        # the first matches in order: the next search starts after the last line taken.
        key = (def_line, leaf)
        joined, starts = self.joined, self.starts
        number = self.call_scan.get(key, def_line)
        while number < len(lines):
            at = joined.find(leaf, starts[number])
            if at < 0:
                break
            number = bisect.bisect_right(starts, at) - 1  # the first line from here with the leaf
            # A match starts where the leaf does, and `\b` still sees the character before it:
            # searching the line from the leaf's first occurrence finds what a full search would.
            if search(lines[number], at - starts[number]):
                self.call_scan[key] = number + 1
                return number + 1
            number += 1
        return def_line

    def end_line(self, def_line: int) -> int:
        """Last line of a definition, from indentation (used only to show near-miss diffs)."""
        lines = self.all_lines()
        if def_line > len(lines):
            return def_line
        header = lines[def_line - 1]
        indent = len(header) - len(header.lstrip())
        last = def_line
        for number in range(def_line, len(lines)):
            text = lines[number]
            content = text.lstrip()  # empty exactly when text.strip() is, and starts the same
            if not content:
                continue
            if len(text) - len(content) <= indent and not content.startswith((")", "]", "}")):
                break
            last = number + 1
        return last

    def assignment_line(self, name: str) -> int:
        """Line of the first `name =` or `name:` at the start of a line (1 when not found)."""
        assigned = re.compile(rf"{re.escape(name)}\s*[:=]").match
        return next((i + 1 for i, text in enumerate(self.all_lines()) if assigned(text)), 1)
