"""The per-file transfer shim: one `generated/<file stem>_transfer.py` per model file, holding
one runtime object per model of the file, whatever its shape (build function, class, build
method, model_fn, create_model), and the one shim API (`names.SHIM_FUNCTIONS`).

Shims re-export no canonical builder, for any shape: layers_common holds the canonical copies,
and a model that imports one from there keeps importing it from there; the call is marked
where the model makes it (`with <shim>.layer(root, position):`), as a call of a builder
imported from any other file is. (Shims of build functions used to re-export those builders
under the model's names; `sync` moves such imports back to layers_common.)

A Keras model file's shim (every model of the file builds Keras layer objects) holds one
`KerasModelTransfer` per model and a `KerasFileTransfer`, and binds the Keras shim API
(`names.KERAS_SHIM_FUNCTIONS`): the same template, other classes and functions. A TF1 shim whose
file calls `tf.compat.v1.layers`/`rnn_cell` chooses tf-keras (`legacy_switch`); no other does.

Python prepares every line; `templates/shim.py.jinja` only places them. Data flows from render
(the plan) to here (the shim's text); this module never imports render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from codegen import names
from codegen.emit import text
from codegen.names import LayerComment, is_identifier, layer_comment_lines

if TYPE_CHECKING:
    import jinja2

# Where a layer's comment starts in the shim: inside the model's tuple of layers.
_LAYER_INDENT = 8


class ShimError(Exception):
    """A name from the scanned code that cannot be placed safely in a shim."""


@dataclass(frozen=True)
class ShimLayer:
    """One shared layer of one model, as its shim's runtime needs it."""

    position: int  # in the model's trunk, 0-based
    key: str  # canonical layer key under the scope prefix
    label: str  # readable, for the comment and reports
    builder: str = ""  # routed builder or method qualname; "" for a marked layer
    occurrence: int = 0  # which call of `builder` in the model's build
    marked: bool = False  # True: found by its `with layer(root, position)` mark
    expected: tuple[str, ...] | None = None  # keys the layer must create, when known
    shared_with: str = ""  # the partner models, as the comment lists them

    def fields(self) -> list[str]:
        """The `_runtime.SharedLayer(...)` keyword arguments, as source."""
        fields = [
            f"builder={text.string(self.builder)}",
            f"occurrence={self.occurrence}",
            f"key={text.string(self.key)}",
        ]
        if self.marked:
            fields.append(f"position={self.position}")
        if self.expected is not None:
            fields.append(f"expected={_tuple(self.expected)}")
        fields.append(f"label={text.string(f'layer {self.position + 1} {self.label}')}")
        return fields

    def comment(self) -> list[str]:
        """The comment lines above the layer (without indentation)."""
        comment = LayerComment(self.position + 1, self.label, self.key, self.shared_with or "-")
        return layer_comment_lines(comment, text.WIDTH - _LAYER_INDENT)


@dataclass(frozen=True)
class ShimModel:
    """One model of the file: its id, the root name its marks and decorators use, its layers."""

    id: str  # "models/textcnn.py::TextCNN"
    root: str  # "TextCNN", "build_model"
    layers: tuple[ShimLayer, ...]
    build_function: bool = False  # a module-level build function, once routed with `@build`


@dataclass(frozen=True)
class FileShim:
    """Everything one `generated/<file stem>_transfer.py` holds."""

    path: str
    alias: str  # the name model files bind the shim to: `sentiment_transfer`
    models: tuple[ShimModel, ...]
    collection: str  # the configured ones: their defaults live in Config only
    scope_prefix: str
    shared_with: str = ""
    keras: bool = False  # Keras 3 models: the Keras family's marks, recorded by layer object
    legacy_keras: bool = False  # the file uses tf.compat.v1.layers or rnn_cell: needs tf-keras


def object_name(root: str) -> str:
    """The module-level name of a model's object: its root, made a safe identifier."""
    name = root.rpartition(".")[2]
    if not is_identifier(name):
        raise ShimError(f"refusing to generate code with the name {root!r}")
    return f"{name}_model" if names.is_reserved_in_shim(name) else name


def _tuple(items: tuple[str, ...]) -> str:
    """A tuple of strings on one line (`("v0",)`): short, and ruff format keeps it so."""
    inner = ", ".join(text.string(item) for item in items)
    return f"({inner},)" if len(items) == 1 else f"({inner})"


