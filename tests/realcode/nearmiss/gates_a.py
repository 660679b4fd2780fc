"""A gated projection and a linear layer."""

import tensorflow.compat.v1 as tf


def gated_projection(x, size, scope="gate"):
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], size])
        b = tf.get_variable("b", [size], initializer=tf.constant_initializer(-2.0))
        t = tf.sigmoid(tf.matmul(x, w) + b)
        return t * x + (1.0 - t) * tf.nn.relu(x)


def linear(x, size, scope="linear"):
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], size])
        return tf.matmul(x, w)


def build_gated(x):
    h = gated_projection(x, 64)
    return linear(h, 2)
