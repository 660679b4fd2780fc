"""Robustness and security of the CLI: odd file systems, faults mid-write, people's work, hostility.

Each test builds a throwaway project (copies of the example models), runs the command line in
process or in a subprocess, and compares the whole tree before and after: nothing outside the
output folder is written, an interrupted write is finished or undone, and no scanned code ever runs.
(tests/test_write.py pins the write module's own fault handling; these drive it through the CLI.)
"""

from __future__ import annotations

import ast
import errno
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import tokenize
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MODELS, REPO, sigkill_when
from pyflakes import api as pyflakes_api
from pyflakes import reporter as pyflakes_reporter

from codegen import runtime, write
from codegen.cli import main
from codegen.demo import unrouted_copy
from codegen.ids import id_path
from codegen.scan import discover
from codegen.write import JOURNAL, header_status, journal

CONFIG = '[tool.codegen]\npaths = ["models"]\ncache_dir = ""\n'
STRAY = re.compile(
    r"\.codegen-(tmp|bak)-|\.codegen-journal|\.codegen-lock|\.rendered\.\d+\.tmp|^\.tmp-"
)


# --- helpers -------------------------------------------------------------------------------------


def make_project(root: Path, *, routed: bool = False, config: str = CONFIG) -> Path:
    """Copies of the example models (as users have them before `apply`, unless routed)."""
    root.mkdir(parents=True, exist_ok=True)
    if routed:
        (root / "models").mkdir()
        for path in sorted(MODELS.glob("*.py")):
            shutil.copy2(path, root / "models" / path.name)
    else:
        unrouted_copy(MODELS, root)
    (root / "pyproject.toml").write_text(config, "utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def run(root: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`codegen <argv>` in process, from `root`; (exit code, stdout, stderr)."""
    previous = os.getcwd()
    os.chdir(root)
    try:
        code = main(list(argv))
    finally:
        os.chdir(previous)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def run_subprocess(
    root: Path, *argv: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codegen", *argv],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def snapshot(folder: Path, *, skip: tuple[str, ...] = ()) -> dict[str, object]:
    """Every entry below `folder` (hidden too, symlinks not followed) -> bytes or a description."""
    found: dict[str, object] = {}
    for current, folders, files in os.walk(folder):
        relative_dir = Path(current).relative_to(folder).as_posix()
        folders[:] = sorted(
            name for name in folders if f"{relative_dir}/{name}".lstrip("./") not in skip
        )
        for name in sorted(folders + files):
            path = Path(current) / name
            relative = path.relative_to(folder).as_posix()
            if relative in skip:
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = f"symlink -> {os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = "folder"
            elif stat.S_ISREG(info.st_mode):
                found[relative] = path.read_bytes()
            else:
                found[relative] = f"special {stat.S_IFMT(info.st_mode):o}"
    return found


def generated(root: Path, output: str = "generated") -> dict[str, bytes]:
    return {k: v for k, v in snapshot(root / output).items() if isinstance(v, bytes)}


def assert_no_strays(folder: Path) -> None:
    """No temp, backup, journal or lock file anywhere below `folder`."""
    strays = [name for name in snapshot(folder) if STRAY.search(name.rsplit("/", 1)[-1])]
    assert strays == [], strays


def assert_valid_generated(root: Path, output: str = "generated") -> dict[str, bytes]:
    """Every generated file carries an intact header and compiles; returns them."""
    files = generated(root, output)
    assert files, "nothing generated"
    for name, data in files.items():
        text = data.decode("utf-8")
        assert header_status(text) == "valid", name
        compile(text, name, "exec")
    return files


# The runtime's model transfer classes (one a family) a shim names each of its models in.
MODEL_TRANSFERS = {
    name
    for text in runtime.files().values()
    for name in re.findall(r"^class (\w*ModelTransfer)\b", text, flags=re.M)
}


def model_copy(name: str, *, vocab: int = 20000) -> str:
    """sentiment.py as its author wrote it (no routing), optionally with another vocabulary size."""
    text = (MODELS / "sentiment.py").read_text("utf-8")
    text = re.sub(r"^from generated import .*\n|^@sentiment_transfer\..*\n", "", text, flags=re.M)
    return text.replace("20000", str(vocab)).replace(
        "Binary sentiment", f"{name}: binary sentiment"
    )


# --- 2. the file system --------------------------------------------------------------------------


def test_symlink_loop_is_a_warning_and_every_model_is_scanned_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "models" / "nested").mkdir()
    os.symlink("..", project / "models" / "nested" / "loop")  # models/nested/loop -> models
    os.symlink("loop_b", project / "models" / "loop_a")  # a pair pointing at each other
    os.symlink("loop_a", project / "models" / "loop_b")
    code, out, err = run(project, capsys, "scan", "--json")
    assert code == 0, err
    report = json.loads(out)
    paths = [item["path"] for item in report["files"]]
    # every model, in models/ and its subfolders (keras_family/), once: none through a loop
    assert sorted(paths) == sorted(
        f"models/{p.relative_to(MODELS).as_posix()}" for p in MODELS.rglob("*.py")
    )
    assert any(d["code"] == "CG105" and d["severity"] == "warning" for d in report["diagnostics"])
    outside = snapshot(project.parent, skip=("project/generated",))
    code, _, err = run(project, capsys, "emit")
    assert code == 1, err
    assert snapshot(project.parent, skip=("project/generated",)) == outside
    assert_valid_generated(project)


@pytest.mark.parametrize(
    "kind", ["self_symlink", "dangling_symlink", "fifo", "permission_denied", "folder_named_py"]
)
def test_unreadable_model_entries_are_named_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    bad = project / "models" / "bad.py"
    if kind == "self_symlink":
        os.symlink("bad.py", bad)
    elif kind == "dangling_symlink":
        os.symlink("nowhere/missing.py", bad)
    elif kind == "fifo":
        os.mkfifo(bad)  # opening it for reading would block forever
    elif kind == "folder_named_py":
        bad.mkdir()
        (bad / "inner.py").write_text(model_copy("inner"), "utf-8")
    else:
        bad.write_text(model_copy("bad"), "utf-8")
        real_open = open

        def denied(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if os.fspath(path) == str(bad):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(discover, "open", denied, raising=False)  # root ignores chmod
    before = snapshot(project.parent)

    def blocked(*_: object) -> None:
        raise TimeoutError("codegen blocked on a special file")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(60)
    try:
        code, out, err = run(project, capsys, "emit")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if kind == "folder_named_py":  # a folder is walked, never read as a file
        assert code == 1, err
        assert (project / "generated" / "inner_transfer.py").is_file()
        return
    assert code == 2, out + err
    assert "models/bad.py" in err and "cannot read" in err and "nothing written" in err
    assert snapshot(project.parent) == before


def test_a_folder_that_cannot_be_listed_does_not_delete_its_models_shims(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "models" / "extra").mkdir()
    (project / "models" / "extra" / "aaa.py").write_text(
        model_copy("aaa").replace("2, name", "3, name"), "utf-8"
    )
    assert run(project, capsys, "sync")[0] == 1
    assert (project / "generated" / "aaa_transfer.py").is_file()
    before = snapshot(project)
    real_scandir = os.scandir

    def unlistable(path):  # type: ignore[no-untyped-def]
        if os.fspath(path).endswith("/extra"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(discover.os, "scandir", unlistable)
    code, _, err = run(project, capsys, "emit")
    monkeypatch.undo()  # the snapshot below lists folders with the real scandir again
    assert "models/extra" in err
    assert code == 2
    assert snapshot(project) == before


def test_spaces_and_non_ascii_in_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "my project ü" / "日本 x")
    (root / "models" / "my model ü.py").write_text(model_copy("spaced"), "utf-8")
    code, _, err = run(root, capsys, "sync")
    assert code == 1, err
    files = assert_valid_generated(root)
    shim = files["my_model_transfer.py"].decode()
    assert 'MODEL = "models/my model ü.py::build_model"' in shim
    assert "from generated import my_model_transfer" in (
        root / "models" / "my model ü.py"
    ).read_text("utf-8")
    assert str(tmp_path) not in "".join(
        data.decode() for data in files.values()
    )  # no absolute paths
    assert run(root, capsys, "check")[0] == 0


def test_model_names_that_collide_are_keywords_or_odd_get_distinct_safe_shims(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [
        "my-model.py",
        "my_model.py",
        "My Model.py",
        "class.py",
        "import.py",
        "match.py",
        "1st.py",
        "layers_common.py",
        "layers.py",
        "日本.py",
        "..py",
        "__init__.py",
        "a'b\"c.py",
    ]
    for index, name in enumerate(names):
        (project / "models" / name).write_text(model_copy(f"m{index}"), "utf-8")
    outside = snapshot(project.parent, skip=("project/generated",))
    code, _, err = run(project, capsys, "emit")
    assert code == 1, err
    assert snapshot(project.parent, skip=("project/generated",)) == outside
    files = assert_valid_generated(project)
    shims = {name: data.decode() for name, data in files.items() if name.endswith("_transfer.py")}
    owners: dict[str, str] = {}
    for shim_name, text in shims.items():
        module = shim_name.removesuffix(".py")
        assert module.isidentifier() and "/" not in shim_name, shim_name
        # A build function's shim says `MODEL = 'path::qualname'`; a file shim (a class model,
        # a model_fn, a Keras model) names each model in its family's model transfer:
        # `_runtime.ModelTransfer('path::Root', ...)` or `_runtime.KerasModelTransfer(...)`.
        found = [
            node.value.value
            if isinstance(node, ast.Assign)
            else node.args[0].value  # type: ignore[attr-defined]
            for node in ast.walk(ast.parse(text))
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["MODEL"]
                and isinstance(node.value, ast.Constant)
            )
            or (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) in MODEL_TRANSFERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
            )
        ]
        assert found and len({id_path(f) for f in found}) == 1, (shim_name, found)
        owners[id_path(found[0])] = module
    for name in names:
        assert f"models/{name}" in owners, name
    assert len(set(owners.values())) == len(owners)  # no two models share a shim
    assert files["_runtime/tf1.py"].decode().count("class ModelTransfer") == 1  # not a shim
    assert run(project, capsys, "sync")[0] == 1
    assert run(project, capsys, "check")[0] == 0


@pytest.mark.parametrize(
    "output", ["../escape", "generated/../../escape", "..", ".", "", "ABSOLUTE"]
)
def test_an_output_outside_the_project_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    if output == "ABSOLUTE":
        output = str(project.parent / "absolute")
    before = snapshot(project.parent)
    code, _, err = run(project, capsys, "emit", "--output", output)
    assert code == 2
    assert "output" in err
    assert snapshot(project.parent) == before


def test_an_output_that_is_a_file_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "generated").write_text("my notes, not a folder\n", "utf-8")
    (project / "notes").write_text("a file\n", "utf-8")
    before = snapshot(project.parent)
    code, _, err = run(project, capsys, "emit")
    assert code == 2 and "CG304" in err and "generated" in err
    code, _, err = run(
        project, capsys, "emit", "--output", "notes/generated"
    )  # its parent is a file
    assert code == 2 and "notes/generated" in err
    assert snapshot(project.parent) == before


