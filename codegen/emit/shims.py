"""The shim of a file whose models are classes, model_fns or create_models: one object per model.

Python prepares every line; `templates/file_transfer.py.jinja` only places them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from codegen.names import LayerComment, format_layer_comment, is_identifier

if TYPE_CHECKING:
    import jinja2

# The shim's own API: a model object named like one of these would shadow it.
RESERVED = frozenset(
    {
        "model",
        "layer",
        "shared_layer",
        "variable_map",
        "transferable_variables",
        "trainable_variables",
        "saver",
        "save",
        "restore",
        "init_from_checkpoint",
        "copy",
        "TransferError",
        "TransferReport",
        "TRANSFERABLE_VARIABLES",
        "SCOPE_PREFIX",
    }
)


class ShimError(Exception):
    """A name from the scanned code that cannot be placed safely in a shim."""


@dataclass(frozen=True)
class ShimLayer:
    """One shared layer of one model, as its shim's runtime needs it."""

    position: int  # in the model's trunk, 0-based
    key: str  # canonical layer key under the scope prefix
    label: str  # readable, for the comment and reports
    builder: str = ""  # routed builder or method qualname; "" for a marked inline layer
    occurrence: int = 0  # which call of `builder` in the model's build
    marked: bool = False  # True: found by its `with layer(root, position)` mark
    expected: tuple[str, ...] | None = None  # keys the layer must create, when known
    shared_with: str = ""  # the partner models, as the comment lists them

    def source(self) -> str:
        """The `_runtime.SharedLayer(...)` expression."""
        fields = [f"builder={self.builder!r}", f"occurrence={self.occurrence}", f"key={self.key!r}"]
        if self.marked:
            fields.append(f"position={self.position}")
        if self.expected is not None:
            fields.append(f"expected={tuple(self.expected)!r}")
        fields.append(f"label={f'layer {self.position + 1} {self.label}'!r}")
        return "_runtime.SharedLayer(" + ", ".join(fields) + ")"

    def comment(self) -> str:
        return format_layer_comment(
            LayerComment(self.position + 1, self.label, self.key, self.shared_with or "-")
        )


@dataclass(frozen=True)
class ShimModel:
    """One model of the file: its id, the root name its marks and decorators use, its layers."""

    id: str  # "models/textcnn.py::TextCNN"
    root: str  # "TextCNN"
    layers: tuple[ShimLayer, ...]


@dataclass(frozen=True)
class FileShim:
    """Everything one `generated/<file stem>_transfer.py` holds."""

    path: str
    models: tuple[ShimModel, ...]
    collection: str  # the configured ones: their defaults live in Config only
    scope_prefix: str
    shared_with: str = ""


def object_name(root: str) -> str:
    """The module-level name of a model's object: its root, made a safe identifier."""
    name = root.rpartition(".")[2]
    if not is_identifier(name):
        raise ShimError(f"refusing to generate code with the name {root!r}")
    return f"{name}_model" if name in RESERVED or name.startswith("_") else name


def render_file_shim(shim: FileShim, env: jinja2.Environment | None = None) -> str:
    """The shim's text (without the generated-file header, which write adds)."""
    if env is None:
        from codegen.emit.render import environment  # jinja2: only when rendering

        env = environment()

    names = [object_name(m.root) for m in shim.models]
    if len(set(names)) != len(names):
        raise ShimError(f"{shim.path}: two models would get the same shim name: {names}")
    models = [
        {
            "name": name,
            "id": repr(m.id),
            "root": repr(m.root),
            "layers": [{"source": lay.source(), "comment": lay.comment()} for lay in m.layers],
        }
        for name, m in zip(names, shim.models, strict=True)
    ]
    return env.get_template("file_transfer.py.jinja").render(
        path=shim.path.replace("\n", " "),
        roots=", ".join(f"`{name}`" for name in names),
        single=len(names) == 1,
        shared_with=shim.shared_with,
        collection=repr(shim.collection),
        scope_prefix=repr(shim.scope_prefix),
        models=models,
    )
