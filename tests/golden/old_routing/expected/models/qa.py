"""Answerability classifier: shared embedding, a slightly retuned conv block, a class-based head."""

import tensorflow.compat.v1 as tf
from generated import qa_transfer


@qa_transfer.shared_layer("embed")
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
            "W", [kernel, in_dim, width], initializer=tf.random_normal_initializer(stddev=0.01)
        )
        b = tf.get_variable("b", [width], initializer=tf.zeros_initializer())
        h = tf.nn.conv1d(x, W, stride=1, padding="SAME") + b
        return tf.nn.relu(h)


class AnswerHead:
    """Linear output layer configured once, applied by calling the instance."""

    def __init__(self, units, scope="answer_head"):
        self.units = units
        self.scope = scope

    def __call__(self, x):
        """Return logits [batch, units] for pooled features x."""
        with tf.variable_scope(self.scope):
            w = tf.get_variable(
                "w", [x.shape[-1], self.units], initializer=tf.glorot_uniform_initializer()
            )
            b = tf.get_variable("b", [self.units], initializer=tf.zeros_initializer())
            return tf.matmul(x, w) + b


@qa_transfer.model("build_model")
def build_model(token_ids, labels):
    """Build the graph; returns (logits [batch, 2], scalar loss)."""
    h = embed(token_ids, 20000, 64)
    # Tuned init (stddev 0.01): looks like everyone's conv_block but must not be merged.
    h = conv_block(h, 128, 3, "conv1")
    pooled = tf.reduce_max(h, axis=1)
    logits = AnswerHead(2)(pooled)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    return logits, loss
