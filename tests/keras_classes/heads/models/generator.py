"""A generator with no layer of its own: its output projection is the encoder's own table."""

from models.base import Task


class Generator(Task):
    def __init__(self, encoder, **kwargs):
        self.encoder = encoder
        inputs = encoder.input
        states = encoder(inputs)
        outputs = encoder.table(states, reverse=True)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
