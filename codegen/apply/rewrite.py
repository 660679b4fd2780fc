"""`codegen apply`: the smallest libcst edit routing a model's shared layers through its shim."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    ClassScope,
    GlobalScope,
    ImportAssignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from codegen import diagnostics, names
from codegen.apply import marks as _route
from codegen.model import Diagnostic, ModelEdit
from codegen.names import is_identifier, is_reserved_in_shim
from codegen.scan.extract import parse_module

_BOM = "\ufeff"
# A method's descriptor decorator must stay outermost, or the class would hold a plain function.
_DESCRIPTORS = frozenset({"staticmethod", "classmethod", "property"})

# Our decorators: ("shared_layer", qualname or None when the argument is not a plain string),
# ("model", root name or None likewise) or ("build", None).
_Kind = tuple[str, str | None]


@dataclass(frozen=True)
class Applied:
    """The file must change; `new_source` is its whole new text."""

    new_source: str


@dataclass(frozen=True)
class Unchanged:
    """The file already routes exactly as the edit asks."""


@dataclass(frozen=True)
class Failed:
    """The file cannot be edited safely; nothing may be written."""

    diagnostics: tuple[Diagnostic, ...]


ApplyResult = Applied | Unchanged | Failed


def apply_edit(source: str, edit: ModelEdit) -> ApplyResult:
    """Route `source` through its shim per `edit` (no shared builders: unroute); never raises."""
    try:
        return _apply(source, edit)
    except Exception as exc:  # the contract is "never raises": a bug must not stop other files
        return _failed(
            edit,
            diagnostics.APPLY_INTERNAL,
            f"internal error while applying: {type(exc).__name__}: {exc}",
        )


def unroute(source: str, edit: ModelEdit) -> ApplyResult:
    """Remove every trace of the shim `edit` names: its import, decorators and rerouted imports."""
    return apply_edit(source, replace(edit, shared_builders=(), roots=(), marks=()))


def _failed(edit: ModelEdit, code: str, message: str, line: int = 1, column: int = 0) -> Failed:
    return Failed((diagnostics.error(edit.path, code, message, line=line, column=column),))


def _apply(source: str, edit: ModelEdit) -> ApplyResult:
    # libcst drops a byte-order mark, so it is put back by hand.
    bom = _BOM if source.startswith(_BOM) else ""
    try:
        module = parse_module(source[len(bom) :])
        printed = bom + module.code  # what libcst prints for the file as it is
    except cst.ParserSyntaxError as exc:
        return _failed(
            edit,
            diagnostics.APPLY_SYNTAX_ERROR,
            f"cannot parse: {exc.message}",
            exc.raw_line,
            exc.raw_column,
        )
    invalid = _invalid_names(edit)
    if invalid:
        return _failed(edit, diagnostics.INVALID_NAMES, invalid)
    route = edit.routes
    shim = _Shim(edit.shim_module, edit.shim_alias, edit.common_module)
    wanted: dict[str, list[_Kind]] = {}
    if route:
        for qualname in edit.shared_builders:
            wanted.setdefault(qualname, []).append((names.SHARED_LAYER, qualname))
        for root in edit.roots:
            wanted.setdefault(root.qualname, []).append((names.MODEL, root.model))
        if edit.build:
            wanted.setdefault(edit.build, []).append((names.BUILD, None))
    # Inline-layer marks first: their lines are those of the text that was scanned.
    module, problems = _route.mark_layers(module, edit)
    if problems:
        return Failed(problems)

    # Scope analysis (most of apply's cost) only matters where the alias is already spelled: a
    # file that never mentions it binds it nowhere, as in every model's first `apply`.
    scoped = shim.alias in source
    facts = _Gather(edit.path, shim, frozenset(wanted), scoped=scoped)
    if scoped:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        wrapper.visit(facts)
        module = wrapper.module
    else:
        module.visit(facts)
    if route:
        missing = _missing(edit, facts) + facts.conflicts
        if missing:
            return Failed(tuple(sorted(missing)))

    keep_import = route or facts.other_alias_uses
    transformer = _Rewrite(
        shim,
        wanted=wanted,
        to_shim=frozenset(edit.shared_builders),
        add_import=route and not facts.has_import,
        remove_import=not keep_import,
    )
    # Every other shim this tool could have routed the file through (a renamed model, a model
    # whose name changed when another file with its stem arrived, a model that no longer shares
    # anything) is un-routed first: its marks, decorators and rerouted imports, and its import
    # unless the file uses the alias for something else (`x_transfer.restore(...)`). This holds
    # whether or not the plan routes this file: what decides is what the file routes.
    stale = _stale_shims(module, source, shim)
    for old in stale:
        module, problems = _route.mark_layers(
            module,
            replace(
                edit,
                shim_module=old.module,
                shim_alias=old.alias,
                shared_builders=(),
                build="",
                roots=(),
                marks=(),
            ),
        )
        if problems:  # only wanted marks can fail to be placed; none is wanted here
            return Failed(problems)
        module = module.visit(
            _Rewrite(
                old,
                wanted={},
                to_shim=frozenset(),
                add_import=False,
                remove_import=not _used_outside_routing(module, old.alias),
            )
        )
    new_source = bom + module.visit(transformer).code
    if new_source in (source, printed):
        # Nothing meant to change: never rewrite a file only because libcst prints it otherwise.
        return Unchanged()
    lost = _first_difference(source, printed) or _unintended(source, new_source, (shim, *stale))
    if lost:
        line, what = lost
        message = (
            f"{what}: libcst cannot rewrite this file without changing lines it does not mean to "
            "touch, so it is left alone; route it by hand (see README, Using a shim) or simplify "
            "that line (form feeds, a bare CR, standalone `\\` lines)"
        )
        return _failed(edit, diagnostics.ROUND_TRIP, message, line)
    return Applied(new_source)


def _first_difference(source: str, printed: str) -> tuple[int, str] | None:
    """Where libcst's printing of the untouched module differs from the file, or None."""
    if source == printed:
        return None
    old, new = source.splitlines(keepends=True), printed.splitlines(keepends=True)
    for number, (a, b) in enumerate(zip(old, new, strict=False), 1):
        if a != b:
            return number, f"line {number} would change ({a!r} -> {b!r})"
    number = min(len(old), len(new)) + 1
    return number, f"lines from {number} on would change (end of file)"


