"""Seven-way intent classifier with a larger vocabulary, so it shares no trunk with the others."""

import tensorflow.compat.v1 as tf


def embed(ids, vocab_size, dim, scope="embed"):
    """Look up a learned [vocab_size, dim] embedding for each token id."""
    with tf.variable_scope(scope):
        W = tf.get_variable(
            "W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02)
        )
        return tf.nn.embedding_lookup(W, ids)


def conv_block(x, width, kernel=3, scope="conv"):
    """One 1-D convolution over time followed by a ReLU."""
    with tf.variable_scope(scope):
        in_dim = x.shape[-1]
        W = tf.get_variable(
            "W", [kernel, in_dim, width], initializer=tf.random_normal_initializer(stddev=0.02)
        )
        b = tf.get_variable("b", [width], initializer=tf.zeros_initializer())
        h = tf.nn.conv1d(x, W, stride=1, padding="SAME") + b
        return tf.nn.relu(h)


def dense_block(x, units, scope="dense_block"):
    """A ReLU dense layer in its own scope."""
    with tf.variable_scope(scope):
        return tf.layers.dense(x, units, activation=tf.nn.relu)


def build_model(token_ids, labels):
    """Build the graph; returns (logits [batch, 7], scalar loss)."""
    # Intent queries use a bigger vocabulary (30000), so this table cannot be shared.
    h = embed(token_ids, 30000, 64)
    h = conv_block(h, 128, 3, "conv1")
    pooled = tf.reduce_max(h, axis=1)
    h = dense_block(pooled, 64)
    logits = tf.layers.dense(h, 7, name="intent_logits")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    return logits, loss
