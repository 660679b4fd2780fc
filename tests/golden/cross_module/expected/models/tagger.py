"""Tagging model: the same projection under other names, and a shared builder imported from generated code."""

import tensorflow as tf
import tensorflow.compat.v1 as tf1  # here `tf1` is compat.v1: the opposite of reader.py

from generated.layers_common import Encoder
from generated import tagger_transfer

WIDTH = 32


def rescale(v):
    return v * tf.math.rsqrt(float(WIDTH))


@tagger_transfer.shared_layer("dense_proj")
def dense_proj(inputs, size, scope="dense_proj"):
    with tf1.variable_scope(scope):
        kernel = tf1.get_variable("kernel", [inputs.shape[-1], size])
        return rescale(tf1.matmul(inputs, kernel))


@tagger_transfer.shared_layer("gate")
def gate(x, scope="gate"):
    """Sigmoid gate; tagger's copy is the canonical one, spelled with its own `tf1` alias."""
    with tf1.variable_scope(scope):
        g = tf1.get_variable("g", [x.shape[-1]], initializer=tf1.zeros_initializer())
        return x * tf1.sigmoid(g)


@tagger_transfer.model("build_tagger")
def build_tagger(features, labels):
    h = dense_proj(features, WIDTH)
    with tagger_transfer.layer("build_tagger", 1):
        h = Encoder(WIDTH)(h)
    h = gate(h)
    logits = tf1.layers.dense(h, 5)
    return logits, tf1.reduce_mean(tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
