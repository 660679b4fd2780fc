"""Group builders into clone classes (exact or renamed, deep-equivalent) and find near-misses."""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from codegen import stable_hash
from codegen.ids import function_id, id_path, id_qualname
from codegen.lines import split_lines
from codegen.model import Builder, CloneClass, FunctionFacts, ModuleFacts, NearMiss
from codegen.plan.classes import KerasKind, class_prints, keras_classes, read_attributes
from codegen.plan.drivers import is_driver
from codegen.plan.identity import builder_identity as builder_identity
from codegen.plan.identity import call_signature as call_signature
from codegen.plan.identity import canonical_params as canonical_params
from codegen.plan.identity import labelled_args as labelled_args
from codegen.plan.identity import references as references
from codegen.plan.linking import Project
from codegen.plan.scores import ScoreMemo

# Near-misses differ in a handful of values; more than this is simply different code.
MAX_NEAR_MISS_DIFFERENCES = 3
# Two same-name bodies are a near-miss only when this share of their code (and half their
# lines) match.
MIN_ALIKE = 0.6
# Bound on reported near-miss pairs per group, so a large tree stays readable.
MAX_PAIRS_PER_GROUP = 6


@dataclass(frozen=True)
class Fingerprints:
    """Output of this stage: every function's verdict, the clone classes and the near-misses."""

    builders: tuple[Builder, ...]
    clone_classes: tuple[CloneClass, ...]
    near_misses: tuple[NearMiss, ...]
    class_of: dict[str, str]  # builder id -> clone class id
    creates: frozenset[str]  # ids of functions that create variables, directly or not
    closure_hash: dict[str, str]  # function (or module-level symbol) id -> deep-equivalence hash
    # Keras layer and model classes (path, class), and each one's whole-class identity and clone
    # class by class id "path::Class" (see plan/classes.py).
    keras_classes: dict[tuple[str, str], KerasKind] = field(default_factory=dict)
    class_identity: dict[str, str] = field(default_factory=dict)
    class_clone_of: dict[str, str] = field(default_factory=dict)
    # Function near-misses wait for the models (`with_near_misses`): what they are searched in.
    search: NearMissSearch | None = field(default=None, compare=False, repr=False)

    def with_near_misses(self, model_functions: set[str]) -> Fingerprints:
        """These fingerprints with the function near-misses added; the models' own functions
        (`model_functions`: a build function, a model class's building methods) are not
        candidates: models are expected to differ, and a near-miss explains a layer."""
        if self.search is None:
            return self
        found = self.search.find(model_functions)
        return replace(
            self,
            near_misses=tuple(sorted(found + self.near_misses, key=lambda n: (n.a, n.b))),
            search=None,
        )


@dataclass(frozen=True)
class NearMissSearch:
    """What the function near-miss search needs, kept from `fingerprint` for after the models."""

    graph: _Graph
    closure: dict[str, str]
    creates: frozenset[str]
    texts: _Texts

    def find(self, excluded: set[str]) -> tuple[NearMiss, ...]:
        """Near-misses among the variable-creating functions outside `excluded`."""
        candidates = [f for f in sorted(self.graph.functions) if f in self.creates]
        return _near_misses(
            self.graph, [f for f in candidates if f not in excluded], self.closure, self.texts
        )


