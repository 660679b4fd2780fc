"""Masked-token pretraining: the encoder plus a prediction head tied to the word embeddings."""

import tensorflow.compat.v1 as tf


def model_fn_builder(config, learning_rate):
    """Returns an Estimator-style `model_fn` (called directly in a graph here)."""

    def model_fn(features, labels, mode, params):
        import helpers

        input_ids = features["input_ids"]
        encoder = helpers.build_encoder(config, mode == "train", input_ids)
        sequence = encoder.get_sequence_output()
        with tf.variable_scope("cls/predictions"):
            transformed = tf.layers.dense(
                sequence, config.hidden_size, activation=tf.tanh, name="transform"
            )
            output_bias = tf.get_variable(
                "output_bias", [config.vocab_size], initializer=tf.zeros_initializer()
            )
            logits = tf.einsum("bsh,vh->bsv", transformed, encoder.get_embedding_table())
            logits = logits + output_bias
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=features["masked_ids"], logits=logits
            )
        )
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss)
        return {"loss": loss, "train_op": train_op}

    return model_fn
