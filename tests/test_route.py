"""apply for real model shapes: class roots, model_fns, create_model and inline-layer marks."""

from __future__ import annotations

from dataclasses import replace
from textwrap import dedent

from codegen.apply.rewrite import Applied, Failed, Unchanged, apply_edit, unroute
from codegen.model import LayerMark, ModelEdit, RootRoute


def edit(
    *,
    roots: tuple[RootRoute, ...] = (),
    marks: tuple[LayerMark, ...] = (),
    shared: tuple[str, ...] = (),
    line_length: int = 100,
) -> ModelEdit:
    return ModelEdit(
        path="models/textcnn.py",
        shim_module="generated.textcnn_transfer",
        shim_alias="textcnn_transfer",
        shared_builders=shared,
        common_module="generated.layers_common",
        roots=roots,
        marks=marks,
        line_length=line_length,
    )


def assert_codemod(before: str, after: str, e: ModelEdit, again: ModelEdit | None = None) -> None:
    """`e` turns `before` into `after`; the edit planned from `after` (`again`: its lines moved)
    changes nothing, and un-routing gives back `before` exactly."""
    before, after = dedent(before), dedent(after)
    result = apply_edit(before, e)
    assert result == Applied(after), result.new_source if isinstance(result, Applied) else result
    assert apply_edit(after, again or e) == Unchanged()
    assert unroute(after, e) == Applied(before)


def shifted(e: ModelEdit, lines: int, *, inner: int = 0) -> ModelEdit:
    """The edit a re-scan of the routed text gives: marks `lines` lower (`inner`: first line)."""
    return replace(
        e,
        marks=tuple(
            replace(m, line=m.line + lines + inner, end_line=m.end_line + lines) for m in e.marks
        ),
    )


TEXTCNN = '''\
import tensorflow as tf


class TextCNN(object):
    """A CNN for text classification."""

    def __init__(self, sequence_length, vocab_size, embedding_size):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        # Embedding layer
        with tf.device("/cpu:0"), tf.name_scope("embedding"):
            self.W = tf.Variable(
                tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W"
            )
            self.embedded_chars = tf.nn.embedding_lookup(self.W, self.input_x)
        with tf.name_scope("output"):
            W = tf.get_variable("W", shape=[embedding_size, 2])
'''

TEXTCNN_ROUTED = '''\
import tensorflow as tf
from generated import textcnn_transfer


class TextCNN(object):
    """A CNN for text classification."""

    @textcnn_transfer.model("TextCNN")
    def __init__(self, sequence_length, vocab_size, embedding_size):
        self.input_x = tf.placeholder(tf.int32, [None, sequence_length], name="input_x")
        # Embedding layer
        with tf.device("/cpu:0"), tf.name_scope("embedding"), textcnn_transfer.layer("TextCNN", 0):
            self.W = tf.Variable(
                tf.random_uniform([vocab_size, embedding_size], -1.0, 1.0), name="W"
            )
            self.embedded_chars = tf.nn.embedding_lookup(self.W, self.input_x)
        with tf.name_scope("output"):
            W = tf.get_variable("W", shape=[embedding_size, 2])
'''

ROOT = (RootRoute("TextCNN.__init__", "TextCNN"),)


def test_a_with_that_holds_exactly_the_layer_gets_an_item():
    # The scanner may report the `with` block or only the statements inside it: same edit.
    for line, end in ((10, 14), (11, 14)):
        mark = LayerMark("TextCNN.__init__", line, end, "TextCNN", 0)
        e = edit(roots=ROOT, marks=(mark,))
        assert_codemod(TEXTCNN, TEXTCNN_ROUTED, e, shifted(e, 2))