class _Graph:
    """Module-local symbols of every module: what each function or symbol depends on."""

    def __init__(self, modules: Sequence[ModuleFacts], project: Project):
        self.project = project
        self.functions: dict[str, FunctionFacts] = {}
        self.module_of: dict[str, ModuleFacts] = {}
        self.shallow: dict[str, str] = {}
        self.deps: dict[str, tuple[str, ...]] = {}
        self.by_module_path: dict[str, ModuleFacts] = {}
        for module in modules:
            if not module.ok:
                continue
            self.by_module_path[module.path] = module
            symbols = {s.name: s for s in module.symbols if s.kind != "import"}
            top_functions = {f.qualname for f in module.functions}

            def resolve(
                name: str,
                module: ModuleFacts = module,
                symbols: dict = symbols,
                top: set = top_functions,
            ) -> str | None:
                if name in top or name in symbols:
                    return function_id(module.path, name)
                return None

            for function in module.functions:
                fid = function_id(module.path, function.qualname)
                self.functions[fid] = function
                self.module_of[fid] = module
                values = project.imported_values(function.literals, module.path)
                self.shallow[fid] = "fn:" + function.renamed_hash + values
                self.deps[fid] = tuple(d for d in (resolve(n) for n in function.deps) if d)
            for symbol in symbols.values():
                sid = function_id(module.path, symbol.name)
                self.shallow[sid] = f"{symbol.kind}:{symbol.shallow_hash}"
                if symbol.attributes:  # `kernel_size = 3`: decides when building reads it
                    read = read_attributes(project, module.path, symbol.name)
                    self.shallow[sid] += "|" + read
                deps = [resolve(n) for n in symbol.deps if "." not in n]
                methods = [function_id(module.path, n) for n in symbol.deps if "." in n]
                self.deps[sid] = tuple(d for d in (*deps, *methods) if d)

    def creating(self, keras: dict[tuple[str, str], KerasKind]) -> frozenset[str]:
        """Functions that create variables directly, or by calling one that does (fixed point);
        a Keras class's constructor creates what its `build` and `call` create."""
        drivers = {fid for fid in self.functions if is_driver(self.project, fid)}  # never count
        creates = {
            fid for fid, f in self.functions.items() if f.direct_creation and fid not in drivers
        }
        for fid, function in self.functions.items():
            if any(self.project.is_generated(call) for call in function.external_calls):
                creates.add(fid)
        callers: dict[str, list[str]] = defaultdict(list)
        for fid, function in self.functions.items():
            if fid in drivers:
                continue
            module = self.module_of[fid]
            for callee in function.local_calls:
                callers[function_id(module.path, callee)].append(fid)
            owner = function.qualname.split(".", 1)[0]
            context = (module.path, owner) if (module.path, owner) in self.project.classes else None
            for call in function.layer_calls:
                if call.local:
                    continue
                target = self.project.callee(fid, call.callee, False, context)
                if target:
                    callers[target].append(fid)
        for path, name in keras:
            # A class that inherits its constructor from Keras: `path::Class.__init__` stands
            # for it (what a call of the class records), so the class is a builder all the same.
            constructor = self.project.callable_id(path, name) or function_id(
                path, f"{name}.__init__"
            )
            for cpath, cname in self.project.mro(path, name):
                for method in self.project.classes[(cpath, cname)].methods:
                    callers[function_id(cpath, f"{cname}.{method}")].append(constructor)
        pending = list(creates)
        while pending:
            callee = pending.pop()
            for caller in callers.get(callee, ()):
                if caller not in creates:
                    creates.add(caller)
                    pending.append(caller)
        return frozenset(creates)

    def closure_hashes(self) -> dict[str, str]:
        """Deep-equivalence hash: a function's renamed form plus, recursively, what it uses."""
        memo: dict[str, str] = {}

        def visit(node: str, stack: list[str]) -> tuple[str, int]:
            if node in memo:
                return memo[node], len(stack)
            if node in stack:
                depth = stack.index(node)
                return f"cycle:{len(stack) - depth}", depth
            stack.append(node)
            lowest = len(stack)
            parts = [self.shallow.get(node, "?")]
            for dep in self.deps.get(node, ()):
                digest, reached = visit(dep, stack)
                parts.append(digest)
                lowest = min(lowest, reached)
            stack.pop()
            digest = stable_hash("|".join(parts))
            if lowest >= len(stack):  # not part of a cycle still open above: safe to reuse
                memo[node] = digest
            return digest, lowest

        return {node: visit(node, [])[0] for node in (*self.functions, *self.shallow)}


