"""Calls of objects the scan cannot resolve: passed in, held in an attribute, bound to a local
from one of those, or picked at run time (an item, `getattr`). Each is spelled for the plan,
which ends a shared trunk there (CG230): two copies of the same code may call different
objects."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from codegen import names
from codegen.scan import apis
from codegen.scan.extract.computed import Read
from codegen.scan.extract.held import made_with_literals
from codegen.scan.extract.literals import STRING_NODES, literal
from codegen.scan.extract.nodes import dotted
from codegen.scan.extract.tokens import TokenWalker

# Library calls that return a callable running another with arguments bound in advance.
# `tf.make_template(name, f, **kwargs)` too: its result runs `f` with those kwargs.
_BINDERS = frozenset(
    {
        "functools.partial",
        "functools.partialmethod",
        "tensorflow.make_template",
        "tensorflow.compat.v1.make_template",
    }
)


def _code(node: cst.CSTNode) -> str:
    """A node's source text, for a callee the scan cannot spell otherwise."""
    return cst.Module(body=[]).code_for_node(node)


class UnseenWalker(TokenWalker):
    """The token walk, plus which locals hold objects it cannot resolve."""

    spent: frozenset[str]  # layer objects already called (calls.CallWalker)
    instances: Mapping[str, str]  # `self.x` -> the class of this module it holds
    # Locals bound to an object the scan cannot resolve (`enc = backbone.encoder`, a loop over
    # `backbone.layers`): local name -> how that object is spelled (`param.backbone.encoder`).
    unseen_locals: Mapping[str, str] = {}
    # Locals bound to an instance of a class of this module (`enc = Encoder()`): name -> (class,
    # whether its constructor was given arguments), so that `enc.encode(x)` runs its method.
    local_instances: Mapping[str, tuple[str, bool]] = {}
    # Call node id -> the arguments that hand over an unseen object (LayerCall.given), and the
    # opaque ones that read names of other modules (LayerCall.reads).
    given_args: Mapping[int, tuple[tuple[tuple[str, str], ...], tuple[Read, ...]]] = {}

    def given_object(self, value: cst.BaseExpression) -> str | None:
        """How an argument spells an object the scan cannot resolve that it hands over, alone
        (`backbone`, `self.held`, `backbone.encoder`, `blocks[0]`) or carried in a list, tuple,
        set, dict or conditional (`[backbone]`, `{"enc": backbone}`, `a if flag else b`); None
        for anything else (a literal, a name of this module, a call's result: that call is
        noted itself when unseen)."""
        kind = type(value)
        if kind is cst.List or kind is cst.Tuple or kind is cst.Set or kind is cst.Dict:
            for element in value.elements:  # type: ignore[attr-defined]
                inner = getattr(element, "value", None)
                found = None if inner is None else self.given_object(inner)
                if found is not None:
                    return names.any_item(found)
            return None
        if kind is cst.IfExp or kind is cst.BooleanOperation:
            for part in ("body", "orelse", "left", "right"):
                inner = getattr(value, part, None)
                found = None if inner is None else self.given_object(inner)
                if found is not None:
                    return found
            return None
        if kind is cst.Name or kind is cst.Attribute or kind is cst.Subscript:
            return self.unseen_spelling(value)
        return None

    def unseen_callee(self, func: cst.BaseExpression, parts: tuple[str, ...] | None) -> str | None:
        """The callee spelling of a call of an object the scan cannot resolve (its dotted
        `parts`, if any), or None: for one it resolves, and for a method that creates nothing
        whatever it is called on (`params.get(...)`, `x.get_shape()`)."""
        if parts is not None:
            spelled = self.unseen_spelling(func, called=len(parts) == 1)
        elif type(func) is cst.Subscript or (type(func) is cst.Call and self.is_getattr(func)):
            spelled = self.unseen_spelling(func, called=True)  # `self.blocks[i](x)`
        elif type(func) is cst.Call and type(func.func) is cst.Name:
            # `pick()(40)`: a call of what a module function returns, a reference it was given
            # or names (a layer class, as `def pick(k=Dense): return k` does by default).
            name = func.func.value
            returned = name in self.ctx.returners and name not in self.locals
            return f"{name}()" if returned else None
        else:
            return None
        if spelled is None or (parts is not None and len(parts) == 1):
            return spelled
        owner, _, method = spelled.rpartition(".")
        return spelled if owner == "param" or not apis.creates_nothing(method) else None

    def is_getattr(self, node: cst.Call) -> bool:
        """Whether a call is the builtin `getattr(obj, name[, default])`."""
        func = node.func
        return (
            type(func) is cst.Name
            and func.value == "getattr"
            and func.value not in self.locals
            and func.value not in self.ctx.symbols
            and len(node.args) >= 2
        )

    def unseen_spelling(self, node: cst.BaseExpression, *, called: bool = False) -> str | None:
        """How a callee spells an object the scan cannot resolve: passed in
        (`param.backbone.encoder`), held in an attribute (`self.blocks`), in a local bound to one
        of those, an item of one (`self.blocks[?]`) or an attribute picked at run time
        (`param.obj.?`); None for anything else (a module's function, a library, a layer object
        the scan follows). When `called`, an item or a picked attribute of anything else is
        spelled as written (`LAYERS[?]`, `layers.?`): which entry runs is known at run time."""
        kind = type(node)
        if kind is cst.Subscript:
            base = self.unseen_spelling(node.value)  # type: ignore[attr-defined]
            if base is None and called:
                base = _code(node.value)  # type: ignore[attr-defined]
            return None if base is None else names.any_item(base)
        if kind is cst.Call:
            if not self.is_getattr(node):  # type: ignore[arg-type]
                return None
            target, name = node.args[0].value, node.args[1].value  # type: ignore[attr-defined]
            base = self.unseen_spelling(target)
            if base is None and called:
                base = _code(target)
            if base is None:
                return None
            text = name.evaluated_value if type(name) is cst.SimpleString else None
            if isinstance(text, str) and text.isidentifier():
                return f"{base}.{text}"  # `getattr(backbone, "encode")`
            return names.any_attribute(base)
        parts = dotted(node) if kind is cst.Name or kind is cst.Attribute else None  # type: ignore[arg-type]
        if not parts:
            return None
        root = parts[0]
        if root == self.self_name:
            key = "self." + parts[1] if len(parts) > 1 else None
            if key is None or key in self.objects or key in self.spent or key in self.instances:
                return None  # `self` itself, or a layer object or an instance the scan follows
            return "self." + ".".join(parts[1:])
        if root in self.objects or root in self.spent:
            return None
        if root in self.unseen_locals:
            return ".".join((self.unseen_locals[root], *parts[1:]))
        if root in self.param_index:
            return "param." + ".".join(parts)
        if len(parts) == 2 and root not in self.locals:
            if parts[1] in self.ctx.class_values.get(root, ()):
                return ".".join(parts)  # `Cfg.k(40)`, `k = tf.keras.layers.Dense` in `Cfg`
        if root not in self.locals and self.module_object(root):
            # `ENCODER = make_encoder()` at module level, then `ENCODER(x)`, `ENCODER.encode(x)`
            return ".".join(parts)
        return None

    def module_value(self, name: str) -> bool:
        """Whether a name is a module-level value made at import time (not a def, a class, a
        literal constant or an alias): what it holds the scan does not follow."""
        ctx = self.ctx
        return (
            name in ctx.symbols
            and name not in ctx.functions
            and name not in ctx.classes
            and name not in ctx.constants
        )

    def module_object(self, name: str) -> bool:
        """Whether a module-level value holds an object the scan cannot see into, by what it is
        bound to: an unknown or scanned function's result (`build_encoder()`), any other
        expression made at import time; not an instance of a class of this module (its methods
        are that class's, see `held_instance`), nor what a library call makes that is no layer
        and holds none (`logging.getLogger(...)`, `np.zeros(...)`, `tf.constant(...)`)."""
        if not self.module_value(name):
            return False
        value = self.ctx.values.get(name)
        if type(value) is not cst.Call:
            return True
        if self.module_instance(name) is not None:
            return False
        parts = dotted(value.func)  # type: ignore[arg-type]
        resolved = self.ctx.resolve(parts) if parts and parts[0] in self.ctx.aliases else None
        if resolved is None or resolved in _BINDERS:
            return True  # `D = partial(Dense, 64)`: a callable whose arguments the scan drops
        if resolved.split(".", 1)[0] in apis.NOT_LAYER_MODULES:
            return False
        leaf = resolved.rsplit(".", 1)[-1]
        return (
            not apis.is_library(resolved)
            or leaf[:1].isupper()  # a library class's instance (`keras.Sequential([...])`)
            or apis.creates_variables(resolved)
            or apis.is_built_model(resolved)
        )

    def module_instance(self, name: str) -> tuple[str, bool] | None:
        """(class, made with a literal) when a module-level value is an instance of a class of
        this module (`ENCODER = Encoder()`), else None."""
        value = self.ctx.values.get(name)
        if type(value) is not cst.Call or type(value.func) is not cst.Name:
            return None
        made = value.func.value
        if made not in self.ctx.classes or not self.module_value(name):
            return None
        return made, made_with_literals(value, self.ctx.constants)

    def held_instance(self, name: str) -> tuple[str, bool] | None:
        """(class, made with a literal) of the instance of a class of this module that a local
        (`enc = Encoder()`) or, unless a local hides it, a module-level value holds."""
        held = self.local_instances.get(name)
        if held is None and name not in self.locals:
            held = self.module_instance(name)
        return held

    def instance_method(self, parts: tuple[str, ...]) -> tuple[str, bool] | None:
        """(callee, whether it is the class's own method) for a call of a method of a local
        holding an instance of a class of this module (`enc.encode(x)`), else None. Made with a
        literal (`Encoder(16)`), what the method creates may depend on it, which the method's
        identity does not hold: it is unseen (`Encoder(...).encode`)."""
        held = self.held_instance(parts[0]) if len(parts) == 2 else None
        if held is None or parts[0] in self.objects or parts[1].startswith("__"):
            return None
        if held[1]:
            return names.of_instance(held[0], parts[1]), False
        return f"{held[0]}.{parts[1]}", parts[1] in self.ctx.classes.get(held[0], {})

    def bound_callable(self, value: cst.BaseExpression) -> str | None:
        """How a local bound to `functools.partial(f, ...)` (or `tf.make_template`) is spelled:
        calling it runs `f` with arguments the call does not show, so the scan cannot see what
        it creates."""
        if type(value) is not cst.Call:
            return None
        parts = dotted(value.func)  # type: ignore[arg-type]
        if not parts or parts[0] in self.locals or parts[0] not in self.ctx.aliases:
            return None
        resolved = self.ctx.resolve(parts)
        if resolved not in _BINDERS:
            return None
        bound = [a.value for a in value.args if type(a.value) not in STRING_NODES][:1]
        # Spelled by its leaf, not under `functools` (whose calls are never noted: CG230).
        return f"{resolved.rsplit('.', 1)[-1]}({''.join(_code(b) for b in bound)})"

    def library_alias(self, value: cst.BaseExpression) -> str | None:
        """How a local bound to a variable-creating library API itself, not called (`layer =
        tf.keras.layers.Dense`), is spelled: a call of the local makes a layer whose class the
        scan does not read as one, so it is unseen rather than dropped."""
        if type(value) is not cst.Name and type(value) is not cst.Attribute:
            return None
        parts = dotted(value)  # type: ignore[arg-type]
        if not parts or parts[0] in self.locals or parts[0] not in self.ctx.aliases:
            return None
        resolved = self.ctx.resolve(parts)
        return _code(value) if resolved is not None and apis.creates_variables(resolved) else None

    def assign(self, node: cst.Assign) -> None:
        spelled = None if self.nested_depth else self.unseen_spelling(node.value)
        if spelled is None and not self.nested_depth:
            spelled = self.bound_callable(node.value) or self.library_alias(node.value)
        single = node.targets[0].target if len(node.targets) == 1 else None
        local = single.value if type(single) is cst.Name else None
        first = local is not None and local not in self.locals
        straight = local is not None and not self.dynamic and local not in self.param_index
        bound = None
        if straight and not self.nested_depth:
            # `units = 64`, or a value computed from literals (`cfg = dict(units=64)`, `u = H *
            # 2`, `u = u * 2` after it): it stands for the local (TokenWalker.visible)
            values = self.literal_values()
            bound = literal(node.value, values) or self.computed(values).spelled(node.value)
        super().assign(node)
        if self.nested_depth:
            return
        if straight and local is not None:
            if bound is None:
                self.local_literals.pop(local, None)
            else:
                self.local_literals[local] = bound
                if not first:
                    self.known_again.add(local)  # stored again, to a value known here
        value = node.value
        made = value.func.value if type(value) is cst.Call and type(value.func) is cst.Name else ""
        instance = made in self.ctx.classes and made not in self.locals
        for target in node.targets:
            self.bind_unseen(target.target, spelled)
            if type(target.target) is cst.Name:
                name = target.target.value
                if instance:
                    given = made_with_literals(value, self.ctx.constants)  # type: ignore[arg-type]
                    self.local_instances = {**self.local_instances, name: (made, given)}
                elif name in self.local_instances and not self.dynamic:
                    self.local_instances = {
                        k: v for k, v in self.local_instances.items() if k != name
                    }

    def for_loop(self, node: cst.For | cst.CompFor) -> None:
        if not self.nested_depth:  # `for layer in backbone.layers`: each is an object passed in
            spelled = self.unseen_spelling(node.iter)
            self.bind_unseen(node.target, None if spelled is None else names.any_item(spelled))
        super().for_loop(node)

    def bind_unseen(self, target: cst.BaseExpression, spelled: str | None) -> None:
        """Bind a local to the unseen object it now holds (`spelled`), or, outside a branch or
        loop, forget that it held one (a branch that rebinds it may not run)."""
        if type(target) is not cst.Name:
            for element in getattr(target, "elements", ()):  # `a, b = ...`: its items
                item = None if spelled is None else names.any_item(spelled)
                self.bind_unseen(element.value, item)
            return
        name = target.value
        if spelled is not None:
            self.unseen_locals = {**self.unseen_locals, name: spelled}
        elif name in self.unseen_locals and not self.dynamic:
            self.unseen_locals = {k: v for k, v in self.unseen_locals.items() if k != name}
