"""Golden outputs: committed expected files must equal a fresh run (regenerate: tests/golden/regen.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS, REPO

from codegen.cli import main

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from regen import cases, expected_outputs


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.name)
def test_golden_case_matches_a_fresh_run(case: Path) -> None:
    fresh = expected_outputs(case)
    committed = {
        p.relative_to(case / "expected").as_posix(): p.read_text(encoding="utf-8")
        for p in (case / "expected").rglob("*.py")
    }
    assert sorted(committed) == sorted(fresh), "run `python tests/golden/regen.py`"
    for relative, text in fresh.items():
        assert committed[relative] == text, (
            f"{relative} is stale: run `python tests/golden/regen.py`"
        )


def test_generated_folder_of_this_repo_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["check", "--no-cache"]) == 0, (
        "run `codegen sync` and commit generated/ and models/"
    )


def test_every_generated_file_compiles_and_has_no_undefined_names() -> None:
    from pyflakes.api import check
    from pyflakes.reporter import Reporter

    targets = [
        *(REPO / "generated").glob("*.py"),
        *[p for case in cases() for p in (case / "expected" / "generated").glob("*.py")],
    ]
    assert targets
    for path in targets:
        text = path.read_text(encoding="utf-8")
        compile(text, str(path), "exec")
        import io

        out = io.StringIO()
        check(text, str(path), Reporter(out, out))
        problems = [line for line in out.getvalue().splitlines() if "undefined name" in line]
        assert not problems, problems


def test_output_is_identical_under_different_hash_seeds(tmp_path: Path) -> None:
    texts = []
    for seed in ("0", "4242"):
        project = tmp_path / f"seed{seed}"
        shutil.copytree(MODELS, project / "models")
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(REPO))
        result = subprocess.run(
            [sys.executable, "-m", "codegen", "sync", "--no-cache"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode in (0, 1), result.stderr
        texts.append(
            {
                p.relative_to(project).as_posix(): p.read_bytes()
                for p in sorted(project.rglob("*.py"))
            }
        )
    assert texts[0] == texts[1]
    assert any(name.startswith("generated/") for name in texts[0])
