"""Encoder G: as A, with a projection built and applied only when the width is not 64."""

import keras

from keras_hub.src.layers.positions import Positions
from keras_hub.src.models.base import Backbone


class EncG(Backbone):
    def __init__(self, vocab, width, max_len=128, **kwargs):
        self.tokens = keras.layers.Embedding(vocab, width, name="tokens")
        self.positions = Positions(length=max_len, name="positions")
        if width != 64:
            self.projection = keras.layers.Dense(64, name="projection")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.head = keras.layers.Dense(width, activation="tanh")
        ids = keras.Input(shape=(None,), dtype="int32")
        x = self.tokens(ids)
        x = self.positions(x)
        if width != 64:
            x = self.projection(x)
        x = self.norm(x)
        out = self.head(x)
        super().__init__(inputs=ids, outputs=out, **kwargs)