def test_a_mark_that_would_pass_the_line_length_goes_on_a_continuation_line():
    # With ruff's and black's default of 88 the one-line header would be 100 characters long.
    continued = TEXTCNN_ROUTED.replace(
        ' tf.name_scope("embedding"), textcnn_transfer.layer(',
        ' tf.name_scope("embedding"), \\\n             textcnn_transfer.layer(',
    )
    assert max(len(line) for line in continued.splitlines()) <= 88
    mark = LayerMark("TextCNN.__init__", 10, 14, "TextCNN", 0)
    e = edit(roots=ROOT, marks=(mark,), line_length=88)
    rescanned = LayerMark("TextCNN.__init__", 12, 17, "TextCNN", 0)  # the header is 2 lines
    assert_codemod(TEXTCNN, continued, e, replace(e, marks=(rescanned,)))
    # Re-scanned: the with's span is a line longer, its body a line lower.
    for line, end in ((12, 17), (14, 17)):
        again = LayerMark("TextCNN.__init__", line, end, "TextCNN", 0)
        assert apply_edit(continued, edit(roots=ROOT, marks=(again,), line_length=88)) == (
            Unchanged()
        )
    # Under a wide limit the item stays on the with's own line.
    assert apply_edit(TEXTCNN, edit(roots=ROOT, marks=(mark,), line_length=100)) == Applied(
        TEXTCNN_ROUTED
    )


def test_a_continuation_line_keeps_the_files_crlf_newlines():
    mark = LayerMark("TextCNN.__init__", 10, 14, "TextCNN", 0)
    result = apply_edit(
        TEXTCNN.replace("\n", "\r\n"), edit(roots=ROOT, marks=(mark,), line_length=88)
    )
    assert isinstance(result, Applied)
    assert 'tf.name_scope("embedding"), \\\r\n             textcnn_transfer.layer(' in (
        result.new_source
    )
    assert "\n" not in result.new_source.replace("\r\n", "")


def test_the_routed_file_keeps_its_mark_when_scanned_again():
    # Re-scanned after routing: one line down (the import), the with's span or its body's.
    for line, end in ((12, 16), (13, 16)):
        mark = LayerMark("TextCNN.__init__", line, end, "TextCNN", 0)
        assert apply_edit(TEXTCNN_ROUTED, edit(roots=ROOT, marks=(mark,))) == Unchanged()


def test_a_statement_among_others_is_wrapped_in_a_new_with():
    before = """\
    import tensorflow as tf


    class Discriminator(object):
        def __init__(self, vocab_size, emb_dim):
            with tf.variable_scope("discriminator"):
                self.input_x = tf.placeholder(tf.int32, [None, 20])
                # the embedding, shared with TextCNN
                self.W = tf.Variable(
                    tf.random_uniform([vocab_size, emb_dim], -1.0, 1.0), name="W"
                )  # trailing comment
                self.h = tf.nn.embedding_lookup(self.W, self.input_x)
    """
    after = """\
    import tensorflow as tf
    from generated import textcnn_transfer


    class Discriminator(object):
        @textcnn_transfer.model("Discriminator")
        def __init__(self, vocab_size, emb_dim):
            with tf.variable_scope("discriminator"):
                self.input_x = tf.placeholder(tf.int32, [None, 20])
                # the embedding, shared with TextCNN
                with textcnn_transfer.layer("Discriminator", 0):
                    self.W = tf.Variable(
                        tf.random_uniform([vocab_size, emb_dim], -1.0, 1.0), name="W"
                    )  # trailing comment
                self.h = tf.nn.embedding_lookup(self.W, self.input_x)
    """
    mark = LayerMark("Discriminator.__init__", 9, 11, "Discriminator", 0)
    root = RootRoute("Discriminator.__init__", "Discriminator")
    e = edit(roots=(root,), marks=(mark,))
    assert_codemod(before, after, e, shifted(e, 3))
    # Scanned again: the new with's span, or only the statement inside it.
    for line, end in ((11, 14), (12, 14)):
        again = LayerMark("Discriminator.__init__", line, end, "Discriminator", 0)
        assert apply_edit(dedent(after), edit(roots=(root,), marks=(again,))) == Unchanged()


