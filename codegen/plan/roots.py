"""Models in real code: which classes, build methods, model_fns and module code are roots, and the
ordered layers each one reaches (builders, methods looked into, inline layers).

Module-level build functions (named by the build pattern) are found, and their layers sequenced,
by the planner; this module finds every other shape. All are routed the same way, by one shim
per file. See README "What counts as what"."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from codegen import stable_hash
from codegen.ids import function_id, id_path, split_id
from codegen.model import CloneClass, FunctionFacts, InlineLayer, Layer, LayerCall
from codegen.plan import keras
from codegen.plan.dispatch import Dispatch
from codegen.plan.drivers import is_driver
from codegen.plan.fingerprint import (
    Fingerprints,
    builder_identity,
    call_signature,
    labelled_args,
    references,
)
from codegen.plan.identity import imported_reads, reuses, shadowed_attributes, told_parameters
from codegen.plan.linking import Project
from codegen.plan.relevance import deciding
from codegen.plan.unseen import Invoked, given_unseen, unseen
from codegen.scan import apis

RootKind = str  # "class" | "method" | "model_fn" | "function" | "module"
# What the Estimator calls a model_fn with, and what one returns: how it is told, by behaviour.
_MODEL_FN_PARAMS = ("features", "labels", "mode")
_ESTIMATOR_SPEC = re.compile(r"\.(TPU)?EstimatorSpec$")
MAX_LOOK_INTO = 32  # methods and functions looked into per model: a bound for odd recursion


@dataclass(frozen=True)
class Root:
    """Where one model is built."""

    kind: RootKind
    path: str
    qualname: str  # the model's id part: "TextCNN", "BiLSTM_CRF.build_graph", "<module>"
    entry: str  # function id whose body starts the sequence
    class_ctx: tuple[str, str] | None  # (path, class) that `self.*()` calls resolve against


def class_of(project: Project, fid: str) -> tuple[str, str] | None:
    """(path, class) of a method's defining class, None for a function."""
    path, qualname = split_id(fid)
    owner = qualname.split(".", 1)[0]
    return (path, owner) if "." in qualname and (path, owner) in project.classes else None


def called_functions(project: Project, prints: Fingerprints) -> frozenset[str]:
    """Functions reached by some other variable-creating, non-driver code (so not roots)."""
    if project.called is not None and project.called[0] is prints:
        return project.called[1]  # asked again by the same plan
    called: set[str] = set()
    for fid, function in project.functions.items():
        if fid not in prints.creates or is_driver(project, fid):
            continue
        ctx = class_of(project, fid)
        for call in function.layer_calls:
            if reuses(call):
                continue  # a sampling loop or an eval tower reusing a model some driver built
            target = project.callee(fid, call.callee, call.local, ctx)
            if target is not None and target != fid:
                called.add(target)
    project.called = (prints, frozenset(called))
    return project.called[1]


