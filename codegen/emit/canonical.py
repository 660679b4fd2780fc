"""The canonical copies for layers_common: copy each shared builder with its closure (libcst).

A transform stage of its own: it copies definitions out of the scanned modules, strips our
routing decorators, renames what would collide, and hands render finished source blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import cast

import libcst as cst

from codegen.ids import function_id, split_id
from codegen.model import CloneClass, ModuleFacts, Plan
from codegen.names import routing_kind
from codegen.scan.extract import decorator_name, nested_blocks, parse_module


@dataclass(frozen=True)
class CommonModule:
    """What layers_common holds: import lines and definitions, each ready to place."""

    imports: tuple[str, ...]  # sorted import statements
    definitions: tuple[str, ...]  # constants and classes first, then functions


def canonical_copies(
    plan: Plan,
    shared: dict[str, tuple[CloneClass, str]],
    memo: dict[str, str] | None = None,
) -> CommonModule:
    """Copy every shared clone class's canonical builder, with its closure, under `shared` names.

    `memo` (read and extended here): each copied definition's text and the names it uses, by
    its module's digest, so a definition copied before needs no parse of its module."""
    return _Copier(plan, {} if memo is None else memo).copy_all(shared)


def _has_routing(node: cst.CSTNode) -> bool:
    """Whether a definition (or a method of a class) carries one of our shim decorators."""
    defs = [node]
    if isinstance(node, cst.ClassDef) and isinstance(node.body, cst.IndentedBlock):
        defs += [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
    return any(
        routing_kind(decorator_name(d)) is not None
        for definition in defs
        if isinstance(definition, (cst.FunctionDef, cst.ClassDef))
        for d in definition.decorators
    )


class _StripRouting(cst.CSTTransformer):
    """Drops our own shim decorators: a canonical copy must not route through a model's shim."""

    def leave_Decorator(
        self, original: cst.Decorator, updated: cst.Decorator
    ) -> cst.Decorator | cst.RemovalSentinel:
        if routing_kind(decorator_name(original)) is not None:
            return cst.RemovalSentinel.REMOVE
        return updated


class _Renamer(cst.CSTTransformer):
    """Renames module-level names in a copied definition, leaving attributes and keywords alone."""

    def __init__(self, renames: dict[str, str]):
        super().__init__()
        self.renames = renames
        self.shadowed: list[set[str]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        local = {
            p.name.value
            for p in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params)
        }
        for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            for target in _assigned_names(statement):
                local.add(target)
        self.shadowed.append(local)

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.shadowed.pop()
        return updated

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # only the root of a.b.c can be a module-level name
        return False

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        return updated.with_changes(value=original.value.visit(self))

    def visit_Arg(self, node: cst.Arg) -> bool:
        return True

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)

    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        return updated.with_changes(name=original.name)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        new = self.renames.get(original.value)
        if new is None or any(original.value in scope for scope in self.shadowed):
            return updated
        return updated.with_changes(value=new)


def _assigned_names(statement: cst.CSTNode) -> set[str]:
    """Names bound by simple assignments in a statement (enough to avoid renaming locals)."""
    found: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            if isinstance(node.target, cst.Name):
                found.add(node.target.value)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    statement.visit(Collect())
    return found


@dataclass
class _Namespace:
    """Accumulates layers_common's namespace: what is copied, under which unique name."""

    reserved: set[str]
    names: dict[tuple[str, str], str]  # (identity kind, identity) -> name in layers_common
    imports: dict[str, str]  # statement -> bound name
    blocks: list[tuple[int, str, str]]  # (order class, name, source)


