"""A functional model with a loop of dense layers."""

import keras
from keras import layers


def build_model(depth=3):
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(20000, 64)(inputs)
    x = layers.GlobalAveragePooling1D()(x)
    for _ in range(depth):
        x = layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(4)(x))