_IMPORT_LINE = re.compile(r"^(from|import)\s")
_IMPORT_PART = re.compile(r"^[\w\s,.()]*(#.*)?$")


def _unintended(source: str, new_source: str, shims: tuple[_Shim, ...]) -> tuple[int, str] | None:
    """The first changed line that is not part of routing (the round-trip check), or None.

    Changed lines may be: our import and decorators, imports rerouted between the common module
    and the shim (and their parenthesised continuation lines), `pass` for an emptied block, a
    comment moved off a removed line, and blank lines next to any of those.
    """
    old = source.splitlines(keepends=True)
    new = new_source.splitlines(keepends=True)
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


def _logical_lines(lines: list[str]) -> list[str]:
    """`lines` with continuations (a `\\` or an open bracket) joined to the line they continue,
    so a mark that a formatter spread over several lines reads as one line."""
    joined: list[str] = []
    pending = ""
    depth = 0
    for line in lines:
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


def _gains_or_loses_a_mark(stripped: str, other_side: list[str], shims: tuple[_Shim, ...]) -> bool:
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


def _stale_shims(module: cst.Module, source: str, shim: _Shim) -> tuple[_Shim, ...]:
    """Other shims of the same package the file imports the way apply writes it: bound to their
    own name (`from generated import x_transfer`), or builders imported from them (`from
    generated.x_transfer import embed`, a rerouted layers_common import)."""
    package = shim.module.rpartition(".")[0]
    if not package:
        return ()
    found: set[str] = set()
    for candidate in set(re.findall(rf"\b(\w+{names.SHIM_SUFFIX})\b", source)) - {shim.alias}:
        other = _Shim(f"{package}.{candidate}", candidate, shim.common)
        if any(
            isinstance(stmt, cst.SimpleStatementLine)
            and any(
                other.binds_alias_anywhere(small)
                or (isinstance(small, cst.ImportFrom) and _from_module(small) == other.module)
                for small in stmt.body
            )
            for stmt in module.body
        ):
            found.add(candidate)
    return tuple(_Shim(f"{package}.{alias}", alias, shim.common) for alias in sorted(found))


class _Uses(cst.CSTVisitor):
    """Counts uses of a name outside imports and outside that shim's own decorators."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.count = 0

    def visit_Decorator(self, node: cst.Decorator) -> bool:
        return _decorator_kind(node, self.alias) is None

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.count += node.value == self.alias


def _used_outside_routing(module: cst.Module, alias: str) -> bool:
    uses = _Uses(alias)
    module.visit(uses)
    return uses.count > 0


def _is_our_import(line: str, shim: _Shim) -> bool:
    stripped = line.strip()
    return bool(_IMPORT_LINE.match(stripped)) and any(
        name in stripped for name in (shim.module, shim.common, shim.alias)
    )


def _inside_our_import(lines: list[str], index: int, shim: _Shim) -> bool:
    """Whether line `index` continues a parenthesised import of the shim or common module."""
    for back in range(index - 1, -1, -1):
        if _is_our_import(lines[back], shim):
            return True
        if not _IMPORT_PART.match(lines[back].strip()) or not lines[back].strip():
            return False
    return False


def _invalid_names(edit: ModelEdit) -> str:
    """Why the edit's alias or module names cannot appear in Python source, or ""."""
    names = {
        "shim alias": [edit.shim_alias],
        "shim module": edit.shim_module.split("."),
        "common module": edit.common_module.split("."),
    }
    for what, parts in names.items():
        if not all(is_identifier(part) for part in parts):
            return f"invalid {what} `{'.'.join(parts)}` in the apply plan"
    return ""


