"""Token tagging fine-tuned from the pretrained encoder."""

import tensorflow.compat.v1 as tf

import helpers


def model_fn_builder(config, num_tags, learning_rate):
    """Returns an Estimator-style `model_fn`."""

    def model_fn(features, labels, mode, params):
        encoder = helpers.build_encoder(config, mode == "train", features["input_ids"])
        logits = tf.layers.dense(encoder.get_sequence_output(), num_tags, name="tagger")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=features["tags"], logits=logits)
        )
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss)
        return {"loss": loss, "train_op": train_op}

    return model_fn
