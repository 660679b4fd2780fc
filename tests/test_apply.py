"""`codegen apply`: the smallest libcst edit routing a model through its shim, and back."""

from __future__ import annotations

from dataclasses import replace
from textwrap import dedent

import pytest

from codegen.apply import rewrite as apply_module
from codegen.apply.rewrite import Applied, Failed, Unchanged, apply_edit, unroute
from codegen.model import ModelEdit, RootRoute


def make_edit(
    *shared: str,
    build: str | None = None,
    alias: str = "sentiment_transfer",
    module: str = "generated.sentiment_transfer",
) -> ModelEdit:
    if build is None:  # a model that shares nothing is not routed
        build = "build_model" if shared else ""
    return ModelEdit(
        path="models/sentiment.py",
        shim_module=module,
        shim_alias=alias,
        shared_builders=shared,
        common_module="generated.layers_common",
        roots=(RootRoute(build, build),) if build else (),
    )


EDIT = make_edit("embed", "conv_block")


def assert_codemod(before: str, after: str, edit: ModelEdit = EDIT) -> None:
    """The edit turns `before` into exactly `after`, and a second run changes nothing."""
    before, after = dedent(before), dedent(after)
    assert apply_edit(before, edit) == Applied(after)
    assert apply_edit(after, edit) == Unchanged()


def only_diagnostic(result: object) -> tuple[str, int, int, str]:
    assert isinstance(result, Failed), result
    assert len(result.diagnostics) == 1, result.diagnostics
    d = result.diagnostics[0]
    assert d.path == "models/sentiment.py" and d.severity == "error"
    return d.code, d.line, d.column, d.message


# --- the shim import ----------------------------------------------------------------------------


def test_import_goes_after_the_last_import_of_the_block_and_decorators_are_added():
    assert_codemod(
        '''\
        """Sentiment model."""
        from __future__ import annotations

        import os  # keep me
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        import tensorflow.compat.v1 as tf


        def embed(ids):
            return tf.get_variable("W", [3, 4])


        def conv_block(x):
            return x


        def build_model(ids):
            if True:
                import json  # a local import is not part of the import block
            return conv_block(embed(ids))
        ''',
        '''\
        """Sentiment model."""
        from __future__ import annotations

        import os  # keep me
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        import tensorflow.compat.v1 as tf
        from generated import sentiment_transfer


        @sentiment_transfer.shared_layer("embed")
        def embed(ids):
            return tf.get_variable("W", [3, 4])


        @sentiment_transfer.shared_layer("conv_block")
        def conv_block(x):
            return x


        @sentiment_transfer.model("build_model")
        def build_model(ids):
            if True:
                import json  # a local import is not part of the import block
            return conv_block(embed(ids))
        ''',
    )


def test_import_after_docstring_when_there_are_no_imports():
    assert_codemod(
        '''\
        """Doc."""


        def embed(x):
            return x


        def build_model(x):
            return embed(x)
        ''',
        '''\
        """Doc."""

        from generated import sentiment_transfer


        @sentiment_transfer.shared_layer("embed")
        def embed(x):
            return x


        @sentiment_transfer.model("build_model")
        def build_model(x):
            return embed(x)
        ''',
        make_edit("embed"),
    )


def test_import_at_the_top_without_docstring_or_imports_keeps_header_comments():
    assert_codemod(
        """\
        # Copyright header.

        def embed(x):
            return x
        build_model = None
        def build_model(x):
            return embed(x)
        """,
        """\
        # Copyright header.

        from generated import sentiment_transfer
        @sentiment_transfer.shared_layer("embed")
        def embed(x):
            return x
        build_model = None
        @sentiment_transfer.model("build_model")
        def build_model(x):
            return embed(x)
        """,
        make_edit("embed"),
    )


