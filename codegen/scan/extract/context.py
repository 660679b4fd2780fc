"""The module context: the names a module binds (imports, aliases, defs, constants) and what they
resolve to, gathered before any function body is read."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import libcst as cst

from codegen.model import SymbolFacts
from codegen.scan import apis
from codegen.scan.extract.literals import literal
from codegen.scan.extract.nodes import (
    BLOCK_STATEMENTS,
    is_docstring,
    name_assignments,
    nested_blocks,
    positional_params,
    suite,
)
from codegen.scan.extract.nodes import dotted as dotted_name
from codegen.scan.extract.rebinding import last_binding, reads


@dataclass
class ModuleContext:
    """Module-level names, gathered before any function body is read."""

    aliases: dict[str, str] = field(default_factory=dict)
    # Each binding of a name in `rebound`, in order: (the library name it binds, or None for
    # any other value; whether it runs outside blocks; the index of the module statement it is
    # in), for `settle_rebound_aliases`.
    rebound_bindings: dict[str, list[tuple[str | None, bool, int]]] = field(default_factory=dict)
    statement_index: int = 0  # of the module statement being gathered
    bound_otherwise: frozenset[str] = frozenset()  # of `rebound`, those not only assigned
    # Module functions that only return a reference (`def pick(k=Dense): return k`): calling
    # what one returns makes what the scan cannot see (unseen).
    returners: set[str] = field(default_factory=set)
    # Names a class body binds to anything but a literal or a def (`k = tf.keras.layers.Dense`):
    # class -> names, whose calls (`Cfg.k(40)`) the scan cannot see into (unseen).
    class_values: dict[str, frozenset[str]] = field(default_factory=dict)
    functions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> params
    classes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)  # class -> methods
    constants: dict[str, str] = field(default_factory=dict)  # literal constants: name -> repr
    symbols: set[str] = field(default_factory=set)  # every module-level def, class and constant
    # Module-level names bound to a value made at import time (not a literal, not an alias):
    # name -> that expression (`ENCODER = build_encoder()`), for what calls on it reach (unseen).
    values: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # Literals a class body binds (`UNITS = 64`): class -> name -> repr (scan/extract/computed).
    class_constants: dict[str, dict[str, str]] = field(default_factory=dict)
    star_modules: list[str] = field(default_factory=list)
    star_local: list[str] = field(default_factory=list)  # star imports of non-library modules
    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # class -> bases as resolved
    # Library modules re-exported by a module of the project: (bound name, library), assumed.
    reexports: list[tuple[str, str]] = field(default_factory=list)
    tf1: bool = False  # set once the names are gathered: tf.X resolves to tf.compat.v1.X
    # Module functions that only build and return a layer object (a cell factory): name -> the
    # signature of what they return (objects.factories).
    factories: dict[str, str] = field(default_factory=dict)
    function_imports: frozenset[str] = frozenset()  # names a function body's own imports bind
    # Module names no one assignment gives the value of (`rebound_names`): never a constant.
    rebound: frozenset[str] = frozenset()
    # Imported Keras layer classes of other scanned modules, as their calls resolve
    # (`kashgari.layers.crf.CRF`): an instance makes its weights where it is first called.
    layer_classes: frozenset[str] = frozenset()
    # resolve() results, for the function walkers only: they run once the names above are final.
    resolved: dict[tuple[str, ...], str | None] = field(default_factory=dict)

    def resolve(self, parts: Sequence[str]) -> str | None:
        """Resolved dotted API for a name chain rooted at an import alias."""
        target = self.aliases.get(parts[0])
        if target is None:
            if self.star_modules and parts[0] not in self.symbols:
                target = f"{self.star_modules[0]}.{parts[0]}"
            else:
                return None
        resolved = apis.normalize_api(".".join([target, *parts[1:]]))
        return apis.tf1_flavour(resolved) if self.tf1 else resolved

    def keras_class(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether a class of this module derives from a Keras layer or model, through bases
        of this module (`class Gate(keras.layers.Layer)`, `class Gate(layers.Layer)`)."""
        for base in self.bases.get(name, ()):
            if base in self.classes:
                if base not in seen and self.keras_class(base, seen | {name}):
                    return True
                continue
            dotted = base if "." in base else self.resolve((base,)) or base  # a star import
            if apis.is_library(dotted) and {"keras", "tf_keras"} & set(dotted.split(".")):
                return True
        return False

    def resolve_final(self, parts: tuple[str, ...]) -> str | None:
        """resolve(), memoized: only once the module's names are all gathered."""
        result = self.resolved.get(parts, "")  # "" is never a resolution: it means "not yet"
        if result == "":
            result = self.resolved[parts] = self.resolve(parts)
        return result


