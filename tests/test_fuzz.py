"""Fuzzing the scanner: broken, odd and hostile sources become diagnostics, never tracebacks.

Each case feeds bytes through the real decoding (`discover.decode_source`) and parser
(`extract.extract`); a smaller number of full-pipeline cases write fuzzed files next to copies of
the example models and run `pipeline.scan` + `pipeline.generated_files`, and a few run the real
CLI in a subprocess. Runs are reproducible (`derandomize=True`); set CODEGEN_FUZZ_SCALE=10 to
fuzz ten times harder locally, or CODEGEN_FUZZ_RANDOM=1 to explore new seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MODELS, REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen import pipeline
from codegen.config import Config
from codegen.model import Diagnostic, ModuleFacts, SourceFile
from codegen.scan.discover import decode_source
from codegen.scan.extract import extract
from codegen.write import header_status

# Fuzzed sources make ast/libcst warn about odd escapes and literals; that is expected noise.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")

SCALE = float(os.environ.get("CODEGEN_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("CODEGEN_FUZZ_RANDOM") == "1"

# `path:line:col: CODE message`, one line, as editors and CI annotations expect.
DIAGNOSTIC_LINE = re.compile(
    r"^(?P<path>[^\n]+):(?P<line>[1-9]\d*):(?P<col>\d+): (?P<code>CG\d{3}) \S[^\n]*$"
)


def examples(count: int) -> int:
    return max(1, int(count * SCALE))


def fuzz_settings(count: int) -> settings:
    """Reproducible in CI, no example database, no deadline (the machine is shared)."""
    return settings(
        max_examples=examples(count),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def model_bytes() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(MODELS.glob("*.py"))}


MODEL_BYTES = model_bytes()
MODEL_NAMES = sorted(MODEL_BYTES)


# --- what every case must satisfy ----------------------------------------------------------------


def check_diagnostic(diagnostic: Diagnostic, path: str | None = None) -> None:
    """A problem is a Diagnostic value that formats as one `path:line:col: CODE message` line."""
    assert isinstance(diagnostic, Diagnostic), diagnostic
    assert diagnostic.severity in ("error", "warning", "info"), diagnostic
    assert isinstance(diagnostic.line, int) and isinstance(diagnostic.column, int), diagnostic
    text = diagnostic.format()
    found = DIAGNOSTIC_LINE.match(text)
    assert found, f"badly formed diagnostic: {text!r}"
    if path is not None:
        assert diagnostic.path == path, diagnostic


def scan_bytes(data: bytes, path: str = "models/fuzz.py") -> ModuleFacts:
    """Decode and extract in memory exactly as discover + extract do on disk; check the result."""
    text, problem = decode_source(data, path)
    digest = hashlib.sha256(data).hexdigest()
    source = SourceFile(path, path, text, digest, () if problem is None else (problem,))
    if text is None:
        assert problem is not None and problem.severity == "error"
    facts = extract(source)
    assert isinstance(facts, ModuleFacts) and facts.path == path
    for diagnostic in facts.diagnostics:
        check_diagnostic(diagnostic, path)
    if not facts.ok:
        assert any(d.severity == "error" for d in facts.diagnostics), facts.diagnostics
        assert facts.functions == ()
    if text is not None:
        lines = text.count("\n") + text.count("\r") + 2
        for diagnostic in facts.diagnostics:
            assert diagnostic.line <= lines, (diagnostic, lines)
        for function in facts.functions:
            assert 1 <= function.line <= lines, function
            for call in function.layer_calls:
                assert 1 <= call.line <= lines, call
    return facts


def scan_text(text: str, path: str = "models/fuzz.py") -> ModuleFacts:
    return scan_bytes(text.encode("utf-8", "surrogatepass"), path)


# --- mutations of the example models -------------------------------------------------------------

PY2_SNIPPETS = (
    'print "hello"',
    "print >>sys.stderr, 'x'",
    'exec "x = 1"',
    "x = `y`",
    "if a <> b: pass",
    "mode = 0777",
    "big = 10L",
    "raise ValueError, 'msg'",
    "u = ur'abc'",
    "def f((a, b)): pass",
    "g = lambda (x, y): x",
    "try:\n    pass\nexcept ValueError, e:\n    pass",
    "import urllib2\nprint urllib2.urlopen",
)

# Valid Python 3 that the scanner must understand or ignore: every statement form around builders.
CONSTRUCTS = tuple(
    textwrap.dedent(snippet).strip("\n")
    for snippet in (
        """
        @functools.lru_cache(maxsize=None)
        def cached(x):
            return tf.get_variable('w', [1])
        """,
        """
        @(lambda f: f)
        def odd(x):
            return x
        """,
        """
        @decorators[0].attr(1)(2)
        def weird(x, scope='s'):
            return tf.get_variable(scope, [2])
        """,
        """
        async def fetch(x):
            async with lock:
                await x
            async for i in x:
                yield i
        """,
        """
        async def abuild(ids):
            return embed(ids, 20000, 64)
        """,
        "embed2 = lambda ids, dim=3: tf.get_variable('W', [dim])",
        "from tensorflow.compat.v1 import *",
        """
        from tensorflow.compat.v1.layers import *
        from . import *
        """,
        """
        from .sibling import helper
        from .. import parent as p
        """,
        """
        try:
            import tensorflow.compat.v1 as tf
        except ImportError:
            tf = None
        """,
        """
        if sys.version_info >= (3,):
            import tensorflow as tf2
        else:
            tf2 = None
        """,
        """
        if TYPE_CHECKING:
            from typing import Any
        """,
        """
        for i in range(3):
            def block(x, i=i):
                return tf.get_variable(f'w{i}', [i + 1])
        """,
        """
        while False:
            def never(x):
                return tf.get_variable('n', [1])
        """,
        """
        with ctx() as (a, b):
            def inner_build(x):
                return conv_block(x, 1)
        """,
        """
        class Layers:
            def embed(self, ids):
                return tf.get_variable('E', [1])
            @staticmethod
            def static(x):
                return tf.get_variable('s', [1])
            @classmethod
            def make(cls):
                return cls()
            @property
            def prop(self):
                return self.embed(1)
            class Inner:
                def __call__(self, x):
                    return tf.get_variable('i', [1])
        """,
        """
        class Meta(type):
            def __new__(mcs, name, bases, ns, **kw):
                return super().__new__(mcs, name, bases, ns)
        """,
        """
        class WithMeta(object, metaclass=Meta, flag=True):
            x: int = 3
        """,
        """
        def outer():
            def inner():
                nonlocal_value = 1
                def deepest():
                    nonlocal nonlocal_value
                    global G
                    return tf.get_variable('d', [1])
                return deepest
            return inner
        """,
        """
        def walrus(x):
            if (n := len(x)) > 3:
                return tf.get_variable('w', [n])
        """,
        """
        def matcher(x):
            match x:
                case [a, *rest]:
                    return tf.get_variable('m', [1])
                case {'k': v}:
                    return v
                case Point(x=0):
                    pass
                case _:
                    return None
        """,
        """
        def star(*args, **kwargs):
            return conv_block(*args, **kwargs)
        """,
        """
        def posonly(a, b, /, c, *, d=1, **e):
            return tf.get_variable('p', [a, b])
        """,
        """
        def gen(x):
            yield from x
            yield tf.get_variable('g', [1])
        """,
        """
        def comprehensions(xs):
            return [tf.get_variable(f'v{i}', [1]) for i in xs if i] + list({k: v for k, v in xs})
        """,
        """
        def exc():
            try:
                pass
            except* ValueError as group:
                raise
            finally:
                del group
        """,
        """
        def annotated(x: 'tf.Tensor' = None) -> 'tf.Tensor':
            y: int
            z: list[int] = []
            return x
        """,
        """
        def fstrings(x, scope='a'):
            return tf.get_variable(f'{scope}/{x!r:>{3}}', [1])
        """,
        """
        def shadow(tf):
            return tf.get_variable('not_the_api', [1])
        """,
        "build_model = None",
        """
        def build_model(ids, labels):
            return ids, labels
        """,
        """
        def build_other(ids, labels):
            for _ in range(2):
                ids = embed(ids, 20000, 64)
            return ids, labels
        """,
        "tf = 3",
        "import tensorflow.compat.v1 as tf, numpy as np, os.path",
        "__all__ = ['embed'] + [x for x in dir()]",
        "x = y = z = 1; a, *b = 1, 2, 3; c += 1",
        """
        assert True, 'msg'
        pass
        global G
        ...
        """,
        """
        if __name__ == '__main__':
            build_model(None, None)
        """,
        """
        def recursive(x):
            return recursive(x)
        """,
        """
        def uses_self_name(self):
            return self.scope
        """,
        """
        s = '\\N{GREEK SMALL LETTER ALPHA}' 'b' f'{1}'
        b = rb'\\x00' b'\\xff'
        """,
        """
        def r(x, scope='ü日本\\n\\x00'):
            return tf.get_variable(scope, [1])
        """,
    )
)

TOKENS = (
    ":",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "\\",
    "'",
    '"',
    '"""',
    "#",
    "@",
    "->",
    "lambda",
    "def ",
    "class ",
    "async ",
    "await ",
    "yield",
    "\t",
    "  ",
    "\n",
    "\r",
    "\x0c",
    "\x00",
    "\ufeff",
    "\u2028",
    "\udcff",
    "$",
    "?",
    "`",
    "!",
    "%",
    "0x",
    "1e",
    "..",
)


