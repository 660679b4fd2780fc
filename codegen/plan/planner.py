"""Models, layer sequences, the trunk trie and canonical checkpoint keys; a pure function."""

from __future__ import annotations

import keyword
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from codegen import literals, stable_hash
from codegen.config import Config
from codegen.diagnostics import (
    LIBRARY_LAYER_SHARED,
    NOT_ROUTABLE,
    SEVERAL_BUILD_FUNCTIONS,
    UNRESOLVED_IMPORT,
    info,
    warning,
)
from codegen.ids import function_id, id_path, id_qualname, split_id
from codegen.model import (
    DEFAULT_LINE_LENGTH,
    CloneClass,
    Diagnostic,
    Divergence,
    FunctionFacts,
    Layer,
    LayerCall,
    LayerMark,
    Model,
    ModelEdit,
    ModuleFacts,
    Plan,
    RootRoute,
    TrieNode,
    TrunkLayer,
)
from codegen.names import COMMON_MODULE, common_module, shim_alias, shim_module
from codegen.paths import package_of
from codegen.plan import roots
from codegen.plan.fingerprint import (
    Fingerprints,
    builder_identity,
    call_signature,
    canonical_params,
    fingerprint,
    labelled_args,
)
from codegen.plan.linking import Project
from codegen.scan import apis


@dataclass(frozen=True)
class PlanOptions:
    """The configuration that shapes a plan (a subset of Config, so plan stays config-agnostic)."""

    # The defaults are Config's (they live there only).
    build_function: str = Config.build_function
    output_package: str = package_of(Config.output)
    line_length: int = DEFAULT_LINE_LENGTH  # the project formatter's, for the lines apply adds

    @property
    def narrows_roots(self) -> bool:
        """A chosen build_function narrows the models found to the names it matches."""
        return self.build_function != Config.build_function


def make_plan(modules: Sequence[ModuleFacts], options: PlanOptions = PlanOptions()) -> Plan:
    """Scan facts in, plan out: clone classes, models, trie, keys and divergences."""
    modules = sorted(modules, key=lambda m: m.path)
    project = Project(modules, output_package=options.output_package)
    prints = fingerprint(modules, build_pattern=options.build_function, project=project)
    diagnostics: list[Diagnostic] = [d for m in modules for d in m.diagnostics]
    classes = {c.id: c for c in prints.clone_classes}
    classes_by_name = {c.name: c for c in prints.clone_classes}
    functions = {function_id(m.path, f.qualname): f for m in modules if m.ok for f in m.functions}
    names = _model_names([m.path for m in modules])
    models: list[Model] = []
    for module in modules:
        if not module.ok:
            continue
        build = _build_function(module, prints, options, diagnostics)
        if build is None:
            continue
        layers, static_depth = _layer_sequence(
            module, build, prints, classes, classes_by_name, options, project, diagnostics
        )
        # A build function calling builders of other scanned files is routed as the other
        # shapes are (its shim marks those calls where it makes them), not by a build shim.
        entered = any(layer.builder_path for layer in layers[:static_depth])
        models.append(
            Model(
                id=function_id(module.path, build),
                path=module.path,
                build=build,
                name=names[module.path],
                layers=tuple(layers),
                static_depth=static_depth,
                entries=(build,) if entered else (),
                root=build if entered else "",
                shim=names[module.path] if entered else "",
            )
        )
    models += _other_models(project, prints, classes, options, models, names, diagnostics)
    trunks, nodes, divergences = _trie(models, prints, diagnostics, functions)
    diagnostics += _unroutable(models, nodes)
    return Plan(
        files=tuple((m.path, "ok" if m.ok else "error") for m in modules),
        builders=prints.builders,
        clone_classes=prints.clone_classes,
        near_misses=prints.near_misses,
        models=tuple(models),
        trunks=trunks,
        nodes=nodes,
        divergences=divergences,
        diagnostics=tuple(sorted(set(diagnostics))),
        functions=functions,
        modules={m.path: m for m in modules},
    )