def test_import_as_alias_when_alias_differs_from_module_name():
    assert_codemod(
        """\
        import tensorflow as tf

        def embed(x):
            return x

        def build_model(x):
            return embed(x)
        """,
        """\
        import tensorflow as tf
        import generated.sentiment_transfer as st

        @st.shared_layer("embed")
        def embed(x):
            return x

        @st.model("build_model")
        def build_model(x):
            return embed(x)
        """,
        make_edit("embed", alias="st"),
    )


def test_existing_import_in_either_spelling_is_reused():
    source = dedent(
        """\
        import generated.sentiment_transfer as sentiment_transfer


        @sentiment_transfer.shared_layer("embed")
        def embed(x):
            return x


        @sentiment_transfer.model("build_model")
        def build_model(x):
            return embed(x)
        """
    )
    assert apply_edit(source, make_edit("embed")) == Unchanged()


# --- decorators -----------------------------------------------------------------------------------


def test_formatting_and_comments_elsewhere_are_byte_identical():
    assert_codemod(
        """\
        import tensorflow as tf ;  import numpy as np   # two on a line

        X  =  ( 1 ,
                  2 )   # odd spacing

        # comment above embed
        def   embed( x ,y = 3 ) :   # trailing
            '''Doc with    spaces.'''
            return  x+y  # same


        def build_model( x ):
            return embed( x )   # done
        """,
        """\
        import tensorflow as tf ;  import numpy as np   # two on a line
        from generated import sentiment_transfer

        X  =  ( 1 ,
                  2 )   # odd spacing

        # comment above embed
        @sentiment_transfer.shared_layer("embed")
        def   embed( x ,y = 3 ) :   # trailing
            '''Doc with    spaces.'''
            return  x+y  # same


        @sentiment_transfer.model("build_model")
        def build_model( x ):
            return embed( x )   # done
        """,
        make_edit("embed"),
    )


def test_our_decorator_is_outermost_above_existing_ones():
    assert_codemod(
        """\
        import functools
        import tensorflow as tf

        # embed builds the table
        @functools.lru_cache(maxsize=None)
        # cache comment
        @tf.function
        def embed(x):
            return x

        @other.build
        def build_model(x):
            return embed(x)
        """,
        """\
        import functools
        import tensorflow as tf
        from generated import sentiment_transfer

        # embed builds the table
        @sentiment_transfer.shared_layer("embed")
        @functools.lru_cache(maxsize=None)
        # cache comment
        @tf.function
        def embed(x):
            return x

        @sentiment_transfer.model("build_model")
        @other.build
        def build_model(x):
            return embed(x)
        """,
        make_edit("embed"),
    )


def test_existing_decorator_anywhere_in_the_list_is_left_alone():
    source = dedent(
        """\
        from generated import sentiment_transfer

        @functools.wraps(f)
        @sentiment_transfer.shared_layer('embed')
        def embed(x):
            return x

        @sentiment_transfer.model("build_model")
        def build_model(x):
            return embed(x)
        """
    )
    assert apply_edit(source, make_edit("embed")) == Unchanged()


def test_methods_and_nested_functions_by_qualname():
    assert_codemod(
        """\
        import tensorflow as tf


        class AnswerHead:
            def __init__(self, units):
                self.units = units

            def __call__(self, x):
                return x

            @staticmethod
            def project(x):
                return x


        def build_model(x):
            def encoder(h):
                return h

            class Local:
                def apply(self, h):
                    return h

            return AnswerHead(2)(Local().apply(encoder(x)))
        """,
        """\
        import tensorflow as tf
        from generated import sentiment_transfer


        class AnswerHead:
            def __init__(self, units):
                self.units = units

            @sentiment_transfer.shared_layer("AnswerHead.__call__")
            def __call__(self, x):
                return x

            @staticmethod
            @sentiment_transfer.shared_layer("AnswerHead.project")
            def project(x):
                return x


        @sentiment_transfer.model("build_model")
        def build_model(x):
            @sentiment_transfer.shared_layer("build_model.encoder")
            def encoder(h):
                return h

            class Local:
                @sentiment_transfer.shared_layer("build_model.Local.apply")
                def apply(self, h):
                    return h

            return AnswerHead(2)(Local().apply(encoder(x)))
        """,
        make_edit(
            "AnswerHead.__call__",
            "AnswerHead.project",
            "build_model.encoder",
            "build_model.Local.apply",
        ),
    )


