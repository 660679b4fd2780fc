"""Star rating of product reviews (5 classes), built by its constructor as TextCNN-style repos do.

The constructor stores the inputs, builds the layers through `self.inference()` under an outer
`variable_scope("review")`, and makes its own loss, step counter and optimizer.
"""

import tensorflow.compat.v1 as tf
from generated import review_transfer


@review_transfer.shared_layer("embed")
def embed(ids, vocab_size, dim, scope="embed"):
    """Look up a learned [vocab_size, dim] embedding for each token id."""
    with tf.variable_scope(scope):
        W = tf.get_variable(
            "W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02)
        )
        return tf.nn.embedding_lookup(W, ids)


@review_transfer.shared_layer("conv_block")
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


class ReviewCNN(object):
    """Embedding and two conv blocks (sentiment's trunk), max-pool, a 5-way softmax."""

    @review_transfer.model("ReviewCNN")
    def __init__(self, token_ids, labels, learning_rate=1e-3):
        self.input_x = token_ids
        self.input_y = labels
        with tf.variable_scope("review"):
            self.logits = self.inference()
        self.loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=self.logits)
        )
        self.global_step = tf.Variable(0, trainable=False, name="global_step")
        self.train_op = tf.train.AdamOptimizer(learning_rate).minimize(
            self.loss, global_step=self.global_step
        )

    def inference(self):
        """Token ids to star logits."""
        h = embed(self.input_x, 20000, 64)
        h = conv_block(h, 128, 3, "conv1")
        h = conv_block(h, 128, 3, "conv2")
        with tf.name_scope("output"):
            pooled = tf.reduce_max(h, axis=1)
            return tf.layers.dense(pooled, 5, name="stars")
