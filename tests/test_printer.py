"""The short-cut printer behind positions prints every file back as libcst does, prints every
shape of real code itself, and puts each statement and call where libcst's PositionProvider does."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from conftest import MODELS, REPO
from libcst.metadata import MetadataWrapper, PositionProvider

from codegen.scan.extract.parser import parse_module
from codegen.scan.extract.positions import Positions, SpanRecorder
from codegen.scan.extract.printer import print_module
from codegen.scan.extract.printws import TOKENS, UNARY

TREES = [MODELS, REPO / "tests" / "realcode", REPO / "tests" / "realcode_imports", REPO / "codegen"]


def files() -> list[Path]:
    return sorted(p for tree in TREES for p in tree.rglob("*.py"))


@pytest.mark.parametrize("crlf", [False, True])
def test_the_short_cut_prints_every_file_back(crlf: bool) -> None:
    """Byte for byte, with its own line endings: otherwise Positions falls back to libcst."""
    checked = 0
    for path in files():
        text = path.read_text(encoding="utf-8")
        if crlf:
            text = text.replace("\n", "\r\n")
        module = parse_module(text)
        recorder = SpanRecorder(module)
        print_module(module, recorder)
        assert "".join(recorder.tokens) == text, path
        checked += 1
    assert checked > 50


def test_a_printing_that_differs_falls_back_to_libcst() -> None:
    """Positions measured against another text than the module's own: libcst's printing."""
    text = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.layers.dense(x, 4)\n"
    module = parse_module(text)
    call = module.body[1].body.body[0].body[0].value
    assert Positions(module, text).start(call) == (5, 11)
    assert Positions(module, "something else").start(call) == (5, 11)


# Every statement, clause and expression type the printer prints itself (written for this test).
SHAPES = '''\
"""Every statement and expression shape the printer prints itself (written for this test)."""

from __future__ import annotations

import os.path as osp, sys  # two imports; a comment
from . import sibling
from .. import parent as up
from .pkg.mod import (
    first,
    second as other,  # a trailing comma inside parentheses
)
from os import *

CONSTANT: int = 3
LATER: list[int]
a = b = c = 1
x, *rest = 1, 2, 3
single = (1,)
bare = 1,
total = 0; total += 1; total **= 2
i = j = 0
del i, j
global_name = None


def plain(x, y=2, *args, z, w=3, **kwargs) -> dict[str, int]:
    """A docstring."""
    global global_name
    assert x, "a message"
    assert y
    if x: return y
    return {"x": x, **kwargs}


def positional(a, b, /, c, *, d: int = 4, e: "str" = "e") -> None:
    def inner():
        nonlocal a
        a = a + 1
    pass


def star_only(*, key):
    return


@decorator
@decorator.attribute(1, key=2)
@(lambda f: f)
async def coroutine(stream):
    async with lock as held, other_lock:
        await stream.read()
    async for item in stream:
        yield item
    result = [row async for row in stream if row]
    return await (stream)


class Base(object, metaclass=Meta):
    attribute = 1

    @property
    def value(self):
        return self._value


@dataclass(frozen=True)
class Plain:
    pass


class Empty(): ...


def control(values, flag):
    for index, value in enumerate(values):
        if value > 3 and not flag or value in (1, 2):
            continue
        elif value is not None:
            break
        elif value not in values:
            pass
        else:
            values.append(-value)
    else:
        flag = ~flag
    while flag:
        flag -= 1
    else:
        flag = None
    try:
        risky()
    except (ValueError, TypeError) as error:
        raise RuntimeError("wrapped") from error
    except KeyError:
        raise
    except:
        pass
    else:
        done = True
    finally:
        cleanup()
    try:
        pass
    finally:
        pass
    with open("a") as handle, open("b"):
        handle.read()
    with (
        open("c") as third,
        open("d"),
    ):
        pass
    with (open("e")):
        pass
    return done


def expressions(x, y, items):
    numbers = [1, 2.5, 3j, 0x1F, 1_000, -x, +y, x ** 2, x // y, x % y, x @ y, x << 1, x >> 1]
    bits = x & y | x ^ y
    chained = 0 < x <= y != 3 == x >= 1 > -1
    text = "a" "b" 'c' r"raw\\d" """triple""", b"bytes" b"more"
    formatted = f"{x!r:>{y}} {y=} {x + 1:.2f} {{braces}} {items[0]['key']}"
    nested = f"outer {f'inner {x}'} done"
    conditional = x if y else (y if x else None)
    function = lambda: 0
    function2 = lambda a, b=1, *c, d, **e: a + b
    if (walrus := len(items)) > 2:
        pass
    generator = (item for item in items if item if not item)
    as_set = {item for item in items}
    as_dict = {key: value for key, value in items.items()}
    pairs = [(a, b) for a in x for b in y]
    literal_set = {1, 2, 3}
    empty = ({}, [], (), set())
    sliced = items[1:2], items[::2], items[:-1], items[1:], items[:, 0], items[..., None]
    subscript_call = items[0](x)(y).attribute[1:2:3]
    called = ((f(x)))
    call_of_call = f(x)(y)
    method = x.y.z(1)(2).w()
    star_call = f(*args, **kwargs)
    keyword_call = f(a=1, b=(2), c=[3,], d={4: 5},)
    multiline = f(
        x,  # the first
        # a comment line inside the call
        y,
    )
    continued = 1 + \\
        2
    ellipsis = ...
    starred_list = [*items, *x]
    dict_merge = {**x, "k": 1, **y}
    negative_index = items[-1]
    not_in = x not in y and x is not y
    awaited = None
    accents = "ünïcödé" + f(x)  # café ☕
    return numbers, bits, chained, text, formatted, nested, conditional


def generators():
    yield
    yield 1
    yield from range(3)
    value = yield
    return (yield)


if __name__ == "__main__":
    expressions(1, 2, [3])
'''
# Types the printer leaves to libcst (pattern matching, except*, type parameters), statements
# inside them, and one statement libcst does not print back as written (the space before `:`).
LIBCST_PRINTS = """\
def dispatch(command):
    match command.split():
        case [action]:
            run(action)
        case ["go", direction] if direction:
            go(direction)
        case {"key": value, **rest}:
            pass
        case Point(x=0) | None:
            pass
        case _:
            return f(command)
    try:
        g()
    except* ValueError:
        h()


