"""Frozen dataclasses passed between the pipeline stages; no stage shares anything else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in one place, reported rather than raised."""

    path: str
    line: int
    column: int
    code: str
    severity: Severity
    message: str

    def format(self) -> str:
        """Render as `path:line:col: CODE message`, the form editors can jump to."""
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"

    def to_json(self) -> dict[str, object]:
        """Schema-1 diagnostic object."""
        return {
            "code": self.code,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


# --- discover -----------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    """A discovered model file: its display path and, if readable, its decoded text."""

    path: str  # relative to the scan root, with "/" separators
    abspath: str
    text: str | None
    digest: str  # sha256 of the raw bytes ("" when unreadable)
    diagnostics: tuple[Diagnostic, ...] = ()


# --- extract ------------------------------------------------------------------


@dataclass(frozen=True)
class LayerCall:
    """One call inside a function body that may create a layer, in evaluation order."""

    callee: str  # module-local qualname ("conv_block") or resolved API ("tensorflow.layers.dense")
    local: bool  # True when `callee` is defined in the same module
    args: tuple[tuple[str, str], ...]  # literal hyperparameters: (param key, repr of the value)
    names: tuple[tuple[str, str], ...]  # literal name/scope arguments, which never decide a match
    opaque: tuple[str, ...]  # keys of arguments that are not literals (tensors, expressions)
    line: int
    column: int
    static: bool  # False inside a loop, branch, try, comprehension or lambda
    # Arguments that name a class or function (`layer=Embedding`): (param key, "L:" + module-local
    # qualname or "A:" + resolved dotted name). They are also in `opaque`.
    refs: tuple[tuple[str, str], ...] = ()
    # Arguments that hand over an object the scan cannot resolve, alone or inside a list, dict or
    # condition (`trunk(backbone, x)`, `f(enc=[self.held])`): (param key, how it is spelled, as
    # scan/extract/unseen.py spells an unseen callee: "param.backbone", "self.held").
    given: tuple[tuple[str, str], ...] = ()
    # Opaque arguments that read names bound in other modules (`Dense(H * 2)`, H imported), a name
    # its own module binds more than once, or the function's parameters: (param key, the
    # argument's shape with `$0`, `$1`... for those names, the names: as the module's imports
    # resolve them, ":H" for its own, "@#2" for parameter 2, "@units" for a keyword-only one).
    # The plan links each to what it stands for (linking.py `origin`, identity.py `read_origins`).
    reads: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class InlineLayer:
    """A statement or block of a function body that creates variables itself, not via a builder.

    Blocks are `with` bodies that only open scopes or devices (the header never counts), loops and
    branches (one layer when copied whole), or single statements (`self.W = tf.Variable(...)`)."""

    kind: Literal["inline-api", "inline-block"]
    api: str  # the first variable-creating API it calls, resolved ("tensorflow.compat.v1.Variable")
    code_hash: str  # its code under the clone rules: names renumbered, name strings blanked
    label: str  # "embedding: tf.Variable [vocab_size, embedding_size]"
    line: int  # first line of the statement or block (the `with`/`for` line for a block)
    end_line: int
    calls: tuple[int, ...]  # indices of the function's layer_calls inside it, in order
    static: bool  # False inside a loop or branch that is not itself the layer
    frozen: bool  # every variable it creates is a non-trainable weight (trainable=False)
    known_shape: bool  # False when a shape is only known at run time (params[...], config lookups)
    # How many variables it creates, when every one comes from `tf.Variable`/`get_variable` in
    # straight-line code (None: a library layer, a loop, or a builder call decides the count).
    variables: int | None = None


@dataclass(frozen=True)
class FunctionFacts:
    """What the scanner needs to know about one function, method or nested function."""

    qualname: str  # "conv_block", "Model.embed", "build.<locals>.inner" style without <locals>
    name: str
    kind: Literal["function", "method", "nested"]
    line: int
    column: int
    end_line: int
    params: tuple[str, ...]  # positional-or-keyword parameters in order, `self`/`cls` dropped
    param_defaults: tuple[str | None, ...]  # repr of each literal default, "<expr>" or None
    kwonly: tuple[str, ...]
    varargs: bool
    exact_hash: str  # body without comments/docstring/whitespace, names kept
    renamed_hash: str  # locals, params and name strings replaced by positional placeholders
    skeleton_hash: str  # renamed form with every literal value blanked: near-miss candidates
    deps: tuple[
        str, ...
    ]  # module-level symbols referenced, in placeholder order (deep equivalence)
    direct_creation: bool  # calls a variable-creating API itself
    api_calls: tuple[str, ...]  # resolved external dotted names called, in order
    name_strings: tuple[str, ...]  # variable/scope name literals in order of first appearance
    literals: tuple[str, ...]  # numbers, strings, APIs and operators in order: near-miss reasons
    layer_calls: tuple[LayerCall, ...]
    local_calls: tuple[str, ...]  # qualnames of module-local functions/methods this one calls
    external_calls: tuple[str, ...]  # resolved dotted names of non-API imports called (other files)
    # Names of the variables it creates, relative to its layer scope, as symbolic parts
    # ("s:W" literal, "p:3" parameter 3); None when they cannot be known without running it.
    variable_names: tuple[tuple[str, ...], ...] | None = None
    # Statements and blocks that create variables themselves (counters and slots never do).
    inline_layers: tuple[InlineLayer, ...] = ()
    # Parameters that provably never change the variables it creates (scan/extract/relevance).
    inert_params: tuple[str, ...] = ()
    # Methods called on objects the scan does not resolve (`sess.run` -> "run") and builtins
    # called (`open`), once each in order: what tells a driver (it runs things) from a builder.
    object_calls: tuple[str, ...] = ()
    # Attributes it reads through `self`/`cls` (`self.units`): the class attributes that matter.
    self_reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassFacts:
    """A module-level class: its bases as spelled-and-resolved and its methods, for class models."""

    name: str
    line: int
    bases: tuple[str, ...]  # local class name, or resolved dotted import ("base_model.BaseModel")
    methods: tuple[str, ...]  # method names in source order


@dataclass(frozen=True)
class SymbolFacts:
    """A module-level constant, class or import binding that functions may depend on."""

    name: str
    kind: Literal["constant", "class", "import"]
    line: int
    shallow_hash: str  # value/body hash with local references replaced by placeholders
    deps: tuple[str, ...]  # module-level symbols referenced, in placeholder order
    source: str  # text to copy into layers_common (statement for constants/classes/imports)
    target: str  # for imports: resolved dotted target; for constants: repr of a literal value or ""
    # A class's data attributes that use no module-level symbol (`units = 3`, `config_class =
    # BertConfig`), each (name, hash of its value), kept out of `shallow_hash`: one decides only
    # when a method that builds the class's layer reads it (see plan/classes.py).
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ModuleFacts:
    """Everything extracted from one parsed file; cached by content hash."""

    path: str
    digest: str
    functions: tuple[FunctionFacts, ...]
    symbols: tuple[SymbolFacts, ...]
    aliases: tuple[tuple[str, str], ...]  # local name -> resolved dotted module/API path
    diagnostics: tuple[Diagnostic, ...]
    ok: bool
    text: str  # kept so emit can copy canonical definitions without re-reading the disk
    classes: tuple[ClassFacts, ...] = ()
    # `from x import *` of modules that are not libraries, as spelled (relative ones keep dots).
    star_imports: tuple[str, ...] = ()
    star_libraries: tuple[str, ...] = ()  # `from keras.layers import *`: library star imports
    # Module-level statements outside defs, classes and `if __name__ == "__main__"`, as one
    # function (qualname "<module>"), when they create variables: module-level graph code.
    module_code: FunctionFacts | None = None
    # Names used but never bound, taken to come through a star import (`tf` -> `tensorflow`).
    assumed: tuple[tuple[str, str], ...] = ()
    tf1: bool = False  # TF1 code through `import tensorflow as tf`: tf.X means tf.compat.v1.X


# --- fingerprint --------------------------------------------------------------


@dataclass(frozen=True)
class CloneClass:
    """Builders that are the same code (exact) or the same up to consistent renaming."""

    id: str  # "C1", ... in deterministic order
    kind: Literal["exact", "renamed"]
    name: str  # the canonical member's function name, made unique in layers_common
    canonical: str  # builder id of the canonical member
    members: tuple[str, ...]  # builder ids "path::qualname", sorted
    content_hash: str  # stable across runs and unrelated edits; feeds checkpoint keys


@dataclass(frozen=True)
class NearMiss:
    """Two builders that look alike but must not be merged, with the reason."""

    a: str
    b: str
    reason: str
    diff: str


@dataclass(frozen=True)
class Builder:
    """A scanned function with its verdict: creates variables or not, clone class or none."""

    id: str
    path: str
    qualname: str
    line: int
    creates_variables: bool
    clone_class: str | None


# --- plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One entry of a model's layer sequence, identified independent of the model's names."""

    callee: str  # clone class id, or resolved API dotted name, or "local:<qualname>" if unshared
    label: str  # readable name for reports and scopes ("conv_block", "tf.layers.dense")
    args: tuple[tuple[str, str], ...]
    names: tuple[tuple[str, str], ...]  # literal name/scope arguments at the call site
    line: int
    builder: str | None  # model-local qualname of the called builder, when local
    occurrence: int  # how many earlier calls of the same callee this model's build made
    signature: str  # hash of callee identity and literal args: what must be equal to match
    # What the layer is: a builder (function or class) call, a method of the model's class, a
    # library call written inline, or an inline variable-creating statement or block.
    kind: Literal["builder", "method", "inline-api", "inline-block"] = "builder"
    holder: str = ""  # qualname of the function or method whose body holds the layer
    path: str = ""  # file of the holder ("" = the model's own file)
    end_line: int = 0  # last line of an inline layer's statement or block (0 = not inline)
    builder_path: str = ""  # file that defines `builder` when it is imported from another file
    frozen: bool = False  # a non-trainable weight (trainable=False): still a layer
    known_shape: bool = True  # False when its shape is only known at run time (params[...])
    variables: int | None = None  # an inline layer's variable count, when known statically
    # (holder, line) of the call in the model's own file through which a helper of another file
    # reached this layer (`encoder = helpers.build_encoder(...)` in a model_fn), or None.
    site: tuple[str, int] | None = None


@dataclass(frozen=True)
class Model:
    """A model file's build function and its ordered layer sequence."""

    id: str  # "models/a.py::build_model"
    path: str
    build: str  # qualname of the build function
    name: str  # sanitised unique model name (a file's only model: its stem, as the shim is)
    layers: tuple[Layer, ...]
    static_depth: int  # layers after this index sit in loops/branches and never transfer
    # Where the model is entered (a build function, a class's constructor or build method, a
    # model_fn and the create_model it calls), each routed with `@<shim>.model(root)`; empty for
    # module-level code, which has no function to enter.
    entries: tuple[str, ...] = ()
    root: str = ""  # the name the shim's object, `model(...)` and `layer(...)` marks use
    # The root's shape: a module-level build function, a class whose construction builds the
    # graph, a build method, an Estimator model_fn, or module-level graph code.
    kind: Literal["function", "class", "method", "model_fn", "module"] = "function"
    # Function ids whose bodies make up the root, in the order the root reaches them
    # (`TextCNN.__init__`, `TextCNN.instantiate_weights`, ...; a model_fn and its create_model).
    members: tuple[str, ...] = ()
    # Whether render/apply can route it: every shape but module-level script code, which has no
    # function to enter (and a file that mixes a build function with other models: see plan).
    routable: bool = True
    # The model's shim: one `<file stem>_transfer` per file, holding one object per model of
    # the file.
    shim: str = ""


@dataclass(frozen=True)
class TrunkLayer:
    """A transferable trie node as one model sees it: where its variables live."""

    position: int
    builder: str | None  # model-local builder qualname; None for a library layer
    callee: str
    occurrence: int
    key: str  # canonical scope under the prefix, derived from the whole path
    label: str
    shared_with: tuple[str, ...]  # every model id on this trie node, this one included
    expected: tuple[str, ...] | None = None  # canonical variable names the layer must create
    # (function qualname, first line, last line) of a shared inline layer or of a call of an
    # imported builder: apply marks it in place with `with <shim>.layer(root, position):`.
    inline: tuple[str, int, int] | None = None
    # A Keras model's layer: the mark wraps the layer object's constructor expression
    # (`<shim>.layer(root, position, layers.Conv1D(...))`), since weights appear at first call.
    keras: bool = False


@dataclass(frozen=True)
class TrieNode:
    """A layer position that two or more models reach with identical histories."""

    depth: int  # layers from the start, this one included (1 = the first layer)
    label: str
    models: tuple[str, ...]  # model ids, two or more


@dataclass(frozen=True)
class Divergence:
    """Why two models stop sharing at a given layer, in words a person can act on."""

    a: str
    b: str
    depth: int
    reason: str


@dataclass(frozen=True)
class Plan:
    """Everything emit, apply and check need; pure function of the scan."""

    files: tuple[tuple[str, str], ...]  # (path, "ok" | "error")
    builders: tuple[Builder, ...]
    clone_classes: tuple[CloneClass, ...]
    near_misses: tuple[NearMiss, ...]
    models: tuple[Model, ...]
    trunks: tuple[tuple[str, tuple[TrunkLayer, ...]], ...]  # model id -> transferable layers
    nodes: tuple[TrieNode, ...]  # shared trie nodes; pairwise depths derive from them
    divergences: tuple[Divergence, ...]
    diagnostics: tuple[Diagnostic, ...]
    functions: dict[str, FunctionFacts] = field(default_factory=dict, compare=False, hash=False)
    modules: dict[str, ModuleFacts] = field(default_factory=dict, compare=False, hash=False)
    common: tuple[str, ...] = ()  # clone class ids whose canonical copies layers_common holds


# --- apply --------------------------------------------------------------------


@dataclass(frozen=True)
class RootRoute:
    """A function or method where one of a file's models is entered: `@<shim>.model("<name>")`."""

    qualname: str  # "TextCNN.__init__", "model_fn_builder.model_fn", "create_model"
    model: str  # the root's name in the shim ("TextCNN"), as `layer(...)` marks name it


@dataclass(frozen=True)
class LayerMark:
    """A shared inline layer (or a call of an imported builder): `<shim>.layer(model, position)`.

    Added as an item of the `with` that holds exactly the lines `line`..`end_line`, or as a new
    `with` around the statements those lines cover.
    """

    function: str  # qualname of the function whose body holds the statements
    line: int  # first line of the layer's statements, 1-based, in the text that was scanned
    end_line: int  # last line, inclusive
    model: str  # root name, as in RootRoute.model
    position: int  # the layer's position in that model's trunk
    # A Keras layer: `<shim>.layer(model, position, <constructor>)` around the expression that
    # makes the layer object on line `line`, not a `with` around statements.
    expression: bool = False
    name: str = ""  # the layer's callee, last part (`Conv1D`): tells calls on one line apart


DEFAULT_LINE_LENGTH = 88  # ruff's and black's default, when the project sets none


@dataclass(frozen=True)
class ModelEdit:
    """What `apply` must do to one model file to route it through its shim."""

    path: str
    shim_module: str  # dotted import path, e.g. "generated.sentiment_transfer"
    shim_alias: str  # local name bound to the shim, e.g. "sentiment_transfer"
    shared_builders: tuple[str, ...]  # builder qualnames to decorate with shared_layer
    common_module: str  # dotted path of layers_common, where builders imported from a shim go
    roots: tuple[RootRoute, ...] = ()  # where each of the file's models is entered
    marks: tuple[LayerMark, ...] = ()  # shared inline layers and calls of imported builders
    line_length: int = DEFAULT_LINE_LENGTH  # a mark that would pass it goes on a continuation

    @property
    def routes(self) -> bool:
        """Whether the file routes anything through its shim (False: un-route it)."""
        return bool(self.shared_builders or self.roots or self.marks)


# --- write --------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One file that would be created, updated or deleted, and why."""

    path: str
    action: Literal["create", "update", "delete", "refuse"]
    reason: str
    old: str | None
    new: str | None
