"""The same layer class, other annotations (another config class, none on call)."""

from __future__ import annotations

import keras
from configs import ChunkerConfig
from keras import layers


class Head(keras.layers.Layer):
    def __init__(self, config: ChunkerConfig, units=4, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(units, name="dense")
        self.scale: int = 0.5

    def call(self, x):
        return self.dense(x) * self.scale


def build_model(config: ChunkerConfig):
    inputs = keras.Input(shape=(16,))
    return keras.Model(inputs, Head(config, 4)(inputs))
