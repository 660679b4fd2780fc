"""A subclassed model whose middle is a list of layers built in a comprehension, run in a loop."""

import keras
from keras import layers


class DeepText(keras.Model):
    def __init__(self, depth=3, num_classes=4):
        super().__init__()
        self.embed = layers.Embedding(20000, 64)
        self.pool = layers.GlobalAveragePooling1D()
        self.blocks = [layers.Dense(64, activation="relu") for _ in range(depth)]
        self.head = layers.Dense(num_classes)

    def call(self, inputs):
        x = self.pool(self.embed(inputs))
        for block in self.blocks:
            x = block(x)
        return self.head(x)