@pytest.mark.parametrize("fault", ["open", "replace", "mkdir"])
def test_a_read_only_output_is_an_error_and_keeps_the_old_tree(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """We run as root, so permissions are simulated where write.py touches the disk."""
    if fault != "mkdir":
        assert run(project, capsys, "emit")[0] == 1
    for path in (project / "models").glob("*.py"):
        path.write_text(path.read_text("utf-8").replace("20000", "20001"), "utf-8")
    before = snapshot(project.parent)
    real_open, real_replace, real_mkdir = os.open, os.replace, Path.mkdir

    def read_only_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & os.O_CREAT and "/generated/" in os.fspath(path):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def read_only_replace(src, dst):  # type: ignore[no-untyped-def]
        if "/generated/" in os.fspath(dst) and not os.fspath(dst).endswith(JOURNAL):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(dst))
        return real_replace(src, dst)

    def read_only_mkdir(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name == "generated":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    if fault == "open":
        monkeypatch.setattr(os, "open", read_only_open)
        expected = "Read-only file system"
    elif fault == "replace":
        monkeypatch.setattr(os, "replace", read_only_replace)
        expected = "Permission denied"
    else:
        monkeypatch.setattr(Path, "mkdir", read_only_mkdir)
        expected = "Permission denied"
    code, _, err = run(project, capsys, "emit")
    assert code == 2 and expected in err, err
    monkeypatch.undo()
    assert snapshot(project.parent) == before
    assert_no_strays(project)


# --- 3. faults while writing ---------------------------------------------------------------------


def changed_project(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Emit once (the old tree), then change models and the file set: (old, new) generated trees."""
    (project / "models" / "gone.py").write_text(model_copy("gone"), "utf-8")
    assert run(project, capsys, "emit")[0] == 1
    old = generated(project)
    (project / "models" / "gone.py").unlink()
    (project / "models" / "new.py").write_text(model_copy("new", vocab=20001), "utf-8")
    for name in ("sentiment.py", "topic.py", "ner.py"):
        path = project / "models" / name
        path.write_text(path.read_text("utf-8").replace("20000", "20001"), "utf-8")
    scratch = project.parent / "scratch"
    shutil.copytree(project, scratch, ignore=shutil.ignore_patterns("generated"))
    assert run(scratch, capsys, "emit")[0] == 1
    new = generated(scratch)
    shutil.rmtree(scratch)
    assert old != new and old.keys() != new.keys()
    return old, new


def test_an_exception_after_the_first_file_is_staged_leaves_the_old_tree(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, _ = changed_project(project, capsys)
    real = journal.write_temp
    calls: list[Path] = []

    def failing(final, data, kind, mode):  # type: ignore[no-untyped-def]
        calls.append(final)
        if len(calls) == 2:
            raise RuntimeError("simulated bug after the first file was written")
        return real(final, data, kind, mode)

    monkeypatch.setattr(journal, "write_temp", failing)
    code, _, err = run(project, capsys, "emit")
    assert code != 0 and len(calls) == 2
    assert "simulated bug" in err
    assert generated(project) == old
    assert_no_strays(project)


@pytest.mark.parametrize("persistent", [False, True], ids=["once", "every_time"])
def test_an_exception_after_the_first_file_is_replaced_finishes_the_new_tree(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    persistent: bool,
) -> None:
    _, new = changed_project(project, capsys)
    real = os.replace
    moved: list[str] = []
    raised: list[bool] = []

    def failing(src, dst):  # type: ignore[no-untyped-def]
        if ".codegen-tmp-" in os.fspath(src) and not os.fspath(dst).endswith(JOURNAL):
            if moved and (persistent or not raised):
                raised.append(True)
                raise RuntimeError("simulated bug between two replaces")
            moved.append(os.fspath(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    code, _, err = run(project, capsys, "emit")
    assert code != 0 and "simulated bug" in err
    monkeypatch.undo()
    if persistent:
        # Even the in-process roll-forward failed: the journal stays and the next run finishes it.
        assert os.path.lexists(project / JOURNAL)  # one journal, at the project root
        rerun = run(project, capsys, "emit")
        assert rerun[0] in (0, 1), rerun
    assert generated(project) == new  # the journal promised the whole set: rolled forward
    assert_no_strays(project)
    assert run(project, capsys, "emit")[0] == 0


@pytest.mark.parametrize("failing_replace", [1, 3, 5])
def test_disk_full_during_replace_rolls_back_to_the_old_tree(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failing_replace: int,
) -> None:
    old, new = changed_project(project, capsys)
    real = os.replace
    count = [0]

    def full(src, dst):  # type: ignore[no-untyped-def]
        if ".codegen-tmp-" in os.fspath(src) and not os.fspath(dst).endswith(JOURNAL):
            count[0] += 1
            if count[0] == failing_replace:
                raise OSError(errno.ENOSPC, "No space left on device", os.fspath(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", full)
    code, _, err = run(project, capsys, "emit")
    monkeypatch.undo()
    assert code == 2 and "No space left on device" in err and "rolled back" in err
    assert generated(project) == old
    assert_no_strays(project)
    assert run(project, capsys, "emit")[0] == 1
    assert generated(project) == new


def write_corpus(root: Path, count: int, *, vocab: int, first: int = 0) -> None:
    for index in range(first, first + count):
        (root / "models" / f"m{index:03d}.py").write_text(
            model_copy(f"m{index}", vocab=vocab), "utf-8"
        )


KILL_ROUNDS = int(os.environ.get("CODEGEN_KILL_ROUNDS", "1"))

# Widens the commit window for the mid-commit kill points: each os.replace then takes 4 ms.
SLOW_REPLACE = (
    "import os, sys, time\n"
    "real = os.replace\n"
    "os.replace = lambda a, b: (time.sleep(0.004), real(a, b))[1]\n"
    "from codegen.cli import main\n"
    "raise SystemExit(main(['emit']))\n"
)


def kill_when(
    root: Path, condition: Callable[[], bool], *, deadline: float, slow: bool
) -> tuple[str, float]:
    """Start `codegen emit`, SIGKILL it once `condition()` holds (or after `deadline` s)."""
    command = ["-c", SLOW_REPLACE] if slow else ["-m", "codegen", "emit"]
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        start_new_session=True,
    )
    how, elapsed = sigkill_when(process, condition, deadline)
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err
    return how, elapsed


def end_session(leader: int) -> None:
    """SIGKILL every process left in a session started with start_new_session=True."""
    try:
        os.killpg(leader, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def children_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_sigkill_during_a_parallel_scan_leaves_no_orphaned_workers(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", routed=True)
    write_corpus(root, 24, vocab=20000)
    process = subprocess.Popen(
        [sys.executable, "-m", "codegen", "emit", "--no-cache", "--jobs", "2"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not children_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
        workers = children_of(process.pid)
        assert workers, "codegen started no parser workers"
        process.kill()
        process.wait()
        time.sleep(3)  # plenty for a worker to notice its parent is gone
        assert [pid for pid in workers if alive(pid)] == []
    finally:
        end_session(process.pid)


def test_sigkill_mid_emit_never_leaves_a_torn_or_mixed_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real `codegen emit` of 120 models, killed at several points; the next run recovers."""
    root = make_project(
        tmp_path / "project", config='[tool.codegen]\npaths = ["models"]\n'
    )  # with its cache
    for path in (root / "models").rglob("*.py"):
        path.unlink()  # the bundled models, keras_family/ too: the corpus is exactly these 120
    write_corpus(root, 120, vocab=20000)
    assert run(root, capsys, "emit")[0] == 1
    old = generated(root)
    for path in sorted((root / "models").glob("*.py"))[-10:]:
        path.unlink()  # 10 shims to delete
    write_corpus(root, 110, vocab=20001)  # every key changes: every shim is rewritten
    write_corpus(root, 10, vocab=20001, first=500)  # 10 shims to create
    scratch = tmp_path / "scratch"
    shutil.copytree(root, scratch, ignore=shutil.ignore_patterns("generated", ".codegen_cache"))
    assert run(scratch, capsys, "emit")[0] == 1
    new = generated(scratch)
    # 120 shims, __init__, layers_common and the runtime package's modules
    assert len(old) == len(new) == 122 + len(runtime.files()) and old.keys() != new.keys()
    out = root / "generated"

    def staging() -> bool:
        return any(".codegen-tmp-" in name for name in os.listdir(out))

    def committing() -> bool:
        return os.path.exists(root / JOURNAL)

    def half_replaced() -> bool:
        try:
            return (
                committing() and (out / "m000_transfer.py").read_bytes() != old["m000_transfer.py"]
            )
        except OSError:
            return False

    kill_points: list[tuple[str, Callable[[], bool], float, bool]] = [
        ("while scanning", lambda: False, 0.3, False),
        ("while staging temp files", staging, 60, False),
        ("once the journal exists (slowed commit)", committing, 60, True),
        ("after the first new file is in place (slowed commit)", half_replaced, 60, True),
        ("after the first new file is in place, again (slowed commit)", half_replaced, 60, True),
        ("once the journal exists, again (slowed commit)", committing, 60, True),
    ]
    kill_points *= KILL_ROUNDS  # CODEGEN_KILL_ROUNDS=N: every point N times (docs/reliability.md)
    observed = []
    for index, (label, condition, deadline, slow) in enumerate(kill_points):
        # Every round starts from the complete old tree.
        shutil.rmtree(out)
        for name, data in old.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
        how, elapsed = kill_when(root, condition, deadline=deadline, slow=slow)
        after_kill = snapshot(out)
        in_place = {
            name: data
            for name, data in after_kill.items()
            if not STRAY.search(name) and data != "folder"  # the runtime is a package
        }
        for name, data in in_place.items():  # whatever is in place is a whole old or whole new file
            assert isinstance(data, bytes) and header_status(data.decode()) == "valid", (
                label,
                name,
            )
            assert data in (old.get(name), new.get(name)), (label, name)
        olds = sum(
            1 for name, data in in_place.items() if data == old.get(name) and data != new.get(name)
        )
        news = sum(
            1 for name, data in in_place.items() if data == new.get(name) and data != old.get(name)
        )
        journaled = os.path.lexists(root / JOURNAL)
        observed.append(
            (
                label,
                how,
                round(elapsed, 2),
                "journal" if journaled else "no journal",
                f"{olds} old + {news} new files in place",
            )
        )
        if index % 6 in (0, 2, 3, 5):  # rounds 1 and 4 leave the recovery to the next emit itself
            # What the next run does first: recovery alone gives exactly the old or the new set.
            assert [d for d in write.recover(root, dirs={out}) if d.severity != "info"] == []
            recovered = generated(root)
            assert recovered == (new if journaled else old), label
            assert_no_strays(root / "generated")
        result = run_subprocess(root, "emit")
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in (0, 1), result.stderr
        assert generated(root) == new, label
        assert_no_strays(root)
    print("\nSIGKILL points:", *observed, sep="\n  ")
    assert [how for _, how, *_ in observed].count("condition") >= 4 * KILL_ROUNDS, observed
    mixed = [
        entry for entry in observed if not entry[4].startswith("0 old") and " 0 new" not in entry[4]
    ]
    assert mixed, f"no kill landed while the tree was half old, half new: {observed}"


def test_two_emits_at_once_both_finish_and_leave_one_valid_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path / "project", config='[tool.codegen]\npaths = ["models"]\n')
    for path in (root / "models").glob("*.py"):
        path.unlink()
    write_corpus(root, 120, vocab=20000)
    assert run(root, capsys, "emit")[0] == 1
    outcomes = []
    for vocab in (20001, 20000):  # a race to a new tree, then one back
        write_corpus(root, 120, vocab=vocab)
        scratch = tmp_path / f"scratch{vocab}"
        shutil.copytree(root, scratch, ignore=shutil.ignore_patterns("generated", ".codegen_cache"))
        assert run(scratch, capsys, "emit")[0] == 1
        new = generated(scratch)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "codegen", "emit"],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            for _ in range(2)
        ]
        results = [(p.communicate(timeout=300)[1], p.returncode) for p in processes]
        for err, code in results:
            assert "Traceback" not in err, err
            # One wins; the other finds nothing left to do, or sees the files move and says so.
            assert code in (0, 1) or (code == 2 and "CG307" in err and "again" in err), (code, err)
        outcomes.append(sorted(code for _, code in results))
        assert 1 in outcomes[-1]
        assert generated(root) == new
        assert_no_strays(root / "generated")
    print("\nexit codes of the two racing emits:", outcomes)
    assert run_subprocess(root, "emit").returncode == 0


