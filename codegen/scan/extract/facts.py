"""The extractor: one module's functions (with their walks) and symbols, as frozen facts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import libcst as cst

from codegen import names, stable_hash
from codegen.model import ClassFacts, Diagnostic, FunctionFacts, LayerCall, SymbolFacts
from codegen.scan.extract import held, objects, relevance, units
from codegen.scan.extract.context import (
    ModuleContext,
    closure_context,
    function_context,
    gather_module,
    settle,
)
from codegen.scan.extract.literals import literal
from codegen.scan.extract.nodes import (
    BLOCK_STATEMENTS,
    decorator_name,
    is_docstring,
    nested_blocks,
    positional_params,
    suite,
)
from codegen.scan.extract.positions import Positions
from codegen.scan.extract.rebinding import rebound_names
from codegen.scan.extract.walker import FunctionWalker

NON_LITERAL = "<expr>"  # a parameter default that is not a plain literal
_Kind = Literal["function", "method", "nested"]
_MODULE_CODE = frozenset({cst.SimpleStatementLine, cst.With, cst.For, cst.While, cst.If, cst.Try})


def _is_main_guard(statement: cst.CSTNode) -> bool:
    """`if __name__ == "__main__":`, the driver of a script."""
    if type(statement) is not cst.If or type(statement.test) is not cst.Comparison:
        return False
    test = statement.test
    sides = [test.left, *(target.comparator for target in test.comparisons)]
    return any(type(side) is cst.Name and side.value == "__name__" for side in sides)


def _only_imports(statement: cst.CSTNode) -> bool:
    return type(statement) is cst.SimpleStatementLine and all(
        type(small) in (cst.Import, cst.ImportFrom) for small in statement.body
    )


class Extractor:
    """Walks a module's statements, collecting module context, functions and symbols."""

    def __init__(
        self,
        path: str,
        text: str,
        module: cst.Module,
        imported: tuple[tuple[str, str], ...] = (),
        layer_classes: tuple[str, ...] = (),
        positions: Positions | None = None,
    ):
        """`positions`: the module's, when a first pass already has them."""
        self.path = path
        self.text = text
        self.module = module
        # Names imported from scanned modules that stand for library names there (see
        # linking.library_bindings): bound first, so the imports below keep them.
        self.ctx = ModuleContext(aliases=dict(imported), layer_classes=frozenset(layer_classes))
        self.positions = Positions(module, text) if positions is None else positions
        self.functions: list[FunctionFacts] = []
        self.walked: list[dict[str, Any]] = []  # each function's facts but its inert parameters
        self.symbols: list[SymbolFacts] = []
        self.diagnostics: list[Diagnostic] = []
        self.classes: list[ClassFacts] = []
        self.module_code: FunctionFacts | None = None
        self.assumed: tuple[tuple[str, str], ...] = ()
        self.class_objects: dict[str, objects.Objects] = {}  # class -> its `self.x` objects
        self.class_instances: dict[str, dict[str, str]] = {}  # class -> `self.x` -> class
        self.targets: list[relevance.Target] = []  # functions with parameters, for relevance

    def run(self) -> None:
        self.ctx.rebound, self.ctx.bound_otherwise = rebound_names(self.module.body, self.text)
        gather_module(self.ctx, self.module.body, self.symbols)
        self.assumed = settle(self.ctx, self.text, self.symbols)
        self.ctx.factories = objects.factories(self.module.body, self.ctx)
        self.collect_functions(self.module.body, prefix="", class_name=None, kind="function")
        inert = relevance.inert_params(self.ctx, self.targets) if self.targets else {}
        # Each function's facts are made once, knowing its inert parameters.
        self.functions = [
            FunctionFacts(**fields, inert_params=inert.get(fields["qualname"], ()))
            for fields in self.walked
        ]
        self.module_code = self.module_statements()

    def module_statements(self) -> FunctionFacts | None:
        """Module-level graph code (outside defs, classes and the `__main__` guard), as one
        function, when it makes layer calls; None otherwise (nearly every module)."""
        statements = [
            s
            for s in self.module.body
            if type(s) in _MODULE_CODE and not _is_main_guard(s) and not _only_imports(s)
        ]
        if not statements:
            return None
        walker = FunctionWalker(self.ctx, qualname="<module>", class_name=None, nested={})
        walker.unit_statements(statements)
        if not walker.layer_calls:
            return None
        end_line = self.positions.end_line(statements[-1])
        return FunctionFacts(
            **self.facts(
                walker, "<module>", "<module>", "function", (1, 0), end_line, (), (), (), False
            )
        )

    # -- functions ------------------------------------------------------------------------
    def collect_functions(
        self, statements: Sequence[cst.CSTNode], *, prefix: str, class_name: str | None, kind: _Kind
    ) -> None:
        for statement in statements:
            if type(statement) is cst.FunctionDef:
                self.function(statement, prefix=prefix, class_name=class_name, kind=kind)
            elif type(statement) is cst.ClassDef:
                qualname = prefix + statement.name.value
                line = self.positions.line(statement)
                if not prefix:
                    self.class_symbol(statement, line)
                    self.classes.append(
                        ClassFacts(
                            statement.name.value,
                            line,
                            self.ctx.bases.get(statement.name.value, ()),
                            tuple(
                                s.name.value
                                for s in suite(statement.body)
                                if type(s) is cst.FunctionDef
                            ),
                        )
                    )
                self.class_objects[qualname] = held.class_objects(statement, self.ctx)
                self.class_instances[qualname] = held.instances(statement, self.ctx)
                self.collect_functions(
                    suite(statement.body),
                    prefix=qualname + ".",
                    class_name=qualname,
                    kind="method",
                )
            elif type(statement) is cst.SimpleStatementLine and not prefix:
                for small in statement.body:
                    if type(small) is cst.Assign or type(small) is cst.AnnAssign:
                        self.constant_symbol(small)
            elif type(statement) in BLOCK_STATEMENTS:
                # Builders defined in loops or branches are still builders.
                for block in nested_blocks(statement):
                    self.collect_functions(block, prefix=prefix, class_name=class_name, kind=kind)

    def function(
        self, node: cst.FunctionDef, *, prefix: str, class_name: str | None, kind: _Kind
    ) -> None:
        qualname = prefix + node.name.value
        statements = suite(node.body)
        nested = {
            s.name.value: f"{qualname}.{s.name.value}"
            for s in statements
            if type(s) is cst.FunctionDef
        }
        outer = self.ctx
        ctx = function_context(outer, statements, self.text)  # its own imports bind locally
        walker = FunctionWalker(ctx, qualname=qualname, class_name=class_name, nested=nested)
        decorators = [decorator_name(d) for d in node.decorators]
        is_method = class_name is not None and not any(
            d.endswith("staticmethod") for d in decorators
        )
        all_params = positional_params(node, method=False)
        if is_method and all_params:
            walker.self_name = all_params[0]
        params = all_params[1:] if is_method and all_params else all_params
        walker.param_index = {name: i for i, name in enumerate(params)}
        walker.kwonly = frozenset(p.name.value for p in node.params.kwonly_params)
        if params:
            self_name = walker.self_name if is_method else None
            self.targets.append(relevance.Target(node, qualname, params, class_name, self_name))
        if is_method and class_name is not None:
            walker.objects = dict(self.class_objects.get(class_name, {}))
            walker.instances = self.class_instances.get(class_name, {})
        for decorator, spelled in zip(node.decorators, decorators, strict=True):
            if names.routing_kind(spelled) is None:  # our own decorators never make copies differ
                self.decorator(walker, decorator.decorator)
        walker.same("async" if node.asynchronous else "def")
        walker.walk(node.params)  # the return annotation, as any annotation, never decides
        walker.units(node.body)
        defaults = tuple(
            [
                None if p.default is None else literal(p.default, {}) or NON_LITERAL
                for p in node.params.params[1 if is_method else 0 :]
            ]
        )
        self.walked.append(
            self.facts(
                walker,
                qualname,
                node.name.value,
                kind,
                self.positions.start(node),
                self.positions.end_line(node),
                params,
                defaults,
                tuple([p.name.value for p in node.params.kwonly_params]),
                type(node.params.star_arg) is cst.Param or node.params.star_kwarg is not None,
            )
        )
        nested_scopes = [
            s for s in statements if type(s) is cst.FunctionDef or type(s) is cst.ClassDef
        ]
        if nested_scopes:
            # Closures see the enclosing function's imports and its locals.
            self.ctx = closure_context(ctx, walker.closure_bindings(set(nested)))
            self.collect_functions(
                nested_scopes, prefix=qualname + ".", class_name=None, kind="nested"
            )
            self.ctx = outer

    def decorator(self, walker: FunctionWalker, node: cst.BaseExpression) -> None:
        """A decorator, its text arguments left out: `@add_start_docstrings(BERT_DOCSTRING)`
        documents the function, as a docstring does, and docstrings never decide."""
        if type(node) is not cst.Call or not any(self.is_text(a.value) for a in node.args):
            walker.walk(node)
            return
        walker.same("Decorator")
        walker.walk(node.func)
        for arg in node.args:
            if self.is_text(arg.value):
                walker.same("Arg:text")
            else:
                walker.walk(arg)
        walker.same(")")

    def is_text(self, node: cst.BaseExpression) -> bool:
        """A string, a module constant holding one, or one formatted (`DOC.format(...)`)."""
        if type(node) is cst.Call and type(node.func) is cst.Attribute:
            return node.func.attr.value == "format" and self.is_text(node.func.value)
        if type(node) is cst.FormattedString:
            return True
        value = literal(node, self.ctx.constants)
        return value is not None and value[:1] in ("'", '"')

    def facts(
        self,
        walker: FunctionWalker,
        qualname: str,
        name: str,
        kind: _Kind,
        start: tuple[int, int],
        end_line: int,
        params: tuple[str, ...],
        defaults: tuple[str | None, ...],
        kwonly: tuple[str, ...],
        varargs: bool,
    ) -> dict[str, Any]:
        """The facts of one walked function, as FunctionFacts' fields (all but inert_params)."""
        kept: list[LayerCall] = []
        index_of: dict[int, int] = {}
        for index, call in enumerate(walker.layer_calls):
            if call[0]:
                index_of[index] = len(kept)
                kept.append(self.layer_call(*call, *walker.given_args.get(id(call[5]), ((), ()))))
        if len(kept) != len(walker.layer_calls):
            for unit in walker.raw_units:
                unit.calls = [index_of[i] for i in unit.calls if i in index_of]
        layer_calls = tuple(kept)
        return dict(
            qualname=qualname,
            name=name,
            kind=kind,
            line=start[0],
            column=start[1],
            end_line=end_line,
            params=params,
            param_defaults=defaults,
            kwonly=kwonly,
            varargs=varargs,
            exact_hash=stable_hash("\x1f".join(walker.stream(walker.exact_overrides))),
            renamed_hash=stable_hash("\x1f".join(walker.renamed)),
            skeleton_hash=stable_hash("\x1f".join(walker.stream(walker.skeleton_overrides))),
            deps=tuple(walker.deps),
            direct_creation=bool(walker.creations),
            api_calls=tuple(dict.fromkeys(walker.api_calls)),
            name_strings=tuple(walker.strings),
            literals=tuple(walker.literals),
            variable_names=walker.static_variable_names(),
            layer_calls=layer_calls,
            local_calls=tuple(dict.fromkeys(walker.local_calls)),
            external_calls=tuple(dict.fromkeys(walker.external_calls)),
            object_calls=tuple(dict.fromkeys(walker.object_calls)),
            inline_layers=units.inline_layers(walker, self.positions, layer_calls)
            if walker.raw_units
            else (),
            self_reads=tuple(walker.self_reads),
        )

    def layer_call(
        self,
        callee: str,
        local: bool,
        args: list,
        names: list,
        opaque: list,
        node: cst.Call,
        static: bool,
        refs: list,
        given: tuple[tuple[str, str], ...] = (),
        reads: tuple[tuple[str, str, tuple[str, ...]], ...] = (),
    ) -> LayerCall:
        line, column = self.positions.start(node)
        return LayerCall(
            callee=callee,
            local=local,
            args=tuple(args),
            names=tuple(names),
            opaque=tuple(opaque),
            line=line,
            column=column,
            static=static,
            refs=tuple(refs),
            given=given,
            reads=reads,
        )

    # -- symbols --------------------------------------------------------------------------
    def class_symbol(self, node: cst.ClassDef, line: int) -> None:
        walker = FunctionWalker(self.ctx, qualname=node.name.value, class_name=None, nested={})
        for base in node.bases:
            walker.walk(base)
        methods = []
        attributes: list[tuple[str, str]] = []
        for statement in suite(node.body):
            if type(statement) is cst.FunctionDef:
                methods.append(f"{node.name.value}.{statement.name.value}")
                walker.same("method:" + statement.name.value)
            elif not is_docstring(statement):
                attribute = self.class_attribute(statement, node.name.value)
                if attribute is None:
                    walker.walk(statement)
                else:
                    attributes.append(attribute)
        self.symbols.append(
            SymbolFacts(
                node.name.value,
                "class",
                line,
                stable_hash("\x1f".join(walker.renamed)),
                (*walker.deps, *methods),
                "",
                "",
                tuple(sorted(dict(attributes).items())),
            )
        )

    def class_attribute(self, statement: cst.CSTNode, owner: str) -> tuple[str, str] | None:
        """`units = 3` in a class body, when its value uses no module-level symbol: (name, hash
        of the value under the clone rules); None for any other statement."""
        if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if type(small) is cst.Assign and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif type(small) is cst.AnnAssign and small.value is not None:
            target, value = small.target, small.value
        else:
            return None
        if type(target) is not cst.Name:
            return None
        walker = FunctionWalker(self.ctx, qualname=owner, class_name=None, nested={})
        walker.walk(value)
        if walker.deps:
            return None  # it uses a class or constant of the module: deep equivalence decides
        return target.value, stable_hash("\x1f".join(walker.renamed))

    def constant_symbol(self, node: cst.Assign | cst.AnnAssign) -> None:
        targets = node.targets if isinstance(node, cst.Assign) else [node]
        if len(targets) != 1 or type(targets[0].target) is not cst.Name or node.value is None:
            return
        name = targets[0].target.value
        if name not in self.ctx.symbols:
            return  # an alias, recorded as an import
        walker = FunctionWalker(self.ctx, qualname=name, class_name=None, nested={})
        walker.walk(node.value)
        if name in self.ctx.rebound:  # its value is its module's own: no copy elsewhere has it
            walker.same(f"module:{self.path}")
        line = self.positions.line(node)
        self.symbols.append(
            SymbolFacts(
                name,
                "constant",
                line,
                stable_hash("\x1f".join(walker.renamed)),
                tuple(walker.deps),
                "",
                self.ctx.constants.get(name, ""),
            )
        )
