"""`codegen apply`: the smallest libcst edit routing a model's shared layers through its shim.

The facts come from a read-only visitor (apply/gather.py), the rewrite is a separate
transformer (here), the result a small union (apply/results.py), and a text audit checks that
nothing but routing changed (apply/audit.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    MetadataWrapper,
)

from codegen import diagnostics, names
from codegen.apply import marks as _route
from codegen.apply.audit import first_difference, unintended
from codegen.apply.expressions import mark_expressions
from codegen.apply.gather import (
    Gather,
    Kind,
    QuickGather,
    Shim,
    decorator_kind,
    from_module,
    invalid_names,
    missing,
    stale_shims,
    used_outside_routing,
)
from codegen.apply.results import Applied, ApplyResult, Failed, Unchanged, failed
from codegen.model import ModelEdit
from codegen.names import SHIM_API
from codegen.scan.extract import parse_module
from codegen.scan.extract.nodes import is_docstring

__all__ = ["Applied", "ApplyResult", "Failed", "Unchanged", "apply_edit", "unroute"]


_BOM = "\ufeff"

# A method's descriptor decorator must stay outermost, or the class would hold a plain function.
_DESCRIPTORS = frozenset({"staticmethod", "classmethod", "property"})


def apply_edit(source: str, edit: ModelEdit) -> ApplyResult:
    """Route `source` through its shim per `edit` (no shared builders: unroute); never raises."""
    try:
        return _apply(source, edit)
    except Exception as exc:  # the contract is "never raises": a bug must not stop other files
        return failed(
            edit,
            diagnostics.APPLY_INTERNAL,
            f"internal error while applying: {type(exc).__name__}: {exc}",
        )


def unroute(source: str, edit: ModelEdit) -> ApplyResult:
    """Remove every trace of the shim `edit` names: its import, decorators and rerouted imports."""
    return apply_edit(source, replace(edit, shared_builders=(), roots=(), marks=()))


def _apply(source: str, edit: ModelEdit) -> ApplyResult:
    # libcst drops a byte-order mark, so it is put back by hand.
    bom = _BOM if source.startswith(_BOM) else ""
    try:
        module = parse_module(source[len(bom) :])
        parsed = module
        printed = bom + module.code  # what libcst prints for the file as it is
    except cst.ParserSyntaxError as exc:
        return failed(
            edit,
            diagnostics.APPLY_SYNTAX_ERROR,
            f"cannot parse: {exc.message}",
            exc.raw_line,
            exc.raw_column,
        )
    invalid = invalid_names(edit)
    if invalid:
        return failed(edit, diagnostics.INVALID_NAMES, invalid)
    route = edit.routes
    shim = Shim(edit.shim_module, edit.shim_alias, edit.common_module)
    wanted: dict[str, list[Kind]] = {}
    if route:
        for qualname in edit.shared_builders:
            wanted.setdefault(qualname, []).append((names.SHARED_LAYER, qualname))
        for root in edit.roots:
            wanted.setdefault(root.qualname, []).append((names.MODEL, root.model))
    # Layer marks first: their lines are those of the text that was scanned. Expression marks
    # (Keras) before `with` marks: they never add a line.
    module, problems = mark_expressions(module, edit, printed)
    if problems:
        return Failed(problems)
    module, problems = _route.mark_layers(module, edit)
    if problems:
        return Failed(problems)

    # Scope analysis (most of apply's cost) only matters where the alias is already spelled: a
    # file that never mentions it binds it nowhere, as in every model's first `apply`.
    scoped = shim.alias in source
    targets = frozenset(wanted)
    facts: Gather = Gather(edit.path, shim, targets, scoped=False)
    if scoped:
        # Most files spell the alias only where apply wrote it: no other binding, so nothing
        # for the scope analysis to find that a plain pass does not. Counted in the text the
        # module now prints (the marks above may have added or removed some).
        text = printed if module is parsed else module.code
        facts = QuickGather(edit.path, shim, targets, text)
        module.visit(facts)
        if not facts.settled:
            facts = Gather(edit.path, shim, targets, scoped=True)
            wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
            wrapper.visit(facts)
            module = wrapper.module
    else:
        module.visit(facts)
    if route:
        absent = missing(edit, facts) + facts.conflicts
        if absent:
            return Failed(tuple(sorted(absent)))

    keep_import = route or facts.other_alias_uses
    transformer = _Rewrite(
        shim,
        wanted=wanted,
        add_import=route and not facts.has_import,
        remove_import=not keep_import,
    )
    # Every other shim this tool could have routed the file through (a renamed model, a model
    # whose name changed when another file with its stem arrived, a model that no longer shares
    # anything) is un-routed first: its marks, decorators and rerouted imports, and its import
    # unless the file uses the alias for something else (`x_transfer.restore(...)`). This holds
    # whether or not the plan routes this file: what decides is what the file routes.
    stale = stale_shims(module, source, shim)
    for old in stale:
        gone = replace(
            edit,
            shim_module=old.module,
            shim_alias=old.alias,
            shared_builders=(),
            roots=(),
            marks=(),
        )
        module, problems = mark_expressions(module, gone)
        if not problems:
            module, problems = _route.mark_layers(module, gone)
        if problems:  # only wanted marks can fail to be placed; none is wanted here
            return Failed(problems)
        module = module.visit(
            _Rewrite(
                old,
                wanted={},
                add_import=False,
                remove_import=not used_outside_routing(module, old.alias),
            )
        )
    new_source = bom + module.visit(transformer).code
    if new_source in (source, printed):
        # Nothing meant to change: never rewrite a file only because libcst prints it otherwise.
        return Unchanged()
    lost = first_difference(source, printed) or unintended(source, new_source, (shim, *stale))
    if lost:
        line, what = lost
        message = (
            f"{what}: libcst cannot rewrite this file without changing lines it does not mean to "
            "touch, so it is left alone; route it by hand (see README, Using a shim) or simplify "
            "that line (form feeds, a bare CR, standalone `\\` lines)"
        )
        return failed(edit, diagnostics.ROUND_TRIP, message, line)
    return Applied(new_source)


def _make_decorator(kind: Kind, alias: str) -> cst.Decorator:
    return cst.Decorator(cst.parse_expression(f'{alias}.{kind[0]}("{kind[1]}")'))


class _Rewrite(cst.CSTTransformer):
    """Adds and removes our decorators and imports; every other node comes back untouched."""

    def __init__(
        self,
        shim: Shim,
        *,
        wanted: dict[str, list[Kind]],
        add_import: bool,
        remove_import: bool,
    ) -> None:
        super().__init__()
        self.shim = shim
        self.wanted = wanted
        self.add_import = add_import
        self.remove_import = remove_import
        self._stack: list[tuple[str, bool]] = []  # (name, is a class)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.append((node.name.value, True))

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self._stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append((node.name.value, False))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        qualname = ".".join(name for name, _ in self._stack)
        self._stack.pop()
        in_class = bool(self._stack) and self._stack[-1][1]
        return self._decorate(updated_node, self.wanted.get(qualname, []), in_class=in_class)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body, footer = self._rewrite_body(updated_node.body, updated_node.footer)
        if self.add_import:
            at, after_docstring = _import_position(body)
            line = self.shim.import_line()
            if after_docstring:
                line = line.with_changes(leading_lines=[cst.EmptyLine()])
            body.insert(at, line)
        return updated_node.with_changes(body=body, footer=footer)

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body, footer = self._rewrite_body(updated_node.body, updated_node.footer)
        if not body:  # a block whose only statement was our import still needs a statement
            body = [cst.SimpleStatementLine([cst.Pass()])]
        return updated_node.with_changes(body=body, footer=footer)

    def _decorate(
        self, node: cst.FunctionDef, wanted: list[Kind], *, in_class: bool
    ) -> cst.FunctionDef:
        alias = self.shim.alias
        decorators: list[cst.Decorator] = []
        present: set[Kind] = set()
        carried: list[cst.EmptyLine] = []
        changed = False
        for decorator in node.decorators:
            kind = decorator_kind(decorator, alias)
            if kind is not None and (kind not in wanted or kind in present):
                changed = True
                if _has_comment(decorator.leading_lines):
                    carried.extend(decorator.leading_lines)
                carried.extend(_own_line(decorator.trailing_whitespace))
                continue
            if kind is not None:
                present.add(kind)
            if carried:
                decorator = decorator.with_changes(
                    leading_lines=[*carried, *decorator.leading_lines]
                )
                carried = []
            decorators.append(decorator)
        missing = [_make_decorator(kind, alias) for kind in wanted if kind not in present]
        if missing:
            changed = True
            at = 0
            while in_class and at < len(decorators) and _is_descriptor(decorators[at]):
                at += 1
            decorators[at:at] = missing
        if not changed:
            return node
        return node.with_changes(
            decorators=decorators,
            lines_after_decorators=[*carried, *node.lines_after_decorators],
        )

    def _rewrite_body(
        self, body: Sequence[cst.BaseStatement], footer: Sequence[cst.EmptyLine]
    ) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
        out: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []  # comments above a removed line move to the next one
        for stmt in body:
            new: list[cst.BaseStatement] = (
                self._rewrite_line(stmt) if isinstance(stmt, cst.SimpleStatementLine) else [stmt]
            )
            if not new:
                assert isinstance(stmt, cst.SimpleStatementLine)
                if _has_comment(stmt.leading_lines):
                    carried.extend(stmt.leading_lines)
                carried.extend(_own_line(stmt.trailing_whitespace))
                continue
            if carried:
                first = new[0]
                assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
                new[0] = first.with_changes(leading_lines=[*carried, *first.leading_lines])
                carried = []
            out.extend(new)
        return out, [*carried, *footer]

    def _rewrite_line(self, line: cst.SimpleStatementLine) -> list[cst.BaseStatement]:
        small: list[cst.BaseSmallStatement] = []
        extra: list[cst.BaseStatement] = []
        changed = False
        for stmt in line.body:
            if not isinstance(stmt, (cst.Import, cst.ImportFrom)):
                small.append(stmt)
                continue
            kept, moved = self._rewrite_import(stmt)
            changed = changed or kept is not stmt or moved is not None
            if kept is not None:
                small.append(kept)
            if moved is not None:
                extra.append(moved)
        if not changed:
            return [line]
        if not small:
            return extra
        if small[-1] is not line.body[-1]:
            # The old last statement is gone: take over its (usually absent) semicolon.
            small[-1] = small[-1].with_changes(semicolon=line.body[-1].semicolon)
        return [line.with_changes(body=small), *extra]

    def _rewrite_import(
        self, stmt: cst.Import | cst.ImportFrom
    ) -> tuple[cst.Import | cst.ImportFrom | None, cst.SimpleStatementLine | None]:
        """The statement to keep (None: drop it) and a split-off line for names that move."""
        if isinstance(stmt.names, cst.ImportStar):
            return stmt, None
        names = list(stmt.names)
        if self.remove_import:
            remaining = [name for name in names if not self.shim.binds_alias(stmt, name)]
            if not remaining:
                return None, None
            if len(remaining) != len(names):
                stmt = stmt.with_changes(names=_subset(remaining, names[-1]))
                names = remaining
        if isinstance(stmt, cst.Import):
            return stmt, None
        if from_module(stmt) != self.shim.module:
            return stmt, None
        # Builders imported from the shim (which re-exported canonical copies until shims stopped
        # doing so) come from layers_common; the shim's own API stays imported from the shim.
        staying = [name for name in names if name.evaluated_name in SHIM_API]
        leaving = [name for name in names if name.evaluated_name not in SHIM_API]
        if not leaving:
            return stmt, None
        destination = _dotted(self.shim.common)
        if not staying:
            return stmt.with_changes(module=destination), None
        moved = cst.ImportFrom(
            module=destination,
            names=[
                cst.ImportAlias(
                    name=name.name,
                    asname=name.asname,
                    comma=cst.MaybeSentinel.DEFAULT
                    if i == len(leaving) - 1
                    else cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                )
                for i, name in enumerate(leaving)
            ],
        )
        # A comment written after a moved name travels with it to the new line.
        comments = [c for c in map(_comma_comment, leaving) if c]
        trailing = (
            cst.TrailingWhitespace(
                whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(" ".join(comments))
            )
            if comments
            else cst.TrailingWhitespace()
        )
        line = cst.SimpleStatementLine([moved], trailing_whitespace=trailing)
        return stmt.with_changes(names=_subset(staying, names[-1])), line


def _comma_comment(name: cst.ImportAlias) -> str | None:
    """The comment on the line a name's comma ends, in a parenthesised import."""
    if isinstance(name.comma, cst.Comma) and isinstance(
        name.comma.whitespace_after, cst.ParenthesizedWhitespace
    ):
        comment = name.comma.whitespace_after.first_line.comment
        return comment.value if comment else None
    return None


