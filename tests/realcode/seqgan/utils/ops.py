"""Shared ops of this repository; its `tf` reaches the models through `from utils.ops import *`."""

import tensorflow as tf


def linear(input_, output_size, scope=None):
    """output = input_ @ W + b, with W and b created under `scope`."""
    shape = input_.get_shape().as_list()
    input_size = shape[1]
    with tf.variable_scope(scope or "SimpleLinear"):
        matrix = tf.get_variable("Matrix", [output_size, input_size], dtype=input_.dtype)
        bias_term = tf.get_variable("Bias", [output_size], dtype=input_.dtype)
    return tf.matmul(input_, tf.transpose(matrix)) + bias_term


def highway(input_, size, num_layers=1, bias=-2.0, f=tf.nn.relu, scope="Highway"):
    """Highway network: t = sigmoid(Wy + b); z = t * g(Wy + b) + (1 - t) * y."""
    with tf.variable_scope(scope):
        for idx in range(num_layers):
            g = f(linear(input_, size, scope="highway_lin_%d" % idx))
            t = tf.sigmoid(linear(input_, size, scope="highway_gate_%d" % idx) + bias)
            output = t * g + (1.0 - t) * input_
            input_ = output
    return output
