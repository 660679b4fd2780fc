"""A 20,000-word stack with a five-class head."""

import keras
from keras import layers


def build_model(vocab_size=20000, num_classes=5):
    return keras.Sequential(
        [
            layers.Embedding(vocab_size, 128),
            layers.Conv1D(128, 5, activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