def typed[T](value: T) -> T:
    return identity(value)


try:
    pass
except (A, B) :
    pass
"""
ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def variants(text: str) -> dict[str, str]:
    """The text in both line endings, and with form feeds and line separators where Python
    allows them (a form feed before a def, a line separator in a comment)."""
    out = {name: text.replace("\n", ending) for name, ending in ENDINGS.items()}
    out["FF-LS"] = text.replace("\n\n\ndef ", "\n\n\x0c\ndef ").replace("# ", "# \u2028")
    return out


def printed_by_libcst(module: cst.Module, monkeypatch: pytest.MonkeyPatch) -> tuple[str, set[str]]:
    """What the short-cut printer prints, and the node types it left to libcst."""
    left: set[str] = set()
    codegen = cst.CSTNode._codegen

    def counting(node: cst.CSTNode, state: object, **kwargs: object) -> None:
        left.add(type(node).__name__)
        codegen(node, state, **kwargs)  # type: ignore[arg-type]

    recorder = SpanRecorder(module)
    with monkeypatch.context() as patch:
        patch.setattr(cst.CSTNode, "_codegen", counting)
        print_module(module, recorder)
    return "".join(recorder.tokens), left


def assert_libcsts_positions(text: str) -> int:
    """Positions of every statement, clause and call equal PositionProvider's; how many."""
    module = parse_module(text)
    ours = Positions(module, text)
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    checked = 0
    for node, span in theirs.items():
        if isinstance(
            node,
            cst.BaseStatement
            | cst.BaseSmallStatement
            | cst.Call
            | cst.BaseSuite
            | cst.Else
            | cst.ExceptHandler
            | cst.Finally,
        ):
            expected = ((span.start.line, span.start.column), (span.end.line, span.end.column))
            assert (ours.start(node), ours.end(node)) == expected, (type(node).__name__, expected)
            checked += 1
    return checked


@pytest.mark.parametrize("variant", list(variants(SHAPES)))
def test_the_printer_prints_every_shape_itself(
    monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    text = variants(SHAPES)[variant]
    printed, left = printed_by_libcst(parse_module(text), monkeypatch)
    assert printed == text
    assert left == set()


@pytest.mark.parametrize("variant", list(variants(SHAPES)))
def test_every_shape_is_where_libcst_puts_it(variant: str) -> None:
    assert assert_libcsts_positions(variants(SHAPES)[variant]) > 250


def test_what_libcst_prints_is_where_libcst_puts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    printed, left = printed_by_libcst(parse_module(LIBCST_PRINTS), monkeypatch)
    assert {"Match", "TryStar", "TypeParameters"} <= left
    assert printed != LIBCST_PRINTS  # libcst's own printing loses a space: libcst decides
    assert printed == parse_module(LIBCST_PRINTS).code
    assert assert_libcsts_positions(LIBCST_PRINTS) > 15


def test_operator_tokens_are_libcsts() -> None:
    """The printer's table of operator tokens spells each operator as libcst does."""
    assert {kind: kind()._get_token() for kind in {**TOKENS, **UNARY}} == {**TOKENS, **UNARY}
