"""Turn a Plan into generated file texts with Jinja2; Python prepares every name and line."""

from __future__ import annotations

import ast
import functools
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import jinja2
import libcst as cst

from codegen import templates_dir
from codegen.extract import ROUTING_DECORATOR, decorator_name, nested_blocks
from codegen.fingerprint import function_id
from codegen.model import CloneClass, FunctionFacts, Model, ModuleFacts, Plan, TrunkLayer
from codegen.names import COMMON_MODULE, LayerComment, format_layer_comment

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def environment() -> jinja2.Environment:
    """Strict environment: a typo in a template fails loudly instead of rendering blank."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


class RenderError(Exception):
    """A name from the scanned code that cannot be placed safely in generated code."""


def safe_identifier(name: str) -> str:
    """Refuse anything that is not a plain identifier: names reach generated code verbatim."""
    if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise RenderError(f"refusing to generate code with the name {name!r}")
    return name


@dataclass(frozen=True)
class ShimFunction:
    """A shared builder exposed by a shim under the model's own name and signature."""

    name: str
    signature: str
    call: str  # argument list passed on to the canonical copy
    canonical: str
    clone_id: str
    builder: str


@dataclass(frozen=True)
class ShimClass:
    """A shared class-based layer exposed by a shim: calls of `method` are routed."""

    name: str
    canonical: str
    method: str
    route: str
    clone_id: str


@dataclass(frozen=True)
class ShimLayer:
    """One SharedLayer(...) line of a shim, as Python source."""

    source: str
    comment: str


