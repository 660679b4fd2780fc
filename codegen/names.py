"""Names and formats that cross stages: module names, our decorators, the shims' layer comments.

Each format has its writer and its reader here, so the two cannot drift apart.
"""

from __future__ import annotations

import keyword
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal


def is_identifier(name: str) -> bool:
    """A name Python binds as written: an identifier, not a keyword, unchanged by NFKC."""
    # Python NFKC-normalises identifiers: `ﬁt` would silently be bound as `fit`.
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and unicodedata.normalize("NFKC", name) == name
    )


# The collection and the scope prefix the shims pass to the runtime: one component of a
# TensorFlow name. The runtime cannot import codegen and checks its copy of this pattern
# (`_SETTING_NAME` in codegen/runtime); tests/test_config.py holds the two equal.
SETTING_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def setting_name_problem(key: str, value: str) -> str:
    """Why `value` cannot be the runtime's `key` (collection, scope_prefix), or "" when it can."""
    if SETTING_NAME.fullmatch(value):
        return ""
    return (
        f"{key} {value!r} is not one TensorFlow name component (letters, digits, `_.-`, starting"
        " with a letter or digit, no `/`): the generated shims would raise on import"
    )


COMMON_MODULE = "layers_common"  # one canonical copy of each shared builder
SHIM_SUFFIX = "_transfer"  # generated/<model>_transfer.py, one shim per sharing model

# The decorators a shim offers: `@<alias>.shared_layer("qualname")` on a shared builder or
# method, and `@<alias>.model("<root>")` where a model is entered (a build function, a class's
# constructor or build method, a model_fn, a create_model). `@<alias>.build` is the old spelling
# of `model` for a build function: still recognised (and rewritten by `sync`), never written.
RoutingKind = Literal["shared_layer", "build", "model"]
SHARED_LAYER: Final = "shared_layer"
BUILD: Final = "build"
MODEL: Final = "model"
# The context manager that marks a shared inline layer: `with <alias>.layer("<root>", <position>):`;
# for a Keras layer, the expression mark `<alias>.layer("<root>", <position>, <layer object>)`.
LAYER: Final = "layer"
# The callee the scan gives a read of layer objects held where it cannot place their use
# (`self.blocks[k]`): the plan ends the model's sequence there (CG231).
UNPLACED: Final = "unplaced:"

# The shim API: every per-file shim binds each of these to its `_runtime.FileTransfer`'s method
# of the same name, in this order. (`freeze` joins when the runtime offers it.)
SHIM_FUNCTIONS: Final = (
    MODEL,
    LAYER,
    SHARED_LAYER,
    "save",
    "restore",
    "copy",
    "saver",
    "init_from_checkpoint",
    "variable_map",
    "transferable_variables",
    "trainable_variables",
    "freeze",
)
# The Keras shim API, bound to its `_runtime.KerasFileTransfer`'s methods: marks record layer
# objects (`layer(root, position, obj)` returns obj), and the weight functions take the model.
KERAS_SHIM_FUNCTIONS: Final = (
    MODEL,
    LAYER,
    "save",
    "restore",
    "copy",
    "variable_map",
    "transferable_variables",
    "trainable_variables",
    "freeze",
)
# The runtime's types a shim re-exports under the same names (`_runtime.TransferError`, ...).
SHIM_TYPES: Final = ("TransferError", "TransferReport", "Entry")
# The shim's settings constants: the collection its variables join, the keys' scope prefix.
SHIM_COLLECTION: Final = "TRANSFERABLE_VARIABLES"
SHIM_SCOPE_PREFIX: Final = "SCOPE_PREFIX"
SHIM_SETTINGS: Final = (SHIM_COLLECTION, SHIM_SCOPE_PREFIX)
# Kept for one release in the shims of build functions, so files routed the old way import:
# `build` (the old decorator, now `model`) and `MODEL` (the model's id).
SHIM_DEPRECATED: Final = (BUILD, "MODEL")
# Every module-level name a shim defines: a model's object named like one would shadow it.
SHIM_API: Final = frozenset((*SHIM_FUNCTIONS, *SHIM_TYPES, *SHIM_SETTINGS, *SHIM_DEPRECATED))


def is_reserved_in_shim(name: str) -> bool:
    """Whether a shim cannot bind a model's object to `name` (its API, or a private name)."""
    return name in SHIM_API or name.startswith("_")


def shim_alias(model_name: str) -> str:
    """The local name a model binds its shim to (`sentiment` -> `sentiment_transfer`)."""
    return f"{model_name}{SHIM_SUFFIX}"


def shim_file(model_name: str) -> str:
    """The shim's file name in the output folder."""
    return f"{shim_alias(model_name)}.py"


def shim_module(package: str, model_name: str) -> str:
    """The shim's dotted import path (`generated.sentiment_transfer`)."""
    return f"{package}.{shim_alias(model_name)}"


def common_file() -> str:
    """layers_common's file name in the output folder."""
    return f"{COMMON_MODULE}.py"


def common_module(package: str) -> str:
    """layers_common's dotted import path (`generated.layers_common`)."""
    return f"{package}.{COMMON_MODULE}"


