"""Sentence classification on top of the BERT-style encoder (model_fn_builder -> create_model)."""

import tensorflow.compat.v1 as tf

from bert import modeling


def create_model(bert_config, is_training, input_ids, labels, num_labels):
    """Creates a classification model."""
    model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids)

    output_layer = model.get_pooled_output()
    hidden_size = output_layer.shape[-1]

    output_weights = tf.get_variable(
        "output_weights",
        [num_labels, hidden_size],
        initializer=tf.truncated_normal_initializer(stddev=0.02),
    )
    output_bias = tf.get_variable("output_bias", [num_labels], initializer=tf.zeros_initializer())

    with tf.variable_scope("loss"):
        if is_training:
            output_layer = tf.nn.dropout(output_layer, rate=0.1)
        logits = tf.matmul(output_layer, output_weights, transpose_b=True)
        logits = tf.nn.bias_add(logits, output_bias)
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        one_hot_labels = tf.one_hot(labels, depth=num_labels, dtype=tf.float32)
        per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
        loss = tf.reduce_mean(per_example_loss)
        return loss, per_example_loss, logits


def model_fn_builder(bert_config, num_labels, init_checkpoint, learning_rate):
    """Returns `model_fn` closure (an Estimator's; here it is called directly in a graph)."""

    def model_fn(features, labels, mode, params):
        input_ids = features["input_ids"]
        label_ids = features["label_ids"]
        is_training = mode == "train"
        total_loss, per_example_loss, logits = create_model(
            bert_config, is_training, input_ids, label_ids, num_labels
        )
        global_step = tf.train.get_or_create_global_step()
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(
            total_loss, global_step=global_step
        )
        return {"loss": total_loss, "train_op": train_op, "logits": logits}

    return model_fn
