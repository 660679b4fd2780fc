"""Relative imports inside the package, and a builder calling an import that is not there."""

import numpy as np
import tensorflow.compat.v1 as tf

from . import heads
from ..layers import conv_block
from .missing import mystery_layer
from .gone import never_called
from ..base import BaseModel


class TextCNN(BaseModel):
    def __init__(self, vocab_size, embed_size):
        self.vocab_size, self.embed_size = vocab_size, embed_size
        self.instantiate_weights()


def build_cnn(x, classes):
    h = conv_block(x, 64)
    h = mystery_layer(h)
    noise = np.random.normal(size=3)
    return heads.softmax_head(h, classes), noise