def _build_function(
    module: ModuleFacts, prints: Fingerprints, options: PlanOptions, diagnostics: list[Diagnostic]
) -> str | None:
    """The module-level builder whose name matches the build pattern and that nothing else calls."""
    pattern = re.compile(options.build_function)
    called = {callee for f in module.functions for callee in f.local_calls}
    candidates = [
        f
        for f in module.functions
        if f.kind == "function"
        and pattern.search(f.name)
        and function_id(module.path, f.qualname) in prints.creates
        and f.qualname not in called
    ]
    if not candidates:
        return None
    if len(candidates) > 1:
        chosen = candidates[0]
        others = ", ".join(f.qualname for f in candidates[1:])
        diagnostics.append(
            warning(
                module.path,
                SEVERAL_BUILD_FUNCTIONS,
                f"several build functions match `{options.build_function}`; using "
                f"`{chosen.qualname}`, ignoring {others} (set build_function to choose)",
                line=chosen.line,
            )
        )
    return candidates[0].qualname


def _other_models(
    project: Project,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    options: PlanOptions,
    legacy: list[Model],
    names: dict[str, str],
    diagnostics: list[Diagnostic],
) -> list[Model]:
    """Models of every other shape (classes, build methods, model_fns, module code), each with
    the layers its root reaches and the file shim (named by the file) that routes it."""
    found = roots.find_roots(
        project,
        prints,
        build_pattern=options.build_function,
        narrow=options.narrows_roots,
        legacy={m.id for m in legacy},
    )
    taken = set(names.values())
    legacy_paths = {m.path for m in legacy}
    roots_per_file = Counter(root.path for root in found)
    out = []
    for root in found:
        walk = roots.LayerWalk(project, prints, classes, root)
        walk.build()
        if not walk.layers or (root.kind == "function" and len(walk.layers) < 2):
            continue  # only counters or slots; or a lone helper layer, not a model
        # A file's only model is named by the file, as a build function is; several by root too.
        alone = root.path not in legacy_paths and roots_per_file[root.path] == 1
        if alone:
            name = names[root.path]  # unique: file names are
        else:
            base = name = f"{names[root.path]}_{_snake(root.qualname)}"
            counter = 2
            while name in taken:
                name, counter = f"{base}_{counter}", counter + 1
            taken.add(name)
        for callee, line, holder in dict.fromkeys(walk.unresolved):
            diagnostics.append(
                info(
                    root.path,
                    UNRESOLVED_IMPORT,
                    f"`{callee}` (called in `{holder}`) is not defined in any scanned file; "
                    "if it creates variables, model "
                    f"`{root.qualname}` has layers the scan cannot see",
                    line=line,
                )
            )
        out.append(
            Model(
                id=function_id(root.path, root.qualname),
                path=root.path,
                build=root.qualname,
                name=name,
                layers=tuple(walk.layers),
                static_depth=len(walk.layers) if walk.static_depth is None else walk.static_depth,
                entries=_entries(root, walk.members),
                root=root.qualname,
                kind=root.kind,  # type: ignore[arg-type]
                members=tuple(walk.members),
                # Module-level script code has no function apply could enter; a file whose build
                # function has its own shim (named by the file) cannot hold a second one.
                routable=root.kind != "module" and root.path not in legacy_paths,
                shim=names[root.path],
            )
        )
    return out


def _entries(root: roots.Root, members: list[str]) -> tuple[str, ...]:
    """Where a model is entered in its own file: the constructor or build method, or the model_fn
    and the module-level functions it looks into (create_model), which users also call."""
    if root.kind == "module":
        return ()
    own = [id_qualname(m) for m in members if id_path(m) == root.path]
    if root.kind == "model_fn":
        return tuple(q for q in own if q == root.qualname or "." not in q)
    entry_path, entry = split_id(root.entry)
    return (entry,) if entry_path == root.path else ()


def _snake(qualname: str) -> str:
    """`BiLSTM_CRF.build_graph` -> `bilstm_crf_build_graph`; `<module>` -> `module`."""
    return re.sub(r"\W+", "_", qualname).strip("_").lower() or "model"


