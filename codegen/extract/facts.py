"""The extractor: one module's functions (with their walks) and symbols, as frozen facts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import libcst as cst

from codegen import apis, names, stable_hash
from codegen.extract.context import ModuleContext, gather_module
from codegen.extract.lines import LineIndex
from codegen.extract.literals import literal
from codegen.extract.nodes import (
    BLOCK_STATEMENTS,
    decorator_name,
    is_docstring,
    nested_blocks,
    positional_params,
    suite,
)
from codegen.extract.walker import FunctionWalker
from codegen.model import Diagnostic, FunctionFacts, LayerCall, SymbolFacts

NON_LITERAL = "<expr>"  # a parameter default that is not a plain literal
_Kind = Literal["function", "method", "nested"]


class Extractor:
    """Walks a module's statements, collecting module context, functions and symbols."""

    def __init__(self, path: str, text: str, module: cst.Module):
        self.path = path
        self.text = text
        self.module = module
        self.ctx = ModuleContext()
        self.lines = LineIndex(text)
        self.functions: list[FunctionFacts] = []
        self.symbols: list[SymbolFacts] = []
        self.diagnostics: list[Diagnostic] = []

    def run(self) -> None:
        gather_module(self.ctx, self.module.body, self.symbols)
        self.collect_functions(self.module.body, prefix="", class_name=None, kind="function")

    # -- functions ------------------------------------------------------------------------
    def collect_functions(
        self, statements: Sequence[cst.CSTNode], *, prefix: str, class_name: str | None, kind: _Kind
    ) -> None:
        for statement in statements:
            if type(statement) is cst.FunctionDef:
                self.function(statement, prefix=prefix, class_name=class_name, kind=kind)
            elif type(statement) is cst.ClassDef:
                qualname = prefix + statement.name.value
                line = self.lines.take_line("class", statement.name.value)
                if not prefix:
                    self.class_symbol(statement, line)
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
        line = self.lines.take_line("def", node.name.value)
        statements = suite(node.body)
        nested = {
            s.name.value: f"{qualname}.{s.name.value}"
            for s in statements
            if type(s) is cst.FunctionDef
        }
        walker = FunctionWalker(self.ctx, qualname=qualname, class_name=class_name, nested=nested)
        decorators = [decorator_name(d) for d in node.decorators]
        is_method = class_name is not None and not any(
            d.endswith("staticmethod") for d in decorators
        )
        all_params = positional_params(node, method=False)
        if is_method and all_params:
            walker.self_name = all_params[0]
        params = all_params[1:] if is_method and all_params else all_params
        walker.param_index = {name: i for i, name in enumerate(params)}
        for decorator, spelled in zip(node.decorators, decorators, strict=True):
            if names.routing_kind(spelled) is None:  # our own decorators never make copies differ
                walker.walk(decorator.decorator)
        walker.same("async" if node.asynchronous else "def")
        walker.walk(node.params)
        if node.returns is not None:
            walker.walk(node.returns.annotation)
        walker.body(node.body)
        layer_calls = tuple([self.layer_call(line, *call) for call in walker.layer_calls])
        self.functions.append(
            FunctionFacts(
                qualname=qualname,
                name=node.name.value,
                kind=kind,
                line=line,
                column=0,
                end_line=self.lines.end_line(line),
                params=params,
                param_defaults=tuple(
                    [
                        None if p.default is None else literal(p.default, {}) or NON_LITERAL
                        for p in node.params.params[1 if is_method else 0 :]
                    ]
                ),
                kwonly=tuple([p.name.value for p in node.params.kwonly_params]),
                varargs=type(node.params.star_arg) is cst.Param
                or node.params.star_kwarg is not None,
                exact_hash=stable_hash("\x1f".join(walker.stream(walker.exact_overrides))),
                renamed_hash=stable_hash("\x1f".join(walker.renamed)),
                skeleton_hash=stable_hash("\x1f".join(walker.stream(walker.skeleton_overrides))),
                deps=tuple(walker.deps),
                direct_creation=any(map(apis.creates_variables, walker.api_calls)),
                api_calls=tuple(dict.fromkeys(walker.api_calls)),
                name_strings=tuple(walker.strings),
                literals=tuple(walker.literals),
                variable_names=walker.static_variable_names(),
                layer_calls=layer_calls,
                local_calls=tuple(dict.fromkeys(walker.local_calls)),
                external_calls=tuple(dict.fromkeys(walker.external_calls)),
            )
        )
        nested_scopes = [
            s for s in statements if type(s) is cst.FunctionDef or type(s) is cst.ClassDef
        ]
        if nested_scopes:
            self.collect_functions(
                nested_scopes, prefix=qualname + ".", class_name=None, kind="nested"
            )

    def layer_call(
        self,
        def_line: int,
        callee: str,
        local: bool,
        args: list,
        names: list,
        opaque: list,
        leaf: str,
        static: bool,
    ) -> LayerCall:
        return LayerCall(
            callee=callee,
            local=local,
            args=tuple(args),
            names=tuple(names),
            opaque=tuple(opaque),
            line=self.lines.call_line(def_line, leaf),
            column=0,
            static=static,
        )

    # -- symbols --------------------------------------------------------------------------
    def class_symbol(self, node: cst.ClassDef, line: int) -> None:
        walker = FunctionWalker(self.ctx, qualname=node.name.value, class_name=None, nested={})
        for base in node.bases:
            walker.walk(base)
        methods = []
        for statement in suite(node.body):
            if type(statement) is cst.FunctionDef:
                methods.append(f"{node.name.value}.{statement.name.value}")
                walker.same("method:" + statement.name.value)
            elif not is_docstring(statement):
                walker.walk(statement)
        self.symbols.append(
            SymbolFacts(
                node.name.value,
                "class",
                line,
                stable_hash("\x1f".join(walker.renamed)),
                (*walker.deps, *methods),
                "",
                "",
            )
        )

    def constant_symbol(self, node: cst.Assign | cst.AnnAssign) -> None:
        targets = node.targets if isinstance(node, cst.Assign) else [node]
        if len(targets) != 1 or type(targets[0].target) is not cst.Name or node.value is None:
            return
        name = targets[0].target.value
        if name not in self.ctx.symbols:
            return  # an alias, recorded as an import
        walker = FunctionWalker(self.ctx, qualname=name, class_name=None, nested={})
        walker.walk(node.value)
        line = self.lines.assignment_line(name)
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
