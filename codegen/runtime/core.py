"""The family-independent transfer core: keys, key maps, reports, the pre-flight comparison.

No framework import: a model family (tf1, later keras) records variables into `KeyMap`s, turns
its shapes and dtypes into `Spec`s, and asks this module whether two sides fit and what to report.
`codegen emit` copies this file verbatim into the output folder (`_runtime/core.py`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

__all__ = [
    "Entry",
    "SharedLayer",
    "TransferError",
    "TransferReport",
]

# A variable of any family: TF variables and Keras weights are opaque here.
Variable = Any
# (dims or None for unknown rank, base dtype name): plain data, comparable across families.
Spec = tuple[tuple[int | None, ...] | None, str]

# Optimizer slots, step counters and moving averages must never travel between models.
NEVER_TRANSFERABLE = re.compile(
    r"(^|/)(global_step|beta[12]_power)(/|$)"
    r"|/(Adam|Momentum|RMSProp|Adagrad|AdagradDA|Adadelta|Ftrl|ProximalAdagrad"
    r"|ExponentialMovingAverage)(_\d+)?(/|$)"
)


class TransferError(Exception):
    """Any problem while building, saving, restoring or copying transferable variables."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One variable of a report: its checkpoint key, its layer, its own name in this model."""

    key: str  # canonical key in transfer checkpoints, e.g. "transfer/01_ed5f3e09/v0"
    layer: str  # e.g. "layer 2 conv_block"
    name: str | None  # the variable's graph name in this model; None when it has no such key

    def __str__(self) -> str:
        return f"{self.key}  ({self.layer}: {self.name or 'not in this model'})"


_FIELDS = ("restored", "missing", "unexpected", "mismatched")


@dataclasses.dataclass(frozen=True)
class TransferReport:
    """What a restore, init_from_checkpoint or copy did, one Entry per variable, sorted by key."""

    restored: tuple[Entry, ...] = ()
    missing: tuple[Entry, ...] = ()  # in this model, not in the checkpoint or source
    unexpected: tuple[Entry, ...] = ()  # in the checkpoint or source, not in this model
    mismatched: tuple[Entry, ...] = ()  # always empty when returned: a mismatch raises

    def keys(self, field: str = "restored") -> tuple[str, ...]:
        """The canonical keys of one field."""
        return tuple(entry.key for entry in getattr(self, field))

    def names(self, field: str = "restored") -> tuple[str, ...]:
        """This model's own variable names of one field (entries that have one)."""
        return tuple(entry.name for entry in getattr(self, field) if entry.name is not None)

    def __str__(self) -> str:
        rows = []
        for field in _FIELDS:
            entries = getattr(self, field)
            rows.append(f"{field:<11}{len(entries):>5}{'' if entries else '  -'}")
            rows.extend(f"    {entry}" for entry in entries)
        return "\n".join(rows)


