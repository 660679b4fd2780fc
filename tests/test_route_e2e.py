"""Transfer for real model shapes, end to end in TF graph mode: classes, shared methods, model_fns.

The fixtures in tests/route_fixtures/models are written the way TF1 NLP repositories build
models (TextCNN, SeqGAN's discriminator, brightmart's TextRNN, BERT's run_classifier/run_squad
over a backbone class in another module). The real `codegen sync` routes them (roots, shared
methods, inline-layer marks) and writes their shims. Each test trains one model, transfers into
another and checks that exactly the shared layers' variables changed.
"""

from __future__ import annotations

import importlib
import io
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

FIXTURES = Path(__file__).parent / "route_fixtures" / "models"
VOCAB, EMB, SEQ, CLASSES = 50, 8, 12, 2


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture tree as users write it, routed by the real `codegen sync` (roots, shared
    methods and inline-layer marks from the plan), its shims and the runtime in generated/."""
    from codegen.cli import main

    root = tmp_path_factory.mktemp("route_e2e")
    shutil.copytree(FIXTURES, root / "models")
    monkey = pytest.MonkeyPatch()
    monkey.chdir(root)
    try:
        assert main(["sync", "--no-cache"]) == 1  # wrote generated/ and routed the models
        assert main(["sync", "--no-cache"]) == 0  # a routed tree plans the same routing again
        assert main(["check", "--no-cache"]) == 0
    finally:
        monkey.undo()
    generated = root / "generated"
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


def routed_lines(project: Path, stem: str) -> list[str]:
    """The lines sync added to a fixture model (its smallest edit), stripped."""
    before = (FIXTURES / f"{stem}.py").read_text().splitlines()
    after = (project / "models" / f"{stem}.py").read_text().splitlines()
    return [line.strip() for line in after if line not in before]


def test_models_a_formatter_rewrote_keep_their_routing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ruff format (single quotes, 70 columns: every mark re-wrapped or re-quoted) changes no
    routing: check passes, and sync leaves the formatted model files as they are."""
    from codegen.cli import main

    tree = tmp_path / "tree"
    shutil.copytree(project / "models", tree / "models")
    shutil.copytree(project / "generated", tree / "generated")
    options = ["--config", "format.quote-style='single'", "--config", "line-length=70"]
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", *options, "--isolated", "models"],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stderr
    models = {path: path.read_bytes() for path in (tree / "models").rglob("*.py")}
    assert any(b"_transfer.layer(\n" in text for text in models.values())  # a re-wrapped mark
    monkeypatch.chdir(tree)
    assert main(["check", "--no-cache"]) == 0
    assert main(["sync", "--no-cache"]) == 0
    assert {path: path.read_bytes() for path in (tree / "models").rglob("*.py")} == models


def test_sync_routes_each_shape_with_the_smallest_edit(project: Path) -> None:
    # A class: its constructor entered, the inline embedding block marked in its own `with`;
    # the mark goes on a continuation line, so the header keeps to the default 88 columns.
    assert routed_lines(project, "textcnn") == [
        "from generated import textcnn_transfer",
        '@textcnn_transfer.model("TextCNN")',
        'with tf.device("/cpu:0"), tf.name_scope("embedding"), \\',
        'textcnn_transfer.layer("TextCNN", 0):',
    ]
    routed = (project / "models" / "textcnn.py").read_text().splitlines()
    assert max(map(len, routed)) <= max(
        88, *map(len, (FIXTURES / "textcnn.py").read_text().splitlines())
    )
    # One tf.Variable in straight-line code: the runtime checks the mark creates exactly one.
    textcnn_shim = (project / "generated" / "textcnn_transfer.py").read_text()
    assert 'position=0,\n            expected=("v0",),' in textcnn_shim
    # A shared method: decorated where it is defined.
    assert routed_lines(project, "textrnn")[-1] == (
        '@textrnn_transfer.shared_layer("TextRNN.instantiate_weights")'
    )
    # A model_fn nested in its builder and the create_model it calls are both entries; the
    # imported backbone is marked where this file calls it, with a new `with` around the call.
    squad = (project / "models" / "run_squad.py").read_text()
    assert squad.count('@run_squad_transfer.model("model_fn_builder.model_fn")\n') == 2
    # The call spans five lines: the new `with` holds the whole statement, re-indented.
    assert (
        '    with run_squad_transfer.layer("model_fn_builder.model_fn", 0):\n'
        "        model = modeling.BertModel(\n"
        "            config=bert_config,\n"
        "            is_training=is_training,\n"
        "            input_ids=input_ids,\n"
        "        )\n"
    ) in squad
    assert len(squad.splitlines()) - len((FIXTURES / "run_squad.py").read_text().splitlines()) == 4
    # The backbone's own module is not touched, and gets no shim.
    bert = FIXTURES / "bert" / "modeling.py"
    assert (project / "models" / "bert" / "modeling.py").read_bytes() == bert.read_bytes()
    assert not (project / "generated" / "modeling_transfer.py").exists()