def _has_routing(node: cst.CSTNode) -> bool:
    """Whether a definition (or a method of a class) carries one of our shim decorators."""
    defs = [node]
    if isinstance(node, cst.ClassDef) and isinstance(node.body, cst.IndentedBlock):
        defs += [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
    return any(
        ROUTING_DECORATOR.match(decorator_name(d))
        for definition in defs
        if isinstance(definition, (cst.FunctionDef, cst.ClassDef))
        for d in definition.decorators
    )


class _StripRouting(cst.CSTTransformer):
    """Drops our own shim decorators: a canonical copy must not route through a model's shim."""

    def leave_Decorator(
        self, original: cst.Decorator, updated: cst.Decorator
    ) -> cst.Decorator | cst.RemovalSentinel:
        if ROUTING_DECORATOR.match(decorator_name(original)):
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
class _CommonModule:
    """Accumulates layers_common's namespace: what is copied, under which unique name."""

    reserved: set[str]
    names: dict[tuple[str, str], str]  # (identity kind, identity) -> name in layers_common
    imports: dict[str, str]  # statement -> bound name
    blocks: list[tuple[int, str, str]]  # (order class, name, source)


class _Renderer:
    """Renders one plan; parses a source module at most once, only when copying from it."""

    def __init__(self, plan: Plan, *, collection: str, scope_prefix: str, output: str):
        self.plan = plan
        self.collection = collection
        self.scope_prefix = scope_prefix
        self.output = output
        self.env = environment()
        self.parsed: dict[str, dict[str, cst.CSTNode]] = {}
        self.class_of = {m: c for c in plan.clone_classes for m in c.members}
        self.node_sets: dict[int, tuple[tuple[str, ...], frozenset[str]]] = {}

    def definitions(self, path: str) -> dict[str, cst.CSTNode]:
        """Top-level definitions of a module by name (parsed lazily, once)."""
        if path not in self.parsed:
            module = cst.parse_module(self.plan.modules[path].text)
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

    def node_set(self, sharing: tuple[str, ...]) -> frozenset[str]:
        """One frozenset per trie node (the plan shares one tuple per node between models)."""
        key = id(sharing)
        cached = self.node_sets.get(key)
        if cached is None or cached[0] is not sharing:
            cached = self.node_sets[key] = (sharing, frozenset(sharing))
        return cached[1]

    def render(self, common: str | None = None) -> dict[str, str]:
        shared = self.shared_classes()
        if common is None:
            common = self.common_module(shared)
        files = {
            "__init__.py": self.env.get_template("init.py.jinja").render(
                sources=self.sources_line()
            )
        }
        files[f"{COMMON_MODULE}.py"] = common
        trunks = dict(self.plan.trunks)
        for model in self.plan.models:
            trunk = trunks.get(model.id, ())
            if trunk:
                files[f"{model.name}_transfer.py"] = self.shim(model, trunk, shared)
        return files

    def sources_line(self) -> str:
        return sources_line(self.plan)

    def shared_classes(self) -> dict[str, tuple[CloneClass, str]]:
        """Clone classes some trunk uses, with the name they get in layers_common."""
        return {c.id: (c, safe_identifier(c.name)) for c in _transferred_classes(self.plan)}

    # -- layers_common ------------------------------------------------------------------------
    def common_module(self, shared: dict[str, tuple[CloneClass, str]]) -> str:
        runtime = self.env.get_template("runtime.py.jinja").render(
            collection_name=repr(self.collection), scope_prefix=repr(self.scope_prefix)
        )
        reserved = set(_top_level_names(runtime))
        state = _CommonModule(reserved=reserved, names={}, imports={}, blocks=[])
        for clone, name in shared.values():
            state.names[("class", clone.id)] = name
            state.reserved.add(name)
        for clone, _name in sorted(shared.values(), key=lambda item: item[1]):
            self.copy_definition(state, clone.canonical, shared)
        blocks = [source for _, _, source in sorted(state.blocks)]
        builders = [
            {
                "name": name,
                "id": clone.id,
                "kind": clone.kind,
                "members": _inline(", ".join(clone.members)),
            }
            for clone, name in sorted(shared.values(), key=lambda item: item[1])
        ]
        return self.env.get_template("layers_common.py.jinja").render(
            runtime=runtime.rstrip("\n"),
            imports=sorted(state.imports),
            definitions=blocks,
            builders=builders,
            sources=self.sources_line(),
        )

    def copy_definition(
        self, state: _CommonModule, fid: str, shared: dict[str, tuple[CloneClass, str]]
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
        path, qualname = fid.split("::", 1)
        module = self.plan.modules[path]
        top = qualname.split(".", 1)[0]  # a method is copied with its whole class
        name = state.names.get(identity) or self.unique(state, top)
        state.names[identity] = name
        state.blocks.append(
            (_order(module, top), name, "")
        )  # placeholder: breaks dependency cycles
        node = self.definitions(path)[top]
        if _has_routing(node):
            node = cast(cst.CSTNode, node.visit(_StripRouting()))
        renames = {top: name} if name != top else {}
        for dep in self.dependencies(module, top):
            dep_id = function_id(path, dep)
            renames_to = self.copy_definition(state, dep_id, shared)
            if renames_to != dep:
                renames[dep] = renames_to
        for alias, statement in self.used_imports(module, node):
            bound = self.bind_import(state, statement, alias)
            if bound != alias:
                renames[alias] = bound
        copied = node.with_changes(leading_lines=()) if hasattr(node, "leading_lines") else node
        if renames:
            copied = cast(cst.CSTNode, copied.visit(_Renamer(renames)))
            if isinstance(copied, (cst.FunctionDef, cst.ClassDef)) and top in renames:
                copied = copied.with_changes(name=cst.Name(renames[top]))
        source = cst.Module(body=[copied]).code.strip("\n")  # type: ignore[list-item]
        state.blocks = [b for b in state.blocks if b[1] != name] + [
            (_order(module, top), name, source)
        ]
        return name

    def dependencies(self, module: ModuleFacts, top: str) -> list[str]:
        """Module-level names a definition uses (functions, classes, constants), in order."""
        deps: list[str] = []
        for function in module.functions:
            if function.qualname == top or function.qualname.startswith(top + "."):
                deps.extend(d for d in function.deps if d != top)
        for symbol in module.symbols:
            if symbol.name == top and symbol.kind != "import":
                deps.extend(d for d in symbol.deps if "." not in d and d != top)
        return list(dict.fromkeys(deps))

    def used_imports(self, module: ModuleFacts, node: cst.CSTNode) -> list[tuple[str, str]]:
        """(alias, import statement) for every import binding the copied code refers to."""
        imports = {s.name: s.source for s in module.symbols if s.kind == "import"}
        names: set[str] = set()

        class Collect(cst.CSTVisitor):
            def visit_Name(self, n: cst.Name) -> None:
                names.add(n.value)

        node.visit(Collect())
        return [
            (alias, statement) for alias, statement in sorted(imports.items()) if alias in names
        ]

    def bind_import(self, state: _CommonModule, statement: str, alias: str) -> str:
        """Add an import to layers_common, renaming its alias when another import took it."""
        if statement in state.imports:
            return state.imports[statement]
        if alias not in state.reserved:
            state.imports[statement] = alias
            state.reserved.add(alias)
            return alias
        new = self.unique(state, alias)
        state.imports[_rebind(statement, new)] = new
        return new

    def unique(self, state: _CommonModule, base: str) -> str:
        name, counter = base, 2
        while name in state.reserved:
            name, counter = f"{base}_{counter}", counter + 1
        state.reserved.add(name)
        return name

    # -- shims -------------------------------------------------------------------------------
    def shim(
        self, model: Model, trunk: tuple[TrunkLayer, ...], shared: dict[str, tuple[CloneClass, str]]
    ) -> str:
        layers = [self.shim_layer(model.id, layer) for layer in trunk]
        functions: list[ShimFunction] = []
        classes: list[ShimClass] = []
        seen: set[str] = set()
        for layer in trunk:
            builder = layer.builder
            if builder is None or builder in seen or layer.callee not in shared:
                continue
            seen.add(builder)
            clone, canonical = shared[layer.callee]
            method = self.class_method(clone)
            if method is not None:
                name = builder if layer.imported else builder.split(".")[0]
                classes.append(
                    ShimClass(
                        safe_identifier(name), canonical, method, f"{name}.{method}", clone.id
                    )
                )
                continue
            own = self.plan.functions.get(function_id(model.path, builder))
            if own is None:  # imported from generated code: the canonical signature is the model's
                own = self.plan.functions.get(clone.canonical)
            functions.append(self.shim_function(builder, own, canonical, clone))
        return self.env.get_template("transfer.py.jinja").render(
            model_path=_inline(model.path),
            model_id=repr(model.id),
            build=model.build,
            layers=layers,
            functions=functions,
            classes=classes,
            shared_with=_partners(model.id, self.node_set(trunk[0].shared_with)),
            sources=_inline(model.path),
        )

    def class_method(self, clone: CloneClass) -> str | None:
        """The routed method when a clone class is a class used as a layer, else None."""
        canonical = self.plan.functions.get(clone.canonical)
        return canonical.name if canonical is not None and canonical.kind == "method" else None

    def shim_layer(self, model_id: str, layer: TrunkLayer) -> ShimLayer:
        builder = layer.builder
        clone = next((c for c in self.plan.clone_classes if c.id == layer.callee), None)
        method = self.class_method(clone) if clone is not None else None
        if layer.imported and method is not None:
            builder = (
                f"{builder}.{method}"  # the shim's wrapper class routes its method by this name
            )
        fields = [
            f"builder={builder!r}",
            f"occurrence={layer.occurrence}",
            f"key={layer.key!r}",
        ]
        fields.append("numbered=True")
        if layer.expected is not None:
            fields.append(f"expected={tuple(layer.expected)!r}")
        partners = _partners(model_id, self.node_set(layer.shared_with))
        comment = format_layer_comment(
            LayerComment(layer.position + 1, layer.label, layer.key, partners)
        )
        body = "".join(f"        {field},\n" for field in fields)
        return ShimLayer(source=f"_common.SharedLayer(\n{body}    )", comment=comment)

    def shim_function(
        self, builder: str, own: FunctionFacts | None, canonical: str, clone: CloneClass
    ) -> ShimFunction:
        safe_identifier(builder)
        if own is not None and not own.varargs and all(_is_literal(d) for d in own.param_defaults):
            params = []
            for name, default in zip(own.params, own.param_defaults, strict=True):
                params.append(
                    safe_identifier(name)
                    + ("" if default is None else f"={_literal_source(default)}")
                )
            kwonly = [safe_identifier(k) for k in own.kwonly]
            signature = ", ".join(params + (["*", *kwonly] if kwonly else []))
            canonical_facts = self.plan.functions.get(clone.canonical)
            canonical_kwonly = canonical_facts.kwonly if canonical_facts else own.kwonly
            call = ", ".join(
                list(own.params)
                + [
                    f"{theirs}={mine}"
                    for mine, theirs in zip(own.kwonly, canonical_kwonly, strict=False)
                ]
            )
        else:
            signature, call = "*args, **kwargs", "*args, **kwargs"
        return ShimFunction(builder, signature, call, canonical, clone.id, builder)


# Shims name their partners; past this many, a count keeps large projects' shims small.
MAX_PARTNERS_SHOWN = 8


@functools.lru_cache(maxsize=256)
def _sorted_paths(sharing: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(model id, path) of a node's models sorted by path, computed once per trie node."""
    return tuple(sorted(((m, m.split("::", 1)[0]) for m in sharing), key=lambda item: item[1]))


def _partners(model_id: str, sharing: frozenset[str]) -> str:
    """`models/a.py, models/b.py and 12 more`: the other models on a trie node."""
    ordered = _sorted_paths(sharing)
    shown = [_inline(path) for m, path in ordered[: MAX_PARTNERS_SHOWN + 1] if m != model_id]
    shown = shown[:MAX_PARTNERS_SHOWN]
    extra = len(ordered) - 1 - len(shown)
    text = ", ".join(shown)
    return f"{text} and {extra} more" if extra > 0 else text


def _transferred_classes(plan: Plan) -> list[CloneClass]:
    """Clone classes that some model's trunk transfers: what layers_common must hold."""
    used = {layer.callee for _, trunk in plan.trunks for layer in trunk}
    return [c for c in plan.clone_classes if c.id in used]


def sources_line(plan: Plan) -> str:
    """The scanned files, named when few, counted when many."""
    paths = [p for p, status in plan.files if status == "ok"]
    return _inline(", ".join(paths)) if len(paths) <= 6 else f"{len(paths)} model files"


def _inline(text: str) -> str:
    """Text from file names, safe inside a generated docstring or comment: one line, no quotes
    or backslashes that could end the string (a path is data, never code)."""
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def _rebind(statement: str, new: str) -> str:
    """The same import bound to another name: `import a.b as x` -> `import a.b as new`."""
    base = statement.split(" as ", 1)[0]
    if base.startswith("import ") and " as " not in statement:
        base = "import " + base[len("import ") :].split(".", 1)[0]  # `import a.b` binds `a`
    return f"{base} as {new}"


def _is_literal(source: str | None) -> bool:
    if source is None:
        return True
    try:
        ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return False
    return True


def _literal_source(source: str) -> str:
    """A default value re-spelled with repr, so nothing but a literal reaches the template."""
    return repr(ast.literal_eval(source))


def _order(module: ModuleFacts, name: str) -> int:
    """Constants and classes first (they run at import), then functions."""
    for symbol in module.symbols:
        if symbol.name == name:
            return 0 if symbol.kind == "constant" else 1
    return 2


def _top_level_names(source: str) -> list[str]:
    """Names the runtime defines, which copied code must not shadow."""
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def render(
    plan: Plan, *, collection: str, scope_prefix: str, output: str, common: str | None = None
) -> dict[str, str]:
    """Every generated file's body (without header) by path relative to the output dir.

    `common` is a layers_common body rendered earlier for the same shared builders.
    """
    renderer = _Renderer(plan, collection=collection, scope_prefix=scope_prefix, output=output)
    return renderer.render(common)


def copied_sources(plan: Plan) -> list[str]:
    """Files whose source text layers_common copies: where even a comment changes the output."""
    return sorted({c.canonical.split("::", 1)[0] for c in _transferred_classes(plan)})


def common_inputs(plan: Plan) -> list[str]:
    """Everything layers_common shows besides the settings: its sources, classes and members."""
    parts = [f"sources|{sources_line(plan)}"]
    for clone in _transferred_classes(plan):
        path = clone.canonical.split("::", 1)[0]
        members = ",".join(clone.members)
        parts.append(f"{clone.id}|{clone.name}|{clone.kind}|{members}|{plan.modules[path].digest}")
    return parts
