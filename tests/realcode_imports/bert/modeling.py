"""A BERT-style backbone module: a class whose constructor builds the encoder."""

import tensorflow as tf


def embedding_lookup(input_ids, vocab_size, width, name="word_embeddings"):
    table = tf.get_variable(name, [vocab_size, width])
    return tf.gather(table, input_ids)


class BertModel(object):
    def __init__(self, input_ids, vocab_size=30522, hidden_size=128, scope=None):
        with tf.variable_scope(scope, default_name="bert"):
            self.embedding_output = embedding_lookup(input_ids, vocab_size, hidden_size)
            with tf.variable_scope("pooler"):
                self.pooled_output = tf.layers.dense(self.embedding_output[:, 0], hidden_size, activation=tf.tanh)

    def get_pooled_output(self):
        return self.pooled_output
