"""Sentence classification head on the backbone: an Estimator model_fn made by a builder."""

import tensorflow as tf

import modeling
import optimization


def create_model(bert_config, is_training, input_ids, labels, num_labels):
    model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids)
    output_layer = model.get_pooled_output()
    hidden_size = output_layer.shape[-1].value
    output_weights = tf.get_variable("output_weights", [num_labels, hidden_size],
                                     initializer=tf.truncated_normal_initializer(stddev=0.02))
    output_bias = tf.get_variable("output_bias", [num_labels], initializer=tf.zeros_initializer())
    with tf.variable_scope("loss"):
        logits = tf.nn.bias_add(tf.matmul(output_layer, output_weights, transpose_b=True),
                                output_bias)
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        one_hot_labels = tf.one_hot(labels, depth=num_labels, dtype=tf.float32)
        loss = tf.reduce_mean(-tf.reduce_sum(one_hot_labels * log_probs, axis=-1))
        return loss, logits


def model_fn_builder(bert_config, num_labels, learning_rate, num_train_steps):
    """Returns the model_fn closure for the Estimator."""

    def model_fn(features, labels, mode, params):
        input_ids = features["input_ids"]
        label_ids = features["label_ids"]
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        total_loss, logits = create_model(bert_config, is_training, input_ids, label_ids,
                                          num_labels)
        if mode == tf.estimator.ModeKeys.TRAIN:
            train_op = optimization.create_optimizer(total_loss, learning_rate, num_train_steps)
            return tf.estimator.EstimatorSpec(mode=mode, loss=total_loss, train_op=train_op)
        return tf.estimator.EstimatorSpec(mode=mode, predictions={"logits": logits})

    return model_fn


def main(_):
    bert_config = modeling.BertConfig(vocab_size=30000)
    model_fn = model_fn_builder(bert_config, 2, 5e-5, 1000)
    estimator = tf.estimator.Estimator(model_fn=model_fn, model_dir="/tmp/classifier")
    estimator.train(input_fn=lambda: None, max_steps=1000)


if __name__ == "__main__":
    tf.app.run()