@st.composite
def mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """One random edit of `data`; kinds are drawn uniformly so rare ones still run often."""
    kind = draw(
        st.sampled_from(
            (
                "truncate",
                "random_bytes",
                "overwrite",
                "nul",
                "delete",
                "duplicate_line",
                "swap_lines",
                "bom",
                "crlf",
                "cr",
                "tabs",
                "latin1",
                "bogus_cookie",
                "py2",
                "construct",
                "indent",
                "dedent",
                "token",
                "unicode",
            )
        )
    )
    size = len(data)
    at = draw(st.integers(0, size))
    lines = data.split(b"\n")
    line_at = draw(st.integers(0, len(lines)))
    if kind == "truncate":
        return data[:at]
    if kind == "random_bytes":
        return data[:at] + draw(st.binary(min_size=1, max_size=12)) + data[at:]
    if kind == "overwrite":
        return data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at + 4 :]
    if kind == "nul":
        return data[:at] + b"\x00" + data[at:]
    if kind == "delete":
        return data[:at] + data[at + draw(st.integers(1, 200)) :]
    if kind == "duplicate_line" and lines:
        index = min(line_at, len(lines) - 1)
        return b"\n".join([*lines[: index + 1], lines[index], *lines[index + 1 :]])
    if kind == "swap_lines" and len(lines) > 1:
        i, j = min(line_at, len(lines) - 1), draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "cr":
        return data.replace(b"\n", b"\r")
    if kind == "tabs":
        every = draw(st.booleans())
        if every:
            return data.replace(b"    ", b"\t")
        return b"\n".join(
            line.replace(b"    ", b"\t", 1) if i % 3 == 0 else line for i, line in enumerate(lines)
        )
    if kind == "latin1":
        # A latin-1 cookie makes every byte sequence decodable; é then reads as 0xe9.
        cookie = draw(
            st.sampled_from(
                (b"# -*- coding: latin-1 -*-\n", b"# vim: set fileencoding=iso-8859-1 :\n")
            )
        )
        body = data.replace(b"embed", "embéd".encode("latin-1"))
        return cookie + body
    if kind == "bogus_cookie":
        cookie = draw(
            st.sampled_from(
                (
                    b"# coding: klingon\n",
                    b"# -*- coding: utf-42 -*-\n",
                    b"#!/usr/bin/env python\n# coding=rot13\n",
                    b"# coding: utf-16\n",
                    b"# coding: latin-1\n# coding: ascii\n",
                    b"\xef\xbb\xbf# coding: latin-1\n",
                    b"# coding: ascii\n",
                )
            )
        )
        return cookie + data.replace(b"Look up", "Look ùp".encode())
    if kind == "py2":
        snippet = draw(st.sampled_from(PY2_SNIPPETS)).encode()
        return b"\n".join([*lines[:line_at], snippet, *lines[line_at:]])
    if kind == "construct":
        snippet = draw(st.sampled_from(CONSTRUCTS))
        indent = draw(st.sampled_from(("", "", "    ", "\t")))
        block = textwrap.indent(snippet, indent).encode()
        return b"\n".join([*lines[:line_at], block, *lines[line_at:]])
    if kind == "indent" and lines:
        index = min(line_at, len(lines) - 1)
        lines[index] = draw(st.sampled_from((b" ", b"    ", b"\t", b" \t"))) + lines[index]
        return b"\n".join(lines)
    if kind == "dedent" and lines:
        index = min(line_at, len(lines) - 1)
        lines[index] = lines[index].lstrip()
        return b"\n".join(lines)
    if kind == "token":
        return (
            data[:at] + draw(st.sampled_from(TOKENS)).encode("utf-8", "surrogatepass") + data[at:]
        )
    if kind == "unicode":
        text = draw(st.text(min_size=1, max_size=8))
        return data[:at] + text.encode("utf-8", "surrogatepass") + data[at:]
    return data


