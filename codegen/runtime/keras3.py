"""Keras family: shared layers of Keras models (Sequential, functional, subclassed) by key.

Public Keras API only, duck-typed (`layer.weights`, `variable.path`, `assign`, `numpy`), so it
runs on the TensorFlow, JAX and PyTorch backends, eagerly and from `fit` callbacks; this module
imports no Keras and no TensorFlow, and sets no environment variable: importing it never
changes which Keras a program gets.

Recording. A mark `layer(root, position, layer_obj)` notes the layer OBJECT (Keras creates
weights at a layer's first call, so there is nothing else to record yet) and returns it
unchanged. Records are kept per model instance, outside the model (an attribute would be
tracked by Keras and change the model's save layout):
- the entry decorator (`model(root)` on a build function or a subclassed model's `__init__`)
  collects the marks made while it runs and binds them to the model it returns or constructs,
  in a WeakKeyDictionary keyed by the model;
- every mark is also kept by layer object, so a model built outside an entry (module-level
  code, layers made in `build()`, a functional model wrapping a routed one) owns the marked
  layers whose weights it holds.
Keys are `<prefix>/<position>_<hash>/v<i>`, `i` the index in `layer.weights` (not
`layer.variables`, which also holds seed-generator state); they exist only in transfer files.
`codegen emit` copies this file verbatim into the output folder (`_runtime/keras3.py`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import keras3_io, keras3_values
from .core import (
    KeyMap,
    Settings,
    SharedLayer,
    Spec,
    TransferError,
    TransferReport,
    Variable,
    check_layers,
    checkpoint_specs,
    copy_report,
    error_text,
    first_lines,
    mismatches,
    position_label,
    preflight,
    report,
)

__all__ = ["KerasModelTransfer"]

# Keras objects are opaque here: the module never imports Keras.
Layer = Any
Model = Any


@dataclasses.dataclass(eq=False)
class _Build:
    """The layer objects one build of a model marked, by trunk position."""

    transfer: KerasModelTransfer
    layers: dict[int, Layer] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class View:
    """A model's transferable weights now: its key map and each key's layer object."""

    transfer: KerasModelTransfer
    found: KeyMap
    layer_of: dict[str, Layer]


_LOCK = threading.Lock()
# Model -> the builds bound to it, in binding order: an outer entry finishes, and binds, last.
_BOUND: weakref.WeakKeyDictionary[Any, list[_Build]] = weakref.WeakKeyDictionary()
# Layer object -> every (transfer, position) that marked it.
_MARKED: weakref.WeakKeyDictionary[Any, list[tuple[KerasModelTransfer, int]]] = (
    weakref.WeakKeyDictionary()
)
# The entries open on this thread, innermost last.
_OPEN = threading.local()


def _open_builds() -> list[_Build]:
    stack: list[_Build] | None = getattr(_OPEN, "stack", None)
    if stack is None:
        stack = _OPEN.stack = []
    return stack


def _is_layer(obj: object) -> bool:
    """A Keras layer or model instance (duck-typed: Keras 3 on any backend, or tf_keras)."""
    return not isinstance(obj, type) and hasattr(obj, "weights") and hasattr(obj, "trainable")


def _bind(build: _Build, result: object, args: tuple[Any, ...]) -> None:
    """Bind an entry's marks to the model it returned, else to the one it constructed (self)."""
    items = result if isinstance(result, (tuple, list)) else (result,)
    targets = [item for item in items if _is_layer(item)]
    if not targets and args and _is_layer(args[0]):
        targets = [args[0]]
    with _LOCK:
        for target in targets:
            _BOUND.setdefault(target, []).append(build)
    # Without a target (the entry returned tensors) the marks still work by layer object.


def _spec(var: Variable) -> Spec:
    """(dims, dtype name) of a Keras (or tf_keras) variable."""
    dtype = var.dtype
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", str(dtype))
    return tuple(int(d) for d in var.shape), name.removesuffix("_ref")


def _file_spec(shape: Sequence[int], code: str) -> Spec:
    return tuple(int(d) for d in shape), keras3_io.dtype_name(code)


def _own_path(var: Variable) -> str:
    """The model's own name for a weight: `variable.path` (Keras 3), else its name."""
    return str(getattr(var, "path", None) or var.name)