def _unroutable(models: list[Model], nodes: tuple[TrieNode, ...]) -> list[Diagnostic]:
    """One note per model that shares layers but that apply cannot route, saying why."""
    depth: dict[str, int] = {}
    for node in nodes:
        for model_id in node.models:
            depth[model_id] = max(depth.get(model_id, 0), node.depth)
    out = []
    for model in models:
        if not model.routable and model.id in depth:
            out.append(
                info(
                    model.path,
                    NOT_ROUTABLE,
                    f"model `{model.build}` ({model.kind}) shares {depth[model.id]} layer(s) with "
                    f"other models but is not transferred: {_why_unroutable(model)}",
                    line=model.layers[0].line if model.layers else 1,
                )
            )
    return out


def _why_unroutable(model: Model) -> str:
    if model.kind == "module":
        return (
            "module-level script code has no function to enter; move the graph code into a "
            "function (or a class) to route it"
        )
    return (
        "its file also has a build function with its own shim; move this model to a file of "
        "its own to route it"
    )


def _entered_route(model: Model, layer: Layer) -> tuple[str | None, tuple[str, int, int] | None]:
    """How apply routes a shared layer of a model entered through roots: the builder or method
    to decorate where it is defined, or the lines to mark where the layer is built."""
    holder = layer.holder or model.build
    if layer.kind in ("inline-api", "inline-block"):
        return None, (holder, layer.line, layer.end_line)
    if layer.builder and not layer.builder_path:  # defined here: decorated where it is defined
        return layer.builder, None
    # Imported from another scanned file (a backbone class, an inherited method), or a library
    # call in a build function: marked where this model makes the call, so the other file and
    # its other callers stay untouched.
    return None, (holder, layer.line, layer.line)


def _unmarkable(model: Model, layer: Layer) -> str:
    """Why a shared layer of an entered model cannot be routed in the model's file, or ""."""
    needs_mark = layer.builder is None or bool(layer.builder_path)  # inline, library, imported
    if needs_mark and layer.path and layer.path != model.path:
        return (
            f"it is built in `{layer.holder}` of {layer.path}, another file, where this model's "
            "shim cannot mark it"
        )
    if needs_mark and layer.kind in ("builder", "method"):
        crowded = [
            other
            for other in model.layers
            if other is not layer
            and other.holder == layer.holder
            and (other.path or model.path) == (layer.path or model.path)
            and other.line <= layer.line <= max(other.line, other.end_line)
        ]
        if crowded:
            return "its call shares a statement with another layer, so no mark can hold it alone"
    return ""


def _layer_sequence(
    module: ModuleFacts,
    build: str,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    classes_by_name: dict[str, CloneClass],
    options: PlanOptions,
    project: Project,
    diagnostics: list[Diagnostic],
) -> tuple[list[Layer], int]:
    """The build function's layer calls, each identified independent of this model's names."""
    function = next(f for f in module.functions if f.qualname == build)
    fid = function_id(module.path, build)
    layers: list[Layer] = []
    static_depth: int | None = None
    occurrences: dict[str, int] = defaultdict(int)
    for call in function.layer_calls:
        identity = _identify(module, fid, call, prints, classes, classes_by_name, options, project)
        if identity is None:
            if (
                not call.local
                and roots.worth_noting(call.callee, project)
                and project.callee(fid, call.callee, False, None) is None
            ):
                diagnostics.append(
                    info(
                        module.path,
                        UNRESOLVED_IMPORT,
                        f"`{call.callee}` (called in `{build}`) is not defined in any scanned "
                        f"file; if it creates variables, model `{build}` has layers the scan "
                        "cannot see",
                        line=call.line,
                    )
                )
            continue
        if not call.static and static_depth is None:
            static_depth = len(layers)
        args, arg_names = labelled_args(call, identity.params)
        # A builder of another file counts apart from a same-named one of this file.
        occurrence_key = (
            function_id(identity.builder_path, identity.builder)
            if identity.builder and identity.builder_path
            else identity.builder or identity.callee
        )
        layers.append(
            Layer(
                callee=identity.callee,
                label=identity.label,
                args=args,
                names=arg_names,
                line=call.line,
                builder=identity.builder,
                occurrence=occurrences[occurrence_key],
                signature=call_signature(identity.hash, call),
                builder_path=identity.builder_path,
            )
        )
        occurrences[occurrence_key] += 1
    return layers, len(layers) if static_depth is None else static_depth