def fingerprint(
    modules: Sequence[ModuleFacts], *, project: Project, memo: ScoreMemo | None = None
) -> Fingerprints:
    """Clone classes over variable-creating functions, with deep equivalence, plus the classes'
    near-misses (the functions' come with the models: `Fingerprints.with_near_misses`).
    `memo`: near-miss scores of earlier runs (read and extended here)."""
    graph = _Graph(modules, project)
    creates = graph.creating(keras_classes(project))
    closure = graph.closure_hashes()
    groups: dict[str, list[str]] = defaultdict(list)
    for fid in sorted(graph.functions):
        if fid in creates:
            groups[closure[fid]].append(fid)
    # A builder that some model imports from generated code is shared even with one definition left.
    imported = {
        call.rpartition(".")[2]
        for function in graph.functions.values()
        for call in function.external_calls
        if graph.project.is_generated(call)
    }
    classes = _clone_classes(graph, groups, imported)
    class_of = {member: c.id for c in classes for member in c.members}
    builders = tuple(
        Builder(
            id=fid,
            path=graph.module_of[fid].path,
            qualname=f.qualname,
            line=f.line,
            creates_variables=fid in creates,
            clone_class=class_of.get(fid),
        )
        for fid, f in sorted(graph.functions.items())
    )
    texts = _Texts(graph, memo)

    def methods_apart(a: str, b: str) -> NearMiss | None:
        if a not in graph.functions or b not in graph.functions or closure[a] == closure[b]:
            return None
        found = _reason(graph, a, b, closure, texts)
        return None if found is None else NearMiss(a, b, found[0], texts.diff(*found[1:]))

    whole = class_prints(
        project,
        closure,
        creates,
        first_id=len(classes) + 1,
        near_miss=methods_apart,
    )
    return Fingerprints(
        builders,
        _yield_names(classes, whole.clone_classes) + whole.clone_classes,
        tuple(sorted(whole.near_misses, key=lambda n: (n.a, n.b))),
        class_of,
        creates,
        closure,
        whole.kinds,
        whole.identity,
        whole.class_of,
        NearMissSearch(graph, closure, creates, texts),
    )


def _yield_names(
    functions: tuple[CloneClass, ...], classes: tuple[CloneClass, ...]
) -> tuple[CloneClass, ...]:
    """A Keras class's clone class is named after the class (`ConvBlock`); a clone class of
    its constructor, named so too, takes the next free name."""
    wanted = {c.name for c in classes}
    taken = wanted | {c.name for c in functions}
    out = []
    for clone in functions:
        if clone.name in wanted:
            n = 2
            while f"{clone.name}_{n}" in taken:
                n += 1
            taken.add(f"{clone.name}_{n}")
            clone = replace(clone, name=f"{clone.name}_{n}")
        out.append(clone)
    return tuple(out)


def clone_name(function: FunctionFacts) -> str:
    """A class used as a layer is named by its class (`Encoder.__call__` -> `Encoder`); any
    other method by its own name (`instantiate_weights`), as a function is."""
    parts = function.qualname.split(".")
    if function.kind == "method" and len(parts) > 1 and function.name in ("__init__", "__call__"):
        return parts[-2]
    return function.name


def _clone_classes(
    graph: _Graph, groups: dict[str, list[str]], imported: set[str]
) -> tuple[CloneClass, ...]:
    drafts: list[tuple[str, str, str, tuple[str, ...], str]] = []
    for digest, members in groups.items():
        if len(members) < 2 and clone_name(graph.functions[members[0]]) not in imported:
            continue
        exact = Counter(graph.functions[m].exact_hash for m in members)
        # The canonical copy is the most common spelling, then the first by id: stable and typical.
        # A TF1-flavoured copy (`import tensorflow as tf`, tf.layers...) last: generated code
        # runs on TF2, where only the compat.v1 spelling of those APIs exists.
        canonical = min(
            members,
            key=lambda m: (-exact[graph.functions[m].exact_hash], graph.module_of[m].tf1, m),
        )
        kind = "exact" if len(exact) == 1 else "renamed"
        drafts.append(
            (clone_name(graph.functions[canonical]), canonical, kind, tuple(members), digest)
        )
    drafts.sort()
    used: Counter[str] = Counter()
    out = []
    for index, (name, canonical, kind, member_ids, digest) in enumerate(drafts, start=1):
        used[name] += 1
        unique = name if used[name] == 1 else f"{name}_{used[name]}"
        out.append(CloneClass(f"C{index}", kind, unique, canonical, member_ids, digest))  # type: ignore[arg-type]
    return tuple(out)


