"""Keras 3 subclassed classifier: the same stack as seq_cnn, its head created first."""

import keras
from keras import layers
from generated import sub_cnn_transfer


class SubCNN(keras.Model):
    """Layers are made in __init__ (head first) and used in call() (embedding first)."""

    @sub_cnn_transfer.model("SubCNN")
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense(3)
        self.embed = sub_cnn_transfer.layer("SubCNN", 0, layers.Embedding(2000, 32))
        self.conv = sub_cnn_transfer.layer("SubCNN", 1, layers.Conv1D(32, 3, activation="relu"))
        self.pool = layers.GlobalMaxPooling1D()

    def call(self, token_ids):
        return self.head(self.pool(self.conv(self.embed(token_ids))))