@dataclass(frozen=True)
class _Identity:
    """What a layer call of a build function is, independent of the model's names."""

    callee: str  # clone class id, API dotted name, or "local:<builder id>" for a lone builder
    label: str
    hash: str  # what the signature hashes: the clone class's content, the API, the closure
    builder: str | None  # qualname of the builder where it is defined; None for an API
    params: tuple[str, ...]  # canonical parameter names, to label positional arguments
    builder_path: str = ""  # the file defining `builder` when it is not the model's own


def _identify(
    module: ModuleFacts,
    fid: str,
    call: LayerCall,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    classes_by_name: dict[str, CloneClass],
    options: PlanOptions,
    project: Project,
) -> _Identity | None:
    """What a layer call of build function `fid` is, or None: no layer."""
    if call.local:
        return _builder_identity(
            function_id(module.path, call.callee), module.path, prints, classes, project
        )
    if apis.creates_variables(call.callee):
        return _Identity(call.callee, apis.short_label(call.callee), call.callee, None, ())
    module_path, _, name = call.callee.rpartition(".")
    if module_path.startswith(options.output_package + ".") and name in classes_by_name:
        # Imported from generated code: the shared builder of that name, routed through the shim.
        clone = classes_by_name[name]
        return _Identity(
            clone.id,
            clone.name,
            clone.content_hash,
            name,
            canonical_params(project.functions, clone),
        )
    # Imported from another scanned file (plain, package-qualified, relative or star import):
    # the builder itself, so every model reaching it gets the same layer, by identity.
    target = project.callee(fid, call.callee, False, None)
    if target is None:
        return None
    return _builder_identity(target, module.path, prints, classes, project)


def _builder_identity(
    target: str,
    model_path: str,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    project: Project,
) -> _Identity | None:
    """A call of the builder `target` (a function id), from a build function in `model_path`."""
    if target not in prints.creates:
        return None
    path, qualname = split_id(target)
    callee, label, identity, params = builder_identity(target, prints, classes, project.functions)
    builder_path = "" if path == model_path else path
    return _Identity(callee, label, identity, qualname, params, builder_path)


# At most this many divergences are explained per branch point (one per pair of branches).
MAX_DIVERGENCES_PER_NODE = 12


