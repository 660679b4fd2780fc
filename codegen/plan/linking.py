"""Links across the scanned tree: imports resolved as Python would, base classes, and what an
imported name stands for in an argument (`origin`).

Python finds `import modeling` on sys.path; the scanner does not know sys.path, so it tries what
real repositories rely on: the importing file's folder and each folder above it (the repository
root is one of them), nearest first. Relative imports go from the file's package; `*.name` (a
free name in a module with non-library star imports) is looked up in each star-imported module."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from codegen.ids import function_id, id_path, id_qualname
from codegen.model import ClassFacts, FunctionFacts, ModuleFacts
from codegen.names import is_generated_call
from codegen.scan import apis


class Project:
    """Every scanned module, indexed for resolving names across files."""

    def __init__(self, modules: Sequence[ModuleFacts], *, output_package: str = ""):
        self.modules = {m.path: m for m in modules if m.ok}
        self.output_package = output_package  # where generated code lives: "ours" means there
        self.functions: dict[str, FunctionFacts] = {}
        self.path_of: dict[str, str] = {}
        self.classes: dict[tuple[str, str], ClassFacts] = {}
        self.top_level: dict[str, set[str]] = {}
        for module in self.modules.values():
            names = self.top_level.setdefault(module.path, set())
            for function in module.functions:
                fid = function_id(module.path, function.qualname)
                self.functions[fid] = function
                self.path_of[fid] = module.path
                if function.kind == "function":
                    names.add(function.qualname)
            for cls in module.classes:
                self.classes[(module.path, cls.name)] = cls
                names.add(cls.name)
        # What each module binds its constants and class attributes to, for origin(): "=" and
        # a literal's repr, "~" and a class attribute's value hash, "" for anything else.
        self.values: dict[str, dict[str, str]] = {}
        for module in self.modules.values():
            values = self.values[module.path] = {}
            for symbol in module.symbols:
                if symbol.kind == "constant":
                    bound_before = symbol.name in values
                    literal = symbol.target and not bound_before  # bound twice: no one value
                    values[symbol.name] = "=" + symbol.target if literal else ""
                for attribute, digest in symbol.attributes:
                    values[f"{symbol.name}.{attribute}"] = "~" + digest
        self._module_cache: dict[tuple[str, str], str | None] = {}
        # Asked for every layer call of every function, several times per plan: memoized.
        self._callee: dict[tuple[str, str, bool, tuple[str, str] | None], str | None] = {}
        self._mro: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}  # method() asks often
        self._bindings: dict[str, dict[str, str]] = {}
        self.called: tuple[object, frozenset[str]] | None = None  # roots.called_functions

    def is_generated(self, dotted: str) -> bool:
        """A call into the generated code of this project's output package."""
        return is_generated_call(dotted, self.output_package)

    # -- modules --------------------------------------------------------------------------
    def module_path(self, dotted: str, importer: str) -> str | None:
        """The scanned file `dotted` names when imported from `importer`, or None."""
        key = (dotted, importer)
        if key not in self._module_cache:
            self._module_cache[key] = self._find_module(dotted, importer)
        return self._module_cache[key]

    def _find_module(self, dotted: str, importer: str) -> str | None:
        folders = importer.split("/")[:-1]
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            rest = dotted[level:]
            base = folders[: len(folders) - (level - 1)] if level - 1 <= len(folders) else []
            return self._file_in("/".join(base), rest)
        for depth in range(len(folders), -1, -1):
            found = self._file_in("/".join(folders[:depth]), dotted)
            if found is not None:
                return found
        return None

    def _file_in(self, folder: str, dotted: str) -> str | None:
        stem = "/".join(p for p in (folder, dotted.replace(".", "/")) if p)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if candidate in self.modules:
                return candidate
        return None

    def target(
        self, dotted: str, importer: str, seen: frozenset[str] = frozenset(), *, follow: bool = True
    ) -> tuple[str, str] | None:
        """(file, top-level name) that a resolved dotted callee names, or None when the name is
        not defined in a scanned file (a library, or code outside the scan). Names a scanned
        module only imports or aliases (a package `__init__` re-exporting `from .backbone import
        Encoder`, `bb = pkg.backbone`) are followed to their definition, to any depth."""
        if dotted.startswith("*."):
            return self._through_stars(dotted[2:], importer, set())
        for path, parts, cut in self._module_splits(dotted, importer):
            name = parts[cut]
            if name in self.top_level.get(path, ()):
                return path, ".".join(parts[cut:])
            found = self._through_stars(name, path, set())  # re-exported through a star
            if found is None and follow:
                found = self._reexport(path, name, parts[cut + 1 :], seen)
            if found is not None:
                return found
        return None

    def _reexport(
        self, path: str, name: str, rest: list[str], seen: frozenset[str]
    ) -> tuple[str, str] | None:
        """Where `name`, bound in module `path` by an import or an alias, is defined."""
        step = f"{path}:{name}"
        bound = self.bindings(path).get(name)
        if bound is None or step in seen or apis.is_library(bound):
            return None  # not bound there, a cycle of re-exports, or a library name
        return self.target(".".join([bound, *rest]), path, seen | {step})

    def origin(self, dotted: str, importer: str, seen: frozenset[str] = frozenset()) -> str:
        """What a name another module binds stands for in an argument (`from pkg.ca import H`):
        the literal a scanned module binds it to (`=32`), else where the scan defines it
        (`pkg/ca.py:H`), else its dotted name, made absolute when relative (outside the scan)."""
        if dotted.startswith("*."):
            return self._star_origin(dotted[2:], importer, seen)
        if dotted.startswith(":"):  # a name of the importer's own that no one assignment gives
            return importer + dotted
        for path, parts, cut in self._module_splits(dotted, importer):
            name, rest = parts[cut], parts[cut + 1 :]
            full = ".".join(parts[cut:])
            here, values = f"{path}:{full}", self.values.get(path, {})
            if full in values:  # a constant, or a class attribute (`Config.units`)
                return values[full] or here
            if name in values or name in self.top_level.get(path, ()):
                return here  # defined there: known by where
            bound, step = self.bindings(path).get(name), f"{path}:{name}"
            if bound is not None and step not in seen and not apis.is_library(bound):
                return self.origin(".".join([bound, *rest]), path, seen | {step})
            if bound is None and self.modules[path].star_imports:
                return self._star_origin(".".join(parts[cut:]), path, seen)
            return here
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            folders = importer.split("/")[:-1]
            package = folders[: len(folders) - (level - 1)] if level - 1 <= len(folders) else []
            return "/".join([*package, dotted[level:]])
        return dotted

    def imported_values(self, tokens: Sequence[str], importer: str) -> str:
        """What the imported names among a function's tokens (`A:.c.H`) stand for, when they
        name constants of scanned modules: one text (`from .c import H`, `from c import H`) in
        two packages reads two modules."""
        found = []
        for token in tokens:
            if token.startswith("A:") and not apis.is_library(token[2:]):
                origin = self.origin(token[2:], importer)
                path, _, name = origin.partition(":")
                if origin[:1] == "=" or name in self.values.get(path, {}):
                    found.append(origin)
        return "|" + ",".join(found) if found else ""

    def _star_origin(self, dotted: str, importer: str, seen: frozenset[str]) -> str:
        """origin() of a free name in a module with `from pkg.cfg import *`."""
        step = f"{importer}:*"
        module = self.modules.get(importer)
        if module is None or step in seen:
            return f"{importer}:*.{dotted}"
        first = dotted.split(".")[0]
        for star in module.star_imports:
            path = self.module_path(star, importer)
            if path is None:
                continue
            if (
                first in self.values.get(path, {})
                or first in self.top_level.get(path, ())
                or first in self.bindings(path)
                or self.modules[path].star_imports
            ):
                return self.origin(f"{star}.{dotted}", importer, seen | {step})
        return f"{importer}:*.{dotted}"

    def library_bindings(self, path: str) -> dict[str, str]:
        """Names `path` imports from scanned modules that stand there for a library module or API
        (`from kashgari.layers import L`, where kashgari/layers binds `L = keras.layers`), to any
        depth: what the extractor must know to read `L.Dense(...)` as the Keras layer it is."""
        out: dict[str, str] = {}
        for name, target in self.bindings(path).items():
            if not apis.is_library(target) and not target.startswith("*."):
                found = self._library_name(target, path, frozenset())
                if found is not None:
                    out[name] = found
        return out

    def layer_classes(self, path: str) -> tuple[str, ...]:
        """The Keras layer classes of other scanned modules that `path` imports, as its calls
        resolve them (`kashgari.layers.crf.CRF`): classes whose bases reach a Keras layer."""
        out = []
        for target in self.bindings(path).values():
            if target.startswith("*."):
                continue
            # A library's own source in the scan (keras_hub's layers/modeling): its classes are
            # the tree's code wherever they resolve to a scanned file.
            located = self.target(target, path)
            if located is not None and located[0] != path and self._keras_layer(located):
                out.append(target)
        return tuple(sorted(set(out)))

    def _keras_layer(self, located: tuple[str, str]) -> bool:
        if located not in self.classes:
            return False
        return any(
            apis.is_keras_layer(apis.normalize_api(base))
            for cls in self.mro(*located)
            for base in self.classes[cls].bases
        )

    def _module_splits(self, dotted: str, importer: str) -> Iterator[tuple[str, list[str], int]]:
        """Each way a dotted name splits into a scanned module and a name in it, the longest
        module first: (its path, the name's parts, where the name starts)."""
        level = len(dotted) - len(dotted.lstrip("."))
        parts = dotted[level:].split(".")
        for cut in range(len(parts) - 1, 0, -1):
            path = self.module_path("." * level + ".".join(parts[:cut]), importer)
            if path is not None:
                yield path, parts, cut

    def _library_name(self, dotted: str, importer: str, seen: frozenset[str]) -> str | None:
        for path, parts, cut in self._module_splits(dotted, importer):
            name, step = parts[cut], f"{path}:{parts[cut]}"
            bound = self.bindings(path).get(name)
            if name in self.top_level.get(path, ()) or bound is None or step in seen:
                return None  # defined there (user code), not bound there, or a cycle
            spelled = ".".join([bound, *parts[cut + 1 :]])
            if apis.is_library(bound):
                return spelled
            return self._library_name(spelled, path, seen | {step})
        return None

    def bindings(self, path: str) -> dict[str, str]:
        """The names a scanned module binds by imports and aliases, to what they resolve."""
        known = self._bindings.get(path)
        if known is None:
            module = self.modules.get(path)
            known = self._bindings[path] = dict(module.aliases) if module is not None else {}
        return known

    def _through_stars(self, name: str, importer: str, seen: set[str]) -> tuple[str, str] | None:
        module = self.modules.get(importer)
        if module is None or importer in seen:
            return None
        seen.add(importer)
        for star in module.star_imports:
            path = self.module_path(star, importer)
            if path is None:
                continue
            if name in self.top_level.get(path, ()):
                return path, name
            found = self._through_stars(name, path, seen)
            if found is not None:
                return found
        return None

    def star_library(self, name: str, importer: str, seen: set[str] | None = None) -> str | None:
        """The library name a chain of star imports gives `name` (`from keras.layers import *`
        in a scanned module that this one star-imports): `keras.layers.Input`, or None."""
        seen = set() if seen is None else seen
        module = self.modules.get(importer)
        if module is None or importer in seen:
            return None
        seen.add(importer)
        if name in self.top_level.get(importer, ()):
            return None  # defined (or imported by name) here, not through a library star
        if module.star_libraries:
            return f"{module.star_libraries[0]}.{name}"  # as the extractor resolves free names
        for star in module.star_imports:
            path = self.module_path(star, importer)
            found = self.star_library(name, path, seen) if path is not None else None
            if found is not None:
                return found
        return None

    # -- classes and callables ------------------------------------------------------------
    def callable_id(self, path: str, name: str) -> str | None:
        """Function id run when `name` (top-level in `path`) is called: a function, or a class's
        `__call__`/`__init__` (inherited ones included)."""
        fid = function_id(path, name)
        if fid in self.functions:
            return fid
        if (path, name) in self.classes:
            for method in ("__call__", "__init__"):
                found = self.method(path, name, method)
                if found is not None:
                    return found
        return None

    def resolve_class(self, spelled: str, path: str) -> tuple[str, str] | None:
        """A base class as spelled in `path` (local name or resolved dotted), located."""
        if (path, spelled) in self.classes:
            return path, spelled
        # Not through re-exports (yet): opennmt's catalog classes configure a generic model class
        # reached through `onmt.models`, which would then stop being a model (see roots).
        found = self.target(spelled, path, follow=False) if "." in spelled else None
        if found is None and "." not in spelled:
            found = self._through_stars(spelled, path, set())
        if found is not None and found in self.classes:
            return found
        return None

    def mro(self, path: str, name: str) -> tuple[tuple[str, str], ...]:
        """The class and its scanned bases, depth first (enough for the code TF1 models are)."""
        known = self._mro.get((path, name))
        if known is None:
            known = self._mro[(path, name)] = tuple(self._find_mro(path, name))
        return known

    def _find_mro(self, path: str, name: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        pending = [(path, name)]
        while pending:
            current = pending.pop(0)
            if current in out or current not in self.classes:
                continue
            out.append(current)
            cls = self.classes[current]
            for base in cls.bases:
                located = self.resolve_class(base, current[0])
                if located is not None:
                    pending.append(located)
        return out

    def method(self, path: str, name: str, method: str, *, after: bool = False) -> str | None:
        """The function id of `method` as an instance of (path, name) finds it; with `after`,
        the next definition after the class itself (what `super().method` finds)."""
        for index, (cpath, cname) in enumerate(self.mro(path, name)):
            if after and index == 0:
                continue
            if method in self.classes[(cpath, cname)].methods:
                return function_id(cpath, f"{cname}.{method}")
        return None

    def constructed_class(self, fid: str, callee: str, local: bool) -> str | None:
        """The class id (`path::Class`) a layer call in `fid` constructs, or None: the class
        itself, also when its constructor is inherited (`Relu(8)` runs `Base.__init__`)."""
        if not local and (
            apis.is_library(callee) or callee.startswith(("self.", "super.", "param."))
        ):
            return None
        path = self.path_of.get(fid) or id_path(fid)
        if local:
            owner = callee[: -len(".__init__")] if callee.endswith(".__init__") else callee
            return function_id(path, owner) if (path, owner) in self.classes else None
        located = self.target(callee, path)
        return function_id(*located) if located is not None and located in self.classes else None

    def callee(
        self, fid: str, callee: str, local: bool, class_ctx: tuple[str, str] | None
    ) -> str | None:
        """The function id a layer call in function `fid` reaches, or None (a library, unknown)."""
        key = (fid, callee, local, class_ctx)
        if key not in self._callee:
            self._callee[key] = self._find_callee(fid, callee, local, class_ctx)
        return self._callee[key]

    def _find_callee(
        self, fid: str, callee: str, local: bool, class_ctx: tuple[str, str] | None
    ) -> str | None:
        if not local and apis.is_library(callee):
            return None  # tf.layers.dense and friends: an API, never a scanned function
        path = self.path_of.get(fid) or id_path(fid)
        if local:
            found = function_id(path, callee)
            if found in self.functions:
                return found
            owner, _, method = callee.rpartition(".")
            if owner and (path, owner) in self.classes:
                return self.method(path, owner, method)
            return None
        if callee.startswith("param."):
            return None  # an attribute of an object passed in: nothing the scan can see into
        if callee.startswith("self."):
            if class_ctx is None:
                return None
            return self.method(class_ctx[0], class_ctx[1], callee[5:])
        if callee.startswith("super."):
            qualname = id_qualname(fid)
            owner = qualname.split(".", 1)[0]
            return self.method(path, owner, callee[6:], after=True) if "." in qualname else None
        located = self.target(callee, path)
        if located is None:
            return None
        tpath, name = located
        if "." in name:  # Class.method spelled through a module
            owner, _, method = name.partition(".")
            return self.method(tpath, owner, method)
        return self.callable_id(tpath, name)
