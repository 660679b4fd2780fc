"""A learned position table: a Keras layer class of a tree whose package has a library's name."""

import keras


class Positions(keras.layers.Layer):
    def __init__(self, length, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape):
        self.table = self.add_weight(shape=(self.length, input_shape[-1]), name="table")

    def call(self, x):
        return x + self.table[None, : keras.ops.shape(x)[1]]
