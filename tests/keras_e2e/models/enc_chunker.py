"""Token labeller over a copied build_encoder helper (4 labels per token)."""

import keras
from keras import layers


def build_encoder():
    return keras.Sequential(
        [
            layers.Embedding(500, 16),
            layers.Bidirectional(layers.LSTM(8, return_sequences=True)),
        ]
    )


def build_model():
    inputs = keras.Input((16,), dtype="int32")
    x = build_encoder()(inputs)
    outputs = layers.Dense(4)(x)
    return keras.Model(inputs, outputs)
