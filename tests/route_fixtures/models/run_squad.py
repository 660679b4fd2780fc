"""Span prediction (SQuAD-style) on top of the BERT-style encoder."""

import tensorflow.compat.v1 as tf

from bert import modeling


def create_model(bert_config, is_training, input_ids):
    """Creates a span-prediction model: start and end logits for each token."""
    model = modeling.BertModel(
        config=bert_config,
        is_training=is_training,
        input_ids=input_ids,
    )

    final_hidden = model.get_sequence_output()
    hidden_size = final_hidden.shape[-1]

    output_weights = tf.get_variable(
        "cls/squad/output_weights",
        [2, hidden_size],
        initializer=tf.truncated_normal_initializer(stddev=0.02),
    )
    output_bias = tf.get_variable(
        "cls/squad/output_bias", [2], initializer=tf.zeros_initializer()
    )
    logits = tf.einsum("bsh,nh->bsn", final_hidden, output_weights) + output_bias
    start_logits, end_logits = tf.unstack(logits, axis=2)
    return start_logits, end_logits


def model_fn_builder(bert_config, init_checkpoint, learning_rate):
    """Returns `model_fn` closure (an Estimator's; here it is called directly in a graph)."""

    def model_fn(features, labels, mode, params):
        input_ids = features["input_ids"]
        is_training = mode == "train"
        start_logits, end_logits = create_model(bert_config, is_training, input_ids)

        def compute_loss(logits, positions):
            one_hot = tf.one_hot(positions, depth=input_ids.shape[1], dtype=tf.float32)
            log_probs = tf.nn.log_softmax(logits, axis=-1)
            return -tf.reduce_mean(tf.reduce_sum(one_hot * log_probs, axis=-1))

        total_loss = (
            compute_loss(start_logits, features["start_positions"])
            + compute_loss(end_logits, features["end_positions"])
        ) / 2.0
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(
            total_loss, global_step=tf.train.get_or_create_global_step()
        )
        return {"loss": total_loss, "train_op": train_op}

    return model_fn
