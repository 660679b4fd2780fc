"""A layer class whose only weight, the same code, with add_weight in build()."""

import keras
from keras import layers


class Scale(keras.layers.Layer):
    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel"
        )

    def call(self, x):
        return keras.ops.matmul(x, self.kernel)


def build_model():
    inputs = keras.Input(shape=(16,))
    x = Scale(8)(inputs)
    outputs = layers.Dense(3)(x)
    return keras.Model(inputs, outputs)
