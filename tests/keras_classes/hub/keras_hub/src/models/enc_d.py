"""Encoder D: as A, with one more constructor parameter (`types`) that A does not have."""

import keras

from keras_hub.src.layers.positions import Positions
from keras_hub.src.models.base import Backbone


class EncD(Backbone):
    def __init__(self, vocab, width, max_len=128, types=2, **kwargs):
        self.tokens = keras.layers.Embedding(vocab, width, name="tokens")
        self.positions = Positions(length=max_len, name="positions")
        self.type_embedding = keras.layers.Embedding(types, width)
        self.head = keras.layers.Dense(width, activation="tanh")
        ids = keras.Input(shape=(None,), dtype="int32")
        kinds = keras.Input(shape=(None,), dtype="int32")
        x = self.tokens(ids)
        x = self.positions(x)
        x = x + self.type_embedding(kinds)
        out = self.head(x)
        super().__init__(inputs=[ids, kinds], outputs=out, **kwargs)
