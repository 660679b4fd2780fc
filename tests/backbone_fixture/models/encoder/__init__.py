"""The encoder package: its backbone class and config, re-exported for `from encoder import ...`."""

from .backbone import Encoder, EncoderConfig

__all__ = ["Encoder", "EncoderConfig"]
