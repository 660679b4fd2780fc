"""Transfer runtime for generated shims: shared layers under canonical keys (TF-core only).

`codegen emit` copies this file verbatim into the output folder (`_runtime.py`); the shims pass
their settings (collection, scope prefix) and their layers as data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf  # type: ignore[import-untyped]

__all__ = [
    "Entry",
    "FileTransfer",
    "ModelTransfer",
    "SharedLayer",
    "TransferError",
    "TransferReport",
]

# TensorFlow has no type stubs: graphs, sessions, variables and tensors are `Any` here.
_Graph = Any
_Session = Any
_Variable = Any
_Spec = tuple[tuple[int | None, ...] | None, Any]  # (dims or None for unknown rank, base dtype)

# Optimizer slots, step counters and moving averages must never travel between models.
_NEVER_TRANSFERABLE = re.compile(
    r"(^|/)(global_step|beta[12]_power)(/|$)"
    r"|/(Adam|Momentum|RMSProp|Adagrad|AdagradDA|Adadelta|Ftrl|ProximalAdagrad"
    r"|ExponentialMovingAverage)(_\d+)?(/|$)"
)
_GRAPH_STATE_ATTR = "_layershare_transfer_state"
# What a collection or scope prefix may be: codegen.names.SETTING_NAME (a test holds them equal).
_SETTING_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


class TransferError(Exception):
    """Any problem while building, saving, restoring or copying transferable variables."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One variable of a report: its checkpoint key, its layer, its own name in this model."""

    key: str  # canonical key in transfer checkpoints, e.g. "transfer/01_ed5f3e09/v0"
    layer: str  # e.g. "layer 2 conv_block"
    name: str | None  # the variable's graph name in this model; None when it has no such key

    def __str__(self) -> str:
        return f"{self.key}  ({self.layer}: {self.name or 'not in this model'})"


_FIELDS = ("restored", "missing", "unexpected", "mismatched")


@dataclasses.dataclass(frozen=True)
class TransferReport:
    """What a restore, init_from_checkpoint or copy did, one Entry per variable, sorted by key."""

    restored: tuple[Entry, ...] = ()
    missing: tuple[Entry, ...] = ()  # in this model, not in the checkpoint or source
    unexpected: tuple[Entry, ...] = ()  # in the checkpoint or source, not in this model
    mismatched: tuple[Entry, ...] = ()  # always empty when returned: a mismatch raises

    def keys(self, field: str = "restored") -> tuple[str, ...]:
        """The canonical keys of one field."""
        return tuple(entry.key for entry in getattr(self, field))

    def names(self, field: str = "restored") -> tuple[str, ...]:
        """This model's own variable names of one field (entries that have one)."""
        return tuple(entry.name for entry in getattr(self, field) if entry.name is not None)

    def __str__(self) -> str:
        rows = []
        for field in _FIELDS:
            entries = getattr(self, field)
            rows.append(f"{field:<11}{len(entries):>5}{'' if entries else '  -'}")
            rows.extend(f"    {entry}" for entry in entries)
        return "\n".join(rows)


@dataclasses.dataclass(frozen=True)
class SharedLayer:
    """One transferable top-level builder call of a model and its canonical scope."""

    builder: str
    occurrence: int
    key: str
    # Keys relative to the layer's scope (v0, v1, ... in creation order), when the plan knows
    # how many variables the canonical copy creates; the runtime checks them as it builds.
    expected: tuple[str, ...] | None = None
    label: str = ""  # how reports name the layer, e.g. "layer 2 conv_block"
    # A shared inline layer (or a call of an imported builder) marked in the model's code with
    # `with layer(root, position):`: found by its trunk position, not by a builder call.
    position: int | None = None


@dataclasses.dataclass(frozen=True)
class _Settings:
    """Where a shim keeps its variables: the graph collection and the canonical scope prefix."""

    collection: str
    scope_prefix: str

    def is_transferable(self, name: str) -> bool:
        """A canonical key under the prefix that is not an optimizer slot or step counter."""
        return name.startswith(self.scope_prefix + "/") and not _NEVER_TRANSFERABLE.search(name)


@dataclasses.dataclass
class _KeyMap:
    """A graph's transferable variables: canonical key -> (variable, report entry)."""

    variables: dict[str, _Variable] = dataclasses.field(default_factory=dict)
    # Made once when the layer is recorded: reports ask for them per key on every call.
    entries: dict[str, Entry] = dataclasses.field(default_factory=dict)
    specs: dict[str, _Spec] | None = None  # computed on first use, replaced on change

    def entry(self, key: str, settings: _Settings) -> Entry:
        """A report entry for `key` as this graph's model sees it."""
        found = self.entries.get(key)
        if found is not None:
            return found
        # Not in this graph: its layer by position, from the key alone.
        layer_key = key[len(settings.scope_prefix) + 1 :].split("/", 1)[0]
        return Entry(key, _position_label(layer_key), None)