def test_unrouting_when_sharing_ends_gives_back_the_original_bytes(
    project: Path, tmp_path: Path
) -> None:
    from codegen.cli import main

    root = tmp_path / "tree"
    shutil.copytree(project / "models", root / "models")
    monkey = pytest.MonkeyPatch()
    monkey.chdir(root)
    try:
        assert main(["sync", "--no-cache"]) == 1
        # TextCNN's partners (cnn_variants' embedding blocks are TextCNN's minus expand_dims).
        for partner in ("discriminator.py", "sentence_tagger.py", "cnn_variants.py"):
            (root / "models" / partner).unlink()
        assert main(["check", "--no-cache"]) == 1  # stale routing is reported
        assert main(["sync", "--no-cache"]) == 1
        assert main(["sync", "--no-cache"]) == 0
    finally:
        monkey.undo()
    original = (FIXTURES / "textcnn.py").read_bytes()
    assert (root / "models" / "textcnn.py").read_bytes() == original
    assert not (root / "generated" / "textcnn_transfer.py").exists()


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


def test_a_build_function_gets_the_imported_backbone_marked_at_its_call(
    project: Path, tmp_path: Path
) -> None:
    """A module-level build function that calls a backbone class of another module: routed as the
    other shapes are (its call marked), it receives run_classifier's trained backbone."""
    assert routed_lines(project, "ner_tagger") == [
        "from generated import ner_tagger_transfer",
        '@ner_tagger_transfer.model("build_tagger")',
        'with ner_tagger_transfer.layer("build_tagger", 0):',
        "model = modeling.BertModel(config=bert_config, is_training=is_training, "
        "input_ids=input_ids)",
    ]
    path, trained = train_classifier(project, tmp_path)
    tagger = load(project, "ner_tagger")
    b = Graph(
        lambda: tagger.build_tagger(bert_config(project), v1.placeholder(tf.int32, [None, SEQ]), 5)
    )
    before = b.values()
    report = shim("ner_tagger").restore(b.session, path)
    backbone = {name: name for name in before if name.startswith("bert/")}
    assert len(backbone) > 10 and sorted(e.name for e in report.restored) == sorted(backbone)
    assert any(name.startswith("tagger/") for name in before)  # its head: not shared, kept
    assert_moved_exactly(before, b.values(), trained, backbone)


def test_two_models_in_one_file_share_one_shim_with_an_object_each(project: Path) -> None:
    """The file's shim has one object per root; its module functions act on whichever of the
    file's models each session built."""
    variants = load(project, "cnn_variants")
    module = shim("cnn_variants")
    assert isinstance(module.SmallCNN, type(module.WideCNN))
    a = Graph(lambda: variants.SmallCNN(SEQ, VOCAB, EMB))
    b = Graph(lambda: variants.WideCNN(SEQ, VOCAB, EMB), seed=2)
    trained, before = a.values(), b.values()
    report = module.copy(a.session, b.session)
    assert [e.name for e in report.restored] == ["wide/embedding/W"]
    assert (
        module.SmallCNN.variable_map(a.graph).keys() == module.WideCNN.variable_map(b.graph).keys()
    )
    assert_moved_exactly(before, b.values(), trained, {"wide/embedding/W": "embedding/W"})


def test_a_build_method_model_entered_after_construction(project: Path, tmp_path: Path) -> None:
    """A class whose constructor builds nothing: its `build_graph` method is the entry, and a
    TextCNN transfer checkpoint restores the embedding it builds."""
    assert routed_lines(project, "sentence_tagger")[1] == (
        '@sentence_tagger_transfer.model("SentenceTagger.build_graph")'
    )
    textcnn, tagger = load(project, "textcnn"), load(project, "sentence_tagger")
    a = Graph(lambda: textcnn.TextCNN(SEQ, CLASSES, VOCAB, EMB, [2, 3], 4))
    path = shim("textcnn").save(a.session, tmp_path / "cnn")
    trained = a.values()

    def build():  # type: ignore[no-untyped-def]
        model = tagger.SentenceTagger(num_tags=5)  # builds nothing yet
        model.build_graph(SEQ, VOCAB, EMB)
        return model

    b = Graph(build, seed=2)
    before = b.values()
    report = shim("sentence_tagger").restore(b.session, path)
    assert [e.name for e in report.restored] == ["embedding/W"]
    assert_moved_exactly(before, b.values(), trained, {"embedding/W": "embedding/W"})


