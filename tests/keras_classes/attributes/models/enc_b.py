"""Class attributes: only the unread `config_name` differs from enc_a."""

import keras
from keras import layers


class Encoder(keras.layers.Layer):
    kernel_size = 3
    config_name = "encoder-b"

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv1D(filters, self.kernel_size)

    def call(self, x):
        return self.conv(x)


def build_model():
    inputs = keras.Input(shape=(None, 8))
    x = Encoder(16)(inputs)
    return keras.Model(inputs, layers.Dense(2)(x))
