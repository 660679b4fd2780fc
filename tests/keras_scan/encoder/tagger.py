"""A tagger on a helper-built encoder (Embedding + Bidirectional LSTM), copied into classify.py."""

import keras
from keras import layers


def build_encoder(vocab_size, units):
    return keras.Sequential(
        [
            layers.Embedding(vocab_size, 64, mask_zero=True),
            layers.Bidirectional(layers.LSTM(units, return_sequences=True)),
        ]
    )


def build_model(num_tags=9):
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = build_encoder(20000, 32)(inputs)
    outputs = layers.TimeDistributed(layers.Dense(num_tags))(x)
    return keras.Model(inputs, outputs)
