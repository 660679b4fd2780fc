"""A model that gets `tf`, `highway` and `dropout` only through the star import."""

from utils.prepare_data import *


def build_a(inputs, labels):
    h = highway(inputs, 64)
    h = dropout(h, 0.5)
    with tf.variable_scope("output"):
        w = tf.get_variable("W", [64, 2])
        logits = tf.matmul(h, w)
    return logits, tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