_Layout = tuple[tuple[Any, int, tuple[tuple[str, int, int, tuple[int, ...]], ...]], ...]


class _GraphState:
    """Per-graph caches, stored on the graph so they die with it."""

    def __init__(self) -> None:
        self.counters: dict[object, dict[str, int]] = {}
        self.keys: dict[_Settings, _KeyMap] = {}
        self.savers: dict[frozenset[tuple[str, int]], Any] = {}
        self.layouts: dict[tuple[str, ...], _Layout | None] = {}
        self.readers: dict[_Layout, list[Any]] = {}
        self.writers: dict[tuple[_Layout, tuple[str, ...]], tuple[Any, list[Any]]] = {}
        self.copies: dict[tuple[int, ...], _CheckedCopy] = {}


def _graph_state(graph: _Graph) -> _GraphState:
    """The runtime's state for `graph`, created on first use."""
    state = getattr(graph, _GRAPH_STATE_ATTR, None)
    if state is None:
        state = _GraphState()
        setattr(graph, _GRAPH_STATE_ATTR, state)
    return state


# Depth of shared-layer calls on this thread: nested builder calls neither count nor record.
_ACTIVE = threading.local()


def _key_map(graph: _Graph, settings: _Settings) -> _KeyMap:
    return _graph_state(graph).keys.setdefault(settings, _KeyMap())


def _variables(graph: _Graph, settings: _Settings) -> tuple[dict[str, _Variable], dict[str, _Spec]]:
    """({key: variable}, {key: spec}) of the graph's transferable variables; do not mutate."""
    found = _key_map(graph, settings)
    if found.specs is None:
        found.specs = {key: _spec(var.shape, var.dtype) for key, var in found.variables.items()}
    return found.variables, found.specs


def _position_label(layer_key: str) -> str:
    """`layer 2` for a layer key `01_ed5f3e09` (keys start with the 0-based position)."""
    position = layer_key.split("_", 1)[0]
    return f"layer {int(position) + 1}" if position.isdigit() else f"layer {layer_key}"


def _entry(graph: _Graph, settings: _Settings, key: str) -> Entry:
    """A report entry for `key` as `graph`'s model sees it."""
    return _key_map(graph, settings).entry(key, settings)


def _spec(shape: Any, dtype: Any) -> _Spec:
    """(dims, dtype): dims is a tuple with None for unknown sizes, or None for unknown rank."""
    shape = tf.TensorShape(shape)
    dims = None if shape.rank is None else tuple(shape.as_list())
    return dims, tf.as_dtype(dtype).base_dtype


def _spec_text(spec: _Spec) -> str:
    dims, dtype = spec
    return f"{'?' if dims is None else dims} {dtype.name}"


def _fits(a: _Spec, b: _Spec) -> bool:
    """Same dtype and compatible shapes (unknown sizes match anything)."""
    (dims_a, dtype_a), (dims_b, dtype_b) = a, b
    if dtype_a != dtype_b:
        return False
    if dims_a == dims_b or dims_a is None or dims_b is None:
        return True
    return len(dims_a) == len(dims_b) and all(
        x is None or y is None or x == y for x, y in zip(dims_a, dims_b, strict=True)
    )


def _mismatches(
    keys: Iterable[str],
    ours: dict[str, _Spec],
    theirs: dict[str, _Spec],
    ours_label: str,
    theirs_label: str,
    describe: Callable[[str], object],
) -> list[str]:
    """Human-readable lines for keys whose shape or dtype differ on the two sides."""
    return [
        f"{describe(key)}: {ours_label} {_spec_text(ours[key])} "
        f"vs {theirs_label} {_spec_text(theirs[key])}"
        for key in keys
        if not _fits(ours[key], theirs[key])
    ]


def _build_in(graph: _Graph, make: Callable[[], Any]) -> Any:
    """Run `make()` in `graph` under the runtime's own name scope, free of user contexts."""
    if graph.finalized:
        raise TransferError(
            "the graph is finalized; save/restore/copy once before finalizing it "
            "(e.g. before creating a MonitoredSession) so the runtime can add its ops"
        )
    with (
        graph.as_default(),
        graph.name_scope("layershare_transfer/"),
        graph.control_dependencies(None),
        graph.device(None),
    ):
        return make()


def _saver(graph: _Graph, mapping: dict[str, _Variable]) -> Any:
    """One cached Saver per graph and {key: variable} map, so repeated calls add no ops."""
    state = _graph_state(graph)
    # Identity, not ==: Variable.__eq__ may build ops.
    cache_key = frozenset((key, id(var)) for key, var in mapping.items())
    saver = state.savers.get(cache_key)
    if saver is None:
        var_list = {key: mapping[key] for key in sorted(mapping)}
        saver = _build_in(
            graph,
            lambda: tf.compat.v1.train.Saver(var_list=var_list, sharded=False, name="saver"),
        )
        state.savers[cache_key] = saver
    return saver


