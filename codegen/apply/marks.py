"""apply for real model shapes: `with <shim>.layer(model, position):` marks on shared inline layers.

A mark is an item added to the `with` that holds exactly the layer's statements (the TextCNN
`with tf.device("/cpu:0"), tf.name_scope("embedding"):` block), or a new `with` around them.
Marks the edit no longer asks for are taken out again, and a `with` left with no item gives its
body back to the enclosing block, so routing and un-routing round-trip to the same text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from codegen import diagnostics, lines, names
from codegen.model import Diagnostic, LayerMark, ModelEdit

_Spot = tuple[str, int]  # (model, position): what one mark says


@dataclass(frozen=True)
class _Wrap:
    """New `with` marks around body[start:end] of one block, in order."""

    start: int
    end: int
    spot: _Spot


def mark_spot(item: cst.WithItem, alias: str) -> _Spot | None:
    """The (model, position) of our `alias.layer("model", position)` item; None if not ours."""
    call = item.item
    if not (
        item.asname is None
        and isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and isinstance(call.func.value, cst.Name)
        and call.func.value.value == alias
        and call.func.attr.value == names.LAYER
    ):
        return None
    args = call.args
    if (
        len(args) == 2
        and not any(arg.keyword or arg.star for arg in args)
        and isinstance(args[0].value, cst.SimpleString)
        and isinstance(args[1].value, cst.Integer)
    ):
        model = args[0].value.evaluated_value
        if isinstance(model, str):
            return model, int(args[1].value.value)
    return "", -1  # ours, but not in a form we write: never wanted, so it is taken out


def is_mark(item: cst.WithItem, alias: str) -> bool:
    """Whether a with-item is one of our layer marks."""
    return mark_spot(item, alias) is not None


def mark_layers(module: cst.Module, edit: ModelEdit) -> tuple[cst.Module, tuple[Diagnostic, ...]]:
    """Add the marks `edit` asks for and remove every other mark of its shim."""
    wanted = tuple(mark for mark in edit.marks if not mark.expression) if edit.routes else ()
    if not wanted and f"{edit.shim_alias}.{names.LAYER}" not in module.code:
        return module, ()  # nothing to add, nothing of ours to take out: skip the position pass
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    finder = _Targets(edit.shim_alias, wanted)
    wrapper.visit(finder)
    problems = [
        diagnostics.error(
            edit.path,
            diagnostics.MISSING_LAYER,
            f"no statement of `{mark.function}` covers lines {mark.line}-{mark.end_line} "
            f"for the shared layer {mark.position} of `{mark.model}`",
            line=mark.line,
        )
        for mark in wanted
        if mark not in finder.placed
    ]
    if problems:
        return module, tuple(problems)
    marks = _Marks(
        edit.shim_alias,
        finder.items,
        finder.wraps,
        finder.columns,
        edit.line_length,
        module.default_newline,
    )
    return wrapper.module.visit(marks), ()


def _lines(node: cst.CSTNode, positions: Mapping[cst.CSTNode, object]) -> tuple[int, int]:
    span = positions[node]
    return span.start.line, span.end.line  # type: ignore[attr-defined]


def _body(node: cst.BaseCompoundStatement) -> Sequence[cst.BaseStatement] | None:
    body = node.body
    return body.body if isinstance(body, cst.IndentedBlock) else None


class MarkTargets(cst.CSTVisitor):
    """Read-only: the wanted marks by the function (qualified name) they belong in, and the
    qualified name of where the walk is; each kind of mark finds its own spots."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, alias: str, wanted: Sequence[LayerMark]) -> None:
        super().__init__()
        self.alias = alias
        self.by_function: dict[str, list[LayerMark]] = {}
        for mark in wanted:
            self.by_function.setdefault(mark.function, []).append(mark)
        self._stack: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._stack.pop()


