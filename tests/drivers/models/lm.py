"""A language model built in `__call__` (bilm's shape), and a weight dumper that runs it."""

import tensorflow.compat.v1 as tf


def embed(ids, vocab_size, dim, scope="embedding"):
    with tf.variable_scope(scope):
        table = tf.get_variable("table", [vocab_size, dim])
        return tf.nn.embedding_lookup(table, ids)


class LanguageModel:
    def __init__(self, vocab_size, dim):
        self.vocab_size = vocab_size
        self.dim = dim

    def __call__(self, ids):
        x = embed(ids, self.vocab_size, self.dim)
        h = tf.layers.dense(x, self.dim, activation=tf.tanh, name="hidden")
        return tf.layers.dense(h, self.vocab_size, name="softmax")


def dump_weights(checkpoint, vocab_size, dim, out):
    with tf.Session() as sess:
        ids = tf.placeholder(tf.int32, [None, None])
        LanguageModel(vocab_size, dim)(ids)
        tf.train.Saver().restore(sess, checkpoint)
        for variable in tf.trainable_variables():
            out[variable.op.name] = sess.run(variable)
