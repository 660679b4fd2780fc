"""A model of the other repository over its own copy of `highway`: a clone across modules."""

import tensorflow.compat.v1 as tf

from layers import highway


def build_o(inputs):
    h = highway(inputs, 64)
    return tf.layers.dense(h, 7)
