"""Keras 3 subclassed classifier: the same stack as seq_cnn, its head created first."""

import keras
from keras import layers


class SubCNN(keras.Model):
    """Layers are made in __init__ (head first) and used in call() (embedding first)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense(3)
        self.embed = layers.Embedding(2000, 32)
        self.conv = layers.Conv1D(32, 3, activation="relu")
        self.pool = layers.GlobalMaxPooling1D()

    def call(self, token_ids):
        return self.head(self.pool(self.conv(self.embed(token_ids))))
