"""Transfer runtime for generated shims: shared layers under canonical keys (TF-core only).

`codegen emit` copies this file verbatim into the output folder (`_runtime.py`); the shims pass
their settings (collection, scope prefix) and their layers as data.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf  # type: ignore[import-untyped]

__all__ = ["ModelTransfer", "SharedLayer", "TransferError", "TransferReport"]

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


class TransferError(Exception):
    """Any problem while building, saving, restoring or copying transferable variables."""


@dataclasses.dataclass(frozen=True)
class TransferReport:
    """What a restore or copy did, by canonical checkpoint key."""

    restored: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[str, ...] = ()

    def __str__(self) -> str:
        rows = []
        for field in ("restored", "missing", "unexpected", "mismatched"):
            keys = getattr(self, field)
            rows.append(f"{field:<11}{len(keys):>5}  {', '.join(keys) if keys else '-'}")
        return "\n".join(rows)


@dataclasses.dataclass(frozen=True)
class SharedLayer:
    """One transferable top-level builder call of a model and its canonical scope."""

    builder: str
    occurrence: int
    key: str
    # Canonical names relative to the layer's scope (v0, v1, ... in creation order), when the
    # plan knows them statically; the runtime checks them as it builds the layer.
    expected: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class _Settings:
    """Where a shim keeps its variables: the graph collection and the canonical scope prefix."""

    collection: str
    scope_prefix: str

    def is_transferable(self, name: str) -> bool:
        """A canonical name under the prefix that is not an optimizer slot or step counter."""
        return name.startswith(self.scope_prefix + "/") and not _NEVER_TRANSFERABLE.search(name)


@dataclasses.dataclass
class _Members:
    """The graph's transferable variables as last read from its collection."""

    members: tuple[_Variable, ...] = ()
    variables: dict[str, _Variable] = dataclasses.field(default_factory=dict)
    specs: dict[str, _Spec] = dataclasses.field(default_factory=dict)


_Layout = tuple[tuple[Any, int, tuple[tuple[str, int, int, tuple[int, ...]], ...]], ...]


class _GraphState:
    """Per-graph caches, stored on the graph so they die with it."""

    def __init__(self) -> None:
        self.counters: dict[object, dict[str, int]] = {}
        self.collected: set[str] = set()
        self.members: dict[_Settings, _Members] = {}
        self.savers: dict[frozenset[str], Any] = {}
        self.layouts: dict[tuple[str, ...], _Layout | None] = {}
        self.readers: dict[_Layout, list[Any]] = {}
        self.writers: dict[tuple[_Layout, tuple[str, ...]], tuple[Any, list[Any]]] = {}


def _graph_state(graph: _Graph) -> _GraphState:
    """The runtime's state for `graph`, created on first use."""
    state = getattr(graph, _GRAPH_STATE_ATTR, None)
    if state is None:
        state = _GraphState()
        setattr(graph, _GRAPH_STATE_ATTR, state)
    return state


# Depth of shared-layer calls on this thread: nested builder calls neither count nor rename.
_ACTIVE = threading.local()


