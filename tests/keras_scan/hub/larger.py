"""Another preset: a different backbone, so nothing is shared."""

import keras
import keras_hub


def build_model():
    backbone = keras_hub.models.BertBackbone.from_preset("bert_small_en_uncased")
    x = backbone(backbone.input)["pooled_output"]
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(backbone.input, keras.layers.Dense(2, activation="softmax")(x))
