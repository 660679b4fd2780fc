"""Virtual dispatch: the method a `self.*()` call runs as an instance of one class (its own
override, wherever the calling method is defined), and what creates variables there.

A base class's `build()` that calls `self.call()`, which calls `self.apply_embeddings()`, builds
whatever each subclass's override builds: the subclass is the model, and a hook the base leaves
abstract (`raise NotImplementedError`) builds nothing there, so the base is no model itself."""

from __future__ import annotations

from codegen import names
from codegen.ids import id_path, split_id
from codegen.model import FunctionFacts, LayerCall
from codegen.plan.drivers import is_driver
from codegen.plan.fingerprint import Fingerprints
from codegen.plan.linking import Project

Ctx = tuple[str, str] | None  # (path, class) that `self.*()` calls resolve against


def defining_class(project: Project, fid: str) -> Ctx:
    """(path, class) of a method's defining class, None for a function."""
    path, qualname = split_id(fid)
    owner = qualname.split(".", 1)[0]
    return (path, owner) if "." in qualname and (path, owner) in project.classes else None


class Dispatch:
    """`self.*()` calls resolved as an instance of a class, and creation under that dispatch."""

    def __init__(self, project: Project, prints: Fingerprints):
        self.project = project
        self.prints = prints
        self._creates: dict[tuple[str, Ctx], bool] = {}

    def function(self, fid: str) -> FunctionFacts | None:
        if fid.endswith("::<module>"):
            module = self.project.modules.get(id_path(fid))
            return module.module_code if module is not None else None
        return self.project.functions.get(fid)

    def resolve(self, fid: str, call: LayerCall, ctx: Ctx) -> str | None:
        """The function id a call in `fid` runs when `self` is an instance of `ctx`."""
        target = self.project.callee(fid, call.callee, call.local, ctx)
        if target is None or ctx is None or not call.local:
            return target
        # `self.method()` that the defining class has: an override in `ctx` runs instead.
        owner, _, method = call.callee.rpartition(".")
        defining = defining_class(self.project, fid)
        if defining is None or owner != defining[1] or defining == ctx:
            return target
        if defining not in self.project.mro(*ctx):
            return target
        return self.project.method(ctx[0], ctx[1], method) or target

    def instance(self, fid: str, call: LayerCall, ctx: Ctx) -> Ctx:
        """The class a `Class.method` call runs on when it is another instance's method
        (`self._encoder.build()`, the scan spelling it `T5_Encoder.build`), else None."""
        if not call.local or ctx is None:
            return None
        owner, _, method = call.callee.rpartition(".")
        if not owner or "." in owner or method.startswith("__"):
            return None
        held = (id_path(fid), owner)
        if held not in self.project.classes or held in self.project.mro(*ctx):
            return None
        return held

    def inner(self, fid: str, call: LayerCall, target: str, ctx: Ctx) -> Ctx:
        """The class `self.*()` calls resolve against inside `target`, called from `fid`."""
        held = self.instance(fid, call, ctx)
        if held is not None:
            return held
        return ctx if self.self_call(target, ctx) else None

    def self_call(self, target: str, ctx: Ctx) -> bool:
        """Whether `target` is a method that an instance of `ctx` runs on itself."""
        defining = defining_class(self.project, target)
        return ctx is not None and defining is not None and defining in self.project.mro(*ctx)

    def creates(self, fid: str, ctx: Ctx) -> bool:
        """Whether `fid`, run as a method of an instance of `ctx`, creates variables."""
        if fid in self.prints.creates:
            return True
        if ctx is None or is_driver(self.project, fid):
            return False
        key = (fid, ctx)
        known = self._creates.get(key)
        if known is not None:
            return known
        self._creates[key] = False  # a cycle creates nothing by itself
        function = self.function(fid)
        found = False
        for call in function.layer_calls if function is not None else ():
            if call.callee.startswith(names.UNPLACED):
                found = True  # layer objects used where the scan cannot say which: see roots
                break
            target = self.resolve(fid, call, ctx)
            if target is None or target == fid or is_driver(self.project, target):
                continue
            if self.creates(target, self.inner(fid, call, target, ctx)):
                found = True
                break
        self._creates[key] = found
        return found

    def self_calls(self, fid: str, ctx: Ctx) -> set[str]:
        """The methods `fid` runs on `self` when `self` is an instance of `ctx`."""
        function = self.function(fid)
        out = set()
        for call in function.layer_calls if function is not None else ():
            target = self.resolve(fid, call, ctx)
            if target is not None and target != fid and self.self_call(target, ctx):
                out.add(target)
        return out
