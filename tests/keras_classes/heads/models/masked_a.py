"""A masked LM over a backbone passed in: it makes one `Input` of its own (the mask positions),
then calls the backbone on the backbone's inputs."""

import keras
from models.base import Task


class MaskedA(Task):
    def __init__(self, backbone, vocab, **kwargs):
        self.backbone = backbone
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.logits = keras.layers.Dense(vocab)
        positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        inputs = {**backbone.input, "mask_positions": positions}
        x = backbone(backbone.input)
        x = self.norm(x)
        outputs = self.logits(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
