"""A third model: tagger's first three layers (inside its own outer scope), then its own head."""

import tensorflow as tf
import tensorflow.compat.v1 as tf1

from generated.layers_common import Encoder, project
from generated import zeta_transfer


@zeta_transfer.shared_layer("gate")
def gate(x, scope="gate"):
    with tf1.variable_scope(scope):
        g = tf1.get_variable("g", [x.shape[-1]], initializer=tf1.zeros_initializer())
        return x * tf1.sigmoid(g)


@zeta_transfer.model("build_zeta")
def build_zeta(features, labels):
    with tf1.variable_scope("zeta"):
        with zeta_transfer.layer("build_zeta", 0):
            h = project(features, 32)
        with zeta_transfer.layer("build_zeta", 1):
            h = Encoder(32)(h)
        h = gate(h)
        logits = tf1.layers.dense(h, 3)
        return logits, tf.reduce_mean(tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