# --- 4. people's work ----------------------------------------------------------------------------


def test_hand_edited_generated_files_are_refused_by_name_unless_forced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "models" / "gone.py").write_text(model_copy("gone"), "utf-8")
    assert run(project, capsys, "sync")[0] == 1
    out = project / "generated"
    for name in ("layers_common.py", "topic_transfer.py", "gone_transfer.py"):
        (out / name).write_text((out / name).read_text("utf-8") + "\n# my tweak\n", "utf-8")
    (project / "models" / "gone.py").unlink()  # its edited shim is now stale
    sentiment = project / "models" / "sentiment.py"
    sentiment.write_text(sentiment.read_text("utf-8").replace("20000", "20001"), "utf-8")
    before = snapshot(project)
    for command in ("emit", "sync"):
        code, _, err = run(project, capsys, command)
        assert code == 2
        for name in ("layers_common.py", "topic_transfer.py"):
            assert re.search(rf"generated/{name}:1:0: CG301 .*--force", err), err
        assert "generated/gone_transfer.py" in err and "left in place" in err
        assert snapshot(project) == before
    code, out_text, err = run(project, capsys, "check")
    assert code != 0 and "generated/topic_transfer.py" in out_text + err
    # --force overwrites the hand edits, but emit alone would still delete the shim that
    # sentiment.py (which shares nothing any more) imports until it is un-routed: CG314.
    code, _, err = run(project, capsys, "emit", "--force")
    assert code == 2 and "models/sentiment.py:4:0: CG314 " in err and "CG301" not in err, err
    assert snapshot(project) == before
    code, _, err = run(project, capsys, "sync", "--force")
    assert code == 1, err
    assert "sentiment_transfer" not in sentiment.read_text("utf-8")
    files = assert_valid_generated(project)
    assert "gone_transfer.py" not in files and not any(
        b"# my tweak" in data for data in files.values()
    )


