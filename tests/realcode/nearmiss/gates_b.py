"""The gated projection with another gate bias (a near-miss), and an unrelated `linear`."""

import tensorflow.compat.v1 as tf


def gated_projection(x, size, scope="gate"):
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.shape[-1], size])
        b = tf.get_variable("b", [size], initializer=tf.constant_initializer(-1.0))
        t = tf.sigmoid(tf.matmul(x, w) + b)
        return t * x + (1.0 - t) * tf.nn.relu(x)


def linear(inputs, num_outputs, activation=None, use_bias=True, scope=None):
    """An unrelated layer that happens to share the name."""
    rank = len(inputs.shape)
    flat = tf.reshape(inputs, [-1, int(inputs.shape[-1])])
    kernel = tf.get_variable("kernel", [flat.shape[-1], num_outputs],
                             initializer=tf.glorot_uniform_initializer())
    outputs = tf.matmul(flat, kernel)
    if use_bias:
        outputs += tf.get_variable("bias", [num_outputs], initializer=tf.zeros_initializer())
    if activation is not None:
        outputs = activation(outputs)
    if rank > 2:
        outputs = tf.reshape(outputs, tf.concat([tf.shape(inputs)[:-1], [num_outputs]], 0))
    return outputs


def build_gated(x):
    h = gated_projection(x, 64)
    return linear(h, 2)
