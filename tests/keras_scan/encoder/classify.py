"""A classifier on the same encoder helper, copied here with its own parameter names."""

import keras
from keras import layers


def build_encoder(vocab, hidden):
    return keras.Sequential(
        [
            layers.Embedding(vocab, 64, mask_zero=True),
            layers.Bidirectional(layers.LSTM(hidden, return_sequences=True)),
        ]
    )


def build_model(num_classes=4):
    inputs = keras.Input(shape=(None,), dtype="int32")
    h = build_encoder(20000, 32)(inputs)
    h = layers.GlobalAveragePooling1D()(h)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(h))
