"""Entity-type classifier (9 tags per sentence); its embedding is a renamed copy of `embed`."""

import tensorflow as tf
from generated import ner_transfer


@ner_transfer.shared_layer("token_embedding")
def token_embedding(token_ids, n_vocab, width, name="token_embedding"):
    """Map token ids to learned vectors of size `width`."""
    with tf.compat.v1.variable_scope(name):
        table = tf.compat.v1.get_variable(
            "table",
            [n_vocab, width],
            initializer=tf.compat.v1.random_normal_initializer(stddev=0.02),
        )
        return tf.compat.v1.nn.embedding_lookup(table, token_ids)


@ner_transfer.shared_layer("conv_block")
def conv_block(x, width, kernel=3, scope="conv"):
    """One 1-D convolution over time followed by a ReLU."""
    with tf.compat.v1.variable_scope(scope):
        in_dim = x.shape[-1]
        W = tf.compat.v1.get_variable(
            "W",
            [kernel, in_dim, width],
            initializer=tf.compat.v1.random_normal_initializer(stddev=0.02),
        )
        b = tf.compat.v1.get_variable("b", [width], initializer=tf.compat.v1.zeros_initializer())
        h = tf.compat.v1.nn.conv1d(x, W, stride=1, padding="SAME") + b
        return tf.compat.v1.nn.relu(h)


@ner_transfer.build
def build_model(token_ids, labels):
    """Build the graph; returns (logits [batch, 9], scalar loss)."""
    h = token_embedding(token_ids, 20000, 64)
    h = conv_block(h, 128, 3, "conv1")
    # Wider second block than sentiment/topic: the shared trunk ends before this layer.
    h = conv_block(h, 256, 3, "conv2")
    pooled = tf.compat.v1.reduce_max(h, axis=1)
    logits = tf.compat.v1.layers.dense(pooled, 9, name="tags")
    loss = tf.compat.v1.reduce_mean(
        tf.compat.v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    return logits, loss
