"""Reading-comprehension model: class-based encoder and helpers with colliding alias names."""

import tensorflow as tf1  # note: here `tf1` is plain TF2, unlike in tagger.py
import tensorflow.compat.v1 as tf
from generated import reader_transfer

HIDDEN = 32


def scale(x):
    return x * tf1.math.rsqrt(float(HIDDEN))


@reader_transfer.shared_layer("project")
def project(x, units, scope="project"):
    """Dense projection followed by a fixed scale."""
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], units])
        return scale(tf.matmul(x, w))


class Encoder:
    """A layer object: variables are created when it is called."""

    def __init__(self, units):
        self.units = units

    @reader_transfer.shared_layer("Encoder.__call__")
    def __call__(self, x):
        with tf.variable_scope("encoder"):
            w = tf.get_variable("w", [x.shape[-1], self.units])
            return tf.nn.relu(tf.matmul(x, w))


@reader_transfer.model("build_reader")
def build_reader(features, labels):
    h = project(features, HIDDEN)
    h = Encoder(HIDDEN)(h)
    logits = tf.layers.dense(h, 2)
    return logits, tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
