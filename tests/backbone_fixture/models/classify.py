"""Sentence classification fine-tuned from the pretrained encoder."""

import tensorflow.compat.v1 as tf


def model_fn_builder(config, num_labels, learning_rate):
    """Returns an Estimator-style `model_fn`."""

    def model_fn(features, labels, mode, params):
        from helpers import build_encoder

        encoder = build_encoder(config, mode == "train", features["input_ids"])
        pooled = encoder.get_pooled_output()
        output_weights = tf.get_variable(
            "output_weights",
            [num_labels, config.hidden_size],
            initializer=tf.truncated_normal_initializer(stddev=0.02),
        )
        output_bias = tf.get_variable(
            "output_bias", [num_labels], initializer=tf.zeros_initializer()
        )
        logits = tf.nn.bias_add(tf.matmul(pooled, output_weights, transpose_b=True), output_bias)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=features["label"], logits=logits)
        )
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss)
        return {"loss": loss, "train_op": train_op, "logits": logits}

    return model_fn
