"""The optimizer: a global step and per-variable Adam slots, made in a loop, never trainable."""

import re

import tensorflow as tf


def create_optimizer(loss, init_lr, num_train_steps):
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.polynomial_decay(init_lr, global_step, num_train_steps, end_learning_rate=0.0)
    optimizer = AdamWeightDecayOptimizer(learning_rate=learning_rate)
    tvars = tf.trainable_variables()
    grads = tf.gradients(loss, tvars)
    return optimizer.apply_gradients(zip(grads, tvars), global_step=global_step)


class AdamWeightDecayOptimizer(tf.train.Optimizer):
    def __init__(self, learning_rate, name="AdamWeightDecayOptimizer"):
        super(AdamWeightDecayOptimizer, self).__init__(False, name)
        self.learning_rate = learning_rate

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        assignments = []
        for (grad, param) in grads_and_vars:
            param_name = re.match("^(.*):\\d+$", param.name).group(1)
            m = tf.get_variable(name=param_name + "/adam_m", shape=param.shape.as_list(),
                                dtype=tf.float32, trainable=False,
                                initializer=tf.zeros_initializer())
            assignments.append(m.assign(grad))
        return tf.group(*assignments, name=name)
