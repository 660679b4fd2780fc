"""A layer class with only build() and call(): Keras gives it its constructor (b)."""

import keras
from keras import layers


class Gate(keras.layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 16), name="w")

    def call(self, x):
        return keras.ops.matmul(x, self.w)


def build_model():
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(1000, 16)(inputs)
    x = Gate()(x)
    return keras.Model(inputs, layers.Dense(2)(x))
