"""Keras 3 Sequential text classifier: embedding, convolution, pooling, a 2-class head."""

import keras
from keras import layers
from generated import seq_cnn_transfer


@seq_cnn_transfer.model("build_model")
def build_model():
    """Token ids [batch, 16] -> 2 logits."""
    return keras.Sequential(
        [
            keras.Input((16,), dtype="int32"),
            seq_cnn_transfer.layer("build_model", 0, layers.Embedding(2000, 32)),
            seq_cnn_transfer.layer("build_model", 1, layers.Conv1D(32, 3, activation="relu")),
            layers.GlobalMaxPooling1D(),
            layers.Dense(2),
        ]
    )
