"""Embedding(30000): the rest of the stack as in its 20000 twin."""

import keras
from keras import layers


def build_model():
    inputs = keras.Input((16,), dtype="int32")
    x = layers.Embedding(30000, 8)(inputs)
    x = layers.Conv1D(8, 7, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    outputs = layers.Dense(2)(x)
    return keras.Model(inputs, outputs)
