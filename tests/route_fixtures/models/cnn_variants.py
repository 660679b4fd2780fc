"""Two classifiers in one file (a small and a wide variant), with the same inline embedding block;
the wide one nests everything in an outer `variable_scope`."""

import tensorflow.compat.v1 as tf


class SmallCNN(object):
    def __init__(self, sequence_length, vocab_size, embedding_size):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        with tf.device("/cpu:0"), tf.name_scope("embedding"):
            self.W = tf.Variable(
                tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W"
            )
            self.embedded = tf.nn.embedding_lookup(self.W, self.input_x)
        self.logits = tf.layers.dense(tf.reduce_mean(self.embedded, 1), 2, name="out")


class WideCNN(object):
    def __init__(self, sequence_length, vocab_size, embedding_size):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        with tf.variable_scope("wide"):
            with tf.device("/cpu:0"), tf.name_scope("embedding"):
                self.table = tf.Variable(
                    tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W"
                )
                self.embedded = tf.nn.embedding_lookup(self.table, self.input_x)
            self.logits = tf.layers.dense(tf.reduce_mean(self.embedded, 1), 7, name="out")
