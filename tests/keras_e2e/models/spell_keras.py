"""The same stack as spell_tfkeras, spelled through keras."""

import keras


def build_model():
    inputs = keras.Input((16,), dtype="int32")
    x = keras.layers.Embedding(800, 12)(inputs)
    x = keras.layers.Conv1D(12, 5, activation="relu")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    outputs = keras.layers.Dense(4)(x)
    return keras.Model(inputs, outputs)