def test_files_without_our_header_are_never_deleted_or_overwritten(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, capsys, "sync")[0] == 1
    out = project / "generated"
    mine = {
        "helpers.py": b"# my own helper, next to the generated ones\nX = 1\n",
        "notes.txt": b"not python at all\n",
        "sub/extra.py": b"Y = 2\n",
        "latin.py": b"# -*- coding: latin-1 -*-\nname = '\xe9'\n",
        "fake_header.py": write.HEADER_PREFIX.encode()
        + b"models/x.py -- DO NOT EDIT. checksum: sha256:nothex\nZ = 3\n",
    }
    for name, data in mine.items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes(data)
    os.symlink("../models/sentiment.py", out / "link_transfer.py")  # looks like a stale shim
    models_before = snapshot(project / "models")
    (out / "topic_transfer.py").write_text("# I replaced the generated shim with my own\n", "utf-8")
    before = snapshot(project)
    for force in ((), ("--force",)):
        code, _, err = run(project, capsys, "emit", *force)
        assert code == 2 and re.search(
            r"generated/topic_transfer.py:1:0: CG302 .*never overwritten", err
        ), err
        assert snapshot(project) == before  # all or nothing: no other file was written either
    (out / "topic_transfer.py").unlink()
    (project / "models" / "qa.py").unlink()  # qa's shim becomes an orphan: ours, so it goes
    code, _, err = run(project, capsys, "emit", "--force")
    assert code == 1, err
    for name, data in mine.items():
        assert (out / name).read_bytes() == data, name
    assert os.readlink(out / "link_transfer.py") == "../models/sentiment.py"
    assert not (out / "qa_transfer.py").exists() and (out / "topic_transfer.py").is_file()
    assert snapshot(project / "models") == {k: v for k, v in models_before.items() if k != "qa.py"}