def import_bindings(node: cst.Import | cst.ImportFrom) -> list[tuple[str, str, str]]:
    """(bound name, resolved target, canonical statement) for each name an import binds."""
    out: list[tuple[str, str, str]] = []
    if isinstance(node, cst.Import):
        for alias in node.names:
            dotted = dotted_name(alias.name) or ()
            full = ".".join(dotted)
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                bound = alias.asname.name.value
                out.append((bound, full, f"import {full} as {bound}"))
            elif dotted:
                out.append((dotted[0], dotted[0], f"import {full}"))
        return out
    if isinstance(node.names, cst.ImportStar):
        return out
    module = ".".join(dotted_name(node.module) or []) if node.module is not None else ""
    if node.relative:  # `from . import modeling`: resolved against the file's package later
        module = "." * len(node.relative) + module
    for alias in node.names:
        name = alias.name.value if type(alias.name) is cst.Name else ""
        bound = name
        if alias.asname is not None and type(alias.asname.name) is cst.Name:
            bound = alias.asname.name.value
        statement = f"from {module} import {name}" + (f" as {bound}" if bound != name else "")
        target = f"{module}{name}" if module.endswith(".") else f"{module}.{name}"
        out.append((bound, target, statement))
    return out


def gather_module(
    ctx: ModuleContext,
    statements: Sequence[cst.BaseStatement],
    symbols: list[SymbolFacts],
    *,
    top: bool = True,
) -> None:
    """Module-level names (imports, aliases, functions, classes, constants) into `ctx`; the
    import bindings also into `symbols`; `top`: the statements run in order, outside blocks."""
    for index, statement in enumerate(statements):
        if top:
            ctx.statement_index = index
        if type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                _gather_small(ctx, small, symbols, top=top)
        elif type(statement) is cst.FunctionDef:
            ctx.functions[statement.name.value] = positional_params(statement, method=False)
            ctx.symbols.add(statement.name.value)
            if _returns_a_reference(ctx, statement):
                ctx.returners.add(statement.name.value)
        elif type(statement) is cst.ClassDef:
            methods = {
                s.name.value: positional_params(s, method=True)
                for s in statement.body.body
                if type(s) is cst.FunctionDef
            }
            ctx.classes[statement.name.value] = methods
            ctx.class_constants[statement.name.value] = _class_literals(ctx, statement)
            ctx.class_values[statement.name.value] = _class_values(ctx, statement)
            ctx.bases[statement.name.value] = _bases(ctx, statement)
            ctx.symbols.add(statement.name.value)
        elif type(statement) in BLOCK_STATEMENTS:
            # Conditional imports (try/except ImportError) still bind the names used below.
            for block in nested_blocks(statement):
                gather_module(ctx, block, symbols, top=False)
    if top:
        settle_rebound_aliases(ctx, statements, symbols)


def _returns_a_reference(ctx: ModuleContext, node: cst.FunctionDef) -> bool:
    """Whether a function's body only returns a parameter or a library name, uncalled (`return
    k`, `return tf.keras.layers.GRU`), after its docstring."""
    body = [s for s in suite(node.body) if not is_docstring(s)]
    if len(body) != 1 or type(body[0]) is not cst.SimpleStatementLine:
        return False
    small = body[0].body[0]
    if type(small) is not cst.Return or small.value is None:
        return False
    parts = dotted_name(small.value)
    if not parts:
        return False
    params = node.params
    names = {p.name.value for p in (*params.params, *params.posonly_params, *params.kwonly_params)}
    return parts[0] in names or parts[0] in ctx.aliases


def _class_values(ctx: ModuleContext, node: cst.ClassDef) -> frozenset[str]:
    """The names a class body binds to anything but a literal (`k = tf.keras.layers.Dense`)."""
    out: set[str] = set()
    for statement in node.body.body:
        if type(statement) is not cst.SimpleStatementLine:
            continue
        for small in statement.body:
            if type(small) is cst.Assign and literal(small.value, ctx.constants) is None:
                out.update(t.target.value for t in small.targets if type(t.target) is cst.Name)
    return frozenset(out)