def test_stale_decorators_are_removed_when_the_plan_drops_a_builder():
    assert_codemod(
        """\
        from generated import sentiment_transfer


        @sentiment_transfer.shared_layer("embed")
        def embed(x):
            return x


        # conv keeps its comment
        @sentiment_transfer.shared_layer("conv_block")
        # between decorators
        @tf.function
        def conv_block(x):
            return x


        @sentiment_transfer.shared_layer("old_name")
        def renamed(x):
            return x


        @sentiment_transfer.model("old_build")
        def old_build(x):
            return x


        @sentiment_transfer.model("build_model")
        @sentiment_transfer.build
        def build_model(x):
            return renamed(conv_block(embed(x)))
        """,
        """\
        from generated import sentiment_transfer


        @sentiment_transfer.shared_layer("embed")
        def embed(x):
            return x


        # conv keeps its comment
        # between decorators
        @tf.function
        def conv_block(x):
            return x


        @sentiment_transfer.shared_layer("renamed")
        def renamed(x):
            return x


        def old_build(x):
            return x


        @sentiment_transfer.model("build_model")
        def build_model(x):
            return renamed(conv_block(embed(x)))
        """,
        make_edit("embed", "renamed"),
    )


# --- imports from layers_common -----------------------------------------------------------------


def test_common_imports_stay_where_they_are():
    """Shims re-export no builder: a builder imported from layers_common stays imported from
    there (its calls are marked where the model makes them)."""
    assert_codemod(
        """\
        import tensorflow as tf
        from generated.layers_common import embed, dense as d, conv_block as cb
        from generated.layers_common import (
            helper,
            other,  # why
        )


        def build_model(x):
            return cb(d(embed(x)))
        """,
        """\
        import tensorflow as tf
        from generated.layers_common import embed, dense as d, conv_block as cb
        from generated.layers_common import (
            helper,
            other,  # why
        )
        from generated import sentiment_transfer


        @sentiment_transfer.model("build_model")
        def build_model(x):
            return cb(d(embed(x)))
        """,
        make_edit(build="build_model"),
    )


def test_builders_imported_from_the_shim_go_back_to_layers_common_keeping_aliases():
    """A file routed when shims re-exported builders: each moves back to layers_common, split
    off on its own line with its alias and comment; the shim's own API stays imported."""
    assert_codemod(
        """\
        from generated.layers_common import dense
        from generated.sentiment_transfer import embed, TransferError, conv_block as cb
        from generated.sentiment_transfer import (
            helper,  # why
        )
        from generated import sentiment_transfer


        @sentiment_transfer.build
        def build_model(x):
            return cb(dense(embed(x)))
        """,
        """\
        from generated.layers_common import dense
        from generated.sentiment_transfer import TransferError
        from generated.layers_common import embed, conv_block as cb
        from generated.layers_common import (
            helper,  # why
        )
        from generated import sentiment_transfer


        @sentiment_transfer.model("build_model")
        def build_model(x):
            return cb(dense(embed(x)))
        """,
        make_edit(build="build_model"),
    )


def test_unrelated_relative_and_star_imports_are_untouched():
    source = dedent(
        """\
        from generated import sentiment_transfer
        from .layers_common import embed
        from generated.layers_common import *
        from other.layers_common import dense


        @sentiment_transfer.shared_layer("conv")
        def conv(x):
            return x


        @sentiment_transfer.model("build_model")
        def build_model(x):
            return conv(dense(embed(x)))
        """
    )
    assert apply_edit(source, make_edit("conv")) == Unchanged()