def _missing(edit: ModelEdit, facts: _Gather) -> list[Diagnostic]:
    """CG402 for each qualname the edit names that the file neither defines nor imports."""
    out = []
    roots = tuple(root.qualname for root in edit.roots)
    build = (edit.build,) if edit.build else ()
    for qualname in dict.fromkeys((*edit.shared_builders, *roots, *build)):
        if qualname in facts.functions or (qualname in facts.imported and qualname != edit.build):
            continue
        if qualname in facts.classes:
            why = "is a class; only functions and methods can be routed through the shim"
        else:
            why = "is not defined in this file (renamed or removed since the scan?)"
        out.append(diagnostics.error(edit.path, diagnostics.MISSING_BUILDER, f"`{qualname}` {why}"))
    return out


@dataclass(frozen=True)
class _Shim:
    """The shim module, the name bound to it, and the common module builders may come from."""

    module: str
    alias: str
    common: str

    def import_line(self) -> cst.SimpleStatementLine:
        """The statement that binds the alias: `from pkg import mod` when the names agree."""
        package, _, last = self.module.rpartition(".")
        if package and last == self.alias:
            code = f"from {package} import {last}\n"
        elif self.module == self.alias:
            code = f"import {self.module}\n"
        else:
            code = f"import {self.module} as {self.alias}\n"
        line = cst.parse_statement(code)
        assert isinstance(line, cst.SimpleStatementLine)
        return line

    def binds_alias(self, stmt: cst.Import | cst.ImportFrom, name: cst.ImportAlias) -> bool:
        """Whether `name` in `stmt` binds our alias to the shim module (in either spelling)."""
        if isinstance(stmt, cst.Import):
            local = name.evaluated_alias or name.evaluated_name.split(".")[0]
            return name.evaluated_name == self.module and local == self.alias
        package, _, last = self.module.rpartition(".")
        local = name.evaluated_alias or name.evaluated_name
        return (
            _from_module(stmt) == package
            and bool(package)
            and name.evaluated_name == last
            and local == self.alias
        )

    def binds_alias_anywhere(self, stmt: cst.CSTNode) -> bool:
        """Whether an import statement binds our alias to the shim module."""
        if not isinstance(stmt, (cst.Import, cst.ImportFrom)) or isinstance(
            stmt.names, cst.ImportStar
        ):
            return False
        return any(self.binds_alias(stmt, name) for name in stmt.names)


def _from_module(stmt: cst.ImportFrom) -> str | None:
    """The absolute dotted module of a from-import, None when relative."""
    if stmt.relative or stmt.module is None:
        return None
    return get_full_name_for_node(stmt.module)


def _local_name(name: cst.ImportAlias) -> str:
    return name.evaluated_alias or name.evaluated_name


def _decorator_kind(decorator: cst.Decorator, alias: str) -> _Kind | None:
    """Classify a decorator as one of ours (`alias.shared_layer(...)`, `alias.build`) or None."""
    expr = decorator.decorator
    callee = expr.func if isinstance(expr, cst.Call) else expr
    if not (isinstance(callee, cst.Attribute) and isinstance(callee.value, cst.Name)):
        return None
    kind = names.routing_kind(f"{callee.value.value}.{callee.attr.value}", alias=alias)
    if kind == names.BUILD:
        return None if isinstance(expr, cst.Call) else (names.BUILD, None)
    if kind is None or not isinstance(expr, cst.Call):
        return None
    if len(expr.args) == 1 and not expr.args[0].keyword and not expr.args[0].star:
        value = expr.args[0].value
        if isinstance(value, cst.SimpleString):
            evaluated = value.evaluated_value
            if isinstance(evaluated, str):
                return (kind, evaluated)
    return (kind, None)


def _make_decorator(kind: _Kind, alias: str) -> cst.Decorator:
    if kind[0] == names.BUILD:
        return cst.Decorator(cst.parse_expression(f"{alias}.{names.BUILD}"))
    return cst.Decorator(cst.parse_expression(f'{alias}.{kind[0]}("{kind[1]}")'))


