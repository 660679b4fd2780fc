"""Finding models: build functions (by the build pattern) and their layer sequences, every
other shape through roots, the models' names, and why a model cannot be routed."""

from __future__ import annotations

import keyword
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from codegen import stable_hash
from codegen.diagnostics import (
    NOT_ROUTABLE,
    SEVERAL_BUILD_FUNCTIONS,
    UNRESOLVED_IMPORT,
    info,
    warning,
)
from codegen.ids import function_id, id_path, id_qualname, split_id
from codegen.model import (
    CloneClass,
    Diagnostic,
    FunctionFacts,
    InlineLayer,
    Layer,
    LayerCall,
    Model,
    ModuleFacts,
    TrieNode,
)
from codegen.names import COMMON_MODULE
from codegen.plan import keras, relevance, roots
from codegen.plan.dispatch import Dispatch
from codegen.plan.fingerprint import (
    Fingerprints,
    builder_identity,
    call_signature,
    canonical_params,
    labelled_args,
    references,
)
from codegen.plan.identity import imported_reads
from codegen.plan.linking import Project
from codegen.plan.options import PlanOptions
from codegen.plan.unseen import Invoked
from codegen.scan import apis

# Said with every unseen call: no layer from the first one on is shared (see roots.unseen).
_TRUNK_ENDS = keras.TRUNK_ENDS


def _build_function(
    module: ModuleFacts,
    prints: Fingerprints,
    options: PlanOptions,
    diagnostics: list[Diagnostic],
    elsewhere: frozenset[str],
) -> str | None:
    """The module-level builder whose name matches the build pattern and that nothing else calls
    (in its module, or model code of another module: `elsewhere`)."""
    pattern = re.compile(options.build_function)
    called = {callee for f in module.functions for callee in f.local_calls}
    candidates = [
        f
        for f in module.functions
        if f.kind == "function"
        and pattern.search(f.name)
        and function_id(module.path, f.qualname) in prints.creates
        and f.qualname not in called
        and function_id(module.path, f.qualname) not in elsewhere
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


def _layer_sequence(
    module: ModuleFacts,
    build: str,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    classes_by_name: dict[str, CloneClass],
    options: PlanOptions,
    project: Project,
    diagnostics: list[Diagnostic],
    invoked: Invoked,
) -> tuple[list[Layer], int]:
    """The build function's layer calls, each identified independent of this model's names."""
    function = next(f for f in module.functions if f.qualname == build)
    fid = function_id(module.path, build)
    layers: list[Layer] = []
    static_depth: int | None = None
    occurrences: dict[str, int] = defaultdict(int)
    loops = _keras_loops(function)
    wrapped = keras.wrapped_helpers(function.layer_calls, range(len(function.layer_calls)))
    for index, call in enumerate(function.layer_calls):
        if index in wrapped:
            continue  # the helper that builds a wrapped Keras layer: part of its wrapper
        loop = loops.get(index)
        if loop is not None:
            if loop.calls[0] == index:
                layers.append(_loop_layer(loop, function, occurrences))
            continue
        identity = _identify(module, fid, call, prints, classes, classes_by_name, options, project)
        if identity is None:
            unseen = roots.unseen(call, project)
            if unseen and project.callee(fid, call.callee, False, None) is None:
                diagnostics.append(_unseen(call.callee, call.line, build, module.path, build))
                if static_depth is None:
                    static_depth = len(layers)  # a layer nobody saw: the trunk ends here
            continue
        hidden = invoked.note(call, identity.target) if identity.target else None
        if hidden is not None and static_depth is None:  # `trunk(backbone, x)`: plan/unseen.py
            diagnostics.append(_unseen(*hidden, build))
            static_depth = len(layers)
        refs, weightless = references(fid, call, project, prints)
        if not call.static and static_depth is None:
            static_depth = len(layers)
        args, arg_names = labelled_args(call, identity.params)
        decided = relevance.deciding(call, project.functions.get(identity.target))
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
                signature=call_signature(
                    identity.hash, decided, refs, imported_reads(fid, decided, project)
                ),
                builder_path=identity.builder_path,
                variables=0 if weightless or apis.is_weightless_layer(call.callee) else None,
            )
        )
        occurrences[occurrence_key] += 1
    return layers, len(layers) if static_depth is None else static_depth


def _unseen(callee: str, line: int, holder: str, path: str, model: str) -> Diagnostic:
    """The CG230 note of a call the scan cannot see into, in the file and at the line of it."""
    return keras.unplaced_note(callee, line, holder, path, model) or info(
        path,
        UNRESOLVED_IMPORT,
        f"`{callee}` (called in `{holder}`) is not defined in any scanned file; if it creates "
        f"variables, model `{model}` has layers the scan cannot see{_TRUNK_ENDS}",
        line=line,
    )


