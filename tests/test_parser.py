"""The scan's parse (libcst minus per-node re-validation) equals libcst's own parse."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import libcst as cst
import pytest

from codegen.scan.extract import parse_module, parser

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _switch_from_the_first_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every parse here takes the switched path (a process parses the first few as libcst does)."""
    monkeypatch.setattr(parser, "PLAIN_PARSES", 0)

# Spellings where whitespace or parentheses are what a node's own validation looks at.
TIGHT_SPELLINGS = (
    "x = 1if y else 2\n",
    "f = lambda:0\n",
    "f = lambda *a, b=1, **k: (a, b, k)\n",
    "z = not(x)\n",
    "assert(x), 'm'\n",
    "del(a), b\n",
    "print(x)if y else z\n",
    "return_ = [i for i in(1, 2)if i]\n",
    "a = b[1:2, ::3, ...]\n",
    "if (n := len(a)) > 10:\n    pass\n",
    "with (open(a) as f, open(b) as g):\n    pass\n",
    "match p:\n    case [1, *rest] if rest:\n        pass\n    case {'k': v, **kw}:\n        ...\n",
    "async def f():\n    async with a as b, c:\n        await d\n    return [x async for x in e]\n",
    "s = f'{x!r:>{width}}' rf'\\d{y}' 'a' u'b'\nt = b'\\x00' rb'.'\n",
    "\u2118 = na\u00efve\u00b7x = \u0394\u03b1\n",
    "@a.b(c)\n@d\nclass C(B, metaclass=M):\n    def f(self, /, a, *, b): ...\n",
    "x = yield\ny = (yield from g)\n",
    "global a, b\nnonlocal_ = ~a ** -b // c @ d\n",
    "x: 'int' = 1; y: list[int]\n",
    "try:\n    pass\nexcept* (A, B) as e:\n    raise X from e\n",
    "\ufeffa = 1\r\nb = 2\r\n",
    "if a:\n\tb = 1\n\x0cdef f():\n    pass\n",
)

# Inputs only a node's validation refuses (libcst's grammar accepts them): a string
# concatenated with bytes, a bare `except:` before another handler.
VALIDATION_REFUSED = (
    "s = 'a' b'b'\n",
    "s = b'a' 'b' f'c'\n",
    "s = f'a' b'b'\n",
    "s = ('a'\n     'b'\n     b'c')\n",
    "try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass\n",
    "try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass\nelse:\n    pass\n",
)

# Inputs that break a rule some node's `_validate` also states, which the grammar refuses
# before any node exists (the audit of libcst 1.x `_validate`s; see parser.py).
GRAMMAR_REFUSED = (
    "f(a=1, b)\n",
    "f(**a, *b)\n",
    "f(**a, b)\n",
    "f(*a, b=1, c)\n",
    "class C(a=1, B): pass\n",
    "class C(metaclass=M, *a): pass\n",
    "def f(x=1, y): pass\n",
    "def f(a, /, b=1, c): pass\n",
    "def f(*, ): pass\n",
    "def f(/, a): pass\n",
    "def f(*a=1): pass\n",
    "def f(a, *, b, **kw, c): pass\n",
    "lambda x: int: 0\n",
    "x = lambda *: 0\n",
    "f'{x!z}'\n",
    "f'{x!}'\n",
    "x = 0_1\n",
    "x = 1__0\n",
    "x = 0777\n",
    "x = 0b2\n",
    "import a,\n",
    "from a import b,\n",
    "from .a import (*)\n",
    "import a as b.c\n",
    "global a,\n",
    "assert x,\n",
    "with a, : pass\n",
    "x = a[]\n",
    "x = a <> b\n",
    "raise from y\n",
    "try:\n    pass\nexcept* :\n    pass\n",
    "match x:\n    case _ as 1: pass\n",
    "x = 1; ; y = 2\n",
    "(a): int = 1\n",
)

# Inputs libcst refuses: both parses must refuse them alike.
REFUSED = (
    *VALIDATION_REFUSED,
    *GRAMMAR_REFUSED,
    "a\u00a0= 1\n",
    "def f(:\n",
    "x = = 1\n",
    "lambda x=1, y: 0\n",
    "f(**a, *b)\n",
    "a = 1\n  b = 2\n",
    "class\n",
)


def all_node_types() -> set[type]:
    """Every libcst node class."""
    found: set[type] = set()
    pending: list[type] = [cst.CSTNode]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return found


def parse_without_validation(text: str) -> cst.Module:
    """libcst's parse with every node's validation off: what the grammar alone refuses."""
    node_types = [t for t in all_node_types() if "__post_init__" not in vars(t)]
    for node_type in node_types:
        node_type.__post_init__ = lambda self: None
    try:
        return cst.parse_module(text)
    finally:
        for node_type in node_types:
            del node_type.__post_init__


