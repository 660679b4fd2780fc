"""Where each node of a parsed module is: libcst's own positions, at a fraction of their cost.

libcst's `PositionProvider` prints the module once and, for each node, notes where its printing
starts and ends, counting lines and columns after every token. This prints the module the same
way (`printer`: libcst's printing, short-cut for every node type but a rare few, checked
against the source) and notes only how many tokens came before the start and end of each call
and statement (and of every node libcst prints itself); the few positions the
extractor asks for are then looked up in the printed text, whose lines are counted the one way
the tool counts lines (`codegen.lines`). The result equals `PositionProvider`'s (syntactic
positions: a `def` starts at `def`, not at its decorators; an expression without its
parentheses), which is what `apply` places marks by; `tests/test_positions.py` pins that.
"""

from __future__ import annotations

import itertools
import sys
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState

from codegen.lines import line_starts, position
from codegen.scan.extract.printer import print_module

__all__ = ["Positions"]

_PRINT_DEPTH = 20_000
_CHUNK = 64  # tokens per stored offset
_Span = tuple[int, int]  # token indexes: where a node's printing starts and ends


class SpanRecorder(CodegenState):
    """A codegen state that notes the token span of every node with a syntactic position."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.spans: dict[int, _Span] = {}
        self.open: list[tuple[cst.CSTNode, int, cst.CSTNode | None, cst.CSTNode | None]] = []

    # libcst's base state yields from a generator-based context manager; returning self with
    # __enter__/__exit__ does the same for a fraction of the cost (one call per node printed).
    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> SpanRecorder:
        self.open.append((node, len(self.tokens), start_node, end_node))
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(*self.open.pop())

    def close(
        self,
        node: cst.CSTNode,
        start: int,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        """Note `node`'s span, ending here unless `start_node`/`end_node` (printed) bound it."""
        spans = self.spans
        end = len(self.tokens)
        # As PositionProvider does: a compound statement ends where its body's last statement
        # does (trailing comments and blank lines are not its own).
        if start_node is not None and id(start_node) in spans:
            start = spans[id(start_node)][0]
        if end_node is not None and id(end_node) in spans:
            end = spans[id(end_node)][1]
        spans[id(node)] = (start, end)


def _chunked(tokens: list[str]) -> tuple[list[int], str]:
    """The offset where each run of `_CHUNK` tokens starts, and the printed text."""
    # An offset per run, not per token: the few nodes asked about measure the rest of their
    # run on demand (a token's offset for every token cost a sixth of the whole pass).
    bounds = range(0, len(tokens) + _CHUNK, _CHUNK)
    runs = list(map("".join, map(tokens.__getitem__, map(slice, bounds, bounds[1:]))))
    return [0, *itertools.accumulate(map(len, runs))], "".join(runs)


class Positions:
    """Lines and columns of the nodes of one module, as libcst's PositionProvider gives them."""

    def __init__(self, module: cst.Module, text: str | None = None) -> None:
        recorder = SpanRecorder(module)
        # libcst prints a nested node a few Python frames deeper than its parent: a chain the
        # walker still handles (600 `+` terms, 600 adjacent strings) passes the default limit.
        # Those frames are Python's own (no C stack), so a higher limit, for this pass only.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, _PRINT_DEPTH))
        try:
            print_module(module, recorder)
            chunks, printed = _chunked(recorder.tokens)
            if text is not None and printed != text:
                # The short-cut printer must print the file back as libcst does; if it ever
                # does not, libcst's own printing decides (slower, never wrong).
                recorder = SpanRecorder(module)
                module._codegen(recorder)
                chunks, printed = _chunked(recorder.tokens)
        finally:
            sys.setrecursionlimit(limit)
        self._module = module  # keeps every node alive, so no id in `spans` is reused
        self._spans = recorder.spans
        self._tokens = recorder.tokens
        self._chunks = chunks
        self._starts = line_starts(printed)

    def _offset(self, token: int) -> int:
        """Where the token at this index starts in the text."""
        chunk = token // _CHUNK
        return self._chunks[chunk] + len("".join(self._tokens[chunk * _CHUNK : token]))

    def start(self, node: cst.CSTNode) -> tuple[int, int]:
        """(line, column) where the node starts."""
        return position(self._starts, self._offset(self._spans[id(node)][0]))

    def end(self, node: cst.CSTNode) -> tuple[int, int]:
        """(line, column) just after the node ends."""
        return position(self._starts, self._offset(self._spans[id(node)][1]))

    def line(self, node: cst.CSTNode) -> int:
        """The line the node starts on."""
        return self.start(node)[0]

    def end_line(self, node: cst.CSTNode) -> int:
        """The line the node ends on."""
        return self.end(node)[0]
