"""A base layer class the model files derive from."""

from lib.compat import keras


class Block(keras.layers.Layer):
    """Holds the projection every block ends with."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.proj = keras.layers.Dense(units)