@st.composite
def mutated_model(draw: st.DrawFn) -> bytes:
    """An example model after one to four random edits."""
    data = MODEL_BYTES[draw(st.sampled_from(MODEL_NAMES))]
    for _ in range(draw(st.integers(1, 4))):
        data = draw(mutation(data))
    return data


IDENTIFIER = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda name: (
        name
        not in {
            "if",
            "in",
            "is",
            "or",
            "as",
            "def",
            "for",
            "and",
            "not",
            "del",
            "try",
            "elif",
            "else",
            "from",
            "pass",
            "with",
            "class",
            "while",
            "yield",
            "async",
            "await",
            "break",
            "raise",
            "global",
            "import",
            "lambda",
            "return",
            "except",
            "assert",
            "finally",
            "continue",
            "nonlocal",
            "_",
        }
    )
)
HOSTILE_STRINGS = st.sampled_from(
    (
        "x'); import os; os.system('touch /tmp/pwn'); ('",
        'a"\nimport os',
        "{{ 7*7 }}",
        "{% raw %}",
        "\\",
        "\x00",
        "ü日本",
        "a/b",
        "",
        " ",
        "'''",
        '"""',
        "\n",
        "#",
        "}}{{",
        "%s%r",
        "\u2028",
    )
)
LITERAL = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=12).map(repr),
    HOSTILE_STRINGS.map(repr),
    st.sampled_from(("None", "True", "(1, 2)", "[3]", "-4", "1e-6", "0x1f", "1_000", "3j")),
)