def _near_misses(
    graph: _Graph, builders: list[str], closure: dict[str, str], texts: _Texts
) -> tuple[NearMiss, ...]:
    """Pairs alike in shape (or name) but not equivalent; one representative per clone class."""
    seen: set[tuple[str, str]] = set()
    out: list[NearMiss] = []
    for key_of in (lambda f: "shape:" + f.skeleton_hash, lambda f: "name:" + f.name):
        groups: dict[str, dict[str, str]] = defaultdict(dict)
        for fid in builders:
            groups[key_of(graph.functions[fid])].setdefault(closure[fid], fid)
        for representatives in groups.values():
            reps = sorted(representatives.values())
            pairs = [(a, b) for i, a in enumerate(reps) for b in reps[i + 1 :]]
            for a, b in pairs[:MAX_PAIRS_PER_GROUP]:
                if (a, b) in seen:
                    continue
                found = _reason(graph, a, b, closure, texts)
                if found is None:
                    continue
                reason, shown_a, shown_b = found
                seen.add((a, b))
                out.append(NearMiss(a, b, reason, texts.diff(shown_a, shown_b)))
    return tuple(sorted(out, key=lambda n: (n.a, n.b)))


def _reason(
    graph: _Graph, a: str, b: str, closure: dict[str, str], texts: _Texts
) -> tuple[str, str, str] | None:
    """Why two alike builders are kept apart (and which definitions to diff), or None."""
    fa, fb = graph.functions[a], graph.functions[b]
    if fa.renamed_hash == fb.renamed_hash:
        for dep_a, dep_b in zip(graph.deps.get(a, ()), graph.deps.get(b, ()), strict=False):
            if closure.get(dep_a, graph.shallow.get(dep_a)) != closure.get(
                dep_b, graph.shallow.get(dep_b)
            ):
                name_a, name_b = id_qualname(dep_a), id_qualname(dep_b)
                reason = (
                    f"same code, but it uses `{name_a}` ({id_path(dep_a)}) and `{name_b}` "
                    f"({id_path(dep_b)}), which differ"
                )
                if dep_a in graph.functions and dep_b in graph.functions:
                    return reason, dep_a, dep_b
                return reason, a, b
        return "same code, but the helpers, classes or constants it uses differ", a, b
    if fa.skeleton_hash == fb.skeleton_hash and len(fa.literals) == len(fb.literals):
        differences = [(x, y) for x, y in zip(fa.literals, fb.literals, strict=True) if x != y]
        if 0 < len(differences) <= MAX_NEAR_MISS_DIFFERENCES:
            return "differs only in " + "; ".join(_describe(x, y) for x, y in differences), a, b
        return None
    if fa.name == fb.name:
        verdict = texts.alike(a, b)
        if verdict is not None:
            shared, total = verdict
            return (
                f"same name `{fa.name}`, different code ({total - shared} of {total} lines differ)",
                a,
                b,
            )
    return None


_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Definition:
    """What near-miss scoring compares of one definition: its code lines and tokens."""

    lines: tuple[str, ...]  # stripped, without docstring-looking and comment-only lines
    tokens: tuple[str, ...]
    counts: Counter[str]  # the token multiset, for the cheap upper bound


def definition(module: ModuleFacts, function: FunctionFacts) -> Definition:
    """A definition's lines and tokens as near-miss scoring sees them."""
    body = definition_lines(module, function)
    lines = tuple(line.strip() for line in body if not line.strip().startswith(('"', "'")))
    tokens = tuple(_WORD.findall("\n".join(lines)))
    return Definition(lines, tokens, Counter(tokens))


