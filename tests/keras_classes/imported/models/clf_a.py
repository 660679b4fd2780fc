"""A model built on the imported ConvBlock (head a)."""

import keras
from lib.blocks import ConvBlock


def build_model():
    inputs = keras.Input(shape=(None, 8))
    x = ConvBlock(16)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(x))
