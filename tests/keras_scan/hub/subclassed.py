"""The preset backbone kept by a subclassed model and called in call(), head built first."""

import keras
import keras_hub


class IntentModel(keras.Model):
    def __init__(self, num_intents=12):
        super().__init__()
        self.head = keras.layers.Dense(num_intents, activation="softmax")
        self.dropout = keras.layers.Dropout(0.1)
        self.backbone = keras_hub.models.BertBackbone.from_preset("bert_tiny_en_uncased")

    def call(self, inputs):
        x = self.backbone(inputs)["pooled_output"]
        return self.head(self.dropout(x))
