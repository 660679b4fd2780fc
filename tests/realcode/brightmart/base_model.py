"""A base classifier: its weights and its optimizer step, inherited by the models of this repo."""

import tensorflow as tf


class BaseClassifier(object):
    """Subclasses call instantiate_weights() from their constructor, then inference() and train()."""

    def instantiate_weights(self):
        """The embedding table and the projection to the classes."""
        with tf.name_scope("embedding"):
            self.Embedding = tf.get_variable("Embedding", shape=[self.vocab_size, self.embed_size],
                                             initializer=self.initializer)
            self.W_projection = tf.get_variable("W_projection",
                                                shape=[self.hidden_size * 2, self.num_classes],
                                                initializer=self.initializer)
            self.b_projection = tf.get_variable("b_projection", shape=[self.num_classes])

    def train(self):
        """The optimizer step: creates only slots and counters, so it is never a layer."""
        learning_rate = tf.train.exponential_decay(self.learning_rate, self.global_step,
                                                   self.decay_steps, self.decay_rate,
                                                   staircase=True)
        train_op = tf.contrib.layers.optimize_loss(self.loss_val, global_step=self.global_step,
                                                   learning_rate=learning_rate,
                                                   optimizer="Adam")
        return train_op