# --- a project routed the old way (before one model path) -------------------------------------

OLD_ROUTING = Path(__file__).parent / "golden" / "old_routing"

# Builds each model of a project in its own graph and prints, as JSON, its variables' own names
# and its shim's {key: own name}; saves sentiment's transfer checkpoint to, or restores it into
# topic from, the path given.
_BUILD_EVERY_MODEL = """
import importlib.util, json, sys, warnings
import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
v1.disable_eager_execution()
root, mode, checkpoint = sys.argv[1:4]
sys.path.insert(0, root)
import generated  # noqa: F401

out = {"names": {}, "keys": {}}
for stem in ("intent", "ner", "qa", "review", "sentiment", "slots", "topic"):
    spec = importlib.util.spec_from_file_location(stem, f"{root}/models/{stem}.py")
    module = importlib.util.module_from_spec(spec)
    graph = tf.Graph()
    with graph.as_default(), warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the old aliases warn nothing
        v1.set_random_seed(7)
        spec.loader.exec_module(module)
        ids = v1.placeholder(tf.int32, [None, 8])
        labels = v1.placeholder(tf.int32, None)
        if stem == "review":
            module.ReviewCNN(ids, labels)
        elif stem == "slots":
            module.create_model(ids, 12)
        else:
            module.build_model(ids, labels)
        out["names"][stem] = sorted(v.op.name for v in v1.global_variables())
        shim = sys.modules.get(f"generated.{stem}_transfer")
        if shim is None:
            continue
        out["keys"][stem] = {k: v.op.name for k, v in shim.variable_map(graph).items()}
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            if stem == "sentiment" and mode == "save":
                shim.save(sess, checkpoint)
            if stem == "topic" and mode == "restore":
                report = shim.restore(sess, checkpoint)
                out["restored"] = list(report.keys())
                reader = tf.train.load_checkpoint(checkpoint)
                mapping = shim.variable_map(graph)
                out["equal"] = all(
                    np.array_equal(sess.run(mapping[key]), reader.get_tensor(key))
                    for key in report.keys()
                )
print(json.dumps(out))
"""


def _build_every_model(root: Path, mode: str, checkpoint: Path) -> dict:  # type: ignore[type-arg]
    import json

    script = root / "build_every_model.py"
    script.write_text(_BUILD_EVERY_MODEL, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(root), mode, str(checkpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.tf
def test_sync_moves_an_old_style_project_to_the_new_routing_with_no_name_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """models/ and generated/ as they were at 6b9a451 (`@<shim>.build`, a shim per build
    function re-exporting its builders): after `codegen sync`, every variable and every
    transfer key keeps its name, and a transfer checkpoint the old shims saved restores."""
    from codegen.cli import main

    old = tmp_path / "old"
    shutil.copytree(OLD_ROUTING / "models", old / "models")
    shutil.copytree(OLD_ROUTING / "generated", old / "generated")
    checkpoint = tmp_path / "ckpt" / "sentiment"
    before = _build_every_model(old, "save", checkpoint)

    # The old-style files import, and build the same names, from the new shims (emit only).
    half = tmp_path / "half"
    shutil.copytree(old / "models", half / "models")
    monkeypatch.chdir(half)
    assert main(["emit", "--no-cache"]) == 1
    assert "@sentiment_transfer.build" in (half / "models" / "sentiment.py").read_text()
    assert main(["check", "--no-cache"]) == 1  # the old routing is stale: sync moves it
    deprecated = _build_every_model(half, "none", checkpoint)
    assert deprecated["names"] == before["names"]
    assert deprecated["keys"] == before["keys"]

    monkeypatch.chdir(old)
    assert main(["sync", "--no-cache"]) == 1
    assert main(["check", "--no-cache"]) == 0
    for stem in ("ner", "qa", "sentiment", "topic"):
        text = (old / "models" / f"{stem}.py").read_text()
        assert f'@{stem}_transfer.model("build_model")' in text and ".build\n" not in text
    after = _build_every_model(old, "restore", checkpoint)
    assert after["names"] == before["names"]
    assert after["keys"] == before["keys"]
    assert set(before["keys"]) == {"ner", "qa", "review", "sentiment", "slots", "topic"}
    shared = set(before["keys"]["sentiment"]) & set(before["keys"]["topic"])
    assert len(shared) == 5 and sorted(after["restored"]) == sorted(shared)
    assert after["equal"]
