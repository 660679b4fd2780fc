"""A near-miss copy: ConvBlock's kernel is 5, not 3. It must stop the shared trunk."""

import keras
from keras import layers


class ConvBlock(keras.layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv1D(filters, 5, padding="same", activation="relu")
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
