"""What identifies a layer: a builder's clone class (or a custom layer class's), a call's
signature by argument position, and the classes or functions passed to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from codegen import stable_hash
from codegen.ids import function_id, id_path, id_qualname
from codegen.model import CloneClass, FunctionFacts, LayerCall
from codegen.plan.linking import Project
from codegen.plan.relevance import deciding
from codegen.scan import apis

if TYPE_CHECKING:
    from codegen.plan.fingerprint import Fingerprints


def canonical_params(functions: dict[str, FunctionFacts], clone: CloneClass) -> tuple[str, ...]:
    """Parameter names of a clone class's canonical copy, to label positional arguments."""
    canonical = functions[clone.canonical]
    # A class used as a layer is called with its constructor's arguments, not the method's.
    return () if canonical.kind != "function" else canonical.params


def arg_label(key: str, params: tuple[str, ...]) -> str:
    """`#1` becomes the canonical parameter name when it is known (reports only: signatures
    use positions, so which copy is canonical never changes a key)."""
    if key.startswith("#") and params:
        index = int(key[1:])
        if index < len(params):
            return params[index]
    return key


def labelled_args(
    call: LayerCall, params: tuple[str, ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """A builder call's (args, names) for reports, keyed by canonical parameter names: its
    literal arguments, then the others as `<expr>`, each group sorted."""
    args = tuple(sorted((arg_label(key, params), value) for key, value in call.args))
    opaque = tuple(sorted((arg_label(key, params), "<expr>") for key in call.opaque))
    return args + opaque, tuple((arg_label(key, params), value) for key, value in call.names)


def call_signature(
    identity: str, call: LayerCall, references: tuple[str, ...] = (), reads: tuple[str, ...] = ()
) -> str:
    """What makes two calls of one builder the same layer: its identity and its arguments by
    position, not by parameter name, so which copy is canonical never changes a signature;
    `references`: what the classes or functions passed to it that decide what it creates are;
    `reads`: what its opaque arguments read from other modules (`imported_reads`)."""
    if reads:
        return stable_hash(
            repr((identity, sorted(call.args), sorted(call.opaque), references, reads))
        )
    if references:
        return stable_hash(repr((identity, sorted(call.args), sorted(call.opaque), references)))
    return stable_hash(repr((identity, sorted(call.args), sorted(call.opaque))))


def imported_reads(
    fid: str, call: LayerCall, project: Project, bound: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Each argument that reads names of other modules, with what they stand for (`#0=$0 *
    2|=32`: the literal `from pkg.ca import H` binds), so the same text over names bound to
    different values or definitions is no match; `bound`: what the call that the walk looked
    into this function through passed its parameters (`@#2`, `@units`), by argument key."""
    return tuple(f"{key}={read}" for key, read in read_origins(fid, call, project, bound or {}))


def read_origins(
    fid: str, call: LayerCall, project: Project, bound: Mapping[str, str]
) -> list[tuple[str, str]]:
    """imported_reads() by argument key; a parameter no caller told reads its literal default
    (`def build(x, k=32)`), as a told one reads what it was told; a read of parameters neither
    tells is left out: its position decides, as for any opaque argument."""
    path = project.path_of.get(fid) or id_path(fid)
    out = []
    told = bound
    if call.reads:
        told = {**_literal_defaults(project.functions.get(fid)), **bound}
    for key, shape, names in sorted(call.reads):
        origins = [
            told.get(name[1:]) if name[:1] == "@" else project.origin(name, path)
            for name in names
        ]
        if any(origin is not None for origin in origins):
            out.append((key, f"{shape}|" + ",".join(origin or "?" for origin in origins)))
    return out


def _literal_defaults(function: FunctionFacts | None) -> dict[str, str]:
    """A function's positional parameters' literal defaults, by argument key (`#1`): what each
    stands for when no caller tells it, in told_parameters' terms."""
    if function is None:
        return {}
    return {
        f"#{index}": default
        for index, default in enumerate(function.param_defaults)
        if default is not None and default != "<expr>"
    }


WEIGHTLESS = "weightless"


def references(
    fid: str, call: LayerCall, project: Project, prints: Fingerprints
) -> tuple[tuple[str, ...], bool]:
    """The identities of the layer classes and builders passed to a call, which decide what it
    creates (`layer=Embedding`, `cell=LSTMCell`), by parameter; and whether the call is
    weightless: passed only library layer classes without variables (`layer=Input`,
    `layer=Dropout`), it makes such a layer. Activations, initializers and other classes or
    functions that create nothing do not decide."""
    found: list[str] = []
    deciding = False
    for key, ref in sorted(call.refs):
        identity = _reference(fid, ref, project, prints)
        if identity:
            found.append(f"{key}={identity}")
            deciding = deciding or not identity.startswith(WEIGHTLESS)
    return tuple(found), bool(found) and not deciding


def _reference(fid: str, ref: str, project: Project, prints: Fingerprints) -> str:
    """One reference's identity (WEIGHTLESS:... for a layer class without variables), or ""
    when it does not decide what is created."""
    local, name = ref.startswith("L:"), ref[2:]
    if not local and apis.is_library(name):
        return _library_reference(apis.normalize_api(name))
    target = project.callee(fid, name, local, None)
    if target is None and name.startswith("*."):
        library = project.star_library(name[2:], id_path(fid))
        if library is not None:
            return _library_reference(apis.normalize_api(library))
    if target is None and local:
        # A class of this module whose constructor and call it inherits from outside the scan
        # (`class Embedding(keras.layers.Embedding)`): it decides, as that very definition.
        # The extractor names such a Keras class by the constructor it inherits (`X.__init__`).
        path, owner = id_path(fid), name.removesuffix(".__init__")
        return f"class:{function_id(path, owner)}" if (path, owner) in project.classes else ""
    if target is None:
        # Defined outside the scan: it may create anything, so it decides, by what it is called;
        # a literal a scanned module binds, by its value; a relative name, made absolute.
        origin = project.origin(name, id_path(fid))
        return "unseen:" + (origin if origin[:1] == "=" or name[:1] == "." else name)
    if target not in prints.creates:
        return ""
    class_id = prints.class_of.get(target)
    return "builder:" + (class_id or prints.closure_hash[target])


def _library_reference(dotted: str) -> str:
    """A library class or function passed as an argument: a variable-creating API decides; a
    layer class without variables is WEIGHTLESS; any other function (an activation) is ""."""
    if apis.creates_variables(dotted):
        return "api:" + dotted
    return f"{WEIGHTLESS}:{dotted}" if apis.is_keras_layer(dotted) else ""


def builder_label(qualname: str) -> str:
    """`conv_block` for a function, `AnswerHead` for a class used as a layer."""
    parts = qualname.split(".")
    return parts[-2] if len(parts) > 1 and parts[-1].startswith("__") else parts[-1]


def builder_identity(
    target: str,
    prints: Fingerprints,
    classes: dict[str, CloneClass],
    functions: dict[str, FunctionFacts],
    constructed: str | None = None,
) -> tuple[str, str, str, tuple[str, ...]]:
    """(callee, label, identity hash, canonical params) of a call of the builder `target`: its
    clone class when it has copies, else the definition itself (identity, not a clone), so every
    model reaching that very definition gets the same layer. A Keras layer class used as a
    layer (`ConvBlock(64)`) is identified as a whole class: its class's clone class, else the
    class itself. `constructed`: the class the call constructs, which decides over the class
    whose constructor `target` is when that constructor is inherited (two subclasses of one base
    are two layers)."""
    whole = _keras_class(target, prints)
    if whole is not None and constructed is not None and constructed in prints.class_identity:
        whole = constructed
    if whole is not None:
        clone_id = prints.class_clone_of.get(whole)
        if clone_id is None:
            label = id_qualname(whole)
            return f"local:{whole}", label, "local:" + prints.class_identity[whole], ()
        clone = classes[clone_id]
        return clone.id, id_qualname(clone.canonical), clone.content_hash, ()
    class_id = prints.class_of.get(target)
    if class_id is None:
        qualname = id_qualname(target)
        return (
            f"local:{target}",
            builder_label(qualname),
            "local:" + prints.closure_hash[target],
            (),
        )
    clone = classes[class_id]
    return clone.id, clone.name, clone.content_hash, canonical_params(functions, clone)


def _keras_class(target: str, prints: Fingerprints) -> str | None:
    """The class id of a Keras class whose constructor or `__call__` `target` is, when the class
    has a whole-class identity (it creates variables)."""
    path, qualname = id_path(target), id_qualname(target)
    owner, _, method = qualname.rpartition(".")
    if method not in ("__init__", "__call__") or "." in owner:
        return None
    cid = function_id(path, owner)
    return cid if (path, owner) in prints.keras_classes and cid in prints.class_identity else None


def reuses(call: LayerCall) -> bool:
    """Whether a call asks its builder to reuse variables made elsewhere (`reuse=True`,
    `reuse=tf.AUTO_REUSE`): it runs a model that exists, so the callee stays a model."""
    if ("reuse", "True") in call.args:
        return True
    return any(
        key == "reuse" and ref.startswith("A:") and ref.endswith(".AUTO_REUSE")
        for key, ref in call.refs
    )


def told_parameters(
    fid: str,
    call: LayerCall,
    target: FunctionFacts | None,
    project: Project,
    bound: Mapping[str, str] | None,
) -> dict[str, str]:
    """What a call the walk looks into tells its callee's parameters, by argument key (`#1`, or a
    keyword-only name): literals other than their defaults, and what its arguments read (names
    of other modules, parameters its own caller was told, in `bound`)."""
    decided = deciding(call, target)
    defaults = () if target is None else target.param_defaults
    out: dict[str, str] = {}
    for key, value in decided.args:
        index = int(key[1:]) if key[1:].isdigit() else len(defaults)
        if index >= len(defaults) or defaults[index] != value:
            out[key] = value
    out.update(read_origins(fid, decided, project, bound or {}))
    return out


def shadowed_attributes(
    project: Project, fid: str, function: FunctionFacts, class_ctx: tuple[str, str] | None
) -> list[str]:
    """The class attributes a method reads (`self.UNITS`) that a subclass it runs as binds again
    (`UNITS = 128`), by value: part of every layer it makes, since the method's own class body
    says another value."""
    if class_ctx is None or not function.self_reads:
        return []
    owner = (id_path(fid), id_qualname(fid).split(".")[0])
    found = []
    for attribute in function.self_reads:
        for cls in project.mro(*class_ctx):
            if cls == owner:
                break
            value = project.values.get(cls[0], {}).get(f"{cls[1]}.{attribute}")
            if value is not None:
                found.append(f"{attribute}{value}")
                break
    return ["|".join(found)] if found else []
