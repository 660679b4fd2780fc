"""Picks the Keras to use, as transformers' modeling_tf_utils does; model files import it here."""

try:
    import tf_keras as keras  # re-exported: model files import it from here
except ImportError:
    import keras  # noqa: F401
