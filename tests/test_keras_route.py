"""Keras routing: expression marks around layer constructors, entries, un-routing, and the real
CLI end to end with Keras 3 training (subprocesses, without TF_USE_LEGACY_KERAS)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from codegen import pipeline
from codegen.apply.rewrite import Applied, Unchanged, apply_edit, unroute
from codegen.config import Config
from codegen.model import LayerMark, ModelEdit, RootRoute
from codegen.plan.planner import model_edits

REPO = Path(__file__).resolve().parent.parent
KERAS_MODELS = REPO / "models" / "keras_family"
CASE = REPO / "tests" / "keras_route" / "e2e_case.py"
JAX_NO_TF = REPO / "tests" / "keras_route" / "jax_no_tf.py"
SUBCLASSED = REPO / "tests" / "keras_route" / "subclassed_case.py"

BEFORE = textwrap.dedent(
    """\
    import keras
    from keras import layers


    def build_model():
        seq = keras.Sequential(
            [
                layers.Embedding(100, 8),
                layers.Bidirectional(layers.LSTM(4)),
            ]
        )
        inputs = keras.Input((None,), dtype="int32")
        x = layers.Dense(4)(seq(inputs))
        return keras.Model(inputs, x)


    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = layers.Conv1D(8, 3)  # a comment stays
    """
)


def _edit(marks: tuple[LayerMark, ...], roots: tuple[RootRoute, ...] = ()) -> ModelEdit:
    return ModelEdit(
        path="models/k.py",
        shim_module="generated.k_transfer",
        shim_alias="k_transfer",
        shared_builders=(),
        common_module="generated.layers_common",
        roots=roots,
        marks=marks,
    )


MARKS = (
    LayerMark("build_model", 8, 8, "build_model", 0, expression=True, name="Embedding"),
    LayerMark("build_model", 9, 9, "build_model", 1, expression=True, name="Bidirectional"),
    LayerMark("build_model", 13, 13, "build_model", 2, expression=True, name="Dense"),
    LayerMark("Net.__init__", 20, 20, "Net", 0, expression=True, name="Conv1D"),
)


def test_expression_marks_wrap_constructors_and_unroute_to_the_same_bytes() -> None:
    edit = _edit(MARKS, (RootRoute("build_model", "build_model"), RootRoute("Net.__init__", "Net")))
    result = apply_edit(BEFORE, edit)
    assert isinstance(result, Applied), result
    routed = result.new_source
    assert 'k_transfer.layer("build_model", 0, layers.Embedding(100, 8)),' in routed
    assert 'k_transfer.layer("build_model", 1, layers.Bidirectional(layers.LSTM(4))),' in routed
    assert 'x = k_transfer.layer("build_model", 2, layers.Dense(4))(seq(inputs))' in routed
    assert (
        'self.conv = k_transfer.layer("Net", 0, layers.Conv1D(8, 3))  # a comment stays' in routed
    )
    assert '@k_transfer.model("build_model")' in routed and '@k_transfer.model("Net")' in routed
    assert "from generated import k_transfer" in routed
    # Un-routing gives back the original bytes (routing again: test_bundled_keras_files_...).
    back = unroute(routed, edit)
    assert isinstance(back, Applied) and back.new_source == BEFORE


def test_a_mark_that_moves_is_rewritten_not_doubled() -> None:
    routed = apply_edit(BEFORE, _edit(MARKS[:1]))  # adds the import: one line down
    assert isinstance(routed, Applied)
    moved = (LayerMark("build_model", 9, 9, "build_model", 3, expression=True, name="Embedding"),)
    again = apply_edit(routed.new_source, _edit(moved))
    assert isinstance(again, Applied)
    assert again.new_source.count("k_transfer.layer(") == 1
    assert 'k_transfer.layer("build_model", 3, layers.Embedding(100, 8))' in again.new_source


def test_no_constructor_on_the_line_fails_and_names_it() -> None:
    wrong = (LayerMark("build_model", 5, 5, "build_model", 0, expression=True, name="Dense"),)
    result = apply_edit(BEFORE, _edit(wrong))
    assert not isinstance(result, Applied | Unchanged)
    assert "CG405" in str(result)


def test_bundled_keras_files_round_trip(tmp_path: Path) -> None:
    """The committed Keras models: un-routed, then routed from a fresh scan, give their bytes."""
    _unrouted_copy(tmp_path)
    config = Config(root=str(tmp_path))
    scanned = pipeline.scan(["models"], config, use_cache=False)
    routed_files = 0
    for edit in model_edits(scanned.plan, pipeline.plan_options(config)):
        path = tmp_path / edit.path
        plain = path.read_text(encoding="utf-8")
        assert "_transfer" not in plain
        if not edit.marks:
            continue
        routed_files += 1
        assert all(mark.expression for mark in edit.marks)
        again = apply_edit(plain, edit)
        assert isinstance(again, Applied)
        assert again.new_source == (KERAS_MODELS / path.name).read_text(encoding="utf-8")
    assert routed_files >= 4  # seq_cnn, func_cnn, tagger, chunker
    # A Keras model marks its shared library layers where it makes them: no CG220 for them.
    assert not [d for d in scanned.plan.diagnostics if d.code == "CG220"]


def _keras_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    return env


def test_importing_generated_changes_no_keras() -> None:
    code = (
        "import os, generated, generated.seq_cnn_transfer, generated.tagger_transfer, keras; "
        "print(keras.__version__, 'TF_USE_LEGACY_KERAS' in os.environ)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=_keras_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    version, env_set = done.stdout.split()
    assert version.startswith("3.") and env_set == "False"


def test_a_keras_shim_needs_no_tensorflow() -> None:
    """On JAX with TensorFlow unimportable, the committed Keras shim routes, saves, restores."""
    env = {**_keras_env(), "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, str(JAX_NO_TF), str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["jax", "3", "False"]


def _unrouted_copy(target: Path) -> None:
    """models/keras_family as a user has it before `sync`."""
    models = target / "models"
    shutil.copytree(KERAS_MODELS, models)
    config = Config(root=str(target))
    scanned = pipeline.scan(["models"], config, use_cache=False)
    for edit in model_edits(scanned.plan, pipeline.plan_options(config)):
        path = target / edit.path
        result = unroute(path.read_text(encoding="utf-8"), edit)
        if isinstance(result, Applied):
            path.write_text(result.new_source, encoding="utf-8")


def test_cli_sync_then_real_keras_transfer(tmp_path: Path) -> None:
    """scan -> emit -> apply with the real CLI, then fit, save, restore, compare (Keras 3)."""
    project, plain = tmp_path / "project", tmp_path / "plain"
    _unrouted_copy(project)
    shutil.copytree(project / "models", plain / "models")
    assert "_transfer" not in (project / "models" / "seq_cnn.py").read_text(encoding="utf-8")
    cli = {**os.environ, "PYTHONPATH": str(REPO)}
    scan = subprocess.run(
        [sys.executable, "-m", "codegen", "scan", "models", "--json"],
        cwd=project,
        env=cli,
        capture_output=True,
        text=True,
    )
    depths = {(d["a"], d["b"]): d["depth"] for d in json.loads(scan.stdout)["shared_depth"]}
    assert depths[("models/func_cnn.py::build_model", "models/seq_cnn.py::build_model")] >= 2
    for command in ("emit", "apply"):
        done = subprocess.run(
            [sys.executable, "-m", "codegen", command, "--no-cache"],
            cwd=project,
            env=cli,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1, done.stdout + done.stderr  # 1: it wrote something
    check = subprocess.run(
        [sys.executable, "-m", "codegen", "check", "--no-cache"],
        cwd=project,
        env=cli,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ("seq_cnn", "func_cnn", "tagger", "chunker"):
        routed = (project / "models" / f"{name}.py").read_text(encoding="utf-8")
        assert f"{name}_transfer.layer(" in routed
        assert routed == (KERAS_MODELS / f"{name}.py").read_text(encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(CASE), str(project), str(plain)],
        env=_keras_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    checks = json.loads(done.stdout.strip().splitlines()[-1])["checks"]
    assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}


def test_only_tf1_files_that_need_tf_keras_choose_it() -> None:
    """The legacy switch sits in TF1 shims (and layers_common) whose sources call
    tf.compat.v1.layers; never in generated/__init__.py, a Keras shim or the runtime facade."""
    generated = REPO / "generated"
    switch = 'setdefault("TF_USE_LEGACY_KERAS", "1")'
    assert switch in (generated / "sentiment_transfer.py").read_text(encoding="utf-8")
    assert switch in (generated / "layers_common.py").read_text(encoding="utf-8")
    for name in ("__init__.py", "qa_transfer.py", "seq_cnn_transfer.py", "_runtime/__init__.py"):
        assert "TF_USE_LEGACY_KERAS" not in (generated / name).read_text(encoding="utf-8"), name


def test_the_audit_reads_an_expression_mark_as_what_it_wraps() -> None:
    from codegen.apply.audit import without_expression_marks
    from codegen.apply.gather import Shim

    shim = Shim("generated.k_transfer", "k_transfer", "generated.layers_common")
    line = 'x = k_transfer.layer("m", 2, layers.Dense(4, name=")("))(k_transfer.layer("m", 3, f()))'
    assert without_expression_marks(line, (shim,)) == 'x = layers.Dense(4, name=")(")(f())'
    assert (
        without_expression_marks("other.layer('m', 0, f())", (shim,)) == "other.layer('m', 0, f())"
    )


def test_codegen_demo_moves_the_keras_layers_too() -> None:
    """`codegen demo`, as the quickstart runs it: the TF1 transfer, then the Keras 3 one."""
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    keras_step = done.stdout.split("=== 5. Keras 3:")[1]
    restored = re.search(r"restored\s+(\d+)", keras_step)
    assert restored is not None and "mismatched     0" in keras_step
    listed = re.findall(r"^    transfer/\S+/v\d+  \(layer (\d+) ", keras_step, re.M)
    # Every restored key is listed, and the trunk the demo moves spans more than one layer.
    assert int(restored.group(1)) == len(listed) > 0 and len(set(listed)) >= 2
    assert "now equal the trained ones: True" in keras_step
    assert done.stdout.rstrip().endswith("demo succeeded")


def test_keras_models_that_differ_in_a_literal_share_and_route_nothing(tmp_path: Path) -> None:
    """Embedding(20000) vs Embedding(30000): no shared layer, no shim, files untouched."""
    models = tmp_path / "models"
    models.mkdir()
    for name, vocab in (("a", 20000), ("b", 30000)):
        (models / f"{name}.py").write_text(
            textwrap.dedent(
                f"""\
                import keras
                from keras import layers


                def build_model():
                    inputs = keras.Input((16,), dtype="int32")
                    x = layers.Embedding({vocab}, 32)(inputs)
                    x = layers.Conv1D(32, 3)(x)
                    return keras.Model(inputs, layers.Dense(2)(x))
                """
            ),
            encoding="utf-8",
        )
    outcome = pipeline.build(Config(root=str(tmp_path)), ["models"], use_cache=False)
    assert not any(trunk for _, trunk in outcome.plan.trunks)
    assert not [p for p in outcome.files if p.endswith("_transfer.py")]
    assert all(
        outcome.routed.get(f"models/{n}.py", None) in (None, (models / f"{n}.py").read_text())
        for n in "ab"
    )


def test_a_routed_subclassed_model_constructs_and_takes_a_sequential_trunk(tmp_path: Path) -> None:
    """Routing as the plan will ask once subclassed models share (KS): `@model` on `__init__`
    and marks on `self.embed = ...`; apply writes it, emit's Keras shim serves it, and real
    Keras constructs it, keeps its layout and config, and restores seq_cnn's trained layers."""
    from codegen import runtime
    from codegen.emit import shims
    from codegen.emit.jinja import environment

    config = Config(root=str(REPO))
    plan = pipeline.scan(["models"], config, use_cache=False).plan
    keys = [t.key for t in dict(plan.trunks)["models/keras_family/seq_cnn.py::build_model"]]
    project, plain = tmp_path / "project", tmp_path / "plain"
    _unrouted_copy(tmp_path / "unrouted")  # sub_cnn as written, however the scan routes it
    source = (tmp_path / "unrouted" / "models" / "sub_cnn.py").read_text(encoding="utf-8")
    assert "_transfer" not in source
    for root in (project, plain):
        (root / "models").mkdir(parents=True)
        (root / "models" / "sub_cnn.py").write_text(source, encoding="utf-8")
    shutil.copy(KERAS_MODELS / "seq_cnn.py", project / "models" / "seq_cnn.py")
    rows = source.split("\n")
    line = {
        attr: rows.index(next(r for r in rows if f"self.{attr} =" in r)) + 1
        for attr in ("embed", "conv")
    }
    marks = tuple(
        LayerMark(
            "SubCNN.__init__",
            line[attr],
            line[attr],
            "SubCNN",
            position,
            expression=True,
            name=name,
        )
        for position, (attr, name) in enumerate((("embed", "Embedding"), ("conv", "Conv1D")))
    )
    edit = ModelEdit(
        path="models/sub_cnn.py",
        shim_module="generated.sub_cnn_transfer",
        shim_alias="sub_cnn_transfer",
        shared_builders=(),
        common_module="generated.layers_common",
        roots=(RootRoute("SubCNN.__init__", "SubCNN"),),
        marks=marks,
    )
    routed = apply_edit(source, edit)
    assert isinstance(routed, Applied)
    assert 'self.embed = sub_cnn_transfer.layer("SubCNN", 0, layers.Embedding(2000, 32))' in (
        routed.new_source
    )
    assert '    @sub_cnn_transfer.model("SubCNN")\n    def __init__' in routed.new_source
    (project / "models" / "sub_cnn.py").write_text(routed.new_source, encoding="utf-8")
    generated = project / "generated"
    for name, text in runtime.files().items():
        (generated / name).parent.mkdir(parents=True, exist_ok=True)
        (generated / name).write_text(text, encoding="utf-8")
    (generated / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(REPO / "generated" / "seq_cnn_transfer.py", generated / "seq_cnn_transfer.py")
    layers = tuple(
        shims.ShimLayer(position, key, "layer", marked=True) for position, key in enumerate(keys)
    )
    shim = shims.FileShim(
        "models/sub_cnn.py",
        "sub_cnn_transfer",
        (shims.ShimModel("models/sub_cnn.py::SubCNN", "SubCNN", layers),),
        collection="unused",
        scope_prefix="transfer",
        keras=True,
    )
    text = shims.render_file_shim(shim, environment())
    (generated / "sub_cnn_transfer.py").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SUBCLASSED), str(project), str(plain)],
        env=_keras_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    checks = json.loads(done.stdout.strip().splitlines()[-1])["checks"]
    assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}
