"""The runtime's family-independent core (codegen/runtime/core.py): plain data, no framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

from codegen import runtime
from codegen.runtime import core


def test_core_and_the_tool_side_package_import_no_framework() -> None:
    code = (
        "import sys; import codegen.runtime, codegen.runtime.core; "
        "assert not {'tensorflow', 'keras', 'numpy'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_runtime_module_is_emitted_and_imports_its_siblings_relatively() -> None:
    emitted = runtime.files()
    assert emitted[f"{runtime.MODULE}/__init__.py"] == runtime.source("api")
    for name, text in emitted.items():
        assert "from codegen" not in text and "import codegen" not in text, name
    for module in runtime.PACKAGE.values():
        text = runtime.source(module)
        assert len(text.splitlines()) <= 500, module


def keymap(**variables: object) -> core.KeyMap:
    found = core.KeyMap()
    for key, var in variables.items():
        found.bind(key, var, "layer 1", key)
    return found


def test_a_reused_build_is_one_instance_and_distinct_builds_need_instance() -> None:
    a, b, c = object(), object(), object()
    instances = core.Instances()
    first = instances.add()
    first.bind("k0", a, "layer 1", "a")
    first.bind("k1", b, "layer 2", "b")
    reused = instances.add()
    reused.bind("k0", a, "layer 1", "a")  # a tower under reuse=True: the same variables
    instances.add()  # a build that recorded nothing
    instances.settle()
    assert instances.maps == [first]
    assert instances.resolve("m", None) is first

    other = instances.add()
    other.bind("k0", c, "layer 1", "c")  # a second copy, with its own variables
    with pytest.raises(core.TransferError, match=r"built 2 times.*instance=0\.\.1"):
        instances.resolve("m", None)
    assert instances.resolve("m", 1) is other
    with pytest.raises(core.TransferError, match="no instance 2"):
        instances.resolve("m", 2)


def test_an_earlier_smaller_build_folds_into_a_later_larger_one() -> None:
    a, b = object(), object()
    instances = core.Instances()
    small = instances.add()
    small.bind("k0", a, "layer 1", "a")
    large = instances.add()
    large.bind("k0", a, "layer 1", "a")
    large.bind("k1", b, "layer 2", "b")
    assert instances.distinct() == [large]


def test_bind_keeps_the_first_variable_and_says_so() -> None:
    a, b = object(), object()
    found = keymap(k=a)
    assert found.bind("k", b, "layer 1", "b") is a
    assert found.variables == {"k": a}


def test_preflight_names_every_misfit_and_needs_a_common_key() -> None:
    settings = core.Settings("c", "transfer")
    ours = {"transfer/00_a/v0": ((3, None), "float32"), "transfer/00_a/v1": ((2,), "int64")}
    theirs = {"transfer/00_a/v0": ((3, 4), "float32"), "transfer/00_a/v1": ((2,), "float32")}
    with pytest.raises(core.TransferError, match=r"(?s)nothing restored.*v1: model \(2,\) int64"):
        core.preflight("m", "p", ours, theirs, settings, str)
    assert core.preflight(
        "m", "p", ours, {**theirs, "transfer/00_a/v1": ((2,), "int64")}, settings, str
    ) == sorted(ours)
    with pytest.raises(core.TransferError, match="no transferable variables in common"):
        core.preflight("m", "p", ours, {}, settings, str)


def test_checkpoint_specs_keep_only_transferable_keys_and_wrap_read_errors() -> None:
    settings = core.Settings("c", "transfer")
    shapes = {"transfer/00_a/v0": [2], "transfer/00_a/Adam": [2], "global_step": [], "x/y": [1]}

    def read(path: str) -> tuple[dict[str, list[int]], dict[str, str]]:
        return shapes, dict.fromkeys(shapes, "float32")

    specs = core.checkpoint_specs("p", settings, read, lambda s, d: (tuple(s), d))
    assert specs == {"transfer/00_a/v0": ((2,), "float32")}

    def broken(path: str) -> tuple[dict[str, list[int]], dict[str, str]]:
        raise OSError("gone\nFile x")

    with pytest.raises(core.TransferError, match=r"cannot read checkpoint 'p': OSError: gone$"):
        core.checkpoint_specs("p", settings, broken, lambda s, d: (tuple(s), d))


def test_a_layer_describes_its_position_or_call_and_key() -> None:
    marked = core.SharedLayer("", 0, "03_ab", label="layer 4 proj", position=3)
    called = core.SharedLayer("conv_block", 1, "02_cd")
    assert marked.describe() == "layer 4 proj (the mark at trunk position 3, key '03_ab')"
    assert called.describe() == "layer 3 (call #1 of 'conv_block', key '02_cd')"
