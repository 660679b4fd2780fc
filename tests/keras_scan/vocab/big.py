"""A 30,000-word embedding under the same stack: no layer matches one of 20,000 words."""

import keras
from keras import layers


def build_model(vocab_size=30000, num_classes=2):
    return keras.Sequential(
        [
            layers.Embedding(vocab_size, 128),
            layers.Conv1D(128, 5, activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