def _subset(names: list[cst.ImportAlias], old_last: cst.ImportAlias) -> list[cst.ImportAlias]:
    """Names left in a statement; the new last one ends the list as the old last one did.

    In a parenthesised, one-name-a-line import it keeps the comment on its own line.
    """
    last = names[-1]
    if last is old_last:
        return names
    comma = old_last.comma
    if (
        isinstance(comma, cst.Comma)
        and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)
        and isinstance(last.comma, cst.Comma)
        and isinstance(last.comma.whitespace_after, cst.ParenthesizedWhitespace)
    ):
        own_line = last.comma.whitespace_after.first_line
        comma = comma.with_changes(
            whitespace_after=comma.whitespace_after.with_changes(first_line=own_line)
        )
    return [*names[:-1], last.with_changes(comma=comma)]


def _dotted(module: str) -> cst.Attribute | cst.Name:
    expr = cst.parse_expression(module)
    assert isinstance(expr, (cst.Attribute, cst.Name))
    return expr


def _own_line(trailing: cst.TrailingWhitespace) -> list[cst.EmptyLine]:
    """The comment at the end of a removed line, kept on a line of its own (nothing if none)."""
    if trailing.comment is None:
        return []
    return [cst.EmptyLine(indent=True, comment=trailing.comment)]


