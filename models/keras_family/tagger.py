"""Keras 3 sequence labeller: a helper-built encoder, a custom ConvBlock layer, tags per token."""

import keras
from keras import layers
from generated import tagger_transfer


class ConvBlock(layers.Layer):
    """A same-padded convolution and a layer norm (copied into tagger.py and chunker.py)."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv1D(filters, 3, padding="same", activation="relu")
        self.norm = layers.LayerNormalization()

    def call(self, x):
        return self.norm(self.conv(x))


def build_encoder():
    """Embedding and a bidirectional LSTM over the tokens, as one layer."""
    return keras.Sequential(
        [
            layers.Embedding(3000, 32),
            layers.Bidirectional(layers.LSTM(16, return_sequences=True)),
        ]
    )


@tagger_transfer.model("build_model")
def build_model():
    """Token ids [batch, 16] -> 9 tag logits per token."""
    inputs = keras.Input((16,), dtype="int32")
    x = tagger_transfer.layer("build_model", 0, build_encoder())(inputs)
    x = tagger_transfer.layer("build_model", 1, ConvBlock(32))(x)
    outputs = layers.Dense(9)(x)
    return keras.Model(inputs, outputs)
