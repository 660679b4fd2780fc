"""A copy of text_a's ConvBlock with its locals renamed, under another head."""

import keras
from keras import layers


class ConvBlock(keras.layers.Layer):
    def __init__(self, n_filters, **kwargs):
        super().__init__(**kwargs)
        # same layers, other names
        self.conv = layers.Conv1D(n_filters, 3, padding="same", activation="relu")
        self.norm = layers.LayerNormalization(epsilon=1e-6)

    def build(self, shape):
        self.conv.build(shape)
        self.norm.build(self.conv.compute_output_shape(shape))

    def call(self, inputs):
        return self.norm(self.conv(inputs))


def build_model(vocab_size=20000):
    tokens = keras.Input(shape=(None,), dtype="int32")
    h = layers.Embedding(vocab_size, 64)(tokens)
    h = ConvBlock(64)(h)
    h = layers.GlobalMaxPooling1D()(h)
    h = layers.Dense(32, activation="relu")(h)
    return keras.Model(tokens, layers.Dense(5, activation="softmax")(h))
