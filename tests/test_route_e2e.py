"""Transfer for real model shapes, end to end in TF graph mode: classes, shared methods, model_fns.

The fixtures in tests/route_fixtures/models are written the way TF1 NLP repositories build
models (TextCNN, SeqGAN's discriminator, brightmart's TextRNN, BERT's run_classifier/run_squad
over a backbone class in another module). `apply` routes them from the edits below, which stand
for what the plan asks (roots, shared methods, inline-layer marks), and the shims are the ones the
multi-model shim writer makes. Each test trains one model, transfers into another and checks that
exactly the shared layers' variables changed.
"""

from __future__ import annotations

import importlib
import io
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import REPO

from codegen import shims
from codegen.apply import Applied, apply_edit
from codegen.model import LayerMark, ModelEdit, RootRoute

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

FIXTURES = Path(__file__).parent / "route_fixtures" / "models"
VOCAB, EMB, SEQ, CLASSES = 50, 8, 12, 2


def span(text: str, first: str, last: str) -> tuple[int, int]:
    """1-based lines of the first line containing `first` and the next containing `last`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if first in line)
    end = next(i for i in range(start, len(lines)) if last in lines[i])
    return start + 1, end + 1


def edit(path: str, stem: str, **fields: object) -> ModelEdit:
    return ModelEdit(
        path=path,
        shim_module=f"generated.{stem}_transfer",
        shim_alias=f"{stem}_transfer",
        shared_builders=fields.pop("shared", ()),  # type: ignore[arg-type]
        build="",
        common_module="generated.layers_common",
        **fields,  # type: ignore[arg-type]
    )


def plan_for(models: Path) -> tuple[list[ModelEdit], dict[str, shims.FileShim]]:
    """The edits and shims the plan gives for the fixture tree (keys as the trie names them)."""
    text = {p.name: p.read_text() for p in models.glob("*.py")}
    emb = "00_9a1c2e3f"  # TextCNN and Discriminator: the inline embedding block
    weights = "00_41be07d2"  # TextRNN and TextRNNAttention: instantiate_weights
    bert = "00_5d0f6a11"  # run_classifier and run_squad: modeling.BertModel
    edits, files = [], {}

    start, end = span(text["textcnn.py"], 'tf.device("/cpu:0")', "tf.expand_dims")
    edits.append(
        edit(
            "models/textcnn.py",
            "textcnn",
            roots=(RootRoute("TextCNN.__init__", "TextCNN"),),
            marks=(LayerMark("TextCNN.__init__", start, end, "TextCNN", 0),),
        )
    )
    start, end = span(text["discriminator.py"], 'tf.device("/cpu:0")', "tf.expand_dims")
    edits.append(
        edit(
            "models/discriminator.py",
            "discriminator",
            roots=(RootRoute("Discriminator.__init__", "Discriminator"),),
            marks=(LayerMark("Discriminator.__init__", start, end, "Discriminator", 0),),
        )
    )
    for stem, root in (("textrnn", "TextRNN"), ("textrnn_attention", "TextRNNAttention")):
        edits.append(
            edit(
                f"models/{stem}.py",
                stem,
                roots=(RootRoute(f"{root}.__init__", root),),
                shared=(f"{root}.instantiate_weights",),
            )
        )
    for stem in ("run_classifier", "run_squad"):
        start, end = span(text[f"{stem}.py"], "modeling.BertModel(", "modeling.BertModel(")
        edits.append(
            edit(
                f"models/{stem}.py",
                stem,
                roots=(
                    RootRoute("model_fn_builder.model_fn", "model_fn"),
                    RootRoute("create_model", "model_fn"),
                ),
                marks=(LayerMark("create_model", start, end, "model_fn", 0),),
            )
        )

    def one(path: str, root: str, layer: shims.ShimLayer, qualname: str = "") -> shims.FileShim:
        model = shims.ShimModel(f"{path}::{qualname or root}", root, (layer,))
        return shims.FileShim(path, (model,))

    files["textcnn"] = one(
        "models/textcnn.py",
        "TextCNN",
        shims.ShimLayer(0, emb, "embedding: tf.Variable", marked=True, expected=("v0",)),
    )
    files["discriminator"] = one(
        "models/discriminator.py",
        "Discriminator",
        shims.ShimLayer(0, emb, "embedding: tf.Variable", marked=True, expected=("v0",)),
    )
    for stem, root in (("textrnn", "TextRNN"), ("textrnn_attention", "TextRNNAttention")):
        files[stem] = one(
            f"models/{stem}.py",
            root,
            shims.ShimLayer(
                0,
                weights,
                "instantiate_weights",
                builder=f"{root}.instantiate_weights",
                expected=("v0", "v1", "v2"),
            ),
        )
    for stem in ("run_classifier", "run_squad"):
        files[stem] = one(
            f"models/{stem}.py",
            "model_fn",
            shims.ShimLayer(0, bert, "modeling.BertModel", marked=True),  # not known statically
            "model_fn_builder.model_fn",
        )
    return edits, files


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture tree, routed by apply, with its shims and the runtime in generated/."""
    root = tmp_path_factory.mktemp("route_e2e")
    shutil.copytree(FIXTURES, root / "models")
    edits, files = plan_for(root / "models")
    for e in edits:
        path = root / e.path
        result = apply_edit(path.read_text(), e)
        assert isinstance(result, Applied), (e.path, result)
        path.write_text(result.new_source)
    generated = root / "generated"
    generated.mkdir()
    (generated / "__init__.py").write_text("")
    shutil.copy(REPO / "codegen" / "runtime" / "transfer.py", generated / "_runtime.py")
    for stem, shim in files.items():
        (generated / f"{stem}_transfer.py").write_text(shims.render_file_shim(shim))
    for path in [*generated.glob("*_transfer.py"), *(root / "models").glob("*.py")]:
        assert flakes(path) == "", path  # routed models and shims: no undefined names
    saved = {n: m for n, m in sys.modules.items() if n.split(".")[0] in ("generated", "bert")}
    for name in saved:
        del sys.modules[name]
    sys.path[:0] = [str(root), str(root / "models")]
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        sys.path.remove(str(root / "models"))
        for name in [n for n in sys.modules if n.split(".")[0] in ("generated", "bert")]:
            del sys.modules[name]
        sys.modules.update(saved)