def _has_comment(lines: Sequence[cst.EmptyLine]) -> bool:
    return any(line.comment is not None for line in lines)


def _is_descriptor(decorator: cst.Decorator) -> bool:
    name = get_full_name_for_node(decorator.decorator)
    return name is not None and name.rpartition(".")[2] in _DESCRIPTORS


def _import_position(body: Sequence[cst.BaseStatement]) -> tuple[int, bool]:
    """Where the shim import goes: after the last import before the first definition.

    Returns the index and whether it directly follows the docstring (no import found).
    """
    start = 1 if body and is_docstring(body[0]) else 0
    limit = next(
        (i for i, stmt in enumerate(body) if _contains(stmt, (cst.FunctionDef, cst.ClassDef))),
        len(body),
    )
    last = None
    for i in range(start, limit):
        if _contains(body[i], (cst.Import, cst.ImportFrom)):
            last = i
    if last is not None:
        return last + 1, False
    return start, start == 1


class _Finder(cst.CSTVisitor):
    """Stops at the first node of the given types (libcst.matchers costs a tenth of a second to
    import, which every warm check would pay)."""

    def __init__(self, kinds: tuple[type[cst.CSTNode], ...]) -> None:
        self.kinds = kinds
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.found = self.found or isinstance(node, self.kinds)
        return not self.found


def _contains(node: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> bool:
    """True when `node` is, or holds anywhere below it, a node of one of `kinds`."""
    finder = _Finder(kinds)
    node.visit(finder)
    return finder.found
