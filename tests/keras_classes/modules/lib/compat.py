"""Picks the Keras to use, as transformers' modeling_tf_utils does; model files import it here."""

try:
    import tf_keras as keras
except ImportError:
    import keras
