"""TF1 graph family: what existing ops would undo a freeze or an init_from_checkpoint."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .core import Variable
from .tf1_graph import OWN_SCOPE, Graph

# Ops that write their first input in place: optimizer updates (Apply*, SparseApply*, with
# or without Resource), assignments and scatters, on ref and resource variables alike.
_UPDATE_OP = re.compile(
    r"^(Resource)?(Sparse)?Apply"
    r"|^(Resource)?Scatter"
    r"|^Assign(Add|Sub)?(VariableOp)?$"
    r"|StridedSliceAssign$"
)
_RESTORE_OP = frozenset({"RestoreV2", "Restore", "RestoreSlice"})
_PASS_THROUGH = frozenset({"Identity", "Snapshot", "Reshape"})


def _from_checkpoint(op: Any) -> bool:
    """A write whose value comes straight from a checkpoint (a Saver's restore, or
    init_from_checkpoint's initializer): it loads the variable, it does not train it."""
    if len(op.inputs) < 2:
        return False
    source = op.inputs[1].op
    for _ in range(4):
        if source.type in _RESTORE_OP:
            return True
        if source.type not in _PASS_THROUGH or not source.inputs:
            return False
        source = source.inputs[0].op
    return False


def updaters(graph: Graph, variables: Iterable[Variable], initializers: set[int]) -> list[str]:
    """`op (type) updates var` for every existing op that would still write one of `variables`
    while training: not an initializer, not a checkpoint load, not the runtime's own copy."""
    targets = {id(var.op): str(var.op.name) for var in variables}
    found = []
    for op in graph.get_operations():
        if not op.inputs or not _UPDATE_OP.search(op.type):
            continue
        target = targets.get(id(op.inputs[0].op))
        if target is None or id(op) in initializers or op.name.startswith(OWN_SCOPE):
            continue
        if _from_checkpoint(op):
            continue
        found.append(f"{op.name} ({op.type}) updates {target}")
    return sorted(found)


def consumers_of_initializers(graph: Graph, variables: Iterable[Variable]) -> list[str]:
    """`op runs the initializer of var` for every existing op (an init op, a Scaffold's) that
    would run a variable's current initializer: replacing the initializer cannot reach it."""
    initializers = {id(var.initializer): str(var.op.name) for var in variables}
    found = []
    for op in graph.get_operations():
        if op.name.startswith(OWN_SCOPE):
            continue
        used = [*op.control_inputs, *(tensor.op for tensor in op.inputs)]
        for source in used:
            name = initializers.get(id(source))
            if name is not None:
                found.append(f"{op.name} runs the initializer of {name}")
    return sorted(found)
