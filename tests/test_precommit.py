"""The codegen hooks under the real pre-commit framework, in throwaway git repositories.

pre-commit installs the hook from a temporary commit of this checkout's working tree with
`pip install .` (network: PyPI for hatchling, libcst and jinja2). PRE_COMMIT_HOME is shared
by the whole module, so that install happens once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import MODELS, REPO

# What `pip install .` of the hook repository needs: the package, its templates and metadata.
HOOK_REPO_DIRS = ("codegen", "templates")
HOOK_REPO_FILES = ("pyproject.toml", ".pre-commit-hooks.yaml", "README.md", "LICENSE")
TIMEOUT = 900  # the first run builds the hook's virtualenv

# A model its author wrote by copying sentiment.py's `embed` and `conv_block`.
SUMMARY_MODEL = textwrap.dedent(
    '''\
    """Three-way summary-quality classifier; its trunk was copied from the sentiment model."""

    import tensorflow.compat.v1 as tf


    def embed(ids, vocab_size, dim, scope="embed"):
        with tf.variable_scope(scope):
            W = tf.get_variable(
                "W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02)
            )
            return tf.nn.embedding_lookup(W, ids)


    def conv_block(x, width, kernel=3, scope="conv"):
        with tf.variable_scope(scope):
            in_dim = x.shape[-1]
            W = tf.get_variable(
                "W", [kernel, in_dim, width], initializer=tf.random_normal_initializer(stddev=0.02)
            )
            b = tf.get_variable("b", [width], initializer=tf.zeros_initializer())
            h = tf.nn.conv1d(x, W, stride=1, padding="SAME") + b
            return tf.nn.relu(h)


    def build_model(token_ids, labels):
        h = embed(token_ids, 20000, 64)
        h = conv_block(h, 128, 3, "conv1")
        pooled = tf.reduce_max(h, axis=1)
        logits = tf.layers.dense(pooled, 3, name="head")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
        return logits, loss
    '''
)


def _env(pre_commit_home: Path | None = None) -> dict[str, str]:
    """A git identity and no user git config; no PYTHONPATH, so the hook runs its installed copy."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(
        GIT_AUTHOR_NAME="layershare tests",
        GIT_AUTHOR_EMAIL="tests@layershare.invalid",
        GIT_COMMITTER_NAME="layershare tests",
        GIT_COMMITTER_EMAIL="tests@layershare.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,  # a user's hooksPath or gpgsign must not leak in
        GIT_CONFIG_NOSYSTEM="1",
    )
    if pre_commit_home is not None:
        env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    return env


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def _commit_all(cwd: Path, message: str) -> str:
    _git(cwd, "add", "-A")
    _git(cwd, "commit", "-q", "--no-verify", "-m", message)
    return _git(cwd, "rev-parse", "HEAD").strip()


class PreCommit:
    """Runs the real `pre-commit` in a project with the module's shared PRE_COMMIT_HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def run(self, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "pre_commit",
            "run",
            "--all-files",
            "--color",
            "never",
            *args,
        ]
        return subprocess.run(
            command,
            cwd=project,
            env=_env(self.home),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )


@pytest.fixture(scope="module")
def pre_commit(tmp_path_factory: pytest.TempPathFactory) -> PreCommit:
    """pre-commit with a module-wide PRE_COMMIT_HOME, so each hook environment is built once."""
    return PreCommit(tmp_path_factory.mktemp("pre-commit-home"))


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding one commit of this checkout's working tree (edits included)."""
    assert (REPO / "README.md").is_file(), (
        "README.md is missing: pyproject.toml names it as the readme, so `pip install .` "
        "(how pre-commit installs the hook) fails with 'Readme file does not exist'"
    )
    root = tmp_path_factory.mktemp("layershare-hook")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in HOOK_REPO_DIRS:
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    for name in HOOK_REPO_FILES:
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, root / name)
    _git(root, "init", "-q")
    return root, _commit_all(root, "layershare working tree under test")


