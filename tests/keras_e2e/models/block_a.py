"""A custom ConvBlock layer class first, then pooling and a head (kernel 3)."""

import keras
from keras import layers


class ConvBlock(keras.layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv1D(filters, 3, padding="same", activation="relu")
        self.norm = layers.LayerNormalization()

    def call(self, x):
        return self.norm(self.conv(x))


def build_model():
    inputs = keras.Input((16, 4))
    x = ConvBlock(12)(inputs)
    x = layers.GlobalMaxPooling1D()(x)
    outputs = layers.Dense(2)(x)
    return keras.Model(inputs, outputs)