def test_a_mark_a_formatter_rewrapped_stays_as_it_is():
    before = """\
    from generated import textcnn_transfer


    @textcnn_transfer.model("create_model")
    def create_model(bert_config, is_training, input_ids):
        model = modeling.BertModel(
            config=bert_config,
            is_training=is_training,
        )
        return model.pooled
    """
    # What black or ruff make of the routed file at a short line length, with single quotes.
    formatted = """\
    from generated import textcnn_transfer


    @textcnn_transfer.model('create_model')
    def create_model(bert_config, is_training, input_ids):
        with textcnn_transfer.layer(
            'create_model', 0
        ):
            model = modeling.BertModel(
                config=bert_config,
                is_training=is_training,
            )
        return model.pooled
    """
    root = RootRoute("create_model", "create_model")
    call = LayerMark("create_model", 6, 6, "create_model", 0)  # the call's line, as scanned
    routed = apply_edit(dedent(before), edit(roots=(root,), marks=(call,)))
    assert isinstance(routed, Applied)
    assert '    with textcnn_transfer.layer("create_model", 0):\n' in routed.new_source
    rescanned = LayerMark("create_model", 9, 9, "create_model", 0)
    assert apply_edit(dedent(formatted), edit(roots=(root,), marks=(rescanned,))) == Unchanged()
    # A new position is written into the formatter's with, which keeps its place and its body.
    moved = apply_edit(
        dedent(formatted), edit(roots=(root,), marks=(replace(rescanned, position=1),))
    )
    assert isinstance(moved, Applied)
    assert 'with textcnn_transfer.layer("create_model", 1):\n        model = ' in moved.new_source


def test_a_moved_position_rewrites_the_mark_in_place():
    mark = LayerMark("TextCNN.__init__", 12, 16, "TextCNN", 1)
    result = apply_edit(TEXTCNN_ROUTED, edit(roots=ROOT, marks=(mark,)))
    assert result == Applied(TEXTCNN_ROUTED.replace('layer("TextCNN", 0)', 'layer("TextCNN", 1)'))


def test_a_mark_no_longer_shared_is_taken_out_and_its_with_unwrapped():
    routed = """\
    import tensorflow as tf
    from generated import textcnn_transfer


    @textcnn_transfer.model("create_model")
    def create_model(features, is_training):
        # the backbone
        with textcnn_transfer.layer("create_model", 0):  # routed by codegen
            model = modeling.BertModel(features, is_training)
        with textcnn_transfer.layer("create_model", 1):
            logits = tf.layers.dense(model.pooled, 2)
        return logits
    """
    kept = LayerMark("create_model", 8, 9, "create_model", 0)
    root = RootRoute("create_model", "create_model")
    result = apply_edit(dedent(routed), edit(roots=(root,), marks=(kept,)))
    assert result == Applied(
        dedent("""\
        import tensorflow as tf
        from generated import textcnn_transfer


        @textcnn_transfer.model("create_model")
        def create_model(features, is_training):
            # the backbone
            with textcnn_transfer.layer("create_model", 0):  # routed by codegen
                model = modeling.BertModel(features, is_training)
            logits = tf.layers.dense(model.pooled, 2)
            return logits
        """)
    )
    # Sharing ends: every trace goes; the comment on the with line is kept above the body.
    assert unroute(dedent(routed), edit(roots=(root,), marks=(kept,))) == Applied(
        dedent("""\
        import tensorflow as tf


        def create_model(features, is_training):
            # the backbone
            # routed by codegen
            model = modeling.BertModel(features, is_training)
            logits = tf.layers.dense(model.pooled, 2)
            return logits
        """)
    )


def test_model_fn_nested_in_a_builder_and_create_model_are_both_roots():
    before = """\
    import tensorflow as tf
    import modeling


    def create_model(bert_config, is_training, input_ids, num_labels):
        model = modeling.BertModel(config=bert_config, input_ids=input_ids)
        output_layer = model.get_pooled_output()
        logits = tf.layers.dense(output_layer, num_labels)
        return logits


    def model_fn_builder(bert_config, num_labels):
        def model_fn(features, labels, mode, params):
            logits = create_model(bert_config, True, features["input_ids"], num_labels)
            return logits

        return model_fn
    """
    after = """\
    import tensorflow as tf
    import modeling
    from generated import textcnn_transfer


    @textcnn_transfer.model("create_model")
    def create_model(bert_config, is_training, input_ids, num_labels):
        with textcnn_transfer.layer("create_model", 0):
            model = modeling.BertModel(config=bert_config, input_ids=input_ids)
        output_layer = model.get_pooled_output()
        logits = tf.layers.dense(output_layer, num_labels)
        return logits


    def model_fn_builder(bert_config, num_labels):
        @textcnn_transfer.model("create_model")
        def model_fn(features, labels, mode, params):
            logits = create_model(bert_config, True, features["input_ids"], num_labels)
            return logits

        return model_fn
    """
    e = edit(
        roots=(
            RootRoute("create_model", "create_model"),
            RootRoute("model_fn_builder.model_fn", "create_model"),
        ),
        marks=(LayerMark("create_model", 6, 6, "create_model", 0),),
    )
    assert_codemod(before, after, e, shifted(e, 3, inner=-1))