def _variables(graph: _Graph, settings: _Settings) -> tuple[dict[str, _Variable], dict[str, _Spec]]:
    """({key: variable}, {key: spec}) of the graph's transferable variables; do not mutate."""
    state = _graph_state(graph)
    found = state.members.setdefault(settings, _Members())
    members = graph.get_collection(settings.collection)
    cached = found.members
    # Identity, not ==: Variable.__eq__ may build ops; the cache saves ~10 us per variable.
    if len(cached) != len(members) or any(a is not b for a, b in zip(cached, members, strict=True)):
        mapping: dict[str, _Variable] = {}
        for var in members:
            if isinstance(var, tf.Variable) and settings.is_transferable(var.op.name):
                mapping.setdefault(var.op.name, var)
        found.members = tuple(members)
        found.variables = mapping
        found.specs = {key: _spec(var.shape, var.dtype) for key, var in mapping.items()}
    return found.variables, found.specs


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
) -> list[str]:
    """Human-readable lines for keys whose shape or dtype differ on the two sides."""
    return [
        f"{key}: {ours_label} {_spec_text(ours[key])} vs {theirs_label} {_spec_text(theirs[key])}"
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
    """One cached Saver per graph and key set, so repeated calls add no ops."""
    state = _graph_state(graph)
    keyset = frozenset(mapping)
    saver = state.savers.get(keyset)
    if saver is None:
        var_list = {key: mapping[key] for key in sorted(mapping)}
        saver = _build_in(
            graph,
            lambda: tf.compat.v1.train.Saver(var_list=var_list, sharded=False, name="saver"),
        )
        state.savers[keyset] = saver
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


def _report(model_keys: Iterable[str], source_keys: Iterable[str]) -> TransferReport:
    """Report for loading the intersection of the two key sets."""
    ours, theirs = set(model_keys), set(source_keys)
    return TransferReport(
        restored=tuple(sorted(ours & theirs)),
        missing=tuple(sorted(ours - theirs)),
        unexpected=tuple(sorted(theirs - ours)),
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
    """Renames and records the variables created while one shared layer is built."""

    def __init__(self, graph: _Graph, layer: SharedLayer, settings: _Settings) -> None:
        self.graph = graph
        self.prefix = f"{settings.scope_prefix}/{layer.key}"
        self._numbers: dict[str, str] = {}
        self.variables: list[_Variable] = []
        self._seen: set[int] = set()
        self._in_getter = 0

    def canonical(self, name: str) -> str | None:
        """Canonical absolute name for a name under the layer scope, else None."""
        if not name.startswith(self.prefix + "/"):
            return None
        relative = name[len(self.prefix) + 1 :]
        # Variables are numbered v0, v1, ... in creation order: keys then depend only on the
        # layer's code. The same name asked twice (reuse inside the layer) keeps its number.
        relative = self._numbers.setdefault(relative, f"v{len(self._numbers)}")
        return f"{self.prefix}/{relative}"

    def record(self, var: Any) -> None:
        """Remember a variable of this layer once, in creation order."""
        if isinstance(var, tf.Variable):
            parts = [var]
        else:  # a partitioner gives a PartitionedVariable; a custom getter may give anything
            try:
                parts = list(var)
            except TypeError:
                parts = []
        for part in parts:
            if isinstance(part, tf.Variable) and id(part) not in self._seen:
                self._seen.add(id(part))
                self.variables.append(part)

    def getter(self, getter: Callable[..., Any], name: str, *args: Any, **kwargs: Any) -> Any:
        """Custom getter: get_variable names become canonical before the store sees them."""
        canonical = self.canonical(name)
        if canonical is None:  # the builder jumped to a foreign absolute scope
            return getter(name, *args, **kwargs)
        self._in_getter += 1
        try:
            var = getter(canonical, *args, **kwargs)
        finally:
            self._in_getter -= 1
        self.record(var)
        return var

    def creator(self, next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        """Variable creator: tf.Variable (and Keras) names follow the variable scope too."""
        if self._in_getter:
            var = next_creator(**kwargs)
            self.record(var)
            return var
        scope = tf.compat.v1.get_variable_scope().name
        base = str(kwargs.get("name") or "_Variable").split(":")[0]
        canonical = self.canonical(f"{scope}/{base}")
        if canonical is None:
            return next_creator(**kwargs)
        parent, _, leaf = canonical.rpartition("/")
        kwargs["name"] = leaf
        # A trailing "/" re-enters the absolute scope instead of nesting in the model's.
        with self.graph.name_scope(parent + "/"):
            var = next_creator(**kwargs)
        self.record(var)
        return var

    def relative_names(self) -> tuple[str, ...]:
        """Names of the recorded variables relative to the layer scope."""
        return tuple(
            var.op.name[len(self.prefix) + 1 :]
            for var in self.variables
            if var.op.name.startswith(self.prefix + "/")
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
        if not scope_prefix or "/" in scope_prefix:
            raise TransferError(f"model {model!r}: bad scope prefix {scope_prefix!r}")
        self.settings = _Settings(collection, scope_prefix)
        self._by_call: dict[tuple[str, int], SharedLayer] = {}
        keys: set[str] = set()
        for layer in self.layers:
            call = (layer.builder, layer.occurrence)
            if call in self._by_call or layer.key in keys:
                raise TransferError(f"model {model!r}: duplicate shared layer {layer}")
            if not layer.key or layer.key.startswith("/") or layer.key.endswith("/"):
                raise TransferError(f"model {model!r}: bad layer key {layer.key!r}")
            self._by_call[call] = layer
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
        recorder = _LayerRecorder(graph, layer, self.settings)
        outer = tf.compat.v1.get_variable_scope()
        name_scope = graph.get_name_scope()
        # A VariableScope object is entered absolutely; it keeps the model's defaults.
        scope = tf.compat.v1.VariableScope(
            outer.reuse,
            name=recorder.prefix,
            initializer=outer.initializer,
            regularizer=outer.regularizer,
            caching_device=outer.caching_device,
            partitioner=outer.partitioner,
            custom_getter=outer.custom_getter,
            name_scope=name_scope + "/" if name_scope else "",
            dtype=outer.dtype,
            use_resource=outer.use_resource,
            constraint=outer.constraint,
        )
        with (
            tf.compat.v1.variable_scope(
                scope, custom_getter=recorder.getter, auxiliary_name_scope=False
            ),
            tf.compat.v1.variable_creator_scope(recorder.creator),
        ):
            result = fn(*args, **kwargs)
        actual = recorder.relative_names()
        if layer.expected is not None and actual != tuple(layer.expected):
            raise TransferError(
                f"model {self.model!r}: layer {layer.builder!r} (call #{layer.occurrence}, "
                f"key {layer.key!r}) expected variables {tuple(layer.expected)!r} "
                f"but created {actual!r}"
            )
        state = _graph_state(graph)
        for var in recorder.variables:
            if var.op.name not in state.collected:
                state.collected.add(var.op.name)
                graph.add_to_collection(self.settings.collection, var)
        return result

    # -- moving weights ---------------------------------------------------------

    def variable_map(self, graph: _Graph | None = None) -> dict[str, _Variable]:
        """{canonical checkpoint key: variable} of the graph's transferable variables."""
        variables, _ = _variables(graph or tf.compat.v1.get_default_graph(), self.settings)
        return {key: variables[key] for key in sorted(variables)}

    def transferable_variables(self, graph: _Graph | None = None) -> list[_Variable]:
        """The graph's transferable variables, sorted by checkpoint key."""
        variables, _ = _variables(graph or tf.compat.v1.get_default_graph(), self.settings)
        return [variables[key] for key in sorted(variables)]

    def trainable_variables(
        self, graph: _Graph | None = None, exclude_transferred: bool = True
    ) -> list[_Variable]:
        """The graph's trainable variables, without the transferable ones by default."""
        graph = graph or tf.compat.v1.get_default_graph()
        trainable: list[_Variable] = graph.get_collection(
            tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES
        )
        if not exclude_transferred:
            return trainable
        transferable = {id(var) for var in _variables(graph, self.settings)[0].values()}
        return [var for var in trainable if id(var) not in transferable]

    def save(self, sess: _Session, path: str | os.PathLike[str]) -> str:
        """Save exactly the transferable variables; returns the checkpoint prefix."""
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

    def restore(
        self, sess: _Session, path: str | os.PathLike[str], *, freeze: bool = False
    ) -> TransferReport:
        """Check names, shapes and dtypes first, then load the intersection in one run."""
        path = os.fspath(path)
        graph = sess.graph
        variables, specs = _variables(graph, self.settings)
        source = _read_checkpoint(path, self.settings)
        common = sorted(specs.keys() & source.keys())
        problems = _mismatches(common, specs, source, "model", "checkpoint")
        if problems:
            raise TransferError(
                f"checkpoint {path!r} does not fit model {self.model!r}, nothing restored:\n  "
                + "\n  ".join(problems)
            )
        if not common:
            raise TransferError(
                f"checkpoint {path!r}: no transferable variables in common with "
                f"model {self.model!r}"
            )
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
        return _report(variables, source)

    def copy(
        self, src_sess: _Session, dst_sess: _Session, *more_dst_sessions: _Session
    ) -> TransferReport:
        """Copy in memory, all checked first: one run on the source, one per destination."""
        # With several destinations the report is their union: restored if any destination
        # took the key, missing if any destination has it and the source has not, unexpected
        # if no destination took it. Destinations share the copied buffers copy-on-write:
        # TF copies a variable's buffer before its first in-place update.
        source, source_specs = _variables(src_sess.graph, self.settings)
        plans: list[_Plan] = []
        problems: list[str] = []
        for index, sess in enumerate((dst_sess, *more_dst_sessions)):
            variables, specs = _variables(sess.graph, self.settings)
            keys = tuple(sorted(specs.keys() & source_specs.keys()))
            if not keys:
                raise TransferError(
                    "no transferable variables in common between the source session "
                    f"and destination #{index} (model {self.model!r})"
                )
            label = f"destination #{index}"
            problems += _mismatches(keys, specs, source_specs, label, "source")
            plans.append((sess, variables, keys))
        if problems:
            raise TransferError("cannot copy, nothing assigned:\n  " + "\n  ".join(problems))
        wanted = tuple(sorted({key for _, _, keys in plans for key in keys}))
        layouts = _graph_state(src_sess.graph).layouts
        if wanted not in layouts:
            layouts[wanted] = _layout(source_specs, wanted)
        layout = layouts[wanted]
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
                _copy_by_variable(src_sess, source, wanted, plans)
        except (tf.errors.OpError, RuntimeError) as error:
            raise TransferError(
                f"cannot copy for model {self.model!r}: {_tf_error_text(error)}; nothing assigned"
            ) from error
        restored = set(wanted)
        missing = {key for _, variables, _ in plans for key in variables if key not in source}
        return TransferReport(
            restored=tuple(sorted(restored)),
            missing=tuple(sorted(missing)),
            unexpected=tuple(sorted(source.keys() - restored)),
        )
