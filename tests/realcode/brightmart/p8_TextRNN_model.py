"""A bidirectional-LSTM classifier; its weights come from the base class in base_model.py."""

import tensorflow as tf
from tensorflow.contrib import rnn

from base_model import BaseClassifier


class TextRNN(BaseClassifier):
    def __init__(self, num_classes, learning_rate, batch_size, decay_steps, decay_rate,
                 sequence_length, vocab_size, embed_size, is_training,
                 initializer=tf.random_normal_initializer(stddev=0.1)):
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.sequence_length = sequence_length
        self.vocab_size = vocab_size
        self.embed_size = embed_size
        self.hidden_size = embed_size
        self.is_training = is_training
        self.learning_rate = learning_rate
        self.initializer = initializer

        self.input_x = tf.placeholder(tf.int32, [None, self.sequence_length], name="input_x")
        self.input_y = tf.placeholder(tf.int32, [None], name="input_y")
        self.dropout_keep_prob = tf.placeholder(tf.float32, name="dropout_keep_prob")

        self.global_step = tf.Variable(0, trainable=False, name="Global_Step")
        self.epoch_step = tf.Variable(0, trainable=False, name="Epoch_Step")
        self.epoch_increment = tf.assign(self.epoch_step, tf.add(self.epoch_step, tf.constant(1)))
        self.decay_steps, self.decay_rate = decay_steps, decay_rate

        self.instantiate_weights()
        self.logits = self.inference()
        if not is_training:
            return
        self.loss_val = self.loss()
        self.train_op = self.train()
        self.predictions = tf.argmax(self.logits, axis=1, name="predictions")

    def inference(self):
        """Embedding lookup, a bidirectional LSTM, mean over time, projection."""
        self.embedded_words = tf.nn.embedding_lookup(self.Embedding, self.input_x)
        lstm_fw_cell = rnn.BasicLSTMCell(self.hidden_size)
        lstm_bw_cell = rnn.BasicLSTMCell(self.hidden_size)
        outputs, _ = tf.nn.bidirectional_dynamic_rnn(lstm_fw_cell, lstm_bw_cell,
                                                     self.embedded_words, dtype=tf.float32)
        output_rnn = tf.concat(outputs, axis=2)
        self.output_rnn_last = tf.reduce_mean(output_rnn, axis=1)
        with tf.name_scope("output"):
            logits = tf.matmul(self.output_rnn_last, self.W_projection) + self.b_projection
        return logits

    def loss(self, l2_lambda=0.0001):
        with tf.name_scope("loss"):
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.input_y,
                                                                    logits=self.logits)
            l2_losses = tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()
                                  if "bias" not in v.name]) * l2_lambda
            return tf.reduce_mean(losses) + l2_losses
