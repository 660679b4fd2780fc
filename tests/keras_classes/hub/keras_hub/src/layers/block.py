"""A residual feed-forward block, stacked by the encoders that hold a list of them."""

import keras


class Block(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.inner = keras.layers.Dense(self.units, activation="relu")
        self.outer = keras.layers.Dense(input_shape[-1])

    def call(self, x):
        return x + self.outer(self.inner(x))
