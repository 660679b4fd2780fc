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
from codegen.cache import location, reports, salt
from codegen.config import Config, load_config

BROKEN = "def broken(:\n    pass\n"

# Runs one `codegen` command in a fresh interpreter and records which heavy modules it loaded.
RUNNER = textwrap.dedent(
    """\
    import json, sys
    from codegen.cli import main

    code = main(sys.argv[2:])
    loaded = sorted({m.split(".")[0] for m in sys.modules} & {"libcst", "jinja2"})
    with open(sys.argv[1], "w") as out:
        planned = "codegen.plan.planner" in sys.modules
        json.dump({"code": code, "loaded": loaded, "planned": planned}, out)
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


def _run(
    project: Path, tmp_path: Path, *argv: str, user_cache: Path | None = None
) -> tuple[int, str, str, list[str], bool]:
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    record = tmp_path / "record.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if user_cache is not None:
        env[location.USER_CACHE_ENV] = str(user_cache)
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
    code, _, _, loaded, planned = _run(project, tmp_path, "scan")
    assert (code, loaded, planned) == (0, [], False)  # the same tree: its stored report


# --- issue 22: a cache for every tree; an unchanged tree's scan answered from it ---------------

SETUPS = {
    "tool.codegen": '[tool.codegen]\npaths = ["models"]\n',
    "pyproject without tool.codegen": "[project]\nname = 'not-set-up'\n",
    "no pyproject": None,
}


def _tree(tmp_path: Path, setup: str | None) -> Path:
    project = tmp_path / "project"
    shutil.copytree(MODELS, project / "models")
    if setup is not None:
        (project / "pyproject.toml").write_text(setup, encoding="utf-8")
    return project


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("command", [["scan"], ["scan", "--json"]])
def test_a_warm_scan_of_an_unchanged_tree_prints_the_stored_report(
    tmp_path: Path, setup: str, command: list[str]
) -> None:
    project = _tree(tmp_path, SETUPS[setup])
    user_cache = tmp_path / "user-cache"
    cold = _run(project, tmp_path, *command, user_cache=user_cache)
    assert "libcst" in cold[3] and cold[4]  # parsed and planned
    warm = _run(project, tmp_path, *command, user_cache=user_cache)
    assert warm[3:] == ([], False)  # neither libcst nor jinja2, and no plan
    assert warm[:3] == cold[:3]  # same exit code, report and diagnostics
    uncached = _run(project, tmp_path, *command, "--no-cache", user_cache=user_cache)
    assert uncached[:3] == cold[:3]
    if SETUPS[setup] is None or "tool.codegen" not in SETUPS[setup]:
        # An unconfigured tree caches in the user's cache folder, never among the user's files.
        assert _listing(project) == _listing(_tree(tmp_path / "fresh", SETUPS[setup]))
        folder = user_cache / location.TREES / location.tree_folder_name(str(project))
        assert (folder / reports.REPORT_FILES["--json" in command]).is_file()
        assert list(folder.glob("pack-*.bin"))
    else:
        assert not user_cache.exists()
        assert (project / ".codegen_cache" / reports.REPORT_FILES["--json" in command]).is_file()


def test_an_edit_plans_again_and_the_report_follows_it(tmp_path: Path) -> None:
    project = _tree(tmp_path, None)
    user_cache = tmp_path / "user-cache"
    _run(project, tmp_path, "scan", "--json", user_cache=user_cache)
    target = sorted((project / "models").glob("*.py"))[0]
    original = target.read_text(encoding="utf-8")
    target.write_text(original + "\n\ndef build_extra():\n    return 1\n", encoding="utf-8")
    edited = _run(project, tmp_path, "scan", "--json", user_cache=user_cache)
    assert edited[4]  # planned again
    assert "build_extra" in edited[1]
    assert edited[:3] == _run(project, tmp_path, "scan", "--json", "--no-cache")[:3]
    target.write_text(original, encoding="utf-8")
    reverted = _run(project, tmp_path, "scan", "--json", user_cache=user_cache)
    assert "build_extra" not in reverted[1]


def test_the_stored_report_is_what_is_printed_and_no_cache_ignores_it(tmp_path: Path) -> None:
    project = _tree(tmp_path, SETUPS["tool.codegen"])
    cold = _run(project, tmp_path, "scan")
    memo = project / ".codegen_cache" / reports.REPORT_FILES[False]
    head, _, text = memo.read_text(encoding="utf-8").partition("\n")
    assert text == cold[1]
    memo.write_text(f"{head}\nstored report\n", encoding="utf-8")
    assert _run(project, tmp_path, "scan")[1] == "stored report\n"  # the memo really answers
    assert _run(project, tmp_path, "scan", "--no-cache")[1] == cold[1]
    memo.write_text("damaged", encoding="utf-8")
    assert _run(project, tmp_path, "scan")[:3] == cold[:3]  # damage is a miss


def test_an_unconfigured_tree_caches_facts_in_the_user_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_cache = tmp_path / "user-cache"
    monkeypatch.setenv(location.USER_CACHE_ENV, str(user_cache))
    monkeypatch.setattr("codegen.config.find_pyproject", lambda start: None)
    project = _tree(tmp_path, None)
    before = _listing(project)
    config, _ = load_config(project)
    assert config.user_cache and not config.cache_dir
    cold = pipeline.scan(["models"], config)
    warm = pipeline.scan(["models"], config)
    assert cold.stats.parsed == cold.stats.files > 0 and warm.stats.parsed == 0
    assert warm.plan == cold.plan
    assert _listing(project) == before
    trees = user_cache / location.TREES
    assert [p.name for p in trees.iterdir()] == [location.tree_folder_name(str(project))]
    # Another root is another folder; deleting the cache only costs a cold scan.
    other = _tree(tmp_path / "other", None)
    pipeline.scan(["models"], load_config(other)[0])
    assert len(list(trees.iterdir())) == 2
    shutil.rmtree(user_cache)
    again = pipeline.scan(["models"], config)
    assert again.stats.parsed == again.stats.files and again.plan == cold.plan


def test_cache_dir_empty_in_tool_codegen_caches_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_cache = tmp_path / "user-cache"
    monkeypatch.setenv(location.USER_CACHE_ENV, str(user_cache))
    project = _tree(tmp_path, '[tool.codegen]\npaths = ["models"]\ncache_dir = ""\n')
    config, _ = load_config(project)
    assert not config.user_cache
    pipeline.scan(["models"], config)
    second = pipeline.scan(["models"], config)
    assert second.stats.parsed == second.stats.files
    assert not user_cache.exists() and not (project / ".codegen_cache").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG is the Linux convention")
def test_the_user_cache_is_platformdirs_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(location.USER_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert location.user_cache_root() == tmp_path / "xdg" / "layershare"


def test_a_synced_tree_without_tool_codegen_checks_from_the_user_cache(tmp_path: Path) -> None:
    project = _tree(tmp_path, None)
    user_cache = tmp_path / "user-cache"
    assert _run(project, tmp_path, "sync", user_cache=user_cache)[0] == 1
    assert sorted(os.listdir(project)) == ["generated", "models"]  # what sync writes, no cache
    for command in ("check", "sync"):
        code, _, _, loaded, planned = _run(project, tmp_path, command, user_cache=user_cache)
        assert (code, loaded, planned) == (0, [], False), command  # answered from the memo
    assert sorted(os.listdir(project)) == ["generated", "models"]
