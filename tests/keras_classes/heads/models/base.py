"""The base of the task models: a functional keras.Model, rebuilt from its config."""

import keras


class Task(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

    @classmethod
    def from_config(cls, config):
        for part in ("encoder", "tokenizer"):
            if isinstance(config.get(part), dict):
                config[part] = keras.layers.deserialize(config[part])
        if "head" in config:
            config["head"] = keras.layers.deserialize(config["head"])
        return cls(**config)