def _class_literals(ctx: ModuleContext, node: cst.ClassDef) -> dict[str, str]:
    """The names a class body binds once, each to a literal (a name bound twice is none)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, bound in name_assignments(node.body.body):
        value = None if name in seen else literal(bound, ctx.constants)
        seen.add(name)
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def _gather_small(
    ctx: ModuleContext, small: cst.BaseSmallStatement, symbols: list[SymbolFacts], *, top: bool
) -> None:
    if type(small) is cst.Import or type(small) is cst.ImportFrom:
        if type(small) is cst.ImportFrom and type(small.names) is cst.ImportStar:
            module = ".".join(dotted_name(small.module) or []) if small.module is not None else ""
            if small.relative:
                ctx.star_local.append("." * len(small.relative) + module)
            elif apis.is_library(module):
                ctx.star_modules.append(module)
            elif module:
                ctx.star_local.append(module)
            return
        for bound, target, statement in import_bindings(small):
            library = _reexported_library(small, target)
            if library is not None:
                target, statement = library, _import_statement(library, bound)
                ctx.reexports.append((bound, library))
            if {ctx.aliases.get(bound), target} == _KERAS_ALTERNATIVES:
                # `try: import tf_keras as keras / except ImportError: import keras`: whichever
                # is installed, the name is the Keras library, spelled as Keras spells it.
                ctx.aliases[bound] = "keras"
            ctx.aliases.setdefault(bound, target)
            symbols.append(SymbolFacts(bound, "import", 1, target, (), statement, target))
        return
    if type(small) is cst.Assign or type(small) is cst.AnnAssign:
        targets = small.targets if isinstance(small, cst.Assign) else [small]
        if len(targets) != 1 or type(targets[0].target) is not cst.Name or small.value is None:
            return
        name = targets[0].target.value
        if name in ctx.aliases:
            return  # `except ImportError: tf = None` does not undo the import above it
        parts = dotted_name(small.value)
        resolved = ctx.resolve(parts) if parts and parts[0] not in ctx.symbols else None
        if name in ctx.rebound:
            ctx.symbols.add(name)  # bound again elsewhere: a module value the scan cannot know
            binding = (resolved, top, ctx.statement_index)
            ctx.rebound_bindings.setdefault(name, []).append(binding)
            return
        if resolved is not None:
            _bind_alias(ctx, name, resolved, symbols)  # `tf1 = tf.compat.v1`: not a constant
            return
        value = literal(small.value, ctx.constants)
        if value is not None:
            ctx.constants[name] = value
        else:
            ctx.values[name] = small.value
        ctx.symbols.add(name)


def _bind_alias(ctx: ModuleContext, name: str, resolved: str, symbols: list[SymbolFacts]) -> None:
    """Bind a module name assigned a library name to it, as the import that would bind it."""
    ctx.aliases.setdefault(name, resolved)
    module, _, leaf = resolved.rpartition(".")
    statement = f"from {module} import {leaf} as {name}" if module else f"import {leaf} as {name}"
    symbols.append(SymbolFacts(name, "import", 1, resolved, (), statement, resolved))


def settle_rebound_aliases(
    ctx: ModuleContext, statements: Sequence[cst.BaseStatement], symbols: list[SymbolFacts]
) -> None:
    """A module name bound more than once to library names (`K = GRU`, later `K = Dense`) is an
    alias of the one the module's functions see, when it is known (`last_binding`) and nothing
    between its bindings reads it (a default, a class body or module code would see another);
    else it stays a module value the scan cannot know (a call of it is unseen: CG230)."""
    for name, bindings in ctx.rebound_bindings.items():
        resolved = last_binding([(api, top) for api, top, _ in bindings])
        if resolved is None or name in ctx.aliases or name in ctx.bound_otherwise:
            continue
        between = statements[bindings[0][2] : bindings[-1][2] + 1]
        if not any(reads(statement, name) for statement in between):
            ctx.symbols.discard(name)
            _bind_alias(ctx, name, resolved, symbols)


# The two spellings of the Keras library that a module tries in turn.
_KERAS_ALTERNATIVES = {"tf_keras", "keras"}


def _reexported_library(node: cst.Import | cst.ImportFrom, target: str) -> str | None:
    """`from ...modeling_tf_utils import keras`: a library module that a module of the project
    imported and re-exports (after `try: import tf_keras as keras / except ImportError: import
    keras`). Python gives the importer that very module, so it is the library here too."""
    if type(node) is not cst.ImportFrom:
        return None
    module, _, name = target.rpartition(".")
    # `from . import keras` names a module of the package itself, not something it re-exports.
    if not module.strip(".") or apis.is_library(module.lstrip(".")):
        return None
    if name not in apis.LIBRARY_ROOTS:
        return None
    return name


def _import_statement(library: str, bound: str) -> str:
    """The import that binds `bound` to the library module itself (what layers_common copies)."""
    return f"import {library}" if bound == library else f"import {library} as {bound}"


def _bases(ctx: ModuleContext, node: cst.ClassDef) -> tuple[str, ...]:
    """A class's bases: local class names as they are, imported ones resolved (`object` dropped)."""
    out = []
    for base in node.bases:
        parts = dotted_name(base.value)
        if not parts or parts == ("object",):
            continue
        out.append(
            ctx.resolve(parts) or ".".join(parts) if parts[0] in ctx.aliases else ".".join(parts)
        )
    return tuple(out)


