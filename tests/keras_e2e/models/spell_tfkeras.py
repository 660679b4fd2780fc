"""A stack spelled through tf.keras."""

import tensorflow as tf


def build_model():
    inputs = tf.keras.Input((16,), dtype="int32")
    x = tf.keras.layers.Embedding(800, 12)(inputs)
    x = tf.keras.layers.Conv1D(12, 5, activation="relu")(x)
    x = tf.keras.layers.GlobalMaxPooling1D()(x)
    outputs = tf.keras.layers.Dense(2)(x)
    return tf.keras.Model(inputs, outputs)