def _trie(
    models: list[Model],
    prints: Fingerprints,
    diagnostics: list[Diagnostic],
    functions: dict[str, FunctionFacts],
) -> tuple[
    tuple[tuple[str, tuple[TrunkLayer, ...]], ...],
    tuple[TrieNode, ...],
    tuple[Divergence, ...],
]:
    """Insert every layer sequence into a prefix trie; nodes on two or more paths transfer."""
    node_models: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for model in models:
        path: tuple[str, ...] = ()
        node_models[path].append(model.id)
        for layer in model.layers[: model.static_depth]:
            path = (*path, layer.signature)
            node_models[path].append(model.id)
    # One tuple per node, shared by every TrunkLayer on it: memory stays linear in the models.
    sharing_of = {path: tuple(ids) for path, ids in node_models.items() if len(ids) >= 2}
    by_id = {m.id: m for m in models}
    # Builders some model calls through an import of the file that defines them.
    imported = {
        (lay.builder_path, lay.builder) for m in models for lay in m.layers if lay.builder_path
    }
    classes = {c.id: c for c in prints.clone_classes}
    trunks = []
    nodes = []
    for model in models:
        trunk: list[TrunkLayer] = []
        path = ()
        stopped = False  # after a shared library layer: still shared, no longer transferable
        for position, layer in enumerate(model.layers[: model.static_depth]):
            path = (*path, layer.signature)
            sharing = sharing_of.get(path)
            if sharing is None:
                break
            if sharing[0] == model.id:
                nodes.append(TrieNode(position + 1, layer.label, sharing))
            if stopped or not model.routable:
                continue  # shared, but not transferable
            builder, inline = layer.builder, None
            if model.entries:
                why = _unmarkable(model, layer)
                if why:
                    diagnostics.append(
                        info(
                            model.path,
                            NOT_ROUTABLE,
                            f"layer {position + 1} ({layer.label}) of `{model.root}` is shared "
                            f"but {why}; only the {position} layer(s) before it transfer",
                            line=layer.line,
                        )
                    )
                    stopped = True
                    continue
                builder, inline = _entered_route(model, layer)
            elif (
                layer.builder is None
                or layer.builder_path
                or (model.path, layer.builder) in imported
            ):
                # A build function's shim routes the builders its file defines or imports from
                # generated code; one imported from another scanned file is shared, not routed.
                # Nor is one that other model files import: its decorator would record their
                # calls as this model's layer.
                if layer.builder is None:
                    what = "a library call in the build function; wrap it in a builder function"
                elif layer.builder_path:
                    what = (
                        f"a builder imported from {layer.builder_path}, which a build "
                        "function's shim does not route yet; define it in the model file or "
                        "import it from generated code"
                    )
                else:
                    what = (
                        "a builder that other model files import from this one (routing it here "
                        "would record their calls as this model's layer); give them their own "
                        "copy"
                    )
                diagnostics.append(
                    info(
                        model.path,
                        LIBRARY_LAYER_SHARED,
                        f"layer {position + 1} ({layer.label}) is shared but is {what} to "
                        "transfer it and the layers after it",
                        line=layer.line,
                    )
                )
                stopped = True
                continue
            # Position and whole-path hash only: names (which copy is canonical, how the models
            # call things) would change when an unrelated model is added.
            key = f"{position:02d}_{stable_hash('/'.join(path))[:8]}"
            reference = by_id[sharing[0]]
            trunk.append(
                TrunkLayer(
                    position=position,
                    builder=builder,
                    callee=layer.callee,
                    occurrence=layer.occurrence,
                    key=key,
                    label=layer.label,
                    shared_with=sharing,
                    imported=builder is not None
                    and not model.entries
                    and function_id(model.path, builder) not in functions,
                    expected=_expected_names(
                        reference.layers[position], classes, prints, functions
                    ),
                    inline=inline,
                )
            )
        trunks.append((model.id, tuple(trunk)))
    return tuple(trunks), tuple(nodes), _divergences(node_models, by_id, prints)


def _divergences(
    node_models: dict[tuple[str, ...], list[str]], by_id: dict[str, Model], prints: Fingerprints
) -> tuple[Divergence, ...]:
    """Why branches part, once per pair of branches at each branch point (not per model pair)."""
    near = _NearMissIndex(prints)
    out: list[Divergence] = []
    for path, ids in sorted(node_models.items(), key=lambda item: (len(item[0]), item[0])):
        if len(ids) < 2:
            continue
        depth = len(path)
        branches: dict[str, list[str]] = defaultdict(list)
        for model_id in ids:
            model = by_id[model_id]
            following = model.layers[depth].signature if depth < model.static_depth else ""
            branches[following].append(model_id)
        if len(branches) < 2:
            continue
        groups = sorted(branches.values(), key=lambda group: (-len(group), group[0]))
        pairs = [(x, y) for i, x in enumerate(groups) for y in groups[i + 1 :]]
        if not path:  # before any shared layer: only first layers that are alike need words
            pairs = [(x, y) for x, y in pairs if _alike_first(by_id[x[0]], by_id[y[0]])]
        for group_a, group_b in pairs[:MAX_DIVERGENCES_PER_NODE]:
            a, b = by_id[group_a[0]], by_id[group_b[0]]
            reason = _why_diverge(a, b, depth, near)
            if len(group_a) + len(group_b) > 2:
                reason += f" [{len(group_a)} vs {len(group_b)} models on these branches]"
            out.append(Divergence(a.id, b.id, depth, reason))
    return tuple(out)