def test_a_shared_method_is_decorated_where_it_is_defined():
    before = '''\
    import tensorflow as tf


    class TextRNN:
        def __init__(self, vocab_size):
            self.vocab_size = vocab_size
            self.instantiate_weights()
            self.logits = self.inference()

        def instantiate_weights(self):
            """define all weights here"""
            with tf.name_scope("embedding"):
                self.Embedding = tf.get_variable("Embedding", shape=[self.vocab_size, 100])
    '''
    after = '''\
    import tensorflow as tf
    from generated import textcnn_transfer


    class TextRNN:
        @textcnn_transfer.model("TextRNN")
        def __init__(self, vocab_size):
            self.vocab_size = vocab_size
            self.instantiate_weights()
            self.logits = self.inference()

        @textcnn_transfer.shared_layer("TextRNN.instantiate_weights")
        def instantiate_weights(self):
            """define all weights here"""
            with tf.name_scope("embedding"):
                self.Embedding = tf.get_variable("Embedding", shape=[self.vocab_size, 100])
    '''
    e = edit(
        roots=(RootRoute("TextRNN.__init__", "TextRNN"),),
        shared=("TextRNN.instantiate_weights",),
    )
    assert_codemod(before, after, e)


def test_one_line_with_suite_gets_its_item_and_unwraps_back():
    before = """\
    def build(x):
        with tf.variable_scope("emb"): W = tf.get_variable("W")
        return W
    """
    after = """\
    from generated import textcnn_transfer
    def build(x):
        with tf.variable_scope("emb"), textcnn_transfer.layer("build", 0): W = tf.get_variable("W")
        return W
    """
    e = edit(
        roots=(RootRoute("build", "build"),),
        marks=(LayerMark("build", 2, 2, "build", 0),),
    )
    result = apply_edit(dedent(before), e)
    assert isinstance(result, Applied)
    assert result.new_source == dedent(after).replace(
        "def build", '@textcnn_transfer.model("build")\ndef build'
    )
    assert apply_edit(result.new_source, shifted(e, 2)) == Unchanged()
    assert unroute(result.new_source, e) == Applied(dedent(before))


def test_lines_that_no_statement_covers_are_a_diagnostic_and_nothing_changes():
    mark = LayerMark("TextCNN.__init__", 11, 12, "TextCNN", 0)  # half a statement
    result = apply_edit(TEXTCNN, edit(roots=ROOT, marks=(mark,)))
    assert isinstance(result, Failed)
    (d,) = result.diagnostics
    assert d.code == "CG405" and d.line == 11 and "TextCNN" in d.message
    missing = LayerMark("TextCNN.nope", 10, 14, "TextCNN", 0)
    assert isinstance(apply_edit(TEXTCNN, edit(roots=ROOT, marks=(missing,))), Failed)


def test_a_missing_root_is_a_diagnostic():
    result = apply_edit(TEXTCNN, edit(roots=(RootRoute("TextCNN.build", "TextCNN"),)))
    assert isinstance(result, Failed)
    assert result.diagnostics[0].code == "CG402"


def test_marks_of_another_shim_are_left_alone():
    # An alias bound to another package is not one this tool could have written: left alone.
    other = TEXTCNN_ROUTED.replace("textcnn_transfer", "other_transfer").replace(
        "from generated import", "from elsewhere import"
    )
    assert apply_edit(other, edit()) == Unchanged()


def test_marks_of_a_stale_shim_of_ours_are_taken_out():
    # Another shim of the output package (the file was renamed, or its model renamed): un-routed
    # whether or not the plan routes the file (issue 14 case 5).
    other = TEXTCNN_ROUTED.replace("textcnn_transfer", "other_transfer")
    assert apply_edit(other, edit()) == Applied(TEXTCNN)
    mark = LayerMark("TextCNN.__init__", 10, 14, "TextCNN", 0)  # lines of TEXTCNN: shifted by 2
    routed = shifted(edit(roots=ROOT, marks=(mark,)), 2)
    assert apply_edit(other, routed) == Applied(TEXTCNN_ROUTED)