def repository_sources() -> list[Path]:
    """Every Python file of the bundled models, the generated code and the test fixtures."""
    found = [*ROOT.joinpath("models").rglob("*.py"), *ROOT.joinpath("generated").rglob("*.py")]
    found += ROOT.joinpath("tests").rglob("*.py")
    return sorted(found)


def assert_same_parse(text: str) -> None:
    trusted, validated = parse_module(text), cst.parse_module(text)
    assert trusted.deep_equals(validated)
    assert trusted.code == validated.code


@pytest.mark.parametrize("text", TIGHT_SPELLINGS)
def test_tight_spellings_parse_to_the_same_tree(text: str) -> None:
    assert_same_parse(text)


def test_every_repository_source_parses_to_the_same_tree() -> None:
    sources = repository_sources()
    assert len(sources) > 50
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert_same_parse(text)
        assert parse_module(text).code == text


@pytest.mark.parametrize("text", REFUSED)
def test_refused_inputs_are_refused_alike(text: str) -> None:
    with pytest.raises(Exception) as validated:
        cst.parse_module(text)
    with pytest.raises(Exception) as trusted:
        parse_module(text)
    assert type(trusted.value) is type(validated.value)
    assert str(trusted.value) == str(validated.value)


def test_nodes_built_after_a_parse_validate_again() -> None:
    parse_module("a = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")  # an empty identifier: only the node's own validation refuses it
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def f(:\n")
    with pytest.raises(cst.CSTValidationError):  # validation is back after a failed parse too
        cst.Name("")


@pytest.mark.parametrize("text", GRAMMAR_REFUSED)
def test_the_grammar_alone_refuses_what_skipped_validations_would(text: str) -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_without_validation(text)


@pytest.mark.parametrize("text", VALIDATION_REFUSED)
def test_rules_outside_the_grammar_are_still_enforced(text: str) -> None:
    parse_without_validation(text)  # the grammar accepts it: only validation refuses it
    with pytest.raises(cst.CSTValidationError) as validated:
        cst.parse_module(text)
    with pytest.raises(cst.CSTValidationError) as trusted:
        parse_module(text)
    assert str(trusted.value) == str(validated.value)


def test_the_switch_is_undone_on_every_node_type() -> None:
    inits = {node_type: vars(node_type).get("__init__") for node_type in all_node_types()}
    parse_module("s = 'a' 'b'\ntry:\n    pass\nexcept E:\n    pass\n")
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def f(:\n")
    with pytest.raises(cst.CSTValidationError):
        parse_module("s = 'a' b'b'\n")
    assert [t for t in all_node_types() if "__post_init__" in vars(t)] == []
    assert "__post_init__" in vars(cst.CSTNode)
    assert {node_type: vars(node_type).get("__init__") for node_type in all_node_types()} == inits


def test_the_parse_skips_post_init_calls_on_most_node_types() -> None:
    swapped = {node_type for node_type, _, _ in parser.switch()[0]}
    if sys.version_info[:2] == (3, 11):  # the dataclasses builder the swap relies on
        assert cst.Call in swapped and cst.Name in swapped and cst.SimpleWhitespace in swapped
    assert not swapped & parser._GRAMMAR_UNCHECKED
    for node_type, original, init in parser.switch()[0]:
        assert vars(node_type)["__init__"] is original
        assert inspect.signature(init) == inspect.signature(original)


def test_hand_built_nodes_validate_in_full_after_a_parse() -> None:
    parse_module("f(a=1, *b)\nx = (a)\n")
    name = cst.Name("a")
    with pytest.raises(cst.CSTValidationError):  # a rule the scan's parse skips
        cst.Name("a", lpar=[cst.LeftParen()])
    with pytest.raises(cst.CSTValidationError):
        cst.Call(cst.Name("f"), [cst.Arg(name, keyword=cst.Name("k")), cst.Arg(name)])
    with pytest.raises(cst.CSTValidationError):
        cst.Arg(name, star="**", keyword=cst.Name("k"))
    with pytest.raises(cst.CSTValidationError):
        cst.SimpleWhitespace("x")
    with pytest.raises(cst.CSTValidationError):
        cst.ConcatenatedString(cst.SimpleString("'a'"), cst.SimpleString("b'b'"))


def test_without_the_init_rebuild_a_no_op_post_init_gives_the_same_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parser, "switch", lambda: ((), parser.skipping()))
    for text in TIGHT_SPELLINGS:
        assert_same_parse(text)
    for text in VALIDATION_REFUSED:
        with pytest.raises(cst.CSTValidationError):
            parse_module(text)
    assert [t for t in all_node_types() if "__post_init__" in vars(t)] == []


def test_a_process_that_parses_a_few_files_never_builds_the_switch() -> None:
    import subprocess

    script = (
        "from codegen.scan.extract import parser;"
        "[parser.parse_module(f'x{i} = {i}\\n') for i in range(parser.PLAIN_PARSES)];"
        "assert parser.switch.cache_info().currsize == 0, 'built for a few parses';"
        "parser.parse_module('y = 1\\n');"
        "assert parser.switch.cache_info().currsize == 1, 'never built'"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
