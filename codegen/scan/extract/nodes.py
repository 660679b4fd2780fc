"""Small questions about libcst nodes that every part of the extractor asks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import libcst as cst

from codegen.scan import apis

DOCSTRING_NODES = frozenset({cst.SimpleString, cst.ConcatenatedString})
BLOCK_STATEMENTS = frozenset({cst.If, cst.Try, cst.With, cst.For, cst.While})  # nest statements


def dotted(node: cst.BaseExpression) -> tuple[str, ...] | None:
    """`a.b.c` as ("a", "b", "c"), or None when the chain is not plain names."""
    # `type(...) is` rather than isinstance, here and on every hot path: libcst's node classes use
    # ABCMeta, whose isinstance is slow, and its concrete node classes are never subclassed.
    # The commonest chains first: `f` and `tf.f`.
    if type(node) is cst.Name:
        return (node.value,)
    if type(node) is cst.Attribute and type(node.value) is cst.Name:
        return (node.value.value, node.attr.value)
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        parts.reverse()
        return tuple(parts)
    return None


def name_argument(call: cst.Call, keywords: tuple[str, ...]) -> cst.BaseExpression | None:
    """The first positional argument, or the given keyword: where TF APIs take a name."""
    for index, arg in enumerate(call.args):
        if arg.keyword is None and index == 0 and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value in keywords:
            return arg.value
    return None


def is_docstring(statement: cst.CSTNode) -> bool:
    """True for a bare string expression statement."""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return False
    expression = statement.body[0]
    return type(expression) is cst.Expr and type(expression.value) in DOCSTRING_NODES


def decorator_name(decorator: cst.Decorator) -> str:
    """Dotted spelling of a decorator's callee, for recognising our own."""
    target = decorator.decorator
    if type(target) is cst.Call:
        target = target.func
    return ".".join(dotted(target) or ["?"])


def positional_params(node: cst.FunctionDef, *, method: bool) -> tuple[str, ...]:
    """Positional parameter names, dropping self/cls for methods."""
    parameters = node.params
    names = [p.name.value for p in parameters.params]
    if parameters.posonly_params:
        names = [p.name.value for p in parameters.posonly_params] + names
    return tuple(names[1:] if method and names else names)


