"""Sequential text classifier: embedding, convolution, pooling, a 2-class head."""

import keras
from keras import layers


def build_model():
    return keras.Sequential(
        [
            keras.Input((16,), dtype="int32"),
            layers.Embedding(1000, 16),
            layers.Conv1D(16, 3, activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(2),
        ]
    )
