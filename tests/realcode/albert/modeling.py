"""A small BERT-style backbone: embeddings, a transformer encoder, a pooler. Imported by two heads."""

import tensorflow as tf


class BertConfig(object):
    def __init__(self, vocab_size, hidden_size=768, num_hidden_layers=12, intermediate_size=3072):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.intermediate_size = intermediate_size


def create_initializer(initializer_range=0.02):
    return tf.truncated_normal_initializer(stddev=initializer_range)


def embedding_lookup(input_ids, vocab_size, embedding_size=128, initializer_range=0.02,
                     word_embedding_name="word_embeddings"):
    embedding_table = tf.get_variable(name=word_embedding_name,
                                      shape=[vocab_size, embedding_size],
                                      initializer=create_initializer(initializer_range))
    output = tf.gather(embedding_table, input_ids)
    return output, embedding_table


def layer_norm(input_tensor, name=None):
    return tf.contrib.layers.layer_norm(inputs=input_tensor, begin_norm_axis=-1,
                                        begin_params_axis=-1, scope=name)


def transformer_model(input_tensor, hidden_size=768, num_hidden_layers=12,
                      intermediate_size=3072):
    prev_output = input_tensor
    all_layer_outputs = []
    for layer_idx in range(num_hidden_layers):
        with tf.variable_scope("layer_%d" % layer_idx):
            with tf.variable_scope("attention"):
                attention_output = tf.layers.dense(prev_output, hidden_size, name="self")
                attention_output = layer_norm(attention_output + prev_output)
            with tf.variable_scope("intermediate"):
                intermediate_output = tf.layers.dense(attention_output, intermediate_size,
                                                      activation=tf.nn.relu)
            with tf.variable_scope("output"):
                layer_output = tf.layers.dense(intermediate_output, hidden_size)
                layer_output = layer_norm(layer_output + attention_output)
            prev_output = layer_output
            all_layer_outputs.append(layer_output)
    return all_layer_outputs


class BertModel(object):
    def __init__(self, config, is_training, input_ids, scope=None):
        with tf.variable_scope(scope, default_name="bert"):
            with tf.variable_scope("embeddings"):
                (self.embedding_output, self.embedding_table) = embedding_lookup(
                    input_ids=input_ids, vocab_size=config.vocab_size,
                    embedding_size=config.hidden_size)
            with tf.variable_scope("encoder"):
                self.all_encoder_layers = transformer_model(
                    input_tensor=self.embedding_output, hidden_size=config.hidden_size,
                    num_hidden_layers=config.num_hidden_layers,
                    intermediate_size=config.intermediate_size)
            self.sequence_output = self.all_encoder_layers[-1]
            with tf.variable_scope("pooler"):
                first_token_tensor = tf.squeeze(self.sequence_output[:, 0:1, :], axis=1)
                self.pooled_output = tf.layers.dense(first_token_tensor, config.hidden_size,
                                                     activation=tf.tanh)

    def get_pooled_output(self):
        return self.pooled_output

    def get_sequence_output(self):
        return self.sequence_output
