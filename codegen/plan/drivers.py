"""Driver code, told apart from builders by what it does: a driver runs things (opens a session,
calls `sess.run`/`fit`, parses arguments or flags, restores or saves checkpoints), a builder
builds graph ops and variables. A driver is never a layer or a model, and its calls never hide
the models it constructs. A name breaks a tie only: code that both runs things and creates
variables itself is a driver when it is named like one (`main`, `train`, ...)."""

from __future__ import annotations

import functools
import re
import weakref

from codegen.ids import id_path, id_qualname
from codegen.model import FunctionFacts
from codegen.plan.linking import Project

# Library calls that run a graph, a training loop or a command line (resolved dotted names).
_RUNS_API = re.compile(
    r"\.(Session|InteractiveSession|MonitoredTrainingSession|MonitoredSession|"
    r"SingularMonitoredSession|train_and_evaluate|Estimator|TPUEstimator)$"
    r"|^argparse\.ArgumentParser$|(^|\.)app\.run$|(^|\.)flags\.DEFINE_\w+$"
)
# Methods called on an object that run it: a session's `run`, a Keras model's `fit`, an
# argument parser's `parse_args`, a saver's or a checkpoint's `restore`/`save`.
_RUNS_METHOD = frozenset(
    "run fit fit_generator train_on_batch evaluate_generator predict_generator parse_args "
    "parse_known_args restore save save_weights load_weights".split()
)
# The tie-breaker: names real code gives its drivers.
_DRIVER_NAME = re.compile(
    r"^_?(main|train|training|fit|test|evaluate|eval|predict|infer|run|serve|export)$"
    r"|^_?(test|train|eval|predict|do)_|_test$",
    re.IGNORECASE,
)
# Library bases whose subclasses are driver code: unit tests, session hooks, optimizers,
# Keras callbacks (resolved dotted names; a scanned base deriving from one counts too).
_DRIVER_BASE = re.compile(
    r"(^|\.)(test\.TestCase|TestCase|SessionRunHook|Optimizer|OptimizerV2|callbacks\.Callback)$"
)


def is_test_file(path: str) -> bool:
    """Unit-test modules, by the names test runners collect (`test_x.py`, `x_test.py`)."""
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


@functools.lru_cache(maxsize=8192)
def _runs_api(api: str) -> bool:
    """One resolved API runs things (the same names recur in every file)."""
    return _RUNS_API.search(api) is not None


def runs_things(function: FunctionFacts) -> bool:
    """Whether a function runs a graph, a training loop, a command line or a checkpoint."""
    return not _RUNS_METHOD.isdisjoint(function.object_calls) or any(
        _runs_api(api) for api in function.api_calls
    )


# Asked for every layer call of every function, several times per plan: memoized per project.
_MEMO: weakref.WeakKeyDictionary[Project, dict[object, bool]] = weakref.WeakKeyDictionary()


def is_driver(project: Project, fid: str) -> bool:
    """Driver code (see the module docstring): never a layer, never a model."""
    memo = _MEMO.get(project)
    if memo is None:
        memo = _MEMO[project] = {}
    known = memo.get(fid)
    if known is None:
        known = memo[fid] = _is_driver(project, fid, memo)
    return known


def _is_driver(project: Project, fid: str, memo: dict[object, bool]) -> bool:
    path = project.path_of.get(fid, id_path(fid))
    if is_test_file(path):
        return True
    owner = (path, id_qualname(fid).split(".", 1)[0])
    if owner in project.classes:
        known = memo.get(owner)
        if known is None:
            known = memo[owner] = _driver_class(project, *owner)
        if known:
            return True
    function = _facts(project, fid)
    if function is None or not runs_things(function):
        return False
    # Running things and creating variables itself: a script-style driver by its name only.
    return not function.direct_creation or _DRIVER_NAME.search(function.name) is not None


def _facts(project: Project, fid: str) -> FunctionFacts | None:
    if fid.endswith("::<module>"):
        module = project.modules.get(id_path(fid))
        return module.module_code if module is not None else None
    return project.functions.get(fid)


def _driver_class(project: Project, path: str, name: str) -> bool:
    """A class that is a test case, a session hook, an optimizer or a callback, by its bases."""
    for cpath, cname in project.mro(path, name):
        for base in project.classes[(cpath, cname)].bases:
            if _DRIVER_BASE.search(base):
                return True
    return False