# --- unroute --------------------------------------------------------------------------------------

ROUTED = '''\
"""Doc."""

from generated import sentiment_transfer


@sentiment_transfer.shared_layer("embed")
@tf.function
def embed(x):
    return x


@sentiment_transfer.model("build_model")
def build_model(x):
    return embed(x)
'''


def test_unroute_removes_import_and_decorators():
    after = '''\
"""Doc."""


@tf.function
def embed(x):
    return x


def build_model(x):
    return embed(x)
'''
    assert apply_edit(ROUTED, make_edit()) == Applied(after)
    assert unroute(ROUTED, EDIT) == Applied(after)
    assert unroute(after, EDIT) == Unchanged()


@pytest.mark.parametrize(
    "original",
    [
        """\
        import tensorflow as tf
        from generated.layers_common import dense as d  # not shared
        from generated.layers_common import (conv_block as
            cb)  # shared


        class Head:
            @property
            def size(self):
                return 1

            def apply(self, x):
                return x


        def build_model(x):
            def inner(h):
                return h

            return Head().apply(inner(cb(d(x))))
        """,
        '''\
        """Only a docstring."""


        def build_model(x):
            return x
        ''',
    ],
)
def test_unroute_of_apply_gives_back_the_original(original):
    original = dedent(original)
    edit = make_edit("Head.apply", "build_model.inner", "Head.size")
    routed = apply_edit(original, edit if "Head" in original else make_edit("build_model"))
    assert isinstance(routed, Applied) and routed.new_source != original
    assert unroute(routed.new_source, edit) == Applied(original)


def test_builders_imported_from_the_shim_move_back_to_layers_common():
    """Shims re-export no builder: a file routed when they did (`from <shim> import b as c`)
    imports it from layers_common again, on its own line; the shim's own API stays."""
    old = (
        "from generated.layers_common import a  # tail\n"
        "from generated.sentiment_transfer import b as c, TransferError\n"
        "from generated import sentiment_transfer\n\n\n"
        "@sentiment_transfer.build\ndef build_model():\n    pass\n"
    )
    assert apply_edit(old, make_edit(build="build_model")) == Applied(
        "from generated.layers_common import a  # tail\n"
        "from generated.sentiment_transfer import TransferError\n"
        "from generated.layers_common import b as c\n"
        "from generated import sentiment_transfer\n\n\n"
        '@sentiment_transfer.model("build_model")\ndef build_model():\n    pass\n'
    )
    assert unroute(old, EDIT) == Applied(
        "from generated.layers_common import a  # tail\n"
        "from generated.sentiment_transfer import TransferError\n"
        "from generated.layers_common import b as c\n\n\n"
        "def build_model():\n    pass\n"
    )


def test_unroute_keeps_import_that_other_code_still_uses_and_comments_above_it():
    source = dedent(
        """\
        import os
        # the shim
        from generated import sentiment_transfer, layers_common
        import generated.sentiment_transfer as sentiment_transfer


        @sentiment_transfer.model("build_model")
        def build_model(x):
            return x


        def train(sess):
            sentiment_transfer.restore(sess, "ckpt")
        """
    )
    result = unroute(source, EDIT)
    assert result == Applied(source.replace('@sentiment_transfer.model("build_model")\n', ""))


def test_unroute_drops_the_import_keeping_other_names_and_comments():
    source = dedent(
        """\
        import os
        # the shim
        from generated import sentiment_transfer, layers_common
        import generated.sentiment_transfer as sentiment_transfer
        import numpy as np; from generated import sentiment_transfer
        def f():
            from generated import sentiment_transfer
        """
    )
    assert unroute(source, EDIT) == Applied(
        dedent(
            """\
            import os
            # the shim
            from generated import layers_common
            import numpy as np
            def f():
                pass
            """
        )
    )


