import tensorflow.compat.v1 as tf


def conv_block(x, filters, scope="conv"):
    with tf.variable_scope(scope):
        return tf.layers.conv1d(x, filters, 3, padding="same", activation=tf.nn.relu)
