"""A tagger whose constructor only stores its settings; the driver calls `build_graph()` (the
BiLSTM-CRF repositories' shape). Its embedding block is TextCNN's."""

import tensorflow.compat.v1 as tf


class SentenceTagger(object):
    def __init__(self, num_tags, learning_rate=0.01):
        self.num_tags = num_tags
        self.learning_rate = learning_rate

    def build_graph(self, sequence_length, vocab_size, embedding_size):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")

        # Embedding layer
        with tf.device("/cpu:0"), tf.name_scope("embedding"):
            self.W = tf.Variable(tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W")
            self.embedded_chars = tf.nn.embedding_lookup(self.W, self.input_x)
            self.embedded_chars_expanded = tf.expand_dims(self.embedded_chars, -1)

        with tf.variable_scope("tags"):
            self.logits = tf.layers.dense(self.embedded_chars, self.num_tags, name="proj")
