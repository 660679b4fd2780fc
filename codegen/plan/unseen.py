"""Calls the plan cannot see into, which end a shared trunk (CG230): what counts as one, and
one hidden in a layer matched as a whole."""

from __future__ import annotations

import re

from codegen.ids import id_path
from codegen.model import FunctionFacts, LayerCall
from codegen.names import given_at_run_time
from codegen.plan.dispatch import Dispatch, defining_class
from codegen.plan.linking import Project
from codegen.scan import apis


def worth_noting(callee: str, project: Project) -> bool:
    """Whether a call that resolves to no scanned definition may hide layers (CG230): not one
    into numpy, os, ... (never layers) or into the project's generated code (routed builders)."""
    root = callee.lstrip(".*").split(".", 1)[0]
    return root not in apis.NOT_LAYER_MODULES and not project.is_generated(callee)


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


def bound_param(function: FunctionFacts, key: str) -> str | None:
    """The parameter of `function` an argument key (`#1`, `backbone`) binds, or None."""
    if key.startswith("#"):
        index = int(key[1:]) if key[1:].isdigit() else len(function.params)
        return function.params[index] if index < len(function.params) else None
    return key if key in function.params or key in function.kwonly else None


def _param_root(spelled: str) -> str | None:
    """The parameter an unseen spelling starts from (`param.backbone.encoder[?]` -> backbone)."""
    if not spelled.startswith("param."):
        return None
    return re.split(r"[.\[]", spelled[len("param.") :], maxsplit=1)[0]


Hidden = tuple[LayerCall, FunctionFacts, str]  # the innermost unseen call, its function and id


class Invoked:
    """Which parameters of each scanned function it invokes as an object (calls it, an item or
    a method of it), itself or by passing it on, by name or inside a list, dict or condition, to
    a scanned function that does, to any depth: computed once per plan, each function once (a
    call back into a function being read counts as invoking nothing)."""

    def __init__(self, project: Project, dispatch: Dispatch):
        self.project = project
        self.dispatch = dispatch
        self._of: dict[str, dict[str, Hidden]] = {}

    def of(self, fid: str) -> dict[str, Hidden]:
        """Parameter name -> the innermost unseen call it reaches, for function `fid`."""
        found = self._of.get(fid)
        if found is not None:
            return found
        self._of[fid] = found = {}
        function = self.dispatch.function(fid)
        if function is None:
            return found
        for call in function.layer_calls:
            name = _param_root(call.callee)
            if name is not None and name not in found and unseen(call, self.project):
                found[name] = (call, function, fid)  # `backbone(x)`, `backbone.encode(x)`
            if not call.given:
                continue
            target = self.dispatch.resolve(fid, call, defining_class(self.project, fid))
            if target is None or target == fid:
                continue
            for spelled, hidden in self.passes(call, target):
                name = _param_root(spelled)
                if name is not None and name not in found:
                    found[name] = hidden  # `encode(backbone, x)`, encode calling `backbone(x)`
        return found

    def passes(self, call: LayerCall, target: str) -> list[tuple[str, Hidden]]:
        """(spelling, innermost unseen call) of each unseen object `call` hands to a parameter
        that `target` (what it runs) invokes."""
        inner = self.dispatch.function(target)
        if inner is None:
            return []
        invoked = self.of(target)
        out = []
        for key, spelled in call.given:
            bound = bound_param(inner, key)
            if bound is not None and bound in invoked:
                out.append((spelled, invoked[bound]))
        return out

    def hidden(self, call: LayerCall, target: str) -> Hidden | None:
        """The innermost unseen call a call of `target` reaches through an object it hands over
        that the scan cannot resolve (a parameter, an attribute, a local bound to one): what the
        callee creates may then differ between two models. A reference argument (`layer=
        Embedding`) names what it creates and is never handed over as one."""
        passed = self.passes(call, target)
        return passed[0][1] if passed else None

    def note(self, call: LayerCall, target: str) -> tuple[str, int, str, str] | None:
        """`hidden` as a CG230 note: (callee, line, holder, the holder's file)."""
        found = self.hidden(call, target)
        if found is None:
            return None
        inner, function, fid = found
        return inner.callee, inner.line, function.qualname, id_path(fid)


def given_unseen(call: LayerCall, project: Project) -> bool:
    """Whether a call in a loop or branch matched as a whole (the same code in two models) is
    one the scan cannot see into: of an object given at run time (`if flag: x = self.held(x)`),
    which need not be the same object, or into an import no scanned file defines (`if crf: x =
    CRF(n)(x)`), a layer nobody saw, which ends a trunk in a branch as it does anywhere else."""
    if given_at_run_time(call.callee):
        return unseen(call, project)
    return not call.local and not apis.is_library(call.callee) and unseen(call, project)
