"""The CLI contract: exit codes, messages, --check/--diff, config and flags, on model copies."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import MODELS, REPO

from codegen import pipeline, progress
from codegen.cli import main

# The routing `codegen apply` adds to a model: its shim import and the decorators.
ROUTING = re.compile(
    r"^[ \t]*(@\w+_transfer\.\w+.*|from generated import \w+_transfer.*)\n", re.MULTILINE
)

# A new model, sorting before every example model, whose author copied sentiment.py's `embed`.
FIRST_MODEL = textwrap.dedent(
    '''\
    """Answer-type classifier; its embedding was copied from the sentiment model."""

    import tensorflow.compat.v1 as tf


    def embed(ids, vocab_size, dim, scope="embed"):
        with tf.variable_scope(scope):
            W = tf.get_variable(
                "W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02)
            )
            return tf.nn.embedding_lookup(W, ids)


    def build_model(token_ids, labels):
        h = embed(token_ids, 20000, 64)
        logits = tf.layers.dense(tf.reduce_max(h, axis=1), 4, name="head")
        return logits, tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    '''
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder: copies of the example models and `[tool.codegen] paths = ["models"]`."""
    (tmp_path / "models").mkdir()
    for model in sorted(MODELS.glob("*.py")):
        shutil.copy2(model, tmp_path / "models" / model.name)
    write_config(tmp_path, 'paths = ["models"]')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(root: Path, *lines: str) -> None:
    (root / "pyproject.toml").write_text("[tool.codegen]\n" + "\n".join(lines) + "\n", "utf-8")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`codegen ARGV` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` but the cache, by relative path: to prove a run wrote nothing."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".codegen_cache" not in p.parts
    }


def unroute(root: Path) -> dict[str, str]:
    """Strip the routing from every model copy; returns the routed originals by relative path."""
    originals = {}
    for path in sorted((root / "models").glob("*.py")):
        text = path.read_text("utf-8")
        if ROUTING.search(text):
            originals[f"models/{path.name}"] = text
            path.write_text(ROUTING.sub("", text), "utf-8")
    assert originals, "the example models are expected to be routed"
    return originals


def synced(capsys: pytest.CaptureFixture[str]) -> None:
    """Bring the project in sync; a second sync must then have nothing to do."""
    assert run(capsys, "sync")[0] == 1
    code, out, _ = run(capsys, "sync")
    assert (code, out) == (0, "everything already up to date.\n")


def edit_literal(path: Path, function: str, old: str, new: str) -> None:
    """Change one literal inside `function`, as a user tweaking a builder would."""
    text = path.read_text("utf-8")
    start = text.index(f"def {function}(")
    at = text.index(old, start)
    assert at < text.index("\ndef ", start + 1), f"{old} is not inside {function}"
    path.write_text(text[:at] + new + text[at + len(old) :], "utf-8")


# --- help and usage errors ------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["sync", "--help"]])
def test_help_documents_the_exit_codes(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codegen", *argv], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "exit codes:" in done.stdout
    lines = done.stdout.splitlines()
    for code, meaning in (("0", "nothing to do"), ("1", "would change"), ("2", "usage")):
        line = next((line for line in lines if line.strip().startswith(code + " ")), "")
        assert meaning in line, f"exit code {code} is not documented in `codegen {' '.join(argv)}`"


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--bogus"],
        ["frobnicate"],
        [],
        ["check", "--jobs", "many"],
        ["scan", "--diff"],
        ["check", "--force"],
    ],
    ids=["unknown-flag", "unknown-command", "no-command", "bad-int", "scan-diff", "check-force"],
)
def test_usage_errors_exit_2_and_write_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    before = tree(project)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "usage:" in err
    assert tree(project) == before


@pytest.mark.parametrize(
    ("line", "key", "code"),
    [
        ("frobnicate = 1", "frobnicate", "CG001"),
        ('paths = "models"', "paths", "CG002"),
        ('jobs = "many"', "jobs", "CG002"),
        ('scope_prefix = "/root"', "scope_prefix", "CG003"),
        ('output = "../outside"', "output", "CG003"),
        # Each of these passed the config check before and broke later (issue 19):
        ('scope_prefix = "team/transfer"', "scope_prefix", "CG003"),  # shims raised on import
        ('output = "gen.v2"', "output", "CG003"),  # `from gen.v2 import ...` cannot import
        ('output = "models"', "output", "CG003"),  # 0 files scanned, runtime files in models/
        ('collection = "my vars"', "collection", "CG003"),  # not a name the runtime takes
        ("max_file_bytes = 9223372036854775807", "max_file_bytes", "CG003"),  # OverflowError
    ],
)
@pytest.mark.parametrize("command", ["check", "sync", "scan"])
def test_a_bad_config_key_exits_2_naming_it(
    project: Path, capsys: pytest.CaptureFixture[str], command: str, line: str, key: str, code: str
) -> None:
    write_config(project, line, *([] if key == "paths" else ['paths = ["models"]']))
    before = tree(project)
    exit_code, _, err = run(capsys, command)
    assert exit_code == 2
    assert f"pyproject.toml:2:0: {code}" in err
    assert key in err
    assert tree(project) == before
    assert not (project / "generated").exists()


def test_invalid_toml_exits_2_with_its_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text('[tool.codegen]\npaths = ["models"\n', "utf-8")
    code, _, err = run(capsys, "check")
    assert code == 2
    assert "pyproject.toml:" in err and "invalid TOML" in err


@pytest.mark.parametrize(
    ("flag", "key"),
    [
        (["--scope-prefix", "/bad"], "scope_prefix"),
        (["--jobs", "-1"], "jobs"),
        (["--output", "/abs"], "output"),
        (["--build-function", "("], "build_function"),
        (["--build-function", "(a+)+$"], "build_function"),  # would hang a commit hook
        (["--jobs", "1000000"], "jobs"),
    ],
)
def test_a_bad_flag_value_exits_2_naming_the_setting(
    project: Path, capsys: pytest.CaptureFixture[str], flag: list[str], key: str
) -> None:
    code, _, err = run(capsys, "sync", *flag)
    assert code == 2
    assert key in err and "command line" in err
    assert not (project / "generated").exists()


def test_check_of_a_path_that_does_not_exist_exits_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "check", "no_such_models")
    assert code == 2
    assert "no_such_models" in err and "no such file" in err


def test_scan_of_a_path_that_does_not_exist_exits_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "scan", "no_such_models")
    assert "no_such_models" in out + err
    assert code == 2


# --- scan -----------------------------------------------------------------------------------


def test_scan_reports_the_shared_builders_and_exits_0(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "scan")
    assert code == 0
    assert "Scanned 7 files (7 ok, 0 with errors)" in out
    assert "models/sentiment.py::conv_block" in out and "models/topic.py::conv_block" in out
    assert not (project / "generated").exists()

    code, out, _ = run(capsys, "scan", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["schema"] == 1
    assert {f["path"]: f["status"] for f in report["files"]} == {
        f"models/{p.name}": "ok" for p in MODELS.glob("*.py")
    }
    conv = next(
        c for c in report["clone_classes"] if "models/sentiment.py::conv_block" in c["members"]
    )
    assert "models/topic.py::conv_block" in conv["members"]
    assert "models/qa.py::conv_block" not in conv["members"]  # the stddev near-miss


def test_scan_exits_1_naming_a_file_it_cannot_parse(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "models/broken.py").write_text("def broken(:\n    pass\n", "utf-8")
    code, out, _ = run(capsys, "scan")
    assert code == 1
    assert "models/broken.py:1:" in out and "syntax error" in out
    assert "models/sentiment.py::conv_block" in out, "one bad file never stops the others"


# --- emit / apply / sync / check ------------------------------------------------------------


def test_check_on_fresh_copies_lists_missing_outputs_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(project)
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "missing: generated/layers_common.py (new file)" in out
    assert "missing: generated/sentiment_transfer.py (new file)" in out
    assert "run `codegen sync`" in out
    assert tree(project) == before


def test_emit_writes_then_has_nothing_to_do(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "emit", "--check")
    assert code == 1
    assert "would create generated/layers_common.py (new file)" in out
    assert not (project / "generated").exists()

    code, out, _ = run(capsys, "emit", "--diff")
    assert code == 1
    assert "--- /dev/null\n+++ b/generated/sentiment_transfer.py\n" in out
    assert not (project / "generated").exists()

    code, out, _ = run(capsys, "emit")
    assert code == 1
    assert "created generated/layers_common.py (new file)" in out
    assert (project / "generated/sentiment_transfer.py").is_file()
    assert run(capsys, "emit") == (0, "everything already up to date.\n", "")
    assert run(capsys, "emit", "--check")[0] == 0


def test_apply_routes_unrouted_models_with_the_smallest_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routed = unroute(project)
    before = tree(project)

    code, out, _ = run(capsys, "apply", "--check")
    assert code == 1
    assert "would update models/sentiment.py (content changed)" in out
    code, out, _ = run(capsys, "apply", "--diff")
    assert code == 1
    assert '+@sentiment_transfer.shared_layer("conv_block")\n' in out
    assert tree(project) == before

    code, out, _ = run(capsys, "apply")
    assert code == 1
    assert "updated models/sentiment.py (content changed)" in out
    for relative, text in routed.items():
        assert (project / relative).read_text("utf-8") == text, f"{relative} routed differently"
    assert not (project / "generated").exists(), "apply writes the models only"
    assert run(capsys, "apply")[0] == 0


def test_sync_then_check_is_clean(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unroute(project)
    code, out, _ = run(capsys, "sync")
    assert code == 1
    assert "created generated/layers_common.py" in out and "updated models/topic.py" in out
    assert run(capsys, "sync") == (0, "everything already up to date.\n", "")
    assert run(capsys, "check") == (0, "generated/ and the models are up to date.\n", "")


def test_check_after_a_builder_edit_names_stale_files_and_the_broken_checkpoints(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys)
    edit_literal(project / "models/sentiment.py", "conv_block", "stddev=0.02", "stddev=0.05")
    before = tree(project)

    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "stale: generated/sentiment_transfer.py (content changed)" in out
    assert "stale: models/sentiment.py" in out
    assert (
        "checkpoint compatibility: models/sentiment.py no longer shares `conv_block` (layer 2) "
        "with models/ner.py, models/review.py, models/slots.py, models/topic.py: transfer "
        "checkpoints of models/ner.py, models/review.py, models/slots.py, models/topic.py will "
        "not restore models/sentiment.py's layer 2"
    ) in out
    assert "file(s) out of date" in out

    code, out, _ = run(capsys, "check", "--diff")
    assert code == 1
    assert "--- a/generated/sentiment_transfer.py\n+++ b/generated/sentiment_transfer.py\n" in out
    assert "-        # layer 2: conv_block, key 01_" in out
    assert tree(project) == before

    assert run(capsys, "sync")[0] == 1
    assert run(capsys, "check")[0] == 0


def test_check_lists_orphaned_outputs_and_sync_deletes_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys)
    (project / "models/topic.py").unlink()
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "orphaned: generated/topic_transfer.py" in out
    assert (project / "generated/topic_transfer.py").exists()
    code, out, _ = run(capsys, "sync")
    assert code == 1
    assert "deleted generated/topic_transfer.py" in out
    assert not (project / "generated/topic_transfer.py").exists()
    assert run(capsys, "check")[0] == 0


def test_a_hand_edited_output_is_refused_unless_forced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys)
    shim = project / "generated/sentiment_transfer.py"
    shim.write_text(shim.read_text("utf-8") + "# my tweak\n", "utf-8")
    edit_literal(project / "models/sentiment.py", "conv_block", "stddev=0.02", "stddev=0.05")
    before = tree(project)

    code, out, err = run(capsys, "check")
    assert code == 1
    assert "generated/sentiment_transfer.py" in out
    assert "--force" in err

    code, _, err = run(capsys, "sync")
    assert code == 2
    assert "generated/sentiment_transfer.py" in err and "--force" in err
    assert "nothing written." in err
    assert tree(project) == before, "all or nothing: the other stale outputs stay too"

    code, out, _ = run(capsys, "sync", "--force")
    assert code == 1
    assert "# my tweak" not in shim.read_text("utf-8")
    assert run(capsys, "check")[0] == 0


def test_no_cache_leaves_no_cache_folder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "--no-cache")[0] == 1
    assert run(capsys, "scan", "--no-cache")[0] == 0
    assert not (project / ".codegen_cache").exists()
    assert run(capsys, "check")[0] == 1
    assert (project / ".codegen_cache").is_dir()


# --- configuration and flags ------------------------------------------------------------------


def test_config_is_used_and_flags_override_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(project, 'paths = ["models"]', 'output = "gen_cfg"', 'scope_prefix = "cfg_scope"')

    code, out, _ = run(capsys, "emit", "--check")
    assert code == 1
    assert "would create gen_cfg/layers_common.py" in out

    code, out, _ = run(capsys, "emit", "--output", "gen_flag", "--scope-prefix", "flag_scope")
    assert code == 1
    assert "created gen_flag/layers_common.py" in out
    assert not (project / "gen_cfg").exists()
    shim = (project / "gen_flag/sentiment_transfer.py").read_text("utf-8")
    assert 'SCOPE_PREFIX = "flag_scope"' in shim and "cfg_scope" not in shim

    assert run(capsys, "emit")[0] == 1
    shim = (project / "gen_cfg/sentiment_transfer.py").read_text("utf-8")
    assert 'SCOPE_PREFIX = "cfg_scope"' in shim


def test_the_nearest_pyproject_is_found_from_a_subfolder(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(project, 'paths = ["models"]', 'exclude = ["topic.py"]')
    monkeypatch.chdir(project / "models")
    code, out, _ = run(capsys, "emit")
    assert code == 1
    assert "created generated/sentiment_transfer.py" in out
    assert (project / "generated/sentiment_transfer.py").is_file()
    assert not (project / "generated/topic_transfer.py").exists(), "exclude comes from the config"
    assert "models/topic.py" not in (project / "generated/sentiment_transfer.py").read_text("utf-8")


def test_path_arguments_override_configured_paths(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(project, 'paths = ["nowhere"]')
    assert run(capsys, "check")[0] == 2
    code, out, _ = run(capsys, "scan", "models/sentiment.py", "models/topic.py")
    assert code == 0
    assert "Scanned 2 files" in out


# --- regressions: each of these was a bug, fixed in 2fad914 -------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_follows_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    show = progress.terminal_progress()
    assert show is not None
    show(60, 60)
    assert "60/60 files" in terminal.getvalue()


def test_a_model_that_does_not_parse_stops_sync_and_is_named_by_check(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys)
    topic = project / "models/topic.py"
    topic.write_text(topic.read_text("utf-8") + "\ndef half_typed(:\n", "utf-8")
    before = tree(project)

    code, out, err = run(capsys, "check")
    assert "models/topic.py:" in out + err and "syntax error" in out + err
    assert "orphaned: generated/topic_transfer.py" not in out
    assert code == 2

    code, _, err = run(capsys, "sync")
    assert (project / "generated/topic_transfer.py").exists(), "a typo must not delete a shim"
    assert tree(project) == before
    assert code == 2


def test_sync_reaches_a_fixed_point_and_canonical_copies_carry_no_routing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys)
    (project / "models/aaa.py").write_text(FIRST_MODEL, "utf-8")
    assert run(capsys, "sync")[0] == 1
    assert (project / "generated/aaa_transfer.py").is_file()
    common = (project / "generated/layers_common.py").read_text("utf-8")
    check_code = run(capsys, "check")[0]
    run(capsys, "sync")
    common_after_second_sync = (project / "generated/layers_common.py").read_text("utf-8")
    for text in (common, common_after_second_sync):
        assert "_transfer" not in "".join(ROUTING.findall(text)), "a shim leaked into layers_common"
    assert check_code == 0, "check must pass right after sync"


# --- the warm check: trivia edits skip planning, everything else re-plans --------------------


def refuse_to_scan(*args: object, **kwargs: object) -> None:
    raise AssertionError("the check re-planned although only comments changed")


def test_check_after_comment_only_edits_is_clean_without_planning(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    synced(capsys)
    ner = project / "models/ner.py"
    text = ner.read_text("utf-8")
    edited = text.replace(
        "    with tf.compat.v1.variable_scope(name):",
        "    # a note inside a builder\n    with tf.compat.v1.variable_scope(name):",
        1,
    )
    ner.write_text(edited + "\n# a note at the end\n", "utf-8")
    monkeypatch.setattr(pipeline, "scan", refuse_to_scan)
    assert run(capsys, "check") == (0, "generated/ and the models are up to date.\n", "")


def test_check_after_a_comment_inside_a_copied_builder_reports_layers_common(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from codegen.config import Config
    from codegen.emit.render import copied_sources

    synced(capsys)
    plan = pipeline.scan(["models"], Config(root=str(project))).plan
    copied = project / copied_sources(plan)[0]
    text = copied.read_text("utf-8")
    copied.write_text(text.replace("    with tf", "    # a note\n    with tf", 1), "utf-8")
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "stale: generated/layers_common.py (content changed)" in out
    copied.write_text(text + "\n# a note after every statement\n", "utf-8")
    assert run(capsys, "check")[0] == 0


def test_check_after_a_removed_decorator_replans_and_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys)
    ner = project / "models/ner.py"
    routed = ner.read_text("utf-8")
    ner.write_text(routed.replace('@ner_transfer.model("build_model")\n', ""), "utf-8")
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "stale: models/ner.py" in out


def test_sync_of_an_in_sync_tree_answers_without_planning(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    synced(capsys)
    (project / "models/qa.py").write_text(
        (project / "models/qa.py").read_text("utf-8") + "\n# reviewed\n", "utf-8"
    )
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "scan", refuse_to_scan)
        assert run(capsys, "sync") == (0, "everything already up to date.\n", "")
    # An interrupted model write must be finished by a real run, never skipped.
    (project / ".codegen-journal").write_text("", "utf-8")
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "scan", refuse_to_scan)
        assert run(capsys, "sync")[0] == 2


def test_scan_json_is_indented_for_a_small_project_and_compact_for_a_large_one(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen.report import text as report

    code, out, _ = run(capsys, "scan", "--json")
    assert code == 0 and out.startswith('{\n  "builders": [')
    monkeypatch.setattr(report, "MAX_MODELS_INDENTED", 1)
    # --no-cache: the stored report of this unchanged tree does not know of the patch.
    code, compact, _ = run(capsys, "scan", "--json", "--no-cache")
    assert code == 0 and compact.count("\n") == 1
    assert json.loads(compact) == json.loads(out)


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        '{"key": 1, "memo": []}',
        '{"key": "x", "memo": {"files": {"a.py": 1}}}',
        '{"key": "x", "memo": {"files": {}, "settings": 0, "tree": [], "copied": {}, "trivia": 3}}',
    ],
)
def test_a_damaged_outputs_memo_only_costs_a_re_plan(
    project: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    synced(capsys)
    (project / ".codegen_cache/outputs.json").write_text(damage, "utf-8")
    (project / ".codegen_cache/rendered.json").write_text(damage, "utf-8")
    assert run(capsys, "check") == (0, "generated/ and the models are up to date.\n", "")
    assert run(capsys, "sync") == (0, "everything already up to date.\n", "")


# --- the typed options and the one build entry point ------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["scan", "--json"], {"command": "scan", "json": True, "check": False, "diff": False}),
        (["emit", "--check", "--force"], {"command": "emit", "check": True, "force": True}),
        (["sync", "--diff", "--no-cache", "--jobs", "3"], {"diff": True, "use_cache": False}),
        (["apply", "models/ner.py"], {"paths": ("models/ner.py",), "jobs": None}),
        (["check"], {"paths": ("models",), "use_cache": True, "force": False}),
    ],
)
def test_the_command_line_becomes_one_typed_options_object(
    project: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: dict[str, object]
) -> None:
    from codegen import commands

    seen: list[commands.Options] = []
    monkeypatch.setattr(commands, "run", lambda options, config: seen.append(options) or 0)
    assert main(argv) == 0
    (options,) = seen
    assert {key: getattr(options, key) for key in expected} == expected
    assert options.dry_run == (options.check or options.diff)
    if "--jobs" in argv:
        assert options.jobs == 3


def test_build_gives_the_committed_outputs_of_the_example_models() -> None:
    from codegen.config import Config

    outcome = pipeline.build(Config(root=str(REPO)), ["models"], use_cache=False)
    assert outcome.diagnostics == ()
    assert outcome.plan is outcome.scan.plan
    folder = REPO / "generated"
    committed = {
        p.relative_to(folder).as_posix(): p.read_text("utf-8") for p in folder.rglob("*.py")
    }
    assert outcome.files == committed
    assert outcome.routed == {}  # the committed models are routed already
    only_models = pipeline.build(
        Config(root=str(REPO)), ["models"], use_cache=False, with_generated=False
    )
    assert only_models.files == {} and only_models.routed == {}


def test_a_reader_that_goes_away_is_not_an_internal_error(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`codegen scan | head`: the closed pipe ends the run as SIGPIPE would, without the
    'internal error, please report it' message."""
    import codegen.commands

    def closed(*args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(codegen.commands, "run", closed)
    code, _, err = run(capsys, "scan")
    assert code == 141 and "internal error" not in err


def test_no_module_or_test_imports_a_private_name_of_codegen() -> None:
    """Modules meet through public names (the demo and the tests once reached for
    `demo._unrouted_copy` and `commands.pending_changes` sat in the wrong module)."""
    import ast

    found = []
    for folder in ("codegen", "tests"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if {"realcode", "realcode_imports", "route_fixtures", "golden"} & set(path.parts):
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("codegen"):
                    found += [
                        f"{path.relative_to(REPO)}: {alias.name}"
                        for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")
                    ]
    assert found == []


def test_a_write_that_cannot_be_finished_nor_undone_says_it_is_journaled(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The advice follows the diagnostic code (CG315), not words in a message."""
    import os

    synced(capsys)
    edit_literal(project / "models/sentiment.py", "conv_block", "stddev=0.02", "stddev=0.05")
    real_replace = os.replace

    def failing_disk(src, dst):  # type: ignore[no-untyped-def]
        if (project / ".codegen-journal").exists():  # it landed; then no rename works, even
            raise OSError(5, "Input/output error", os.fspath(dst))  # rollback's journal
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_disk)
    code, _, err = run(capsys, "sync")
    monkeypatch.undo()
    assert code == 2
    assert "CG315" in err and "the write is journaled; run codegen again to finish it." in err
    assert "nothing written" not in err
    code, out, _ = run(capsys, "sync")  # the next run finishes the journaled write
    assert code in (0, 1) and run(capsys, "check")[0] == 0, out


STYLED_MODEL = textwrap.dedent(
    '''\
    import {library}
    import tensorflow.compat.v1 as tf


    def embed(ids, vocab_size, dim, scope="embed"):
        with tf.variable_scope(scope):
            W = tf.get_variable("W", [vocab_size, dim])
            return tf.nn.embedding_lookup(W, ids)


    def build_model(ids):
        h = embed(ids, 20000, 64)
        h = {library}.stylize(h)
        return tf.layers.dense(tf.reduce_max(h, axis=1), {classes}, name="head")
    '''
)


@pytest.mark.parametrize(
    ("library", "output", "ours"),
    [
        ("style_transfer", "generated", False),  # a library whose name ends like a shim's
        ("generated.layers_common", "generated", True),
        ("generated.layers_common", "gen", False),  # not the configured output: not ours
        ("gen.topic_transfer", "gen", True),
    ],
)
def test_generated_code_is_told_by_the_configured_output_package(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    library: str,
    output: str,
    ours: bool,
) -> None:
    """A call nobody scanned may hide layers (CG230), unless it goes into our own output."""
    (tmp_path / "models").mkdir()
    for name, classes in (("a", 3), ("b", 5)):
        text = STYLED_MODEL.format(library=library, classes=classes)
        (tmp_path / "models" / f"{name}.py").write_text(text, "utf-8")
    write_config(tmp_path, 'paths = ["models"]', f'output = "{output}"', 'cache_dir = ""')
    monkeypatch.chdir(tmp_path)
    _, out, _ = run(capsys, "scan", "--json")
    noted = [
        d["path"]
        for d in json.loads(out)["diagnostics"]
        if d["code"] == "CG230" and f"{library}.stylize" in d["message"]
    ]
    assert noted == ([] if ours else ["models/a.py", "models/b.py"])


def test_the_demo_writes_what_sync_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo is built on the commands' change planning and their one transaction: the copy
    it leaves behind is in sync for `codegen check` (steps 1 to 3; step 4 needs TensorFlow)."""
    from codegen.config import Config
    from codegen.demo import scan_emit_apply, unrouted_copy

    unrouted_copy(MODELS, tmp_path)
    assert scan_emit_apply(Config(root=str(tmp_path), cache_dir="")) is not None
    out = capsys.readouterr().out
    assert "create generated/layers_common.py" in out and "+from generated import" in out
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "check", "--no-cache")[0] == 0
    assert not (tmp_path / "generated" / ".codegen-journal").exists()


def test_no_decision_in_codegen_reads_a_diagnostic_message() -> None:
    """Control flow follows diagnostic codes; messages are for people (and may change)."""
    import ast

    def reads_message(node: ast.AST) -> bool:
        return any(
            isinstance(inner, ast.Attribute) and inner.attr == "message"
            for inner in ast.walk(node)
        )

    found = []
    for path in sorted((REPO / "codegen").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            tests = []
            if isinstance(node, ast.If | ast.IfExp | ast.While | ast.Assert):
                tests = [node.test]
            elif isinstance(node, ast.comprehension):
                tests = list(node.ifs)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("any", "all"):
                tests = list(node.args)
            elif isinstance(node, ast.Compare):
                tests = [node]
            found += [
                f"{path.relative_to(REPO)}:{node.lineno}"  # type: ignore[attr-defined]
                for test in tests
                if reads_message(test)
            ]
    assert found == []
