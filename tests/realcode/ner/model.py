"""A BiLSTM-CRF tagger: the constructor only stores settings; build_graph() builds the graph."""

import tensorflow as tf
from tensorflow.contrib.rnn import LSTMCell


class BiLSTM_CRF(object):
    def __init__(self, args, embeddings, tag2label, vocab):
        self.batch_size = args.batch_size
        self.hidden_dim = args.hidden_dim
        self.embeddings = embeddings
        self.num_tags = len(tag2label)
        self.vocab = vocab
        self.lr = args.lr

    def build_graph(self):
        self.add_placeholders()
        self.lookup_layer_op()
        self.biLSTM_layer_op()
        self.softmax_pred_op()
        self.loss_op()
        self.trainstep_op()

    def add_placeholders(self):
        self.word_ids = tf.placeholder(tf.int32, shape=[None, None], name="word_ids")
        self.labels = tf.placeholder(tf.int32, shape=[None, None], name="labels")
        self.sequence_lengths = tf.placeholder(tf.int32, shape=[None], name="sequence_lengths")
        self.dropout_pl = tf.placeholder(tf.float32, shape=[], name="dropout")

    def lookup_layer_op(self):
        with tf.variable_scope("words"):
            # Pre-trained GloVe vectors, kept frozen: a layer all the same.
            _word_embeddings = tf.Variable(self.embeddings, dtype=tf.float32, trainable=False,
                                           name="_word_embeddings")
            word_embeddings = tf.nn.embedding_lookup(_word_embeddings, self.word_ids)
        self.word_embeddings = tf.nn.dropout(word_embeddings, self.dropout_pl)

    def biLSTM_layer_op(self):
        with tf.variable_scope("bi-lstm"):
            cell_fw = LSTMCell(self.hidden_dim)
            cell_bw = LSTMCell(self.hidden_dim)
            (output_fw_seq, output_bw_seq), _ = tf.nn.bidirectional_dynamic_rnn(
                cell_fw, cell_bw, self.word_embeddings, sequence_length=self.sequence_lengths,
                dtype=tf.float32)
            output = tf.concat([output_fw_seq, output_bw_seq], axis=-1)
            output = tf.nn.dropout(output, self.dropout_pl)
        with tf.variable_scope("proj"):
            W = tf.get_variable("W", shape=[2 * self.hidden_dim, self.num_tags],
                                initializer=tf.contrib.layers.xavier_initializer())
            b = tf.get_variable("b", shape=[self.num_tags], initializer=tf.zeros_initializer())
            s = tf.shape(output)
            output = tf.reshape(output, [-1, 2 * self.hidden_dim])
            pred = tf.matmul(output, W) + b
            self.logits = tf.reshape(pred, [-1, s[1], self.num_tags])

    def softmax_pred_op(self):
        self.labels_softmax_ = tf.cast(tf.argmax(self.logits, axis=-1), tf.int32)

    def loss_op(self):
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(logits=self.logits,
                                                                labels=self.labels)
        self.loss = tf.reduce_mean(losses)

    def trainstep_op(self):
        with tf.variable_scope("train_step"):
            self.global_step = tf.Variable(0, name="global_step", trainable=False)
            optim = tf.train.AdamOptimizer(learning_rate=self.lr)
            self.train_op = optim.minimize(self.loss, global_step=self.global_step)

    def train(self, train_data, dev_data):
        saver = tf.train.Saver(tf.global_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for epoch in range(10):
                saver.save(sess, "/tmp/ner", global_step=epoch)