def _alike_first(a: Model, b: Model) -> bool:
    """Whether two models' first layers are the same builder or API (differing in arguments)."""
    if not a.layers or not b.layers:
        return False
    return a.layers[0].callee == b.layers[0].callee or a.layers[0].label == b.layers[0].label


def pair_depths(plan: Plan, among: set[str] | None = None) -> dict[tuple[str, str], int]:
    """Shared depth of every pair of models that shares at least one layer (others share 0)."""
    depths: dict[tuple[str, str], int] = {}
    for node in plan.nodes:
        members = [m for m in node.models if among is None or m in among]
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pair = (a, b) if a < b else (b, a)
                if depths.get(pair, 0) < node.depth:
                    depths[pair] = node.depth
    return depths


def _expected_names(
    reference: Layer,
    classes: dict[str, CloneClass],
    prints: Fingerprints,
    functions: dict[str, FunctionFacts],
) -> tuple[str, ...] | None:
    """Numbered names (v0, v1, ...) of the variables the layer creates, when known statically."""
    if reference.variables is not None:  # an inline layer of tf.Variable/get_variable calls
        return tuple(f"v{index}" for index in range(reference.variables))
    clone = classes.get(reference.callee)
    if clone is None:
        return None
    canonical = functions[clone.canonical]
    path = id_path(clone.canonical)
    if canonical.variable_names is None or any(
        function_id(path, callee) in prints.creates for callee in canonical.local_calls
    ):
        return None  # names made at run time, or by another builder it calls
    distinct = dict.fromkeys(
        _resolved_name(parts, canonical, reference) for parts in canonical.variable_names
    )
    if None in distinct:
        return None
    return tuple(f"v{index}" for index in range(len(distinct)))


def _resolved_name(parts: tuple[str, ...], canonical: FunctionFacts, call: Layer) -> str | None:
    """A symbolic variable name with parameters filled from the call (or defaults)."""
    given = dict((*call.args, *call.names))
    resolved = []
    for part in parts:
        if part.startswith("s:"):
            resolved.append(part[2:])
            continue
        index = int(part[2:])
        param = canonical.params[index] if index < len(canonical.params) else f"#{index}"
        text = given.get(param, given.get(f"#{index}"))
        if text is None and index < len(canonical.param_defaults):
            text = canonical.param_defaults[index]
        value = literals.string(text) if text is not None else None
        if not value or "/" in value:  # not a name, or not one part of a name
            return None
        resolved.append(value)
    return "/".join(resolved)


def _why_diverge(a: Model, b: Model, depth: int, near: _NearMissIndex) -> str:
    """In words a person can act on: why a and b stop sharing after `depth` layers."""
    # A file's one build function is named by the file; several models in a file, by their ids.
    name_a = a.path if a.kind == "function" else a.id
    name_b = b.path if b.kind == "function" else b.id
    for model in (a, b):
        if depth >= len(model.layers):
            return f"{model.path} has only {len(model.layers)} layers"
        if depth >= model.static_depth:
            layer = model.layers[depth]
            return (
                f"{model.path}:{layer.line} layer {depth + 1} ({layer.label}) is inside a loop "
                "or branch, so its order is not static"
            )
    la, lb = a.layers[depth], b.layers[depth]
    where = f"layer {depth + 1}"
    if la.callee != lb.callee:
        reason = (
            f"{where}: {name_a}:{la.line} calls `{la.label}` "
            f"but {name_b}:{lb.line} calls `{lb.label}`"
        )
        found = near.between(a.path, la, b.path, lb)
        if found:
            reason += f" ({found})"
        elif la.label == lb.label:
            reason += " (same name, not the same code)"
        return reason
    args_a, args_b = dict(la.args), dict(lb.args)
    differing = sorted(k for k in set(args_a) | set(args_b) if args_a.get(k) != args_b.get(k))
    details = ", ".join(
        f"{_human_key(k)} is {args_a.get(k, 'not given')} in {name_a} "
        f"but {args_b.get(k, 'not given')} in {name_b}"
        for k in differing
    )
    return f"{where} `{la.label}`: {details} ({name_a}:{la.line}, {name_b}:{lb.line})"


