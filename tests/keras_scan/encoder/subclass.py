"""A subclassed tagger on a third copy of the encoder helper, bound in __init__, used in call()."""

import keras
from keras import layers


def build_encoder(vocab_size, units):
    return keras.Sequential(
        [
            layers.Embedding(vocab_size, 64, mask_zero=True),
            layers.Bidirectional(layers.LSTM(units, return_sequences=True)),
        ]
    )


class Tagger(keras.Model):
    def __init__(self, num_tags=9):
        super().__init__()
        self.head = layers.TimeDistributed(layers.Dense(num_tags))
        self.encoder = build_encoder(20000, 32)

    def call(self, inputs):
        return self.head(self.encoder(inputs))