def render_file_shim(shim: FileShim, env: jinja2.Environment) -> str:
    """The shim's text (without the generated-file header, which write adds)."""
    objects = [object_name(m.root) for m in shim.models]
    # Two classes' `build` methods in one file: those are named by their whole root.
    clash = {name for name in objects if objects.count(name) > 1}
    objects = [
        object_name(m.root.replace(".", "_")) if name in clash else name
        for name, m in zip(objects, shim.models, strict=True)
    ]
    if len(set(objects)) != len(objects):
        raise ShimError(f"{shim.path}: two models would get the same shim name: {objects}")
    models = [
        {
            "name": name,
            "id": text.string(m.id),
            "root": text.string(m.root),
            "layers": [{"fields": lay.fields(), "comment": lay.comment()} for lay in m.layers],
        }
        for name, m in zip(objects, shim.models, strict=True)
    ]
    spelled = ", ".join(f"`{name}`" for name in objects)
    named = f"{spelled} {'is' if len(objects) == 1 else 'are'} also here by name."
    shares = f"Shares layers with: {shim.shared_with}." if shim.shared_with else ""
    title = (
        f"Transfer shim for {text.one_line(shim.path)}: its models' shared layers under "
        "canonical checkpoint keys."
    )
    prefix = f"{names.SHIM_SCOPE_PREFIX} = {text.string(shim.scope_prefix)}"
    if shim.keras:
        return env.get_template("shim.py.jinja").render(
            docstring=text.docstring(
                title,
                "`codegen apply` routes each Keras model where it is entered "
                f'(`@{names.MODEL}("<root>")`, which keeps the signature Keras reads) and marks '
                f'each shared layer object where it is made (`{names.LAYER}("<root>", '
                "<position>, <layer>)` returns the layer). Weights keep their own paths; the "
                "keys exist only in transfer files (safetensors). The module-level functions "
                f"take the model object, whichever of this file's models it is; {named}",
                shares,
            ),
            imports=["from . import _runtime"],
            legacy_keras=(),
            settings=[prefix],
            models=models,
            model_class="KerasModelTransfer",
            model_options=[f"scope_prefix={names.SHIM_SCOPE_PREFIX}"],
            file_class="KerasFileTransfer",
            types=names.SHIM_TYPES,
            functions=names.KERAS_SHIM_FUNCTIONS,
            legacy=None,
        )
    # The old routing of a build function (`@<alias>.build`, `<alias>.MODEL`) keeps working for
    # one release where it existed: a file whose only model is a build function.
    old = shim.models[0] if len(shim.models) == 1 and shim.models[0].build_function else None
    return env.get_template("shim.py.jinja").render(
        docstring=text.docstring(
            title,
            "`codegen apply` routes each model where it is entered "
            f'(`@{names.MODEL}("<root>")`), its shared builders and methods '
            f'(`@{names.SHARED_LAYER}("<qualname>")`) and '
            f'the calls and inline layers it marks (`with {names.LAYER}("<root>", '
            "<position>):`). Variables keep their own names; the keys exist only in transfer "
            "checkpoints. The module-level functions act on whichever of this file's models "
            f"were built in the given graph or session; {named}",
            shares,
        ),
        imports=[
            *(["import os as _os", ""] if shim.legacy_keras else []),
            "from . import _runtime",
        ],
        legacy_keras=legacy_switch() if shim.legacy_keras else (),
        settings=[
            f"{names.SHIM_COLLECTION} = {text.string(shim.collection)}",
            prefix,
        ],
        models=models,
        model_class="ModelTransfer",
        model_options=[
            f"collection={names.SHIM_COLLECTION}",
            f"scope_prefix={names.SHIM_SCOPE_PREFIX}",
        ],
        file_class="FileTransfer",
        types=names.SHIM_TYPES,
        functions=names.SHIM_FUNCTIONS,
        legacy=None if old is None else _deprecated(shim, old),
    )


def legacy_switch() -> list[str]:
    """The lines that choose tf-keras for a TF1 file's `tf.compat.v1.layers`/`rnn_cell` (with
    `import os as _os` above them); `setdefault`, so a program's own choice wins."""
    return [
        *text.comment(
            "tf.compat.v1.layers and rnn_cell need tf-keras under TF >= 2.16; TF reads this "
            "when tf.keras first loads. Only TF1 files that use them set it (docs/runtime.md)."
        ),
        '_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")',
    ]


def _deprecated(shim: FileShim, model: ShimModel) -> dict[str, object]:
    """The deprecated `build` and `MODEL` of a build function's shim, as the template needs them."""
    routed = f'@{shim.alias}.{names.MODEL}("{model.root}")'
    note = (
        f"Deprecated, kept for one release so that files routed with `@{shim.alias}.build` "
        f"still import: `codegen sync` routes them with `{routed}` (and `codegen check` "
        "fails until it has)."
    )
    return {
        "note": text.comment(note),
        "build": names.BUILD,
        "constant": names.SHIM_DEPRECATED[1],
        "root": text.string(model.root),
        "id": text.string(model.id),
    }
