"""Span model over the same backbone, imported package-qualified."""

import tensorflow as tf

from bert import modeling


def create_model(input_ids, start, num_labels):
    model = modeling.BertModel(input_ids, vocab_size=30522, hidden_size=128)
    logits = tf.layers.dense(model.get_pooled_output(), 2)
    return tf.losses.sparse_softmax_cross_entropy(start, logits[:, 0])
