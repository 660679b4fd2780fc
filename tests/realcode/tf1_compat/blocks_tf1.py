"""TF1 code through `import tensorflow as tf`: tf.X here means tf.compat.v1.X."""

import tensorflow as tf


def dense_dropout(x, units, rate, scope="dense_dropout"):
    with tf.variable_scope(scope):
        h = tf.layers.dense(x, units, activation=tf.nn.relu)
        return tf.nn.dropout(h, rate=rate)


def build_tagger(ids):
    x = tf.placeholder(tf.float32, [None, 32])
    h = dense_dropout(x, 64, 0.1)
    return tf.layers.dense(h, 9)
