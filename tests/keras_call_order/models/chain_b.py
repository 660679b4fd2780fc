"""A subclassed encoder whose call() runs its own methods two deep over layers it holds in a
list (indexed) and a dict (by literal key); the head is this model's own."""

import keras
from keras import layers


class Encoder(keras.Model):
    def __init__(self, classes=4, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense(classes)
        self.convs = [
            layers.Conv1D(16, 3, padding="same"),
            layers.Conv1D(8, 3, padding="same"),
        ]
        self.blocks = {
            "pool": layers.GlobalMaxPooling1D(),
            "proj": layers.Dense(12),
        }
        self.unused = layers.Dense(5)
        self.embed = layers.Embedding(500, 24)

    def stem(self, x):
        return self.embed(x)

    def encode(self, x):
        x = self.stem(x)
        x = self.convs[0](x)
        return self.convs[1](x)

    def call(self, x):
        x = self.encode(x)
        x = self.blocks["pool"](x)
        x = self.blocks["proj"](x)
        return self.head(x)
