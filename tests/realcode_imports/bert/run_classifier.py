"""Classifier over the backbone, imported the way a script run from its folder does."""

import tensorflow as tf

import modeling


def create_model(input_ids, labels, num_labels):
    model = modeling.BertModel(input_ids, vocab_size=30522, hidden_size=128)
    output_layer = model.get_pooled_output()
    logits = tf.layers.dense(output_layer, num_labels)
    return tf.losses.sparse_softmax_cross_entropy(labels, logits)
