"""fastText: averaged embeddings and a linear layer; its own train() is optimizer-only too."""

import tensorflow as tf


class fastTextB:
    def __init__(self, label_size, learning_rate, batch_size, decay_steps, decay_rate,
                 sentence_len, vocab_size, embed_size, is_training):
        self.label_size = label_size
        self.batch_size = batch_size
        self.sentence_len = sentence_len
        self.vocab_size = vocab_size
        self.embed_size = embed_size
        self.is_training = is_training
        self.learning_rate = learning_rate

        self.sentence = tf.placeholder(tf.int32, [None, self.sentence_len], name="sentence")
        self.labels = tf.placeholder(tf.int32, [None], name="Labels")

        self.global_step = tf.Variable(0, trainable=False, name="Global_Step")
        self.epoch_step = tf.Variable(0, trainable=False, name="Epoch_Step")
        self.decay_steps, self.decay_rate = decay_steps, decay_rate

        self.epoch_increment = tf.assign(self.epoch_step, tf.add(self.epoch_step, tf.constant(1)))
        self.instantiate_weights()
        self.logits = self.inference()
        self.loss_val = self.loss()
        self.train_op = self.train()

    def instantiate_weights(self):
        self.Embedding = tf.get_variable("Embedding", [self.vocab_size, self.embed_size])
        self.W = tf.get_variable("W", [self.embed_size, self.label_size])
        self.b = tf.get_variable("b", [self.label_size])

    def inference(self):
        sentence_embeddings = tf.nn.embedding_lookup(self.Embedding, self.sentence)
        self.sentence_embeddings = tf.reduce_mean(sentence_embeddings, axis=1)
        logits = tf.matmul(self.sentence_embeddings, self.W) + self.b
        return logits

    def loss(self, l2_lambda=0.01):
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=self.labels, logits=self.logits))
        return loss + l2_lambda * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])

    def train(self):
        learning_rate = tf.train.exponential_decay(self.learning_rate, self.global_step,
                                                   self.decay_steps, self.decay_rate,
                                                   staircase=True)
        train_op = tf.contrib.layers.optimize_loss(self.loss_val, global_step=self.global_step,
                                                   learning_rate=learning_rate,
                                                   optimizer="Adam")
        return train_op
