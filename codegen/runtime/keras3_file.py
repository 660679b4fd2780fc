"""Keras family: one object per model file, routing its entries and marks by model name.

A routed model file and a training script, for example (`x_transfer` is the file's shim):

    @x_transfer.model("build_model")
    def build_model(vocab_size=20000):
        return keras.Sequential([
            keras.Input((None,), dtype="int32"),
            x_transfer.layer("build_model", 0, layers.Embedding(vocab_size, 128)),
            x_transfer.layer("build_model", 1, layers.Conv1D(128, 5, activation="relu")),
            layers.GlobalMaxPooling1D(),
            layers.Dense(num_classes),
        ])

    model = build_model()                      # built: it has an Input (or call it once)
    report = x_transfer.restore(model, "trunk.safetensors", freeze=True)
    print(report)                              # restored / missing / unexpected, by key
    model.compile(...)                         # compile after freezing: Keras reads trainable
    model.fit(...)
    x_transfer.save(model, "trunk.safetensors")  # the shared layers only, for the next model

A restore can also run inside `fit`, from a callback's `on_train_begin`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .core import TransferError, TransferReport, Variable, model_named
from .keras3 import (
    KerasModelTransfer,
    Layer,
    Model,
    copy_models,
    freeze_layers,
    restore_view,
    save_view,
    trainable,
    variable_map,
    view_of,
)

__all__ = ["KerasFileTransfer"]


class KerasFileTransfer:
    """The Keras models of one file: entries and marks go to the model they name; the weight
    functions act on the given model object, whichever of the file's models it is."""

    def __init__(self, models: dict[str, KerasModelTransfer]) -> None:
        if not models:
            raise TransferError("a file shim needs at least one model")
        self.models = dict(models)
        self._all = tuple(self.models.values())

    def __repr__(self) -> str:
        return f"KerasFileTransfer({', '.join(self.models)})"

    def _named(self, root: str) -> KerasModelTransfer:
        return model_named(self.models, root)

    def model(self, root: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Entry decorator for model `root`'s build function or `__init__` (signature kept)."""
        return self._named(root).build

    def layer(self, root: str, position: int, obj: Layer) -> Layer:
        """`layer(root, position, Conv1D(...))`: mark model `root`'s shared layer; returns it."""
        return self._named(root).layer(position, obj)

    def variable_map(self, model: Model) -> dict[str, Variable]:
        """{canonical key: weight} of the model's shared layers, sorted by key."""
        return variable_map(view_of(model, self._all))

    def transferable_variables(self, model: Model) -> list[Variable]:
        """The model's shared layers' weights (under their own paths), sorted by key."""
        return list(self.variable_map(model).values())

    def trainable_variables(self, model: Model, exclude_transferred: bool = True) -> list[Variable]:
        """The model's trainable weights, without the transferable ones by default."""
        return trainable(model, view_of(model, self._all), exclude_transferred)

    def freeze(self, model: Model) -> list[Layer]:
        """Set `trainable = False` on the model's shared layers; Keras honours it at the next
        `compile()` (compile again after freezing a compiled model). Returns those layers."""
        return freeze_layers(view_of(model, self._all).layer_of.values())

    def save(self, model: Model, path: str | os.PathLike[str]) -> str:
        """Write exactly the shared weights, by key, to a safetensors file; returns its path."""
        return save_view(view_of(model, self._all), os.fspath(path))

    def restore(
        self, model: Model, path: str | os.PathLike[str], *, freeze: bool = False
    ) -> TransferReport:
        """Compare every common key's shape and dtype first, then assign exactly those."""
        return restore_view(view_of(model, self._all), os.fspath(path), freeze)

    def copy(self, source: Model, *destinations: Model) -> TransferReport:
        """Copy the shared weights in memory from `source` to each destination, checked first."""
        return copy_models(self._all, source, destinations)
