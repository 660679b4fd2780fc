"""A base class in its own module: subclasses inherit its weights."""

import tensorflow.compat.v1 as tf


class BaseModel(object):
    def instantiate_weights(self):
        with tf.name_scope("embedding"):
            self.Embedding = tf.get_variable("Embedding", shape=[self.vocab_size, self.embed_size])

    def train(self):
        return tf.train.AdamOptimizer(0.001).minimize(self.loss)