class _Targets(MarkTargets):
    """Read-only: where each wanted mark goes (an existing `with`, or a new one in a block)."""

    def __init__(self, alias: str, wanted: Sequence[LayerMark]) -> None:
        super().__init__(alias, wanted)
        self.items: dict[int, list[_Spot]] = {}  # id(With) -> marks it must hold, in order
        self.wraps: dict[int, list[_Wrap]] = {}  # id(IndentedBlock) -> new withs in it
        self.columns: dict[int, int] = {}  # id(With) -> the column its `with` starts at
        self.placed: set[LayerMark] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append(node.name.value)
        marks = self.by_function.get(".".join(self._stack), [])
        if marks and isinstance(node.body, cst.IndentedBlock):
            positions = self.metadata[PositionProvider]
            for mark in marks:
                if self._place(node.body, mark, positions):
                    self.placed.add(mark)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def _place(
        self, block: cst.IndentedBlock, mark: LayerMark, positions: Mapping[cst.CSTNode, object]
    ) -> bool:
        spot = (mark.model, mark.position)
        first, last = mark.line, mark.end_line
        covered: list[int] = []
        for index, stmt in enumerate(block.body):
            start, end = _lines(stmt, positions)
            if start <= first and last <= end and (start, end) != (first, last):
                # The layer lies inside this statement: a `with` holding exactly it gets the
                # item, any other compound statement is looked into.
                if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
                    return False
                if isinstance(stmt, cst.SimpleStatementLine) and first == last:
                    # The call of an imported builder, on a line of a longer statement
                    # (`model = modeling.BertModel(` over several lines): the mark holds the
                    # whole statement.
                    self.wraps.setdefault(id(block), []).append(_Wrap(index, index + 1, spot))
                    return True
                inner = _body(stmt) if isinstance(stmt, cst.BaseCompoundStatement) else None
                if inner is None:
                    return False
                # The `with` gets the item when it holds just the layer, or when it is one of
                # ours only, written around a longer statement holding the layer's call (it
                # stays, even where a formatter has re-wrapped its header).
                if isinstance(stmt, cst.With) and (
                    all(
                        first <= _lines(s, positions)[0] and _lines(s, positions)[1] <= last
                        for s in inner
                    )
                    or all(is_mark(item, self.alias) for item in stmt.items)
                ):
                    self._add_item(stmt, spot, positions)
                    return True
                assert isinstance(stmt, cst.BaseCompoundStatement)
                assert isinstance(stmt.body, cst.IndentedBlock)
                return self._place(stmt.body, mark, positions)
            if first <= start and end <= last:
                covered.append(index)
        if not covered or covered != list(range(covered[0], covered[-1] + 1)):
            return False
        only = block.body[covered[0]]
        if len(covered) == 1 and isinstance(only, cst.With):
            self._add_item(only, spot, positions)
            return True
        self.wraps.setdefault(id(block), []).append(_Wrap(covered[0], covered[-1] + 1, spot))
        return True

    def _add_item(
        self, stmt: cst.With, spot: _Spot, positions: Mapping[cst.CSTNode, object]
    ) -> None:
        self.items.setdefault(id(stmt), []).append(spot)
        self.columns[id(stmt)] = positions[stmt].start.column  # type: ignore[attr-defined]


