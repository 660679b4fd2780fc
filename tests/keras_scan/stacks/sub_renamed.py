"""A renamed copy of sub.py: other class, attribute and local names, the same layers."""

from tensorflow import keras


class SentimentNet(keras.Model):
    def __init__(self, vocab=20000, classes=3):
        super().__init__()
        self.classifier = keras.layers.Dense(classes, activation="softmax")
        self.tokens = keras.layers.Embedding(vocab, 128)
        self.conv1d = keras.layers.Conv1D(128, 5, activation="relu")
        self.pooling = keras.layers.GlobalMaxPooling1D()
        self.dropout = keras.layers.Dropout(0.5)
        self.dense = keras.layers.Dense(64, activation="relu")

    def call(self, token_ids, training=False):
        h = self.tokens(token_ids)
        h = self.conv1d(h)
        h = self.pooling(h)
        h = self.dropout(h, training=training)
        h = self.dense(h)
        return self.classifier(h)