class _Texts:
    """Each definition's lines and tokens, computed once per scan (one builder is in many pairs),
    and the pair scores and diffs over them, by their inputs across runs (`ScoreMemo`)."""

    def __init__(self, graph: _Graph, scores: ScoreMemo | None = None):
        self.graph = graph
        self.memo: dict[str, Definition] = {}
        self.scores = ScoreMemo() if scores is None else scores

    def source(self, fid: str) -> str:
        """What `definition_lines` reads of a definition: its module's bytes and its span."""
        module, function = self.graph.module_of[fid], self.graph.functions[fid]
        return f"{module.digest}:{function.line}:{function.end_line}"

    def alike(self, a: str, b: str) -> tuple[int, int] | None:
        """`alike_bounded` of two definitions, reused when both are unchanged."""
        key = f"alike\0{self.source(a)}\0{self.source(b)}"

        def compute() -> str:
            verdict = alike_bounded(self.get(a), self.get(b))
            return "" if verdict is None else f"{verdict[0]} {verdict[1]}"

        found = self.scores.answer(key, compute)
        if not found:
            return None
        shared, total = found.split()
        return int(shared), int(total)

    def diff(self, a: str, b: str) -> str:
        """`_diff` of two definitions (their ids head it), reused when both are unchanged."""
        key = f"diff\0{a}\0{b}\0{self.source(a)}\0{self.source(b)}"
        return self.scores.answer(key, lambda: _diff(self.graph, a, b))

    def get(self, fid: str) -> Definition:
        found = self.memo.get(fid)
        if found is None:
            found = definition(self.graph.module_of[fid], self.graph.functions[fid])
            self.memo[fid] = found
        return found


def alike_exact(a: Definition, b: Definition) -> tuple[int, int] | None:
    """(shared lines, total lines) when two same-name definitions are alike enough to be a
    near-miss, else None: most of their code (by tokens) and half their lines match."""
    ratio = difflib.SequenceMatcher(None, a.tokens, b.tokens, autojunk=False).ratio()
    return _line_verdict(a, b) if ratio >= MIN_ALIKE else None


def alike_bounded(a: Definition, b: Definition) -> tuple[int, int] | None:
    """The verdict of `alike_exact`, with the token diff run only for pairs that can pass.

    The token multiset overlap bounds `SequenceMatcher.ratio()` from above (it is exactly
    `quick_ratio()`, computed with the same float operations), so a pair whose bound misses
    `MIN_ALIKE` is refused without the quadratic diff; the line check is cheap and comes next.
    """
    length = len(a.tokens) + len(b.tokens)
    if not length:
        return _line_verdict(a, b)  # two empty token lists: ratio() is 1.0
    if 2.0 * min(len(a.tokens), len(b.tokens)) / length < MIN_ALIKE:
        return None  # real_quick_ratio: lengths alone
    if 2.0 * sum((a.counts & b.counts).values()) / length < MIN_ALIKE:
        return None  # quick_ratio: shared tokens regardless of order
    lines = _line_verdict(a, b)
    if lines is None:
        return None
    ratio = difflib.SequenceMatcher(None, a.tokens, b.tokens, autojunk=False).ratio()
    return lines if ratio >= MIN_ALIKE else None


def _line_verdict(a: Definition, b: Definition) -> tuple[int, int] | None:
    """(shared, total) lines when at least half the lines match, else None."""
    matcher = difflib.SequenceMatcher(None, a.lines, b.lines, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks())
    total = max(len(a.lines), len(b.lines))
    # Unrelated bodies that share a name are no near-miss: most lines and code must match.
    return (shared, total) if total and shared * 2 >= total else None


def _describe(x: str, y: str) -> str:
    """One differing value in words: `a number: 0.02 vs 0.01`."""
    kinds = {"#": "a number", "s:": "a string", "A:": "an API call"}
    kind = next((words for prefix, words in kinds.items() if x.startswith(prefix)), "an operator")
    return f"{kind}: {_shown(x)} vs {_shown(y)}"


def _shown(token: str) -> str:
    """A literal token as the user wrote it."""
    if token.startswith("A:"):
        return token[2:]  # the full dotted path: two spellings that differ must both show
    return token.lstrip("#").removeprefix("s:")


def definition_lines(module: ModuleFacts, function: FunctionFacts) -> list[str]:
    """The definition's source lines, comment-only lines dropped (what a person compares)."""
    lines = split_lines(module.text)[function.line - 1 : function.end_line]
    return [line.rstrip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _diff(graph: _Graph, a: str, b: str) -> str:
    """The differing lines of two definitions, unified-diff style without context."""
    lines_a = definition_lines(graph.module_of[a], graph.functions[a])
    lines_b = definition_lines(graph.module_of[b], graph.functions[b])
    diff = difflib.unified_diff(lines_a, lines_b, a, b, n=0, lineterm="")
    return "\n".join(line for line in diff if not line.startswith("@@"))
