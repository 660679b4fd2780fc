"""The same stack as a subclassed model that creates its head first: call() decides the order."""

import keras
from keras import layers


class TextModel(keras.Model):
    def __init__(self, vocab_size=20000, num_classes=3):
        super().__init__()
        self.head = layers.Dense(num_classes, activation="softmax")
        self.embed = layers.Embedding(vocab_size, 128)
        self.conv = layers.Conv1D(128, 5, activation="relu")
        self.pool = layers.GlobalMaxPooling1D()
        self.drop = layers.Dropout(0.5)
        self.hidden = layers.Dense(64, activation="relu")

    def call(self, inputs):
        x = self.embed(inputs)
        x = self.conv(x)
        x = self.pool(x)
        x = self.drop(x)
        x = self.hidden(x)
        return self.head(x)
