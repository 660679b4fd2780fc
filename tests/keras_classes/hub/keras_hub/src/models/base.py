"""The base of the encoders: a functional keras.Model built by each subclass's constructor."""

import keras


class Backbone(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

    def get_config(self):
        return {"name": self.name}
