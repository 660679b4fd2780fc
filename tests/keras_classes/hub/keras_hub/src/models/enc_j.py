"""Encoder J: as H, each Block(64) bound to a name in the loop before it is appended."""

import keras

from keras_hub.src.layers.block import Block
from keras_hub.src.layers.positions import Positions


class EncJ(keras.Model):
    def __init__(self, vocab, width, depth, max_len=256, **kwargs):
        super().__init__(**kwargs)
        self.tokens = keras.layers.Embedding(vocab, width, name="tokens")
        self.positions = Positions(length=max_len, name="positions")
        self.blocks = []
        for i in range(depth):
            block = Block(units=64, name=f"block_{i}")
            self.blocks.append(block)
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)

    def call(self, ids):
        x = self.tokens(ids)
        x = self.positions(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)
