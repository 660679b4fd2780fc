"""SeqGAN-style discriminator: the TextCNN embedding inside `discriminator/`, highway, softmax.

It creates its own optimizer in the constructor, as the SeqGAN code does.
"""

import tensorflow.compat.v1 as tf


def highway(input_, size, num_layers=1, bias=-2.0, f=tf.nn.relu, scope="Highway"):
    """Highway network: t = sigmoid(Wy + b); z = t * g(Wy + b) + (1 - t) * y."""
    with tf.variable_scope(scope):
        for idx in range(num_layers):
            g = f(tf.layers.dense(input_, size, name="highway_lin_%d" % idx))
            t = tf.sigmoid(tf.layers.dense(input_, size, name="highway_gate_%d" % idx) + bias)
            output = t * g + (1.0 - t) * input_
            input_ = output
    return output


class Discriminator(object):
    """A CNN discriminator for real vs generated sequences."""

    def __init__(
        self,
        sequence_length,
        num_classes,
        vocab_size,
        embedding_size,
        filter_sizes,
        num_filters,
        l2_reg_lambda=0.0,
    ):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        self.input_y = tf.placeholder(tf.float32, [None, num_classes], name="input_y")
        self.dropout_keep_prob = tf.placeholder_with_default(1.0, [], name="dropout_keep_prob")
        l2_loss = tf.constant(0.0)

        with tf.variable_scope("discriminator"):
            # Embedding layer
            with tf.device("/cpu:0"), tf.name_scope("embedding"):
                self.W = tf.Variable(tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W")
                self.embedded_chars = tf.nn.embedding_lookup(self.W, self.input_x)
                self.embedded_chars_expanded = tf.expand_dims(self.embedded_chars, -1)

            pooled_outputs = []
            for filter_size, num_filter in zip(filter_sizes, num_filters):
                with tf.name_scope("conv-maxpool-%s" % filter_size):
                    filter_shape = [filter_size, embedding_size, 1, num_filter]
                    W = tf.Variable(tf.truncated_normal(filter_shape, stddev=0.1), name="W")
                    b = tf.Variable(tf.constant(0.1, shape=[num_filter]), name="b")
                    conv = tf.nn.conv2d(
                        self.embedded_chars_expanded, W, strides=[1, 1, 1, 1], padding="VALID"
                    )
                    h = tf.nn.relu(tf.nn.bias_add(conv, b), name="relu")
                    pooled = tf.nn.max_pool(
                        h,
                        ksize=[1, sequence_length - filter_size + 1, 1, 1],
                        strides=[1, 1, 1, 1],
                        padding="VALID",
                    )
                    pooled_outputs.append(pooled)

            num_filters_total = sum(num_filters)
            self.h_pool = tf.concat(pooled_outputs, 3)
            self.h_pool_flat = tf.reshape(self.h_pool, [-1, num_filters_total])

            with tf.name_scope("highway"):
                self.h_highway = highway(
                    self.h_pool_flat, self.h_pool_flat.get_shape()[1], 1, 0
                )

            with tf.name_scope("dropout"):
                self.h_drop = tf.nn.dropout(self.h_highway, rate=1 - self.dropout_keep_prob)

            with tf.name_scope("output"):
                W = tf.Variable(
                    tf.truncated_normal([num_filters_total, num_classes], stddev=0.1), name="W"
                )
                b = tf.Variable(tf.constant(0.1, shape=[num_classes]), name="b")
                l2_loss += tf.nn.l2_loss(W)
                l2_loss += tf.nn.l2_loss(b)
                self.scores = tf.nn.xw_plus_b(self.h_drop, W, b, name="scores")
                self.ypred_for_auc = tf.nn.softmax(self.scores)
                self.predictions = tf.argmax(self.scores, 1, name="predictions")

            with tf.name_scope("loss"):
                losses = tf.nn.softmax_cross_entropy_with_logits(
                    logits=self.scores, labels=self.input_y
                )
                self.loss = tf.reduce_mean(losses) + l2_reg_lambda * l2_loss

        self.params = [param for param in tf.trainable_variables() if "discriminator" in param.name]
        d_optimizer = tf.train.AdamOptimizer(1e-4)
        grads_and_vars = d_optimizer.compute_gradients(self.loss, self.params, aggregation_method=2)
        self.train_op = d_optimizer.apply_gradients(grads_and_vars)
