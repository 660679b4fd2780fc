"""Users' files are sacred (issue 14): races with edits, recovery, links, one transaction.

Cases 1 and 2 run real `codegen sync` processes and change the tree from this process while they
run (or after SIGKILLing them), at several moments: the write phases (staging, replacing) are
found by watching the tree, so a tree of 12 models hits them as surely as a big one; one more
moment is timed between the reads and the write. `CODEGEN_SACRED_TRIALS=N` runs N moments per
race test (the extra ones spread over the whole run) and `CODEGEN_SACRED_MODELS=M` a bigger tree
(bench/bench_sacred.py; the figures in docs/reliability.md come from that).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codegen.cli import main
from codegen.write import JOURNAL
from tests.conftest import MODELS, REPO, sigkill_when

CONFIG = '[tool.codegen]\npaths = ["models"]\ncache_dir = ""\n'
TRIALS = int(os.environ.get("CODEGEN_SACRED_TRIALS", "0"))
MODELS_IN_RACE = int(os.environ.get("CODEGEN_SACRED_MODELS", "12"))
ROUTING = re.compile(r"^from generated import \w+_transfer\n|^@\w+_transfer\.\w+.*\n", re.M)


def model_text(name: str, *, vocab: int = 20000, marker: str = "") -> str:
    """sentiment.py as its author wrote it (no routing)."""
    text = (MODELS / "sentiment.py").read_text("utf-8")
    text = ROUTING.sub("", text).replace("20000", str(vocab))
    text = text.replace("Binary sentiment", f"{name}: binary sentiment")
    return text + (f"\n\n# {marker}\n" if marker else "")


def corpus(root: Path, count: int, **kwargs: object) -> Path:
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(CONFIG, "utf-8")
    for index in range(count):
        path = root / "models" / f"m{index:03d}.py"
        path.write_text(model_text(f"m{index}", **kwargs), "utf-8")  # type: ignore[arg-type]
    return root


def unrouted(text: str) -> str:
    """The text without the lines apply adds (its import and decorators)."""
    return ROUTING.sub("", text)


def run(root: Path, *argv: str) -> tuple[int, str, str]:
    previous = os.getcwd()
    os.chdir(root)
    try:
        from contextlib import redirect_stderr, redirect_stdout
        from io import StringIO

        out, err = StringIO(), StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(argv))
    finally:
        os.chdir(previous)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


def start(root: Path, script: str | None = None) -> subprocess.Popen[bytes]:
    command = ["-c", script] if script else ["-m", "codegen", "sync"]
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        start_new_session=True,
    )


def save_in_place(path: Path, text: str) -> None:
    path.write_text(text, "utf-8")  # truncate + write: the same inode, as many editors do


def save_by_rename(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text, "utf-8")
    os.replace(temp, path)  # a new inode, as vim/IDEs with "atomic save" do


def staging(root: Path) -> bool:
    """The write has begun: temp files are being staged next to the models."""
    try:
        return any(".codegen-tmp-" in name for name in os.listdir(root / "models"))
    except OSError:
        return False


def writing(root: Path) -> bool:
    """Every file is staged and checked, the journal is written: files are being replaced."""
    return os.path.exists(root / JOURNAL)


def timed_sync(template: Path, scratch: Path) -> tuple[float, float]:
    """How long a sync of `template` takes, and when its write begins (seconds from the start)."""
    shutil.copytree(template, scratch)
    started = time.monotonic()
    process = start(scratch)
    write_starts = wait_until(process, lambda: staging(scratch))[1]
    process.communicate(timeout=120)
    elapsed = time.monotonic() - started
    assert process.returncode == 1
    shutil.rmtree(scratch)
    return elapsed, min(write_starts, elapsed)


def wait_until(
    process: subprocess.Popen[bytes], condition: Callable[[], bool], deadline: float = 60
) -> tuple[str, float]:
    """Poll `condition()` while `process` runs: ("hit" | "finished first" | "deadline", seconds)."""
    started = time.monotonic()
    how = "finished first"
    while process.poll() is None:
        if condition():
            how = "hit"
            break
        if time.monotonic() - started > deadline:
            how = "deadline"
            break
        time.sleep(0.0005)
    return how, time.monotonic() - started


Moment = tuple[str, float | None]  # (label, seconds after the start) or (phase, None)


def moments(phases: tuple[str, ...], timing: tuple[float, float]) -> list[Moment]:
    """When to strike: once after every file is read and before the write begins (the window in
    which issue 14 lost 8 of 10 edits), then at each write phase (`staging`, `writing`), which
    are found by watching the tree, so a small tree hits them as surely as a big one.

    With CODEGEN_SACRED_TRIALS=N, the N - len(phases) timed moments are spread over the whole run.
    """
    duration, write_starts = timing
    timed = max((TRIALS or 1 + len(phases)) - len(phases), 1)
    if TRIALS:
        at = [duration * (0.05 + 0.95 * i / max(timed - 1, 1)) for i in range(timed)]
    else:
        at = [0.6 * write_starts]
    return [(f"t={seconds:.2f}s", seconds) for seconds in at] + [(p, None) for p in phases]


PHASES = {"staging": staging, "writing": writing}


def strike(process: subprocess.Popen[bytes], root: Path, moment: Moment) -> str:
    """Wait for `moment` of the run `process` is doing in `root`; what happened first."""
    label, seconds = moment
    if seconds is not None:
        time.sleep(seconds)
        return "timed"
    return wait_until(process, lambda: PHASES[label](root))[0]


# --- case 1: an edit saved while sync runs ----------------------------------------------------


@pytest.mark.parametrize("save", [save_in_place, save_by_rename], ids=["in_place", "rename"])
def test_an_edit_saved_while_sync_runs_is_never_overwritten(tmp_path: Path, save) -> None:  # type: ignore[no-untyped-def]
    template = corpus(tmp_path / "template", MODELS_IN_RACE)
    timing = timed_sync(template, tmp_path / "timing")
    outcomes = []
    for trial, moment in enumerate(moments(("staging", "writing"), timing)):
        work = tmp_path / f"trial{trial}"
        shutil.copytree(template, work)
        # The last file is written last: at `writing` it is the one most likely still pending.
        index = MODELS_IN_RACE - 1 if moment[0] == "writing" else (trial * 7) % MODELS_IN_RACE
        name = f"m{index:03d}.py"
        target = work / "models" / name
        edited = target.read_text("utf-8") + f"\n\ndef user_edit_{trial}():\n    return {trial}\n"
        process = start(work)
        how = strike(process, work, moment)
        save(target, edited)
        _, err_bytes = process.communicate(timeout=120)
        err = err_bytes.decode()
        assert "Traceback" not in err
        content = target.read_text("utf-8")
        # Never the old content (routed or not) over the new: the user's text is all there.
        assert unrouted(content) == edited, (moment, name, content[-200:])
        if process.returncode == 2:
            assert f"models/{name}:1:0: CG307 " in err and "nothing written" in err, err
            assert not (work / "generated").exists()  # one transaction: generated/ neither
            outcome = "refused"
        else:
            assert process.returncode in (0, 1), err
            if content != edited:
                outcome = "routed the edit"
            elif f"models/{name}:1:0: CG307 " in err:  # renamed in while we wrote the old inode
                assert "your version is kept" in err, err
                outcome = "kept, CG307 warning"
            else:
                outcome = "edit saved after the write"
        outcomes.append((moment[0], how, outcome))
        # Whatever happened, the next sync routes the user's text and check is then clean.
        assert run(work, "sync")[0] in (0, 1)
        assert unrouted((work / "models" / name).read_text("utf-8")) == edited
        assert run(work, "check")[0] == 0
        shutil.rmtree(work)
    print("\nedit while sync runs:", outcomes)


def test_a_save_by_rename_while_staging_is_kept_and_named(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Deterministic companion of the race: the save lands after our fds are open. We write the
    # old inode, the user's new one stays at the path, and the run says so (it used to report
    # nothing: the check ran after the fds were closed).
    from codegen.write import journal

    root = small_project(tmp_path / "p")
    target = root / "models" / "m001.py"
    edited = target.read_text("utf-8") + "\n\ndef mine():\n    return 1\n"
    real, saved = journal._stage, []

    def stage(*args):  # type: ignore[no-untyped-def]
        if not saved:
            saved.append(save_by_rename(target, edited))
        return real(*args)

    monkeypatch.setattr(journal, "_stage", stage)
    code, _, err = run(root, "sync")
    assert code == 1 and target.read_text("utf-8") == edited
    assert "models/m001.py:1:0: CG307 was replaced while codegen wrote it; your version" in err
    monkeypatch.setattr(journal, "_stage", real)
    assert run(root, "sync")[0] == 1
    assert unrouted(target.read_text("utf-8")) == edited
    assert run(root, "check")[0] == 0


def test_a_git_checkout_during_sync_never_writes_the_old_branch(tmp_path: Path) -> None:
    branch_a = corpus(tmp_path / "a", MODELS_IN_RACE)
    branch_b = {
        f"m{index:03d}.py": model_text(f"m{index}", vocab=20001, marker="branch b")
        for index in range(MODELS_IN_RACE)
    }
    timing = timed_sync(branch_a, tmp_path / "timing")
    outcomes = []
    for trial, moment in enumerate(moments(("writing",), timing)):
        work = tmp_path / f"trial{trial}"
        shutil.copytree(branch_a, work)
        process = start(work)
        how = strike(process, work, moment)
        for name, text in branch_b.items():  # what git does: unlink, then write the new file
            (work / "models" / name).unlink()
            (work / "models" / name).write_text(text, "utf-8")
        _, err = process.communicate(timeout=120)
        assert b"Traceback" not in err
        for name, text in branch_b.items():
            content = (work / "models" / name).read_text("utf-8")
            assert unrouted(content) == text, (moment, name)
        outcomes.append((moment[0], how, process.returncode))
        assert run(work, "sync")[0] in (0, 1)
        assert run(work, "check")[0] == 0
        shutil.rmtree(work)
    print("\ncheckout during sync:", outcomes)


# --- case 2: recovery after a crash, then an edit ---------------------------------------------

SLOW_WRITES = (
    "import os, time\n"
    "real_pwrite, real_replace = os.pwrite, os.replace\n"
    "os.pwrite = lambda *a: (time.sleep(0.004), real_pwrite(*a))[1]\n"
    "os.replace = lambda a, b: (time.sleep(0.004), real_replace(a, b))[1]\n"
    "from codegen.cli import main\n"
    "raise SystemExit(main(['sync']))\n"
)


def kill_when(root: Path, condition, deadline: float = 60) -> str:  # type: ignore[no-untyped-def]
    process = start(root, SLOW_WRITES)
    how, _ = sigkill_when(process, condition, deadline)
    process.communicate(timeout=60)
    return how


def test_recovery_after_sigkill_never_overwrites_an_edit_made_since(tmp_path: Path) -> None:
    template = corpus(tmp_path / "template", MODELS_IN_RACE)
    models = lambda root: root / "models"  # noqa: E731

    def half_written(root: Path) -> bool:
        try:
            return writing(root) and "_transfer" in (models(root) / "m000.py").read_text()
        except OSError:
            return False

    points = [("staging", staging), ("journal written", writing), ("half written", half_written)]
    if TRIALS:
        points = [points[index % 3] for index in range(TRIALS)]
    observed = []
    for trial, (label, condition) in enumerate(points):
        work = tmp_path / f"trial{trial}"
        shutil.copytree(template, work)
        how = kill_when(work, lambda work=work, condition=condition: condition(work))
        pending = os.path.exists(work / JOURNAL)
        if pending:
            code, out, err = run(work, "check")  # check says so, and writes nothing
            assert code == 1 and f"{JOURNAL}:1:0: CG310 " in err, (code, out, err)
            assert os.path.exists(work / JOURNAL)
        # The user edits two models after the crash: one already rewritten, one not yet.
        edits = {}
        for name in ("m000.py", f"m{MODELS_IN_RACE - 1:03d}.py"):
            path = models(work) / name
            edits[name] = path.read_text("utf-8") + f"\n\ndef after_crash_{trial}():\n    pass\n"
            save_in_place(path, edits[name])
        code, _, err = run(work, "sync")
        for name, text in edits.items():
            assert unrouted((models(work) / name).read_text("utf-8")) == unrouted(text), (
                label,
                name,
            )
        if pending:
            assert code == 2 and f"models/{name}:1:0: CG307 " in err, (label, err)
        assert not os.path.exists(work / JOURNAL)
        assert run(work, "sync")[0] in (0, 1)
        assert run(work, "check")[0] == 0
        for name, text in edits.items():
            assert unrouted((models(work) / name).read_text("utf-8")) == unrouted(text)
        leftovers = [
            name for name in os.listdir(models(work)) if ".codegen-" in name or ".tmp-" in name
        ]
        assert not leftovers, leftovers
        observed.append((label, how, "journal" if pending else "no journal"))
        shutil.rmtree(work)
    print("\nSIGKILL then edit:", observed)
    assert any(entry[2] == "journal" for entry in observed), observed


# --- case 4: links, metadata, read-only files, advisory locks -----------------------------------


def generated_bytes(root: Path) -> dict[str, bytes]:
    """Every file below generated/ (the runtime is a package there), by relative path."""
    folder = root / "generated"
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def small_project(root: Path) -> Path:
    return corpus(root, 3)


def test_a_symlinked_model_is_written_through_at_its_target(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    real = root / "shared" / "m002_real.py"
    real.parent.mkdir()
    os.replace(root / "models" / "m002.py", real)
    (root / "models" / "m002.py").symlink_to(os.path.relpath(real, root / "models"))
    assert run(root, "sync")[0] == 1
    link = root / "models" / "m002.py"
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert "@m002_transfer.model(" in real.read_text("utf-8")  # the target is what got routed
    assert run(root, "check")[0] == 0


def test_hard_links_owner_mode_and_xattrs_survive_a_rewrite(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    model = root / "models" / "m001.py"
    twin = tmp_path / "twin.py"
    os.link(model, twin)
    os.chmod(model, 0o640)
    try:
        os.setxattr(model, "user.codegen_test", b"kept")
        xattrs = True
    except OSError:
        xattrs = False
    before = os.stat(model)
    assert run(root, "sync")[0] == 1
    after = os.stat(model)
    kept = (after.st_ino, after.st_uid, after.st_gid)
    assert kept == (before.st_ino, before.st_uid, before.st_gid)
    assert stat.S_IMODE(after.st_mode) == 0o640 and after.st_nlink == 2
    assert twin.read_text("utf-8") == model.read_text("utf-8")
    assert "@m001_transfer.model(" in twin.read_text("utf-8")
    if xattrs:
        assert os.getxattr(model, "user.codegen_test") == b"kept"


def test_a_read_only_model_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    model = root / "models" / "m001.py"
    before = model.read_bytes()
    os.chmod(model, 0o444)
    code, _, err = run(root, "sync")
    assert code == 2
    assert "models/m001.py:1:0: CG311 " in err and "chmod u+w" in err
    assert "nothing written." in err
    assert model.read_bytes() == before
    assert not (root / "generated").exists()  # case 10: generated/ is not half-synced either
    assert all("_transfer" not in p.read_text() for p in (root / "models").glob("*.py"))


@pytest.mark.parametrize("kind", ["flock", "lockf"])
def test_a_model_locked_by_another_process_is_refused(tmp_path: Path, kind: str) -> None:
    root = small_project(tmp_path / "p")
    model = root / "models" / "m000.py"
    before = model.read_bytes()
    holder_code = textwrap.dedent(
        f"""
        import fcntl, os, sys
        fd = os.open({str(model)!r}, os.O_RDWR)
        fcntl.{kind}(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        code, _, err = run(root, "sync")
    finally:
        holder.communicate(b"\n", timeout=10)
    assert code == 2 and "models/m000.py:1:0: CG312 " in err, err
    assert model.read_bytes() == before and not (root / "generated").exists()
    assert run(root, "sync")[0] == 1  # released: now it is routed


# --- case 10: one transaction covers generated/ and the models ---------------------------------


def test_a_lock_timeout_writes_nothing_and_says_so(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from codegen.write import lock

    root = small_project(tmp_path / "p")
    before = {p.name: p.read_bytes() for p in (root / "models").glob("*.py")}
    real_acquire = lock.acquire
    monkeypatch.setattr(lock, "acquire", lambda path, timeout: real_acquire(path, 0.2))
    with lock.locked(root):
        code, _, err = run(root, "sync")
    assert code == 2 and "CG305" in err and "nothing written" in err
    assert "previous files kept" not in err
    assert {p.name: p.read_bytes() for p in (root / "models").glob("*.py")} == before
    assert not (root / "generated").exists()


# --- case 3: cache_dir is validated like output, and only a folder of ours is used ------------


@pytest.mark.parametrize("value", [".", "./", "..", "../elsewhere", "/tmp/cg-cache", "generated"])
def test_an_unsafe_cache_dir_is_a_config_error(tmp_path: Path, value: str) -> None:
    root = small_project(tmp_path / "p")
    (root / "pyproject.toml").write_text(CONFIG.replace('""', repr(value).replace("'", '"')))
    code, _, err = run(root, "sync")
    assert code == 2 and "CG003" in err and "cache_dir" in err, err
    assert sorted(os.listdir(root)) == ["models", "pyproject.toml"]  # no .gitignore, no tag


def test_an_existing_folder_we_did_not_create_is_never_used_as_cache(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    (root / "pyproject.toml").write_text(CONFIG.replace('""', '"data"'))
    data = root / "data"
    data.mkdir()
    mine = {
        "pack-0001.bin": b"my packed data",
        ".tmp-0123456789abcdef": b"my temp",
        "outputs.json": b"{}",
        "applied.txt": b"mine",
    }
    for name, content in mine.items():
        (data / name).write_bytes(content)
        os.utime(data / name, (0, 0))  # old enough for any stale-temp sweep
    assert run(root, "sync")[0] == 1
    _, out, err = run(root, "scan")
    assert "CG601" in out + err and "not created by codegen" in out + err, (out, err)
    assert run(root, "check")[0] == 0
    assert {p.name: p.read_bytes() for p in data.iterdir()} == mine  # untouched, nothing added


def test_a_cache_folder_is_created_whole_and_marked_as_ours(tmp_path: Path) -> None:
    from codegen.cache.location import CACHEDIR_TAG, OWNER_MARKER

    root = small_project(tmp_path / "p")
    (root / "pyproject.toml").write_text(CONFIG.replace('""', '"build/cache"'))
    assert run(root, "sync")[0] == 1
    cache = root / "build" / "cache"
    assert (cache / "CACHEDIR.TAG").read_text() == CACHEDIR_TAG
    assert (cache / OWNER_MARKER).is_file() and (cache / ".gitignore").read_text() == "*\n"
    assert any(p.name.startswith("pack-") for p in cache.iterdir())
    assert run(root, "check")[0] == 0
    assert not [p for p in (root / "build").iterdir() if p.name != "cache"]  # no staging left


# --- case 11: path arguments, no cache outside a project, --jobs ------------------------------


def test_path_arguments_resolve_against_the_current_folder(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    code, out, err = run(root / "models", "scan", "m001.py", "--json")
    assert code == 0, err
    assert '"path": "models/m001.py"' in out or '"path":"models/m001.py"' in out


def test_scan_and_check_outside_a_project_leave_no_cache_folder(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    (loose / "models").mkdir(parents=True)
    (loose / "models" / "a.py").write_text(model_text("a"))
    (loose / "models" / "b.py").write_text(model_text("b"))
    for command in ("scan", "check"):
        run(loose, command)
        assert sorted(os.listdir(loose)) == ["models"], command
    (loose / "pyproject.toml").write_text("[project]\nname = 'not-set-up-for-codegen'\n")
    run(loose, "check")
    assert sorted(os.listdir(loose)) == ["models", "pyproject.toml"]


def test_jobs_are_capped_by_files_and_cores() -> None:
    from codegen.parallel import resolve_jobs

    cores = os.cpu_count() or 1
    assert resolve_jobs(100, 5) == min(5, cores)
    assert resolve_jobs(100, 0) == 1
    assert resolve_jobs(1, 1000) == 1
    assert resolve_jobs(0, 3) == 1


# --- case 5: renamed models and stem collisions leave no stale routing ------------------------


def imported_shims(path: Path) -> set[str]:
    return set(re.findall(r"^from generated import (\w+_transfer)$", path.read_text(), re.M))


def assert_every_import_resolves(root: Path) -> None:
    for model in (root / "models").rglob("*.py"):
        text = model.read_text()
        for alias in imported_shims(model):
            assert (root / "generated" / f"{alias}.py").is_file(), (model, alias)
        decorated = set(re.findall(r"^\s*@(\w+_transfer)\.", text, re.M))
        assert decorated <= imported_shims(model), (model, decorated)
        assert len(imported_shims(model)) <= 1, (model, imported_shims(model))


def assert_models_import(root: Path) -> None:
    """Every model file of `root` imports (its shims and their runtime, TensorFlow included)."""
    script = (
        "import importlib.util, pathlib, sys\n"
        "for path in sorted(pathlib.Path('models').rglob('*.py')):\n"
        "    spec = importlib.util.spec_from_file_location(path.stem, path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print('imported')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
    )
    assert result.returncode == 0 and "imported" in result.stdout, result.stderr[-3000:]


def test_a_renamed_routed_model_is_rerouted_and_its_old_shim_goes(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    assert run(root, "sync")[0] == 1
    os.replace(root / "models" / "m002.py", root / "models" / "renamed.py")
    assert run(root, "check")[0] != 0  # stale while the file still routes through m002_transfer
    assert run(root, "sync")[0] == 1
    renamed = root / "models" / "renamed.py"
    assert imported_shims(renamed) == {"renamed_transfer"}
    assert "m002_transfer" not in renamed.read_text()
    assert not (root / "generated" / "m002_transfer.py").exists()
    assert_every_import_resolves(root)
    assert run(root, "check")[0] == 0


def test_a_renamed_model_that_shares_nothing_any_more_is_unrouted(tmp_path: Path) -> None:
    # The plan routes nothing in the renamed file: what it routes decides, not what the plan says.
    root = small_project(tmp_path / "p")
    assert run(root, "sync")[0] == 1
    routed = (root / "models" / "m002.py").read_text()
    (root / "models" / "m002.py").unlink()
    renamed = root / "models" / "renamed.py"
    renamed.write_text(routed.replace("20000", "99"))  # another vocabulary: no layer in common
    code, out, _ = run(root, "check")
    assert code == 1 and "stale: models/renamed.py" in out, out
    shims = sorted(p.name for p in (root / "generated").iterdir())
    # emit alone would delete the shim the file still imports: refused, nothing written.
    code, _, err = run(root, "emit")
    assert code == 2 and "models/renamed.py:4:0: CG314 imports `m002_transfer`" in err, err
    assert sorted(p.name for p in (root / "generated").iterdir()) == shims
    assert run(root, "sync")[0] == 1
    assert renamed.read_text() == unrouted(routed).replace("20000", "99")
    assert "_transfer" not in renamed.read_text()
    assert not (root / "generated" / "m002_transfer.py").exists()
    assert not (root / "generated" / "renamed_transfer.py").exists()
    assert_every_import_resolves(root)
    assert run(root, "check")[0] == 0
    assert_models_import(root)


def test_a_routed_file_that_is_no_longer_a_model_is_unrouted(tmp_path: Path) -> None:
    # No model, so no edit at all for the file: its routing is still taken out.
    root = small_project(tmp_path / "p")
    assert run(root, "sync")[0] == 1
    path = root / "models" / "m002.py"
    routed = path.read_text()
    helpers = routed[: routed.index("@m002_transfer.model(")]  # the builders, no build function
    path.write_text(helpers)
    assert run(root, "check")[0] == 1
    assert run(root, "sync")[0] == 1
    assert path.read_text() == unrouted(helpers)
    assert not (root / "generated" / "m002_transfer.py").exists()
    assert_every_import_resolves(root)
    assert run(root, "check")[0] == 0


def test_a_shim_a_file_still_uses_is_never_deleted_under_it(tmp_path: Path) -> None:
    # A driver script uses the shim's API: the import is not routing, so it stays, and the shim
    # it needs is not deleted when its model stops sharing (CG314, nothing written).
    root = small_project(tmp_path / "p")
    assert run(root, "sync")[0] == 1
    driver = root / "models" / "train.py"
    driver.write_text(
        "from generated import m002_transfer\n\n\ndef warm_start(sess, path):\n"
        "    return m002_transfer.restore(sess, path)\n"
    )
    model = root / "models" / "m002.py"
    model.write_text(model.read_text().replace("20000", "99"))
    before = generated_bytes(root)
    code, _, err = run(root, "sync")
    assert code == 2 and "models/train.py:1:0: CG314 imports `m002_transfer`" in err, err
    assert "nothing written" in err
    assert generated_bytes(root) == before
    assert run(root, "check")[0] != 0
    driver.unlink()
    assert run(root, "sync")[0] == 1
    assert run(root, "check")[0] == 0


@pytest.mark.parametrize("shares", [True, False], ids=["sharing", "sharing-nothing"])
def test_a_second_model_with_the_same_stem_leaves_no_stale_alias(
    tmp_path: Path, shares: bool
) -> None:
    root = small_project(tmp_path / "p")
    assert run(root, "sync")[0] == 1
    (root / "models" / "aaa").mkdir()  # sorts first: it takes the name `m000`
    newcomer = model_text("aaa m0", vocab=20000 if shares else 99)
    (root / "models" / "aaa" / "m000.py").write_text(newcomer)
    assert run(root, "check")[0] != 0
    assert run(root, "sync")[0] == 1
    first = root / "models" / "m000.py"
    assert imported_shims(first) == {"m000_2_transfer"}, first.read_text()[:300]
    assert "m000_transfer" not in first.read_text()
    assert imported_shims(root / "models" / "aaa" / "m000.py") == (
        {"m000_transfer"} if shares else set()
    )
    assert (root / "generated" / "m000_transfer.py").exists() == shares
    assert_every_import_resolves(root)
    assert run(root, "check")[0] == 0


# --- case 6: a narrower scan never deletes what routed models import -------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("--exclude", "models/m001.py"),
        ("models/m000.py", "models/m002.py"),
        ("generated",),
    ],
    ids=["exclude", "path-argument", "sync-generated"],
)
def test_a_narrower_scan_never_breaks_routed_models(tmp_path: Path, argv: tuple[str, ...]) -> None:
    root = small_project(tmp_path / "p")
    assert run(root, "sync")[0] == 1
    before = generated_bytes(root)
    code, _, err = run(root, "check", *argv)
    assert code != 0, err  # check with the same flags reports it
    code, _, err = run(root, "sync", *argv)
    assert code == 2 and "CG313" in err, err
    assert generated_bytes(root) == before
    assert_every_import_resolves(root)
    assert run(root, "check")[0] == 0


# --- case 7: a shared builder named like the shim's API does not shadow it -------------------


@pytest.mark.parametrize("name", ["save", "copy", "restore", "MODEL", "build", "saver"])
def test_a_builder_named_like_the_shim_api_does_not_shadow_it(tmp_path: Path, name: str) -> None:
    import ast

    from codegen.names import SHIM_API

    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "pyproject.toml").write_text(CONFIG + 'build_function = "^make_model$"\n')
    for model in ("a", "b"):
        text = model_text(model).replace("def embed(", f"def {name}(").replace("embed(", f"{name}(")
        text = text.replace("def build_model(", "def make_model(")
        (root / "models" / f"{model}.py").write_text(text)
    assert run(root, "sync")[0] == 1
    shim = (root / "generated" / "a_transfer.py").read_text()
    tree = ast.parse(shim)
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert not defined & SHIM_API, defined & SHIM_API
    assigned = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert {"save", "restore", "copy", "build", "MODEL"} <= assigned
    assert f'@a_transfer.shared_layer("{name}")' in (root / "models" / "a.py").read_text()
    assert run(root, "check")[0] == 0