def is_generated_call(dotted: str, package: str) -> bool:
    """Whether a resolved callee is a builder in the configured output `package` (its
    `layers_common` or a `<model>_transfer` shim): decided by the package, never by a suffix
    alone, so an unscanned library called `style_transfer` is not taken for generated code."""
    if not package:
        return False
    module = dotted.lstrip(".").rpartition(".")[0]
    owner, _, name = module.rpartition(".")
    return owner == package and (name == COMMON_MODULE or name.endswith(SHIM_SUFFIX))


def is_shim_file(name: str) -> bool:
    """Whether an output file name is a shim's."""
    return name.endswith(f"{SHIM_SUFFIX}.py")


def model_of_shim_file(name: str) -> str:
    """The model name a shim file belongs to (`ner_transfer.py` -> `ner`)."""
    return name.removesuffix(".py").removesuffix(SHIM_SUFFIX)


# A decorator's dotted callee spelling (`x_transfer.build`, `x_transfer.shared_layer` for a call).
_ROUTING = re.compile(rf"^(\w+){SHIM_SUFFIX}\.({SHARED_LAYER}|{BUILD}|{MODEL})$")


_LAYER_MARK = re.compile(rf"^\w+{SHIM_SUFFIX}\.{LAYER}$")


def is_layer_mark(dotted: str) -> bool:
    """Whether a `with` item's callee spelling is one of our layer marks (`x_transfer.layer`)."""
    return _LAYER_MARK.match(dotted) is not None


def routing_kind(dotted: str, *, alias: str | None = None) -> RoutingKind | None:
    """Which of our decorators a dotted callee spelling is, or None when it is not ours.

    With `alias`, only that shim's decorators count (whatever the alias is spelled like);
    without, any `<word>_transfer` shim's.
    """
    owner, _, attr = dotted.rpartition(".")
    if alias is not None:
        if owner != alias or attr not in (SHARED_LAYER, BUILD, MODEL):
            return None
    elif _ROUTING.match(dotted) is None:
        return None
    if attr == SHARED_LAYER:
        return SHARED_LAYER
    return MODEL if attr == MODEL else BUILD


@dataclass(frozen=True)
class LayerComment:
    """What a shim says about one shared layer in its comment line."""

    number: int  # 1-based position of the layer in the model's sequence
    label: str
    key: str
    shared_with: str  # the partner models, as the shim lists them


def format_layer_comment(comment: LayerComment) -> str:
    """The comment text (without `# `) a shim carries above each shared layer."""
    return (
        f"layer {comment.number}: {comment.label}, key {comment.key}, "
        f"shared with: {comment.shared_with}"
    )


_CONTINUED = "#   "  # how a layer comment's continuation lines start


def layer_comment_lines(comment: LayerComment, width: int) -> list[str]:
    """The comment as lines of at most `width` columns (from `#`), continuations `#   `-led."""
    return textwrap.wrap(
        format_layer_comment(comment),
        width=width,
        initial_indent="# ",
        subsequent_indent=_CONTINUED,
        break_long_words=False,
        break_on_hyphens=False,
    )


_LAYER_COMMENT = re.compile(r"^layer (\d+): (.+?), key (\S+), shared with: ?(.*)$")


def parse_layer_comments(text: str | None) -> dict[str, LayerComment]:
    """Every layer comment of a shim's text, by key (empty for no text)."""
    if not text:
        return {}
    found: dict[str, LayerComment] = {}
    lines = [line.strip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        if not line.startswith("# layer "):
            continue
        whole = line[2:]
        for more in lines[index + 1 :]:
            if not more.startswith(_CONTINUED):
                break
            whole += " " + more[len(_CONTINUED) :]
        match = _LAYER_COMMENT.match(whole)
        if match:
            key = match.group(3)
            found[key] = LayerComment(int(match.group(1)), match.group(2), key, match.group(4))
    return found


# How the scan spells the callee of a call of an object given at run time, which nothing scanned
# defines: held in an attribute (`self.encoder`), passed in (`param.backbone.encode`), an item or
# an attribute picked at run time (`self.blocks[?]`, `param.obj.?`, `LAYERS[?]`), or a method of
# an instance made with arguments the method's identity does not hold (`Encoder(...).encode`).
_GIVEN_PREFIXES = ("self.", "param.")
_ANY_ITEM = "[?]"
_ANY_ATTRIBUTE = ".?"
_OF_INSTANCE = "(...)."


def of_instance(cls: str, method: str) -> str:
    """The callee spelling of a method of an instance of `cls` made with arguments."""
    return cls + _OF_INSTANCE + method


def any_item(base: str) -> str:
    """The callee spelling of an item of `base` picked at run time (`self.blocks[i]`)."""
    return base + _ANY_ITEM


def any_attribute(base: str) -> str:
    """The callee spelling of an attribute of `base` picked at run time (`getattr(obj, name)`)."""
    return base + _ANY_ATTRIBUTE


def given_at_run_time(callee: str) -> bool:
    """Whether a callee is an object given at run time: two copies of the same code that call
    it may call different objects."""
    return (
        callee.startswith(_GIVEN_PREFIXES)
        or callee.endswith((_ANY_ITEM, _ANY_ATTRIBUTE))
        or _OF_INSTANCE in callee
    )
