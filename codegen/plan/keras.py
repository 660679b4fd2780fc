"""Keras layers in a model's walk: statements of Keras layers, wrapped helpers, and a library
layer identified by its API and literal arguments, placed where its constructor is."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from codegen.diagnostics import UNPLACED_LAYERS, info
from codegen.ids import id_path
from codegen.model import Diagnostic, FunctionFacts, InlineLayer, Layer, LayerCall
from codegen.names import UNPLACED
from codegen.plan.dispatch import Dispatch
from codegen.plan.fingerprint import Fingerprints, call_signature, labelled_args, references
from codegen.plan.identity import imported_reads
from codegen.plan.linking import Project
from codegen.plan.relevance import library_deciding
from codegen.scan import apis

TRUNK_ENDS = ", so no layer from this call on is shared"


class Walk(Protocol):
    """What `own_method` reads of a root's layer walk (plan/roots.py)."""

    project: Project
    prints: Fingerprints
    dispatch: Dispatch

    @property
    def root(self) -> Rooted: ...


class Staged(Protocol):
    """Where a walk's static trunk ends (plan/roots.py)."""

    static_depth: int | None


class Rooted(Protocol):
    """The root of a walk: the class `self.*()` calls resolve against."""

    @property
    def class_ctx(self) -> tuple[str, str] | None: ...


def keras_unit(function: FunctionFacts, unit: InlineLayer) -> bool:
    """A statement of Keras layers (and helper calls): each call is a layer of its own, a Keras
    layer by its API and literal arguments, as in a build function. Not a loop or branch (its
    calls are not static: one layer, matched as a whole), nor one that makes TF variables."""
    calls = [function.layer_calls[i] for i in unit.calls]
    return (
        any(apis.is_keras_layer(c.callee) for c in calls if not c.local)
        and all(c.static for c in calls)
        and all(
            c.local or apis.is_keras_layer(c.callee) or not apis.is_library(c.callee) for c in calls
        )
    )


def wrapped_helpers(calls: tuple[LayerCall, ...], indices: Iterable[int]) -> set[int]:
    """Calls of helpers of this module that build a Keras layer another one wraps
    (`Bidirectional(self._rnn_cell())`): the wrapper, made just after its arguments, names them
    among its references, and they sit inside its parentheses (after where it starts)."""
    out: set[int] = set()
    chosen = sorted(indices)
    for position, index in enumerate(chosen):
        wrapper = calls[index]
        if wrapper.local or not wrapper.refs or not apis.is_keras_layer(wrapper.callee):
            continue
        referenced = {ref for _, ref in wrapper.refs}
        for inner in chosen[:position]:
            call = calls[inner]
            if (
                call.local
                and "L:" + call.callee in referenced
                and (call.line, call.column) > (wrapper.line, wrapper.column)
            ):
                out.add(inner)
    return out


def library_layer(
    project: Project,
    prints: Fingerprints,
    call: LayerCall,
    function: FunctionFacts,
    fid: str,
    unit: InlineLayer | None,
    class_ctx: tuple[str, str] | None,
    occurrence: int,
    bound: Mapping[str, str] | None = None,
) -> Layer:
    """A Keras library layer (built inline or through a layer object): its API and literal
    arguments, as in a build function, so Sequential, functional and subclassed spellings of one
    stack match; `bound`: what the call the walk looked into `function` through told its
    parameters."""
    refs, _ = references(fid, call, project, prints)
    args, arg_names = labelled_args(call, ())
    decided = library_deciding(call)
    callee = call.callee
    holder, line, end_line = function.qualname, call.line, call.line
    if unit is not None:
        line, end_line = unit.line, unit.end_line
    built = constructor_holder(project, prints, call, function, class_ctx)
    if built is not None:
        # A layer object of a Keras class: it is marked where it is made (the scan gives the
        # constructor's position), its weights appear at this first use.
        holder, line, end_line = built, call.line, call.line
    return Layer(
        callee=callee,
        label=apis.short_label(callee),
        args=args,
        names=arg_names,
        line=line,
        builder=None,
        occurrence=occurrence,
        signature=call_signature(
            callee, decided, refs, imported_reads(fid, decided, project, bound)
        ),
        kind="inline-api",
        holder=holder,
        path=id_path(fid),
        end_line=end_line,
        variables=0 if apis.is_weightless_layer(callee) else None,
    )


