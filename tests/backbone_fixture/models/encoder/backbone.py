"""A small transformer encoder: token and position embeddings, one self-attention block with a
feed-forward, a pooler. Every pretraining and fine-tuning head builds it the same way."""

import math

import tensorflow.compat.v1 as tf


class EncoderConfig(object):
    """Sizes of the encoder."""

    def __init__(self, vocab_size, hidden_size=16, intermediate_size=32, max_positions=32):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.max_positions = max_positions


def _initializer():
    return tf.truncated_normal_initializer(stddev=0.02)


def layer_norm(x, name):
    """Layer normalization over the last axis."""
    with tf.variable_scope(name):
        dim = x.shape[-1]
        gamma = tf.get_variable("gamma", [dim], initializer=tf.ones_initializer())
        beta = tf.get_variable("beta", [dim], initializer=tf.zeros_initializer())
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.rsqrt(variance + 1e-12) * gamma + beta


class Encoder(object):
    """Embeddings, one transformer block and a pooler, under the `encoder` scope."""

    def __init__(self, config, is_training, input_ids):
        hidden = config.hidden_size
        with tf.variable_scope("encoder"):
            with tf.variable_scope("embeddings"):
                self.embedding_table = tf.get_variable(
                    "word_embeddings", [config.vocab_size, hidden], initializer=_initializer()
                )
                positions = tf.get_variable(
                    "position_embeddings", [config.max_positions, hidden],
                    initializer=_initializer(),
                )
                length = tf.shape(input_ids)[1]
                x = tf.nn.embedding_lookup(self.embedding_table, input_ids)
                x = x + tf.expand_dims(positions[:length], 0)
                x = layer_norm(x, "LayerNorm")
            with tf.variable_scope("layer_0"):
                query = tf.layers.dense(x, hidden, name="query", kernel_initializer=_initializer())
                key = tf.layers.dense(x, hidden, name="key", kernel_initializer=_initializer())
                value = tf.layers.dense(x, hidden, name="value", kernel_initializer=_initializer())
                scores = tf.matmul(query, key, transpose_b=True) / math.sqrt(float(hidden))
                attended = tf.matmul(tf.nn.softmax(scores), value)
                x = layer_norm(x + tf.layers.dense(attended, hidden, name="output"), "ln_1")
                inner = tf.layers.dense(x, config.intermediate_size, tf.tanh, name="intermediate")
                x = layer_norm(x + tf.layers.dense(inner, hidden, name="ffn_output"), "ln_2")
            self.sequence_output = x
            with tf.variable_scope("pooler"):
                self.pooled_output = tf.layers.dense(x[:, 0], hidden, tf.tanh, name="dense")

    def get_sequence_output(self):
        return self.sequence_output

    def get_pooled_output(self):
        return self.pooled_output

    def get_embedding_table(self):
        return self.embedding_table
