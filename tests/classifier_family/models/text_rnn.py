"""RNN sentence classifier: embedding, an LSTM over the sequence, softmax on its last output."""

import tensorflow.compat.v1 as tf


class TextRNN:
    """Embedding (no channel axis), a dynamic LSTM, a dense softmax layer."""

    def __init__(self, sequence_length, num_classes, vocab_size, embedding_size, hidden_size):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        self.input_y = tf.placeholder(tf.float32, [None, num_classes], name="input_y")

        # Embedding layer: copied from the CNN, minus the channel axis.
        with tf.device("/cpu:0"), tf.name_scope("embedding"):
            self.W = tf.Variable(
                tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W"
            )
            self.embedded_chars = tf.nn.embedding_lookup(self.W, self.input_x)

        with tf.variable_scope("rnn"):
            cell = tf.nn.rnn_cell.LSTMCell(hidden_size)
            outputs, _ = tf.nn.dynamic_rnn(cell, self.embedded_chars, dtype=tf.float32)
            last = outputs[:, -1, :]

        with tf.name_scope("output"):
            W = tf.get_variable(
                "W",
                shape=[hidden_size, num_classes],
                initializer=tf.glorot_uniform_initializer(),
            )
            b = tf.Variable(tf.constant(0.1, shape=[num_classes]), name="b")
            self.scores = tf.nn.xw_plus_b(last, W, b, name="scores")

        with tf.name_scope("loss"):
            losses = tf.nn.softmax_cross_entropy_with_logits(
                logits=self.scores, labels=self.input_y
            )
            self.loss = tf.reduce_mean(losses)
