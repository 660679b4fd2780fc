"""TF1 graph family: the in-memory copy engine, checked first, then one run per session."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf  # type: ignore[import-untyped]

from .core import (
    KeyMap,
    Settings,
    Spec,
    TransferError,
    TransferReport,
    Variable,
    copy_report,
    error_text,
    mismatches,
)
from .tf1_graph import Graph, Layout, Session, build_in, graph_state

# Copy packs values into flat chunks: O(1) Python work per copy and one memcpy (the concat in
# the source); destinations take the fed buffers as they are. Chunks of at most 16 MiB measured
# faster than one huge buffer, whose fresh pages are faulted in again on every copy.
_CHUNK_BYTES = 16 << 20
# EIGEN_MAX_ALIGN_BYTES: a Slice of a fed buffer at an aligned offset is a view, not a copy.
_ALIGN_BYTES = 64
_MAX_CHECKED_COPIES = 32

Plan = tuple[Session, dict[str, Variable], tuple[str, ...]]  # destination, variables, keys


def layout(specs: dict[str, Spec], keys: tuple[str, ...]) -> Layout | None:
    """Chunks (dtype, length, ((key, start, size, dims), ...)) packing `keys`; None if unsized."""
    # An unknown size cannot be sliced back out statically: such copies go variable by variable.
    by_dtype: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for key in keys:
        dims, dtype = specs[key]
        if dims is None or None in dims:
            return None
        by_dtype.setdefault(dtype, []).append((key, tuple(int(d or 0) for d in dims)))
    chunks = []
    for dtype, items in by_dtype.items():
        item_size = max(1, tf.as_dtype(dtype).size)
        step = max(1, _ALIGN_BYTES // item_size)
        entries: list[tuple[str, int, int, tuple[int, ...]]] = []
        offset = 0
        for key, dims in items:
            size = int(np.prod(dims, dtype=np.int64))
            if entries and (offset + size) * item_size > _CHUNK_BYTES:
                chunks.append((dtype, offset, tuple(entries)))
                entries, offset = [], 0
            entries.append((key, offset, size, dims))
            offset += -(-size // step) * step
        if entries:
            chunks.append((dtype, offset, tuple(entries)))
    return tuple(chunks)


def _session_callable(
    sess: Session, cache_key: tuple[Any, ...], make: Callable[[], tuple[Any, list[Any]]]
) -> Callable[..., Any]:
    """A Session.make_callable cached on the session, so a repeated copy skips fetch parsing."""
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
    sess: Session, variables: dict[str, Variable], chunks: Layout
) -> Callable[..., Any]:
    """Callable fetching one flat array per chunk of `chunks`, in one run."""
    # A concat (or Snapshot) output owns its buffer, so TF hands it to numpy without a second
    # copy, 64-byte aligned; a destination then feeds and assigns it without copying either.
    # Fetching a variable's read value instead would copy into unaligned numpy memory.
    graph, state = sess.graph, graph_state(sess.graph)

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
        if chunks not in state.readers:
            state.readers[chunks] = build_in(graph, lambda: [make_chunk(c) for c in chunks])
        return state.readers[chunks], []

    return _session_callable(sess, ("read", chunks), make)


def _chunk_writer(
    sess: Session, variables: dict[str, Variable], chunks: Layout, keys: tuple[str, ...]
) -> Callable[..., Any]:
    """Callable taking one flat array per chunk and assigning `keys` from it, in one run."""
    graph, state = sess.graph, graph_state(sess.graph)
    wanted = set(keys)

    def make_ops() -> tuple[Any, list[Any]]:
        holders, assigns = [], []
        for dtype, length, entries in chunks:
            holder = tf.compat.v1.placeholder(dtype, shape=[length])
            holders.append(holder)
            for key, start, size, dims in entries:
                if key in wanted:
                    value = tf.reshape(tf.slice(holder, [start], [size]), dims)
                    assigns.append(variables[key].assign(value, read_value=False))
        return tf.group(*assigns), holders

    def make() -> tuple[Any, list[Any]]:
        cache_key = (chunks, keys)
        if cache_key not in state.writers:
            state.writers[cache_key] = build_in(graph, make_ops)
        return state.writers[cache_key]

    return _session_callable(sess, ("write", chunks, keys), make)


@dataclasses.dataclass(frozen=True)
class CheckedCopy:
    """A copy between given versions of the key maps, checked: what to move and its report."""

    specs: tuple[dict[str, Spec], ...]  # source first: held so that their ids stay theirs
    keys: tuple[tuple[str, ...], ...]  # per destination, sorted
    wanted: tuple[str, ...]  # every destination's keys, sorted
    layout: Layout | None
    report: TransferReport


def check_copy(
    model: str,
    settings: Settings,
    src_graph: Graph,
    source: KeyMap,
    source_specs: dict[str, Spec],
    destinations: list[KeyMap],
    dest_specs: list[dict[str, Spec]],
) -> CheckedCopy:
    """Keys, layout and report of a copy between these key maps; raises on a mismatch."""
    state = graph_state(src_graph)
    # A key map gets a new specs dict whenever it changes, and the memo keeps the dicts
    # alive, so their ids name one version of every side: a repeated copy checks nothing.
    memo_key = (id(source_specs), *(id(specs) for specs in dest_specs))
    found = state.copies.get(memo_key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    all_keys: list[tuple[str, ...]] = []
    problems: list[str] = []
    for index, (found_map, specs) in enumerate(zip(destinations, dest_specs, strict=True)):
        keys = tuple(sorted(specs.keys() & source_specs.keys()))
        if not keys:
            raise TransferError(
                "no transferable variables in common between the source session "
                f"and destination #{index} (model {model!r})"
            )

        def describe(key: str, found_map: KeyMap = found_map) -> object:
            return found_map.entry(key, settings)

        label = f"destination #{index}"
        problems += mismatches(keys, specs, source_specs, label, "source", describe)
        all_keys.append(keys)
    if problems:
        raise TransferError("cannot copy, nothing assigned:\n  " + "\n  ".join(problems))
    wanted = tuple(sorted({key for keys in all_keys for key in keys}))
    if wanted not in state.layouts:
        state.layouts[wanted] = layout(source_specs, wanted)
    report = copy_report(source, destinations, source_specs, wanted, settings)
    if len(state.copies) >= _MAX_CHECKED_COPIES:  # old versions only: start afresh
        state.copies.clear()
    checked = CheckedCopy(
        (source_specs, *dest_specs), tuple(all_keys), wanted, state.layouts[wanted], report
    )
    state.copies[memo_key] = checked
    return checked


def _chunks_possible(src_sess: Session, plans: list[Plan], chunks: Layout | None) -> bool:
    """Chunked copy needs static shapes and its ops built already or buildable now."""
    if chunks is None:
        return False
    if src_sess.graph.finalized and chunks not in graph_state(src_sess.graph).readers:
        return False
    return all(
        not sess.graph.finalized or (chunks, keys) in graph_state(sess.graph).writers
        for sess, _, keys in plans
    )


def _copy_by_variable(
    src_sess: Session, source: dict[str, Variable], wanted: tuple[str, ...], plans: list[Plan]
) -> None:
    """Fallback without new ops (finalized graph, unknown shapes): feed each initializer."""
    values = dict(zip(wanted, src_sess.run([source[key] for key in wanted]), strict=True))
    for sess, variables, keys in plans:
        inits = [variables[key].initializer for key in keys]
        # Variable.load feeds the initializer's value input the same way, one run per variable.
        feeds = {init.inputs[1]: values[key] for init, key in zip(inits, keys, strict=True)}
        sess.run(inits, feed_dict=feeds)


def run_copy(
    model: str,
    src_sess: Session,
    source: dict[str, Variable],
    checked: CheckedCopy,
    plans: list[Plan],
) -> None:
    """Move the checked keys: one run on the source, one per destination."""
    chunks = checked.layout
    # An uninitialised or closed session fails here; the source is read before anything
    # is written, so such a failure assigns nothing.
    try:
        if chunks is not None and _chunks_possible(src_sess, plans, chunks):
            values = _chunk_reader(src_sess, source, chunks)()
            for index, (sess, variables, keys) in enumerate(plans):
                try:
                    _chunk_writer(sess, variables, chunks, keys)(*values)
                except (tf.errors.OpError, RuntimeError) as error:
                    raise TransferError(
                        f"cannot write destination #{index}: {error_text(error)}"
                    ) from error
        else:
            _copy_by_variable(src_sess, source, checked.wanted, plans)
    except (tf.errors.OpError, RuntimeError) as error:
        raise TransferError(
            f"cannot copy for model {model!r}: {error_text(error)}; nothing assigned"
        ) from error