# --- 5. no code execution ------------------------------------------------------------------------

TRAPS = {
    "decorator": """
        def trap(fn):
            open({marker!r}, "w").write("decorator ran")
            os._exit(97)

        @trap
        def helper(x):
            return x
    """,
    "default_argument": """
        def helper(x, y=open({marker!r}, "w").write("default evaluated") or os._exit(97)):
            return x
    """,
    "class_body": """
        class Holder:
            open({marker!r}, "w").write("class body ran")
            os._exit(97)
    """,
    "init_subclass": """
        class Base:
            def __init_subclass__(cls, **kwargs):
                open({marker!r}, "w").write("__init_subclass__ ran")
                os._exit(97)

        class Child(Base):
            pass
    """,
    "metaclass": """
        class Meta(type):
            def __new__(mcs, name, bases, namespace):
                open({marker!r}, "w").write("metaclass ran")
                os._exit(97)

        class WithMeta(metaclass=Meta):
            pass
    """,
    "main_guard": """
        if __name__ == "__main__":
            open({marker!r}, "w").write("run as a script")
            os._exit(97)
    """,
    "module_getattr": """
        def __getattr__(name):
            open({marker!r}, "w").write("module __getattr__ ran")
            os._exit(97)
    """,
    "sibling_import": """
        import trap_sibling_helper  # its top level would leave the marker
    """,
    "annotations": """
        def helper(x: open({marker!r}, "w").write("annotation evaluated")) -> os._exit(97):
            return x
    """,
}


