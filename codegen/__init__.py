"""layershare `codegen`: share early-layer weights between TensorFlow models by construction."""

__version__ = "0.1.0"
