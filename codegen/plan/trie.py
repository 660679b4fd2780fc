"""The trunk trie: shared prefixes of the models' layer sequences, canonical checkpoint keys,
and how apply routes each transferred layer (decorated where defined, or marked where built)."""

from __future__ import annotations

from collections import defaultdict

from codegen import literals, stable_hash
from codegen.diagnostics import (
    LIBRARY_LAYER_SHARED,
    NOT_ROUTABLE,
    info,
)
from codegen.ids import function_id, id_path
from codegen.model import (
    CloneClass,
    Diagnostic,
    Divergence,
    FunctionFacts,
    Layer,
    Model,
    Plan,
    TrieNode,
    TrunkLayer,
)
from codegen.plan.explain import divergences
from codegen.plan.fingerprint import (
    Fingerprints,
)
from codegen.scan import apis


def trie(
    models: list[Model],
    prints: Fingerprints,
    diagnostics: list[Diagnostic],
    functions: dict[str, FunctionFacts],
    own_file: set[str],
) -> tuple[
    tuple[tuple[str, tuple[TrunkLayer, ...]], ...],
    tuple[TrieNode, ...],
    tuple[Divergence, ...],
]:
    """Insert every layer sequence into a prefix trie; nodes on two or more paths transfer.

    `own_file`: build functions whose layers all live in their own file; they transfer only
    builders (what other shapes mark, a library call or a builder other files import, ends
    their trunk with a note)."""
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
        keras = is_keras(model, functions)
        weighted = False  # a run of layers without variables (`Input`) shares nothing
        for position, layer in enumerate(model.layers[: model.static_depth]):
            path = (*path, layer.signature)
            sharing = sharing_of.get(path)
            if sharing is None:
                break
            weighted = weighted or layer.variables != 0
            if sharing[0] == model.id and weighted:
                nodes.append(TrieNode(position + 1, layer.label, sharing))
            if stopped or not model.routable:
                continue  # shared, but not transferable
            if layer.variables == 0 and apis.is_weightless_layer(layer.callee):
                # A Keras layer without weights (`Dropout`): on the path, nothing to move (a
                # runtime mark on it would find no weights and refuse).
                continue
            if model.id in own_file and not keras:
                what = _not_transferred(layer, imported, model.path)
                if what:
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
            why = _unmarkable(model, layer, functions)
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
            builder, inline = _route(model, layer, functions)
            if keras:  # a Keras layer object: marked where it is made, whatever made it
                holder = layer.holder or model.build
                builder, inline = None, inline or (holder, layer.line, layer.line)
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
                    # A Keras layer's weights are counted by the runtime, at its first call.
                    expected=None
                    if keras
                    else _expected_names(reference.layers[position], classes, prints, functions),
                    inline=inline,
                    keras=keras,
                )
            )
        if not weighted:
            trunk = []
        trunks.append((model.id, tuple(trunk)))
    return tuple(trunks), tuple(nodes), divergences(node_models, by_id, prints)


# A model that calls these builds a TF1 graph, whatever Keras layers it also uses.
_GRAPH_APIS = ("tensorflow.compat.v1.", "tf.compat.v1.")


def is_keras(model: Model, functions: dict[str, FunctionFacts]) -> bool:
    """Whether a model is of the Keras family: it builds Keras layer objects (a Keras layer in
    its sequence, or called by its own functions or the builders it calls) and none of those
    calls a TF1 graph API."""
    ids = {*model.members, model.id}
    ids.update(
        function_id(layer.path or model.path, layer.builder)
        for layer in model.layers
        if layer.builder is not None and not layer.builder_path
    )
    calls = [call for fid in sorted(ids) if fid in functions for call in functions[fid].api_calls]
    if any(call.startswith(_GRAPH_APIS) for call in calls):
        return False
    return any(apis.is_keras_layer(call) for call in calls) or any(
        layer.builder is None and layer.kind == "builder" and apis.is_keras_layer(layer.callee)
        for layer in model.layers
    )


def _defined_here(model: Model, layer: Layer, functions: dict[str, FunctionFacts]) -> bool:
    """Whether a layer's builder or method is defined in the model's own file (not imported
    from another scanned file or from generated code, not a library call)."""
    return (
        layer.builder is not None
        and not layer.builder_path
        and function_id(model.path, layer.builder) in functions
    )


def _route(
    model: Model, layer: Layer, functions: dict[str, FunctionFacts]
) -> tuple[str | None, tuple[str, int, int] | None]:
    """How apply routes a shared layer: the builder or method to decorate where it is defined,
    or the lines to mark where the layer is built."""
    holder = layer.holder or model.build
    if _through_site(model, layer):
        return None, (layer.site[0], layer.site[1], layer.site[1])  # type: ignore[index]
    if layer.kind in ("inline-api", "inline-block"):
        return None, (holder, layer.line, layer.end_line)
    if _defined_here(model, layer, functions):
        return layer.builder, None
    # Imported from another scanned file (a backbone class, an inherited method) or from
    # generated code, or a library call: marked where this model makes the call, so the file
    # defining it and its other callers stay untouched.
    return None, (holder, layer.line, layer.line)


def _not_transferred(layer: Layer, imported: set[tuple[str, str | None]], path: str) -> str:
    """Why a shared layer of a build function whose layers all live in its file does not
    transfer, or "": such a model transfers builders only."""
    if layer.builder is None:
        return "a library call in the build function; wrap it in a builder function"
    if layer.builder_path:
        return (
            f"a builder imported from {layer.builder_path}, which a build "
            "function's shim does not route yet; define it in the model file or "
            "import it from generated code"
        )
    if (path, layer.builder) in imported:
        # Its decorator would record the other files' calls as this model's layer.
        return (
            "a builder that other model files import from this one (routing it here "
            "would record their calls as this model's layer); give them their own "
            "copy"
        )
    return ""


def _through_site(model: Model, layer: Layer) -> bool:
    """Whether a layer built in another file is the only layer its helper call in the model's
    file builds: then a mark around that call holds exactly it."""
    if layer.site is None or not layer.path or layer.path == model.path:
        return False
    return sum(1 for other in model.layers if other.site == layer.site) == 1


def _unmarkable(model: Model, layer: Layer, functions: dict[str, FunctionFacts]) -> str:
    """Why a shared layer cannot be routed in the model's file, or ""."""
    needs_mark = not _defined_here(model, layer, functions)  # inline, library, imported
    if _through_site(model, layer):
        return ""
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


def _expected_names(
    reference: Layer,
    classes: dict[str, CloneClass],
    prints: Fingerprints,
    functions: dict[str, FunctionFacts],
) -> tuple[str, ...] | None:
    """Numbered names (v0, v1, ...) of the variables the layer creates, when known statically."""
    # An inline layer of tf.Variable/get_variable calls. A call judged weightless (0: it was passed
    # only `layer=Input`-like classes) is not checked: the callee may still make variables.
    if reference.variables:
        return tuple(f"v{index}" for index in range(reference.variables))
    if reference.variables == 0:
        return None
    clone = classes.get(reference.callee)
    if clone is None:
        return None
    canonical = functions.get(clone.canonical)
    if canonical is None:
        return None  # a whole Keras class (`path::Class`): Keras makes its weights when built
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
