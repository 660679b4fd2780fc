"""The same preset backbone through the old keras_nlp name, with a sentiment head."""

import keras
import keras_nlp


def build_model():
    backbone = keras_nlp.models.BertBackbone.from_preset("bert_tiny_en_uncased")
    x = backbone(backbone.input)["pooled_output"]
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(backbone.input, keras.layers.Dense(2, activation="softmax")(x))
