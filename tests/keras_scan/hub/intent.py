"""A keras_hub preset backbone with an intent head."""

import keras
import keras_hub


def build_model(num_intents=12):
    backbone = keras_hub.models.BertBackbone.from_preset("bert_tiny_en_uncased")
    inputs = backbone.input
    x = backbone(inputs)["pooled_output"]
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(num_intents, activation="softmax")(x)
    return keras.Model(inputs, outputs)