def test_scanned_code_never_runs_whatever_the_hook(tmp_path: Path) -> None:
    """Each trap model shares layers (so it is scanned, planned, rendered and routed) and would
    leave a marker and exit 97 if anything imported or executed it."""
    root = make_project(
        tmp_path / "project", routed=True, config='[tool.codegen]\npaths = ["models"]\n'
    )
    markers = tmp_path / "markers"
    markers.mkdir()
    for name, trap in TRAPS.items():
        body = textwrap.dedent(trap).format(marker=str(markers / name))
        text = model_copy(name).replace(
            "import tensorflow.compat.v1 as tf\n",
            "import os\n\nimport tensorflow.compat.v1 as tf\n" + body,
            1,
        )
        (root / "models" / f"trap_{name}.py").write_text(text, "utf-8")
    (root / "models" / "trap_sibling_helper.py").write_text(
        f"import os\nopen({str(markers / 'sibling')!r}, 'w').write('imported')\nos._exit(97)\n",
        "utf-8",
    )
    outcomes = []
    for argv in (
        ["scan", "--no-cache", "--jobs", "2"],
        ["scan", "--json"],
        ["check"],
        ["emit"],
        ["apply"],
        ["sync"],
        ["check", "--diff"],
    ):
        result = run_subprocess(root, *argv)
        outcomes.append((argv[0], result.returncode))
        assert result.returncode != 97 and "Traceback" not in result.stderr, (argv, result.stderr)
        assert result.returncode in (0, 1), (argv, result.stderr)
    assert list(markers.iterdir()) == []
    for name in TRAPS:
        assert (root / "generated" / f"trap_{name}_transfer.py").is_file(), name
        assert f"from generated import trap_{name}_transfer" in (
            root / "models" / f"trap_{name}.py"
        ).read_text("utf-8")
    assert outcomes[-1] == ("check", 0)


