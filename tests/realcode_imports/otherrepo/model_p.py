"""A model whose file defines a builder that another model file imports (model_q)."""

import tensorflow.compat.v1 as tf


def encoder(x, units):
    with tf.variable_scope("encoder"):
        return tf.layers.dense(x, units, activation=tf.nn.tanh)


def build_p(x):
    return tf.layers.dense(encoder(x, 32), 2)
