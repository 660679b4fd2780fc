"""Slot tagging (one of 12 tags per token) in the Estimator style: model_fn_builder -> model_fn
-> create_model, as BERT's run_classifier does. tf.estimator is gone from TF 2.21, so the
model_fn returns a dict of its outputs and is called directly in a graph."""

import tensorflow.compat.v1 as tf
from generated import slots_transfer


@slots_transfer.shared_layer("embed")
def embed(ids, vocab_size, dim, scope="embed"):
    """Look up a learned [vocab_size, dim] embedding for each token id."""
    with tf.variable_scope(scope):
        W = tf.get_variable(
            "W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02)
        )
        return tf.nn.embedding_lookup(W, ids)


@slots_transfer.shared_layer("conv_block")
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


@slots_transfer.model("model_fn_builder.model_fn")
def create_model(token_ids, num_tags):
    """Per-token tag logits [batch, seq_len, num_tags]."""
    h = embed(token_ids, 20000, 64)
    h = conv_block(h, 128, 3, "conv1")
    h = conv_block(h, 256, 3, "conv2")
    return tf.layers.dense(h, num_tags, name="tags")


def model_fn_builder(num_tags, learning_rate):
    """Returns the `model_fn` closure an Estimator would call."""

    @slots_transfer.model("model_fn_builder.model_fn")
    def model_fn(features, labels, mode, params):
        logits = create_model(features["token_ids"], num_tags)
        outputs = {"logits": logits, "tags": tf.argmax(logits, axis=-1)}
        if mode == "train":
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
            )
            step = tf.train.get_or_create_global_step()
            outputs["loss"] = loss
            outputs["train_op"] = tf.train.AdamOptimizer(learning_rate).minimize(
                loss, global_step=step
            )
        return outputs

    return model_fn