def _new_project(root: Path, hook: tuple[Path, str]) -> Path:
    """A user's repository: copies of the example models, [tool.codegen] and both hooks."""
    hook_path, sha = hook
    (root / "models").mkdir(parents=True)
    for model in sorted(MODELS.glob("*.py")):
        shutil.copy2(model, root / "models" / model.name)
    (root / "pyproject.toml").write_text('[tool.codegen]\npaths = ["models"]\n', encoding="utf-8")
    (root / ".pre-commit-config.yaml").write_text(
        textwrap.dedent(
            f"""\
            repos:
              - repo: {hook_path.as_posix()}
                rev: {sha}
                hooks:
                  - id: codegen
                  - id: codegen-check
            """
        ),
        encoding="utf-8",
    )
    _git(root, "init", "-q")
    _commit_all(root, "models before codegen")
    return root


def _snapshot(project: Path) -> dict[str, str]:
    """Text of every generated and model file, by relative path."""
    return {
        path.relative_to(project).as_posix(): path.read_text(encoding="utf-8")
        for folder in ("generated", "models")
        if (project / folder).is_dir()
        for path in sorted((project / folder).glob("*.py"))
    }


def _output(run: subprocess.CompletedProcess[str]) -> str:
    return f"exit {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"


def _synced(project: Path, pre_commit: PreCommit) -> None:
    """First hook run on fresh copies: it generates (exit 1); once staged, it passes."""
    first = pre_commit.run(project)
    assert first.returncode == 1, _output(first)
    assert "created generated/layers_common.py" in first.stdout, _output(first)
    generated = sorted(p.name for p in (project / "generated").glob("*.py"))
    assert {"__init__.py", "layers_common.py", "sentiment_transfer.py", "topic_transfer.py"} <= set(
        generated
    ), generated
    for name in generated:
        first_line = (project / "generated" / name).read_text(encoding="utf-8").splitlines()[0]
        assert first_line.startswith("# @generated by codegen from "), (name, first_line)
    # The class-based and model_fn examples too: entries and shared builders routed, own shims.
    assert {"review_transfer.py", "slots_transfer.py"} <= set(generated), generated
    review = (project / "models" / "review.py").read_text(encoding="utf-8")
    assert '    @review_transfer.model("ReviewCNN")\n    def __init__(' in review
    slots = (project / "models" / "slots.py").read_text(encoding="utf-8")
    assert '    @slots_transfer.model("model_fn_builder.model_fn")\n    def model_fn(' in slots
    _git(project, "add", "-A")
    again = pre_commit.run(project)
    assert again.returncode == 0, _output(again)
    # The hook wrote nothing, and its cache folder stays out of git.
    assert _unstaged(project) == ""


def _unstaged(project: Path) -> str:
    """Changed-but-unstaged and untracked (not ignored) files; "" when the index has everything."""
    return _git(project, "diff", "--name-only") + _git(
        project, "ls-files", "--others", "--exclude-standard"
    )


