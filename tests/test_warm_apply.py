"""apply's quick pass (no scope analysis) gives the scope analysis's facts, or steps aside."""

from __future__ import annotations

import re

import libcst as cst
import pytest
from conftest import REPO
from libcst.metadata import MetadataWrapper

from codegen.apply.gather import Gather, QuickGather, Shim
from codegen.apply.rewrite import apply_edit
from codegen.model import ModelEdit

ALIAS = "m_transfer"
SHIM = Shim(f"generated.{ALIAS}", ALIAS, "generated.layers_common")
ROUTED = f"""import tensorflow.compat.v1 as tf
from generated import {ALIAS}


@{ALIAS}.shared_layer("embed")
def embed(x):
    return tf.get_variable("w", [3])


@{ALIAS}.model("build")
def build(x):
    with {ALIAS}.layer("build", 1):
        y = tf.layers.dense(x, 3)
    return embed(y)
"""

# (source, whether the quick pass may answer): every way a file can spell the alias.
CASES = [
    (ROUTED, True),
    (ROUTED + f"\n\ndef restore(path):\n    return {ALIAS}.restore(path)\n", True),
    (ROUTED.replace(f"from generated import {ALIAS}\n", ""), True),  # uses, no import
    (
        ROUTED.replace(f"from generated import {ALIAS}", f"import generated.{ALIAS} as {ALIAS}"),
        True,
    ),
    (ROUTED + f"\nfrom generated.{ALIAS} import embed as e2\n", True),
    (ROUTED + f"\n{ALIAS} = 3\n", False),
    (ROUTED + f"\n\ndef f({ALIAS}):\n    return {ALIAS}.x\n", False),
    (ROUTED + f"\n\ndef g():\n    from generated import {ALIAS}\n    return {ALIAS}\n", False),
    (ROUTED + f"\nprint({ALIAS})\n", False),
    (ROUTED + f'\nNAME = "{ALIAS}"\n', False),
    (ROUTED + f"\n# {ALIAS}.restore\n", False),
    (ROUTED + f"\nx: '{ALIAS}.Thing' = None\n", False),
    (ROUTED + f"\nimport other as {ALIAS}\n", False),
    (ROUTED + f"\ntry:\n    from generated import {ALIAS}\nexcept ImportError:\n    pass\n", False),
    (ROUTED + f"\nfor {ALIAS} in range(3):\n    pass\n", False),
    (ROUTED + f"\nclass C:\n    {ALIAS} = 1\n", False),
    (ROUTED + f"\nobj.{ALIAS}.x = 1\n", False),
    (ROUTED + f"\nf({ALIAS}=1)\n", False),
    (ROUTED.replace(f'{ALIAS}.layer("build", 1)', f"other.layer({ALIAS}.x, 1)"), True),
    (ROUTED + f"\nlayer = {ALIAS}.layer('build', 2, tf.keras.layers.Dense(3))\n", True),
]


def _facts(gather: Gather) -> tuple[object, ...]:
    return (
        gather.has_import,
        gather.other_alias_uses,
        gather.conflicts,
        gather.functions,
        gather.classes,
    )


def _both(source: str) -> tuple[QuickGather, Gather]:
    module = cst.parse_module(source)
    targets = frozenset(re.findall(r"def (\w+)", source))
    quick = QuickGather("m.py", SHIM, targets, source)
    module.visit(quick)
    full = Gather("m.py", SHIM, targets, scoped=True)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(full)
    return quick, full


@pytest.mark.parametrize(("source", "answers"), CASES)
def test_the_quick_pass_answers_only_when_it_knows_and_then_as_the_scope_analysis(
    source: str, answers: bool
) -> None:
    quick, full = _both(source)
    assert quick.settled == answers
    if quick.settled:
        assert _facts(quick) == _facts(full)


def test_the_quick_pass_agrees_on_every_routed_fixture() -> None:
    checked = 0
    folders = [REPO / "tests" / "route_fixtures", REPO / "tests" / "golden", REPO / "generated"]
    for path in sorted(p for folder in folders for p in folder.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for alias in sorted(set(re.findall(r"\b(\w+_transfer)\b", source))):
            shim = Shim(f"generated.{alias}", alias, "generated.layers_common")
            module = cst.parse_module(source)
            quick = QuickGather(str(path), shim, frozenset(), source)
            module.visit(quick)
            if quick.settled:
                full = Gather(str(path), shim, frozenset(), scoped=True)
                MetadataWrapper(module, unsafe_skip_copy=True).visit(full)
                assert _facts(quick) == _facts(full), (path, alias)
                checked += 1
    assert checked >= 10


def test_apply_gives_the_same_text_with_and_without_the_quick_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edit = ModelEdit(
        path="m.py",
        shim_module=SHIM.module,
        shim_alias=ALIAS,
        shared_builders=("embed",),
        common_module=SHIM.common,
    )
    sources = [source for source, _ in CASES]
    quick = [apply_edit(source, edit) for source in sources]

    class Never(QuickGather):
        @property
        def settled(self) -> bool:
            return False

    monkeypatch.setattr("codegen.apply.rewrite.QuickGather", Never)
    assert [apply_edit(source, edit) for source in sources] == quick
