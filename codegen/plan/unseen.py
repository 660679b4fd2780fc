"""Calls the plan cannot see into, which end a shared trunk (CG230): what counts as one, and
one hidden in a layer matched as a whole."""

from __future__ import annotations

from codegen.model import FunctionFacts, LayerCall
from codegen.names import given_at_run_time
from codegen.plan.linking import Project
from codegen.scan import apis

# Modules whose calls are never layers: an unresolved call into them is not worth a diagnostic.
_NOT_LAYERS = frozenset(
    "numpy np math os sys re json random time collections itertools functools logging six absl "
    "pickle codecs copy scipy sklearn pandas argparse shutil glob tqdm csv io string".split()
)


def worth_noting(callee: str, project: Project) -> bool:
    """Whether a call that resolves to no scanned definition may hide layers (CG230): not one
    into numpy, os, ... (never layers) or into the project's generated code (routed builders)."""
    root = callee.lstrip(".*").split(".", 1)[0]
    return root not in _NOT_LAYERS and not project.is_generated(callee)


def unseen(call: LayerCall, project: Project) -> bool:
    """Whether a call that reaches no scanned definition may create variables the scan cannot
    see: a library or imported call not known to create nothing (see `worth_noting`), or a call
    of an object held in an attribute or of its method (`self.encoder(...)`,
    `self.encoder.encode(...)`: any encoder passed in), or a method the class inherits from a
    base outside the scan. `super()` calls (a library base's constructor or `build`) and a
    builtin container's or a tensor's method (`self.items.append`) are not."""
    if call.local or call.callee.startswith("super."):
        return False
    if call.callee.startswith(("self.", "param.")):  # an attribute's object, or a parameter's
        owner, _, method = call.callee.rpartition(".")
        return owner == "param" or not apis.creates_nothing(method)  # `param.values`: no method
    return worth_noting(call.callee, project)


def passed_in(call: LayerCall, inner: FunctionFacts, project: Project) -> LayerCall | None:
    """The call, inside one layer (`inner`, which `call` makes), of an object the caller passes
    in that no reference names (`backbone.encode(x)` in `create_encoder(x, params["backbone"])`):
    what the layer creates may then differ between two models. `layer=Embedding` names one."""
    named = {key for key, _ in call.refs}
    for hidden in inner.layer_calls:
        if not hidden.callee.startswith("param."):
            continue
        name = hidden.callee.split(".")[1].split("[", 1)[0]
        keys = {name, f"#{inner.params.index(name)}"} if name in inner.params else {name}
        if keys & set(call.opaque) and not keys & named and unseen(hidden, project):
            return hidden
    return None


def given_unseen(call: LayerCall, project: Project) -> bool:
    """Whether a call in a loop or branch matched as a whole calls an object given at run time
    (`if flag: x = self.held(x)`): the code is the same in two models, the object need not be."""
    return given_at_run_time(call.callee) and unseen(call, project)