class _Gather(cst.CSTVisitor):
    """Read-only facts: defined qualnames, imported builders, the alias's bindings and uses."""

    METADATA_DEPENDENCIES = (ParentNodeProvider, PositionProvider, ScopeProvider)

    def __init__(self, path: str, shim: _Shim, targets: frozenset[str], *, scoped: bool) -> None:
        super().__init__()
        self.scoped = scoped  # False: run without metadata (the alias appears nowhere)
        self.path = path
        self.shim = shim
        self.targets = targets
        self.functions: set[str] = set()
        self.classes: set[str] = set()
        self.imported: set[str] = set()  # local names from-imported from the common module or shim
        self.has_import = False  # the module scope already binds the alias to the shim
        self.other_alias_uses = False  # the alias is used outside our own decorators
        self.conflicts: list[Diagnostic] = []
        self._stack: list[str] = []
        self._checked: set[int] = set()

    def visit_Module(self, node: cst.Module) -> None:
        if not self.scoped:
            return
        scope = self.get_metadata(ScopeProvider, node)
        assert isinstance(scope, GlobalScope)
        self._check_scope(scope)
        ours = [a for a in scope.assignments[self.shim.alias] if self._is_ours(a)]
        self.has_import = bool(ours)
        for access in (ref for assignment in ours for ref in assignment.references):
            parent = self.get_metadata(ParentNodeProvider, access.node, None)
            if not (isinstance(parent, cst.Attribute) and self._in_our_decorator(parent)):
                self.other_alias_uses = True

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.append(node.name.value)
        self.classes.add(".".join(self._stack))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append(node.name.value)
        qualname = ".".join(self._stack)
        self.functions.add(qualname)
        if self.scoped and qualname in self.targets:
            # Decorators run in the enclosing scope: a local binding there would shadow the shim.
            scope = self.get_metadata(ScopeProvider, node)
            first = True
            while scope is not None and not isinstance(scope, GlobalScope):
                if first or not isinstance(scope, ClassScope):
                    self._check_scope(scope)
                first = False
                scope = scope.parent

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        if _from_module(node) in (self.shim.common, self.shim.module):
            self.imported.update(_local_name(name) for name in node.names)

    def _is_ours(self, assignment: object) -> bool:
        return isinstance(assignment, ImportAssignment) and self.shim.binds_alias_anywhere(
            assignment.node
        )

    def _check_scope(self, scope: Scope) -> None:
        if id(scope) in self._checked:
            return
        self._checked.add(id(scope))
        for assignment in scope.assignments[self.shim.alias]:
            if self._is_ours(assignment) or not isinstance(assignment, Assignment):
                continue
            pos = self.get_metadata(PositionProvider, assignment.node).start
            message = (
                f"`{self.shim.alias}` is already bound here to something other than "
                f"`{self.shim.module}`; rename that binding or choose another shim alias"
            )
            self.conflicts.append(
                diagnostics.error(
                    self.path,
                    diagnostics.ALIAS_CONFLICT,
                    message,
                    line=pos.line,
                    column=pos.column,
                )
            )

    def _in_our_decorator(self, attribute: cst.Attribute) -> bool:
        """Whether the alias is spelled in one of our decorators or layer marks."""
        node: cst.CSTNode | None = attribute
        while node is not None and not isinstance(node, cst.Decorator | cst.WithItem):
            node = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(node, cst.WithItem):
            return _route.is_mark(node, self.shim.alias)
        return node is not None and _decorator_kind(node, self.shim.alias) is not None


class _Rewrite(cst.CSTTransformer):
    """Adds and removes our decorators and imports; every other node comes back untouched."""

    def __init__(
        self,
        shim: _Shim,
        *,
        wanted: dict[str, list[_Kind]],
        to_shim: frozenset[str],
        add_import: bool,
        remove_import: bool,
    ) -> None:
        super().__init__()
        self.shim = shim
        self.wanted = wanted
        self.to_shim = to_shim
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
        self, node: cst.FunctionDef, wanted: list[_Kind], *, in_class: bool
    ) -> cst.FunctionDef:
        alias = self.shim.alias
        decorators: list[cst.Decorator] = []
        present: set[_Kind] = set()
        carried: list[cst.EmptyLine] = []
        changed = False
        for decorator in node.decorators:
            kind = _decorator_kind(decorator, alias)
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
        source = _from_module(stmt)
        if source is None or source not in (self.shim.common, self.shim.module):
            return stmt, None

        def target(name: cst.ImportAlias) -> str:
            local = _local_name(name)
            if local in self.to_shim and not is_reserved_in_shim(local):
                return self.shim.module
            return self.shim.common

        staying = [name for name in names if target(name) == source]
        leaving = [name for name in names if target(name) != source]
        if not leaving:
            return stmt, None
        destination = _dotted(target(leaving[0]))
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


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _import_position(body: Sequence[cst.BaseStatement]) -> tuple[int, bool]:
    """Where the shim import goes: after the last import before the first definition.

    Returns the index and whether it directly follows the docstring (no import found).
    """
    start = 1 if body and _is_docstring(body[0]) else 0
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
