"""The tool never imports TensorFlow/Keras, and never imports or runs the code it scans."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import MODELS, REPO

HEAVY = ("tensorflow", "keras", "tf_keras")

# Runs `codegen` commands in one fresh interpreter; records every attempt to import HEAVY.
RUNNER = textwrap.dedent(
    """\
    import contextlib, importlib.abc, importlib.util, io, json, sys

    HEAVY = {heavy!r}
    attempts = []

    class Watch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HEAVY:
                attempts.append(name)
            return None  # let the real finders decide; only watch

    sys.meta_path.insert(0, Watch())
    from codegen.cli import main

    codes, outputs = [], []
    for argv in json.loads(sys.argv[1]):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            codes.append(main(argv))
        outputs.append(out.getvalue())
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
    seen = list(attempts)
    importlib.util.find_spec("tensorflow")  # proves the watch is live
    with open(sys.argv[2], "w") as out:
        json.dump(
            {{"codes": codes, "outputs": outputs, "attempts": seen, "loaded": loaded,
              "live": bool(attempts)}},
            out,
        )
    """
).format(heavy=HEAVY)

# Top-level code that would leave a marker, then kill the process, if anything ran it.
TRAP = textwrap.dedent(
    """\
    \"\"\"A model whose import has side effects: the scanner must only read it.\"\"\"

    import os
    import sys

    open({marker!r}, "w").write("imported")
    sys.exit("the scanned module was executed")
    os._exit(3)

    import tensorflow.compat.v1 as tf


    def conv_block(x, width, kernel=3, scope="conv"):
        with tf.variable_scope(scope):
            in_dim = x.shape[-1]
            W = tf.get_variable(
                "W", [kernel, in_dim, width], initializer=tf.random_normal_initializer(stddev=0.02)
            )
            b = tf.get_variable("b", [width], initializer=tf.zeros_initializer())
            h = tf.nn.conv1d(x, W, stride=1, padding="SAME") + b
            return tf.nn.relu(h)


    def embed(ids, vocab_size, dim, scope="embed"):
        with tf.variable_scope(scope):
            W = tf.get_variable(
                "W", [vocab_size, dim], initializer=tf.random_normal_initializer(stddev=0.02)
            )
            return tf.nn.embedding_lookup(W, ids)


    def build_model(token_ids, labels):
        h = embed(token_ids, 20000, 64)
        h = conv_block(h, 128, 3, "conv1")
        logits = tf.layers.dense(tf.reduce_max(h, axis=1), 2, name="head")
        return logits, tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    """
)


def _project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    for model in sorted(MODELS.glob("*.py")):
        shutil.copy2(model, root / "models" / model.name)
    (root / "pyproject.toml").write_text('[tool.codegen]\npaths = ["models"]\n', "utf-8")
    return root


def _run_codegen(project: Path, *commands: list[str]) -> dict:
    """Run the commands in a fresh interpreter in `project`; what it returned and imported."""
    result = project.parent / f"{project.name}-result.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(list(commands)), str(result)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(result.read_text("utf-8"))


def test_help_check_and_the_hook_never_import_tensorflow(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    report = _run_codegen(
        project, ["--help"], ["check"], ["scan"], ["sync"], ["check"], ["check", "--diff"]
    )
    assert report["codes"] == [0, 1, 0, 1, 0, 0]
    assert "exit codes:" in report["outputs"][0]
    assert report["live"], "the import watch saw nothing, even the probe: the test is broken"
    assert report["attempts"] == []
    assert report["loaded"] == []


def test_scanned_code_is_never_imported_or_run(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    marker = tmp_path / "marker.txt"
    trap = project / "models/trap.py"
    trap.write_text(TRAP.format(marker=str(marker)), "utf-8")
    (project / "models/__init__.py").write_text(
        f"open({str(marker)!r}, 'w').write('package imported')\n", "utf-8"
    )

    report = _run_codegen(
        project,
        ["scan", "--no-cache", "--jobs", "2"],  # worker processes too
        ["scan", "--json"],
        ["check"],
        ["emit"],
        ["sync"],
        ["check"],
    )
    assert not marker.exists(), marker.read_text("utf-8")
    assert report["codes"] == [0, 0, 1, 1, 1, 0]
    assert report["attempts"] == [] and report["loaded"] == []

    # The trap was really scanned, planned and routed, all from its text.
    json_report = json.loads(report["outputs"][1])
    assert {"path": "models/trap.py", "status": "ok"} in json_report["files"]
    assert any("models/trap.py::conv_block" in c["members"] for c in json_report["clone_classes"])
    assert (project / "generated/trap_transfer.py").is_file()
    routed = trap.read_text("utf-8")
    assert "from generated import trap_transfer" in routed
    assert 'sys.exit("the scanned module was executed")' in routed and "os._exit(3)" in routed