def find_roots(
    project: Project,
    prints: Fingerprints,
    *,
    build_pattern: str,
    narrow: bool,
    build_functions: set[str],
    dispatch: Dispatch,
) -> list[Root]:
    """Every root that is not a module-level build function (those are `build_functions` ids);
    with `narrow`, only those with a name `build_pattern` matches."""
    called = called_functions(project, prints)
    roots: list[Root] = []
    creates = prints.creates
    taken = set(build_functions)

    def usable(fid: str | None) -> bool:
        return fid is not None and fid in creates and not is_driver(project, fid)

    for path, name in sorted(project.classes):
        if is_driver(project, function_id(path, name)):
            continue
        if prints.keras_classes.get((path, name)) == "layer":
            continue  # a custom Keras layer class is a layer of the models that use it, never one
        constructor = project.callable_id(path, name)
        if constructor is not None and constructor in called:
            continue  # constructed by other model code: a builder, a layer of that model
        roots += _class_roots(project, dispatch, (path, name), called)
    for fid, function in sorted(project.functions.items()):
        if fid in taken or function.kind == "method":
            continue
        if not usable(fid) and (is_driver(project, fid) or not _hidden(function, project)):
            continue
        path, qualname = split_id(fid)
        # An Estimator model_fn (at module level or made by a `model_fn_builder()`): it takes
        # the Estimator's arguments or returns its spec, whatever it is named.
        if function.params[:3] == _MODEL_FN_PARAMS or any(
            _ESTIMATOR_SPEC.search(api) for api in function.api_calls
        ):
            roots.append(Root("model_fn", path, qualname, fid, None))
        elif (
            function.kind == "function"
            and fid not in called
            and not re.search(build_pattern, function.name)
        ):
            roots.append(Root("function", path, qualname, fid, None))
    for path, module in sorted(project.modules.items()):
        if module.module_code is not None and not is_driver(project, function_id(path, "<module>")):
            roots.append(Root("module", path, "<module>", function_id(path, "<module>"), None))
    # An uncalled builder function is a model only in a module that builds no other model: next
    # to a model it is a helper some code outside the scan may call (or dead code).
    # Several uncalled builder functions that take the tensors they transform (no placeholder or
    # `Input` of their own) make a module a library of layer functions (t2t's common_layers:
    # `nalu`, `td_conv`): each is a layer some model may call, none is a model.
    others = {r.path for r in roots if r.kind != "function"} | {id_path(i) for i in build_functions}
    inputs = keras.makes_inputs
    layer_functions = [
        r for r in roots if r.kind == "function" and not inputs(project.functions[r.entry])
    ]
    per_path = Counter(r.path for r in layer_functions)
    library = {r.entry for r in layer_functions if per_path[r.path] > 1}
    roots = [
        r
        for r in roots
        if r.kind != "function" or (r.path not in others and r.entry not in library)
    ]
    if narrow:
        pattern = re.compile(build_pattern)
        roots = [r for r in roots if any(pattern.search(p) for p in r.qualname.split("."))]
    return roots


def _hidden(function: FunctionFacts, project: Project) -> bool:
    """A Keras model of layers the scan cannot see: one all the same (CG230 where they are)."""
    return keras.builds_model(function) and any(unseen(c, project) for c in function.layer_calls)


def _class_roots(
    project: Project,
    dispatch: Dispatch,
    ctx: tuple[str, str],
    called: frozenset[str],
) -> list[Root]:
    """A class's roots, its methods dispatched as an instance of it: its constructor when that
    builds, else each building method (`__call__` included) that none of its building methods
    calls, so a build inherited from a base runs the class's own overrides."""
    path, name = ctx

    def builds(fid: str | None) -> bool:
        return fid is not None and not is_driver(project, fid) and dispatch.creates(fid, ctx)

    init = project.method(path, name, "__init__")
    if init is not None and builds(init):
        return [Root("class", path, name, init, ctx)]
    building: dict[str, str] = {}
    for cpath, cname in project.mro(path, name):
        for method in project.classes[(cpath, cname)].methods:
            if method in building or (method.startswith("__") and method != "__call__"):
                continue
            fid = project.method(path, name, method)
            if fid is not None and builds(fid):
                building[method] = fid
    inside = {target for fid in building.values() for target in dispatch.self_calls(fid, ctx)}
    # Inherited entries that build only through the class's overrides: one is the model's build
    # (bert4keras `build()`); several (kashgari `build_model`, `build_multi_gpu_model`) are ways
    # into the building method they all run, which is the model.
    entries = [f for f in building.values() if f not in inside and f not in dispatch.prints.creates]
    if len(entries) > 1:
        building = {m: f for m, f in building.items() if f not in entries}
        inside = {t for fid in building.values() for t in dispatch.self_calls(fid, ctx)}
    out = []
    for method, fid in building.items():
        if fid in inside or fid in called:
            continue
        out.append(Root("method", path, f"{name}.{method}", fid, ctx))
    return out


