"""Turn a Plan into generated file texts with Jinja2; Python prepares every name and line."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

import jinja2

from codegen import names, runtime, templates_dir
from codegen.emit import shims
from codegen.emit.canonical import canonical_copies
from codegen.ids import function_id, id_path
from codegen.model import CloneClass, FunctionFacts, Model, Plan, TrunkLayer
from codegen.names import COMMON_MODULE, LayerComment, format_layer_comment, shim_file


def environment() -> jinja2.Environment:
    """Strict environment: a typo in a template fails loudly instead of rendering blank."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # Real modules of codegen/runtime/ placed verbatim (the demo script): linted where they live.
    env.globals["runtime_source"] = runtime.source
    return env


class RenderError(Exception):
    """A name from the scanned code that cannot be placed safely in generated code."""


def safe_identifier(name: str) -> str:
    """Refuse anything that is not a plain identifier: names reach generated code verbatim."""
    if not names.is_identifier(name):
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


class _Renderer:
    """Renders one plan; parses a source module at most once, only when copying from it."""

    def __init__(self, plan: Plan, *, collection: str, scope_prefix: str, output: str):
        self.plan = plan
        self.collection = collection
        self.scope_prefix = scope_prefix
        self.output = output
        self.env = environment()
        self.node_sets: dict[int, tuple[tuple[str, ...], frozenset[str]]] = {}

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
        files[f"{runtime.MODULE}.py"] = runtime.source()  # verbatim: real, linted, tested code
        trunks = dict(self.plan.trunks)
        entered: dict[str, list[Model]] = {}  # classes, model_fns, create_models: one shim a file
        for model in self.plan.models:
            trunk = trunks.get(model.id, ())
            if trunk and model.entries:
                entered.setdefault(model.shim or model.name, []).append(model)
            elif trunk:
                files[shim_file(model.name)] = self.shim(model, trunk, shared)
        for name, models in entered.items():
            files[shim_file(name)] = self.file_shim(models, trunks)
        return files

    def file_shim(self, models: list[Model], trunks: dict[str, tuple[TrunkLayer, ...]]) -> str:
        """The shim of a file whose models are entered through roots: one object per model."""
        shim_models = []
        partners: set[str] = set()
        for model in models:
            layers = []
            for layer in trunks[model.id]:
                sharing = self.node_set(layer.shared_with)
                partners.update(sharing)
                layers.append(
                    shims.ShimLayer(
                        layer.position,
                        layer.key,
                        layer.label,
                        builder="" if layer.inline is not None else layer.builder or "",
                        occurrence=layer.occurrence,
                        marked=layer.inline is not None,
                        expected=layer.expected,
                        shared_with=_partners(model.id, sharing),
                    )
                )
            shim_models.append(shims.ShimModel(model.id, model.root, tuple(layers)))
        own = {model.id for model in models}
        try:
            return shims.render_file_shim(
                shims.FileShim(
                    _inline(models[0].path),
                    tuple(shim_models),
                    collection=self.collection,
                    scope_prefix=self.scope_prefix,
                    shared_with=_partners("", frozenset(partners - own)),
                ),
                self.env,
            )
        except shims.ShimError as exc:
            raise RenderError(str(exc)) from exc

    def sources_line(self) -> str:
        return sources_line(self.plan)

    def shared_classes(self) -> dict[str, tuple[CloneClass, str]]:
        """Clone classes some trunk uses, with the name they get in layers_common."""
        return {c.id: (c, safe_identifier(c.name)) for c in _transferred_classes(self.plan)}

    # -- layers_common ------------------------------------------------------------------------
    def common_module(self, shared: dict[str, tuple[CloneClass, str]]) -> str:
        copies = canonical_copies(self.plan, shared)
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
            imports=copies.imports,
            definitions=copies.definitions,
            builders=builders,
            sources=self.sources_line(),
        )

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
            if names.is_reserved_in_shim(builder.split(".")[0]):
                continue  # would shadow the shim's own API; the model keeps its own definition
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
            collection=repr(self.collection),
            scope_prefix=repr(self.scope_prefix),
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
        if layer.expected is not None:
            fields.append(f"expected={tuple(layer.expected)!r}")
        fields.append(f"label={f'layer {layer.position + 1} {layer.label}'!r}")
        partners = _partners(model_id, self.node_set(layer.shared_with))
        comment = format_layer_comment(
            LayerComment(layer.position + 1, layer.label, layer.key, partners)
        )
        body = "".join(f"        {field},\n" for field in fields)
        return ShimLayer(source=f"_runtime.SharedLayer(\n{body}    )", comment=comment)

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
    return tuple(sorted(((m, id_path(m)) for m in sharing), key=lambda item: item[1]))


def _partners(model_id: str, sharing: frozenset[str]) -> str:
    """`models/a.py, models/b.py and 12 more`: the other models on a trie node (by id when
    their file holds several of them: `models/cnns.py::WideCNN`)."""
    ordered = _sorted_paths(sharing)
    window = ordered[: MAX_PARTNERS_SHOWN + 2]
    paths = [path for _, path in window]
    shown = [
        _inline(path if paths.count(path) == 1 else m) for m, path in window if m != model_id
    ]
    shown = shown[:MAX_PARTNERS_SHOWN]
    extra = len(ordered) - 1 - len(shown)
    text = ", ".join(shown)
    return f"{text} and {extra} more" if extra > 0 else text


def _transferred_classes(plan: Plan) -> list[CloneClass]:
    """Clone classes that some build function's trunk transfers: what layers_common must hold.

    Models entered through roots keep their builders where they are (decorated in place)."""
    entered = {m.id for m in plan.models if m.entries}
    used = {
        layer.callee
        for model_id, trunk in plan.trunks
        if model_id not in entered
        for layer in trunk
    }
    return [c for c in plan.clone_classes if c.id in used]


def sources_line(plan: Plan) -> str:
    """The scanned files, named when few, counted when many."""
    paths = [p for p, status in plan.files if status == "ok"]
    return _inline(", ".join(paths)) if len(paths) <= 6 else f"{len(paths)} model files"


def _inline(text: str) -> str:
    """Text from file names, safe inside a generated docstring or comment: one line, no quotes
    or backslashes that could end the string (a path is data, never code)."""
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


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
    return sorted({id_path(c.canonical) for c in _transferred_classes(plan)})


def common_inputs(plan: Plan) -> list[str]:
    """Everything layers_common shows besides the settings: its sources, classes and members."""
    parts = [f"sources|{sources_line(plan)}"]
    for clone in _transferred_classes(plan):
        path = id_path(clone.canonical)
        members = ",".join(clone.members)
        parts.append(f"{clone.id}|{clone.name}|{clone.kind}|{members}|{plan.modules[path].digest}")
    return parts