def _change_number_in(path: Path, function: str, old: str, new: str) -> None:
    """Edit one literal inside `function`'s body, as a user tweaking a builder would."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"def {function}(")
    at = text.index(old, start)
    assert at < text.find("\ndef ", start + 1), f"{old} is not inside {function}"
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")


def test_hook_passes_fails_on_a_builder_edit_regenerates_and_passes_once_staged(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit: PreCommit
) -> None:
    project = _new_project(tmp_path / "project", hook_repo)
    _synced(project, pre_commit)
    before = _snapshot(project)
    assert '@sentiment_transfer.shared_layer("conv_block")' in before["models/sentiment.py"]
    assert 'builder="conv_block"' in before["generated/sentiment_transfer.py"]
    assert "models/sentiment.py::conv_block" in before["generated/layers_common.py"]

    _change_number_in(project / "models/sentiment.py", "conv_block", "stddev=0.02", "stddev=0.05")
    edited = _snapshot(project)

    # The CI hook (manual stage) reports the stale files and writes nothing.
    ci = pre_commit.run(project, "codegen-check", "--hook-stage", "manual")
    assert ci.returncode == 1, _output(ci)
    assert "stale: generated/sentiment_transfer.py" in ci.stdout, _output(ci)
    assert (
        "checkpoint compatibility: models/sentiment.py no longer shares `conv_block`" in ci.stdout
    )
    assert _snapshot(project) == edited

    failed = pre_commit.run(project)
    assert failed.returncode == 1, _output(failed)
    assert "files were modified by this hook" in failed.stdout, _output(failed)
    assert (
        "checkpoint compatibility: models/sentiment.py no longer shares `conv_block` (layer 2)"
        in failed.stdout
    ), _output(failed)
    after = _snapshot(project)
    # sentiment's conv_block now differs from its copies: not shared, not routed, never merged.
    assert 'builder="conv_block"' not in after["generated/sentiment_transfer.py"]
    assert 'builder="embed"' in after["generated/sentiment_transfer.py"]
    assert "models/sentiment.py::conv_block" not in after["generated/layers_common.py"]
    assert "models/topic.py::conv_block" in after["generated/layers_common.py"]
    assert "stddev=0.05" not in after["generated/layers_common.py"]
    assert '@sentiment_transfer.shared_layer("conv_block")' not in after["models/sentiment.py"]
    assert "stddev=0.05" in after["models/sentiment.py"], "the user's edit must survive"
    assert after["generated/topic_transfer.py"] != before["generated/topic_transfer.py"]

    _git(project, "add", "-A")
    passed = pre_commit.run(project)
    assert passed.returncode == 0, _output(passed)
    assert _snapshot(project) == after
    ci_again = pre_commit.run(project, "codegen-check", "--hook-stage", "manual")
    assert ci_again.returncode == 0, _output(ci_again)


def test_a_new_model_copying_a_shared_builder_fails_the_hook_and_gets_its_shim(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit: PreCommit
) -> None:
    project = _new_project(tmp_path / "project", hook_repo)
    _synced(project, pre_commit)
    shim = project / "generated/summary_transfer.py"
    assert not shim.exists()

    (project / "models/summary.py").write_text(SUMMARY_MODEL, encoding="utf-8")
    _git(project, "add", "models/summary.py")
    failed = pre_commit.run(project)
    assert failed.returncode == 1, _output(failed)
    assert "created generated/summary_transfer.py" in failed.stdout, _output(failed)

    assert shim.is_file()
    shim_text = shim.read_text(encoding="utf-8")
    assert shim_text.startswith("# @generated by codegen from models/summary.py ")
    assert 'builder="embed"' in shim_text and 'builder="conv_block"' in shim_text
    model_text = (project / "models/summary.py").read_text(encoding="utf-8")
    assert "from generated import summary_transfer" in model_text
    assert '@summary_transfer.model("build_model")' in model_text
    # Its partners now list it, so their checkpoints are known to restore its trunk.
    assert "models/summary.py" in (project / "generated/sentiment_transfer.py").read_text("utf-8")

    _git(project, "add", "-A")
    passed = pre_commit.run(project)
    assert passed.returncode == 0, _output(passed)


def _working_tree_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files: what a commit of the working tree holds."""
    listed = _git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    wanted = ("codegen/", "templates/", "models/", "generated/")
    return sorted(
        name
        for name in listed.split("\0")
        if name
        and (name.startswith(wanted) or name in ("pyproject.toml", ".pre-commit-config.yaml"))
        and (REPO / name).is_file()
    )


def test_this_repos_own_local_hook_works_in_a_fresh_clone(
    tmp_path: Path, pre_commit: PreCommit
) -> None:
    clone = tmp_path / "clone"
    for name in _working_tree_files():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, clone / name)
    _git(clone, "init", "-q")
    _commit_all(clone, "working tree")

    first = pre_commit.run(clone)
    wrote = _unstaged(clone)
    # Exit 1 exactly when it wrote something (a stale generated/ here is test_golden's business).
    assert first.returncode == (1 if wrote else 0), _output(first) + wrote
    _git(clone, "add", "-A")
    again = pre_commit.run(clone)
    assert again.returncode == 0, _output(again)
    ci = pre_commit.run(clone, "codegen-check", "--hook-stage", "manual")
    assert ci.returncode == 0, _output(ci)