RETURNS = ("x", "tf.matmul(x, w)", "layers.Dense(3)(x)", "tf.layers.dense(x, width)")
DECORATORS = (
    "tf.function",
    "staticmethod",
    "wrap(1)",
    'sentiment_transfer.shared_layer("embed")',
    "sentiment_transfer.build",
)


@st.composite
def builder_module(draw: st.DrawFn) -> str:
    """A TF1-style module made of random builders in every place a builder can be defined."""
    parts = [
        draw(
            st.sampled_from(
                (
                    "import tensorflow.compat.v1 as tf",
                    "import tensorflow as tf\ntf1 = tf.compat.v1",
                    "from tensorflow.compat.v1 import *",
                    "try:\n    import tensorflow.compat.v1 as tf\n"
                    "except ImportError:\n    tf = None",
                    "from tensorflow.keras import layers",
                    "",
                )
            )
        )
    ]
    names: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        name = draw(IDENTIFIER)
        names.append(name)
        scope = draw(LITERAL)
        width = draw(LITERAL)
        body = (
            f"def {name}(x, width={width}, scope={scope}):\n"
            f"    with tf.variable_scope(scope):\n"
            f"        w = tf.get_variable({draw(LITERAL)}, [x.shape[-1], width])\n"
            f"        return {draw(st.sampled_from(RETURNS))}"
        )
        where = draw(
            st.sampled_from(
                ("module", "class", "loop", "branch", "nested", "decorated", "async", "lambda")
            )
        )
        if where == "class":
            body = f"class {name.title()}Layer:\n" + textwrap.indent(
                body.replace("(x,", "(self, x,", 1), "    "
            )
        elif where == "loop":
            body = "for _i in range(2):\n" + textwrap.indent(body, "    ")
        elif where == "branch":
            body = "if USE_TF:\n" + textwrap.indent(body, "    ") + "\nelse:\n    pass"
        elif where == "nested":
            body = f"def outer_{name}():\n" + textwrap.indent(body, "    ") + f"\n    return {name}"
        elif where == "decorated":
            decorator = draw(st.sampled_from(DECORATORS))
            body = f"@{decorator}\n" + body
        elif where == "async":
            body = body.replace("def ", "async def ", 1)
        elif where == "lambda":
            body = f"{name} = lambda x, scope={scope}: tf.get_variable(scope, [x])"
        parts.append(body)
    calls = "\n".join(f"    h = {name}(h, {draw(LITERAL)}, {draw(LITERAL)})" for name in names)
    parts.append(f"def build_model(ids, labels):\n    h = ids\n{calls}\n    return h, labels")
    parts.append(
        draw(
            st.sampled_from(("", "if __name__ == '__main__':\n    build_model(1, 2)", *CONSTRUCTS))
        )
    )
    return "\n\n\n".join(parts) + "\n"


