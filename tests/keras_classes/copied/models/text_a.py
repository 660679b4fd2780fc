"""A text classifier whose second layer is a custom Keras layer class."""

import keras
from keras import layers


class ConvBlock(keras.layers.Layer):
    """Conv1D then LayerNormalization, as one layer."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv1D(filters, 3, padding="same", activation="relu")
        self.norm = layers.LayerNormalization(epsilon=1e-6)

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.norm.build(self.conv.compute_output_shape(input_shape))

    def call(self, x):
        return self.norm(self.conv(x))


def build_model(vocab_size=20000):
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(vocab_size, 64)(inputs)
    x = ConvBlock(64)(x)
    x = layers.GlobalMaxPooling1D()(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs)
