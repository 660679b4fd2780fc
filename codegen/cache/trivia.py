"""Edits that cannot change the outputs (comments, blank lines), found by tokens, not by parsing.

A warm `check` uses this to skip re-planning when a file changed only in such trivia: Python's
tokenizer is cheap and needs neither libcst nor the facts of the other files.
"""

from __future__ import annotations

import hashlib
import io
import tokenize

from codegen.lines import split_lines

_NOT_CODE = frozenset({tokenize.COMMENT, tokenize.NL})


def code_digest(text: str) -> str | None:
    """sha256 of the file's tokens without comments and blank lines; None if untokenizable.

    Equal digests mean equal syntax trees, hence equal facts apart from line numbers: everything
    the plan, the shims and `apply` decide from.
    """
    tokens = _tokens(text)
    if tokens is None:
        return None
    digest = hashlib.sha256()
    for token in tokens:
        if token.type not in _NOT_CODE:
            digest.update(f"{token.type}\x1f{token.string}\x1e".encode())
    return digest.hexdigest()


def copied_text_digest(text: str) -> str | None:
    """sha256 of the file's lines except blank lines and column-0 comments between top-level
    statements; None if untokenizable.

    layers_common copies top-level definitions verbatim, comments inside them included, but
    libcst gives the lines between two top-level statements to the next one's `leading_lines`,
    which the copy drops. Only those lines may change without changing layers_common.
    """
    tokens = _tokens(text)
    if tokens is None:
        return None
    lines = split_lines(text, keepends=True)  # rows as the tokenizer numbers them
    dropped = _module_gap_rows(tokens)
    digest = hashlib.sha256()
    for row, line in enumerate(lines, start=1):
        if row not in dropped:
            digest.update(line.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _tokens(text: str) -> list[tokenize.TokenInfo] | None:
    """The file's tokens, its rows split where Python and libcst split lines; None when the
    tokenizer cannot say (then nothing counts as trivia: the file is re-planned)."""
    try:
        # newline="": lines end at `\n`, `\r\n` and `\r` only, and keep their endings.
        tokens = list(tokenize.generate_tokens(io.StringIO(text, newline="").readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    # A bare `\r` ends a line for Python but is an error token to `tokenize`.
    return None if any(t.type == tokenize.ERRORTOKEN for t in tokens) else tokens


def _module_gap_rows(tokens: list[tokenize.TokenInfo]) -> set[int]:
    """Rows holding only blank space or a column-0 comment, between two top-level statements."""
    gaps: set[int] = set()
    depth = 0
    pending: set[int] = set()  # code-free rows since the last code token
    pending_ok = True  # every comment among them starts at column 0
    in_decorators = False  # a `@decorator` line came last: its def (and comments) follow
    line_start = True
    for token in tokens:
        if token.type == tokenize.INDENT:
            depth += 1
            continue
        if token.type == tokenize.DEDENT:
            depth -= 1
            continue
        if token.type in _NOT_CODE:
            # Only between logical lines: a comment inside brackets or after code is in a statement.
            if line_start:
                pending.add(token.start[0])
                if token.type == tokenize.COMMENT:
                    pending_ok = pending_ok and token.start[1] == 0
                elif not token.line.strip() and token.line.strip("\r\n"):
                    pending_ok = False  # libcst may keep a whitespace-only line in a block
            continue
        # A code token: the rows before it were a gap between top-level statements if it starts
        # one (depth 0), or is the end of the file.
        if pending and pending_ok and depth == 0 and not in_decorators:
            gaps |= pending
        pending, pending_ok = set(), True
        if line_start and token.type != tokenize.ENDMARKER:
            in_decorators = depth == 0 and token.string == "@"
        line_start = token.type == tokenize.NEWLINE
    return gaps