@dataclass
class LayerWalk:
    """A root's layers, gathered by walking its bodies in the order the root reaches them."""

    project: Project
    prints: Fingerprints
    classes: dict[str, CloneClass]
    root: Root
    dispatch: Dispatch  # one per plan, shared by its walks (it memoizes)
    invoked: Invoked  # one per plan too: the parameters each function invokes as objects
    layers: list[Layer] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    # (callee, line, holder, the holder's file)
    unresolved: list[tuple[str, int, str, str]] = field(default_factory=list)
    static_depth: int | None = None
    occurrences: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    site: tuple[str, int] | None = None  # the root file's call into a helper of another file
    # What the root tells a base's constructor (`super().__init__(64, 3)`) or a subclass binds
    # again (`UNITS = 128`): the layers made from there on (or in that method) may read it.
    given: list[str] = field(default_factory=list)
    bound: dict[str, dict[str, str]] = field(default_factory=dict)  # fid -> told_parameters
    placed: set[tuple[str, int, int]] = field(default_factory=set)  # held objects' constructors

    def creates(self, target: str, class_ctx: tuple[str, str] | None) -> bool:
        """Whether a callee creates variables, run as a method of `class_ctx` when it is one."""
        if is_driver(self.project, target):
            return False
        own = self.dispatch.self_call(target, class_ctx)
        return self.dispatch.creates(target, class_ctx if own else None)

    def build(self) -> None:
        self.walk(self.root.entry, True, self.root.class_ctx, set())
        ctx = self.root.class_ctx
        if self.root.kind == "class" and ctx is not None and self.prints.keras_classes.get(ctx):
            # A Keras model makes the weights of the layers its constructor keeps where call()
            # first uses them: call() gives their order.
            call = self.project.method(ctx[0], ctx[1], "call")
            if call is not None:
                keras.built_unplaced(self.layers, self.unresolved, self)  # (see there)
                self.walk(call, True, ctx, set())
        if self.static_depth == 0:
            return  # an unseen call (`backbone(inputs)`, a parameter's object) came first
        if handed := keras.on_given_inputs(self.project, self.root.entry, self.members):
            # A graph on tensors it is handed: nothing shared (the call is in the entry's file).
            self.unresolved.append((*handed, id_path(self.root.entry)))
            self.static_depth = 0

    def walk(
        self, fid: str, static: bool, class_ctx: tuple[str, str] | None, visiting: set[str]
    ) -> None:
        function = self.dispatch.function(fid)
        if function is None or fid in visiting or len(self.members) >= MAX_LOOK_INTO:
            return
        visiting.add(fid)
        self.members.append(fid)
        shadowed = shadowed_attributes(self.project, fid, function, class_ctx)
        self.given += shadowed  # (a constructor's stay: the layers it keeps are used later)
        path = id_path(fid)
        unit_of = {i: n for n, unit in enumerate(function.inline_layers) for i in unit.calls}
        keras_units = {
            n for n, unit in enumerate(function.inline_layers) if keras.keras_unit(function, unit)
        }
        wrapped = keras.wrapped_helpers(
            function.layer_calls, (i for n in keras_units for i in function.inline_layers[n].calls)
        )
        done: set[int] = set()
        for index, call in enumerate(function.layer_calls):
            unit = unit_of.get(index)
            if index in wrapped:
                continue  # the helper that builds a wrapped layer: part of its wrapper
            if unit is not None and unit not in keras_units:
                if unit not in done:
                    done.add(unit)
                    self.inline(function, fid, function.inline_layers[unit], static, class_ctx)
                continue
            if not call.local and apis.is_keras_layer(call.callee):
                held = None if unit is None else function.inline_layers[unit]
                self.library(call, function, fid, static and call.static, held, class_ctx)
                continue
            target = self.dispatch.resolve(fid, call, class_ctx)
            if target is None and call.local and call.callee.endswith(".__init__"):
                # A Keras layer class that inherits its constructor: the class is the layer.
                inherited = function_id(path, call.callee)
                target = inherited if inherited in self.prints.creates else None
            if target is None:
                if unseen(call, self.project):
                    self.note_unresolved(call, function, fid)
                continue
            # Another instance's method (`self._encoder.build()`): run as that class's instance.
            own_ctx = self.dispatch.instance(fid, call, class_ctx) or class_ctx
            if not self.creates(target, own_ctx) and (
                call.refs or not keras.hides_unseen(self, target, own_ctx, unseen, set())
            ):  # (an own method's unseen call, `self.embed` a base calls, ends the trunk)
                continue
            refs, weightless = references(fid, call, self.project, self.prints)
            clone = self.prints.class_of.get(target)
            method = call.callee.startswith(("self.", "super.")) or (
                call.local
                and class_ctx is not None
                and class_of(self.project, target) is not None
                and "." in call.callee
                and not call.callee.endswith(("__init__", "__call__"))
            )
            helper = (
                self.root.kind in ("model_fn", "module")
                and target in self.project.functions
                and self.project.functions[target].kind == "function"
            )
            # A class or function passed in decides what the callee creates: the call is one
            # layer of that identity; looking into the callee would find the same code for all.
            looks_into = (method or helper) and not refs
            # An imported helper (`create_model` in another module) is looked into only when it
            # composes builders: its backbone is then the layer other models share; one that
            # makes its variables itself stays one layer, by identity.
            if looks_into and (
                self.composes(target, None)
                if helper and not call.local and not method
                else clone is None or self.composes(target, own_ctx)
            ):
                enters = self.site is None and path == self.root.path and id_path(target) != path
                if enters:  # what the helper builds, this call in the model's file builds
                    self.site = (function.qualname, call.line)
                inner = own_ctx if method else None
                told = told_parameters(
                    fid, call, self.project.functions.get(target), self.project, self.bound.get(fid)
                )
                self.bound[target] = told
                if told and call.callee == "super.__init__":  # (what the base keeps reads them)
                    self.given.append(repr(sorted(told.items())))
                self.walk(target, static and call.static, inner, visiting)
                del self.bound[target]
                if enters:
                    self.site = None
                continue
            hidden = self.invoked.hidden(call, target)
            if hidden is not None:  # `create_encoder(x, backbone)`, to any depth
                self.note_unresolved(*hidden)
            self.builder(
                call, target, path, function, static and call.static, method, refs, weightless
            )
        visiting.discard(fid)
        if shadowed and not fid.endswith(".__init__"):
            self.given.remove(shadowed[0])

    def composes(self, fid: str, class_ctx: tuple[str, str] | None) -> bool:
        """Whether a method or helper calls builders: then it is looked into even when it is a
        clone (a copied class's `inference`), so its builders stay the layers other models share;
        one that makes its variables itself (`instantiate_weights`) is one layer."""
        function = self.dispatch.function(fid)
        if function is None or keras.own_method(self, fid, class_ctx):
            return function is not None  # a Keras model's own method: part of the model
        for call in function.layer_calls:
            target = self.dispatch.resolve(fid, call, class_ctx)
            if target is not None and target != fid and self.creates(target, class_ctx):
                return True
        return False

    def note_unresolved(self, call: LayerCall, function: FunctionFacts, fid: str) -> None:
        """A call the scan cannot see into that may create variables, in function `fid`: noted
        (CG230) in its file, and the trunk ends there, since a layer nobody saw may be different
        in each model."""
        self.unresolved.append((call.callee, call.line, function.qualname, id_path(fid)))
        if self.static_depth is None:
            self.static_depth = len(self.layers)

    def add(self, layer: Layer, static: bool) -> None:
        if self.site is not None:
            layer = replace(layer, site=self.site)
        if self.given:
            layer = replace(layer, signature=stable_hash("|".join((layer.signature, *self.given))))
        if not static and self.static_depth is None:
            self.static_depth = len(self.layers)
        self.layers.append(layer)

    def library(
        self,
        call: LayerCall,
        function: FunctionFacts,
        fid: str,
        static: bool,
        unit: InlineLayer | None,
        class_ctx: tuple[str, str] | None = None,
    ) -> None:
        """A Keras library layer, identified by its API and literal arguments (plan/keras.py)."""
        if keras.loaded_at_run_time(call.callee, [call]):
            self.note_unresolved(call, function, fid)
            return
        if keras.used_again(call, function, fid, class_ctx, self.prints, self.placed):
            return  # a held layer object another method of the model called first
        layer = keras.library_layer(
            self.project,
            self.prints,
            call,
            function,
            fid,
            unit,
            class_ctx,
            self.occurrences[call.callee],
            self.bound.get(fid),
        )
        self.add(layer, static)
        self.occurrences[call.callee] += 1

    def inline(
        self,
        function: FunctionFacts,
        fid: str,
        unit: InlineLayer,
        static: bool,
        class_ctx: tuple[str, str] | None,
    ) -> None:
        path = id_path(fid)
        calls = [function.layer_calls[i] for i in unit.calls]
        builders = []
        reads: list[str] = []  # what its calls' arguments read from other modules
        for call in calls:
            reads += imported_reads(fid, call, self.project, self.bound.get(fid))
            # `self.apply(layer=Embedding)` in a branch: the method the class runs, and the
            # class passed in, which decides what it creates (see `references`).
            target = self.dispatch.resolve(fid, call, class_ctx)
            if target is None and given_unseen(call, self.project):
                self.note_unresolved(call, function, fid)  # `if flag: x = self.held(x)`
            hidden = None if target is None else self.invoked.hidden(call, target)
            if hidden is not None:  # `if flag: x = encode(backbone, x)`
                self.note_unresolved(*hidden)
            if target is not None and self.creates(target, class_ctx):
                refs, _ = references(fid, call, self.project, self.prints)
                identity = self.prints.class_of.get(target) or self.prints.closure_hash[target]
                builders.append("+".join((identity, *refs)))
        if not unit.api and not builders:
            return  # a loop or branch around calls that create nothing
        if keras.loaded_at_run_time(unit.api, calls):
            self.note_unresolved(calls[0], function, fid)
            return
        # The same code under the clone rules: literals and APIs decide, names never do.
        signature = stable_hash(unit.code_hash + "|" + ",".join(builders + reads))
        args: tuple[tuple[str, str], ...] = ()
        if unit.kind == "inline-api":
            call = calls[0]
            args = tuple(sorted(call.args)) + tuple((key, "<expr>") for key in sorted(call.opaque))
        callee = "inline:" + signature[:12]
        self.add(
            Layer(
                callee=callee,
                label=unit.label,
                args=args,
                names=tuple(calls[0].names) if unit.kind == "inline-api" else (),
                line=unit.line,
                builder=None,
                occurrence=self.occurrences[callee],
                signature=signature,
                kind=unit.kind,
                holder=function.qualname,
                path=path,
                end_line=unit.end_line,
                frozen=unit.frozen,
                known_shape=unit.known_shape,
                variables=unit.variables,
            ),
            static and unit.static,
        )
        self.occurrences[callee] += 1

    def builder(
        self,
        call: LayerCall,
        target: str,
        path: str,
        function: FunctionFacts,
        static: bool,
        method: bool,
        refs: tuple[str, ...] = (),
        weightless: bool = False,
    ) -> None:
        tpath, qualname = split_id(target)
        constructed = self.project.constructed_class(
            function_id(path, function.qualname), call.callee, call.local
        )
        callee, label, identity, params = builder_identity(
            target, self.prints, self.classes, self.project.functions, constructed
        )
        args, arg_names = labelled_args(call, params)
        decided = deciding(call, self.project.functions.get(target))
        holder = function_id(path, function.qualname)
        reads = imported_reads(holder, decided, self.project, self.bound.get(holder))
        self.add(
            Layer(
                callee=callee,
                label=label,
                args=args,
                names=arg_names,
                line=call.line,
                builder=qualname,
                occurrence=self.occurrences[callee],
                signature=call_signature(identity, decided, refs, reads),
                kind="method" if method else "builder",
                holder=function.qualname,
                path=path,
                builder_path=tpath if tpath != self.root.path else "",
                variables=0 if weightless else None,
            ),
            static,
        )
        self.occurrences[callee] += 1
