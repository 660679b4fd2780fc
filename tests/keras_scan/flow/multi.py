"""Convolutions of three widths kept in a list and run in a comprehension, and a functional
model whose head is built around the layer that feeds it."""

import keras
from keras import layers


class Multi(keras.Model):
    def __init__(self):
        super().__init__()
        self.embed = layers.Embedding(20000, 64)
        self.convs = [layers.Conv1D(32, k) for k in (2, 3, 4)]
        self.head = layers.Dense(2)

    def call(self, ids):
        x = self.embed(ids)
        pooled = [keras.ops.max(conv(x), axis=1) for conv in self.convs]
        return self.head(keras.ops.concatenate(pooled, axis=-1))


def build_model():
    inputs = keras.Input((None,), dtype="int32")
    x = layers.Embedding(20000, 64)(inputs)
    convs = [layers.Conv1D(32, k) for k in (2, 3, 4)]
    pooled = [layers.GlobalMaxPooling1D()(conv(x)) for conv in convs]
    return keras.Model(inputs, layers.Dense(2)(layers.Concatenate()(pooled)))