# --- the per-file fuzz ---------------------------------------------------------------------------


def test_the_unmodified_models_scan_clean() -> None:
    for name, data in MODEL_BYTES.items():
        facts = scan_bytes(data, f"models/{name}")
        assert facts.ok and facts.diagnostics == () and facts.functions, name


def test_fuzz_mutated_example_models() -> None:
    """Truncation, random bytes, NULs, BOM, CRLF, tabs, cookies, Python 2, odd constructs."""
    seen: list[bool] = []

    @fuzz_settings(3000)
    @given(mutated_model())
    def case(data: bytes) -> None:
        facts = scan_bytes(data)
        seen.append(facts.ok)

    case()
    print(f"\nmutated example models: {len(seen)} cases, {seen.count(True)} still parse")
    assert len(seen) >= examples(3000) * 0.9
    # The mutations must exercise both outcomes: files that still parse and files that do not.
    assert seen.count(True) > len(seen) // 10 and seen.count(False) > len(seen) // 10


def test_fuzz_random_builder_modules() -> None:
    """Valid modules with builders in classes, loops, branches, nested, decorated, async"""
    seen: list[int] = []

    @fuzz_settings(500)
    @given(builder_module())
    def case(text: str) -> None:
        facts = scan_text(text)
        assert facts.ok, facts.diagnostics
        seen.append(len(facts.functions))

    case()
    print(f"\nrandom builder modules: {len(seen)} cases, {sum(seen)} functions")
    assert len(seen) >= examples(500) * 0.9 and sum(seen) > len(seen)


def test_fuzz_arbitrary_bytes_and_text() -> None:
    seen: list[bool] = []

    @fuzz_settings(800)
    @given(
        st.one_of(
            st.binary(max_size=300),
            st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.lists(
                st.sampled_from((*TOKENS, "x", "1", "tf.get_variable(", "def f(x):\n    ")),
                max_size=60,
            ).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
        )
    )
    def case(data: bytes) -> None:
        seen.append(scan_bytes(data).ok)

    case()
    print(f"\narbitrary bytes and text: {len(seen)} cases")
    assert len(seen) >= examples(800) * 0.9


def test_fuzz_grammar_generated_programs() -> None:
    """hypothesmith's grammar-based programs: syntactically plausible Python of every shape."""
    hypothesmith = pytest.importorskip("hypothesmith")
    seen: list[bool] = []

    @fuzz_settings(200)
    @given(hypothesmith.from_grammar())
    def case(text: str) -> None:
        seen.append(scan_text(text).ok)

    case()
    print(f"\nhypothesmith programs: {len(seen)} cases, {seen.count(True)} parse")
    assert len(seen) >= examples(200) * 0.9