def local_imports(statements: Sequence[cst.BaseStatement]) -> dict[str, str]:
    """Names a function body binds by its own imports (`from pkg import modeling` inside
    `create_model`), branches included, nested defs and classes not: they have their own scope."""
    out: dict[str, str] = {}
    for statement in statements:
        if type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                if type(small) is cst.Import or (
                    type(small) is cst.ImportFrom and type(small.names) is not cst.ImportStar
                ):
                    for bound, target, _ in import_bindings(small):
                        out.setdefault(bound, target)
        elif type(statement) in BLOCK_STATEMENTS:
            for block in nested_blocks(statement):
                for bound, target in local_imports(block).items():
                    out.setdefault(bound, target)
    return out


def function_context(
    ctx: ModuleContext, statements: Sequence[cst.BaseStatement], text: str
) -> ModuleContext:
    """The context a function body resolves names in: the module's, plus the names its own imports
    bind, which hide module-level names as Python's local scope does. The module's own context
    when the body imports nothing (nearly always)."""
    bound = local_imports(statements)
    if not bound:
        return ctx
    hidden = set(bound)
    local = replace(
        ctx,
        aliases={**ctx.aliases, **bound},
        functions={k: v for k, v in ctx.functions.items() if k not in hidden},
        classes={k: v for k, v in ctx.classes.items() if k not in hidden},
        constants={k: v for k, v in ctx.constants.items() if k not in hidden},
        symbols=ctx.symbols - hidden,
        rebound=ctx.rebound - hidden,
        function_imports=ctx.function_imports | hidden,
        resolved={},
    )
    plain = [alias for alias, target in bound.items() if target == "tensorflow"]
    if plain and not ctx.tf1:
        names = "|".join(re.escape(alias) for alias in plain)
        local.tf1 = re.search(rf"\b(?:{names})\.(?:{_TF1_ONLY})", text) is not None
    return local


# APIs only TF1 has at the top of `tensorflow` (TF2 moved them under tf.compat.v1 or removed them).
_TF1_ONLY = (
    r"placeholder|get_variable|variable_scope|Session|InteractiveSession|contrib|layers\.|"
    r"nn\.rnn_cell|global_variables_initializer|initialize_all_variables|random_normal|"
    r"random_uniform|truncated_normal|train\.\w*Optimizer|train\.Saver|get_collection|"
    r"add_to_collection|GraphKeys|trainable_variables|to_float|to_int32|logging\.info|app\.flags|"
    r"truncated_normal_initializer|random_normal_initializer|global_variables|reset_default_graph"
)


def settle(
    ctx: ModuleContext, text: str, symbols: list[SymbolFacts]
) -> tuple[tuple[str, str], ...]:
    """Final touches once a module's names are gathered: `tf` through a star import, TF1 flavour.

    Returns the names taken to come through star imports or re-exported library imports."""
    assumed: tuple[tuple[str, str], ...] = ()
    if ctx.star_local and "tf" not in ctx.aliases and "tf" not in ctx.symbols and "tf." in text:
        # `from utils.prepare_data import *` where that module imports tensorflow as tf: the
        # only way real code uses a `tf` it never binds. The plan checks the star module says so.
        ctx.aliases["tf"] = "tensorflow"
        symbols.append(
            SymbolFacts(
                "tf", "import", 1, "tensorflow", (), "import tensorflow as tf", "tensorflow"
            )
        )
        assumed = (("tf", "tensorflow"),)
    assumed += tuple(ctx.reexports)
    plain = [alias for alias, target in ctx.aliases.items() if target == "tensorflow"]
    if plain:
        names = "|".join(re.escape(alias) for alias in plain)
        ctx.tf1 = re.search(rf"\b(?:{names})\.(?:{_TF1_ONLY})", text) is not None
    return assumed


def closure_context(ctx: ModuleContext, outer: Mapping[str, str | None]) -> ModuleContext:
    """The context a nested function resolves names in: its enclosing function's, where each
    name that function binds (`outer`: name -> the literal it is bound to once, or None) hides
    the module's, and a local bound once to a literal (`u = 64`) stands for it, as a closure
    reads it."""
    if not outer:
        return ctx
    literals = {name: value for name, value in outer.items() if value is not None}
    return replace(
        ctx,
        aliases={k: v for k, v in ctx.aliases.items() if k not in outer},
        functions={k: v for k, v in ctx.functions.items() if k not in outer},
        classes={k: v for k, v in ctx.classes.items() if k not in outer},
        constants={**{k: v for k, v in ctx.constants.items() if k not in outer}, **literals},
        values={k: v for k, v in ctx.values.items() if k not in outer},
        symbols=ctx.symbols - set(outer),
        rebound=ctx.rebound - set(outer),
        function_imports=ctx.function_imports - set(outer),
        resolved={},
    )