class _Marks(cst.CSTTransformer):
    """Puts each `with` item where `_Targets` said, takes out every other mark of ours."""

    def __init__(
        self,
        alias: str,
        items: dict[int, list[_Spot]],
        wraps: dict[int, list[_Wrap]],
        columns: dict[int, int],
        line_length: int,
        newline: str,  # the file's own, for the continuation line
    ) -> None:
        super().__init__()
        self.alias = alias
        self.items = items
        self.wraps = wraps
        self.columns = columns
        self.line_length = line_length
        self.newline = newline
        # Withs left with no item, by id; the values keep them alive so no id is reused.
        self._unwrap: dict[int, cst.With] = {}

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        wanted = list(dict.fromkeys(self.items.get(id(original_node), [])))
        kept: list[cst.WithItem] = []
        present: set[_Spot] = set()
        for item in updated_node.items:
            spot = mark_spot(item, self.alias)
            if spot is None or (spot in wanted and spot not in present):
                kept.append(item)
                if spot is not None:
                    present.add(spot)
        added = [_item(self.alias, spot) for spot in wanted if spot not in present]
        if len(kept) == len(updated_node.items) and not added:
            return updated_node
        if not kept and not added:
            self._unwrap[id(updated_node)] = updated_node
            return updated_node
        parenthesized = isinstance(updated_node.lpar, cst.LeftParen)
        last = updated_node.items[-1]
        if kept and kept[-1] is not last:
            # The last item was a mark taken out: the new last item ends the way it ended
            # (`with (a, <mark>,):` gives back `with (a,):`), as added marks take it below.
            kept[-1] = kept[-1].with_changes(comma=last.comma)
        if kept and added and kept[-1].comma is not cst.MaybeSentinel.DEFAULT:
            # `with (a, b,):` keeps its trailing comma style on the new last item.
            added[-1] = added[-1].with_changes(comma=kept[-1].comma)
            kept[-1] = kept[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        items = [*kept, *added]
        if not parenthesized and items[-1].comma is not cst.MaybeSentinel.DEFAULT:
            items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        column = self.columns.get(id(original_node), 0)
        if added and kept and not parenthesized and self._too_long(updated_node, items, column):
            # The marks go on a continuation line under the first item (`\` works on every
            # Python; a parenthesised `with` needs 3.10), so the header keeps the line length.
            continued = cst.Comma(
                whitespace_after=cst.SimpleWhitespace(
                    " \\" + self.newline + " " * (column + len("with "))
                )
            )
            items[len(kept) - 1] = items[len(kept) - 1].with_changes(comma=continued)
        return updated_node.with_changes(items=items)

    def _too_long(self, node: cst.With, items: list[cst.WithItem], column: int) -> bool:
        """Whether the `with` header's last line, with `items`, passes the line length."""
        header = cst.Module(body=()).code_for_node(
            node.with_changes(
                items=items, leading_lines=(), body=cst.SimpleStatementSuite(body=(cst.Pass(),))
            )
        )
        final = lines.split_lines(header.removesuffix(" pass\n"))[-1]
        comment = node.body.header.comment if isinstance(node.body, cst.IndentedBlock) else None
        width = len(final) + (len(comment.value) + 2 if comment is not None else 0)
        return (column if "\n" not in header.rstrip("\n") else 0) + width > self.line_length

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        wraps = self.wraps.get(id(original_node), [])
        if not wraps and not any(id(stmt) in self._unwrap for stmt in updated_node.body):
            return updated_node
        body = list(updated_node.body)
        # Wrap from the end, so earlier indexes still point at the original statements.
        for wrap in sorted(wraps, key=lambda w: w.start, reverse=True):
            body[wrap.start : wrap.end] = [_wrap(body[wrap.start : wrap.end], self.alias, wrap)]
        out: list[cst.BaseStatement] = []
        for stmt in body:
            if id(stmt) in self._unwrap:
                assert isinstance(stmt, cst.With)
                out.extend(_unwrapped(stmt))
            else:
                out.append(stmt)
        return updated_node.with_changes(body=out)


def _item(alias: str, spot: _Spot) -> cst.WithItem:
    model, position = spot
    text = f'"{model}"' if model.replace(".", "_").isidentifier() else repr(model)
    return cst.WithItem(item=cst.parse_expression(f"{alias}.{names.LAYER}({text}, {position})"))


def _wrap(stmts: list[cst.BaseStatement], alias: str, wrap: _Wrap) -> cst.With:
    """`with alias.layer(...):` around `stmts`; comments above the first stay above the with."""
    first = stmts[0]
    assert isinstance(first, cst.SimpleStatementLine | cst.BaseCompoundStatement)
    leading = first.leading_lines
    stmts = [first.with_changes(leading_lines=()), *stmts[1:]]
    return cst.With(
        items=[_item(alias, wrap.spot)],
        body=cst.IndentedBlock(body=stmts),
        leading_lines=leading,
    )


def _unwrapped(stmt: cst.With) -> list[cst.BaseStatement]:
    """The body of a `with` that lost its last item, in its place; its comments kept."""
    carried = list(stmt.leading_lines)
    body = stmt.body
    if isinstance(body, cst.SimpleStatementSuite):
        inner: list[cst.BaseStatement] = [
            cst.SimpleStatementLine(body=body.body, trailing_whitespace=body.trailing_whitespace)
        ]
    else:
        assert isinstance(body, cst.IndentedBlock)
        inner = list(body.body)
        header = body.header
        if header.comment is not None:
            carried.append(cst.EmptyLine(comment=header.comment))
        carried.extend(body.footer)  # rare: comments below the last statement move above
    first = inner[0]
    assert isinstance(first, cst.SimpleStatementLine | cst.BaseCompoundStatement)
    inner[0] = first.with_changes(leading_lines=[*carried, *first.leading_lines])
    return inner
