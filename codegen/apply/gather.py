"""Read-only facts about a model file before it is rewritten: which shims it imports and how,
which qualnames it defines, where the alias is bound or used, and which of our decorators a
decorator is."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    ClassScope,
    GlobalScope,
    ImportAssignment,
    ParentNodeProvider,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from codegen import diagnostics, names
from codegen.apply import marks as _route
from codegen.model import Diagnostic, ModelEdit
from codegen.names import is_identifier

# Our decorators: ("shared_layer", qualname or None when the argument is not a plain string),
# ("model", root name or None likewise), or ("build", None): the old spelling of `model` for a
# build function, which apply recognises (to replace it) and never writes.
Kind = tuple[str, str | None]


@dataclass(frozen=True)
class Shim:
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
            from_module(stmt) == package
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


def from_module(stmt: cst.ImportFrom) -> str | None:
    """The absolute dotted module of a from-import, None when relative."""
    if stmt.relative or stmt.module is None:
        return None
    return get_full_name_for_node(stmt.module)


def decorator_kind(decorator: cst.Decorator, alias: str) -> Kind | None:
    """Classify a decorator as one of ours (`alias.shared_layer(...)`, `alias.model(...)`, the old
    `alias.build`) or None."""
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


class _Uses(cst.CSTVisitor):
    """Counts uses of a name outside imports and outside that shim's own decorators."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.count = 0

    def visit_Decorator(self, node: cst.Decorator) -> bool:
        return decorator_kind(node, self.alias) is None

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.count += node.value == self.alias


def used_outside_routing(module: cst.Module, alias: str) -> bool:
    uses = _Uses(alias)
    module.visit(uses)
    return uses.count > 0


def stale_shims(module: cst.Module, source: str, shim: Shim) -> tuple[Shim, ...]:
    """Other shims of the same package the file imports the way apply writes it: bound to their
    own name (`from generated import x_transfer`), or builders imported from them (`from
    generated.x_transfer import embed`, a rerouted layers_common import)."""
    package = shim.module.rpartition(".")[0]
    if not package:
        return ()
    found: set[str] = set()
    for candidate in set(re.findall(rf"\b(\w+{names.SHIM_SUFFIX})\b", source)) - {shim.alias}:
        other = Shim(f"{package}.{candidate}", candidate, shim.common)
        if any(
            isinstance(stmt, cst.SimpleStatementLine)
            and any(
                other.binds_alias_anywhere(small)
                or (isinstance(small, cst.ImportFrom) and from_module(small) == other.module)
                for small in stmt.body
            )
            for stmt in module.body
        ):
            found.add(candidate)
    return tuple(Shim(f"{package}.{alias}", alias, shim.common) for alias in sorted(found))


def invalid_names(edit: ModelEdit) -> str:
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


def missing(edit: ModelEdit, facts: Gather) -> list[Diagnostic]:
    """CG402 for each qualname the edit names that the file neither defines nor imports."""
    out = []
    roots = tuple(root.qualname for root in edit.roots)
    for qualname in dict.fromkeys((*edit.shared_builders, *roots)):
        if qualname in facts.functions:
            continue
        if qualname in facts.classes:
            why = "is a class; only functions and methods can be routed through the shim"
        else:
            why = "is not defined in this file (renamed or removed since the scan?)"
        out.append(diagnostics.error(edit.path, diagnostics.MISSING_BUILDER, f"`{qualname}` {why}"))
    return out


class Gather(cst.CSTVisitor):
    """Read-only facts: defined qualnames, the alias's bindings and uses."""

    METADATA_DEPENDENCIES = (ParentNodeProvider, PositionProvider, ScopeProvider)

    def __init__(self, path: str, shim: Shim, targets: frozenset[str], *, scoped: bool) -> None:
        super().__init__()
        self.scoped = scoped  # False: run without metadata (the alias appears nowhere)
        self.path = path
        self.shim = shim
        self.targets = targets
        self.functions: set[str] = set()
        self.classes: set[str] = set()
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
        return node is not None and decorator_kind(node, self.shim.alias) is not None


class QuickGather(Gather):
    """Gather without scope analysis, for a file whose alias is spelled only where apply itself
    writes it: module-level imports of our shim and `alias.attr` uses (our decorators and marks,
    or other uses). Then the alias has no other binding, so the scope analysis would find
    exactly this; `settled` is False when the file spells it anywhere else (a parameter, an
    assignment, a nested import, a string or comment), and the caller runs `Gather` instead."""

    def __init__(self, path: str, shim: Shim, targets: frozenset[str], source: str) -> None:
        super().__init__(path, shim, targets, scoped=False)
        self._expected = len(re.findall(rf"(?<!\w){re.escape(shim.alias)}(?!\w)", source))
        self._seen = 0  # Name nodes spelling the alias
        self._strange = False  # one of them is not an import or an `alias.attr` value
        self._top: set[int] = set()  # import statements at module level
        self._imports = 0  # depth inside import statements
        self._ours: list[bool] = []  # the decorators and with-items around: ours?
        self._values: dict[int, bool] = {}  # alias Name of an `alias.attr` -> inside ours
        self._used = False  # an `alias.attr` outside our decorators and marks

    @property
    def settled(self) -> bool:
        """Whether this pass's facts are the scope analysis's."""
        return not self._strange and self._seen == self._expected

    def visit_Module(self, node: cst.Module) -> None:
        for statement in node.body:
            if isinstance(statement, cst.SimpleStatementLine):
                self._top.update(id(small) for small in statement.body)

    def visit_Import(self, node: cst.Import) -> None:
        self._import(node)

    def leave_Import(self, original_node: cst.Import) -> None:
        self._imports -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._import(node)

    def leave_ImportFrom(self, original_node: cst.ImportFrom) -> None:
        self._imports -= 1

    def _import(self, node: cst.Import | cst.ImportFrom) -> None:
        self._imports += 1
        if isinstance(node.names, cst.ImportStar):
            return
        for name in node.names:
            if name.evaluated_alias is not None:
                bound = name.evaluated_alias
            elif isinstance(node, cst.Import):
                bound = name.evaluated_name.split(".")[0]
            else:
                bound = name.evaluated_name
            if bound != self.shim.alias:
                continue
            if id(node) in self._top and self.shim.binds_alias(node, name):
                self.has_import = True
            else:
                self._strange = True  # bound another way, or not in the module scope

    def leave_Module(self, original_node: cst.Module) -> None:
        # Every use refers to the one binding there is: uses count only when it is ours.
        self.other_alias_uses = self._used and self.has_import

    # As `Gather._in_our_decorator`: the decorator or with-item nearest a use decides.
    def visit_Decorator(self, node: cst.Decorator) -> None:
        self._ours.append(decorator_kind(node, self.shim.alias) is not None)

    def leave_Decorator(self, original_node: cst.Decorator) -> None:
        self._ours.pop()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._ours.append(_route.is_mark(node, self.shim.alias))

    def leave_WithItem(self, original_node: cst.WithItem) -> None:
        self._ours.pop()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value == self.shim.alias:
            self._values[id(node.value)] = bool(self._ours) and self._ours[-1]

    def visit_Name(self, node: cst.Name) -> None:
        if node.value != self.shim.alias:
            return
        self._seen += 1
        if self._imports:
            return  # a binding is judged by its import above; a dotted module path is no use
        ours = self._values.get(id(node))
        if ours is None:
            self._strange = True  # a bare name: a binding, a parameter or a plain use
        elif not ours:
            self._used = True
