"""The same list with four dense layers: the comprehension is another layer."""

import keras
from keras import layers


def build_model(depth=4):
    return keras.Sequential(
        [
            layers.Embedding(20000, 64),
            layers.GlobalAveragePooling1D(),
            *[layers.Dense(64, activation="relu") for _ in range(depth)],
            layers.Dense(2),
        ]
    )
