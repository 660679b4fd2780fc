"""A negative control: the same embedding block with a different initial range (a literal that
reaches the variable's initializer), so it shares nothing with the others."""

import tensorflow.compat.v1 as tf


class CharCNN:
    """Embedding with a narrower uniform range, then the CNN's convolution."""

    def __init__(self, sequence_length, num_classes, vocab_size, embedding_size, num_filters):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        self.input_y = tf.placeholder(tf.float32, [None, num_classes], name="input_y")

        with tf.device("/cpu:0"), tf.name_scope("embedding"):
            self.W = tf.Variable(
                tf.random_uniform([vocab_size, embedding_size], -0.5, 0.5), name="W"
            )
            self.embedded_chars = tf.nn.embedding_lookup(self.W, self.input_x)
            self.embedded_chars_expanded = tf.expand_dims(self.embedded_chars, -1)

        with tf.name_scope("conv-maxpool"):
            filter_shape = [3, embedding_size, 1, num_filters]
            W = tf.Variable(tf.truncated_normal(filter_shape, stddev=0.1), name="W")
            b = tf.Variable(tf.constant(0.1, shape=[num_filters]), name="b")
            conv = tf.nn.conv2d(
                self.embedded_chars_expanded, W, strides=[1, 1, 1, 1], padding="VALID"
            )
            pooled = tf.reduce_max(tf.nn.relu(tf.nn.bias_add(conv, b)), axis=[1, 2])

        with tf.name_scope("output"):
            W = tf.get_variable("W", shape=[num_filters, num_classes])
            self.scores = tf.matmul(pooled, W, name="scores")
        self.loss = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(logits=self.scores, labels=self.input_y)
        )