def _keras_loops(function: FunctionFacts) -> dict[int, InlineLayer]:
    """Loops and branches of a build function that hold only Keras layers, by the indices of
    their calls: each is one layer, matched as a whole, as in the other model shapes."""
    out: dict[int, InlineLayer] = {}
    for unit in function.inline_layers:
        calls = [function.layer_calls[i] for i in unit.calls]
        if (
            unit.static
            and calls
            and all(not c.local and not c.static and apis.is_keras_layer(c.callee) for c in calls)
        ):
            out.update(dict.fromkeys(unit.calls, unit))
    return out


def _loop_layer(unit: InlineLayer, function: FunctionFacts, occurrences: dict[str, int]) -> Layer:
    """One loop of Keras layers: its code under the clone rules decides (see roots.inline)."""
    signature = stable_hash(unit.code_hash + "|")
    callee = "inline:" + signature[:12]
    layer = Layer(
        callee=callee,
        label=unit.label,
        args=(),
        names=(),
        line=unit.line,
        builder=None,
        occurrence=occurrences[callee],
        signature=signature,
        kind="inline-block",
        holder=function.qualname,
        end_line=unit.end_line,
        known_shape=unit.known_shape,
        variables=unit.variables,
    )
    occurrences[callee] += 1
    return layer


@dataclass(frozen=True)
class _Identity:
    """What a layer call of a build function is, independent of the model's names."""

    callee: str  # clone class id, API dotted name, or "local:<builder id>" for a lone builder
    label: str
    hash: str  # what the signature hashes: the clone class's content, the API, the closure
    builder: str | None  # qualname of the builder where it is defined; None for an API
    params: tuple[str, ...]  # canonical parameter names, to label positional arguments
    builder_path: str = ""  # the file defining `builder` when it is not the model's own
    target: str = ""  # the builder's function id, whose parameters say which arguments decide


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
    constructed = project.constructed_class(fid, call.callee, call.local)
    if call.local:
        local = function_id(module.path, call.callee)
        return _builder_identity(local, module.path, prints, classes, project, constructed)
    if keras.seen_library_layer(call):  # not one made from data at run time: unseen (CG230)
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
    return _builder_identity(target, module.path, prints, classes, project, constructed)


def _builder_identity(
    target: str,
    model_path: str,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    project: Project,
    constructed: str | None = None,
) -> _Identity | None:
    """A call of the builder `target` (a function id) constructing class `constructed` (if any),
    from a build function in `model_path`."""
    if target not in prints.creates:
        return None
    path, qualname = split_id(target)
    callee, label, identity, params = builder_identity(
        target, prints, classes, project.functions, constructed
    )
    builder_path = "" if path == model_path else path
    return _Identity(callee, label, identity, qualname, params, builder_path, target)


def _other_models(
    project: Project,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    options: PlanOptions,
    build_functions: list[Model],
    names: dict[str, str],
    diagnostics: list[Diagnostic],
    invoked: Invoked,
) -> list[Model]:
    """Models of every other shape (classes, build methods, model_fns, module code), each with
    the layers its root reaches and the file shim (named by the file) that routes it."""
    dispatch = invoked.dispatch
    found = roots.find_roots(
        project,
        prints,
        dispatch=dispatch,
        build_pattern=options.build_function,
        narrow=options.narrows_roots,
        build_functions={m.id for m in build_functions},
    )
    taken = set(names.values())
    build_paths = {m.path for m in build_functions}
    roots_per_file = Counter(root.path for root in found)
    out = []
    walks = {r: roots.LayerWalk(project, prints, classes, r, dispatch, invoked) for r in found}
    for walk in walks.values():
        walk.build()
    helpers = _layer_helpers(walks)
    entry_count = Counter(root.entry for root in found if root.kind == "method")
    shared_entries = {
        root.entry
        for root in found
        if entry_count[root.entry] > 1 and class_of_entry(project, root) != root.class_ctx
    }
    for root in found:
        walk = walks[root]
        entry = project.functions.get(root.entry)
        # Built from layers the scan cannot see: a model all the same (keras.builds_model).
        unseen = bool(walk.unresolved) and entry is not None and keras.builds_model(entry)
        if not unseen and all(layer.variables == 0 for layer in walk.layers):
            continue  # only counters, slots or layers without variables (`Input`): no model
        few = sum(lay.variables != 0 for lay in walk.layers) < 2
        if root.kind == "function" and few and not unseen:
            continue  # a lone helper layer (with weightless steps around it), not a model
        if root in helpers:
            continue  # one layer beside its class's other roots: a helper they (could) call
        # A file's only model is named by the file, as a build function is; several by root too.
        alone = root.path not in build_paths and roots_per_file[root.path] == 1
        if alone:
            name = names[root.path]  # unique: file names are
        else:
            base = name = f"{names[root.path]}_{_snake(root.qualname)}"
            counter = 2
            while name in taken:
                name, counter = f"{base}_{counter}", counter + 1
            taken.add(name)
        for note in dict.fromkeys(walk.unresolved):  # (callee, line, holder, its file)
            diagnostics.append(_unseen(*note, root.qualname))
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
                # Module-level script code has no function apply could enter; an inherited
                # build that several classes' models share has no place for one class's mark.
                routable=root.kind != "module" and root.entry not in shared_entries,
                shim=names[root.path],
            )
        )
    return out


