"""A third model reaching the same `highway` through a plain module import; TF1 through its own
`import tensorflow as tf`."""

import tensorflow as tf

from utils import prepare_data


def build_c(inputs):
    h = prepare_data.highway(inputs, 64)
    with tf.variable_scope("output"):
        w = tf.get_variable("W", [64, 2])
        return tf.matmul(h, w)
