"""A small BERT-style encoder: token + position embeddings, transformer layers, a pooler."""

import copy
import json
import math

import tensorflow.compat.v1 as tf


class BertConfig(object):
    """Configuration for `BertModel`."""

    def __init__(
        self,
        vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        initializer_range=0.02,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.max_position_embeddings = max_position_embeddings
        self.initializer_range = initializer_range

    @classmethod
    def from_dict(cls, json_object):
        config = BertConfig(vocab_size=None)
        for key, value in json_object.items():
            config.__dict__[key] = value
        return config

    def to_json_string(self):
        return json.dumps(copy.deepcopy(self.__dict__), indent=2, sort_keys=True) + "\n"


def create_initializer(initializer_range=0.02):
    return tf.truncated_normal_initializer(stddev=initializer_range)


def layer_norm(input_tensor, name=None):
    """Run layer normalization on the last dimension of the tensor."""
    with tf.variable_scope(name, default_name="LayerNorm"):
        dim = input_tensor.shape[-1]
        gamma = tf.get_variable("gamma", [dim], initializer=tf.ones_initializer())
        beta = tf.get_variable("beta", [dim], initializer=tf.zeros_initializer())
        mean, variance = tf.nn.moments(input_tensor, axes=[-1], keepdims=True)
        return (input_tensor - mean) * tf.rsqrt(variance + 1e-12) * gamma + beta


def embedding_lookup(input_ids, vocab_size, embedding_size, initializer_range, name):
    embedding_table = tf.get_variable(
        name=name,
        shape=[vocab_size, embedding_size],
        initializer=create_initializer(initializer_range),
    )
    return tf.nn.embedding_lookup(embedding_table, input_ids), embedding_table


def attention_layer(from_tensor, num_heads, size_per_head, initializer_range):
    query = tf.layers.dense(
        from_tensor, num_heads * size_per_head, name="query",
        kernel_initializer=create_initializer(initializer_range),
    )
    key = tf.layers.dense(
        from_tensor, num_heads * size_per_head, name="key",
        kernel_initializer=create_initializer(initializer_range),
    )
    value = tf.layers.dense(
        from_tensor, num_heads * size_per_head, name="value",
        kernel_initializer=create_initializer(initializer_range),
    )
    scores = tf.matmul(query, key, transpose_b=True) / math.sqrt(float(size_per_head))
    probs = tf.nn.softmax(scores)
    return tf.matmul(probs, value)


def transformer_model(input_tensor, config):
    prev_output = input_tensor
    for layer_idx in range(config.num_hidden_layers):
        with tf.variable_scope("layer_%d" % layer_idx):
            with tf.variable_scope("attention"):
                with tf.variable_scope("self"):
                    attention_output = attention_layer(
                        prev_output,
                        config.num_attention_heads,
                        config.hidden_size // config.num_attention_heads,
                        config.initializer_range,
                    )
                with tf.variable_scope("output"):
                    attention_output = tf.layers.dense(
                        attention_output, config.hidden_size,
                        kernel_initializer=create_initializer(config.initializer_range),
                    )
                    attention_output = layer_norm(attention_output + prev_output)
            with tf.variable_scope("intermediate"):
                intermediate_output = tf.layers.dense(
                    attention_output, config.intermediate_size, activation=tf.nn.relu,
                    kernel_initializer=create_initializer(config.initializer_range),
                )
            with tf.variable_scope("output"):
                layer_output = tf.layers.dense(
                    intermediate_output, config.hidden_size,
                    kernel_initializer=create_initializer(config.initializer_range),
                )
                prev_output = layer_norm(layer_output + attention_output)
    return prev_output


class BertModel(object):
    """BERT-style encoder. Variables live under `bert/` (or `scope`)."""

    def __init__(self, config, is_training, input_ids, scope=None):
        config = copy.deepcopy(config)
        seq_length = input_ids.shape[1]
        with tf.variable_scope(scope, default_name="bert"):
            with tf.variable_scope("embeddings"):
                self.embedding_output, self.embedding_table = embedding_lookup(
                    input_ids,
                    config.vocab_size,
                    config.hidden_size,
                    config.initializer_range,
                    "word_embeddings",
                )
                position_embeddings = tf.get_variable(
                    "position_embeddings",
                    [config.max_position_embeddings, config.hidden_size],
                    initializer=create_initializer(config.initializer_range),
                )
                self.embedding_output += tf.slice(position_embeddings, [0, 0], [seq_length, -1])
                self.embedding_output = layer_norm(self.embedding_output)
            with tf.variable_scope("encoder"):
                self.sequence_output = transformer_model(self.embedding_output, config)
            with tf.variable_scope("pooler"):
                first_token_tensor = tf.squeeze(self.sequence_output[:, 0:1, :], axis=1)
                self.pooled_output = tf.layers.dense(
                    first_token_tensor,
                    config.hidden_size,
                    activation=tf.tanh,
                    kernel_initializer=create_initializer(config.initializer_range),
                )

    def get_pooled_output(self):
        return self.pooled_output

    def get_sequence_output(self):
        return self.sequence_output
