"""Five-way topic classifier; its trunk was copy-pasted from the sentiment model."""

import tensorflow as tf
from generated import topic_transfer

tf1 = tf.compat.v1


@topic_transfer.shared_layer("embed")
def embed(
    ids,
    vocab_size,
    dim,
    scope = "embed",
):
    """Token ids [batch, time] -> dense vectors [batch, time, dim]."""
    # Copied from the sentiment model; the table is the largest variable by far.
    with tf1.variable_scope(scope):
        W = tf1.get_variable(
            "W",
            [vocab_size, dim],
            initializer=tf1.random_normal_initializer(stddev=0.02),
        )
        return tf1.nn.embedding_lookup(W, ids)  # [batch, time, dim]


@topic_transfer.shared_layer("conv_block")
def conv_block(x, width, kernel=3, scope="conv"):
    """Conv1d + ReLU, same as in sentiment."""
    with tf1.variable_scope(scope):
        in_dim = x.shape[-1]
        # Small init keeps the early activations well scaled.
        W = tf1.get_variable("W", [kernel, in_dim, width],
                             initializer=tf1.random_normal_initializer(stddev=0.02))
        b = tf1.get_variable("b", [width], initializer=tf1.zeros_initializer())
        h = tf1.nn.conv1d(x, W, stride=1, padding="SAME") + b
        return tf1.nn.relu(h)


def dropout(x, rate):
    """Drop whole feature channels per example instead of single elements."""
    return tf.nn.dropout(x, rate=rate, noise_shape=[tf.shape(x)[0], 1, tf.shape(x)[2]])


def layer_norm_and_dropout(x, rate, scope="ln"):
    """Normalise over the feature axis, then drop out."""
    with tf1.variable_scope(scope):
        dim = x.shape[-1]
        gamma = tf1.get_variable("gamma", [dim], initializer=tf1.ones_initializer())
        beta = tf1.get_variable("beta", [dim], initializer=tf1.zeros_initializer())
        mean, variance = tf1.nn.moments(x, axes=[-1], keepdims=True)
        normalized = (x - mean) * tf1.rsqrt(variance + 1e-6)
        h = normalized * gamma + beta
        return dropout(h, rate)


@topic_transfer.build
def build_model(token_ids, labels):
    """Build the graph under "topic_model/"; returns (logits [batch, 5], scalar loss)."""
    with tf1.variable_scope("topic_model"):
        h = embed(token_ids, 20000, 64)
        h = conv_block(h, 128, 3, "conv1")
        h = conv_block(h, 128, 3, "conv2")
        h = layer_norm_and_dropout(h, 0.1)
        pooled = tf1.reduce_max(h, axis=1)
        logits = tf1.layers.dense(pooled, 5, name="head")
        xent = tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        loss = tf1.reduce_mean(xent)
        return logits, loss
