"""Parse one file with libcst (once) and gather the facts every later stage needs.

The package, by concern: `safety` (screens and syntax errors), `context` (the names a module
binds), the hand-unrolled walk of function bodies (`dispatch`, its node-type table; `tokens`,
`calls` and `walker`, its layers; `units`, inline layers), `literals` (literal arguments),
`positions` (where each node is, as libcst counts), `parser` (libcst's parse minus its per-node
re-validation) and `facts` (the extractor that assembles the frozen facts)."""

from __future__ import annotations

import libcst as cst

from codegen import diagnostics
from codegen.model import ModuleFacts, SourceFile
from codegen.scan.extract.facts import Extractor
from codegen.scan.extract.nodes import decorator_name, nested_blocks
from codegen.scan.extract.parser import parse_module
from codegen.scan.extract.safety import parse_error, python_refuses, suspiciously_deep

__all__ = ["decorator_name", "extract", "nested_blocks", "parse_error", "parse_module"]


def extract(
    source: SourceFile,
    imported: tuple[tuple[str, str], ...] = (),
    layer_classes: tuple[str, ...] = (),
) -> ModuleFacts:
    """Parse a file once and return its facts; problems become diagnostics, never exceptions.
    `imported`: names its imports bind that other scanned modules alias to library names;
    `layer_classes`: the Keras layer classes of other scanned modules it imports."""
    if source.text is None:
        return ModuleFacts(source.path, source.digest, (), (), (), source.diagnostics, False, "")
    text = source.text
    if suspiciously_deep(text):
        refused = python_refuses(source.path, text)
        if refused is not None:
            return ModuleFacts(source.path, source.digest, (), (), (), (refused,), False, "")
    try:
        module = parse_module(text)
    except cst.ParserSyntaxError as error:
        return ModuleFacts(
            source.path,
            source.digest,
            (),
            (),
            (),
            (parse_error(source.path, text, error),),
            False,
            "",
        )
    except (
        RecursionError,
        MemoryError,
        Exception,
    ) as error:  # the parser must never take the scan down
        diagnostic = diagnostics.error(
            source.path,
            diagnostics.PARSER_FAILED,
            f"cannot parse: {type(error).__name__}: {error}"[:300],
        )
        return ModuleFacts(source.path, source.digest, (), (), (), (diagnostic,), False, "")
    try:
        extractor = Extractor(source.path, text, module, imported, layer_classes)
        extractor.run()
    except RecursionError:
        diagnostic = diagnostics.error(
            source.path, diagnostics.TOO_DEEP, "too deeply nested to analyse"
        )
        return ModuleFacts(source.path, source.digest, (), (), (), (diagnostic,), False, "")
    return ModuleFacts(
        path=source.path,
        digest=source.digest,
        functions=tuple(extractor.functions),
        symbols=tuple(extractor.symbols),
        aliases=tuple(sorted(extractor.ctx.aliases.items())),
        diagnostics=tuple(extractor.diagnostics),
        ok=True,
        text=text,
        classes=tuple(extractor.classes),
        star_imports=tuple(extractor.ctx.star_local),
        star_libraries=tuple(extractor.ctx.star_modules),
        module_code=extractor.module_code,
        assumed=extractor.assumed,
        tf1=extractor.ctx.tf1,
    )
