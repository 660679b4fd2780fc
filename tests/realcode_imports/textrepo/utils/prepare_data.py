"""Data and layer helpers that the models star-import (they take `tf` from here too)."""

import numpy as np
import tensorflow as tf


def pad_batch(rows, width):
    return np.zeros([len(rows), width])


def highway(inputs, size, scope="highway"):
    """y = t * relu(W x) + (1 - t) * x."""
    with tf.variable_scope(scope):
        w_h = tf.get_variable("W_h", [size, size])
        w_t = tf.get_variable("W_t", [size, size])
        t = tf.sigmoid(tf.matmul(inputs, w_t) - 2.0)
        h = tf.nn.relu(tf.matmul(inputs, w_h))
        return t * h + (1.0 - t) * inputs


def dropout(x, keep_prob):
    return tf.nn.dropout(x, keep_prob=keep_prob)
