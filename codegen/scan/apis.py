"""What the scanner knows of TensorFlow's APIs: which calls create variables, which take names."""

from __future__ import annotations

import functools
import re

# Roots whose attribute chains are library APIs rather than user code.
LIBRARY_ROOTS = ("tensorflow", "keras", "tf_keras", "tf_slim", "sonnet")

# Functions and classes under these packages create variables when called, unless listed below.
_LAYER_PACKAGES = (
    "tensorflow.layers.",
    "tensorflow.compat.v1.layers.",
    "tensorflow.keras.layers.",
    "tensorflow.compat.v1.keras.layers.",
    "keras.layers.",
    "tf_keras.layers.",
    "tensorflow.contrib.layers.",
    "tensorflow.contrib.slim.",
    "tf_slim.",
    "tf_slim.layers.",
    "tensorflow.contrib.rnn.",
    "tensorflow.nn.rnn_cell.",
    "tensorflow.compat.v1.nn.rnn_cell.",
    "sonnet.",
)

# Layer-package members that only reshape, pool or mask, and so never own variables.
_STATELESS_LAYER = re.compile(
    r"(dropout|flatten|max_pool\w*|avg_pool\w*|average_pool\w*|max_pooling\w*|average_pooling\w*"
    r"|global_\w*pool\w*|activation|reshape|permute|repeat_vector|concatenate|add|subtract"
    r"|multiply|average|maximum|minimum|dot|lambda|masking|input|inputlayer|input_spec|cropping\w*"
    r"|zero_padding\w*|up_sampling\w*|spatial_dropout\w*|gaussian_noise|gaussian_dropout"
    r"|alpha_dropout|layer|base_layer|arg_scope|repeat|stack|utils|one_hot_encoding|softmax"
    r"|relu|leaky_relu|elu|prelu_initializer|bias_add_grad|unit_norm|l2_regularizer"
    r"|l1_regularizer|variance_scaling_initializer|xavier_initializer\w*|dropoutwrapper"
    r"|residualwrapper|devicewrapper|optimize_loss|apply_regularization|summarize_\w*"
    # State tuples are namedtuples of tensors (`LSTMStateTuple(c, h)`): nothing to own.
    r"|\w*statetuple)$",
    re.IGNORECASE,
)

# Calls that create a variable wherever they live in the namespace.
_CREATING_SUFFIXES = (
    ".get_variable",
    ".get_local_variable",
    ".Variable",
    ".model_variable",
    ".local_variable",
    ".dynamic_rnn",
    ".bidirectional_dynamic_rnn",
    ".static_rnn",
    ".static_bidirectional_rnn",
    ".raw_rnn",
)


def normalize_api(dotted: str) -> str:
    """Collapse spellings that name the same API: tf.compat.v1.contrib is tf.contrib."""
    if dotted.startswith("tensorflow.compat.v1.contrib."):
        return "tensorflow.contrib." + dotted[len("tensorflow.compat.v1.contrib.") :]
    if dotted.startswith("tensorflow.compat.v2."):
        return "tensorflow." + dotted[len("tensorflow.compat.v2.") :]
    return dotted


def tf1_flavour(dotted: str) -> str:
    """In TF1 code through `import tensorflow as tf`, tf.X is tf.compat.v1.X: one spelling."""
    if dotted == "tensorflow":
        return "tensorflow.compat.v1"
    if dotted.startswith("tensorflow.") and not dotted.startswith(
        ("tensorflow.compat.", "tensorflow.contrib.", "tensorflow.keras")
    ):
        return "tensorflow.compat.v1." + dotted[len("tensorflow.") :]
    return dotted


# The predicates below are pure functions of a dotted name that the scanner asks about for every
# call it sees, over a few hundred distinct names: memoized.
@functools.lru_cache(maxsize=4096)
def is_library(dotted: str) -> bool:
    """True for a dotted name rooted in a known ML library."""
    return dotted.split(".", 1)[0] in LIBRARY_ROOTS


@functools.lru_cache(maxsize=4096)
def creates_variables(dotted: str) -> bool:
    """True when calling this resolved API creates trainable state (reads and identity do not)."""
    if not is_library(dotted):
        return False
    if dotted.endswith(_CREATING_SUFFIXES) or dotted == "tensorflow.Variable":
        return True
    for package in _LAYER_PACKAGES:
        if dotted.startswith(package):
            leaf = dotted[len(package) :]
            if "." in leaf:  # a submodule member such as layers.experimental.x: judge the leaf
                leaf = leaf.rsplit(".", 1)[1]
            return not leaf.startswith("_") and not _STATELESS_LAYER.match(leaf)
    return False


# Packages whose public members are all layers (classes, or `Input`, which makes one); the other
# layer packages also hold initializers, regularizers and scopes.
_KERAS_LAYER_PACKAGES = tuple(p for p in _LAYER_PACKAGES if p.endswith("keras.layers."))


@functools.lru_cache(maxsize=4096)
def is_keras_layer(dotted: str) -> bool:
    """True for a Keras layer class (`keras.layers.Input`, `tf.keras.layers.Dropout`), with or
    without variables."""
    return dotted.startswith(_KERAS_LAYER_PACKAGES) and not dotted.rsplit(".", 1)[1].startswith("_")


# Keyword arguments whose string value is a variable or scope name, never a hyperparameter.
NAME_KEYWORDS = frozenset(
    {"name", "scope", "name_or_scope", "default_name", "variable_scope", "var_name", "scope_name"}
)

# APIs whose first positional argument is a variable or scope name.
_NAME_FIRST_SUFFIXES = (
    ".get_variable",
    ".get_local_variable",
    ".variable_scope",
    ".name_scope",
    ".VariableScope",
    ".model_variable",
    ".local_variable",
)


def first_arg_is_name(dotted: str) -> bool:
    """True when this API's first positional argument names a variable or scope."""
    return dotted.endswith(_NAME_FIRST_SUFFIXES)


def is_name_parameter(param: str) -> bool:
    """True for a builder parameter that carries a scope or variable name, by convention."""
    return param in NAME_KEYWORDS or param.endswith(("_scope", "_name"))


def short_label(dotted: str) -> str:
    """Readable API spelling for reports: tensorflow.compat.v1.layers.dense -> tf.layers.dense."""
    for prefix, short in (
        ("tensorflow.compat.v1.", "tf."),
        ("tensorflow.", "tf."),
        ("tf_keras.", "keras."),
    ):
        if dotted.startswith(prefix):
            return short + dotted[len(prefix) :]
    return dotted