def flakes(path: Path) -> str:
    from pyflakes.api import check
    from pyflakes.reporter import Reporter

    out = io.StringIO()
    check(path.read_text(), str(path), Reporter(out, out))
    return out.getvalue()


def load(project: Path, stem: str) -> ModuleType:
    path = project / "models" / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"route_{stem}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def shim(stem: str) -> ModuleType:
    return importlib.import_module(f"generated.{stem}_transfer")


class Graph:
    """One model in its own graph and session, all variables initialised."""

    def __init__(self, build: Callable[[], object], *, seed: int = 1, before_init=None) -> None:  # type: ignore[no-untyped-def]
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(seed)
            self.model = build()
            if before_init is not None:
                before_init(self)
            self.session = v1.Session(graph=self.graph)
            self.session.run(v1.global_variables_initializer())

    def run(self, fetches, feed=None):  # type: ignore[no-untyped-def]
        with self.graph.as_default():
            return self.session.run(fetches, feed)

    def values(self) -> dict[str, np.ndarray]:
        with self.graph.as_default():
            variables = v1.global_variables()
            return dict(
                zip((v.op.name for v in variables), self.session.run(variables), strict=True)
            )


def assert_moved_exactly(
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
    trained: dict[str, np.ndarray],
    moved: dict[str, str],
) -> None:
    """`moved` (destination name -> source name) now hold the trained values; all else is kept."""
    assert after.keys() == before.keys()
    for name, value in after.items():
        if name in moved:
            np.testing.assert_array_equal(value, trained[moved[name]], err_msg=name)
            assert not np.array_equal(value, before[name]), f"{name} did not change"
        else:
            np.testing.assert_array_equal(value, before[name], err_msg=f"{name} changed")


def batch(rng: np.random.Generator, classes: int = CLASSES) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, VOCAB, (4, SEQ)), rng.integers(0, classes, (4,))


def test_class_to_class_inline_embedding_into_an_outer_scope_with_its_own_optimizer(
    project: Path, tmp_path: Path
) -> None:
    textcnn, disc = load(project, "textcnn"), load(project, "discriminator")

    def build_cnn():  # type: ignore[no-untyped-def]
        model = textcnn.TextCNN(SEQ, CLASSES, VOCAB, EMB, [2, 3], 4)
        model.train_op = v1.train.AdamOptimizer(0.05).minimize(model.loss)
        return model

    a = Graph(build_cnn)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = batch(rng)
        a.run(a.model.train_op, {a.model.input_x: x, a.model.input_y: np.eye(CLASSES)[y]})
    path = shim("textcnn").save(a.session, tmp_path / "ckpt" / "textcnn")
    trained = a.values()

    b = Graph(lambda: disc.Discriminator(SEQ, CLASSES, VOCAB, EMB, [2, 3], [4, 4]))
    before = b.values()
    # Its own names, nested in discriminator/, and Adam slots made in __init__: none transfer
    # but the embedding.
    assert "discriminator/embedding/W" in before and "discriminator/embedding/W/Adam" in before
    report = shim("discriminator").restore(b.session, path)
    assert [e.name for e in report.restored] == ["discriminator/embedding/W"]
    assert_moved_exactly(before, b.values(), trained, {"discriminator/embedding/W": "embedding/W"})


