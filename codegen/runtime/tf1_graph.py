"""TF1 graph family, shared pieces: per-graph state, specs, the runtime's own ops and Savers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import tensorflow as tf  # type: ignore[import-untyped]

from .core import Instances, KeyMap, Settings, Spec, TransferError, Variable, checkpoint_specs

# TensorFlow has no type stubs: graphs, sessions and tensors are `Any` here.
Graph = Any
Session = Any
# Chunks of a copy: ((dtype name, length, ((key, start, size, dims), ...)), ...)
Layout = tuple[tuple[str, int, tuple[tuple[str, int, int, tuple[int, ...]], ...]], ...]

_GRAPH_STATE_ATTR = "_layershare_transfer_state"
# Every op the runtime adds lives under this name scope (freeze checks leave them out).
OWN_SCOPE = "layershare_transfer/"


class GraphState:
    """Per-graph caches and key maps, stored on the graph so they die with it."""

    def __init__(self) -> None:
        self.counters: dict[object, dict[str, int]] = {}
        # One Instances per (model id, settings): each build of a model gets its own key map.
        self.instances: dict[tuple[str, Settings], Instances] = {}
        # Ids of recorded variables' initializers as the layer made them (freeze skips them).
        self.initializers: set[int] = set()
        self.frozen: set[int] = set()  # ids of variables freeze took out of training
        self.savers: dict[frozenset[tuple[str, int]], Any] = {}
        self.layouts: dict[tuple[str, ...], Layout | None] = {}
        self.readers: dict[Layout, list[Any]] = {}
        self.writers: dict[tuple[Layout, tuple[str, ...]], tuple[Any, list[Any]]] = {}
        self.copies: dict[tuple[int, ...], Any] = {}

    def built(self, model: tuple[str, Settings]) -> list[KeyMap]:
        """The distinct key maps of a model (id, settings) built in this graph."""
        found = self.instances.get(model)
        return found.distinct() if found is not None else []


def graph_state(graph: Graph) -> GraphState:
    """The runtime's state for `graph`, created on first use."""
    state = getattr(graph, _GRAPH_STATE_ATTR, None)
    if state is None:
        state = GraphState()
        setattr(graph, _GRAPH_STATE_ATTR, state)
    return state


def default_graph(graph: Graph | None) -> Graph:
    return graph if graph is not None else tf.compat.v1.get_default_graph()


def spec(shape: Any, dtype: Any) -> Spec:
    """(dims, dtype name): dims is a tuple with None for unknown sizes, or None for unknown rank."""
    shape = tf.TensorShape(shape)
    dims = None if shape.rank is None else tuple(shape.as_list())
    return dims, tf.as_dtype(dtype).base_dtype.name


def spec_of(var: Variable) -> Spec:
    return spec(var.shape, var.dtype)


def view(found: KeyMap) -> tuple[dict[str, Variable], dict[str, Spec]]:
    """({key: variable}, {key: spec}) of a key map; do not mutate."""
    return found.view(spec_of)


def _read_shapes(path: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    reader = tf.compat.v1.train.load_checkpoint(path)
    return reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()


def read_checkpoint(path: str, settings: Settings) -> dict[str, Spec]:
    """{key: spec} of a TF checkpoint's transferable entries; TransferError if unreadable."""
    return checkpoint_specs(path, settings, _read_shapes, spec)


def build_in(graph: Graph, make: Callable[[], Any]) -> Any:
    """Run `make()` in `graph` under the runtime's own name scope, free of user contexts."""
    if graph.finalized:
        raise TransferError(
            "the graph is finalized; save/restore/copy once before finalizing it "
            "(e.g. before creating a MonitoredSession) so the runtime can add its ops"
        )
    with (
        graph.as_default(),
        graph.name_scope(OWN_SCOPE),
        graph.control_dependencies(None),
        graph.device(None),
    ):
        return make()


def saver(graph: Graph, mapping: dict[str, Variable]) -> Any:
    """One cached Saver per graph and {key: variable} map, so repeated calls add no ops."""
    state = graph_state(graph)
    # Identity, not ==: Variable.__eq__ may build ops.
    cache_key = frozenset((key, id(var)) for key, var in mapping.items())
    found = state.savers.get(cache_key)
    if found is None:
        var_list = {key: mapping[key] for key in sorted(mapping)}
        found = build_in(
            graph,
            lambda: tf.compat.v1.train.Saver(var_list=var_list, sharded=False, name="saver"),
        )
        state.savers[cache_key] = found
    return found


def take_out_of_training(graph: Graph, variables: Iterable[Variable]) -> None:
    """Remove `variables` from the trainable collections so later optimizers skip them."""
    frozen = {id(var) for var in variables}
    for name in (
        tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES,
        tf.compat.v1.GraphKeys.TRAINABLE_RESOURCE_VARIABLES,
    ):
        collection = graph.get_collection_ref(name)
        collection[:] = [var for var in collection if id(var) not in frozen]
