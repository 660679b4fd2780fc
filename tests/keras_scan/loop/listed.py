"""A Sequential list with its dense layers made in a comprehension: one layer, as a whole."""

import keras
from keras import layers


def build_model(depth=3):
    return keras.Sequential(
        [
            layers.Embedding(20000, 64),
            layers.GlobalAveragePooling1D(),
            *[layers.Dense(64, activation="relu") for _ in range(depth)],
            layers.Dense(2),
        ]
    )
