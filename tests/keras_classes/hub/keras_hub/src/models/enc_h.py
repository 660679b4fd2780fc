"""Encoder H: a subclassed model; `__init__` appends Block(64) layers to `self.blocks` in a loop
and `call` applies them in a loop."""

import keras

from keras_hub.src.layers.block import Block
from keras_hub.src.layers.positions import Positions


class EncH(keras.Model):
    def __init__(self, vocab, width, depth, max_len=256, **kwargs):
        super().__init__(**kwargs)
        self.tokens = keras.layers.Embedding(vocab, width, name="tokens")
        self.positions = Positions(length=max_len, name="positions")
        self.blocks = []
        for i in range(depth):
            self.blocks.append(Block(units=64, name=f"block_{i}"))
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)

    def call(self, ids):
        x = self.tokens(ids)
        x = self.positions(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)
