"""What the scanner knows of TensorFlow's APIs: which calls create variables, which take names."""

from __future__ import annotations

import functools
import re

# Roots whose attribute chains are library APIs rather than user code.
LIBRARY_ROOTS = ("tensorflow", "keras", "tf_keras", "tf_slim", "sonnet", "keras_hub", "keras_nlp")

# Spellings of one Keras API: `tf.keras.layers.Dense` is `keras.layers.Dense` (TF's default Keras
# is Keras 3 since TF 2.16, `tf_keras` is the Keras 2 package with the same layer classes), and
# keras_nlp is keras_hub's former name.
_KERAS_SPELLINGS = (
    ("tensorflow.compat.v1.keras", "keras"),
    ("tensorflow.compat.v2.keras", "keras"),
    ("tensorflow.python.keras", "keras"),
    ("tensorflow.keras", "keras"),
    ("tf_keras", "keras"),
    ("keras_nlp", "keras_hub"),
)

# Functions and classes under these packages create variables when called, unless listed below.
_LAYER_PACKAGES = (
    "tensorflow.layers.",
    "tensorflow.compat.v1.layers.",
    "keras.layers.",
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

# Keras layer classes that never own weights (`layer.weights` stays empty), in Keras 3's and Keras
# 2's spellings: still layers of a sequence, compared by API and literal arguments.
_KERAS_WEIGHTLESS = frozenset(
    """Activation ActivityRegularization Add AlphaDropout Average AveragePooling1D AveragePooling2D
    AveragePooling3D AvgPool1D AvgPool2D AvgPool3D CategoryEncoding CenterCrop Concatenate
    Cropping1D Cropping2D Cropping3D Dot Dropout ELU Flatten GaussianDropout GaussianNoise
    GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalAvgPool1D
    GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D
    GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D Hashing Identity Input InputLayer
    InputSpec Lambda Layer LeakyReLU Masking MaxPool1D MaxPool2D MaxPool3D MaxPooling1D MaxPooling2D
    MaxPooling3D Maximum Minimum Multiply Permute RandomBrightness RandomContrast RandomCrop
    RandomFlip RandomHeight RandomRotation RandomTranslation RandomWidth RandomZoom ReLU
    RepeatVector Rescaling Reshape Resizing Softmax SpatialDropout1D SpatialDropout2D
    SpatialDropout3D Subtract ThresholdedReLU UnitNormalization UpSampling1D UpSampling2D
    UpSampling3D ZeroPadding1D ZeroPadding2D ZeroPadding3D""".split()
)
# keras_hub members that hold no weights: tokenizers, preprocessors and input packers.
_HUB_WEIGHTLESS = re.compile(
    r"\w*(Tokenizer|Preprocessor|Packer|MaskGenerator|ImageConverter|AudioConverter)$"
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
    """Collapse spellings that name the same API: tf.compat.v1.contrib is tf.contrib, and
    tf.keras, tensorflow.keras, tf_keras and tf.compat.v1.keras are keras."""
    if "keras" in dotted:
        for spelling, canonical in _KERAS_SPELLINGS:
            rest = dotted[len(spelling) :]
            if dotted.startswith(spelling) and (not rest or rest[0] == "."):
                return canonical + rest
    if dotted.startswith("tensorflow.compat.v1.contrib."):
        return "tensorflow.contrib." + dotted[len("tensorflow.compat.v1.contrib.") :]
    if dotted.startswith("tensorflow.compat.v2."):
        return "tensorflow." + dotted[len("tensorflow.compat.v2.") :]
    if dotted.startswith("tensorflow.python.keras."):  # the module tf.keras re-exports
        return "tensorflow.keras." + dotted[len("tensorflow.python.keras.") :]
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


# Modules whose calls are never layers (and make no object that holds one): an unresolved call
# into them is not worth a diagnostic, and a module value they make is no unseen object.
NOT_LAYER_MODULES = frozenset(
    "numpy np math os sys re json random time collections itertools functools logging six absl "
    "pickle codecs copy scipy sklearn pandas argparse shutil glob tqdm csv io string".split()
)


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
    if dotted.startswith("keras_hub."):
        return _hub_layer(dotted) and not _HUB_WEIGHTLESS.match(_hub_class(dotted))
    if dotted.startswith("keras.applications."):
        return _application(dotted)
    if dotted in _KERAS_MODEL_MAKERS:
        return True
    if dotted.startswith("keras.layers.") and dotted.rsplit(".", 1)[1] in _KERAS_WEIGHTLESS:
        return False
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
    """True for a Keras layer class (`keras.layers.Input`, `keras.layers.Dropout`), with or
    without variables, a keras_hub layer or model (`keras_hub.layers.TransformerEncoder`,
    `keras_hub.models.BertBackbone.from_preset`) or a Keras application (`ResNet50`): a library
    layer, identified by its API and literal arguments (a preset name is one); also a saved
    model loaded or cloned (`keras.models.load_model`)."""
    if dotted.startswith("keras_hub."):
        return _hub_layer(dotted)
    if dotted.startswith("keras.applications."):
        return _application(dotted)
    if dotted in _KERAS_MODEL_MAKERS:
        return True
    return dotted.startswith(_KERAS_LAYER_PACKAGES) and not dotted.rsplit(".", 1)[1].startswith("_")


# Keras layer-package members that are no step of a model's layers: `Input` makes the graph's
# input tensor, the others are plumbing.
_NOT_STEPS = frozenset({"Input", "InputSpec", "serialize", "deserialize", "get"})


def is_sequence_step(dotted: str) -> bool:
    """True for a Keras layer that is a step of a model's layer sequence, weights or not."""
    return is_keras_layer(dotted) and dotted.rsplit(".", 1)[1] not in _NOT_STEPS


def is_weightless_layer(dotted: str) -> bool:
    """True for a Keras layer class that never owns weights (`Dropout`, `GlobalMaxPooling1D`)."""
    return is_keras_layer(dotted) and not creates_variables(dotted)


# Keras functions that make a model with weights: layers of a library, identified by their
# arguments (a saved model's path), never skipped.
_KERAS_MODEL_MAKERS = frozenset(
    {
        "keras.models.load_model",
        "keras.saving.load_model",
        "keras.models.clone_model",
        "keras.models.model_from_json",
        "keras.models.model_from_config",
    }
)


def is_built_model(dotted: str) -> bool:
    """A library call that returns a model with its weights already made: a keras_hub model, a
    Keras application, a loaded or cloned model."""
    return (
        dotted in _KERAS_MODEL_MAKERS
        or (dotted.startswith("keras.applications.") and _application(dotted))
        or (dotted.startswith("keras_hub.models.") and _hub_layer(dotted))
    )


def _application(dotted: str) -> bool:
    """A Keras application model (`keras.applications.ResNet50`, also by its module,
    `keras.applications.resnet50.ResNet50`): a library layer with weights."""
    return dotted.rsplit(".", 1)[1][:1].isupper()


def _hub_class(dotted: str) -> str:
    """The class a keras_hub API names: `keras_hub.models.BertBackbone.from_preset` ->
    BertBackbone."""
    parts = dotted.split(".")
    return parts[-2] if parts[-1] == "from_preset" else parts[-1]


def _hub_layer(dotted: str) -> bool:
    """A keras_hub layer or model class, or its `from_preset` constructor."""
    parts = dotted.split(".")
    if len(parts) < 3 or parts[1] not in ("layers", "models"):
        return False
    leaf = _hub_class(dotted)
    return leaf[:1].isupper() and (parts[-1] == "from_preset" or len(parts) == 3)


# Methods of containers, strings and tensors that create nothing and give a plain value (argument
# relevance reads them as Python); the mutating ones change their receiver.
PURE_METHODS = frozenset(
    "get_shape shape as_list get items keys values format join split strip lower upper "
    "startswith endswith copy index count".split()
)
MUTATING_METHODS = frozenset("append extend insert update add setdefault set_shape".split())
# Every method known to create nothing whatever object it is called on: those above, the rest of a
# builtin container's, and a tensor's or a variable's (`x.get_shape().as_list()`, `v.assign(...)`).
# Not `split`/`join` (nor `encode`/`decode`): encoders and layers also name their methods so. Any
# other method of an object the scan cannot resolve (`backbone.encode(x)`) may create variables.
_CREATES_NOTHING = (
    PURE_METHODS
    | MUTATING_METHODS
    | frozenset(name for kind in (list, dict, set) for name in dir(kind) if name[0] != "_")
    | frozenset(
        "eval numpy consumers read_value value assign assign_add assign_sub "
        "initialized_value".split()
    )
) - {"split", "join"}


def creates_nothing(method: str) -> bool:
    """True for a method that creates nothing on any object (a container's, a tensor's)."""
    return method in _CREATES_NOTHING


# Keywords of library layers that never change the variables they create.
NO_VARIABLE_KEYWORDS = frozenset({"mask_zero", "input_length"})

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


# `self.add_weight(...)` in a class that does not define it: the Keras layer method that creates
# a variable (`add_variable` is its older tf.keras spelling).
LAYER_WEIGHT_METHODS = {
    "add_weight": "keras.layers.Layer.add_weight",
    "add_variable": "keras.layers.Layer.add_weight",
}