# --- 5. identifiers and strings reaching the templates -------------------------------------------

HOSTILE = (
    "x'); import os; os.system('touch /tmp/pwn'); ('",
    'a"\nimport os',
    '"""; import os; os.system("touch /tmp/pwn"); """',
    "{{ 7*7 }}{% raw %}",
    "\\'; __import__('os').system('id') #",
)
# Fragments that are harmless inside a string literal and an attack anywhere else.
INJECTED = ("os.system", "import os", "__import__", "7*7", "raw %")


def hostile_model() -> str:
    """A model whose shared builders carry hostile scope defaults and name strings."""
    scope_a, scope_b, name_a, name_b, jinja = (repr(s) for s in HOSTILE)
    return textwrap.dedent(
        f'''\
        """A model whose strings try to break out of the generated code."""

        import tensorflow.compat.v1 as tf


        def token_embedding(token_ids, vocab, width, scope={scope_a}):
            with tf.variable_scope(scope):
                table = tf.get_variable(
                    {name_a}, [vocab, width], initializer=tf.random_normal_initializer(stddev=0.03)
                )
                return tf.nn.embedding_lookup(table, token_ids)


        def conv_block(x, width, kernel=3, scope={scope_b}):
            """One 1-D convolution over time followed by a ReLU."""
            with tf.variable_scope(scope):
                in_dim = x.shape[-1]
                W = tf.get_variable(
                    "W",
                    [kernel, in_dim, width],
                    initializer=tf.random_normal_initializer(stddev=0.03),
                )
                b = tf.get_variable("b", [width], initializer=tf.zeros_initializer())
                h = tf.nn.conv1d(x, W, stride=1, padding="SAME") + b
                return tf.nn.relu(h)


        def build_model(token_ids, labels):
            h = token_embedding(token_ids, 20000, 64, {name_b})
            h = conv_block(h, 128, 3, {jinja})
            logits = tf.layers.dense(tf.reduce_max(h, axis=1), 3, name="head")
            return logits, labels
        '''
    )


