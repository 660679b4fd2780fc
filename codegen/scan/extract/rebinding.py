"""Module names bound more than once: which they are (`rebound_names`), and the library name
one holds once the module has run, when that is known (`last_binding`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst

from codegen.scan.extract.nodes import BLOCK_STATEMENTS, nested_blocks, stored_names, suite


def rebound_names(
    statements: Sequence[cst.BaseStatement], text: str
) -> tuple[frozenset[str], frozenset[str]]:
    """Module names whose value no one assignment gives: bound twice at module level (in a
    branch, `try` block or loop too), by an augmented or unpacking assignment, as a loop or `with`
    target, or through a `global` statement in a function (`if BIG: H = 64`); and of those, the
    ones bound other than by a plain assignment at module level."""
    counts, other = _rebindings(statements, text)
    twice = {name for name, count in counts.items() if count > 1}
    return frozenset(other | twice), frozenset(other)


def _rebindings(
    statements: Sequence[cst.BaseStatement], text: str
) -> tuple[dict[str, int], set[str]]:
    """How many plain assignments bind each module name, and the names bound otherwise."""
    counts: dict[str, int] = {}
    other: set[str] = set()
    for statement in _module_statements(statements):
        if type(statement) is cst.For:
            other |= stored_names(statement.target)
        elif type(statement) is cst.With:
            other.update(
                n for i in statement.items if i.asname for n in stored_names(i.asname.name)
            )
        elif type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                targets: list[cst.BaseExpression] = []
                if type(small) is cst.Assign:
                    targets = [t.target for t in small.targets]
                elif type(small) is cst.AnnAssign and small.value is not None:
                    targets = [small.target]
                elif type(small) is cst.AugAssign:
                    other |= stored_names(small.target)
                for target in targets:
                    if type(target) is cst.Name:
                        counts[target.value] = counts.get(target.value, 0) + 1
                    else:
                        other |= stored_names(target)
    if "global" in text:
        other |= _globals(statements)
    return counts, other


def _module_statements(statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The statements that run at module level, those in branches, `try` blocks and loops too."""
    out: list[cst.BaseStatement] = []
    for statement in statements:
        out.append(statement)
        if type(statement) in BLOCK_STATEMENTS:
            for block in nested_blocks(statement):
                out += _module_statements(block)
    return out


def _globals(statements: Sequence[cst.BaseStatement]) -> set[str]:
    """The names a `global` statement in any function or class body declares."""
    out: set[str] = set()
    for statement in statements:
        if type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                if type(small) is cst.Global:
                    out.update(item.name.value for item in small.names)
        body = getattr(statement, "body", None)
        if type(statement) in (cst.FunctionDef, cst.ClassDef) and isinstance(body, cst.BaseSuite):
            out |= _globals(suite(body))
        elif type(statement) in BLOCK_STATEMENTS:
            for block in nested_blocks(statement):
                out |= _globals(block)
    return out


def reads(statement: cst.BaseStatement, name: str) -> bool:
    """Whether a module statement may read `name` anywhere but as the value of a line that only
    binds it (`name = ...`): by its text, which may over-approximate, never miss."""
    code = cst.Module(body=[]).code_for_node(statement)
    code = re.sub(rf"(?m)^\s*{re.escape(name)}\s*=(?!=)", "", code)
    return re.search(rf"\b{re.escape(name)}\b", code) is not None


def last_binding(bindings: Sequence[tuple[str | None, bool]]) -> str | None:
    """The library name a module name holds once the module has run, from its bindings in order
    (the name bound, None for any other value; whether outside blocks): a binding outside blocks
    replaces what came before, one inside a block (`except ImportError: K = GRU`) may or may not
    run, so it leaves the name unknown (None) unless it binds the same name."""
    current: str | None = None
    for index, (resolved, top) in enumerate(bindings):
        if top or index == 0:
            current = resolved
        elif resolved != current:
            current = None
    return current
