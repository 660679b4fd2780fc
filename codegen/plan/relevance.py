"""Which arguments of a builder call decide its layer: those that can change its variables.

An argument bound to a parameter that provably never reaches a variable (the extract stage's
`inert_params`) says nothing about what the call creates: one with a default leaves the call's
signature as if it were left out, one without a default (always passed) counts only as present,
whatever its value. A deciding parameter left out counts as passed with its literal default, so
`conv_block(h, 128)` and `conv_block(h, 128, 3)` are one layer. Calls that pass their inert
parameters as expressions, leave their inert defaults out and spell out their deciding defaults
keep the signature (and so the checkpoint keys) they always had."""

from __future__ import annotations

from dataclasses import replace

from codegen.model import FunctionFacts, LayerCall
from codegen.scan import apis
from codegen.scan.apis import NO_VARIABLE_KEYWORDS


def library_deciding(call: LayerCall) -> LayerCall:
    """A library layer call as its signature sees it: without the settings that never change its
    variables (`mask_zero=`, `input_length=`), so an explicit default never decides."""
    args = tuple((k, v) for k, v in call.args if k not in NO_VARIABLE_KEYWORDS)
    opaque = tuple(k for k in call.opaque if k not in NO_VARIABLE_KEYWORDS)
    reads = tuple(read for read in call.reads if read[0] not in NO_VARIABLE_KEYWORDS)
    if args == call.args and opaque == call.opaque and reads == call.reads:
        return call
    return replace(call, args=args, opaque=opaque, reads=reads)


def _param(key: str, target: FunctionFacts) -> tuple[str, int | None]:
    """The parameter an argument key binds, and its position (None: keyword-only or unknown)."""
    if key.startswith("#"):
        index = int(key[1:])
        return (target.params[index], index) if index < len(target.params) else ("", None)
    if key in target.params:
        return key, target.params.index(key)
    return key, None


def deciding(call: LayerCall, target: FunctionFacts | None) -> LayerCall:
    """The call as its signature sees it: only what can change what `target` creates."""
    if target is None and not call.local and apis.is_library(call.callee):
        return library_deciding(call)
    if target is None or target.qualname.endswith(".__call__"):
        return call  # a class called through `__call__`: its constructor's parameters are unknown
    inert = set(target.inert_params)
    args: list[tuple[str, str]] = []
    opaque = [_key(key, target) for key in call.opaque if _kept(key, target, inert)]
    for key, value in call.args:
        name, index = _param(key, target)
        if name and name in inert and index is not None and target.param_defaults[index] is None:
            opaque.append(_key(key, target))  # always passed, never deciding: present only
        elif _kept(key, target, inert):
            args.append((_key(key, target), value))
    passed = {_param(key, target)[0] for key in (*call.opaque, *(k for k, _ in call.args))}
    passed |= {_param(key, target)[0] for key, _ in call.names}
    if not any(arg.startswith("*") for arg in call.opaque):  # `**kwargs` may pass anything
        for index, (name, default) in enumerate(
            zip(target.params, target.param_defaults, strict=True)
        ):
            if name not in passed and name not in inert and _literal(default):
                args.append((f"#{index}", default))  # type: ignore[arg-type]
    # What an argument reads decides only where its value does.
    reads = tuple(
        (_key(key, target), shape, names)
        for key, shape, names in call.reads
        if _kept(key, target, inert) and _param(key, target)[0] not in inert
    )
    if tuple(args) == call.args and tuple(opaque) == call.opaque and reads == call.reads:
        return call
    return replace(call, args=tuple(args), opaque=tuple(opaque), reads=reads)


def _key(key: str, target: FunctionFacts) -> str:
    """One spelling per parameter: its position (`units=64` and a positional 64 are alike)."""
    _, index = _param(key, target)
    return key if index is None else f"#{index}"


def _kept(key: str, target: FunctionFacts, inert: set[str]) -> bool:
    """Whether an argument stays in the signature."""
    name, index = _param(key, target)
    if not name or index is None:
        return True
    default = target.param_defaults[index]
    return name not in inert or default is None  # a defaulted inert argument: as if left out


def _literal(default: str | None) -> bool:
    """Whether a parameter default is a literal value to fill in: not absent, not an expression,
    and not a string (a string may be a name, and names never decide)."""
    return default is not None and default != "<expr>" and default[:1] not in "'\"bru"