def own_method(walk: Walk, target: str, class_ctx: tuple[str, str] | None) -> bool:
    """Whether a method a Keras model's walk runs on `self` is one of the model's own
    (`self.encode(x)` in `call`, inherited ones included): part of the model, looked into even
    when it is a clone, never one layer of its own, since what it computes with are the layer
    objects the model holds (`self.embed`), which its body text does not say."""
    return (
        class_ctx is not None
        and class_ctx == walk.root.class_ctx
        and bool(walk.prints.keras_classes.get(class_ctx))
        and walk.dispatch.self_call(target, class_ctx)
    )


def hides_unseen(
    walk: Walk,
    fid: str,
    class_ctx: tuple[str, str] | None,
    unseen: Callable[[LayerCall, Project], bool],
    seen: set[str],
) -> bool:
    """Whether a Keras model's own method that the scan sees create nothing makes a call it
    cannot see into, there or in own methods it runs (a base's `encode` calling `self.embed`,
    which only the subclass builds): looked into, so that call ends the trunk (CG230)."""
    function = walk.dispatch.function(fid)
    if function is None or fid in seen or not own_method(walk, fid, class_ctx):
        return False
    seen.add(fid)
    for call in function.layer_calls:
        target = walk.dispatch.resolve(fid, call, class_ctx)
        if target is None and unseen(call, walk.project):
            return True
        if target is not None and hides_unseen(walk, target, class_ctx, unseen, seen):
            return True
    return False


def used_again(
    call: LayerCall,
    function: FunctionFacts,
    fid: str,
    class_ctx: tuple[str, str] | None,
    prints: Fingerprints,
    placed: set[tuple[str, int, int]],
) -> bool:
    """Whether a Keras model's layer object (placed at its constructor, outside `function`) was
    already called in this walk, by another method of the model: its weights exist, no new
    layer; `placed` keeps the constructors seen."""
    if class_ctx is None or not prints.keras_classes.get(class_ctx):
        return False
    if function.line <= call.line <= function.end_line:
        return False
    site = (id_path(fid), call.line, call.column)
    if site in placed:
        return True
    placed.add(site)
    return False


def built_unplaced(
    layers: list[Layer], unresolved: list[tuple[str, int, str, str]], walk: Staged
) -> None:
    """A Keras model with a `call()` whose constructor walk gave layers: Keras layers built
    there and kept where the scan does not follow them (`self.blocks = dict(conv=Conv1D(64,
    3))`), since a bound or held object is a layer only where `call()` uses it. Their use is
    unknown, so the trunk ends at the first (CG231), never placing them at their constructor."""
    for index, layer in enumerate(layers):
        if layer.kind == "inline-api" and apis.is_keras_layer(layer.callee):
            unresolved.append((UNPLACED + layer.callee, layer.line, layer.holder, layer.path))
            if walk.static_depth is None or walk.static_depth > index:
                walk.static_depth = index
            return


def unplaced_note(callee: str, line: int, holder: str, path: str, model: str) -> Diagnostic | None:
    """The CG231 note of layer objects a Keras model keeps or reads where the scan cannot place
    their use (`names.UNPLACED` + the objects, as `held.Unplaced` and `built_unplaced` spell
    them), which ends its trunk there; None for any other unseen call."""
    if not callee.startswith(UNPLACED):
        return None
    return info(
        path,
        UNPLACED_LAYERS,
        f"`{holder}` keeps or reads layer objects (`{callee.removeprefix(UNPLACED)}`) where the"
        f" scan cannot tell which one `call()` runs or when; the order of model `{model}`'s"
        f" layers is unknown from there{TRUNK_ENDS}",
        line=line,
    )