class _Copier:
    """Copies from one plan's modules; parses a source module at most once, only when needed."""

    def __init__(self, plan: Plan, memo: dict[str, str]):
        self.plan = plan
        self.memo = memo
        self.parsed: dict[str, dict[str, cst.CSTNode]] = {}
        self.class_of = {m: c for c in plan.clone_classes for m in c.members}

    def copy_all(self, shared: dict[str, tuple[CloneClass, str]]) -> CommonModule:
        state = _Namespace(reserved=set(), names={}, imports={}, blocks=[])
        for clone, name in shared.values():
            state.names[("class", clone.id)] = name
            state.reserved.add(name)
        for clone, _name in sorted(shared.values(), key=lambda item: item[1]):
            self.copy_definition(state, clone.canonical, shared)
        return CommonModule(
            imports=tuple(sorted(state.imports)),
            definitions=tuple(source for _, _, source in sorted(state.blocks)),
        )

    def definitions(self, path: str) -> dict[str, cst.CSTNode]:
        """Top-level definitions of a module by name (parsed lazily, once)."""
        if path not in self.parsed:
            module = parse_module(self.plan.modules[path].text)
            found: dict[str, cst.CSTNode] = {}
            pending: list[Sequence[cst.CSTNode]] = [module.body]
            while pending:
                for statement in pending.pop(0):
                    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                        found.setdefault(statement.name.value, statement)
                    elif isinstance(statement, cst.SimpleStatementLine):
                        for small in statement.body:
                            if isinstance(small, (cst.Assign, cst.AnnAssign)):
                                targets = (
                                    small.targets if isinstance(small, cst.Assign) else [small]
                                )
                                for target in targets:
                                    if isinstance(target.target, cst.Name):
                                        found.setdefault(target.target.value, statement)
                    else:
                        # Builders defined under `if`, `try`, `with` or a loop are copied too.
                        pending.extend(nested_blocks(statement))
            self.parsed[path] = found
        return self.parsed[path]

    def node(self, path: str, top: str) -> cst.CSTNode:
        """A top-level definition, without our routing decorators."""
        node = self.definitions(path)[top]
        if _has_routing(node):
            node = cast(cst.CSTNode, node.visit(_StripRouting()))
        return node

    def recall(self, key: str) -> str | None:
        """A memo entry, moved last: the memo is kept in order of use (the oldest pruned first)."""
        value = self.memo.pop(key, None)
        if value is not None:
            self.memo[key] = value
        return value

    def names_used(self, path: str, top: str) -> set[str]:
        """Every name a top-level definition spells (memoised by its module's digest)."""
        key = f"names\0{self.plan.modules[path].digest}\0{path}\0{top}"
        known = self.recall(key)
        if known is None:
            known = self.memo[key] = "\n".join(sorted(_names_in(self.node(path, top))))
        return set(known.split("\n")) if known else set()

    def copy_definition(
        self, state: _Namespace, fid: str, shared: dict[str, tuple[CloneClass, str]]
    ) -> str:
        """Copy a definition and its closure into layers_common; return its name there."""
        clone = self.class_of.get(fid)
        identity = ("class", clone.id) if clone is not None and clone.id in shared else ("def", fid)
        if identity in state.names and any(
            block[1] == state.names[identity] for block in state.blocks
        ):
            return state.names[identity]
        if identity[0] == "class":
            fid = clone.canonical  # type: ignore[union-attr]
        path, qualname = split_id(fid)
        module = self.plan.modules[path]
        top = qualname.split(".", 1)[0]  # a method is copied with its whole class
        name = state.names.get(identity) or _unique(state, top)
        state.names[identity] = name
        state.blocks.append(
            (_order(module, top), name, "")
        )  # placeholder: breaks dependency cycles
        renames = {top: name} if name != top else {}
        for dep in _dependencies(module, top):
            dep_id = function_id(path, dep)
            renames_to = self.copy_definition(state, dep_id, shared)
            if renames_to != dep:
                renames[dep] = renames_to
        for alias, statement in _used_imports(module, self.names_used(path, top)):
            bound = _bind_import(state, statement, alias)
            if bound != alias:
                renames[alias] = bound
        key = f"copy\0{module.digest}\0{path}\0{top}\0{sorted(renames.items())!r}"
        source = self.recall(key)
        if source is None:
            source = self.memo[key] = _copied_text(self.node(path, top), top, renames)
        state.blocks = [b for b in state.blocks if b[1] != name] + [
            (_order(module, top), name, source)
        ]
        return name


def _dependencies(module: ModuleFacts, top: str) -> list[str]:
    """Module-level names a definition uses (functions, classes, constants), in order."""
    deps: list[str] = []
    for function in module.functions:
        if function.qualname == top or function.qualname.startswith(top + "."):
            deps.extend(d for d in function.deps if d != top)
    for symbol in module.symbols:
        if symbol.name == top and symbol.kind != "import":
            deps.extend(d for d in symbol.deps if "." not in d and d != top)
    return list(dict.fromkeys(deps))


def _used_imports(module: ModuleFacts, names: set[str]) -> list[tuple[str, str]]:
    """(alias, import statement) for every import binding the copied code refers to."""
    imports = {s.name: s.source for s in module.symbols if s.kind == "import"}
    return [(alias, statement) for alias, statement in sorted(imports.items()) if alias in names]


def _names_in(node: cst.CSTNode) -> set[str]:
    """Every Name node's value in a definition (a plain walk over the node fields: libcst's
    visitor dispatch costs several times more, and a check after an edit walks each copied
    definition of the edited module)."""
    names: set[str] = set()
    pending: list[object] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, cst.Name):
            names.add(item.value)
        elif isinstance(item, cst.CSTNode):
            pending.extend(getattr(item, name) for name in _child_fields(type(item)))
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return names


_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    """The dataclass fields of a node type (where its children are), once per type."""
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple(f.name for f in fields(kind))
    return found


def _copied_text(node: cst.CSTNode, top: str, renames: dict[str, str]) -> str:
    """The source of a copied definition under its new names."""
    copied = node.with_changes(leading_lines=()) if hasattr(node, "leading_lines") else node
    if renames:
        copied = cast(cst.CSTNode, copied.visit(_Renamer(renames)))
        if isinstance(copied, (cst.FunctionDef, cst.ClassDef)) and top in renames:
            copied = copied.with_changes(name=cst.Name(renames[top]))
    return cst.Module(body=[copied]).code.strip("\n")  # type: ignore[list-item]


def _bind_import(state: _Namespace, statement: str, alias: str) -> str:
    """Add an import to layers_common, renaming its alias when another import took it."""
    if statement in state.imports:
        return state.imports[statement]
    if alias not in state.reserved:
        state.imports[statement] = alias
        state.reserved.add(alias)
        return alias
    new = _unique(state, alias)
    state.imports[_rebind(statement, new)] = new
    return new


def _unique(state: _Namespace, base: str) -> str:
    name, counter = base, 2
    while name in state.reserved:
        name, counter = f"{base}_{counter}", counter + 1
    state.reserved.add(name)
    return name


def _rebind(statement: str, new: str) -> str:
    """The same import bound to another name: `import a.b as x` -> `import a.b as new`."""
    base = statement.split(" as ", 1)[0]
    if base.startswith("import ") and " as " not in statement:
        base = "import " + base[len("import ") :].split(".", 1)[0]  # `import a.b` binds `a`
    return f"{base} as {new}"


def _order(module: ModuleFacts, name: str) -> int:
    """Constants and classes first (they run at import), then functions."""
    for symbol in module.symbols:
        if symbol.name == name:
            return 0 if symbol.kind == "constant" else 1
    return 2
