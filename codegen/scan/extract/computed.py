"""Arguments computed from module values (`H * 2`, `64 if BIG else 32`, `CFG["units"]`,
`CFG.units`, `self.UNITS`, `**CFG`): the literal value they stand for, when every name they read
is bound to a known literal, so equal text over different module values is no match; else, for
one that reads names of other modules or parameters, its shape over those names (`Reader.imported`),
which the plan links."""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

from codegen import literals
from codegen.scan import apis
from codegen.scan.extract.context import ModuleContext
from codegen.scan.extract.literals import literal
from codegen.scan.extract.nodes import dotted, kids

_UNKNOWN: Any = object()
Read = tuple[str, str, tuple[str, ...]]  # LayerCall.reads: (key, shape, names)
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
    cst.Modulo: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    cst.Equal: operator.eq,
    cst.NotEqual: operator.ne,
    cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
}
_DEPTH = 8  # names bound to names bound to ...: enough for real configs, no runaway
_BUILTINS = frozenset(dir(builtins))


class Reader:
    """What an expression stands for in one function: `constants` as its locals leave them, the
    module's other values, and the class attributes `self.`/`cls.` reach."""

    def __init__(
        self,
        ctx: ModuleContext,
        constants: Mapping[str, str],
        hidden: Callable[[str], bool],
        self_name: str | None,
        class_name: str | None,
        params: Mapping[str, str] | None = None,
    ):
        self.ctx = ctx
        self.constants = constants
        self.hidden = hidden  # a local (or reassigned) name: not the module's value
        self.self_name = self_name
        self.class_name = class_name
        self.params = params or {}  # parameters never stored to: name -> key (`#1`, `units`)

    def library_call(self, node: cst.BaseExpression) -> str | None:
        """A library call that creates nothing, as an argument, over literals or values computed
        from them (`kernel_initializer=tf.compat.v1.constant_initializer(0.5)`, `(H / 2)`): its
        API and those values, which decide; else None."""
        if type(node) is not cst.Call:
            return None
        parts = dotted(node.func)
        if not parts or self.hidden(parts[0]):
            return None
        api = self.ctx.resolve_final(parts)
        if api is None or not apis.is_library(api) or apis.creates_variables(api):
            return None
        pieces = []
        for arg in node.args:
            inner = literal(arg.value, self.constants) or self.spelled(arg.value)
            if inner is None:
                return None
            keyword = arg.keyword.value + "=" if arg.keyword is not None else arg.star
            pieces.append(keyword + inner)
        return f"{api}({','.join(pieces)})"

    def value(self, node: cst.BaseExpression, depth: int = 0) -> Any:
        """The Python value `node` stands for, or _UNKNOWN."""
        if depth > _DEPTH:
            return _UNKNOWN
        text = literal(node, self.constants)
        if text is not None:
            return literals.value(text, _UNKNOWN)
        kind = type(node)
        if kind is cst.Name:
            name = node.value  # type: ignore[attr-defined]
            bound = self.ctx.values.get(name)
            if bound is None or self.hidden(name) or name in self.ctx.function_imports:
                return _UNKNOWN
            return self.value(bound, depth + 1)
        if kind is cst.BinaryOperation:
            apply = _BINARY.get(type(node.operator))  # type: ignore[attr-defined]
            left = self.value(node.left, depth + 1)  # type: ignore[attr-defined]
            right = self.value(node.right, depth + 1)  # type: ignore[attr-defined]
            if apply is None or left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            return _safely(apply, left, right)
        if kind is cst.IfExp:
            test = self.value(node.test, depth + 1)  # type: ignore[attr-defined]
            if test is _UNKNOWN:
                return _UNKNOWN
            branch = node.body if test else node.orelse  # type: ignore[attr-defined]
            return self.value(branch, depth + 1)
        if kind is cst.Comparison and len(node.comparisons) == 1:  # type: ignore[attr-defined]
            target = node.comparisons[0]  # type: ignore[attr-defined]
            compare = _COMPARE.get(type(target.operator))
            left = self.value(node.left, depth + 1)  # type: ignore[attr-defined]
            right = self.value(target.comparator, depth + 1)
            if compare is None or left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            return _safely(compare, left, right)
        if kind is cst.UnaryOperation and type(node.operator) is cst.Not:  # type: ignore[attr-defined]
            inner = self.value(node.expression, depth + 1)  # type: ignore[attr-defined]
            return _UNKNOWN if inner is _UNKNOWN else not inner
        if kind is cst.Dict:
            return self._dict(node, depth)  # type: ignore[arg-type]
        if kind is cst.Subscript:
            return self._item(node, depth)  # type: ignore[arg-type]
        if kind is cst.Attribute:
            return self._attribute(node)  # type: ignore[arg-type]
        if kind is cst.FormattedString:
            return self._formatted(node, depth)  # type: ignore[arg-type]
        if kind is cst.Call:
            return self._dict_call(node, depth)  # type: ignore[arg-type]
        return _UNKNOWN

    def _formatted(self, node: cst.FormattedString, depth: int) -> Any:
        """`f"float{BITS}"` over known values, without conversions or format specs."""
        out = []
        for part in node.parts:
            if type(part) is cst.FormattedStringText:
                if "\\" in part.value:
                    return _UNKNOWN  # an escape: its source text is not its value
                out.append(part.value.replace("{{", "{").replace("}}", "}"))
                continue
            if type(part) is not cst.FormattedStringExpression:
                return _UNKNOWN
            if part.conversion or part.format_spec:
                return _UNKNOWN
            found = self.value(part.expression, depth + 1)
            if found is _UNKNOWN or not isinstance(found, (str, int, float, bool)):
                return _UNKNOWN
            out.append(str(found))
        return "".join(out)

    def _dict_call(self, node: cst.Call, depth: int) -> Any:
        """`dict(units=64)` (the builtin, not a name of this module) over known values."""
        func = node.func
        if type(func) is not cst.Name or func.value != "dict" or self._bound(func.value):
            return _UNKNOWN
        out = {}
        for arg in node.args:
            if arg.keyword is None or arg.star:
                return _UNKNOWN
            found = self.value(arg.value, depth + 1)
            if found is _UNKNOWN:
                return _UNKNOWN
            out[arg.keyword.value] = found
        return out

    def _bound(self, name: str) -> bool:
        """Whether this function or module binds `name` (then it is no builtin)."""
        ctx = self.ctx
        return self.hidden(name) or name in ctx.symbols or name in ctx.aliases

    def _dict(self, node: cst.Dict, depth: int) -> Any:
        out = {}
        for element in node.elements:
            if type(element) is not cst.DictElement:
                return _UNKNOWN  # `**other`
            key = self.value(element.key, depth + 1)
            item = self.value(element.value, depth + 1)
            if key is _UNKNOWN or item is _UNKNOWN or not isinstance(key, (str, int)):
                return _UNKNOWN
            out[key] = item
        return out

    def _item(self, node: cst.Subscript, depth: int) -> Any:
        if len(node.slice) != 1 or type(node.slice[0].slice) is not cst.Index:
            return _UNKNOWN
        container = self.value(node.value, depth + 1)
        index = self.value(node.slice[0].slice.value, depth + 1)  # type: ignore[union-attr]
        if container is _UNKNOWN or index is _UNKNOWN:
            return _UNKNOWN
        return _safely(operator.getitem, container, index)

    def _attribute(self, node: cst.Attribute) -> Any:
        """`CFG.units` (a class of this module), `self.UNITS`/`cls.UNITS` (this class's own):
        the literal its body assigns."""
        if type(node.value) is not cst.Name:
            return _UNKNOWN
        owner = node.value.value
        if owner == self.self_name and self.class_name is not None:
            owner = self.class_name
        elif owner not in self.ctx.classes or self.hidden(owner):
            return _UNKNOWN
        text = self.ctx.class_constants.get(owner, {}).get(node.attr.value)
        return _UNKNOWN if text is None else literals.value(text, _UNKNOWN)

    def spelled(self, node: cst.BaseExpression) -> str | None:
        """The repr of what `node` stands for, when it is a literal Python reads back and no
        string: a computed string is most often a variable or scope name (`PREFIX + "/d1"`),
        which never decides a match."""
        found = self.value(node)
        return None if isinstance(found, str) else spell(found)

    def text(self, node: cst.BaseExpression) -> str | None:
        """The repr of the string `node` computes (`f"float{BITS}"`), or None."""
        found = self.value(node)
        return spell(found) if isinstance(found, str) else None

    def imported(self, key: str, node: cst.BaseExpression) -> list[Read]:
        """An argument that reads names bound in other modules (`H * 2`, `cfg.H`, H and cfg
        imported) or the function's parameters: its key, its shape, `$n` standing for the n-th
        such name, and those names as the imports resolve them (`@#2` for parameter 2, `@units`
        for a keyword-only one), for the plan to link; none when it reads none."""
        names: list[str] = []
        shape = self._shape(node, names, 0)
        return [(key, shape, tuple(names))] if names else []

    def _shape(self, node: cst.CSTNode, names: list[str], depth: int) -> str:
        """`node` spelled with what decides it: known values as literals, names of other modules
        and parameters as `$n`, library names resolved, other run-time values (locals, `self.`)
        as `?`, a call as its callee's spelling over its arguments' shapes."""
        found = self.value(node) if isinstance(node, cst.BaseExpression) else _UNKNOWN
        if found is not _UNKNOWN:
            return spell(found) or "?"
        kind = type(node)
        if kind is cst.Name or kind is cst.Attribute:
            chain = dotted(node)  # type: ignore[arg-type]
            named = None if chain is None else self._named(chain, names, depth)
            if named is not None:
                return named
            if kind is cst.Name:
                return "?"
            inner = self._shape(node.value, names, depth + 1)  # type: ignore[attr-defined]
            return f"{inner}.{node.attr.value}"  # type: ignore[attr-defined]
        if depth > _DEPTH * 4:
            return "?"
        if kind is cst.Call:
            # What a function of another module returns is a run-time value, as any call's
            # (`modeling.get_activation(act)`): only what its arguments read decides.
            spelled = ".".join(dotted(node.func) or ("?",))  # type: ignore[attr-defined]
            inner = ", ".join(
                _arg_prefix(arg) + self._shape(arg.value, names, depth + 1)
                for arg in node.args  # type: ignore[attr-defined]
            )
            return f"{spelled}({inner})"
        parts = [self._shape(kid, names, depth + 1) for kid in kids(node)]
        operators: list[cst.CSTNode] = []
        if kind is cst.Comparison:
            operators = [c.operator for c in node.comparisons]  # type: ignore[attr-defined]
        elif kind in (cst.BinaryOperation, cst.BooleanOperation, cst.UnaryOperation):
            operators = [node.operator]  # type: ignore[attr-defined]
        elif kind is cst.Subscript:
            operators = [e.slice for e in node.slice]  # type: ignore[attr-defined]
        marks = "".join(f" {type(op).__name__}" for op in operators)
        return f"{kind.__name__}{marks}({', '.join(parts)})"

    def _named(self, parts: tuple[str, ...], names: list[str], depth: int) -> str | None:
        """A dotted name's shape: `$n` when its root is bound by an import of a module that is
        no library, the module value it is bound to (`H = cfg.H`), a library name resolved, a
        builtin or module-level definition by its name; None for a run-time value."""
        root, ctx = parts[0], self.ctx
        if root in self.params:  # what the caller passes (plan/roots.py binds it when it can)
            names.append("@" + self.params[root])
            return ".".join((f"${len(names) - 1}", *parts[1:]))
        if root == self.self_name or self.hidden(root):
            return None
        if root in ctx.aliases:
            resolved = ctx.resolve_final(parts) or ".".join(parts)
            if apis.is_library(resolved):
                return resolved
            names.append(resolved)
            return f"${len(names) - 1}"
        if ctx.star_local and root not in ctx.symbols and root not in _BUILTINS:
            names.append("*." + ".".join(parts))  # a free name through `from pkg.cfg import *`
            return f"${len(names) - 1}"
        if root in ctx.rebound:
            names.append(":" + ".".join(parts))  # bound more than once: this module's own
            return f"${len(names) - 1}"
        bound = ctx.values.get(root)
        if bound is not None and root not in ctx.function_imports and depth <= _DEPTH:
            return ".".join((self._shape(bound, names, depth + 1), *parts[1:]))
        if root in ctx.symbols or root in _BUILTINS:
            return ".".join(parts)
        return ctx.resolve_final(parts)  # a library name through `from keras.layers import *`

    def spread(self, arg: cst.Arg, params: tuple[str, ...]) -> list[tuple[str, str]] | None:
        """`**CFG` over a dict of known literals: its items as keyword arguments (keyed as
        record_layer keys them), else None."""
        if arg.star != "**":
            return None
        found = self.value(arg.value)
        if not isinstance(found, dict) or not all(isinstance(k, str) for k in found):
            return None
        out = []
        for key, item in found.items():
            if key in apis.NAME_KEYWORDS or apis.is_name_parameter(key):
                continue  # a name never decides a match
            text = spell(item)
            if text is None:
                return None
            out.append((f"#{params.index(key)}" if key in params else key, text))
        return out


def spell(found: Any) -> str | None:
    """repr of a value when it reads back as the same literal, else None."""
    if found is _UNKNOWN:
        return None
    try:
        text = repr(found)
        return text if literals.value(text, _UNKNOWN) == found else None
    except (ValueError, RecursionError):
        return None


def _safely(apply: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """An operation on two known values; _UNKNOWN when Python refuses it or it grows too big."""
    if isinstance(left, (str, list, tuple)) or isinstance(right, (str, list, tuple)):
        if apply is operator.mul:
            return _UNKNOWN  # `"a" * 10**9`: not worth the memory
    try:
        return apply(left, right)
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError):
        return _UNKNOWN


def _arg_prefix(arg: cst.Arg) -> str:
    """How a call's argument is passed: `*`, `**`, `key=` or positionally."""
    if arg.keyword is not None:
        return arg.keyword.value + "="
    return str(arg.star)
