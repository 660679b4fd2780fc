"""The scan's parse (libcst minus per-node re-validation) equals libcst's own parse."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from codegen.scan.extract import parse_module

ROOT = Path(__file__).resolve().parent.parent

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

# Inputs libcst refuses, some through a node's validation (str + bytes, keyword then
# positional, bare except first): both parses must refuse them alike.
REFUSED = (
    "s = 'a' b'b'\n",
    "f(a=1, b)\n",
    "try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass\n",
    "a\u00a0= 1\n",
    "def f(:\n",
    "x = = 1\n",
    "lambda x=1, y: 0\n",
    "f(**a, *b)\n",
    "a = 1\n  b = 2\n",
    "class\n",
)


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
