"""Token tagging on the BERT-style encoder, written as a module-level build function."""

import tensorflow.compat.v1 as tf

from bert import modeling


def build_tagger(bert_config, input_ids, num_tags, is_training=True):
    """Per-token tag logits over the encoder's sequence output."""
    model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids)
    sequence = model.get_sequence_output()
    with tf.variable_scope("tagger"):
        logits = tf.layers.dense(sequence, num_tags, name="tags")
    return logits
