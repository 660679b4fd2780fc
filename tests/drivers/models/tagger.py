"""A tagger over the same embedding, constructed by a driver with an unusual name."""

import tensorflow.compat.v1 as tf


def embed(ids, vocab_size, dim, scope="embedding"):
    with tf.variable_scope(scope):
        table = tf.get_variable("table", [vocab_size, dim])
        return tf.nn.embedding_lookup(table, ids)


class Tagger:
    def __init__(self, ids, vocab_size, dim, num_tags):
        x = embed(ids, vocab_size, dim)
        self.logits = tf.layers.dense(x, num_tags, name="tags")


def go(batches, vocab_size, dim, num_tags):
    ids = tf.placeholder(tf.int32, [None, None])
    model = Tagger(ids, vocab_size, dim, num_tags)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return [sess.run(model.logits, {ids: batch}) for batch in batches]