def _layer_name(obj: Layer) -> str:
    return f"{type(obj).__name__} {getattr(obj, 'name', '?')!r}"


def _model_name(model: Model) -> str:
    return str(getattr(model, "name", type(model).__name__))


def _unbuilt(model: Model, shared: SharedLayer | None, obj: Layer | None) -> TransferError:
    what = f": {shared.describe()}, {_layer_name(obj)}, has no weights yet" if shared else ""
    return TransferError(
        f"Keras model {_model_name(model)!r} is not built{what}. Build it (`model.build(shape)`, "
        "or an `Input` first) or call it on a batch before saving, restoring or copying: Keras "
        "creates a layer's weights at its first call"
    )


class KerasModelTransfer:
    """One Keras model's shared layers, marked by trunk position, and how to move them."""

    def __init__(
        self, model: str, layers: Sequence[SharedLayer], *, scope_prefix: str = "transfer"
    ) -> None:
        self.model = model
        self.layers = tuple(sorted(layers, key=lambda layer: layer.position or 0))
        check_layers(model, self.layers, scope_prefix)
        self.settings = Settings("", scope_prefix)
        self._by_position: dict[int, SharedLayer] = {}
        for layer in self.layers:
            if layer.position is None:
                raise TransferError(
                    f"model {model!r}: {layer.describe()} has no trunk position; a Keras "
                    "shared layer is marked in the model's code by its position"
                )
            self._by_position[layer.position] = layer

    def __repr__(self) -> str:
        return f"KerasModelTransfer({self.model!r}, {len(self.layers)} shared layers)"

    # -- building ---------------------------------------------------------------

    def build(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Entry decorator for the build function or the subclassed model's `__init__`: the
        marks made while it runs belong to the model it returns or constructs. Nested entries
        of the same model add nothing. The wrapper keeps `fn`'s signature (Keras reads it)."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stack = _open_builds()
            if any(build.transfer is self for build in stack):
                return fn(*args, **kwargs)
            build = _Build(self)
            stack.append(build)
            try:
                result = fn(*args, **kwargs)
            finally:
                stack.pop()
            _bind(build, result, args)
            return result

        # Keras's Operation.__new__ reads the constructor with getfullargspec, which does not
        # follow __wrapped__ but does honour __signature__.
        try:
            wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
        except (TypeError, ValueError):  # a callable without a signature: nothing to keep
            pass
        return wrapper

    def layer(self, position: int, obj: Layer) -> Layer:
        """Mark `obj` as this model's shared layer at trunk `position`; returns `obj` itself."""
        shared = self._by_position.get(position)
        if shared is None:  # not shared (any more): the routing is ahead of the plan
            return obj
        if not _is_layer(obj):
            raise TransferError(
                f"model {self.model!r}: {shared.describe()} marks a {type(obj).__name__}, "
                "not a Keras layer (the mark wraps the layer object, before it is called)"
            )
        with _LOCK:
            marks = _MARKED.setdefault(obj, [])
            if (self, position) not in marks:
                marks.append((self, position))
        build = next((b for b in reversed(_open_builds()) if b.transfer is self), None)
        if build is not None:
            before = build.layers.setdefault(position, obj)
            if before is not obj:
                raise TransferError(
                    f"model {self.model!r}: {shared.describe()} was marked twice in one build, "
                    f"on two layer objects ({_layer_name(before)}, {_layer_name(obj)}); a "
                    "shared key must name one layer"
                )
        return obj

    # -- what a model holds -----------------------------------------------------------

    def view(self, model: Model) -> View:
        """The model's transferable weights by key; raises if unbuilt or not routed."""
        return view_of(model, (self,))

    def variable_map(self, model: Model) -> dict[str, Variable]:
        """{canonical key: weight} of the model's shared layers, sorted by key."""
        return variable_map(view_of(model, (self,)))

    def transferable_variables(self, model: Model) -> list[Variable]:
        """The model's shared layers' weights (under their own paths), sorted by key."""
        return list(self.variable_map(model).values())

    def trainable_variables(self, model: Model, exclude_transferred: bool = True) -> list[Variable]:
        """The model's trainable weights, without the transferable ones by default."""
        return trainable(model, view_of(model, (self,)), exclude_transferred)

    def freeze(self, model: Model) -> list[Layer]:
        """Set `trainable = False` on the model's shared layers; Keras honours it at the next
        `compile()` (compile again after freezing a compiled model). Returns those layers."""
        return freeze_layers(view_of(model, (self,)).layer_of.values())

    # -- moving weights ---------------------------------------------------------

    def save(self, model: Model, path: str | os.PathLike[str]) -> str:
        """Write exactly the shared weights, by key, to a safetensors file; returns its path."""
        return save_view(view_of(model, (self,)), os.fspath(path))

    def restore(
        self, model: Model, path: str | os.PathLike[str], *, freeze: bool = False
    ) -> TransferReport:
        """Compare every common key's shape and dtype first, then assign exactly those."""
        return restore_view(view_of(model, (self,)), os.fspath(path), freeze)

    def copy(self, source: Model, *destinations: Model) -> TransferReport:
        """Copy the shared weights in memory from `source` to each destination, checked first."""
        return copy_models((self,), source, destinations)


def view_of(model: Model, prefer: tuple[KerasModelTransfer, ...]) -> View:
    """The model's key map now, from the build bound to it or from the layers it holds."""
    if not _is_layer(model):
        raise TransferError(f"expected a Keras model, got {type(model).__name__}")
    with _LOCK:
        builds = list(_BOUND.get(model, ()))
    chosen = [b for b in builds if b.transfer in prefer] or builds
    if chosen:
        build = chosen[-1]  # the outermost entry: the model's own
        return _key_map(model, build.transfer, build.layers)
    transfer, layers = _held_marks(model, prefer)
    return _key_map(model, transfer, layers)


def _held_marks(
    model: Model, prefer: tuple[KerasModelTransfer, ...]
) -> tuple[KerasModelTransfer, dict[int, Layer]]:
    """A model built outside any entry: the marked layers whose weights it holds."""
    own = {id(var) for var in model.weights}
    if not own:
        raise _unbuilt(model, None, None)
    with _LOCK:
        marked = list(_MARKED.items())
    found: dict[KerasModelTransfer, dict[int, Layer]] = {}
    for obj, marks in marked:
        weights = obj.weights
        if not weights or not all(id(var) in own for var in weights):
            continue
        for transfer, position in marks:
            before = found.setdefault(transfer, {}).setdefault(position, obj)
            if before is not obj:
                raise TransferError(
                    f"Keras model {_model_name(model)!r} holds two layers marked as "
                    f"{transfer.model!r}'s shared layer at position {position} "
                    f"({_layer_name(before)}, {_layer_name(obj)}); build it through its entry"
                )
    candidates = [t for t in prefer if t in found] or list(found)
    if not candidates:
        raise TransferError(
            f"Keras model {_model_name(model)!r} holds no shared layer of "
            f"{', '.join(repr(t.model) for t in prefer)}: build it with the routed code "
            "(`codegen sync` marks its shared layers)"
        )
    if len(candidates) > 1:
        raise TransferError(
            f"Keras model {_model_name(model)!r} holds shared layers of several models "
            f"({', '.join(repr(t.model) for t in candidates)}); build it through its entry"
        )
    return candidates[0], found[candidates[0]]


def _key_map(model: Model, transfer: KerasModelTransfer, layers: dict[int, Layer]) -> View:
    """Keys for every shared layer of `transfer`, checked against what the model built."""
    found = KeyMap()
    layer_of: dict[str, Layer] = {}
    prefix = transfer.settings.scope_prefix
    for shared in transfer.layers:
        assert shared.position is not None  # checked in KerasModelTransfer.__init__
        obj = layers.get(shared.position)
        if obj is None:
            raise TransferError(
                f"model {transfer.model!r}: {shared.describe()} was not marked while "
                f"{_model_name(model)!r} was built; run `codegen sync` to bring the routing "
                "up to date"
            )
        weights = list(obj.weights)
        if not weights:
            if not getattr(obj, "built", True):
                raise _unbuilt(model, shared, obj)
            raise TransferError(
                f"model {transfer.model!r}: {shared.describe()}, {_layer_name(obj)}, has no "
                "weights: a shared layer must create variables"
            )
        actual = tuple(f"v{index}" for index in range(len(weights)))
        if shared.expected is not None and actual != tuple(shared.expected):
            raise TransferError(
                f"model {transfer.model!r}: {shared.describe()} expected weights "
                f"{tuple(shared.expected)!r} but {_layer_name(obj)} has {actual!r} "
                f"({', '.join(_own_path(var) for var in weights)})"
            )
        label = shared.label or position_label(shared.key)
        for index, var in enumerate(weights):
            key = f"{prefix}/{shared.key}/v{index}"
            found.bind(key, var, label, _own_path(var))
            layer_of[key] = obj
    return View(transfer, found, layer_of)


def variable_map(view: View) -> dict[str, Variable]:
    variables = view.found.variables
    return {key: variables[key] for key in sorted(variables)}


def trainable(model: Model, view: View, exclude_transferred: bool) -> list[Variable]:
    trainable = list(model.trainable_variables)
    if not exclude_transferred:
        return trainable
    transferable = {id(var) for var in view.found.variables.values()}
    return [var for var in trainable if id(var) not in transferable]


def freeze_layers(layers: Iterable[Layer]) -> list[Layer]:
    frozen: dict[int, Layer] = {}
    for obj in layers:
        if id(obj) not in frozen:
            obj.trainable = False
            frozen[id(obj)] = obj
    return list(frozen.values())


def _describe(view: View) -> Callable[[str], object]:
    return lambda key: view.found.entry(key, view.transfer.settings)


def save_view(view: View, path: str) -> str:
    variables = view.found.variables
    if not variables:
        raise TransferError(f"model {view.transfer.model!r}: no shared layers to save")
    arrays = {key: keras3_values.to_numpy(var) for key, var in variables.items()}
    described = {
        key: {"layer": entry.layer, "path": entry.name or ""}
        for key, entry in view.found.entries.items()
    }
    try:
        return keras3_io.write(path, arrays, described, view.transfer.model)
    except (OSError, ValueError, TypeError) as exc:
        raise TransferError(f"cannot save transfer file {path!r}: {error_text(exc)}") from exc


def restore_view(view: View, path: str, freeze: bool) -> TransferReport:
    settings = view.transfer.settings
    variables, specs = view.found.view(_spec)
    source = checkpoint_specs(path, settings, keras3_io.read_specs, _file_spec)
    common = preflight(view.transfer.model, path, specs, source, settings, _describe(view))
    # The pre-flight read the header only; safetensors has checked there that every tensor
    # lies inside the file, so the values stream in one at a time: no second copy in memory.
    pairs = (
        (variables[key], keras3_values.from_host(variables[key], value))
        for key, value in keras3_io.read_values(path, common)
    )
    keras3_values.assign(pairs, len(common), f"restoring {path!r}")
    if freeze:
        freeze_layers(view.layer_of[key] for key in common)
    return report(view.found, settings, variables, source)


def copy_models(
    prefer: tuple[KerasModelTransfer, ...], source: Model, destinations: tuple[Model, ...]
) -> TransferReport:
    if not destinations:
        raise TransferError("copy needs at least one destination model")
    src = view_of(source, prefer)
    source_vars, source_specs = src.found.view(_spec)
    sides = [view_of(model, prefer) for model in destinations]
    problems: list[str] = []
    keys_of: list[list[str]] = []
    for index, side in enumerate(sides):
        _, specs = side.found.view(_spec)
        keys = sorted(specs.keys() & source_specs.keys())
        if not keys:
            raise TransferError(
                f"no shared weights in common between source {_model_name(source)!r} and "
                f"destination #{index} {_model_name(destinations[index])!r}"
            )
        problems += mismatches(
            keys, specs, source_specs, f"destination #{index}", "source", _describe(side)
        )
        keys_of.append(keys)
    if problems:
        raise TransferError("cannot copy, nothing assigned:" + first_lines(problems))
    wanted = sorted({key for keys in keys_of for key in keys})
    values = {key: keras3_values.snapshot(source_vars[key]) for key in wanted}
    for index, (side, keys) in enumerate(zip(sides, keys_of, strict=True)):
        variables = side.found.variables
        pairs = (
            (variables[key], keras3_values.for_destination(variables[key], *values[key]))
            for key in keys
        )
        keras3_values.assign(pairs, len(keys), f"copying to destination #{index}")
    return copy_report(
        src.found, [side.found for side in sides], source_specs, wanted, src.transfer.settings
    )