# --- targeted shapes -----------------------------------------------------------------------------

NESTING: dict[str, Callable[[int], str]] = {
    "parens": lambda n: "x = " + "(" * n + "1" + ")" * n + "\n",
    "lists": lambda n: "x = " + "[" * n + "]" * n + "\n",
    "calls": lambda n: "x = " + "f(" * n + ")" * n + "\n",
    "binary_chain": lambda n: "x = " + " + ".join(["1"] * n) + "\n",
    "unary_chain": lambda n: "x = " + "-" * n + "1\n",
    "attributes": lambda n: "x = a" + ".b" * n + "\n",
    "ifs": lambda n: "".join("    " * i + "if x:\n" for i in range(n)) + "    " * n + "pass\n",
    "defs": lambda n: (
        "".join("    " * i + f"def f{i}(x):\n" for i in range(n))
        + "    " * n
        + "return tf.get_variable('w', [1])\n"
    ),
    "classes": lambda n: (
        "".join("    " * i + f"class C{i}:\n" for i in range(n)) + "    " * n + "pass\n"
    ),
    "lambdas": lambda n: "f = " + "lambda: " * n + "1\n",
    "strings": lambda n: "x = " + " ".join(["'a'"] * n) + "\n",
    "in_builder": lambda n: (
        "import tensorflow.compat.v1 as tf\ndef build_model(x):\n    return tf.get_variable('w', "
        + "[" * n
        + "1"
        + "]" * n
        + ")\n"
    ),
}


# libcst's native parser overflows the C stack somewhere between depth 1000 and 2000 (see below).
@pytest.mark.parametrize("depth", [30, 200, 600])
@pytest.mark.parametrize("shape", sorted(NESTING))
def test_deep_nesting_is_parsed_or_reported(shape: str, depth: int) -> None:
    text = NESTING[shape](depth)
    started = time.monotonic()
    facts = scan_text(text)
    assert time.monotonic() - started < 20, "deep nesting must not hang the scan"
    if not facts.ok:
        assert {d.code for d in facts.diagnostics} <= {"CG201", "CG202", "CG203"}, facts.diagnostics