@dataclasses.dataclass(frozen=True)
class SharedLayer:
    """One transferable top-level builder call of a model and its canonical scope."""

    builder: str
    occurrence: int
    key: str
    # Keys relative to the layer's scope (v0, v1, ... in creation order), when the plan knows
    # how many variables the canonical copy creates; the runtime checks them as it builds.
    expected: tuple[str, ...] | None = None
    label: str = ""  # how reports name the layer, e.g. "layer 2 conv_block"
    # A shared inline layer (or a call of an imported builder) marked in the model's code with
    # `with layer(root, position):`: found by its trunk position, not by a builder call.
    position: int | None = None

    def describe(self) -> str:
        """How errors name the layer: its label, where the model builds it, and its key."""
        label = self.label or position_label(self.key)
        if self.position is not None:
            where = f"the mark at trunk position {self.position}"
        else:
            where = f"call #{self.occurrence} of {self.builder!r}"
        return f"{label} ({where}, key {self.key!r})"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where a shim keeps its variables: the graph collection and the canonical scope prefix."""

    collection: str
    scope_prefix: str

    def is_transferable(self, name: str) -> bool:
        """A canonical key under the prefix that is not an optimizer slot or step counter."""
        return name.startswith(self.scope_prefix + "/") and not NEVER_TRANSFERABLE.search(name)


# What a collection or scope prefix may be: codegen.names.SETTING_NAME (a test holds them equal;
# the runtime is copied into generated code, where the tool itself is not importable).
_SETTING_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def check_setting(model: str, what: str, value: str) -> None:
    """Refuse a collection or scope prefix that is not one TensorFlow name component."""
    if not _SETTING_NAME.fullmatch(value):
        raise TransferError(f"model {model!r}: bad {what} {value!r}")


def check_layers(model: str, layers: tuple[SharedLayer, ...], scope_prefix: str) -> None:
    """Refuse a bad prefix, bad keys and duplicate layers before anything is built."""
    check_setting(model, "scope prefix", scope_prefix)
    calls: set[tuple[str, int]] = set()
    positions: set[int] = set()
    keys: set[str] = set()
    for layer in layers:
        call = (layer.builder, layer.occurrence)
        taken = call in calls if layer.position is None else layer.position in positions
        if layer.key in keys or taken:
            raise TransferError(f"model {model!r}: duplicate shared layer {layer}")
        if not layer.key or layer.key.startswith("/") or layer.key.endswith("/"):
            raise TransferError(f"model {model!r}: bad layer key {layer.key!r}")
        if layer.position is None:
            calls.add(call)
        else:
            positions.add(layer.position)
        keys.add(layer.key)


def position_label(layer_key: str) -> str:
    """`layer 2` for a layer key `01_ed5f3e09` (keys start with the 0-based position)."""
    position = layer_key.split("_", 1)[0]
    return f"layer {int(position) + 1}" if position.isdigit() else f"layer {layer_key}"


@dataclasses.dataclass(eq=False)
class KeyMap:
    """One model instance's transferable variables: canonical key -> (variable, report entry)."""

    variables: dict[str, Variable] = dataclasses.field(default_factory=dict)
    # Made once when the layer is recorded: reports ask for them per key on every call.
    entries: dict[str, Entry] = dataclasses.field(default_factory=dict)
    specs: dict[str, Spec] | None = None  # computed on first use, replaced on change

    def bind(self, key: str, var: Variable, label: str, name: str) -> Variable:
        """Map `key` to `var` unless already mapped; returns the variable the key serves."""
        bound = self.variables.get(key)
        if bound is None:
            self.variables[key] = var
            self.entries[key] = Entry(key, label, name)
            self.specs = None
            return var
        return bound

    def view(
        self, spec_of: Callable[[Variable], Spec]
    ) -> tuple[dict[str, Variable], dict[str, Spec]]:
        """({key: variable}, {key: spec}); the dicts are shared: do not mutate them."""
        if self.specs is None:
            self.specs = {key: spec_of(var) for key, var in self.variables.items()}
        return self.variables, self.specs

    def within(self, other: KeyMap) -> bool:
        """Every key of this map serves the very same variable in `other` (a reused build)."""
        return all(other.variables.get(key) is var for key, var in self.variables.items())

    def entry(self, key: str, settings: Settings) -> Entry:
        """A report entry for `key` as this model instance sees it."""
        found = self.entries.get(key)
        if found is not None:
            return found
        # Not in this model: its layer by position, from the key alone.
        layer_key = key[len(settings.scope_prefix) + 1 :].split("/", 1)[0]
        return Entry(key, position_label(layer_key), None)


class Instances:
    """The key maps of one model's builds in one graph (or other container), in build order."""

    def __init__(self) -> None:
        self.maps: list[KeyMap] = []

    def add(self) -> KeyMap:
        """A fresh key map for a new build."""
        found = KeyMap()
        self.maps.append(found)
        return found

    def settle(self) -> None:
        """After a build: keep only distinct maps. A build that recorded nothing, or only
        reused another build's variables (a train/eval tower pattern), is not an instance."""
        self.maps = self.distinct()

    def distinct(self) -> list[KeyMap]:
        """The maps that are not contained in another one (the earlier of equal ones kept)."""
        maps = self.maps
        return [
            found
            for index, found in enumerate(maps)
            if found.variables
            and not any(
                other is not found
                and found.within(other)
                and (j < index or not other.within(found))
                for j, other in enumerate(maps)
            )
        ]

    def resolve(self, model: str, instance: int | None) -> KeyMap:
        """The key map an operation acts on; several distinct builds need `instance`."""
        distinct = self.distinct()
        if instance is not None:
            if not 0 <= instance < len(distinct):
                raise TransferError(
                    f"model {model!r}: no instance {instance} in this graph "
                    f"({len(distinct)} built with their own variables)"
                )
            return distinct[instance]
        if len(distinct) > 1:
            raise TransferError(
                f"model {model!r} was built {len(distinct)} times in this graph with different "
                f"variables; pass instance=0..{len(distinct) - 1} (in build order) to say which "
                "one, so that no key serves another copy's variables"
            )
        return distinct[0] if distinct else KeyMap()


def spec_text(spec: Spec) -> str:
    dims, dtype = spec
    return f"{'?' if dims is None else dims} {dtype}"


def fits(a: Spec, b: Spec) -> bool:
    """Same dtype and compatible shapes (unknown sizes match anything)."""
    (dims_a, dtype_a), (dims_b, dtype_b) = a, b
    if dtype_a != dtype_b:
        return False
    if dims_a == dims_b or dims_a is None or dims_b is None:
        return True
    return len(dims_a) == len(dims_b) and all(
        x is None or y is None or x == y for x, y in zip(dims_a, dims_b, strict=True)
    )


