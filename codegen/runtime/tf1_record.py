"""TF1 graph family: the recorder that notes, in creation order, what a shared layer creates."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tensorflow as tf  # type: ignore[import-untyped]

from .core import NEVER_TRANSFERABLE, Settings, SharedLayer, Variable


class LayerRecorder:
    """Records, in creation order, the variables one shared layer creates, under their keys.

    Nothing is renamed: a variable keeps its graph name, and its key is the layer's canonical
    scope plus its number in the layer (v0, v1, ...), so keys depend only on the layer's code.
    """

    def __init__(self, layer: SharedLayer, settings: Settings) -> None:
        self.prefix = f"{settings.scope_prefix}/{layer.key}"
        self.active = True
        self._numbers: dict[object, int] = {}  # getter name or variable identity -> number
        self._getters: list[tuple[int, str]] = []  # (number, name) of get_variable calls open
        self.recorded: list[tuple[str, Variable]] = []  # (key, variable) in creation order
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
            if NEVER_TRANSFERABLE.search(own):
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


def compose_getter(
    outer: Callable[..., Any], inner: Callable[..., Any] | None
) -> Callable[..., Any]:
    """`outer` wrapped around the scope's own custom getter, as tf.variable_scope composes them."""
    if inner is None:
        return outer

    def composed(getter: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return outer(functools.partial(inner, getter), *args, **kwargs)

    return composed