@pytest.mark.parametrize("shape", ["parens", "lists", "calls"])
def test_very_deep_nesting_does_not_kill_the_scan(
    tmp_path: Path, shape: str, expected: dict[str, object]
) -> None:
    """CPython refuses these files (SyntaxError, MemoryError): the scan must say so and go on."""
    root = project_with_models(tmp_path)
    (root / "models" / "deep.py").write_text(NESTING[shape](5000), "utf-8")
    result = run_cli(root, "scan", "--no-cache", "--json", "models")
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert {m["id"] for m in report["models"]} >= expected["models"]  # type: ignore[operator]
    assert [
        (d["path"], d["code"]) for d in report["diagnostics"] if d["path"] == "models/deep.py"
    ] == [("models/deep.py", "CG201")]


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess (a crash there cannot take pytest down)."""
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_a_new_file_with_a_renamed_copy_keeps_existing_checkpoint_keys(
    tmp_path: Path, expected: dict[str, object]
) -> None:
    root = project_with_models(tmp_path)
    conv_block = (
        MODEL_BYTES["sentiment.py"]
        .decode()
        .split('@sentiment_transfer.shared_layer("conv_block")\n')[1]
    )
    conv_block = conv_block.split("\n\n\n")[0].replace("def conv_block(", "def block(")
    (root / "models" / "aaa_helpers.py").write_text(
        "import tensorflow.compat.v1 as tf\n\n\n" + conv_block + "\n"
    )
    scanned, _ = full_scan(root)
    trunks = {model: tuple(layer.key for layer in trunk) for model, trunk in scanned.plan.trunks}
    assert {model: trunks[model] for model in expected["trunks"]} == expected["trunks"]  # type: ignore[attr-defined]


BRANCH_BUILDER = textwrap.dedent(
    """\
    import tensorflow.compat.v1 as tf

    {header}
        def block(x, width=3, scope="s"):
            with tf.variable_scope(scope):
                w = tf.get_variable("w", [x.shape[-1], width])
                return tf.matmul(x, w)


    def build_model(ids, labels):
        return block(ids, 3), labels
    """
)


@pytest.mark.parametrize("header", ["if True:", "try:", "with open(__file__):"])
def test_a_shared_builder_defined_in_a_branch_renders_or_is_reported(
    tmp_path: Path, header: str
) -> None:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    source = BRANCH_BUILDER.format(header=header)
    if header == "try:":
        source = source.replace(
            "\n\n\ndef build_model", "\nexcept ImportError:\n    pass\n\n\ndef build_model"
        )
    (root / "models" / "a.py").write_text(source, "utf-8")  # sorts first: the canonical copy
    (root / "models" / "b.py").write_text(
        BRANCH_BUILDER.format(header="")
        .replace("\n    def", "\ndef")
        .replace("\n        ", "\n    "),
        "utf-8",
    )
    scanned, _ = full_scan(root)  # renders: a copy of the builder, or a CG320 diagnostic
    assert len(scanned.plan.models) == 2 and all(trunk for _, trunk in scanned.plan.trunks)


def test_a_huge_file_is_scanned_and_one_over_the_limit_is_refused(
    tmp_path: Path, expected: dict[str, object]
) -> None:
    root = project_with_models(tmp_path)
    copies = []
    sentiment = MODEL_BYTES["sentiment.py"].decode()
    for index in range(120):  # ~250 kB of distinct builders, all copies of sentiment's
        copies.append(
            re.sub(
                r"\b(embed|conv_block|dropout|layer_norm_and_dropout|build_model)\b",
                rf"\1_{index}",
                sentiment.split("\n", 4)[4],
            )
        )
    (root / "models" / "huge.py").write_text(
        "import tensorflow.compat.v1 as tf\n" + "\n".join(copies), "utf-8"
    )
    (root / "models" / "over.py").write_bytes(b"x = 1\n" * 400_000)  # 2.4 MB > max_file_bytes
    started = time.monotonic()
    scanned, problems = full_scan(root)
    assert time.monotonic() - started < 60
    assert_valid_models_reported(scanned, expected)
    huge = scanned.plan.modules["models/huge.py"]
    assert huge.ok and len(huge.functions) == 600
    assert ("CG103", "models/over.py") in {(d.code, d.path) for d in problems}


# --- full pipeline -------------------------------------------------------------------------------


def project_with_models(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    for name, data in MODEL_BYTES.items():
        (root / "models" / name).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The clean example models' plan facts that fuzzed neighbours must not disturb."""
    root = project_with_models(tmp_path_factory.mktemp("baseline"))
    scanned = pipeline.scan(
        ["models"], Config(root=str(root), cache_dir="", jobs=1), use_cache=False
    )
    facts: dict[str, object] = {
        "models": {m.id for m in scanned.plan.models},
        "classes": [set(c.members) for c in scanned.plan.clone_classes],
        "trunks": {
            model: tuple(layer.key for layer in trunk) for model, trunk in scanned.plan.trunks
        },
    }
    assert len(facts["models"]) == len(MODEL_NAMES) and any(facts["trunks"].values())  # type: ignore[arg-type]
    return facts


def full_scan(root: Path) -> tuple[pipeline.Scan, list[Diagnostic]]:
    """scan + render in process, as `codegen emit` does before writing; check every output."""
    config = Config(root=str(root), cache_dir="", jobs=1)
    scanned = pipeline.scan(["models"], config, use_cache=False)
    files, render_problems = pipeline.generated_files(scanned, config, use_cache=False)
    problems = [*scanned.diagnostics, *scanned.plan.diagnostics, *render_problems]
    for diagnostic in problems:
        check_diagnostic(diagnostic)
    if render_problems:
        assert files == {} and [d.code for d in render_problems] == ["CG320"]
    for name, text in files.items():
        assert header_status(text) == "valid", name
        compile(text, name, "exec")
    return scanned, problems


