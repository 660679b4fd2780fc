"""Custom Keras layer classes as whole classes: which scanned classes are Keras layers or models,
their clone classes (every method a clone, deep-equivalent, bases included) and the near-misses
between them."""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from codegen import stable_hash
from codegen.ids import function_id, split_id
from codegen.model import CloneClass, FunctionFacts, NearMiss
from codegen.plan.linking import Project
from codegen.scan import apis

KerasKind = Literal["layer", "model"]
# Library base classes that make a class a Keras model rather than a layer.
_MODEL_LEAVES = frozenset({"Model", "Sequential", "Functional"})
# A near-miss between classes is reported for at most this many differing methods.
MAX_METHODS_APART = 2


def library_base(dotted: str) -> KerasKind | None:
    """What a library base class makes a class that derives from it: a Keras layer
    (`keras.layers.Layer`, `tf.keras.layers.Dense`, `keras.Layer`), a model (`keras.Model`,
    `tf.keras.models.Model`), or neither."""
    dotted = apis.normalize_api(dotted)
    parts = dotted.split(".")
    if not apis.is_library(dotted) or not any(p in ("keras", "tf_keras") for p in parts):
        return None
    if parts[-1] in _MODEL_LEAVES:
        return "model"
    if apis.is_keras_layer(dotted) or parts[-1] == "Layer":
        return "layer"
    return None


def keras_kind(project: Project, path: str, name: str) -> KerasKind | None:
    """Whether a scanned class is a Keras layer or model class, through its bases in any scanned
    module (a model base anywhere up the chain makes it a model)."""
    found: KerasKind | None = None
    for cpath, cname in project.mro(path, name):
        for base in project.classes[(cpath, cname)].bases:
            if project.resolve_class(base, cpath) is not None:
                continue  # a scanned class: mro() walks it
            dotted = base
            if "." not in base:  # `class ScaleOffset(Layer)` under `from keras.layers import *`
                dotted = project.star_library(base, cpath) or base
            kind = library_base(dotted)
            if kind == "model":
                return "model"
            found = found or kind
    return found


@dataclass(frozen=True)
class ClassPrints:
    """Keras classes as whole classes: their kinds, identities, clone classes and near-misses."""

    kinds: dict[tuple[str, str], KerasKind]  # (path, class) of every Keras layer or model class
    identity: dict[str, str]  # class id "path::Class" -> whole-class deep-equivalence hash
    clone_classes: tuple[CloneClass, ...]
    class_of: dict[str, str]  # class id -> clone class id
    near_misses: tuple[NearMiss, ...]


def keras_classes(project: Project) -> dict[tuple[str, str], KerasKind]:
    """Every scanned class that derives from a Keras layer or model, with its kind."""
    out: dict[tuple[str, str], KerasKind] = {}
    for path, name in sorted(project.classes):
        kind = keras_kind(project, path, name)
        if kind is not None:
            out[(path, name)] = kind
    return out


def class_prints(
    project: Project,
    closure: dict[str, str],
    creates: frozenset[str],
    *,
    first_id: int,
    near_miss: Callable[[str, str], NearMiss | None],
) -> ClassPrints:
    """Clone classes of Keras classes that create variables: a class is a copy of another only
    when its whole body is (its `__init__`, `build`, `call` and helpers, each a clone, with
    deep equivalence, and its bases); `closure` holds the deep-equivalence hash of every
    function and module-level symbol, classes included (`path::Class`). `near_miss` judges two
    methods; ids continue from `first_id`; each is named after its canonical class."""
    kinds = keras_classes(project)
    identity: dict[str, str] = {}
    groups: dict[str, list[str]] = defaultdict(list)
    for (path, name), kind in kinds.items():
        cid = function_id(path, name)
        methods = [
            function_id(cpath, f"{cname}.{m}")
            for cpath, cname in project.mro(path, name)
            for m in project.classes[(cpath, cname)].methods
        ]
        if cid not in closure or not any(m in creates for m in methods):
            continue  # its own or inherited methods create nothing: no layer to identify
        identity[cid] = stable_hash(f"{kind}|{closure[cid]}")
        groups[identity[cid]].append(cid)
    drafts = []
    for digest, members in groups.items():
        if len(members) < 2:
            continue
        members.sort()
        exact = {_exact(project, m) for m in members}
        drafts.append(
            (
                split_id(members[0])[1],
                members[0],
                "exact" if len(exact) == 1 else "renamed",
                tuple(members),
                digest,
            )
        )
    drafts.sort()
    clones: list[CloneClass] = []
    taken_names: set[str] = set()
    for offset, (name, canonical, exactness, group, digest) in enumerate(drafts):
        unique, n = name, 1
        while unique in taken_names:
            n += 1
            unique = f"{name}_{n}"
        taken_names.add(unique)
        clones.append(
            CloneClass(f"C{first_id + offset}", exactness, unique, canonical, group, digest)  # type: ignore[arg-type]
        )
    class_of = {m: c.id for c in clones for m in c.members}
    near = _near_misses(project, identity, near_miss)
    return ClassPrints(kinds, identity, tuple(clones), class_of, near)


# The methods where a layer class makes what it holds; what they call through `self` counts too.
_CONSTRUCTION = ("__init__", "build", "call", "__call__")