# --- failures -------------------------------------------------------------------------------------


def test_missing_qualname_fails():
    source = "class Head:\n    pass\n\n\ndef build_model(x):\n    return x\n"
    result = apply_edit(source, make_edit("embed", "Head"))
    assert isinstance(result, Failed)
    messages = sorted(d.message for d in result.diagnostics)
    assert {d.code for d in result.diagnostics} == {"CG402"}
    assert "`Head` is a class" in messages[0]
    assert "`embed` is not defined" in messages[1]
    code, _, _, message = only_diagnostic(apply_edit(source, make_edit("build_model", build="b")))
    assert (code, message.split()[0]) == ("CG402", "`b`")


@pytest.mark.parametrize(
    ("source", "qualname", "line", "column"),
    [
        ("import os\nsentiment_transfer = 3\ndef embed(x):\n    pass\n", "embed", 2, 0),
        ("from other import sentiment_transfer\ndef embed(x):\n    pass\n", "embed", 1, 0),
        (
            "class Head:\n    sentiment_transfer = None\n    def embed(self):\n        pass\n",
            "Head.embed",
            2,
            4,
        ),
        (
            "def outer(sentiment_transfer):\n    def embed(x):\n        pass\n",
            "outer.embed",
            1,
            10,
        ),
    ],
)
def test_alias_bound_to_something_else_fails(source, qualname, line, column):
    edit = make_edit(qualname, build=qualname)
    code, got_line, got_column, message = only_diagnostic(apply_edit(source, edit))
    assert (code, got_line, got_column) == ("CG401", line, column)
    assert "`sentiment_transfer` is already bound" in message


def test_alias_bound_in_an_unrelated_function_is_no_conflict():
    source = "def helper():\n    sentiment_transfer = 1\n\n\ndef embed(x):\n    return x\n"
    result = apply_edit(source, make_edit("embed", build="embed"))
    assert isinstance(result, Applied)


def test_syntax_error_fails_with_position():
    code, line, column, message = only_diagnostic(
        apply_edit("import os\n\ndef embed(x:\n    return x\n", EDIT)
    )
    assert (code, line) == ("CG400", 4)
    assert column >= 0 and message.startswith("cannot parse")


def test_invalid_alias_fails_instead_of_writing_nonsense():
    code, *_ = only_diagnostic(apply_edit("def f():\n    pass\n", make_edit("f", alias="my-shim")))
    assert code == "CG404"


def test_internal_errors_become_failures(monkeypatch):
    def boom(source, edit):
        raise RuntimeError("bug")

    monkeypatch.setattr(apply_module, "_apply", boom)
    code, *_, message = only_diagnostic(apply_edit("x = 1\n", EDIT))
    assert code == "CG403" and "RuntimeError: bug" in message


# --- line endings and encodings -------------------------------------------------------------------


def test_crlf_and_bom_round_trip():
    bom = "\ufeff"
    before = (
        bom
        + '"""Doc."""\r\nimport tensorflow as tf\r\n\r\n\r\n'
        + "def embed(x):\r\n    return x\r\n"
    )
    after = (
        bom + '"""Doc."""\r\nimport tensorflow as tf\r\n'
        "from generated import sentiment_transfer\r\n\r\n\r\n"
        '@sentiment_transfer.shared_layer("embed")\r\n@sentiment_transfer.model("embed")\r\n'
        "def embed(x):\r\n    return x\r\n"
    )
    edit = make_edit("embed", build="embed")
    assert apply_edit(before, edit) == Applied(after)
    assert apply_edit(after, edit) == Unchanged()
    assert unroute(after, edit) == Applied(before)


def test_edit_value_is_not_mutated_and_result_is_pure():
    source = ROUTED
    edit = make_edit("embed")
    first = apply_edit(source, edit)
    second = apply_edit(source, edit)
    assert edit == make_edit("embed")
    assert first == second == Unchanged()


