"""A layer class with type annotations."""

from __future__ import annotations

import keras
from configs import TaggerConfig
from keras import layers


class Head(keras.layers.Layer):
    def __init__(self, config: TaggerConfig, units: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dense = layers.Dense(units, name="dense")
        self.scale: float = 0.5

    def call(self, x: keras.KerasTensor) -> keras.KerasTensor:
        return self.dense(x) * self.scale


def build_model(config: TaggerConfig) -> keras.Model:
    inputs = keras.Input(shape=(16,))
    return keras.Model(inputs, Head(config, 4)(inputs))