def constructor_holder(
    project: Project,
    prints: Fingerprints,
    call: LayerCall,
    function: FunctionFacts,
    class_ctx: tuple[str, str] | None,
) -> str | None:
    """The method of a Keras class that builds a layer object first called in `function` (the
    call's position is its constructor's, outside `function`), else None."""
    if class_ctx is None or not prints.keras_classes.get(class_ctx):
        return None
    if function.line <= call.line <= function.end_line:
        return None
    for cpath, cname in project.mro(*class_ctx):
        if cpath != class_ctx[0]:
            continue
        for method in project.classes[(cpath, cname)].methods:
            fid = project.method(cpath, cname, method)
            found = project.functions.get(fid) if fid is not None else None
            if found is not None and found.line <= call.line <= found.end_line:
                return found.qualname
    return None


_INPUTS = re.compile(r"\.(placeholder|placeholder_with_default|Input)$")


def makes_inputs(function: FunctionFacts) -> bool:
    """Whether a function makes its own inputs (placeholders, Keras `Input`): a model does, a
    layer function transforms the tensors it is handed."""
    return any(_INPUTS.search(api) for api in function.api_calls)


def on_given_inputs(
    project: Project, entry: str, members: list[str]
) -> tuple[str, int, str] | None:
    """A Keras model whose constructor hands `inputs=`/`outputs=` to `super().__init__` while
    neither it nor anything it runs makes an `Input`: its graph starts from tensors it is given
    (`inputs = backbone.input; x = backbone(inputs)`, a backbone passed in), which the scan
    cannot see, so no layer of it is shared. (callee, line, holder) for the CG230 note."""
    function = project.functions.get(entry)
    if function is None:
        return None
    for call in function.layer_calls:
        keys = {*call.opaque, *(key for key, _ in call.args)}
        if call.callee == "super.__init__" and {"inputs", "outputs"} <= keys:
            found = (project.functions.get(member) for member in members)
            if not any(makes_inputs(f) for f in found if f is not None):
                return "the inputs it is given", call.line, function.qualname
    return None


# Library calls that make a layer or model from a config or a saved file: what it holds is data.
_FROM_DATA = frozenset({"deserialize", "deserialize_keras_object", "model_from_config"})
_FROM_DATA |= {"model_from_json", "model_from_yaml"}


def loaded_at_run_time(api: str, calls: Sequence[LayerCall]) -> bool:
    """A layer made from a config that only run time holds (`keras.layers.deserialize(
    config["backbone"])`, `model_from_json(text)`): its layers are whatever the data says, so it
    is unseen (CG230: the trunk ends) rather than one layer that any other such call would match
    (the same API with an opaque argument). A literal config keeps its identity."""
    return (
        apis.is_library(api)
        and api.rsplit(".", 1)[-1] in _FROM_DATA
        and any(call.opaque and not call.args for call in calls)
    )


def seen_library_layer(call: LayerCall) -> bool:
    """A library call that makes a layer the scan identifies by its API and literal arguments:
    one that creates variables or is a Keras layer, unless data decides it (`loaded_at_run_time`:
    then no scanned definition matches it either, and it is noted as unseen)."""
    api = call.callee
    seen = apis.creates_variables(api) or apis.is_keras_layer(api)
    return seen and not loaded_at_run_time(api, [call])


_MODEL = re.compile(r"(^|\.)keras\.(models\.)?Model$")
_INPUT = re.compile(r"(^|\.)keras\.(layers\.)?Input$")


def builds_model(function: FunctionFacts) -> bool:
    """Whether a module-level function makes Keras `Input`s and a `Model` from them: a model,
    even when the scan sees none of its layers create a variable (they come from packages
    outside the scan: its trunk ends at the first such call, CG230)."""
    return (
        function.kind == "function"
        and any(_INPUT.search(api) for api in function.api_calls)
        and any(_MODEL.search(api) for api in function.api_calls)
    )
