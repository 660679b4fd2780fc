"""The round-trip audit behind CG406: a rewrite may change only routing lines (our imports,
decorators and marks, rerouted imports and what moves with them), compared as text."""

from __future__ import annotations

import difflib
import re

from codegen import lines, names
from codegen.apply.gather import Shim


def first_difference(source: str, printed: str) -> tuple[int, str] | None:
    """Where libcst's printing of the untouched module differs from the file, or None."""
    if source == printed:
        return None
    old, new = lines.split_lines(source, keepends=True), lines.split_lines(printed, keepends=True)
    for number, (a, b) in enumerate(zip(old, new, strict=False), 1):
        if a != b:
            return number, f"line {number} would change ({a!r} -> {b!r})"
    number = min(len(old), len(new)) + 1
    return number, f"lines from {number} on would change (end of file)"


_IMPORT_LINE = re.compile(r"^(from|import)\s")

_IMPORT_PART = re.compile(r"^[\w\s,.()]*(#.*)?$")


def unintended(source: str, new_source: str, shims: tuple[Shim, ...]) -> tuple[int, str] | None:
    """The first changed line that is not part of routing (the round-trip check), or None.

    Changed lines may be: our import and decorators, imports rerouted between the common module
    and the shim (and their parenthesised continuation lines), `pass` for an emptied block, a
    comment moved off a removed line, and blank lines next to any of those.
    """
    old = lines.split_lines(source, keepends=True)
    new = lines.split_lines(new_source, keepends=True)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # A mark continued on its own line (`with a, \\` + `alias.layer(...):`) is one line.
        removed, added = _logical_lines(old[i1:i2]), _logical_lines(new[j1:j2])
        text = "".join(removed + added)
        removed_text = {line.strip() for line in removed}
        added_text = {line.strip() for line in added}
        routing = False
        for line in (*removed, *added):
            stripped = line.strip()
            if not stripped:
                continue
            if any(
                stripped.startswith(f"@{shim.alias}.")
                or f"{shim.alias}.{names.LAYER}(" in stripped
                or _is_our_import(stripped, shim)
                for shim in shims
            ):
                routing = True
            elif stripped in removed_text and stripped in added_text:
                continue  # the same line, indented into or out of a layer mark's `with`
            elif _gains_or_loses_a_mark(stripped, removed if line in added else added, shims):
                continue  # `with a:` <-> `with a, <alias>.layer(...):`
            elif _wraps_the_same(stripped, removed if line in added else added, shims):
                continue  # `Dense(8)` <-> `<alias>.layer("m", 0, Dense(8))`
            elif stripped == "pass" or _IMPORT_PART.match(stripped):
                continue
            elif stripped.startswith("#") and text.count(stripped) >= 2:
                continue  # a comment that moved off a removed line
            else:
                return i1 + 1, f"line {i1 + 1} would change ({line!r})"
        if not routing and not any(_inside_our_import(old, i1, shim) for shim in shims):
            return i1 + 1, f"line {i1 + 1} would change ({''.join(removed or added)[:60]!r})"
    return None


# A one-line string literal: its brackets are not the code's.
_STRING_LITERAL = re.compile(r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'|" r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')


def _logical_lines(rows: list[str]) -> list[str]:
    """`rows` with continuations (a `\\` or an open bracket) joined to the line they continue,
    so a mark that a formatter spread over several lines reads as one line."""
    joined: list[str] = []
    pending = ""
    depth = 0
    for line in rows:
        body = line.rstrip("\r\n")
        code = _STRING_LITERAL.sub("", body).split("#", 1)[0]
        opened = sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        depth = max(0, depth + opened)
        piece = body.strip() if pending else body.rstrip()
        if body.endswith("\\") or depth > 0:
            pending += piece.removesuffix("\\").rstrip() + " "
            continue
        joined.append((pending + piece) + line[len(body) :])
        pending = ""
    if pending:
        joined.append(pending.rstrip() + "\n")
    return joined


def _gains_or_loses_a_mark(stripped: str, other_side: list[str], shims: tuple[Shim, ...]) -> bool:
    """Whether a line of the other side is this one with a layer mark added to its `with`."""
    core = stripped.rstrip(":").strip()
    for shim in shims:
        mark = rf"{re.escape(shim.alias)}\.{names.LAYER}\([^()]*\)"
        for line in other_side:
            if f"{shim.alias}.{names.LAYER}(" not in line:
                continue
            plain = re.sub(rf",\s*{mark}|{mark},\s*", "", line).strip()
            if plain == stripped or (core and core in line):
                return True
    return False


def _wraps_the_same(stripped: str, other_side: list[str], shims: tuple[Shim, ...]) -> bool:
    """Whether this line and one of the other side read the same once expression marks
    (`<alias>.layer("<model>", <position>, <layer>)`) give back what they wrap."""
    plain = without_expression_marks(stripped, shims)
    return any(without_expression_marks(line.strip(), shims) == plain for line in other_side)


def without_expression_marks(line: str, shims: tuple[Shim, ...]) -> str:
    """`line` with every expression mark of these shims replaced by what it wraps (text only:
    a string literal's brackets are skipped when matching the mark's parenthesis)."""
    for shim in shims:
        head = re.compile(
            rf"{re.escape(shim.alias)}\.{names.LAYER}\(\s*(\"[^\"]*\"|'[^']*'),\s*\d+,\s*"
        )
        while match := head.search(line):
            masked = _STRING_LITERAL.sub(lambda m: "_" * len(m.group()), line)
            depth, end = 1, None
            for index in range(match.end(), len(line)):
                depth += {"(": 1, ")": -1}.get(masked[index], 0)
                if depth == 0:
                    end = index
                    break
            if end is None:
                break
            wrapped = line[match.end() : end].rstrip().rstrip(",")
            line = line[: match.start()] + wrapped + line[end + 1 :]
    return line


def _is_our_import(line: str, shim: Shim) -> bool:
    stripped = line.strip()
    return bool(_IMPORT_LINE.match(stripped)) and any(
        name in stripped for name in (shim.module, shim.common, shim.alias)
    )


def _inside_our_import(rows: list[str], index: int, shim: Shim) -> bool:
    """Whether line `index` continues a parenthesised import of the shim or common module."""
    for back in range(index - 1, -1, -1):
        if _is_our_import(rows[back], shim):
            return True
        if not _IMPORT_PART.match(rows[back].strip()) or not rows[back].strip():
            return False
    return False
