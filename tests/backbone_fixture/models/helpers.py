"""What every task's model_fn shares: building the encoder from the package."""


def build_encoder(config, is_training, input_ids):
    """The encoder over `input_ids`; imported here, when a model is built."""
    from encoder import Encoder

    return Encoder(config, is_training, input_ids)