# Copy packs values into flat chunks: O(1) Python work per copy and one memcpy (the concat in
# the source); destinations take the fed buffers as they are. Chunks of at most 16 MiB measured
# faster than one huge buffer, whose fresh pages are faulted in again on every copy.
_CHUNK_BYTES = 16 << 20
# EIGEN_MAX_ALIGN_BYTES: a Slice of a fed buffer at an aligned offset is a view, not a copy.
_ALIGN_BYTES = 64


def _layout(specs: dict[str, _Spec], keys: tuple[str, ...]) -> _Layout | None:
    """Chunks (dtype, length, ((key, start, size, dims), ...)) packing `keys`; None if unsized."""
    # An unknown size cannot be sliced back out statically: such copies go variable by variable.
    by_dtype: dict[Any, list[tuple[str, tuple[int, ...]]]] = {}
    for key in keys:
        dims, dtype = specs[key]
        if dims is None or None in dims:
            return None
        by_dtype.setdefault(dtype, []).append((key, tuple(int(d or 0) for d in dims)))
    chunks = []
    for dtype, items in by_dtype.items():
        step = max(1, _ALIGN_BYTES // max(1, dtype.size))
        entries: list[tuple[str, int, int, tuple[int, ...]]] = []
        offset = 0
        for key, dims in items:
            size = int(np.prod(dims, dtype=np.int64))
            if entries and (offset + size) * max(1, dtype.size) > _CHUNK_BYTES:
                chunks.append((dtype, offset, tuple(entries)))
                entries, offset = [], 0
            entries.append((key, offset, size, dims))
            offset += -(-size // step) * step
        if entries:
            chunks.append((dtype, offset, tuple(entries)))
    return tuple(chunks)


def _session_callable(
    sess: _Session, cache_key: tuple[Any, ...], make: Callable[[], tuple[Any, list[Any]]]
) -> Callable[..., Any]:
    """A _Session.make_callable cached on the session, so a repeated copy skips fetch parsing."""
    cache = getattr(sess, "_layershare_callables", None)
    if cache is None:
        cache = {}
        sess._layershare_callables = cache
    found = cache.get(cache_key)
    if found is None:
        fetches, feeds = make()
        found = sess.make_callable(fetches, feed_list=feeds or None)
        cache[cache_key] = found
    return found  # type: ignore[no-any-return]


def _chunk_reader(
    sess: _Session, variables: dict[str, _Variable], layout: _Layout
) -> Callable[..., Any]:
    """Callable fetching one flat array per chunk of `layout`, in one run."""
    # A concat (or Snapshot) output owns its buffer, so TF hands it to numpy without a second
    # copy, 64-byte aligned; a destination then feeds and assigns it without copying either.
    # Fetching a variable's read value instead would copy into unaligned numpy memory.
    graph, state = sess.graph, _graph_state(sess.graph)

    def make_chunk(chunk: Any) -> Any:
        dtype, length, entries = chunk
        pieces = []
        for index, (key, start, size, _) in enumerate(entries):
            pieces.append(tf.reshape(variables[key].value(), [size]))
            end = entries[index + 1][1] if index + 1 < len(entries) else length
            if end - start > size:
                pieces.append(tf.zeros([end - start - size], dtype))
        if len(pieces) == 1:
            return tf.raw_ops.Snapshot(input=pieces[0])
        return tf.concat(pieces, 0)

    def make() -> tuple[Any, list[Any]]:
        if layout not in state.readers:
            state.readers[layout] = _build_in(graph, lambda: [make_chunk(c) for c in layout])
        return state.readers[layout], []

    return _session_callable(sess, ("read", layout), make)


def _chunk_writer(
    sess: _Session, variables: dict[str, _Variable], layout: _Layout, keys: tuple[str, ...]
) -> Callable[..., Any]:
    """Callable taking one flat array per chunk and assigning `keys` from it, in one run."""
    graph, state = sess.graph, _graph_state(sess.graph)
    wanted = set(keys)

    def make_ops() -> tuple[Any, list[Any]]:
        holders, assigns = [], []
        for dtype, length, entries in layout:
            holder = tf.compat.v1.placeholder(dtype, shape=[length])
            holders.append(holder)
            for key, start, size, dims in entries:
                if key in wanted:
                    value = tf.reshape(tf.slice(holder, [start], [size]), dims)
                    assigns.append(variables[key].assign(value, read_value=False))
        return tf.group(*assigns), holders

    def make() -> tuple[Any, list[Any]]:
        cache_key = (layout, keys)
        if cache_key not in state.writers:
            state.writers[cache_key] = _build_in(graph, make_ops)
        return state.writers[cache_key]

    return _session_callable(sess, ("write", layout, keys), make)


_Plan = tuple[_Session, dict[str, _Variable], tuple[str, ...]]  # destination, variables, keys


@dataclasses.dataclass(frozen=True)
class _CheckedCopy:
    """A copy between given versions of the key maps, checked: what to move and its report."""

    specs: tuple[dict[str, _Spec], ...]  # source first: held so that their ids stay theirs
    keys: tuple[tuple[str, ...], ...]  # per destination, sorted
    wanted: tuple[str, ...]  # every destination's keys, sorted
    layout: _Layout | None
    report: TransferReport


_MAX_CHECKED_COPIES = 32


def _chunks_possible(src_sess: _Session, plans: list[_Plan], layout: _Layout | None) -> bool:
    """Chunked copy needs static shapes and its ops built already or buildable now."""
    if layout is None:
        return False
    if src_sess.graph.finalized and layout not in _graph_state(src_sess.graph).readers:
        return False
    return all(
        not sess.graph.finalized or (layout, keys) in _graph_state(sess.graph).writers
        for sess, _, keys in plans
    )


def _copy_by_variable(
    src_sess: _Session, source: dict[str, _Variable], wanted: tuple[str, ...], plans: list[_Plan]
) -> None:
    """Fallback without new ops (finalized graph, unknown shapes): feed each initializer."""
    values = dict(zip(wanted, src_sess.run([source[key] for key in wanted]), strict=True))
    for sess, variables, keys in plans:
        inits = [variables[key].initializer for key in keys]
        # Variable.load feeds the initializer's value input the same way, one run per variable.
        feeds = {init.inputs[1]: values[key] for init, key in zip(inits, keys, strict=True)}
        sess.run(inits, feed_dict=feeds)


def _tf_error_text(exc: BaseException) -> str:
    """One-line cause of a TF error, without the node-definition traceback TF appends."""
    lines = [line.strip() for line in str(exc).splitlines()]
    noise = ("Graph execution error", "Detected at node", "File ", "Node:", "[[")
    kept = [line for line in lines if line and not line.startswith(noise)]
    return f"{type(exc).__name__}: {'; '.join(kept) or exc!r}"


def _read_checkpoint(path: str, settings: _Settings) -> dict[str, _Spec]:
    """{key: spec} of the checkpoint's transferable entries; TransferError if unreadable."""
    try:
        reader = tf.compat.v1.train.load_checkpoint(path)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except Exception as exc:  # TF raises several unrelated types for a bad file
        raise TransferError(f"cannot read checkpoint {path!r}: {_tf_error_text(exc)}") from exc
    return {key: _spec(shapes[key], dtypes[key]) for key in shapes if settings.is_transferable(key)}


def _report(
    graph: _Graph, settings: _Settings, model_keys: Iterable[str], source_keys: Iterable[str]
) -> TransferReport:
    """Report for loading the intersection of the two key sets into `graph`."""
    ours, theirs = set(model_keys), set(source_keys)
    found = _key_map(graph, settings)

    def entries(keys: set[str]) -> tuple[Entry, ...]:
        return tuple(found.entry(key, settings) for key in sorted(keys))

    return TransferReport(
        restored=entries(ours & theirs),
        missing=entries(ours - theirs),
        unexpected=entries(theirs - ours),
    )


def _freeze(graph: _Graph, variables: Iterable[_Variable]) -> None:
    """Take `variables` out of the trainable collections so later optimizers skip them."""
    frozen = {id(var) for var in variables}
    for name in (
        tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES,
        tf.compat.v1.GraphKeys.TRAINABLE_RESOURCE_VARIABLES,
    ):
        collection = graph.get_collection_ref(name)
        collection[:] = [var for var in collection if id(var) not in frozen]


class _LayerRecorder:
    """Records, in creation order, the variables one shared layer creates, under their keys.

    Nothing is renamed: a variable keeps its graph name, and its key is the layer's canonical
    scope plus its number in the layer (v0, v1, ...), so keys depend only on the layer's code.
    """

    def __init__(self, layer: SharedLayer, settings: _Settings) -> None:
        self.prefix = f"{settings.scope_prefix}/{layer.key}"
        self.active = True
        self._numbers: dict[object, int] = {}  # getter name or variable identity -> number
        self._getters: list[tuple[int, str]] = []  # (number, name) of get_variable calls open
        self.recorded: list[tuple[str, _Variable]] = []  # (key, variable) in creation order
        self._seen: set[int] = set()

    def _number(self, token: object) -> int:
        # The same name asked twice (reuse inside the layer) keeps its number.
        return self._numbers.setdefault(token, len(self._numbers))

    def _record(self, var: Any, number: int, name: str | None) -> None:
        """Remember a variable (or the parts of a partitioned one) once, under its key."""
        if isinstance(var, tf.Variable):
            parts = [var]
        else:  # a partitioner gives a PartitionedVariable; a custom getter may give anything
            try:
                parts = list(var)
            except TypeError:
                parts = []
        for part in parts:
            if not isinstance(part, tf.Variable) or id(part) in self._seen:
                continue
            own = str(part.op.name)
            if _NEVER_TRANSFERABLE.search(own):
                continue  # an optimizer slot or step counter made inside a layer stays home
            self._seen.add(id(part))
            # Partitions keep their suffix: v0/part_0, v0/part_1.
            suffix = own[len(name) :] if name and own.startswith(name + "/") else ""
            self.recorded.append((f"{self.prefix}/v{number}{suffix}", part))

    def getter(self, getter: Callable[..., Any], name: str, *args: Any, **kwargs: Any) -> Any:
        """Custom getter: notes which get_variable call (own name, new or reused) made what."""
        if not self.active:  # a scope captured inside the layer, entered again after it
            return getter(name, *args, **kwargs)
        number = self._number(("name", name))
        self._getters.append((number, name))
        try:
            var = getter(name, *args, **kwargs)
        finally:
            self._getters.pop()
        self._record(var, number, name)
        return var

    def creator(self, next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        """Variable creator: tf.Variable and Keras weights, and what get_variable creates."""
        var = next_creator(**kwargs)
        if self.active:
            if self._getters:
                number, name = self._getters[-1]
                self._record(var, number, name)
            else:
                self._record(var, self._number(("variable", id(var))), None)
        return var

    def relative_keys(self) -> tuple[str, ...]:
        """The recorded keys relative to the layer's scope."""
        return tuple(key[len(self.prefix) + 1 :] for key, _ in self.recorded)


def _compose_getter(
    outer: Callable[..., Any], inner: Callable[..., Any] | None
) -> Callable[..., Any]:
    """`outer` wrapped around the scope's own custom getter, as tf.variable_scope composes them."""
    if inner is None:
        return outer

    def composed(getter: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return outer(functools.partial(inner, getter), *args, **kwargs)

    return composed


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
        if not _SETTING_NAME.fullmatch(scope_prefix):
            raise TransferError(f"model {model!r}: bad scope prefix {scope_prefix!r}")
        if not _SETTING_NAME.fullmatch(collection):
            raise TransferError(f"model {model!r}: bad collection {collection!r}")
        self.settings = _Settings(collection, scope_prefix)
        self._by_call: dict[tuple[str, int], SharedLayer] = {}
        self._by_position: dict[int, SharedLayer] = {}
        keys: set[str] = set()
        for layer in self.layers:
            call = (layer.builder, layer.occurrence)
            if layer.key in keys or (
                call in self._by_call
                if layer.position is None
                else layer.position in self._by_position
            ):
                raise TransferError(f"model {model!r}: duplicate shared layer {layer}")
            if not layer.key or layer.key.startswith("/") or layer.key.endswith("/"):
                raise TransferError(f"model {model!r}: bad layer key {layer.key!r}")
            if layer.position is None:
                self._by_call[call] = layer
            else:
                self._by_position[layer.position] = layer
            keys.add(layer.key)
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
        """Decorator for the build function: occurrences count from 0 in each outermost build."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._local, "build_depth", 0)
            if depth == 0:
                graph = tf.compat.v1.get_default_graph()
                _graph_state(graph).counters[self] = {}
            self._local.build_depth = depth + 1
            try:
                return fn(*args, **kwargs)
            finally:
                self._local.build_depth = depth

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
                "(tf.compat.v1, inside a tf._Graph)"
            )
        graph = tf.compat.v1.get_default_graph()
        counters = _graph_state(graph).counters.setdefault(self, {})
        occurrence = counters.get(builder, 0)
        counters[builder] = occurrence + 1
        layer = self._by_call.get((builder, occurrence))
        _ACTIVE.depth = depth + 1
        try:
            if layer is None:
                return fn(*args, **kwargs)
            return self._call_shared(graph, layer, fn, args, kwargs)
        finally:
            _ACTIVE.depth = depth

    def _call_shared(
        self,
        graph: _Graph,
        layer: SharedLayer,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        with self._recording(graph, layer):
            return fn(*args, **kwargs)

    @contextlib.contextmanager
    def _recording(self, graph: _Graph, layer: SharedLayer) -> Iterator[None]:
        """Record the variables created inside as `layer`'s, then check and collect them."""
        recorder = _LayerRecorder(layer, self.settings)
        # The current scope gets the recording getter for the call's duration; scopes opened
        # inside inherit it. Entering a variable_scope instead would touch the scope store's
        # default-name counters, and so the names of layers built after this one.
        scope = tf.compat.v1.get_variable_scope()
        own_getter = scope.custom_getter
        scope.set_custom_getter(_compose_getter(recorder.getter, own_getter))
        try:
            with tf.compat.v1.variable_creator_scope(recorder.creator):
                yield
        finally:
            scope.set_custom_getter(own_getter)
            recorder.active = False
        actual = recorder.relative_keys()
        if layer.expected is not None and actual != tuple(layer.expected):
            made = ", ".join(str(var.op.name) for _, var in recorder.recorded) or "none"
            raise TransferError(
                f"model {self.model!r}: {layer.label or 'layer'} {layer.builder or 'inline'!r} "
                f"(call #{layer.occurrence}, key {layer.key!r}) expected variables "
                f"{tuple(layer.expected)!r} but created {actual!r} ({made})"
            )
        found = _key_map(graph, self.settings)
        collection = graph.get_collection(self.settings.collection)
        members = {id(var) for var in collection}
        for key, var in recorder.recorded:
            # A second build in the same graph (an eval tower) maps to the first one's variables.
            if key not in found.variables:
                found.variables[key] = var
                label = layer.label or _position_label(layer.key)
                found.entries[key] = Entry(key, label, str(var.op.name))
                found.specs = None
            if id(var) not in members:
                members.add(id(var))
                graph.add_to_collection(self.settings.collection, var)

    # -- moving weights ---------------------------------------------------------

    def _graph(self, graph: _Graph | None) -> _Graph:
        return graph if graph is not None else tf.compat.v1.get_default_graph()

    def _describe(self, graph: _Graph) -> Callable[[str], Entry]:
        return lambda key: _entry(graph, self.settings, key)

    def variable_map(self, graph: _Graph | None = None) -> dict[str, _Variable]:
        """{canonical checkpoint key: variable} of the graph's transferable variables."""
        variables, _ = _variables(self._graph(graph), self.settings)
        return {key: variables[key] for key in sorted(variables)}

    def transferable_variables(self, graph: _Graph | None = None) -> list[_Variable]:
        """The graph's transferable variables (under their own names), sorted by key."""
        return list(self.variable_map(graph).values())

    def trainable_variables(
        self, graph: _Graph | None = None, exclude_transferred: bool = True
    ) -> list[_Variable]:
        """The graph's trainable variables, without the transferable ones by default."""
        graph = self._graph(graph)
        trainable: list[_Variable] = graph.get_collection(
            tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES
        )
        if not exclude_transferred:
            return trainable
        transferable = {id(var) for var in _variables(graph, self.settings)[0].values()}
        return [var for var in trainable if id(var) not in transferable]

    def saver(self, graph: _Graph | None = None) -> Any:
        """A tf.compat.v1.train.Saver writing and reading transfer checkpoints (canonical keys).

        For a Scaffold, a CheckpointSaverHook or your own loop; build it before the graph is
        finalized (a MonitoredTrainingSession finalizes it). The same Saver as `save` uses.
        """
        graph = self._graph(graph)
        variables, _ = _variables(graph, self.settings)
        if not variables:
            raise TransferError(f"model {self.model!r}: no transferable variables in this graph")
        return _saver(graph, variables)

    def save(self, sess: _Session, path: str | os.PathLike[str]) -> str:
        """Save exactly the transferable variables under their keys; returns the prefix."""
        path = os.fspath(path)
        variables, _ = _variables(sess.graph, self.settings)
        if not variables:
            raise TransferError(f"model {self.model!r}: no transferable variables to save")
        saver = _saver(sess.graph, variables)
        try:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            # Saver decides graph vs eager from the default graph, not from the session.
            with sess.graph.as_default():
                return str(saver.save(sess, path, write_meta_graph=False, write_state=False))
        except (OSError, ValueError, tf.errors.OpError) as exc:
            raise TransferError(f"cannot save checkpoint {path!r}: {_tf_error_text(exc)}") from exc

    def _preflight(
        self, graph: _Graph, path: str
    ) -> tuple[dict[str, _Variable], dict[str, _Spec], list[str]]:
        """Check names, shapes and dtypes against a checkpoint: (variables, source, common)."""
        variables, specs = _variables(graph, self.settings)
        source = _read_checkpoint(path, self.settings)
        common = sorted(specs.keys() & source.keys())
        problems = _mismatches(common, specs, source, "model", "checkpoint", self._describe(graph))
        if problems:
            raise TransferError(
                f"checkpoint {path!r} does not fit model {self.model!r}, nothing restored:\n  "
                + "\n  ".join(problems)
            )
        if not common:
            raise TransferError(
                f"checkpoint {path!r}: no transferable variables in common with "
                f"model {self.model!r} (a transfer checkpoint holds canonical keys under "
                f"{self.settings.scope_prefix!r}/, as save() or saver() write them)"
            )
        return variables, source, common

    def restore(
        self, sess: _Session, path: str | os.PathLike[str], *, freeze: bool = False
    ) -> TransferReport:
        """Check names, shapes and dtypes first, then load the intersection in one run."""
        path = os.fspath(path)
        graph = sess.graph
        variables, source, common = self._preflight(graph, path)
        subset = {key: variables[key] for key in common}
        saver = _saver(graph, subset)
        try:
            with graph.as_default():
                saver.restore(sess, path)
        except (ValueError, tf.errors.OpError) as exc:
            raise TransferError(
                f"cannot restore checkpoint {path!r}: {_tf_error_text(exc)}"
            ) from exc
        if freeze:
            _freeze(graph, subset.values())
        return _report(graph, self.settings, variables, source)

    def init_from_checkpoint(
        self, path: str | os.PathLike[str], graph: _Graph | None = None, *, freeze: bool = False
    ) -> TransferReport:
        """Without a session (a model_fn, before a MonitoredTrainingSession): check first,
        then make the variables' initializers load the intersection from the checkpoint.

        Call it after the model is built and before the init op is made (Scaffold makes it
        when the session starts); nothing is assigned on a mismatch.
        """
        path = os.fspath(path)
        graph = self._graph(graph)
        if graph.finalized:
            raise TransferError(
                "the graph is finalized; call init_from_checkpoint while building the model"
            )
        variables, source, common = self._preflight(graph, path)
        assignment = {key: variables[key] for key in common}
        try:
            with graph.as_default():
                tf.compat.v1.train.init_from_checkpoint(path, assignment)
        except (ValueError, TypeError, tf.errors.OpError) as exc:
            raise TransferError(
                f"cannot initialise from checkpoint {path!r}: {_tf_error_text(exc)}"
            ) from exc
        if freeze:
            _freeze(graph, assignment.values())
        return _report(graph, self.settings, variables, source)

    def copy(
        self, src_sess: _Session, dst_sess: _Session, *more_dst_sessions: _Session
    ) -> TransferReport:
        """Copy in memory, all checked first: one run on the source, one per destination."""
        # Destinations share the copied buffers copy-on-write: TF copies a variable's buffer
        # before its first in-place update.
        sessions = (dst_sess, *more_dst_sessions)
        source, source_specs = _variables(src_sess.graph, self.settings)
        sides = [_variables(sess.graph, self.settings) for sess in sessions]
        checked = self._check_copy(src_sess.graph, source_specs, sessions, sides)
        plans: list[_Plan] = [
            (sess, variables, keys)
            for sess, (variables, _), keys in zip(sessions, sides, checked.keys, strict=True)
        ]
        layout = checked.layout
        # An uninitialised or closed session fails here; the source is read before anything
        # is written, so such a failure assigns nothing.
        try:
            if layout is not None and _chunks_possible(src_sess, plans, layout):
                chunks = _chunk_reader(src_sess, source, layout)()
                for index, (sess, variables, keys) in enumerate(plans):
                    try:
                        _chunk_writer(sess, variables, layout, keys)(*chunks)
                    except (tf.errors.OpError, RuntimeError) as error:
                        raise TransferError(
                            f"cannot write destination #{index}: {_tf_error_text(error)}"
                        ) from error
            else:
                _copy_by_variable(src_sess, source, checked.wanted, plans)
        except (tf.errors.OpError, RuntimeError) as error:
            raise TransferError(
                f"cannot copy for model {self.model!r}: {_tf_error_text(error)}; nothing assigned"
            ) from error
        return checked.report

    def _check_copy(
        self,
        src_graph: _Graph,
        source_specs: dict[str, _Spec],
        sessions: tuple[_Session, ...],
        sides: list[tuple[dict[str, _Variable], dict[str, _Spec]]],
    ) -> _CheckedCopy:
        """Keys, layout and report of a copy between these key maps; raises on a mismatch."""
        state = _graph_state(src_graph)
        # A key map gets a new specs dict whenever it changes, and the memo keeps the dicts
        # alive, so their ids name one version of every side: a repeated copy checks nothing.
        memo_key = (id(source_specs), *(id(specs) for _, specs in sides))
        found = state.copies.get(memo_key)
        if found is not None:
            return found
        all_keys: list[tuple[str, ...]] = []
        problems: list[str] = []
        for index, (sess, (_, specs)) in enumerate(zip(sessions, sides, strict=True)):
            keys = tuple(sorted(specs.keys() & source_specs.keys()))
            if not keys:
                raise TransferError(
                    "no transferable variables in common between the source session "
                    f"and destination #{index} (model {self.model!r})"
                )
            label = f"destination #{index}"
            describe = self._describe(sess.graph)
            problems += _mismatches(keys, specs, source_specs, label, "source", describe)
            all_keys.append(keys)
        if problems:
            raise TransferError("cannot copy, nothing assigned:\n  " + "\n  ".join(problems))
        wanted = tuple(sorted({key for keys in all_keys for key in keys}))
        if wanted not in state.layouts:
            state.layouts[wanted] = _layout(source_specs, wanted)

        # With several destinations the report is their union: restored if any destination
        # took the key, missing if any destination has it and the source has not, unexpected
        # if no destination took it; names are the first destination's that has the key.
        maps = [_key_map(sess.graph, self.settings) for sess in sessions]
        source_map = _key_map(src_graph, self.settings)

        def entry(key: str) -> Entry:
            owner = next((found for found in maps if key in found.variables), source_map)
            return owner.entry(key, self.settings)

        restored = set(wanted)
        missing = {key for _, specs in sides for key in specs if key not in source_specs}
        report = TransferReport(
            restored=tuple(entry(key) for key in sorted(restored)),
            missing=tuple(entry(key) for key in sorted(missing)),
            unexpected=tuple(entry(key) for key in sorted(source_specs.keys() - restored)),
        )
        if len(state.copies) >= _MAX_CHECKED_COPIES:  # old versions only: start afresh
            state.copies.clear()
        checked = _CheckedCopy(
            (source_specs, *(specs for _, specs in sides)),
            tuple(all_keys),
            wanted,
            state.layouts[wanted],
            report,
        )
        state.copies[memo_key] = checked
        return checked


def _root_of(model: str) -> str:
    """A model id's root name: `models/textcnn.py::TextCNN` -> `TextCNN`."""
    return model.rpartition("::")[2].rpartition(".")[2]


class FileTransfer:
    """The models of one file: decorators and marks go to the model they name; saving, restoring
    and copying act on whichever of the file's models were built in the graph or session."""

    def __init__(self, models: dict[str, ModelTransfer]) -> None:
        if not models:
            raise TransferError("a file shim needs at least one model")
        self.models = dict(models)
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"FileTransfer({', '.join(self.models)})"

    def _named(self, root: str) -> ModelTransfer:
        try:
            return self.models[root]
        except KeyError:
            raise TransferError(
                f"no model {root!r} in this shim (it has {', '.join(self.models)}); "
                "run `codegen sync` to bring the routing up to date"
            ) from None

    # -- building ---------------------------------------------------------------

    def model(self, root: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator for where model `root` is entered: constructor, build method, model_fn,
        create_model. Its layers count from the outermost entry; nested entries add nothing."""
        transfer = self._named(root)

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            built = transfer.build(fn)

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                stack = self._stack()
                stack.append(transfer)
                try:
                    return built(*args, **kwargs)
                finally:
                    stack.pop()

            return wrapper

        return decorate

    def layer(self, root: str, position: int) -> contextlib.AbstractContextManager[None]:
        """`with layer(root, position):` around a shared inline layer of model `root`."""
        return self._named(root).layer(position)

    def shared_layer(self, builder: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator for a shared builder or method: routed as a layer of the model being built.

        Called outside every entry of this file's models (a unit test, another model that
        imports the builder), it is a plain call: none of this file's models is being built."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                stack = self._stack()
                if not stack:
                    return fn(*args, **kwargs)
                transfer = stack[-1]
                return transfer.call_layer(builder, fn, *args, **kwargs)

            return wrapper

        return decorate

    def _stack(self) -> list[ModelTransfer]:
        stack: list[ModelTransfer] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    # -- moving weights: every model of the file reads the same per-graph key map ----------

    def _built(self, graph: _Graph | None) -> ModelTransfer:
        """The first of the file's models built in `graph` (any one: they share its key map)."""
        graph = graph if graph is not None else tf.compat.v1.get_default_graph()
        counters = _graph_state(graph).counters
        return next((m for m in self.models.values() if m in counters), self._any())

    def _any(self) -> ModelTransfer:
        return next(iter(self.models.values()))

    def variable_map(self, graph: _Graph | None = None) -> dict[str, _Variable]:
        """{canonical checkpoint key: variable} of the graph's transferable variables."""
        return self._built(graph).variable_map(graph)

    def transferable_variables(self, graph: _Graph | None = None) -> list[_Variable]:
        """The graph's transferable variables (under their own names), sorted by key."""
        return self._built(graph).transferable_variables(graph)

    def trainable_variables(
        self, graph: _Graph | None = None, exclude_transferred: bool = True
    ) -> list[_Variable]:
        """The graph's trainable variables, without the transferable ones by default."""
        return self._built(graph).trainable_variables(graph, exclude_transferred)

    def saver(self, graph: _Graph | None = None) -> Any:
        """A Saver over the canonical map of the graph's transferable variables."""
        return self._built(graph).saver(graph)

    def save(self, sess: _Session, path: str | os.PathLike[str]) -> str:
        """Save exactly the transferable variables under their keys; returns the prefix."""
        return self._built(sess.graph).save(sess, path)

    def restore(
        self, sess: _Session, path: str | os.PathLike[str], *, freeze: bool = False
    ) -> TransferReport:
        """Check names, shapes and dtypes first, then load the intersection in one run."""
        return self._built(sess.graph).restore(sess, path, freeze=freeze)

    def init_from_checkpoint(
        self, path: str | os.PathLike[str], graph: _Graph | None = None, *, freeze: bool = False
    ) -> TransferReport:
        """Check first, then make the variables' initializers load the intersection."""
        return self._built(graph).init_from_checkpoint(path, graph, freeze=freeze)

    def copy(
        self, src_sess: _Session, dst_sess: _Session, *more_dst_sessions: _Session
    ) -> TransferReport:
        """Copy in memory, all checked first: one run on the source, one per destination."""
        return self._built(dst_sess.graph).copy(src_sess, dst_sess, *more_dst_sessions)