# --- the plan -> edit contract ----------------------------------------------------------------


def test_model_edits_route_every_model_of_a_file_by_its_entries_and_inline_layers():
    from codegen.model import Model, Plan, TrunkLayer
    from codegen.plan.planner import PlanOptions, model_edits

    def model(qualname: str, entries: tuple[str, ...], root: str) -> Model:
        return Model(f"models/bert.py::{qualname}", "models/bert.py", qualname, "bert", (), 9,
                     entries=entries, root=root, shim="bert")  # fmt: skip

    def layer(position: int, *, builder: str | None = None, inline=None) -> TrunkLayer:  # type: ignore[no-untyped-def]
        return TrunkLayer(position, builder, "C1", 0, f"0{position}_k", "x", ("a", "b"),
                          inline=inline)  # fmt: skip

    classifier = model("model_fn_builder.model_fn", ("model_fn_builder.model_fn", "create_model"),
                       "model_fn")  # fmt: skip
    cnn = model("TextCNN", ("TextCNN.__init__",), "TextCNN")
    lonely = model("Lonely", ("Lonely.__init__",), "Lonely")  # shares nothing: not routed
    plan = Plan(
        files=(),
        builders=(),
        clone_classes=(),
        near_misses=(),
        models=(classifier, cnn, lonely),
        trunks=(
            (classifier.id, (layer(0, inline=("create_model", 5, 6)),)),
            (
                cnn.id,
                (layer(0, inline=("TextCNN.__init__", 10, 14)), layer(1, builder="TextCNN.conv")),
            ),
        ),
        nodes=(),
        divergences=(),
        diagnostics=(),
    )
    (e,) = model_edits(plan, PlanOptions())
    assert e.path == "models/bert.py" and e.shim_alias == "bert_transfer"
    assert e.roots == (
        RootRoute("model_fn_builder.model_fn", "model_fn"),
        RootRoute("create_model", "model_fn"),
        RootRoute("TextCNN.__init__", "TextCNN"),
    )
    assert e.marks == (
        LayerMark("create_model", 5, 6, "model_fn", 0),
        LayerMark("TextCNN.__init__", 10, 14, "TextCNN", 0),
    )
    assert e.shared_builders == ("TextCNN.conv",)


def test_a_build_function_and_a_class_of_one_file_share_its_shim(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One model path: a file's build function and its class are two objects of one file shim
    (a build function's shim once held nothing else, and the class was not routed)."""
    import ast

    from codegen.cli import main

    embed = dedent(
        """\
        def embed(ids, vocab, dim, scope="embed"):
            with tf.variable_scope(scope):
                return tf.nn.embedding_lookup(tf.get_variable("W", [vocab, dim]), ids)
        """
    )
    both = (
        "import tensorflow.compat.v1 as tf\n\n\n" + embed + "\n\n"
        "def build_model(ids):\n    return tf.layers.dense(embed(ids, 100, 8), 2)\n\n\n"
        "class Tagger:\n    def __init__(self, ids):\n        h = embed(ids, 100, 8)\n"
        "        self.logits = tf.layers.dense(h, 3)\n"
    )
    other = (
        "import tensorflow.compat.v1 as tf\n\n\n" + embed + "\n\n"
        "def build_model(ids):\n    return tf.layers.dense(embed(ids, 100, 8), 4)\n"
    )
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "both.py").write_text(both)
    (tmp_path / "models" / "other.py").write_text(other)
    monkeypatch.chdir(tmp_path)
    assert main(["sync", "--no-cache"]) == 1
    assert main(["check", "--no-cache"]) == 0
    routed = (tmp_path / "models" / "both.py").read_text()
    for line in (
        "from generated import both_transfer",
        '@both_transfer.shared_layer("embed")',
        '@both_transfer.model("build_model")',
        '    @both_transfer.model("Tagger")',
    ):
        assert line + "\n" in routed
    shim = ast.parse((tmp_path / "generated" / "both_transfer.py").read_text())
    objects = {
        t.id
        for node in shim.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "attr", "") == "ModelTransfer"
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert objects == {"build_model", "Tagger"}
    assert not (tmp_path / "generated" / "both_build_model_transfer.py").exists()