def _codegen(project: Path, *args: str, hook: bool) -> subprocess.CompletedProcess[str]:
    """This checkout's `codegen` CLI, as pre-commit runs it (PRE_COMMIT=1) or as a user does."""
    env = _env()
    env["PYTHONPATH"] = str(REPO)
    if hook:
        env["PRE_COMMIT"] = "1"
    else:
        env.pop("PRE_COMMIT", None)
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_the_hook_plans_from_tracked_files_and_names_the_untracked_ones(tmp_path: Path) -> None:
    """An untracked work-in-progress model must not shape what the hook commits: the committed
    tree is what a fresh clone regenerates (`codegen check` passes there)."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    for model in sorted(MODELS.glob("*.py")):
        shutil.copy2(model, project / "models" / model.name)
    (project / "pyproject.toml").write_text('[tool.codegen]\npaths = ["models"]\n', "utf-8")
    (project / ".gitignore").write_text(".codegen_cache/\n", "utf-8")
    _git(project, "init", "-q")
    assert _codegen(project, "sync", hook=False).returncode == 1
    _commit_all(project, "routed models")
    (project / "models" / "summary.py").write_text(SUMMARY_MODEL, "utf-8")  # not `git add`ed
    before = _snapshot(project)

    hooked = _codegen(project, "sync", hook=True)
    assert hooked.returncode == 0, _output(hooked)  # nothing the commit holds is out of date
    assert "models/summary.py:1:0: CG106" in hooked.stderr, _output(hooked)
    assert _snapshot(project) == before  # no shim for it, no routing of its partners
    assert _codegen(project, "check", hook=True).returncode == 0

    _git(project, "add", "models/summary.py")  # once staged, the hook takes it in
    staged = _codegen(project, "sync", hook=True)
    assert staged.returncode == 1 and "CG106" not in staged.stderr, _output(staged)
    assert (project / "generated" / "summary_transfer.py").is_file()
    _git(project, "reset", "-q", "--hard")  # back to the commit; summary.py leaves the index

    # A work-in-progress model the user synced by hand: its shim is untracked too, and the
    # hook runs with unstaged edits stashed (as pre-commit does). Neither is part of the commit:
    # both are left alone and named, and the commit passes.
    (project / "models" / "summary.py").write_text(SUMMARY_MODEL, "utf-8")
    assert _codegen(project, "sync", hook=False).returncode == 1
    _git(project, "stash", "-q")  # keeps untracked files, as pre-commit's stash does
    hooked = _codegen(project, "sync", hook=True)
    assert hooked.returncode == 0, _output(hooked)
    assert "models/summary.py:1:0: CG106" in hooked.stderr, _output(hooked)
    assert "generated/summary_transfer.py:1:0: CG106" in hooked.stderr, _output(hooked)
    assert (project / "generated" / "summary_transfer.py").is_file()
    # An edit the commit holds still regenerates what it shares; the untracked model that
    # imports generated code does not hold the commit back (it is not part of it).
    sentiment = project / "models" / "sentiment.py"
    sentiment.write_text(sentiment.read_text("utf-8").replace("stddev=0.02", "stddev=0.05"))
    _git(project, "add", "models/sentiment.py")
    edited = _codegen(project, "sync", hook=True)
    assert edited.returncode == 1 and "CG313" not in edited.stderr, _output(edited)
    assert "d generated/sentiment_transfer.py" in edited.stdout, _output(edited)  # updated/deleted
    assert (project / "generated" / "summary_transfer.py").is_file()
    _git(project, "reset", "-q", "--hard")
    _git(project, "stash", "pop", "-q")
    _git(project, "reset", "-q", "--hard")
    _git(project, "clean", "-q", "-f", "models", "generated")

    # The committed tree regenerates to itself in a fresh clone.
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(project), str(clone))
    fresh = _codegen(clone, "check", "--no-cache", hook=False)
    assert fresh.returncode == 0, _output(fresh)


def test_outside_the_hook_an_untracked_model_is_planned_as_before(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    for model in sorted(MODELS.glob("*.py")):
        shutil.copy2(model, project / "models" / model.name)
    (project / "pyproject.toml").write_text('[tool.codegen]\npaths = ["models"]\n', "utf-8")
    _git(project, "init", "-q")
    assert _codegen(project, "sync", hook=False).returncode == 1
    _commit_all(project, "routed models")
    (project / "models" / "summary.py").write_text(SUMMARY_MODEL, "utf-8")
    done = _codegen(project, "sync", hook=False)
    assert done.returncode == 1 and "CG106" not in done.stderr, _output(done)
    assert (project / "generated" / "summary_transfer.py").is_file()
