"""A model file keeps its encoding: read as Python reads it (BOM, coding cookie), written back
the same way, and every byte outside the routing survives a route/un-route round trip."""

from __future__ import annotations

import io
import textwrap
import tokenize
from pathlib import Path

import pytest
from test_positions import run

from codegen.scan.discover import decode_source

MODEL = textwrap.dedent(
    """\
    import tensorflow.compat.v1 as tf


    class {name}(object):
        def __init__(self, x):
            \"\"\"{words}: the model.\"\"\"
            # {words}
            W1 = tf.get_variable("W1", [4, {width}])
            h = tf.matmul(x, W1)  # {words}
            W2 = tf.get_variable("W2", [{width}, {head}])
            self.out = tf.matmul(h, W2)
    """
)
# (encoding the bytes are written in, what declares it above the code, non-ASCII words).
ENCODED = [
    # The case that was re-encoded as UTF-8: the cookie on line 2, after a line ending in \f.
    ("latin-1", "# model \f\n# -*- coding: latin-1 -*-\n", "café"),
    ("cp1252", "# -*- coding: cp1252 -*-\n", "€ café"),
    ("koi8-r", "#!/usr/bin/env python\n# vim: set fileencoding=koi8-r :\n", "слой"),
    ("shift_jis", "# coding: shift_jis\n", "層の重み"),
    ("utf-8-sig", "", "naïve 層"),  # a BOM, no cookie
    ("utf-8", "", "naïve 層"),
    ("utf-8", "# coding: utf-8\n", "naïve 層"),
]


def write_models(root: Path, encoding: str, head: str, words: str, *, width: int = 8) -> None:
    """alpha and beta in `encoding`; they share W1 while `width` is the same in both."""
    (root / "models").mkdir(exist_ok=True)
    for name, own_head, own_width in (("Alpha", 2, 8), ("Beta", 3, width)):
        text = head + MODEL.format(name=name, words=words, width=own_width, head=own_head)
        path = root / "models" / f"{name.lower()}.py"
        path.write_bytes(text.encode(encoding))


def detected(data: bytes) -> str:
    return tokenize.detect_encoding(io.BytesIO(data).readline)[0]


@pytest.mark.parametrize(("encoding", "head", "words"), ENCODED)
def test_routing_keeps_the_encoding_and_unrouting_gives_back_the_bytes(
    tmp_path: Path, encoding: str, head: str, words: str
) -> None:
    # Failed before for latin-1 (and any cookie after a line str.splitlines() breaks early):
    # the routed file was written as UTF-8 under its latin-1 cookie ("é" read back as "Ã©").
    write_models(tmp_path, encoding, head, words)
    alpha = tmp_path / "models" / "alpha.py"
    original = alpha.read_bytes()
    assert run(tmp_path, "sync", "--no-cache")[0] == 1
    routed = alpha.read_bytes()
    assert b"alpha_transfer.layer(" in routed
    assert detected(routed) == detected(original)
    text = routed.decode(detected(original))
    assert text.count(words) == 3
    assert routed.startswith(original[: original.index(b"import")])  # BOM and cookie lines kept
    compile(routed, str(alpha), "exec")  # Python reads it as the same text
    # Beta stops sharing: alpha is un-routed, byte for byte back to what it was.
    write_models(tmp_path, encoding, head, words, width=9)
    assert run(tmp_path, "sync", "--no-cache")[0] == 1
    assert alpha.read_bytes() == original


def test_utf16_is_refused_as_python_refuses_it(tmp_path: Path) -> None:
    """Python accepts no UTF-16 source (its cookie search reads ASCII-compatible bytes only):
    neither does codegen, which says so and leaves the file alone."""
    write_models(tmp_path, "utf-8", "", "layer")
    alpha = tmp_path / "models" / "alpha.py"
    alpha.write_bytes(alpha.read_text(encoding="utf-8").encode("utf-16"))
    original = alpha.read_bytes()
    with pytest.raises(SyntaxError):
        compile(original, str(alpha), "exec")
    code, out = run(tmp_path, "scan")
    assert code != 0
    assert "models/alpha.py:1:0: CG104 cannot decode" in out
    run(tmp_path, "sync", "--no-cache")
    assert alpha.read_bytes() == original


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [
        (b"# a\n# b\nx = 1\ny = '\xff'\n", 4, 5),
        (b"# a\n# b\nx = 1\ry = '\xff'\n", 4, 5),  # a bare CR ends a line (failed before: 3)
        (b"# a\n# b\nx = 1  # \x0c\ny = '\xff'\n", 4, 5),  # a form feed does not
        (b"# a\n# b\nx = '\xc2\x85\xff'\n", 3, 7),  # nor U+0085 (columns count bytes)
    ],
)
def test_a_decoding_error_is_placed_where_python_counts_lines(
    data: bytes, line: int, column: int
) -> None:
    text, problem = decode_source(data, "m.py")
    assert text is None and problem is not None
    assert (problem.code, problem.line, problem.column) == ("CG104", line, column)