def test_skipping_scope_analysis_when_the_alias_is_never_spelled_changes_no_output():
    # apply only analyses scopes when the file mentions the alias; a trailing comment naming it
    # forces the analysis, which must then give the same edit for every unrouted example model.
    import re

    from conftest import MODELS

    routing = re.compile(r"^(@\w+_transfer\.\w+.*|from generated import \w+_transfer.*)\n", re.M)
    compared = 0
    for path in sorted(MODELS.glob("*.py")):
        routed = path.read_text("utf-8")
        decorated = re.findall(r'@\w+_transfer\.shared_layer\("([\w.]+)"\)', routed)
        nested = re.search(r"^[ \t]+@\w+_transfer\.|_transfer\.layer\(", routed, re.M)
        if not decorated or nested:  # classes, marks: tests/test_route*.py
            continue
        alias = f"{path.stem}_transfer"
        edit = replace(
            make_edit(*decorated, alias=alias, module=f"generated.{alias}"), path=str(path)
        )
        plain = routing.sub("", routed)
        assert alias not in plain
        fast, scoped = apply_edit(plain, edit), apply_edit(plain + f"# {alias}\n", edit)
        assert isinstance(fast, Applied) and isinstance(scoped, Applied)
        assert scoped.new_source == fast.new_source + f"# {alias}\n"
        assert fast.new_source == routed
        compared += 1
    assert compared >= 3


# --- issue 14, cases 8 and 9: comments on removed lines, the explicit round-trip check ----------


def test_unrouting_keeps_a_comment_on_the_line_of_a_removed_import_or_decorator():
    before = dedent(
        """\
        import tensorflow as tf
        from generated import sentiment_transfer  # routed by codegen; ask Ann first


        class Model:
            @sentiment_transfer.shared_layer("Model.embed")  # the slow one
            def embed(self, x):
                return x


        @sentiment_transfer.model("build_model")  # entry point
        def build_model(x):
            return x
        """
    )
    result = unroute(before, make_edit("Model.embed"))
    assert isinstance(result, Applied)
    assert result.new_source == dedent(
        """\
        import tensorflow as tf
        # routed by codegen; ask Ann first


        class Model:
            # the slow one
            def embed(self, x):
                return x


        # entry point
        def build_model(x):
            return x
        """
    )


ROUND_TRIP_LOSSES = {
    "form feed before def": "import os\n\n\x0cdef embed(x):\n    return x\n\n\n"
    "def build_model(x):\n    return embed(x)\n",
    "bare CR at EOF": "def embed(x):\n    return x\n\n\ndef build_model(x):\n    return embed(x)\r",
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP_LOSSES))
def test_a_file_libcst_cannot_print_back_is_left_alone_with_a_diagnostic(name: str):
    source = ROUND_TRIP_LOSSES[name]
    result = apply_edit(source, make_edit("embed"))
    assert isinstance(result, Failed), result
    [problem] = result.diagnostics
    assert problem.code == "CG406" and "left alone" in problem.message
    assert problem.line >= 1


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n\n\n\n",  # blank lines at EOF
        "x = 1\n\\\n\ny = 2\n",  # a standalone continuation line
        "import os\n\n\x0cdef f():\n    pass\n",  # a form feed
    ],
)
def test_routing_changes_only_routing_lines_or_nothing(source: str):
    """Blank lines at EOF and `\\` lines survive a routing; anything lost is refused instead."""
    text = source + "\n\ndef embed(x):\n    return x\n\n\n"
    text += "def build_model(x):\n    return embed(x)\n"
    text += "\n\n\n"
    result = apply_edit(text, make_edit("embed"))
    if isinstance(result, Applied):
        assert unroute(result.new_source, make_edit("embed")) == Applied(text)
        removed = [line for line in text.splitlines(True) if line not in result.new_source]
        assert removed == []
    else:
        assert isinstance(result, Failed) and result.diagnostics[0].code == "CG406"


