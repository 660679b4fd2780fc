"""TextRNN with attention over the bi-LSTM outputs; same weights as TextRNN (brightmart style)."""

import tensorflow.compat.v1 as tf


class TextRNNAttention:
    def __init__(
        self,
        num_classes,
        learning_rate,
        batch_size,
        decay_steps,
        decay_rate,
        sequence_length,
        vocab_size,
        embed_size,
        is_training,
        initializer=tf.random_normal_initializer(stddev=0.1),
    ):
        """init all hyperparameter here"""
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

        self.global_step = tf.Variable(0, trainable=False, name="Global_Step")
        self.decay_steps, self.decay_rate = decay_steps, decay_rate

        self.instantiate_weights()
        self.logits = self.inference()
        self.loss_val = self.loss()
        self.train_op = self.train()

    def instantiate_weights(self):
        """define all weights here"""
        with tf.name_scope("embedding"):  # embedding matrix
            self.Embedding = tf.get_variable(
                "Embedding", shape=[self.vocab_size, self.embed_size], initializer=self.initializer
            )
            self.W_projection = tf.get_variable(
                "W_projection",
                shape=[self.hidden_size * 2, self.num_classes],
                initializer=self.initializer,
            )
            self.b_projection = tf.get_variable("b_projection", shape=[self.num_classes])

    def inference(self):
        """embedding -> bi-lstm -> attention over time -> projection"""
        self.embedded_words = tf.nn.embedding_lookup(self.Embedding, self.input_x)
        lstm_fw_cell = tf.nn.rnn_cell.GRUCell(self.hidden_size)
        lstm_bw_cell = tf.nn.rnn_cell.GRUCell(self.hidden_size)
        outputs, _ = tf.nn.bidirectional_dynamic_rnn(
            lstm_fw_cell, lstm_bw_cell, self.embedded_words, dtype=tf.float32
        )
        output_rnn = tf.concat(outputs, axis=2)
        with tf.variable_scope("attention"):
            context = tf.get_variable("context", shape=[self.hidden_size * 2])
            scores = tf.reduce_sum(output_rnn * context, axis=2)
            alphas = tf.nn.softmax(scores)
            attended = tf.reduce_sum(output_rnn * tf.expand_dims(alphas, -1), axis=1)
        logits = tf.matmul(attended, self.W_projection) + self.b_projection
        return logits

    def loss(self):
        with tf.name_scope("loss"):
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=self.input_y, logits=self.logits
            )
            return tf.reduce_mean(losses)

    def train(self):
        learning_rate = tf.train.exponential_decay(
            self.learning_rate,
            self.global_step,
            self.decay_steps,
            self.decay_rate,
            staircase=True,
        )
        optimizer = tf.train.AdamOptimizer(learning_rate)
        return optimizer.minimize(self.loss_val, global_step=self.global_step)
