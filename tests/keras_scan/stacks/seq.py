"""A Sequential text classifier: embedding, convolution, pooling, dropout, two dense layers."""

import keras
from keras import layers


def build_model(vocab_size=20000):
    model = keras.Sequential(
        [
            layers.Embedding(vocab_size, 128),
            layers.Conv1D(128, 5, activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dropout(0.5),
            layers.Dense(64, activation="relu"),
            layers.Dense(2, activation="softmax"),
        ]
    )
    return model