def mismatches(
    keys: Iterable[str],
    ours: Mapping[str, Spec],
    theirs: Mapping[str, Spec],
    ours_label: str,
    theirs_label: str,
    describe: Callable[[str], object],
) -> list[str]:
    """Human-readable lines for keys whose shape or dtype differ on the two sides."""
    return [
        f"{describe(key)}: {ours_label} {spec_text(ours[key])} "
        f"vs {theirs_label} {spec_text(theirs[key])}"
        for key in keys
        if not fits(ours[key], theirs[key])
    ]


def error_text(exc: BaseException) -> str:
    """One-line cause of a framework error, without the node-definition traceback TF appends."""
    lines = [line.strip() for line in str(exc).splitlines()]
    noise = ("Graph execution error", "Detected at node", "File ", "Node:", "[[")
    kept = [line for line in lines if line and not line.startswith(noise)]
    return f"{type(exc).__name__}: {'; '.join(kept) or repr(exc)}"


def checkpoint_specs(
    path: str,
    settings: Settings,
    read: Callable[[str], tuple[Mapping[str, Any], Mapping[str, Any]]],
    spec: Callable[[Any, Any], Spec],
) -> dict[str, Spec]:
    """{key: spec} of a checkpoint's transferable entries, read by the family's `read(path)`
    as ({key: shape}, {key: dtype}); TransferError if unreadable."""
    try:
        shapes, dtypes = read(path)
    except Exception as exc:  # frameworks raise several unrelated types for a bad file
        raise TransferError(f"cannot read checkpoint {path!r}: {error_text(exc)}") from exc
    return {key: spec(shapes[key], dtypes[key]) for key in shapes if settings.is_transferable(key)}


def preflight(
    model: str,
    path: str,
    ours: Mapping[str, Spec],
    source: Mapping[str, Spec],
    settings: Settings,
    describe: Callable[[str], object],
) -> list[str]:
    """The keys to load from a checkpoint, sorted; raises, naming every misfit, if any differ."""
    common = sorted(ours.keys() & source.keys())
    problems = mismatches(common, ours, source, "model", "checkpoint", describe)
    if problems:
        raise TransferError(
            f"checkpoint {path!r} does not fit model {model!r}, nothing restored:\n  "
            + "\n  ".join(problems)
        )
    if not common:
        raise TransferError(
            f"checkpoint {path!r}: no transferable variables in common with "
            f"model {model!r} (a transfer checkpoint holds canonical keys under "
            f"{settings.scope_prefix!r}/, as save() or saver() write them)"
        )
    return common


def report(
    found: KeyMap, settings: Settings, model_keys: Iterable[str], source_keys: Iterable[str]
) -> TransferReport:
    """Report for loading the intersection of the two key sets into the model of `found`."""
    ours, theirs = set(model_keys), set(source_keys)

    def entries(keys: set[str]) -> tuple[Entry, ...]:
        return tuple(found.entry(key, settings) for key in sorted(keys))

    return TransferReport(
        restored=entries(ours & theirs),
        missing=entries(ours - theirs),
        unexpected=entries(theirs - ours),
    )


def copy_report(
    source: KeyMap,
    destinations: list[KeyMap],
    source_keys: Iterable[str],
    wanted: Iterable[str],
    settings: Settings,
) -> TransferReport:
    """A copy's report: the union over destinations, each key named by its first owner."""
    # Restored if any destination took the key, missing if any destination has it and the
    # source has not, unexpected if no destination took it.
    restored, from_source = set(wanted), set(source_keys)
    missing = {key for found in destinations for key in found.variables if key not in from_source}

    def entry(key: str) -> Entry:
        owner = next((found for found in destinations if key in found.variables), source)
        return owner.entry(key, settings)

    return TransferReport(
        restored=tuple(entry(key) for key in sorted(restored)),
        missing=tuple(entry(key) for key in sorted(missing)),
        unexpected=tuple(entry(key) for key in sorted(from_source - restored)),
    )


def first_lines(items: list[str], limit: int = 12) -> str:
    """`items` one per indented line, at most `limit` of them, then how many more."""
    shown = items[:limit]
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return "\n  " + "\n  ".join(shown) + more


_Transfer = TypeVar("_Transfer")


def model_named(models: Mapping[str, _Transfer], root: str) -> _Transfer:
    """A file shim's model `root`, or an error that lists the file's models and says to sync."""
    try:
        return models[root]
    except KeyError:
        raise TransferError(
            f"no model {root!r} in this shim (it has {', '.join(models)}); "
            "run `codegen sync` to bring the routing up to date"
        ) from None
