"""Binary sentiment classifier: embedding, two conv blocks, layer norm, max-pool, dense head."""

import tensorflow.compat.v1 as tf
from generated import sentiment_transfer


@sentiment_transfer.shared_layer("embed")
def embed(ids, vocab_size, dim, scope="embed"):
    """Look up a learned [vocab_size, dim] embedding for each token id."""
    with tf.variable_scope(scope):
        W = tf.get_variable(
            "W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02)
        )
        return tf.nn.embedding_lookup(W, ids)


@sentiment_transfer.shared_layer("conv_block")
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


def dropout(x, rate):
    """Plain element-wise dropout."""
    return tf.nn.dropout(x, rate=rate)


def layer_norm_and_dropout(x, rate, scope="ln"):
    """Normalise over the feature axis, then drop out."""
    with tf.variable_scope(scope):
        dim = x.shape[-1]
        gamma = tf.get_variable("gamma", [dim], initializer=tf.ones_initializer())
        beta = tf.get_variable("beta", [dim], initializer=tf.zeros_initializer())
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        normalized = (x - mean) * tf.rsqrt(variance + 1e-6)
        h = normalized * gamma + beta
        return dropout(h, rate)


@sentiment_transfer.model("build_model")
def build_model(token_ids, labels):
    """Build the graph; returns (logits [batch, 2], scalar loss)."""
    h = embed(token_ids, 20000, 64)
    h = conv_block(h, 128, 3, "conv1")
    h = conv_block(h, 128, 3, "conv2")
    h = layer_norm_and_dropout(h, 0.1)
    pooled = tf.reduce_max(h, axis=1)
    logits = tf.layers.dense(pooled, 2, name="head")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    return logits, loss
