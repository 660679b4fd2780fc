"""A second model of the package reaching the same `conv_block`, package-qualified from the
repository root: one layer by identity (the builder has no copies)."""

import tensorflow.compat.v1 as tf

from pkg.layers import conv_block


def build_rnn(x):
    h = conv_block(x, 64)
    return tf.layers.dense(h, 3)