def _layer_helpers(walks: dict[roots.Root, roots.LayerWalk]) -> set[roots.Root]:
    """Method roots that build one layer themselves (one statement or block) beside other roots
    of their class: helpers its models call or could call (nlp-architect's `CommonLayers`
    `define_input_layer`, a static `_create_input_embed`), not models."""
    per_class: dict[object, list[roots.Root]] = defaultdict(list)
    for root in walks:
        if root.kind == "method":
            per_class[root.class_ctx].append(root)
    out = set()
    for members in per_class.values():
        if len(members) < 2:
            continue
        for root in members:
            weighted = [layer for layer in walks[root].layers if layer.variables != 0]
            if len(weighted) == 1 and weighted[0].kind.startswith("inline"):
                out.add(root)
    # The base that defines such a helper (and has no other root) holds the same helper.
    entries = {root.entry for root in out}
    return out | {root for root in walks if root.kind == "method" and root.entry in entries}


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


def unroutable(models: list[Model], nodes: tuple[TrieNode, ...]) -> list[Diagnostic]:
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
    if model.kind != "module":
        owner = model.root.split(".", 1)[0]
        return (
            f"its `{model.root.rsplit('.', 1)[-1]}()` is inherited from a base class whose "
            "method other classes' models share, so apply cannot mark it for one of them; "
            f"define it in `{owner}` (calling `super()`) to route it"
        )
    return (
        "module-level script code has no function to enter; move the graph code into a "
        "function (or a class) to route it"
    )


def class_of_entry(project: Project, root: roots.Root) -> tuple[str, str] | None:
    """(path, class) defining a root's entry method."""
    return roots.class_of(project, root.entry)


def _model_names(paths: Sequence[str]) -> dict[str, str]:
    """Module-safe, unique model names from file names (`my-model.py` -> `my_model`)."""
    names: dict[str, str] = {}
    taken: set[str] = {COMMON_MODULE.removesuffix("_common"), COMMON_MODULE}
    for path in sorted(paths):
        stem = path.rsplit("/", 1)[-1].removesuffix(".py")
        plain = stem.encode("ascii", "ignore").decode() or "model"
        base = re.sub(r"\W+", "_", plain).strip("_").lower() or "model"
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


def find_models(
    modules: Sequence[ModuleFacts],
    prints: Fingerprints,
    options: PlanOptions,
    project: Project,
    diagnostics: list[Diagnostic],
) -> tuple[list[Model], set[str]]:
    """Every model of the scanned files, and the build functions whose layers all live in
    their own file (they keep the build-function rules of what transfers: see trie)."""
    classes = {c.id: c for c in prints.clone_classes}
    classes_by_name = {c.name: c for c in prints.clone_classes}
    names = _model_names([m.path for m in modules])
    models: list[Model] = []
    own_file: set[str] = set()
    # A helper other modules' model code imports (`helpers.build_encoder`) is their layer.
    elsewhere = roots.called_functions(project, prints)
    invoked = Invoked(project, Dispatch(project, prints))  # one per plan: it memoizes
    for module in modules:
        if not module.ok:
            continue
        build = _build_function(module, prints, options, diagnostics, elsewhere)
        if build is None:
            continue
        layers, static_depth = _layer_sequence(
            module, build, prints, classes, classes_by_name, options, project, diagnostics, invoked
        )
        # One calling builders of other scanned files follows the rules of the other shapes:
        # its shim marks those calls where it makes them.
        if not any(layer.builder_path for layer in layers[:static_depth]):
            own_file.add(function_id(module.path, build))
        models.append(
            Model(
                id=function_id(module.path, build),
                path=module.path,
                build=build,
                name=names[module.path],
                layers=tuple(layers),
                static_depth=static_depth,
                entries=(build,),
                root=build,
                shim=names[module.path],
            )
        )
    models += _other_models(project, prints, classes, options, models, names, diagnostics, invoked)
    return models, own_file
