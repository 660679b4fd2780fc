"""Parse one file with libcst (once) and gather the facts every later stage needs.

The package, by concern: `safety` (screens and syntax errors), `context` (the names a module
binds), the hand-unrolled walk of function bodies (`dispatch`, its node-type table; `tokens`,
`calls` and `walker`, its layers; `units`, inline layers), `literals` (literal arguments),
`positions` (where each node is, as libcst counts), `parser` (libcst's parse minus its per-node
re-validation) and `facts` (the extractor that assembles the frozen facts)."""

from __future__ import annotations

import multiprocessing

import libcst as cst

from codegen import diagnostics
from codegen.model import ModuleFacts, SourceFile
from codegen.scan import apis
from codegen.scan.extract.facts import Extractor
from codegen.scan.extract.nodes import decorator_name, nested_blocks
from codegen.scan.extract.parser import parse_module
from codegen.scan.extract.positions import Positions
from codegen.scan.extract.safety import parse_error, python_refuses, suspiciously_deep

__all__ = [
    "decorator_name",
    "extract",
    "forget_parsed",
    "nested_blocks",
    "parse_error",
    "parse_module",
]

# Parsed modules that a second pass may extract again, knowing what they import from other
# scanned modules (pipeline's library re-exports): kept with their positions (a function of the
# tree alone), by path and digest, in the process that scans (never in a pool's workers), for
# modules that import from other scanned modules, up to a bound on their text (a syntax tree
# and its positions take about 40 times its text).
_KEPT: dict[tuple[str, str], tuple[cst.Module, Positions]] = {}
_KEEP_LIMIT = 2_000_000  # characters of source
_kept_size = 0


def forget_parsed() -> None:
    """Drop the parsed modules kept for a second pass."""
    global _kept_size
    _KEPT.clear()
    _kept_size = 0


def _keep(
    source: SourceFile, module: cst.Module, positions: Positions, aliases: dict[str, str]
) -> None:
    """Keep a parsed module when a second pass may read it again and the bound allows."""
    global _kept_size
    text = source.text or ""
    if _kept_size + len(text) > _KEEP_LIMIT or multiprocessing.parent_process() is not None:
        return
    if any(not apis.is_library(t) and not t.startswith("*.") for t in aliases.values()):
        _KEPT[(source.path, source.digest)] = (module, positions)
        _kept_size += len(text)


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
    kept = _KEPT.pop((source.path, source.digest), None)
    try:
        module = parse_module(text) if kept is None else kept[0]
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
        positions = None if kept is None else kept[1]
        extractor = Extractor(source.path, text, module, imported, layer_classes, positions)
        extractor.run()
    except RecursionError:
        diagnostic = diagnostics.error(
            source.path, diagnostics.TOO_DEEP, "too deeply nested to analyse"
        )
        return ModuleFacts(source.path, source.digest, (), (), (), (diagnostic,), False, "")
    if not imported and not layer_classes:
        _keep(source, module, extractor.positions, extractor.ctx.aliases)
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