def known_names(root: Path) -> set[str]:
    """Names a generated module may define: the runtime's, and those of the scanned models' code."""
    names = {
        name
        for text in runtime.files().values()
        for name in re.findall(r"^(?:class|def) (\w+)", text, flags=re.M)
    }
    for path in (root / "models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names


# The top-level statements a generated module may hold (a user's string only as a literal).
TOP_LEVEL = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.ClassDef)


def runtime_static_statements() -> dict[str, set[str]]:
    """{runtime file: the dumps of its other top-level statements (`if TYPE_CHECKING:`)}, from
    codegen/runtime's source, which emit copies verbatim: exactly these, nowhere else, pass."""
    return {
        name: {
            ast.dump(node)
            for node in ast.parse(text).body
            if not isinstance(node, (*TOP_LEVEL, ast.Expr))
        }
        for name, text in runtime.files().items()
    }


def assert_no_injection(files: dict[str, bytes], *, known: set[str]) -> None:
    """Compiles, no undefined names, only known top-level statements, hostility only in strings."""
    static = runtime_static_statements()
    for name, data in files.items():
        text = data.decode("utf-8")
        compile(text, name, "exec")
        flakes = io.StringIO()
        pyflakes_api.check(text, name, pyflakes_reporter.Reporter(flakes, flakes))
        assert "undefined name" not in flakes.getvalue(), flakes.getvalue()
        tree = ast.parse(text)
        for index, node in enumerate(tree.body):
            if isinstance(node, ast.Expr):
                docstring = (
                    index == 0
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                )
                setdefault = ast.unparse(node.value).startswith("_os.environ.setdefault(")
                assert docstring or setdefault, (name, ast.unparse(node))
            else:
                runtimes_own = ast.dump(node) in static.get(name, set())
                assert isinstance(node, TOP_LEVEL) or runtimes_own, (name, ast.dump(node)[:200])
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                assert all(isinstance(t, ast.Name) for t in targets), (name, ast.unparse(node))
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if any(fragment in token.string for fragment in INJECTED):
                assert token.type in (tokenize.STRING, tokenize.COMMENT), (name, token)
                if token.type == tokenize.COMMENT:
                    assert (
                        token.string.startswith("# @generated by codegen from")
                        or "\n" not in token.string
                    )
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                assert re.sub(r"_\d+$", "", node.name) in known, (name, node.name)


def test_hostile_strings_reach_generated_code_only_as_string_literals(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Three copies of builders no other model has (stddev 0.03): layers_common copies their code.
    for name in ("aaa_hostile", "aab_hostile", "aac_hostile"):
        (project / "models" / f"{name}.py").write_text(hostile_model(), "utf-8")
    collection = json.dumps("c'); import os; os.system('id'); ('")
    (project / "pyproject.toml").write_text(CONFIG + f"collection = {collection}\n", "utf-8")
    code, _, err = run(project, capsys, "sync")
    assert code == 2 and "CG003" in err and "collection" in err  # not a name the runtime takes
    (project / "pyproject.toml").write_text(CONFIG, "utf-8")
    code, _, err = run(project, capsys, "sync")
    assert code == 1, err
    files = assert_valid_generated(project)
    assert_no_injection(files, known=known_names(project))
    everything = "\n".join(data.decode() for data in files.values())
    assert "os.system('touch /tmp/pwn')" in everything  # the hostile strings did reach the output
    assert not Path("/tmp/pwn").exists()
    assert run(project, capsys, "check")[0] == 0
    code, _, err = run(project, capsys, "emit", "--scope-prefix", "x'); import os; ('")
    assert code == 2 and "scope_prefix" in err  # not a scope name: refused before rendering


@pytest.mark.parametrize(
    "file_name",
    [
        'a"""; __import__("os").system("touch PWN"); """.py',
        'b\nimport os\nos.system("touch PWN")\n.py',
    ],
    ids=["triple_quotes", "newlines"],
)
def test_hostile_model_file_names_cannot_inject_code(
    project: Path, capsys: pytest.CaptureFixture[str], file_name: str
) -> None:
    (project / "models" / file_name).write_text(model_copy("named"), "utf-8")
    code, _, err = run(project, capsys, "emit")
    assert code in (1, 2), err
    files = generated(project)
    if code == 1:
        assert_no_injection(files, known=known_names(project))
    assert not (project / "PWN").exists()