def _human_key(key: str) -> str:
    """`#1` reads as `argument 2`."""
    return (
        f"argument {int(key[1:]) + 1}" if key.startswith("#") and key[1:].isdigit() else f"`{key}`"
    )


class _NearMissIndex:
    """Near-miss reasons by pair of clone classes (or lone builders), built once per plan."""

    def __init__(self, prints: Fingerprints):
        self.group = {m: c.id for c in prints.clone_classes for m in c.members}
        self.reasons: dict[frozenset[str], str] = {}
        for near in prints.near_misses:
            key = frozenset((self.group.get(near.a, near.a), self.group.get(near.b, near.b)))
            self.reasons.setdefault(key, near.reason)

    def between(self, path_a: str, la: Layer, path_b: str, lb: Layer) -> str | None:
        if la.builder is None or lb.builder is None:
            return None
        ida = function_id(la.builder_path or path_a, la.builder)
        idb = function_id(lb.builder_path or path_b, lb.builder)
        return self.reasons.get(frozenset((self.group.get(ida, ida), self.group.get(idb, idb))))


def _model_names(paths: Sequence[str]) -> dict[str, str]:
    """Module-safe, unique model names from file names (`my-model.py` -> `my_model`)."""
    names: dict[str, str] = {}
    taken: set[str] = {COMMON_MODULE.removesuffix("_common"), COMMON_MODULE}
    for path in sorted(paths):
        stem = path.rsplit("/", 1)[-1].removesuffix(".py")
        base = (
            re.sub(r"\W+", "_", stem.encode("ascii", "ignore").decode() or "model")
            .strip("_")
            .lower()
        )
        base = base or "model"
        if base[0].isdigit():
            base = "m_" + base
        if keyword.iskeyword(base) or keyword.issoftkeyword(base) or base in {"__init__", "init"}:
            base += "_model"
        name, counter = base, 2
        while name in taken:
            name, counter = f"{base}_{counter}", counter + 1
        taken.add(name)
        names[path] = name
    return names


def model_edits(plan: Plan, options: PlanOptions) -> tuple[ModelEdit, ...]:
    """What apply must change in each model file (one edit per file), derived from its trunks."""
    trunks = dict(plan.trunks)
    by_path: dict[str, list[Model]] = {}
    for model in plan.models:
        if model.routable:  # module-level script code: no edit, its file untouched
            by_path.setdefault(model.path, []).append(model)
    edits = []
    for path, models in by_path.items():
        builders: set[str] = set()
        roots: list[RootRoute] = []
        marks: list[LayerMark] = []
        build = ""
        for model in models:
            trunk = trunks.get(model.id, ())
            builders.update(t.builder for t in trunk if t.builder and t.inline is None)
            if not model.entries:
                build = build or model.build
            elif trunk:
                roots.extend(RootRoute(entry, model.root) for entry in model.entries)
                marks.extend(
                    LayerMark(t.inline[0], t.inline[1], t.inline[2], model.root, t.position)
                    for t in trunk
                    if t.inline is not None
                )
        edits.append(
            ModelEdit(
                path=path,
                shim_module=shim_module(options.output_package, models[0].shim or models[0].name),
                shim_alias=shim_alias(models[0].shim or models[0].name),
                shared_builders=tuple(sorted(builders)),
                build=build,
                common_module=common_module(options.output_package),
                roots=tuple(dict.fromkeys(roots)),
                marks=tuple(marks),
                line_length=options.line_length,
            )
        )
    return tuple(edits)
