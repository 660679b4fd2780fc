"""Encoder K: as G, but the projection's width is the branch's (64 or 32): which object
`self.projection` holds is the condition's, so that branch stays a layer where it is built."""

import keras

from keras_hub.src.layers.positions import Positions
from keras_hub.src.models.base import Backbone


class EncK(Backbone):
    def __init__(self, vocab, width, max_len=128, **kwargs):
        self.tokens = keras.layers.Embedding(vocab, width, name="tokens")
        self.positions = Positions(length=max_len, name="positions")
        if width > 64:
            self.projection = keras.layers.Dense(64, name="projection")
        else:
            self.projection = keras.layers.Dense(32, name="projection")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.head = keras.layers.Dense(width, activation="tanh")
        ids = keras.Input(shape=(None,), dtype="int32")
        x = self.tokens(ids)
        x = self.positions(x)
        x = self.projection(x)
        x = self.norm(x)
        out = self.head(x)
        super().__init__(inputs=ids, outputs=out, **kwargs)
