"""A block from a package outside the scan: the trunk ends there (CG230)."""

import keras
import keras_hub
from textblocks import residual_block


def build_model():
    backbone = keras_hub.models.BertBackbone.from_preset("bert_tiny_en_uncased")
    x = backbone(backbone.input)["pooled_output"]
    x = residual_block(x, 128)
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(backbone.input, keras.layers.Dense(2, activation="softmax")(x))
