"""Keras 3 functional topic model: the same embedding and convolution as seq_cnn, its own head."""

import keras
from keras import layers
from generated import func_cnn_transfer


@func_cnn_transfer.model("build_model")
def build_model():
    """Token ids [batch, 16] -> 5 topic logits."""
    inputs = keras.Input((16,), dtype="int32")
    x = func_cnn_transfer.layer("build_model", 0, layers.Embedding(2000, 32))(inputs)
    x = func_cnn_transfer.layer("build_model", 1, layers.Conv1D(32, 3, activation="relu"))(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Dense(5)(x)
    return keras.Model(inputs, outputs)
