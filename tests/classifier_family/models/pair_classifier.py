"""Sentence-pair classifier: one embedding table looked up for both sentences, mean-pooled."""

import tensorflow.compat.v1 as tf


class PairClassifier:
    """Embedding shared by both inputs (a second lookup), mean pooling, a dense softmax layer."""

    def __init__(self, sequence_length, num_classes, vocab_size, embedding_size):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        self.input_x2 = tf.placeholder(tf.int32, [None, sequence_length], name="input_x2")
        self.input_y = tf.placeholder(tf.float32, [None, num_classes], name="input_y")

        # Embedding layer: the same table, a second lookup for the other sentence.
        with tf.device("/cpu:0"), tf.name_scope("embedding"):
            self.W = tf.Variable(
                tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W"
            )
            self.embedded_chars = tf.nn.embedding_lookup(self.W, self.input_x)
            self.embedded_chars2 = tf.nn.embedding_lookup(self.W, self.input_x2)

        pooled = tf.concat(
            [tf.reduce_mean(self.embedded_chars, 1), tf.reduce_mean(self.embedded_chars2, 1)], 1
        )
        with tf.name_scope("output"):
            W = tf.get_variable(
                "W",
                shape=[2 * embedding_size, num_classes],
                initializer=tf.glorot_uniform_initializer(),
            )
            b = tf.Variable(tf.constant(0.1, shape=[num_classes]), name="b")
            self.scores = tf.nn.xw_plus_b(pooled, W, b, name="scores")

        with tf.name_scope("loss"):
            losses = tf.nn.softmax_cross_entropy_with_logits(
                logits=self.scores, labels=self.input_y
            )
            self.loss = tf.reduce_mean(losses)
