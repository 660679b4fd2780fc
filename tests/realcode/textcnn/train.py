"""The driver: builds the model, the optimizer and the session loop. Never a layer."""

import numpy as np
import tensorflow as tf

from text_cnn import TextCNN

FLAGS = tf.app.flags.FLAGS


def train(x_train, y_train, vocab_size):
    with tf.Graph().as_default():
        sess = tf.Session()
        with sess.as_default():
            cnn = TextCNN(sequence_length=x_train.shape[1], num_classes=y_train.shape[1],
                          vocab_size=vocab_size, embedding_size=128, filter_sizes=[3, 4, 5],
                          num_filters=128)
            global_step = tf.Variable(0, name="global_step", trainable=False)
            optimizer = tf.train.AdamOptimizer(1e-3)
            grads_and_vars = optimizer.compute_gradients(cnn.loss)
            train_op = optimizer.apply_gradients(grads_and_vars, global_step=global_step)
            sess.run(tf.global_variables_initializer())
            for batch in np.array_split(np.arange(len(x_train)), 10):
                sess.run(train_op, {cnn.input_x: x_train[batch], cnn.input_y: y_train[batch]})


def main(argv=None):
    train(np.zeros((8, 20), dtype=np.int32), np.eye(2)[np.zeros(8, dtype=int)], 5000)


if __name__ == "__main__":
    tf.app.run()
