"""Model b: an encoder rebuilt from the config it is given, then a head of its own."""

import keras


def build_model(config):
    inputs = keras.Input(shape=(16,))
    encoder = keras.layers.deserialize(config["encoder_b"])
    x = encoder(inputs)
    x = keras.layers.Dense(8, activation="relu")(x)
    outputs = keras.layers.Dense(4)(x)
    return keras.Model(inputs, outputs)