def test_class_to_class_through_a_shared_instantiate_weights_method(project: Path) -> None:
    rnn, att = load(project, "textrnn"), load(project, "textrnn_attention")
    args = (CLASSES, 0.05, 4, 100, 0.9, SEQ, VOCAB, EMB, True)
    a = Graph(lambda: rnn.TextRNN(*args))
    rng = np.random.default_rng(1)
    for _ in range(5):
        x, y = batch(rng)
        a.run(a.model.train_op, {a.model.input_x: x, a.model.input_y: y})
    trained = a.values()
    b = Graph(lambda: att.TextRNNAttention(*args))
    before = b.values()
    report = shim("textrnn_attention").copy(a.session, b.session)
    # TF uniquifies op names case-insensitively: under name_scope("embedding") the variable
    # "Embedding" is named Embedding_1 in both graphs; keys do not depend on it.
    moved = {name: name for name in ("Embedding_1", "W_projection", "b_projection")}
    assert sorted(e.name for e in report.restored) == sorted(moved)
    assert_moved_exactly(before, b.values(), trained, moved)
    # The class's shim object is there, named after its root, and lists the same variables.
    assert shim("textrnn_attention").TextRNNAttention.variable_map(b.graph).keys() == {
        e.key for e in report.restored
    }


def classifier_features(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input_ids": rng.integers(0, VOCAB, (4, SEQ)), "label_ids": rng.integers(0, 3, (4,))}


def bert_config(project: Path):  # type: ignore[no-untyped-def]
    return importlib.import_module("bert.modeling").BertConfig(VOCAB, hidden_size=8)


def train_classifier(project: Path, tmp_path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """run_classifier entered through its model_fn, trained 5 steps, saved as a transfer ckpt."""
    classifier = load(project, "run_classifier")
    model_fn = classifier.model_fn_builder(bert_config(project), 3, None, 0.05)
    ids = {}

    def build():  # type: ignore[no-untyped-def]
        ids["input_ids"] = v1.placeholder(tf.int32, [None, SEQ])
        ids["label_ids"] = v1.placeholder(tf.int32, [None])
        return model_fn(dict(ids), None, "train", {})

    a = Graph(build)
    rng = np.random.default_rng(2)
    for _ in range(5):
        feed = classifier_features(rng)
        a.run(a.model["train_op"], {ids[k]: v for k, v in feed.items()})
    return shim("run_classifier").save(a.session, tmp_path / "ckpt" / "cls"), a.values()


def test_create_model_to_create_model_the_imported_backbone_transfers_the_heads_do_not(
    project: Path, tmp_path: Path
) -> None:
    path, trained = train_classifier(project, tmp_path)
    squad = load(project, "run_squad")
    # Entered by calling create_model directly, not through the model_fn.
    b = Graph(
        lambda: squad.create_model(
            bert_config(project), True, v1.placeholder(tf.int32, [None, SEQ])
        )
    )
    before = b.values()
    report = shim("run_squad").restore(b.session, path)
    backbone = {name: name for name in before if name.startswith("bert/")}
    assert len(backbone) > 10 and sorted(e.name for e in report.restored) == sorted(backbone)
    assert {"cls/squad/output_weights", "cls/squad/output_bias"} <= before.keys() - backbone.keys()
    assert "output_weights" in trained and "output_weights" not in before  # the classifier head
    assert_moved_exactly(before, b.values(), trained, backbone)


def test_model_fn_entered_directly_with_init_from_checkpoint(project: Path, tmp_path: Path) -> None:
    path, trained = train_classifier(project, tmp_path)
    squad = load(project, "run_squad")
    model_fn = squad.model_fn_builder(bert_config(project), None, 0.05)

    def build():  # type: ignore[no-untyped-def]
        features = {
            "input_ids": v1.placeholder(tf.int32, [None, SEQ]),
            "start_positions": v1.placeholder(tf.int32, [None]),
            "end_positions": v1.placeholder(tf.int32, [None]),
        }
        return model_fn(features, None, "train", {})

    reports = []
    reference = Graph(build, seed=3).values()  # the same graph, initialised without a transfer
    b = Graph(
        build,
        seed=3,
        before_init=lambda g: reports.append(shim("run_squad").init_from_checkpoint(path)),
    )
    # The backbone's own weights; its Adam slots (made by the model_fn) never transfer.
    backbone = {n: n for n in reference if n.startswith("bert/") and "/Adam" not in n}
    assert sorted(e.name for e in reports[0].restored) == sorted(backbone)
    assert_moved_exactly(reference, b.values(), trained, backbone)


def test_routing_changes_no_variable_name_shape_or_dtype(project: Path) -> None:
    builds = {
        "textcnn": lambda m: m.TextCNN(SEQ, CLASSES, VOCAB, EMB, [2, 3], 4),
        "discriminator": lambda m: m.Discriminator(SEQ, CLASSES, VOCAB, EMB, [2, 3], [4, 4]),
        "textrnn": lambda m: m.TextRNN(CLASSES, 0.05, 4, 100, 0.9, SEQ, VOCAB, EMB, True),
    }
    for stem, build in builds.items():
        layouts = []
        for folder in (FIXTURES, project / "models"):
            spec = importlib.util.spec_from_file_location(f"layout_{stem}", folder / f"{stem}.py")
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            with tf.Graph().as_default():
                build(module)
                layouts.append(
                    [(v.op.name, v.shape.as_list(), v.dtype.name) for v in v1.global_variables()]
                )
        assert layouts[0] == layouts[1], stem
