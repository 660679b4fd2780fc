"""The package's shape: stages import only earlier stages, no import cycles, small modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "codegen"
MAX_LINES = 500

# Stage of each top-level module or package of codegen/, in the order data flows. A module may
# import its own stage and earlier ones, also under `if TYPE_CHECKING:` (a type is a dependency
# too); only the cycle test leaves those imports out, since they never run. report and emit are
# siblings: both read the plan, and neither imports the other. The runtime stands apart.
VOCABULARY = 0
STAGES: dict[str, int] = {
    "__init__": VOCABULARY,
    "model": VOCABULARY,
    "names": VOCABULARY,
    "ids": VOCABULARY,
    "paths": VOCABULARY,
    "diagnostics": VOCABULARY,
    "literals": VOCABULARY,
    "lines": VOCABULARY,
    "config": VOCABULARY,
    "atomic": VOCABULARY,
    "gcpause": VOCABULARY,
    "progress": VOCABULARY,
    "scan": 1,
    "plan": 2,
    "report": 3,
    "emit": 3,
    "apply": 4,
    "write": 5,
    "cache": 6,
    "pipeline": 7,
    "parallel": 7,
    "pending": 7,
    "commands": 7,
    "demo": 7,
    "cli": 7,
    "__main__": 7,
}
SIBLINGS = {frozenset({"report", "emit"})}
# Copied verbatim into generated/, where no codegen exists: it imports nothing else of codegen.
RUNTIME = "runtime"


@dataclass(frozen=True)
class Import:
    """One import statement of a codegen module, resolved to the codegen module it loads."""

    source: str  # dotted name of the importing module
    target: str  # dotted name of the imported codegen module (a package means its __init__)
    line: int
    type_checking: bool  # inside `if TYPE_CHECKING:`: never executed


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    node: ast.AST, type_checking: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import in `node`, function-local ones included, flagged when only a type checker
    runs it."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node, type_checking
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _import_nodes(child, True)
        for child in node.orelse:
            yield from _import_nodes(child, type_checking)
        return
    for child in ast.iter_child_nodes(node):
        yield from _import_nodes(child, type_checking)


def _resolve(name: str, modules: set[str] | dict[str, Path]) -> str | None:
    """The longest prefix of dotted `name` that is a codegen module or package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _imports_of(source: str, text: str, *, is_package: bool, modules: set[str]) -> list[Import]:
    """The codegen modules that module `source` (its text) imports, wherever the import is."""
    found: list[Import] = []
    for node, type_checking in _import_nodes(ast.parse(text)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = source.split(".")
                # A module's package is its parent; a package's own __init__ is its package.
                keep = len(anchor) - node.level + (1 if is_package else 0)
                base = ".".join(anchor[:keep] + ([base] if base else []))
            # `from pkg import sub` loads pkg.sub when that is a module, else pkg itself.
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [n if _resolve(n, modules) == n else base for n in names]
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != source:
                found.append(Import(source, target, node.lineno, type_checking))
    return found


def _imports() -> list[Import]:
    modules = _modules()
    return [
        imp
        for source, path in modules.items()
        for imp in _imports_of(
            source,
            path.read_text(encoding="utf-8"),
            is_package=path.name == "__init__.py",
            modules=set(modules),
        )
    ]


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_stage() -> None:
    unknown = sorted({_top(m) for m in _modules()} - set(STAGES) - {RUNTIME})
    assert not unknown, f"add these to STAGES in {Path(__file__).name}: {unknown}"


def _stage_violations(imports: list[Import]) -> list[str]:
    """Each import of a later stage, of a sibling, or of codegen by the runtime, in words."""
    wrong: list[str] = []
    for imp in imports:
        src, dst = _top(imp.source), _top(imp.target)
        where = f"{imp.source} (line {imp.line}) imports {imp.target}"
        if src == RUNTIME:
            if dst != RUNTIME:
                wrong.append(f"{where}: the runtime imports nothing else of codegen")
            continue
        if dst == RUNTIME or src not in STAGES or dst not in STAGES:
            continue  # any stage may read the runtime's source; unknown stages fail elsewhere
        if frozenset({src, dst}) in SIBLINGS:
            wrong.append(f"{where}: {src} and {dst} are siblings")
        elif STAGES[dst] > STAGES[src]:
            wrong.append(f"{where}: {src} comes before {dst}")
    return wrong


def test_imports_follow_the_stages() -> None:
    wrong = _stage_violations(_imports())
    assert not wrong, "\n".join(wrong)


def test_stage_rule_catches_back_edges() -> None:
    def imp(source: str, target: str) -> Import:
        return Import(source, target, 1, type_checking=False)

    ok = [
        imp("codegen.plan.planner", "codegen.model"),
        imp("codegen.plan.planner", "codegen.plan.fingerprint"),
        imp("codegen.cli", "codegen.commands"),
        imp("codegen.emit.render", "codegen.runtime"),
        imp("codegen.runtime.demo", "codegen.runtime.transfer"),
    ]
    assert _stage_violations(ok) == []
    bad = [
        imp("codegen.model", "codegen.scan.discover"),
        imp("codegen.plan.planner", "codegen.emit.render"),
        imp("codegen.emit.render", "codegen.report.text"),
        imp("codegen.report.text", "codegen.emit.render"),
        imp("codegen.write.files", "codegen.pipeline"),
        imp("codegen.runtime.transfer", "codegen.names"),
    ]
    assert len(_stage_violations(bad)) == len(bad)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = {}
    for imp in _imports():
        if not imp.type_checking:
            edges.setdefault(imp.source, set()).add(imp.target)
    cycles = _cycles(edges)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_cycle_finder_sees_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_import_resolution() -> None:
    modules = {"codegen", "codegen.model", "codegen.scan", "codegen.scan.apis", "codegen.plan"}
    text = (
        "from typing import TYPE_CHECKING\n"
        "import os\n"
        "from codegen import model, stable_hash\n"
        "from . import apis\n"
        "if TYPE_CHECKING:\n"
        "    from codegen.plan import Plan\n"
        "def f():\n"
        "    import codegen.scan.apis.sub\n"
    )
    found = _imports_of("codegen.scan.walk", text, is_package=False, modules=modules)
    assert [(i.target, i.line, i.type_checking) for i in found] == [
        ("codegen.model", 3, False),
        ("codegen", 3, False),  # a name that the package's __init__ defines
        ("codegen.scan.apis", 4, False),
        ("codegen.plan", 6, True),
        ("codegen.scan.apis", 8, False),  # function-local
    ]
    in_package = _imports_of(
        "codegen.scan", "from . import apis\n", is_package=True, modules=modules
    )
    assert [i.target for i in in_package] == ["codegen.scan.apis"]


def test_modules_are_small() -> None:
    big = {
        str(p.relative_to(REPO)): n
        for p in sorted(PACKAGE.rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_function_ids_are_split_in_one_place() -> None:
    allowed = PACKAGE / "ids.py"
    offenders = [
        f"{p.relative_to(REPO)}:{i}"
        for p in sorted(PACKAGE.rglob("*.py"))
        if p != allowed
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if 'split("::"' in line or "split('::'" in line
    ]
    assert not offenders, f"use codegen.ids to split function ids: {offenders}"
