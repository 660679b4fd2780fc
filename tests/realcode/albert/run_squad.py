"""Span-prediction head on the same backbone; imports it as a package (`from albert import ...`)."""

import tensorflow as tf

from albert import modeling
from albert import optimization


def create_model(bert_config, is_training, input_ids, num_outputs):
    model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids)
    final_hidden = model.get_sequence_output()
    hidden_size = final_hidden.shape[-1].value
    output_weights = tf.get_variable("cls/squad/output_weights", [2, hidden_size],
                                     initializer=tf.truncated_normal_initializer(stddev=0.02))
    logits = tf.einsum("bth,oh->bto", final_hidden, output_weights)
    return tf.unstack(logits, axis=-1)


def model_fn_builder(bert_config, learning_rate, num_train_steps):
    def model_fn(features, labels, mode, params):
        start_logits, end_logits = create_model(bert_config, mode == tf.estimator.ModeKeys.TRAIN,
                                                features["input_ids"], 2)
        answer_bias = tf.get_variable("answer_bias", [params["max_answer_length"]])
        if mode == tf.estimator.ModeKeys.TRAIN:
            loss = tf.reduce_mean(start_logits) + tf.reduce_mean(end_logits)
            train_op = optimization.create_optimizer(loss, learning_rate, num_train_steps)
            return tf.estimator.EstimatorSpec(mode=mode, loss=loss, train_op=train_op)
        return tf.estimator.EstimatorSpec(mode=mode, predictions={"start": start_logits + answer_bias})

    return model_fn