def suite(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    """Statements of a suite, whether indented or on the header line."""
    return block.body if type(block) is cst.IndentedBlock else ()


def nested_blocks(statement: cst.CSTNode) -> list[Sequence[cst.BaseStatement]]:
    """Every nested statement list of a compound statement (if/else, try/except, loops, with)."""
    blocks: list[Sequence[cst.BaseStatement]] = []
    body = getattr(statement, "body", None)
    if isinstance(body, cst.BaseSuite):
        blocks.append(suite(body))
    for handler in getattr(statement, "handlers", ()) or ():
        blocks.append(suite(handler.body))
    for name in ("orelse", "finalbody"):
        other = getattr(statement, name, None)
        if type(other) is cst.If:
            blocks.extend(nested_blocks(other))
        elif other is not None and isinstance(getattr(other, "body", None), cst.BaseSuite):
            blocks.append(suite(other.body))
    return blocks


def kids(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """A node's sub-expressions, by hand for the common types: libcst's `children` rebuilds the
    nodes it returns, which costs more than the rest of the reading."""
    kind = type(node)
    if kind in _LEAVES:
        return ()
    if kind is cst.BinaryOperation or kind is cst.BooleanOperation:
        return (node.left, node.right)  # type: ignore[attr-defined]
    if kind is cst.UnaryOperation:
        return (node.expression,)  # type: ignore[attr-defined]
    if kind is cst.Comparison:
        return (node.left, *(c.comparator for c in node.comparisons))  # type: ignore[attr-defined]
    if kind is cst.List or kind is cst.Tuple or kind is cst.Set:
        return [e.value for e in node.elements]  # type: ignore[attr-defined]
    if kind is cst.Subscript:
        out: list[cst.CSTNode] = [node.value]  # type: ignore[attr-defined]
        for element in node.slice:  # type: ignore[attr-defined]
            index = element.slice
            if type(index) is cst.Index:
                out.append(index.value)
            else:
                out += [p for p in (index.lower, index.upper, index.step) if p is not None]
        return out
    if kind is cst.IfExp:
        return (node.test, node.body, node.orelse)  # type: ignore[attr-defined]
    if kind is cst.StarredElement or kind is cst.Arg or kind is cst.Expr:
        return (node.value,)  # type: ignore[attr-defined]
    if kind is cst.Call:
        return (node.func, *(arg.value for arg in node.args))  # type: ignore[attr-defined]
    if kind is cst.Attribute:
        return (node.value,)  # type: ignore[attr-defined]
    if kind is cst.SimpleStatementLine:
        return node.body  # type: ignore[attr-defined,no-any-return]
    if kind is cst.Assign:
        return (*(t.target for t in node.targets), node.value)  # type: ignore[attr-defined]
    # Statements: their parts that hold code, without the whitespace and keyword nodes.
    if kind is cst.IndentedBlock or kind is cst.SimpleStatementSuite:
        return node.body  # type: ignore[attr-defined,no-any-return]
    if kind is cst.Return:
        value = node.value  # type: ignore[attr-defined]
        return () if value is None else (value,)
    if kind is cst.AugAssign:
        return (node.target, node.value)  # type: ignore[attr-defined]
    if kind is cst.If or kind is cst.While:
        test, body, orelse = node.test, node.body, node.orelse  # type: ignore[attr-defined]
        return (test, body) if orelse is None else (test, body, orelse)
    if kind is cst.Else:
        return (node.body,)  # type: ignore[attr-defined]
    if kind is cst.For:
        parts = [node.target, node.iter, node.body]  # type: ignore[attr-defined]
        return parts if node.orelse is None else [*parts, node.orelse]  # type: ignore[attr-defined]
    if kind is cst.With:
        return [*(item.item for item in node.items), node.body]  # type: ignore[attr-defined]
    if kind is cst.Dict:
        out = []
        for element in node.elements:  # type: ignore[attr-defined]
            if type(element) is cst.DictElement:
                out += (element.key, element.value)
            else:
                out.append(element.value)
        return out
    if kind is cst.ListComp or kind is cst.SetComp or kind is cst.GeneratorExp:
        return (node.elt, node.for_in)  # type: ignore[attr-defined]
    if kind is cst.DictComp:
        return (node.key, node.value, node.for_in)  # type: ignore[attr-defined]
    if kind is cst.CompFor:
        parts = [node.target, node.iter, *(c.test for c in node.ifs)]  # type: ignore[attr-defined]
        inner = node.inner_for_in  # type: ignore[attr-defined]
        return parts if inner is None else [*parts, inner]
    if kind is cst.ConcatenatedString:
        return (node.left, node.right)  # type: ignore[attr-defined]
    return _code_kids(node, kind)


def _code_kids(node: cst.CSTNode, kind: type) -> Sequence[cst.CSTNode]:
    """kids() of the rarer types: those with code below them by hand, in `children` order,
    leaving out only parts that hold neither code nor a name (whitespace, keywords, a bare `*`
    or `/`); libcst's `children` for any other type."""
    if kind in _NO_CODE:
        return ()
    if kind is cst.Param:
        out: list[cst.CSTNode] = [node.name]  # type: ignore[attr-defined]
        if node.annotation is not None:  # type: ignore[attr-defined]
            out.append(node.annotation)  # type: ignore[attr-defined]
        if node.default is not None:  # type: ignore[attr-defined]
            out.append(node.default)  # type: ignore[attr-defined]
        return out
    if kind is cst.Parameters:
        out = [*node.posonly_params, *node.params]  # type: ignore[attr-defined]
        if type(node.star_arg) is cst.Param:  # type: ignore[attr-defined]
            out.append(node.star_arg)  # type: ignore[attr-defined]
        out += node.kwonly_params  # type: ignore[attr-defined]
        if node.star_kwarg is not None:  # type: ignore[attr-defined]
            out.append(node.star_kwarg)  # type: ignore[attr-defined]
        return out
    if kind is cst.FunctionDef or kind is cst.ClassDef:
        out = [*node.decorators, node.name]  # type: ignore[attr-defined]
        if getattr(node, "type_parameters", None) is not None:
            out.append(node.type_parameters)  # type: ignore[attr-defined]
        if kind is cst.FunctionDef:
            out.append(node.params)  # type: ignore[attr-defined]
            if node.returns is not None:  # type: ignore[attr-defined]
                out.append(node.returns)  # type: ignore[attr-defined]
        else:
            out += (*node.bases, *node.keywords)  # type: ignore[attr-defined]
        out.append(node.body)  # type: ignore[attr-defined]
        return out
    if kind is cst.Raise:
        return [part for part in (node.exc, node.cause) if part is not None]  # type: ignore[attr-defined]
    if kind is cst.Assert:
        msg = node.msg  # type: ignore[attr-defined]
        return (node.test,) if msg is None else (node.test, msg)  # type: ignore[attr-defined]
    if kind is cst.Lambda:
        return (node.params, node.body)  # type: ignore[attr-defined]
    if kind is cst.Yield:
        value = node.value  # type: ignore[attr-defined]
        return () if value is None else (value,)
    if kind is cst.Decorator or kind is cst.Annotation:
        return (node.decorator if kind is cst.Decorator else node.annotation,)  # type: ignore[attr-defined]
    if kind is cst.From:
        return (node.item,)  # type: ignore[attr-defined]
    if kind is cst.Del:
        return (node.target,)  # type: ignore[attr-defined]
    return node.children


# Statements without code or names below them (only their keyword and whitespace).
_NO_CODE = frozenset({cst.Pass, cst.Break, cst.Continue})
# Nodes without code below them: literals, names (only their parentheses), whitespace and
# punctuation, which `children` would rebuild for nothing.
_LEAVES = frozenset(
    {
        cst.Integer,
        cst.Float,
        cst.Imaginary,
        cst.SimpleString,
        cst.Ellipsis,
        cst.Name,
        cst.FormattedStringText,
        cst.TrailingWhitespace,
        cst.ParenthesizedWhitespace,
        cst.SimpleWhitespace,
        cst.EmptyLine,
        cst.Newline,
        cst.Comment,
        cst.Comma,
        cst.Colon,
        cst.Semicolon,
        cst.Dot,
        cst.AssignEqual,
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
    }
)


def is_name_argument(
    arg: cst.Arg, index: int, callee_api: str | None, params: tuple[str, ...]
) -> bool:
    """True for a string argument that gives a variable or scope name."""
    keyword = arg.keyword.value if arg.keyword is not None else None
    positional = params[index] if params and keyword is None and index < len(params) else None
    return bool(
        (keyword is not None and (keyword in apis.NAME_KEYWORDS or apis.is_name_parameter(keyword)))
        or (keyword is None and index == 0 and callee_api and apis.first_arg_is_name(callee_api))
        or (positional is not None and apis.is_name_parameter(positional))
    )


def name_assignments(
    statements: Iterable[cst.CSTNode],
) -> Iterator[tuple[str, cst.BaseExpression]]:
    """(name, value) of each plain `name = value` among these statements, in order."""
    for statement in statements:
        if type(statement) is not cst.SimpleStatementLine:
            continue
        for small in statement.body:  # type: ignore[attr-defined]
            if type(small) is not cst.Assign or len(small.targets) != 1:
                continue
            target = small.targets[0].target
            if type(target) is cst.Name:
                yield target.value, small.value


def stored_names(target: cst.BaseExpression) -> set[str]:
    """The names an assignment target binds (`H, W`, `[a, *rest]`); none for attributes."""
    if type(target) is cst.Name:
        return {target.value}
    if type(target) is cst.Tuple or type(target) is cst.List:
        return {n for e in target.elements for n in stored_names(e.value)}
    if type(target) is cst.StarredElement:
        return stored_names(target.value)
    return set()
