"""TF1 graph family: record a model's shared layers while it builds, then move them by key.

Variables keep their graph names; each build of a model (a model instance) gets its own key map,
so a key bound to one model's variable is never served to another model or another copy.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import tensorflow as tf  # type: ignore[import-untyped]

from .core import (
    Instances,
    KeyMap,
    Settings,
    SharedLayer,
    TransferError,
    TransferReport,
    Variable,
    check_layers,
    check_setting,
    error_text,
    first_lines,
    position_label,
    preflight,
    report,
)
from .tf1_checks import consumers_of_initializers, updaters
from .tf1_copy import Plan, check_copy, run_copy
from .tf1_graph import (
    Graph,
    Session,
    default_graph,
    graph_state,
    read_checkpoint,
    saver,
    take_out_of_training,
    view,
)
from .tf1_record import LayerRecorder, compose_getter

# Depth of shared-layer calls on this thread: nested builder calls neither count nor record.
_ACTIVE = threading.local()


_FREEZE_FIX = (
    "Freeze at build time instead: call freeze() (or restore/init_from_checkpoint with "
    "freeze=True) after the model is built and before its optimizer is created, or create the "
    "optimizer with var_list=trainable_variables() from the model's shim, which leaves the "
    "transferred variables out"
)


class ModelTransfer:
    """A model's view of the transfer runtime: its shared layers and how to move them."""

    def __init__(
        self,
        model: str,
        layers: Sequence[SharedLayer],
        *,
        collection: str = "transferable_variables",
        scope_prefix: str = "transfer",
    ) -> None:
        self.model = model
        self.layers = tuple(layers)
        check_layers(model, self.layers, scope_prefix)
        check_setting(model, "collection", collection)
        self.settings = Settings(collection, scope_prefix)
        # What key maps are filed under: a shim module loaded twice is still the same model.
        self.key = (model, self.settings)
        self._by_call = {
            (layer.builder, layer.occurrence): layer
            for layer in self.layers
            if layer.position is None
        }
        self._by_position = {
            layer.position: layer for layer in self.layers if layer.position is not None
        }
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"ModelTransfer({self.model!r}, {len(self.layers)} shared layers)"

    # -- building ---------------------------------------------------------------

    def shared_layer(self, builder: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator factory: route calls of the model's builder `builder` through call_layer."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return self.call_layer(builder, fn, *args, **kwargs)

            return wrapper

        return decorate

    def build(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator for where the model is entered: each outermost call is one model instance,
        with its own key map; occurrences count from 0 in it, nested entries add nothing."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._local, "build_depth", 0)
            if depth == 0:
                graph = tf.compat.v1.get_default_graph()
                graph_state(graph).counters[self] = {}
                self._local.building = {}
            self._local.build_depth = depth + 1
            try:
                return fn(*args, **kwargs)
            finally:
                self._local.build_depth = depth
                if depth == 0:
                    building, self._local.building = self._local.building, {}
                    for graph, _ in building.values():
                        graph_state(graph).instances[self.key].settle()

        return wrapper

    def routes(self, builder: str) -> bool:
        """Whether calls of `builder` are one of this model's shared layers."""
        return any(call[0] == builder for call in self._by_call)

    @contextlib.contextmanager
    def layer(self, position: int) -> Iterator[None]:
        """`with` body = this model's shared inline layer at trunk `position`: what it creates
        is recorded under the layer's keys, in creation order; nothing is renamed."""
        layer = self._by_position.get(position)
        depth = getattr(_ACTIVE, "depth", 0)
        if layer is None or depth:  # not shared (any more), or inside another shared layer
            yield
            return
        if tf.executing_eagerly():
            raise TransferError(
                f"model {self.model!r}: shared layer {position} needs graph mode "
                "(tf.compat.v1, inside a tf.Graph)"
            )
        graph = tf.compat.v1.get_default_graph()
        _ACTIVE.depth = depth + 1
        try:
            with self._recording(graph, layer):
                yield
        finally:
            _ACTIVE.depth = depth

    def call_layer(self, builder: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run `fn` as this model's next top-level call of `builder`, canonically if shared."""
        depth = getattr(_ACTIVE, "depth", 0)
        if depth:
            return fn(*args, **kwargs)
        if tf.executing_eagerly():
            raise TransferError(
                f"model {self.model!r}: shared layer {builder!r} needs graph mode "
                "(tf.compat.v1, inside a tf.Graph)"
            )
        graph = tf.compat.v1.get_default_graph()
        counters = graph_state(graph).counters.setdefault(self, {})
        occurrence = counters.get(builder, 0)
        counters[builder] = occurrence + 1
        layer = self._by_call.get((builder, occurrence))
        _ACTIVE.depth = depth + 1
        try:
            if layer is None:
                return fn(*args, **kwargs)
            with self._recording(graph, layer):
                return fn(*args, **kwargs)
        finally:
            _ACTIVE.depth = depth

    def _recording_map(self, graph: Graph) -> KeyMap:
        """The key map this thread's current build of the model records into, in `graph`."""
        instances = graph_state(graph).instances.setdefault(self.key, Instances())
        building: dict[int, tuple[Graph, KeyMap]] | None = getattr(self._local, "building", None)
        if getattr(self._local, "build_depth", 0) and building is not None:
            found = building.get(id(graph))
            if found is None:
                found = building[id(graph)] = (graph, instances.add())
            return found[1]
        # Outside every entry (module-level graph code): the model's latest instance goes on.
        return instances.maps[-1] if instances.maps else instances.add()

    @contextlib.contextmanager
    def _recording(self, graph: Graph, layer: SharedLayer) -> Iterator[None]:
        """Record the variables created inside as `layer`'s, then check and collect them."""
        recorder = LayerRecorder(layer, self.settings)
        # The current scope gets the recording getter for the call's duration; scopes opened
        # inside inherit it. Entering a variable_scope instead would touch the scope store's
        # default-name counters, and so the names of layers built after this one.
        scope = tf.compat.v1.get_variable_scope()
        own_getter = scope.custom_getter
        scope.set_custom_getter(compose_getter(recorder.getter, own_getter))
        try:
            with tf.compat.v1.variable_creator_scope(recorder.creator):
                yield
        finally:
            scope.set_custom_getter(own_getter)
            recorder.active = False
        self._collect(graph, layer, recorder)

    def _collect(self, graph: Graph, layer: SharedLayer, recorder: LayerRecorder) -> None:
        """Check what a layer recorded, then bind its keys in this build's key map."""
        if not recorder.recorded:
            raise TransferError(
                f"model {self.model!r}: shared {layer.describe()} recorded no variable while "
                "the model was built, so its key would transfer nothing. Its variables are made "
                "outside the mark or call (a layer object built in one statement and first "
                "called in another, RNN cell weights made later in a loop) or it only reuses "
                "a layer object built before; run `codegen sync` if the model changed"
            )
        actual = recorder.relative_keys()
        if layer.expected is not None and actual != tuple(layer.expected):
            made = ", ".join(str(var.op.name) for _, var in recorder.recorded)
            raise TransferError(
                f"model {self.model!r}: {layer.label or 'layer'} {layer.builder or 'inline'!r} "
                f"(call #{layer.occurrence}, key {layer.key!r}) expected variables "
                f"{tuple(layer.expected)!r} but created {actual!r} ({made})"
            )
        state = graph_state(graph)
        found = self._recording_map(graph)
        label = layer.label or position_label(layer.key)
        members = {id(var) for var in graph.get_collection(self.settings.collection)}
        for key, var in recorder.recorded:
            bound = found.bind(key, var, label, str(var.op.name))
            if bound is not var:
                raise TransferError(
                    f"model {self.model!r}: shared {layer.describe()} was built twice in one "
                    f"build of the model: {key!r} serves {bound.op.name} and now also "
                    f"{var.op.name}. Enter each copy of the model through its decorated "
                    "constructor or build function, so that each gets its own keys"
                )
            state.initializers.add(id(var.initializer))
            if id(var) not in members:
                members.add(id(var))
                graph.add_to_collection(self.settings.collection, var)

    # -- which build an operation acts on ------------------------------------------

    def _instance(self, graph: Graph, instance: int | None) -> KeyMap:
        """This model's key map in `graph`; several builds with their own variables need
        `instance`, never another model's map."""
        found = graph_state(graph).instances.get(self.key) or Instances()
        return found.resolve(self.model, instance)

    def in_session(self, graph: Graph) -> KeyMap:
        """A copy's side: this model's instance if it was built in `graph`, else the one model
        instance the graph holds, whichever model it is (another model's own key map)."""
        state = graph_state(graph)
        own = state.built(self.key)
        if len(own) == 1:
            return own[0]
        candidates = [
            (model, found)
            for (model, settings), instances in state.instances.items()
            if settings == self.settings
            for found in instances.distinct()
            if not own or model == self.model
        ]
        if len(candidates) > 1:
            built = ", ".join(sorted({model for model, _ in candidates}))
            raise TransferError(
                f"cannot copy for model {self.model!r}: a session's graph holds "
                f"{len(candidates)} model instances ({built}), so which one's variables to "
                "use is ambiguous; save() from one model (instance=...) and restore() into "
                "the other"
            )
        return candidates[0][1] if candidates else KeyMap()

    # -- moving weights ---------------------------------------------------------

    def variable_map(
        self, graph: Graph | None = None, *, instance: int | None = None
    ) -> dict[str, Variable]:
        """{canonical checkpoint key: variable} of this model's transferable variables."""
        variables, _ = view(self._instance(default_graph(graph), instance))
        return {key: variables[key] for key in sorted(variables)}

    def transferable_variables(
        self, graph: Graph | None = None, *, instance: int | None = None
    ) -> list[Variable]:
        """This model's transferable variables (under their own names), sorted by key."""
        return list(self.variable_map(graph, instance=instance).values())

    def trainable_variables(
        self,
        graph: Graph | None = None,
        exclude_transferred: bool = True,
        *,
        instance: int | None = None,
    ) -> list[Variable]:
        """The graph's trainable variables, without this model's transferable ones by default:
        the optimizer's `var_list` that freezes the transferred layers from the start."""
        graph = default_graph(graph)
        trainable: list[Variable] = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
        if not exclude_transferred:
            return trainable
        variables, _ = view(self._instance(graph, instance))
        transferable = {id(var) for var in variables.values()}
        return [var for var in trainable if id(var) not in transferable]

    def saver(self, graph: Graph | None = None, *, instance: int | None = None) -> Any:
        """A tf.compat.v1.train.Saver writing and reading transfer checkpoints (canonical keys).

        For a Scaffold, a CheckpointSaverHook or your own loop; build it before the graph is
        finalized (a MonitoredTrainingSession finalizes it). The same Saver as `save` uses.
        """
        graph = default_graph(graph)
        variables, _ = view(self._instance(graph, instance))
        if not variables:
            raise TransferError(f"model {self.model!r}: no transferable variables in this graph")
        return saver(graph, variables)

    def save(
        self, sess: Session, path: str | os.PathLike[str], *, instance: int | None = None
    ) -> str:
        """Save exactly the transferable variables under their keys; returns the prefix."""
        path = os.fspath(path)
        variables, _ = view(self._instance(sess.graph, instance))
        if not variables:
            raise TransferError(f"model {self.model!r}: no transferable variables to save")
        found = saver(sess.graph, variables)
        try:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            # Saver decides graph vs eager from the default graph, not from the session.
            with sess.graph.as_default():
                return str(found.save(sess, path, write_meta_graph=False, write_state=False))
        except (OSError, ValueError, tf.errors.OpError) as exc:
            raise TransferError(f"cannot save checkpoint {path!r}: {error_text(exc)}") from exc

    def _preflight(
        self, found: KeyMap, path: str
    ) -> tuple[dict[str, Variable], dict[str, Any], list[str]]:
        """Check names, shapes and dtypes against a checkpoint: (variables, source, common)."""
        variables, specs = view(found)
        source = read_checkpoint(path, self.settings)
        describe = functools.partial(found.entry, settings=self.settings)
        common = preflight(self.model, path, specs, source, self.settings, describe)
        return variables, source, common

    def restore(
        self,
        sess: Session,
        path: str | os.PathLike[str],
        *,
        freeze: bool = False,
        instance: int | None = None,
    ) -> TransferReport:
        """Check names, shapes and dtypes (and, to freeze, that no op still trains them) first,
        then load the intersection in one run."""
        path = os.fspath(path)
        graph = sess.graph
        found = self._instance(graph, instance)
        variables, source, common = self._preflight(found, path)
        subset = {key: variables[key] for key in common}
        if freeze:
            self._check_freeze(graph, subset.values())
        restorer = saver(graph, subset)
        try:
            with graph.as_default():
                restorer.restore(sess, path)
        except (ValueError, tf.errors.OpError) as exc:
            raise TransferError(f"cannot restore checkpoint {path!r}: {error_text(exc)}") from exc
        if freeze:
            self._freeze(graph, subset.values())
        return report(found, self.settings, variables, source)

    def init_from_checkpoint(
        self,
        path: str | os.PathLike[str],
        graph: Graph | None = None,
        *,
        freeze: bool = False,
        instance: int | None = None,
    ) -> TransferReport:
        """Without a session (a model_fn, before a MonitoredTrainingSession): check first,
        then make the variables' initializers load the intersection from the checkpoint.

        Call it after the model is built and before the init op exists (before
        global_variables_initializer(), a Scaffold or a MonitoredTrainingSession makes it):
        an existing init op runs the old initializers, so it raises, changing nothing.
        """
        path = os.fspath(path)
        graph = default_graph(graph)
        if graph.finalized:
            raise TransferError(
                "the graph is finalized; call init_from_checkpoint while building the model"
            )
        found = self._instance(graph, instance)
        variables, source, common = self._preflight(found, path)
        assignment = {key: variables[key] for key in common}
        consumers = consumers_of_initializers(graph, assignment.values())
        if consumers:
            raise TransferError(
                f"model {self.model!r}: init_from_checkpoint({path!r}) comes too late, nothing "
                "changed: these ops already run the initializers it would replace, so the "
                f"checkpoint would never load:{first_lines(consumers)}\nCall it right after the "
                "model is built, before tf.global_variables_initializer(), a Scaffold or a "
                "MonitoredTrainingSession makes the init op (in an Estimator: inside model_fn)"
            )
        if freeze:
            self._check_freeze(graph, assignment.values())
        try:
            with graph.as_default():
                tf.compat.v1.train.init_from_checkpoint(path, assignment)
        except (ValueError, TypeError, tf.errors.OpError) as exc:
            raise TransferError(
                f"cannot initialise from checkpoint {path!r}: {error_text(exc)}"
            ) from exc
        if freeze:
            self._freeze(graph, assignment.values())
        return report(found, self.settings, variables, source)

    def freeze(self, graph: Graph | None = None, *, instance: int | None = None) -> list[Variable]:
        """Keep this model's transferable variables out of training from now on; returns them,
        sorted by key. Raises, changing nothing, if an existing op would still update one."""
        graph = default_graph(graph)
        variables = self.transferable_variables(graph, instance=instance)
        if not variables:
            raise TransferError(f"model {self.model!r}: no transferable variables to freeze")
        self._check_freeze(graph, variables)
        self._freeze(graph, variables)
        return variables

    def _check_freeze(self, graph: Graph, variables: Iterable[Variable]) -> None:
        """Raise, naming them, if existing ops would still train any of `variables`."""
        state = graph_state(graph)
        trainable = {
            id(var)
            for name in (
                tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES,
                tf.compat.v1.GraphKeys.TRAINABLE_RESOURCE_VARIABLES,
            )
            for var in graph.get_collection(name)
        }
        # Moving statistics (not trainable) keep their own update ops: freeze is about training.
        checked = [var for var in variables if id(var) in trainable or id(var) in state.frozen]
        found = updaters(graph, checked, state.initializers)
        if found:
            raise TransferError(
                f"model {self.model!r}: cannot freeze, nothing changed: existing ops would "
                f"still update the transferred variables:{first_lines(found)}\n{_FREEZE_FIX}"
            )

    def _freeze(self, graph: Graph, variables: Iterable[Variable]) -> None:
        variables = list(variables)
        take_out_of_training(graph, variables)
        graph_state(graph).frozen.update(id(var) for var in variables)

    def copy(
        self, src_sess: Session, dst_sess: Session, *more_dst_sessions: Session
    ) -> TransferReport:
        """Copy in memory, all checked first: one run on the source, one per destination."""
        sessions = (dst_sess, *more_dst_sessions)
        return self.copy_into(src_sess, sessions, [self.in_session(s.graph) for s in sessions])

    def copy_into(
        self, src_sess: Session, sessions: tuple[Session, ...], maps: list[KeyMap]
    ) -> TransferReport:
        """`copy` into given key maps of the destination sessions (one model instance each)."""
        # Destinations share the copied buffers copy-on-write: TF copies a variable's buffer
        # before its first in-place update.
        source_map = self.in_session(src_sess.graph)
        source, source_specs = view(source_map)
        sides = [view(found) for found in maps]
        checked = check_copy(
            self.model,
            self.settings,
            src_sess.graph,
            source_map,
            source_specs,
            maps,
            [specs for _, specs in sides],
        )
        plans: list[Plan] = [
            (sess, variables, keys)
            for sess, (variables, _), keys in zip(sessions, sides, checked.keys, strict=True)
        ]
        run_copy(self.model, src_sess, source, checked, plans)
        return checked.report