def test_an_already_routed_file_is_not_rewritten_to_strip_a_form_feed():
    routed = (
        "from generated import sentiment_transfer\n\n\n"
        '@sentiment_transfer.shared_layer("embed")\ndef embed(x):\n    return x\n\n\x0c'
        '@sentiment_transfer.model("build_model")\ndef build_model(x):\n    return embed(x)\n'
    )
    assert apply_edit(routed, make_edit("embed")) == Unchanged()


# --- stale shims of ours (issue 14 case 5): un-routed whatever the plan says of the file ---------

STALE = '''\
"""Doc."""

import tensorflow.compat.v1 as tf
from generated import old_transfer  # routed by codegen


@old_transfer.shared_layer("embed")
def embed(x):
    return x


@old_transfer.model("build_model")
def build_model(x):
    with tf.name_scope("top"), old_transfer.layer("build_model", 1):
        h = embed(x)
    return h
'''

UNROUTED = '''\
"""Doc."""

import tensorflow.compat.v1 as tf
# routed by codegen


def embed(x):
    return x


def build_model(x):
    with tf.name_scope("top"):
        h = embed(x)
    return h
'''


def test_a_stale_shim_is_unrouted_in_a_file_the_plan_does_not_route():
    # The model was renamed (its shim is now `new_transfer`) and shares nothing any more.
    edit = make_edit(build="", alias="new_transfer", module="generated.new_transfer")
    assert apply_edit(STALE, edit) == Applied(UNROUTED)
    assert apply_edit(UNROUTED, edit) == Unchanged()
    # A file with no edit of its own is given one naming a shim it mentions: the same result.
    assert unroute(STALE, make_edit(alias="old_transfer", module="generated.old_transfer")) == (
        Applied(UNROUTED)
    )


def test_a_stale_shim_is_replaced_by_the_wanted_one_in_a_routed_file():
    edit = make_edit("embed", alias="new_transfer", module="generated.new_transfer")
    result = apply_edit(STALE, edit)
    assert isinstance(result, Applied)
    assert "old_transfer" not in result.new_source
    assert "from generated import new_transfer\n" in result.new_source
    assert '@new_transfer.shared_layer("embed")' in result.new_source
    assert '@new_transfer.model("build_model")' in result.new_source
    assert apply_edit(result.new_source, edit) == Unchanged()


def test_a_stale_shim_the_file_also_uses_keeps_its_import_only():
    source = (
        STALE + "\n\ndef warm_start(sess, path):\n    return old_transfer.restore(sess, path)\n"
    )
    edit = make_edit(build="", alias="new_transfer", module="generated.new_transfer")
    result = apply_edit(source, edit)
    assert isinstance(result, Applied)
    assert "from generated import old_transfer  # routed by codegen\n" in result.new_source
    assert "@old_transfer" not in result.new_source
    assert "old_transfer.layer" not in result.new_source
    assert "return old_transfer.restore(sess, path)" in result.new_source


def test_builders_imported_through_a_stale_shim_go_back_to_layers_common():
    source = dedent(
        '''\
        from generated.old_transfer import embed, conv_block


        def build_model(x):
            return conv_block(embed(x))
        '''
    )
    edit = make_edit(build="", alias="new_transfer", module="generated.new_transfer")
    assert apply_edit(source, edit) == Applied(
        source.replace("generated.old_transfer", "generated.layers_common")
    )


def test_an_alias_of_another_package_is_not_ours_and_is_left_alone():
    source = STALE.replace("from generated import", "from elsewhere import")
    edit = make_edit(build="", alias="new_transfer", module="generated.new_transfer")
    assert apply_edit(source, edit) == Unchanged()
    renamed = STALE.replace("import old_transfer", "import old_transfer as old")
    assert apply_edit(renamed, edit) == Unchanged()  # `as old`: not a spelling apply writes
