"""Another repository's copy of the helpers, written against tf.compat.v1."""

import tensorflow.compat.v1 as tf


def highway(inputs, size, scope="highway"):
    with tf.variable_scope(scope):
        w_h = tf.get_variable("W_h", [size, size])
        w_t = tf.get_variable("W_t", [size, size])
        t = tf.sigmoid(tf.matmul(inputs, w_t) - 2.0)
        h = tf.nn.relu(tf.matmul(inputs, w_h))
        return t * h + (1.0 - t) * inputs


def dropout(x, keep_prob):
    return tf.nn.dropout(x, keep_prob=keep_prob)