def construction_reads(project: Project, path: str, name: str) -> set[str]:
    """Attributes read through `self` by the methods that build and call an instance of the
    class (`__init__`, `build`, `call` and what they call on `self`), as the instance finds
    them (overrides first)."""
    pending = [project.method(path, name, m) for m in _CONSTRUCTION]
    seen: set[str] = set()
    reads: set[str] = set()
    while pending:
        fid = pending.pop()
        if fid is None or fid in seen or fid not in project.functions:
            continue
        seen.add(fid)
        function = project.functions[fid]
        reads.update(function.self_reads)
        called = [c.rpartition(".")[2] for c in function.local_calls if "." in c]
        called += [
            c.callee[5:] for c in function.layer_calls if c.callee.startswith(("self.", "super."))
        ]
        pending += [project.method(path, name, m) for m in called if "." not in m]
    return reads


def read_attributes(project: Project, path: str, name: str) -> str:
    """The class attributes (its own or its scanned bases') that building or calling the layer
    reads (`units = 3` read in `build`), as the instance finds them: these decide; metadata
    that only other code reads (`config_class`, `base_model_prefix`) never does."""
    return repr(sorted(_attribute_values(project, path, name).items()))


def _attribute_values(project: Project, path: str, name: str) -> dict[str, str]:
    """read_attributes() as {attribute: hash of its value}."""
    table = _class_attributes(project)
    chain = [table[c] for c in project.mro(path, name) if c in table]
    if not chain:
        return {}  # no class attributes anywhere up the chain (nearly every class)
    reads = construction_reads(project, path, name)
    found: dict[str, str] = {}
    for attributes in chain:
        for attribute, digest in attributes:
            if attribute in reads:
                found.setdefault(attribute, digest)
    return found


# Per project (weakly held, so a finished scan's project is freed): (path, class) -> attributes.
_ATTRIBUTES: weakref.WeakKeyDictionary[Project, dict[tuple[str, str], tuple[tuple[str, str], ...]]]
_ATTRIBUTES = weakref.WeakKeyDictionary()


def _class_attributes(project: Project) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """Every scanned class that has data attributes, with them."""
    table = _ATTRIBUTES.get(project)
    if table is None:
        table = {
            (path, symbol.name): symbol.attributes
            for path, module in project.modules.items()
            for symbol in module.symbols
            if symbol.kind == "class" and symbol.attributes
        }
        _ATTRIBUTES[project] = table
    return table


def _exact(project: Project, cid: str) -> tuple[str, ...]:
    """A class's methods as written (names kept): equal for exact copies."""
    path, name = split_id(cid)
    out = []
    for method in project.classes[(path, name)].methods:
        fid = function_id(path, f"{name}.{method}")
        function: FunctionFacts | None = project.functions.get(fid)
        out.append(f"{method}:{function.exact_hash if function else '?'}")
    return tuple(out)


def _near_misses(
    project: Project, identity: dict[str, str], near_miss: Callable[[str, str], NearMiss | None]
) -> tuple[NearMiss, ...]:
    """Classes with the same methods whose bodies are the same but for a few methods that are
    near-misses of each other (kernel 5 vs 3 in `build`): reported, never merged."""
    by_shape: dict[tuple[str, ...], dict[str, str]] = defaultdict(dict)
    for cid in sorted(identity):
        path, name = split_id(cid)
        by_shape[_skeleton(project, path, name)].setdefault(identity[cid], cid)
    out: list[NearMiss] = []
    for representatives in by_shape.values():
        reps = sorted(representatives.values())
        for index, a in enumerate(reps):
            for b in reps[index + 1 :]:
                found = _class_near_miss(project, a, b, near_miss)
                if found is not None:
                    out.append(found)
    return tuple(sorted(out, key=lambda n: (n.a, n.b)))


def _skeleton(project: Project, path: str, name: str) -> tuple[str, ...]:
    """A class's methods by name and literal-blind shape: near-miss candidates share it."""
    out = []
    for method in sorted(project.classes[(path, name)].methods):
        function = project.functions.get(function_id(path, f"{name}.{method}"))
        out.append(f"{method}:{function.skeleton_hash if function else '?'}")
    return tuple(out)


def _class_near_miss(
    project: Project, a: str, b: str, near_miss: Callable[[str, str], NearMiss | None]
) -> NearMiss | None:
    """Two alike classes as one near-miss: the reasons of their differing methods."""
    (pa, na), (pb, nb) = split_id(a), split_id(b)
    reasons: list[str] = []
    diffs: list[str] = []
    for method in sorted(project.classes[(pa, na)].methods):
        fa, fb = function_id(pa, f"{na}.{method}"), function_id(pb, f"{nb}.{method}")
        found = near_miss(fa, fb)
        if found is not None:
            reasons.append(f"`{method}` {found.reason}")
            diffs.append(found.diff)
    values_a, values_b = _attribute_values(project, pa, na), _attribute_values(project, pb, nb)
    differing = sorted(k for k in {*values_a, *values_b} if values_a.get(k) != values_b.get(k))
    if differing and len(reasons) < MAX_METHODS_APART:
        shown = ", ".join(f"`{k}`" for k in differing)
        reasons.append(f"the class attributes its layer is built with differ: {shown}")
    if not reasons or len(reasons) > MAX_METHODS_APART:
        return None
    return NearMiss(a, b, "class differs: " + "; ".join(reasons), "\n".join(diffs))
