"""Classifier A: the same head as the other, over an encoder passed to its constructor."""

import keras
from models.base import Task


class HeadA(Task):
    def __init__(self, encoder, classes, rate=0.1, **kwargs):
        self.encoder = encoder
        self.drop = keras.layers.Dropout(rate)
        self.logits = keras.layers.Dense(classes)
        inputs = encoder.input
        x = encoder(inputs)
        x = self.drop(x)
        outputs = self.logits(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
