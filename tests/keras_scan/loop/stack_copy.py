"""A renamed copy of stack.py with another head."""

import keras
from keras import layers


class DeepTextCopy(keras.Model):
    def __init__(self, n_layers=3, n_out=7):
        super().__init__()
        self.tokens = layers.Embedding(20000, 64)
        self.average = layers.GlobalAveragePooling1D()
        self.hidden = [layers.Dense(64, activation="relu") for _ in range(n_layers)]
        self.out = layers.Dense(n_out)

    def call(self, ids):
        h = self.average(self.tokens(ids))
        for layer in self.hidden:
            h = layer(h)
        return self.out(h)
