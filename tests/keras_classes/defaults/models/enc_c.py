"""Encoder C: as A but for its default max_len (512): another position table."""

import keras
from lib.positions import Positions


class Backbone(keras.Model):
    pass


class EncC(Backbone):
    def __init__(self, vocab, width, max_len=512, **kwargs):
        self.tokens = keras.layers.Embedding(vocab, width, name="tokens")
        self.positions = Positions(length=max_len, name="positions")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.head = keras.layers.Dense(width, activation="tanh")
        ids = keras.Input(shape=(None,), dtype="int32")
        x = self.tokens(ids)
        x = self.positions(x)
        x = self.norm(x)
        out = self.head(x)
        super().__init__(inputs=ids, outputs=out, **kwargs)
