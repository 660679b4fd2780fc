"""Calls in the walk: what a call is (a variable-creating API, a builder of this module, a
method, an import) and the layer facts it gives."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

import libcst as cst

from codegen.scan import apis
from codegen.scan.extract import objects, units
from codegen.scan.extract.computed import Read
from codegen.scan.extract.dispatch import WALK as _WALK
from codegen.scan.extract.held import Unplaced
from codegen.scan.extract.literals import STRING_NODES, literal, parameter_values
from codegen.scan.extract.nodes import dotted, is_name_argument, name_argument
from codegen.scan.extract.unseen import UnseenWalker

_BUILTINS = frozenset(dir(builtins))


class CallWalker(UnseenWalker):
    """The token walk, plus the facts of each call it meets."""

    # What names stand for in a Keras layer's arguments: module constants and the literal
    # defaults of the function's own parameters (set when its parameters are walked).
    values: dict[str, str] | None = None
    # Layer objects already used once: a later call reuses their weights, it is no new layer.
    spent: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()  # names bound to an empty list (objects.listed)
    instances: Mapping[str, str] = {}  # `self.x` -> the class of this module it holds

    def parameters(self, node: cst.Parameters) -> None:
        if self.values is None and not self.nested_depth:
            self.values = parameter_values(node, self.ctx.constants)
        super().parameters(node)

    def literal_values(self) -> Mapping[str, str]:
        """Module constants and this function's literal parameter defaults, minus reassigned
        parameters, as its locals leave them: what a Keras layer's hyperparameters read."""
        values = self.ctx.constants if self.values is None else self.values
        if self.reassigned and not self.reassigned.isdisjoint(values):
            values = {k: v for k, v in values.items() if k not in self.reassigned}
        return self.visible(values)

    def record_variable(self, node: cst.Call, api: str) -> None:
        """Note the name a variable-creating call gives, or give up on static names."""
        if self.var_names is None:
            return
        if not api.endswith(".get_variable") or self.dynamic:
            self.var_names = None
            return
        first = name_argument(node, ("name",))
        part = self.name_part(first) if first is not None else None
        if part is None or None in self.scope_stack:
            self.var_names = None
            return
        self.var_names.append((*self.scope_stack, part))  # type: ignore[arg-type]

    def call(self, node: cst.Call) -> None:
        func = node.func
        parts = dotted(func)  # computed once for the callee and its walk
        callee_local, callee_api, params = self.classify_callee(parts)
        if self.objects and not self.nested_depth:
            self.spill_lists(node)
        mark = len(self.layer_calls)
        self.renamed.append("Call")
        if type(func) is cst.Attribute:
            self.attribute_chain(func, parts)
        else:
            _WALK[type(func)](self, func)
        built = len(self.layer_calls)  # layers built as the callee (`Dense(2)(...)`)
        append = self.renamed.append
        for index, arg in enumerate(node.args):
            value = arg.value
            if type(value) in STRING_NODES and is_name_argument(
                arg, index, callee_api, params
            ):
                # Marked before its walk, which is the only place (with record_layer) that reads it.
                self.name_nodes.add(id(value))
            # arg() inlined: a call's arguments are most of the Arg nodes there are.
            append("Arg" + arg.star)
            if arg.keyword is not None:
                append("K:" + arg.keyword.value)
            _WALK[type(value)](self, value)
        append(")")
        if self.nested_depth:
            return
        if type(func) is cst.Call and mark < built < len(self.layer_calls):
            # `Dense(2)(Concatenate()(xs))`: the layer built as the callee runs after the ones
            # its argument holds; data-flow order, as in `x = Concatenate()(xs); Dense(2)(x)`.
            self.layer_calls[mark:] = self.layer_calls[built:] + self.layer_calls[mark:built]
        if len(self.layer_calls) > mark:
            self.comprehensions(node, mark)
        if callee_api is None and callee_local is None and (self.objects or self.spent):
            bound = objects.key(func, self.self_name)
            if bound in self.objects and type(self.objects[bound]) is not Unplaced:
                # (a structure's read is the statement's: walker.unplaced_reads)
                # A layer object's first call: its weights appear here (a later call reuses them).
                self.object_use(bound)
                self.object_layer(node, self.objects.pop(bound))
                self.spent = self.spent | {bound}
                return
            if bound is not None and bound in self.spent:
                return  # a layer object called again: its weights exist already
        if (
            self.objects
            and (
                callee_local is not None
                or (callee_api is not None and not apis.is_library(callee_api))
            )
            and self.builds_bound(node)
        ):
            return  # a helper's layer or sub-model, bound to `self.x`: its first use is the layer
        if callee_api is None and callee_local is None:
            if type(func) is cst.Attribute:
                self.object_calls.append(func.attr.value)  # `sess.run`, `model.fit`
            elif type(func) is cst.Name and func.value in _BUILTINS:
                self.object_calls.append(func.value)  # `open`, `input`
        if callee_api is not None:
            self.api_calls.append(callee_api)
            if apis.is_weightless_layer(callee_api) and apis.is_sequence_step(callee_api):
                # A Keras layer without weights: a step of the sequence, creating nothing.
                self.record_layer(callee_api, False, node, params, self.literal_values())
                self.absorb_wrapped(node, mark)
            elif apis.creates_variables(callee_api):
                role = units.creation_role(node, callee_api, self.dynamic > 0)
                if role == "counter":
                    # A step counter or an optimizer slot: never a layer (noted, as the units
                    # around it count the calls they hold).
                    self.layer_calls.append(("", False, [], [], [], node, False, []))
                    return
                self.creations.append((callee_api, node, role == "frozen", units.known_shape(node)))
                self.record_variable(node, callee_api)
                keras = apis.is_keras_layer(callee_api)
                values = self.literal_values() if keras else None
                self.record_layer(callee_api, False, node, params, values)
                if keras:
                    self.absorb_wrapped(node, mark)
            elif not apis.is_library(callee_api):
                self.external_calls.append(callee_api)
                self.record_layer(callee_api, False, node, params)
        elif callee_local is not None:
            self.local_calls.append(callee_local)
            self.record_layer(callee_local, True, node, params)
        elif parts is not None:
            held = self.instances.get("self." + parts[1]) if len(parts) == 3 else None
            if held is not None and parts[0] == self.self_name and not parts[2].startswith("__"):
                # `self._encoder.build()`, `self._encoder = T5_Encoder(...)`: that class's method
                # (inherited or its own), run on that instance (plan/dispatch.py).
                qualname = f"{held}.{parts[2]}"
                methods = self.ctx.classes.get(held, {})
                self.record_layer(qualname, True, node, methods.get(parts[2], ()))
            elif len(parts) >= 2 and parts[0] == self.self_name:
                # A method the class does not define itself (inherited, resolved across modules),
                # or a method of an object held in an attribute (`self.encoder.encode`), which
                # the plan cannot see into: it ends a shared trunk.
                self.record_layer("self." + ".".join(parts[1:]), False, node, params)
            elif (method := self.instance_method(parts)) is not None:
                # `enc = Encoder(); enc.encode(x)`: that class's method (plan/dispatch.py).
                instance = self.held_instance(parts[0])  # a local's or a module value's
                methods = self.ctx.classes.get(instance[0] if instance else "", {})
                self.record_layer(method[0], method[1], node, methods.get(parts[1], ()))
            elif (unseen := self.unseen_callee(func, parts)) is not None:
                # An object passed in (`backbone(inputs)`), its method (`backbone.encode(x)`),
                # one reached through its attribute (`framework.embedding.word_embedding(x)`) or
                # a local bound to one (`enc = backbone.encoder; enc(x)`): unseen.
                self.record_layer(unseen, False, node, params)
        elif (
            type(func) is cst.Attribute
            and type(func.value) is cst.Call
            and type(func.value.func) is cst.Name
            and func.value.func.value == "super"
        ):
            self.record_layer("super." + func.attr.value, False, node, params)
        elif (picked := self.unseen_callee(func, None)) is not None:
            # An item or an attribute picked at run time (`self.blocks[i](x)`,
            # `getattr(obj, name)(x)`): nothing the scan can see into.
            self.record_layer(picked, False, node, params)

    def comprehensions(self, node: cst.Call, mark: int) -> None:
        """Keras layers built in a comprehension passed to a call (`Sequential([Dense(64) for _
        in range(3)])`, also starred into a list): one layer, matched as a whole."""
        found: list[cst.ListComp] = []
        for arg in node.args:
            value = arg.value
            if type(value) is cst.ListComp:
                found.append(value)
            elif type(value) is cst.List:
                found += [
                    e.value
                    for e in value.elements
                    if type(e) is cst.StarredElement and type(e.value) is cst.ListComp
                ]
        for comprehension in found:
            api = objects.collection_api(comprehension, self.ctx)
            if api is None:
                continue
            for index in range(mark, len(self.layer_calls)):
                if self.layer_calls[index][5] is comprehension.elt:
                    values = self.literal_values()
                    text = objects.signature(
                        comprehension, self.ctx, self.self_name, self.objects, values
                    )
                    static = self.dynamic == 0
                    args: list[tuple[str, str]] = [("layers", text)]
                    self.layer_calls[index] = (
                        api,
                        False,
                        args,
                        [],
                        [],
                        comprehension.elt,
                        static,
                        [],
                    )  # type: ignore[assignment]
                    break

    def for_loop(self, node: cst.For | cst.CompFor) -> None:
        bound = objects.key(node.iter, self.self_name) if self.objects else None
        held = self.objects.get(bound) if bound is not None else None
        super().for_loop(node)
        if isinstance(held, objects.Listed) and not self.nested_depth and bound in self.objects:
            # A loop over layers held in a list: each one's first call is here, in list order.
            self.apply_list(bound, held)
            return
        if (
            isinstance(held, objects.Bound)
            and held.collection
            and not self.nested_depth
            and bound in self.objects
        ):
            # A loop over a list of layers built together: one layer, matched as a whole.
            self.object_use(bound)
            self.objects.pop(bound)
            self.spent = self.spent | {bound}
            # Placed at the list's first constructor: a call, which every later stage can place.
            first = objects.first_constructor(held.call)
            if apis.creates_variables(held.collection) or held.collection in self.ctx.layer_classes:
                self.creations.append((held.collection, first, False, True))
            static = self.dynamic == 0
            args: list[tuple[str, str]] = [("layers", str(held))]  # facts hold plain strings
            self.layer_calls.append((held.collection, False, args, [], [], first, static, []))

    def held_list(self, statement: cst.CSTNode, made: int, calls: int) -> bool:
        """Whether the statement builds or fills a list of layer objects (objects.listed): they
        are layers where a loop applies them, not here."""
        small = statement.body[0] if type(statement) is cst.SimpleStatementLine else None
        if type(small) is cst.Assign and type(small.value) is cst.List and not small.value.elements:
            name = objects.key(small.targets[0].target, self.self_name)
            if name is not None and len(small.targets) == 1:
                self.lists = self.lists | {name}  # a list that appended layers may fill
            return False
        if len(self.layer_calls) == calls:
            return False
        if type(statement) is cst.If:  # a branch that only builds layer objects binds them
            values = self.literal_values()
            built = objects.branched(statement, self.ctx, self.self_name, self.objects, values)
            return built is not None and all(self.bind_object(b, made, calls) for b in built)
        found = objects.listed(
            statement, self.ctx, self.self_name, self.objects, self.literal_values(), self.lists
        )
        return self.bind_object(found, made, calls)

    def bind_object(self, found: tuple[str, str] | None, made: int, calls: int) -> bool:
        """Bind a statement's layer object (`found`: its key and identity) for the statements
        that use it, unless it also creates variables of its own: what the statement recorded as
        creations and layer calls since `made` and `calls` is then no layer here."""
        if found is None:
            return False
        if any(not objects.is_object_api(api) for api, *_ in self.creations[made:]):
            return False  # it also creates variables of its own
        self.objects[found[0]] = found[1]
        del self.creations[made:]
        for index in range(calls, len(self.layer_calls)):
            self.layer_calls[index] = ("", False, [], [], [], self.layer_calls[index][5], False, [])
        return True

    def spill_lists(self, node: cst.Call) -> None:
        """A call that takes a list of layer objects (`Sequential(xs)`): their layers are here."""
        for arg in node.args:
            bound = objects.key(arg.value, self.self_name)
            held = self.objects.get(bound) if bound is not None else None
            if isinstance(held, objects.Listed):
                self.apply_list(bound, held)  # type: ignore[arg-type]

    def apply_list(self, bound: str, held: objects.Listed) -> None:
        """A list of layer objects applied: each one's first call is here, in list order."""
        self.object_use(bound)
        self.objects.pop(bound)
        self.spent = self.spent | {bound}
        for made in held.members:
            self.object_layer(made.call, made)

    def object_layer(self, node: cst.Call, signature: str) -> None:
        """The layer a bound object's first call makes: a Keras layer is its constructor's API
        and literal arguments (as where it is built inline); any other object (an RNN cell),
        its API."""
        api = signature.split("(", 1)[0]
        if isinstance(signature, objects.Bound) and signature.builder:
            local, external, params = self.classify_callee(tuple(signature.builder.split(".")))
            if local is not None:
                self.local_calls.append(local)
                self.record_layer(local, True, node, params, None, signature.call)
            elif external is not None:
                self.external_calls.append(external)
                self.record_layer(external, False, node, params, None, signature.call)
            return
        if isinstance(signature, objects.Bound) and apis.is_keras_layer(api):
            if not apis.is_weightless_layer(api):
                self.creations.append((api, node, False, True))
            # At the constructor's position: a Keras model marks its layers where they are made.
            self.record_layer(api, False, signature.call, (), signature.values, signature.call)
            return
        self.creations.append((api, node, False, True))
        self.record_layer(api, False, node, ())

    def builds_bound(self, node: cst.Call) -> bool:
        """Whether this call builds a helper's layer object that the class binds and calls."""
        return any(
            isinstance(bound, objects.Bound) and bound.builder and bound.call is node
            for bound in self.objects.values()
        )

    def absorb_wrapped(self, node: cst.Call, mark: int) -> None:
        """A Keras layer built as another's argument (`Bidirectional(LSTM(64))`) is part of that
        layer, not a layer of its own: its identity is in the wrapper's arguments."""
        inner = {
            id(arg.value): arg.keyword.value if arg.keyword is not None else f"#{index}"
            for index, arg in enumerate(node.args)
            if type(arg.value) is cst.Call
        }
        if not inner or len(self.layer_calls) - mark < 2:
            return
        refs = self.layer_calls[-1][7]
        kept = []
        for call in self.layer_calls[mark:-1]:
            key = inner.get(id(call[5]))
            if key is not None and call[1]:
                # A helper of this module builds the wrapped layer (`Bidirectional(
                # self._rnn_cell())`): it decides what the wrapper creates, as a reference (the
                # call stays, as the plan's call graph needs it, and is no layer of its own).
                refs.append((key, "L:" + call[0]))
            if key is None or call[1] or not apis.is_keras_layer(call[0]):
                kept.append(call)
            else:
                refs.extend(call[7])  # what decides the wrapped layer decides the wrapper
        self.layer_calls[mark:-1] = kept

    def wrapped(self, value: cst.BaseExpression, values: Mapping[str, str]) -> str | None:
        """The signature of a Keras layer built as an argument of another, else None."""
        if type(value) is not cst.Call:
            return None
        parts = dotted(value.func)
        api = self.ctx.resolve_final(parts) if parts else None
        if api is None or not apis.is_keras_layer(api):
            return None
        return objects.signature(value, self.ctx, self.self_name, self.objects, values)

    def object_use(self, bound: str) -> None:
        """Note that the statement being walked uses a layer object (see walker.unit_statements)."""
        self.used_objects.append(self.objects[bound])

    def classify_callee(
        self, parts: tuple[str, ...] | None
    ) -> tuple[str | None, str | None, tuple[str, ...]]:
        """(local qualname, resolved API, positional parameter names) of a call's dotted target."""
        if parts is None:
            return None, None, ()
        root = parts[0]
        ctx = self.ctx
        if root == self.self_name and len(parts) == 2 and self.class_name:
            methods = ctx.classes.get(self.class_name, {})
            if parts[1] in methods:
                return f"{self.class_name}.{parts[1]}", None, methods[parts[1]]
            if parts[1] in apis.LAYER_WEIGHT_METHODS:
                # Keras's own way for a layer class to create a weight (in `build` or __init__).
                return None, apis.LAYER_WEIGHT_METHODS[parts[1]], ()
            return None, None, ()
        if len(parts) == 1 and root in self.nested:
            return self.nested[root], None, ()
        if root in self.locals:
            return None, None, ()
        if len(parts) == 1 and root in ctx.functions:
            return root, None, ctx.functions[root]
        if len(parts) == 1 and root in ctx.classes:
            methods = ctx.classes[root]
            if "__call__" in methods:
                return f"{root}.__call__", None, methods.get("__init__", ())
            if "__init__" in methods:
                return f"{root}.__init__", None, methods["__init__"]
            if ctx.keras_class(root):
                # A Keras layer class that inherits its constructor (`build` and `call` only):
                # still a layer, identified as its whole class by the plan.
                return f"{root}.__init__", None, ()
            return None, None, ()
        if root in ctx.symbols:
            return None, None, ()
        if (
            ctx.star_local
            and root not in ctx.aliases
            and root not in _BUILTINS
            and root != self.self_name
        ):
            # A free name in a module with `from utils.x import *`: it comes through the import.
            return None, "*." + ".".join(parts), ()
        # Memoized: every call of an API then shares one string object, which only makes the
        # pickled facts smaller (facts compare equal, and their repr is the same).
        return None, ctx.resolve_final(parts), ()

    def record_layer(
        self,
        callee: str,
        local: bool,
        node: cst.Call,
        params: tuple[str, ...],
        values: Mapping[str, str] | None = None,
        arguments: cst.Call | None = None,
    ) -> None:
        """Note a call that may make a layer; `values`: what names stand for in its arguments
        (default: module constants); `arguments`: the call whose arguments identify it, when not
        `node` (a Keras layer object's constructor, for its first use)."""
        args: list[tuple[str, str]] = []
        names: list[tuple[str, str]] = []
        opaque: list[str] = []
        refs: list[tuple[str, str]] = []
        given: list[tuple[str, str]] = []
        reads: list[Read] = []
        constants = self.visible(self.ctx.constants) if values is None else values
        name_nodes, reader = self.name_nodes, self.computed(constants)
        for index, arg in enumerate((node if arguments is None else arguments).args):
            if arg.star:
                if (spread := reader.spread(arg, params)) is None:
                    opaque.append(arg.star)
                    reads += reader.imported(arg.star, arg.value)  # `**cfg.CFG`
                args += spread or []
                continue
            if arg.keyword is not None:
                keyword = arg.keyword.value
                key = f"#{params.index(keyword)}" if keyword in params else keyword
            else:
                key = f"#{index}"
            value = literal(arg.value, constants) or reader.spelled(arg.value)
            if value is None and not is_name_argument(arg, index, callee, params):
                value = reader.text(arg.value)  # `dtype=f"float{BITS}"`: no name, it decides
            if value is None and values is not None:
                value = self.wrapped(arg.value, values)
            if value is None:
                value = reader.library_call(arg.value)
            if value is None:
                opaque.append(key)
                target = self.reference(arg.value)
                # `Dense(H * 2)`, H imported (a bare name is a reference: it decides as one)
                reads += reader.imported(key, arg.value) if target is None else []
                if target is not None:
                    refs.append((key, target))
                elif (handed := self.given_object(arg.value)) is not None:
                    given.append((key, handed))  # `trunk(backbone, x)`: see plan/unseen.py
            elif id(arg.value) in name_nodes or (
                arguments is not None and is_name_argument(arg, index, callee, params)
            ):
                names.append((key, value))
            else:
                args.append((key, value))
        args += self.scope_defaults  # (see walker.with_block)
        self.layer_calls.append((callee, local, args, names, opaque, node, self.dynamic == 0, refs))
        if given or reads:
            self.given_args = {**self.given_args, id(node): (tuple(given), tuple(reads))}

    def reference(self, value: cst.BaseExpression) -> str | None:
        """What an argument that names a class or function refers to (`layer=Embedding`):
        "L:" and a module-local qualname, or "A:" and the resolved dotted name; None otherwise."""
        if type(value) is not cst.Name and type(value) is not cst.Attribute:
            return None
        parts = dotted(value)
        if parts is None or parts[0] == self.self_name or parts[0] in _BUILTINS:
            return None
        local, api, _ = self.classify_callee(parts)
        if local is None and len(parts) == 1 and parts[0] in self.ctx.classes:
            local = parts[0]  # a class of this module that defines neither constructor nor call
        if local is not None:
            return "L:" + local
        return None if api is None else "A:" + api
