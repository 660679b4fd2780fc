"""`codegen demo`: the whole job on a copy of the bundled models, ending in a real transfer."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from codegen import names, pipeline, write
from codegen.apply.rewrite import Applied, unroute
from codegen.config import Config
from codegen.emit.render import environment
from codegen.model import Model, Plan
from codegen.pending import pending_changes, write_changes
from codegen.plan.planner import model_edits, pair_depths
from codegen.report import text as report

_TF_NOISE = re.compile(r"^(I0000|E0000|W0000|WARNING: All log messages)|cuda|oneDNN|is deprecated")


def bundled_models() -> Path:
    """The example models shipped next to the package (a source checkout or editable install)."""
    return Path(__file__).resolve().parent.parent / "models"


def _step(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def unrouted_copy(models: Path, project: Path) -> None:
    """Copy `models` to `project`/models as a user has them before `apply`: without shim
    decorators or imports (the demo starts there, and so do the tests of a first sync)."""
    target = project / "models"
    target.mkdir(parents=True)
    for source in sorted(models.rglob("*.py")):  # the Keras family sits in a subfolder
        (target / source.relative_to(models)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / source.relative_to(models))
    config = Config(root=str(project))
    scanned = pipeline.scan(["models"], config, use_cache=False)
    for edit in model_edits(scanned.plan, pipeline.plan_options(config)):
        path = project / edit.path
        result = unroute(path.read_text(encoding="utf-8"), edit)
        if isinstance(result, Applied):
            path.write_text(result.new_source, encoding="utf-8")


def run_demo(*, keep: Path | None = None, models: Path | None = None) -> int:
    """Scan, emit, apply and transfer; prints every report. Exit 0 when the transfer checks out."""
    models = models or bundled_models()
    if not models.is_dir():
        print(f"codegen demo: no models folder at {models}", file=sys.stderr)
        return 2
    project = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="layershare-demo-"))
    if keep and project.exists() and any(project.iterdir()):
        print(f"codegen demo: {project} is not empty", file=sys.stderr)
        return 2
    try:
        return _run(models, project)
    finally:
        if keep is None:
            shutil.rmtree(project, ignore_errors=True)


def _run(models: Path, project: Path) -> int:
    print(f"working on a copy of {models} in {project}")
    unrouted_copy(models, project)
    plan = scan_emit_apply(Config(root=str(project)))
    if plan is None:
        return 2
    return _transfer(plan, project)


def scan_emit_apply(config: Config) -> Plan | None:
    """Steps 1 to 3, printed as the commands print them, written as `sync` writes (one
    transaction for generated/ and the models); the plan, or None when something was refused."""
    _step("1. codegen scan models/")
    outcome = pipeline.build(config, ["models"], use_cache=False)
    print(report.to_text(outcome.plan, outcome.scan.diagnostics), end="")
    changes = pending_changes(outcome, config, force=False)

    _step("2. codegen emit  (generated/layers_common.py + one shim per sharing model)")
    for change in changes.generated:
        print(f"{change.action} {change.path}")

    _step("3. codegen apply  (route each model's shared layers through its shim)")
    print(write.unified_diff(changes.models), end="")
    problems = [d for d in changes.problems if d.severity == "error"]
    if not problems:
        problems = [d for d in write_changes(changes, outcome, config) if d.severity == "error"]
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    return None if problems else outcome.plan


def _transfer(plan: Plan, project: Path) -> int:
    """Step 4: train one model, restore its shared layers into another, in a subprocess; then
    step 5, the same for two Keras 3 models, in a child process of its own."""
    source, target = _best_pair(plan)
    keras_source, keras_target = _best_pair(plan, keras=True)
    if (source is None or target is None) and (keras_source is None or keras_target is None):
        print("no two models share a layer: nothing to transfer")
        return 1
    keras_child = None
    if keras_source is not None and keras_target is not None:
        # Started first, it runs beside the TF1 child (another interpreter, another Keras):
        # the demo takes the longer of the two, not their sum. Its output is shown after.
        script = project / "transfer_demo_keras.py"
        _script(
            script,
            "demo_keras",
            source=keras_source.path,
            target=keras_target.path,
            **_paths(keras_source, keras_target, project),
        )
        env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
        env.update(TF_CPP_MIN_LOG_LEVEL="3")
        keras_child = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    code = 0
    if source is not None and target is not None:
        _step(
            f"4. real transfer: train {source.path}, restore its shared layers into {target.path}"
        )
        script = project / "transfer_demo.py"
        _script(
            script,
            "demo",
            source_build=source.build,
            target_build=target.build,
            source=source.path,
            target=target.path,
            **_paths(source, target, project),
        )
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=project,
            env=env,
            check=False,
            stderr=subprocess.PIPE,
            text=True,
        )
        _echo(result.stderr)
        code = result.returncode
    if keras_child is not None:
        assert keras_source is not None and keras_target is not None
        _step(
            f"5. Keras 3: fit {keras_source.path}, restore its shared layers into "
            f"{keras_target.path}  (a child process of its own, without tf-keras)"
        )
        out, err = keras_child.communicate()
        print(out, end="", flush=True)
        _echo(err)
        code = code or keras_child.returncode
    print("\ndemo " + ("succeeded" if code == 0 else "FAILED"))
    return 0 if code == 0 else 1


def _paths(source: Model, target: Model, project: Path) -> dict[str, str]:
    return {
        "source_path": str(project / source.path),
        "target_path": str(project / target.path),
        "source_shim": names.shim_alias(source.shim or source.name),
        "target_shim": names.shim_alias(target.shim or target.name),
    }


def _script(path: Path, module: str, **arguments: str) -> None:
    """The transfer script: a runtime module's source, then one call of its `main`."""
    path.write_text(
        environment()
        .get_template("demo_transfer.py.jinja")
        .render(
            module=module,
            arguments=[f"{key}={json.dumps(value)}" for key, value in arguments.items()],
        ),
        encoding="utf-8",
    )


def _echo(stderr: str) -> None:
    # TensorFlow's start-up chatter (oneDNN, CUDA probing) is not news; real errors still show.
    echo = False  # a Python warning is followed by the indented source line it points at
    for line in stderr.splitlines():
        if _TF_NOISE.search(line) or (echo and line.startswith(" ")):
            echo = not echo and "is deprecated" in line
            continue
        echo = False
        print(line, file=sys.stderr)


def _best_pair(plan: Plan, *, keras: bool = False) -> tuple[Model | None, Model | None]:
    """(source, target): the two models of one family (TF1, or Keras 3 build functions) sharing
    the most layers, a class model as the target when one shares (the shape real code has
    most), a build function as the source."""
    by_id = {m.id: m for m in plan.models}
    trunks = dict(plan.trunks)
    family = {m.id for m in plan.models if any(t.keras for t in trunks.get(m.id, ()))}
    shapes = ("function",) if keras else ("function", "class")
    routed = {
        m.id for m in plan.models if m.routable and m.kind in shapes and (m.id in family) == keras
    }
    pairs = [(pair, depth) for pair, depth in pair_depths(plan).items() if set(pair) <= routed]

    def rank(item: tuple[tuple[str, str], int]) -> tuple[bool, int, tuple[str, str]]:
        pair, depth = item
        return (not any(by_id[m].kind == "class" for m in pair), -depth, pair)

    if not pairs:
        return None, None
    a, b = sorted(pairs, key=rank)[0][0]
    source, target = sorted((by_id[a], by_id[b]), key=lambda m: (m.kind == "class", m.path))
    return source, target