def assert_valid_models_reported(scanned: pipeline.Scan, expected: dict[str, object]) -> None:
    """The clean example models are still models, clones and trunks next to broken neighbours."""
    models = {m.id for m in scanned.plan.models}
    assert expected["models"] <= models  # type: ignore[operator]
    members = [set(c.members) for c in scanned.plan.clone_classes]
    for clone in expected["classes"]:  # type: ignore[attr-defined]
        assert any(clone <= found for found in members), clone
    trunks = {
        model: tuple(map(key_identity, (layer.key for layer in trunk)))
        for model, trunk in scanned.plan.trunks
    }
    for model, keys in expected["trunks"].items():  # type: ignore[attr-defined]
        identities = tuple(map(key_identity, keys))
        assert trunks[model][: len(identities)] == identities, model
    status = dict(scanned.plan.files)
    assert all(status[f"models/{name}"] == "ok" for name in MODEL_NAMES)


def key_identity(key: str) -> tuple[str, str]:
    """(position, path hash) of a checkpoint key."""
    return key.split("_", 1)[0], key.rsplit("_", 1)[1]


def test_fuzz_full_pipeline_next_to_the_valid_models(
    tmp_path_factory: pytest.TempPathFactory, expected: dict[str, object]
) -> None:
    """Several fuzzed files per run among copies of the example models: scan, plan and render."""
    seen: list[int] = []

    @fuzz_settings(60)
    @given(
        st.lists(
            st.one_of(mutated_model(), builder_module().map(str.encode)), min_size=1, max_size=4
        )
    )
    def case(fuzzed: list[bytes]) -> None:
        root = project_with_models(tmp_path_factory.mktemp("fuzz"))
        for index, data in enumerate(fuzzed):
            (root / "models" / f"fuzz_{index}.py").write_bytes(data)
        scanned, _ = full_scan(root)
        assert_valid_models_reported(scanned, expected)
        assert len(scanned.plan.files) == len(MODEL_NAMES) + len(fuzzed)
        seen.append(len(fuzzed))
        shutil.rmtree(root)

    case()
    shown = f"{sum(seen)} fuzzed files next to {len(MODEL_NAMES)} models"
    print(f"\nfull pipeline: {len(seen)} runs, {shown}")
    assert len(seen) >= examples(60) * 0.9


def test_cli_scan_of_fuzzed_files_never_shows_a_traceback(
    tmp_path: Path, expected: dict[str, object]
) -> None:
    """A handful through `python -m codegen scan` in a subprocess: exit 0 or 1, no traceback."""
    samples: list[bytes] = []

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(mutated_model(), min_size=3, max_size=3))
    def collect(fuzzed: list[bytes]) -> None:
        samples.extend(fuzzed)

    collect()
    fixed = [
        b"\x00\xff\xfe",
        b"\xef\xbb\xbf# coding: klingon\n",
        b'print "py2"\n',
        b"def f(:\n",
        NESTING["parens"](600).encode(),
        NESTING["defs"](120).encode(),
    ]
    batches = [*[samples[i : i + 6] for i in range(0, len(samples), 6)][:3], fixed]
    for batch_number, batch in enumerate(batches):
        root = project_with_models(tmp_path / str(batch_number))
        for index, data in enumerate(batch):
            (root / "models" / f"fuzz_{index}.py").write_bytes(data)
        args = ["scan", "--no-cache", "models"] + (["--json"] if batch_number % 2 else [])
        result = run_cli(root, *args)
        assert "Traceback" not in result.stderr + result.stdout, result.stderr
        assert result.returncode in (0, 1), result.stderr
        if "--json" in args:
            report = json.loads(result.stdout)
            assert {m["id"] for m in report["models"]} >= expected["models"]  # type: ignore[operator]
            for item in report["diagnostics"]:
                assert set(item) >= {"code", "severity", "path", "line", "column", "message"}
        else:
            for line in result.stderr.splitlines() + result.stdout.splitlines():
                if re.match(r"^models/fuzz_\d\.py:\d", line):
                    assert DIAGNOSTIC_LINE.match(line), line
