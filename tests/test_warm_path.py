"""Cache salts come from every file of the tool; a warm run parses nothing and imports no libcst."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import MODELS, REPO

from codegen import pipeline, templates_dir
from codegen.cache import salt
from codegen.config import Config

BROKEN = "def broken(:\n    pass\n"

# Runs one `codegen` command in a fresh interpreter and records which heavy modules it loaded.
RUNNER = textwrap.dedent(
    """\
    import json, sys
    from codegen.cli import main

    code = main(sys.argv[2:])
    loaded = sorted({m.split(".")[0] for m in sys.modules} & {"libcst", "jinja2"})
    with open(sys.argv[1], "w") as out:
        json.dump({"code": code, "loaded": loaded, "planned": "codegen.plan.planner" in sys.modules}, out)
    raise SystemExit(code)
    """
)


def _copy_package(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "codegen"
    shutil.copytree(REPO / "codegen", package, ignore=shutil.ignore_patterns("__pycache__"))
    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    return package, templates


def test_the_salt_covers_every_package_file(tmp_path: Path) -> None:
    package, templates = _copy_package(tmp_path)
    before = salt.files_digest(package, templates)
    assert salt.files_digest(package, templates) == before  # deterministic
    seen = {before}
    # Every file of the tool, `__init__.py` (which a hand-kept list once forgot) and each
    # template included.
    edits = sorted(p for root in (package, templates) for p in root.rglob("*") if p.is_file())
    assert package / "__init__.py" in edits
    for number, path in enumerate(edits):
        path.write_bytes(path.read_bytes() + f"\n# edit {number}\n".encode())
        seen.add(salt.files_digest(package, templates))
        assert len(seen) == number + 2, path
    for number, new in enumerate(
        [package / "runtime" / "new.py", package / "newstage.py", templates / "x.jinja"]
    ):
        new.parent.mkdir(exist_ok=True)
        new.write_text("", encoding="utf-8")  # even an empty file counts: its name is hashed
        seen.add(salt.files_digest(package, templates))
        assert len(seen) == len(edits) + number + 2, new


def test_the_salt_ignores_bytecode(tmp_path: Path) -> None:
    package, templates = _copy_package(tmp_path)
    before = salt.files_digest(package, templates)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "plan.cpython-311.pyc").write_bytes(b"\0")
    assert salt.files_digest(package, templates) == before


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(MODELS, project / "models")
    (project / "models" / "broken.py").write_text(BROKEN, encoding="utf-8")
    (project / "pyproject.toml").write_text('[tool.codegen]\npaths = ["models"]\n', "utf-8")
    return project


def test_a_file_that_does_not_parse_is_cached(tmp_path: Path) -> None:
    project = _project(tmp_path)
    config = Config(root=str(project))
    cold = pipeline.scan(["models"], config)
    warm = pipeline.scan(["models"], config)
    assert cold.stats.parsed == cold.stats.files and warm.stats.parsed == 0
    assert warm.plan.diagnostics == cold.plan.diagnostics
    assert any(d.path == "models/broken.py" and d.code == "CG201" for d in warm.plan.diagnostics)


def _run(project: Path, tmp_path: Path, *argv: str) -> tuple[int, str, str, list[str], bool]:
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    record = tmp_path / "record.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, str(runner), str(record), *argv],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    recorded = json.loads(record.read_text(encoding="utf-8"))
    assert recorded["code"] == result.returncode
    return result.returncode, result.stdout, result.stderr, recorded["loaded"], recorded["planned"]


@pytest.mark.parametrize("command", [["scan"], ["scan", "--json"], ["check"], ["sync"]])
def test_a_warm_run_imports_neither_libcst_nor_jinja2(tmp_path: Path, command: list[str]) -> None:
    project = _project(tmp_path)
    cold = _run(project, tmp_path, *command)
    warm = _run(project, tmp_path, *command)
    assert "libcst" in cold[3]  # the record is live: the cold run parsed
    assert warm[3] == []
    assert warm[:3] == cold[:3]  # same exit code, report and diagnostics
    assert "CG201" in cold[1] + cold[2] and "models/broken.py" in cold[1] + cold[2]


def test_a_warm_check_of_a_synced_tree_imports_neither(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "models" / "broken.py").unlink()
    assert _run(project, tmp_path, "sync")[0] == 1
    for command in ("check", "sync"):
        code, _, _, loaded, planned = _run(project, tmp_path, command)
        assert (code, loaded, planned) == (0, [], False), command  # answered from the memo
    code, _, _, loaded, planned = _run(project, tmp_path, "scan")
    assert (code, loaded, planned) == (0, [], True)  # cached facts, but a real plan
