"""Encoder E: a list of Block(64) layers appended in a loop and applied in a loop."""

import keras

from keras_hub.src.layers.block import Block
from keras_hub.src.layers.positions import Positions
from keras_hub.src.models.base import Backbone


class EncE(Backbone):
    def __init__(self, vocab, width, depth, max_len=256, **kwargs):
        self.tokens = keras.layers.Embedding(vocab, width, name="tokens")
        self.positions = Positions(length=max_len, name="positions")
        self.blocks = []
        for i in range(depth):
            layer = Block(units=64, name=f"block_{i}")
            self.blocks.append(layer)
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.head = keras.layers.Dense(width, activation="tanh")
        ids = keras.Input(shape=(None,), dtype="int32")
        x = self.tokens(ids)
        x = self.positions(x)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        out = self.head(x)
        super().__init__(inputs=ids, outputs=out, **kwargs)
