"""Unit tests build the backbone too; they are never models or layers."""

import tensorflow as tf

import modeling


class BertModelTest(tf.test.TestCase):
    def test_builds(self):
        config = modeling.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2,
                                     intermediate_size=37)
        ids = tf.placeholder(tf.int32, [None, 7])
        model = modeling.BertModel(config=config, is_training=True, input_ids=ids)
        self.assertEqual(model.get_pooled_output().shape[-1], 32)


if __name__ == "__main__":
    tf.test.main()
