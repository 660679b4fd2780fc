"""A block class derived from a base class in another module, with keras re-exported."""

from lib.blocks import Block
from lib.compat import keras


class ConvBlock(Block):
    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.conv = keras.layers.Conv1D(units, 3, padding="same")

    def call(self, x):
        return self.proj(self.conv(x))


def build_model():
    inputs = keras.Input(shape=(None, 32))
    x = ConvBlock(32)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(x))
