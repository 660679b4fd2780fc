"""Write a reproducible synthetic tree of TF1 NLP model files, with a manifest of what was planted.

Usage: python bench/corpus.py OUT_DIR [--files 1000] [--seed 0] [--real-shapes 0.5]

Each model file copies builder families (bench/corpus_templates.py): exact copies with other
comments, docstrings, formatting and API spelling; renamed copies (params, locals and name strings
renamed consistently); near-misses (one number changed). Build functions follow one of a few trunk
templates for 1-5 layers with varied hyperparameters. About 10% of the files are unrelated Python.
With --real-shapes SHARE, that share of the model files builds its model the way real TF1 code
does instead (see REAL_SHAPES): a class whose constructor builds the graph through self.* methods,
or an Estimator model_fn nested in a model_fn_builder calling create_model; both add an inline
embedding block and a step counter. The default corpus (share 0) is unchanged, byte for byte.
OUT_DIR/manifest.json records the ground truth so benchmarks can score what a tool finds.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import string
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus_templates as T

UTIL_SHARE = 0.10
UTIL_KINDS = ("text_utils", "data_io", "metrics", "vocab_tools", "prepare_data", "export_cli")
NEAR_MISS_RATE = 0.04  # share of builder copies that are a near-miss variant of their family
RENAMED_RATE = 0.20  # share of base-variant copies that are renamed
BUILDERS_PER_FILE = (5, 10)
IMPORT_STYLES = (("compat", 5), ("tf1_alias", 3), ("full", 2))  # how a file spells the TF1 API
PREFIX = {"compat": "tf", "tf1_alias": "tf1", "full": "tf.compat.v1"}
_BREAK = "\x00"
_PLACEHOLDER = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_PYTHON_NAMES = frozenset({"tf", "tf1", "int", "len", "range", "zip", "sum", "max", "min", "_"})
REAL_SHAPES = ("class", "model_fn")


@dataclass(frozen=True)
class Instance:
    """One planted builder copy: where it is and what it is a copy of."""

    id: str  # "models/x.py::qualname", as codegen reports it
    path: str
    qualname: str
    family: str
    variant: int  # 0 = the family's base code, k >= 1 = near-miss variant k
    renamed: bool
    spelling: str  # "" for the canonical names, else a short description of the renaming


def weighted(rng: Random, choices: Sequence[tuple[str, int]]) -> str:
    """A value from (value, weight) pairs."""
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights)[0]


def placeholders(source: str) -> list[str]:
    """Template placeholder names in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(source):
        seen.setdefault(match.group(1) or match.group(2), None)
    return list(seen)


def family_identifiers(family: T.Family) -> list[str]:
    """Parameter and local placeholders of a family: what a renamed copy renames."""
    return [
        name
        for name in placeholders(family.source)
        if name not in ("T", "fn", "BR")
        and not name.startswith("s_")
        and not re.fullmatch(r"n\d+", name)
    ]


def family_name_strings(family: T.Family) -> list[str]:
    """Name-string placeholders (without the `s_`)."""
    return [name[2:] for name in placeholders(family.source) if name.startswith("s_")]


def near_miss_variants(rng: Random, family: T.Family) -> list[tuple[str, str, str]]:
    """(slot, base value, changed value) for each near-miss variant of a family: one or two."""
    options = [
        (slot, base, alt) for slot, (base, alts) in sorted(family.numbers.items()) for alt in alts
    ]
    rng.shuffle(options)
    count = 1 if len(options) == 1 else rng.choice((1, 2))
    return sorted(options[:count])


def rename_map(
    rng: Random,
    canonical: Sequence[str],
    pools: dict[str, tuple[str, ...]],
    suffixes: Sequence[str],
    reserved: set[str],
    probability: float,
) -> dict[str, str]:
    """An injective renaming of `canonical`; each name is renamed with `probability`."""
    out: dict[str, str] = {}
    used = set(reserved)
    for name in canonical:
        if rng.random() < probability:
            pool = [n for n in pools.get(name, ()) if n not in used and n not in canonical]
            new = rng.choice(pool) if pool else name + rng.choice(suffixes)
        else:
            new = name
        while new in used:
            new += "_"
        out[name] = new
        used.add(new)
    return out


class CorpusWriter:
    """Generates every file in memory, deterministically from the seed."""

    def __init__(self, files: int, seed: int, real_shapes: float = 0.0):
        self.rng = Random(seed)
        # Its own stream, so choosing shapes never changes what the default corpus draws.
        self.shape_rng = Random(seed + 1)
        self.real_shapes = real_shapes
        self.files = files
        self.seed = seed
        self.variants = {f.name: near_miss_variants(self.rng, f) for f in T.FAMILIES}
        self.instances: list[Instance] = []
        self.models: list[dict[str, object]] = []
        self.utilities: list[str] = []
        self.texts: dict[str, str] = {}

    # -- layout -------------------------------------------------------------------------------
    def comment(self, family: T.Family | None, other: str) -> str:
        pool = (*(family.comments if family else ()), *T.GENERIC_COMMENTS)
        text = self.rng.choice(pool).format(other=other)
        return f"# {text[0].upper()}{text[1:]}" if self.rng.random() < 0.5 else f"# {text}"

    def lay_out(
        self, lines: list[str], family: T.Family | None, other: str, density: float
    ) -> list[str]:
        """Add own-line and trailing comments, then expand or drop the optional line breaks."""
        exploded = self.rng.random() < 0.4
        out: list[str] = []
        for index, line in enumerate(lines):
            indent = line[: len(line) - len(line.lstrip())]
            if index > 0 and indent and self.rng.random() < density:
                out.append(indent + self.comment(family, other))
            if index > 0 and self.rng.random() < density / 3:
                line += "  " + self.comment(family, other)
            if _BREAK in line:
                if exploded:
                    line = line.replace(_BREAK, "\n" + indent + "    ")
                else:
                    line = re.sub("\\(" + _BREAK, "(", line).replace(_BREAK, " ")
            out.append(line)
            if (
                index > 0
                and indent
                and self.rng.random() < density / 4
                and not line.rstrip().endswith(":")
            ):
                out.append("")
        return out

    def docstring(self, family: T.Family, indent: str) -> list[str]:
        roll = self.rng.random()
        if roll < 0.15:
            return []
        text = self.rng.choice(family.docs)
        if roll < 0.8:
            return [f'{indent}"""{text}"""']
        extra = self.rng.choice(
            (
                "Variables are created with get_variable, so the scope decides their names.",
                "Copied from the reference model; keep the variable names stable for checkpoints.",
                "Shapes are documented inline.",
            )
        )
        return [f'{indent}"""{text}', "", f"{indent}{extra}", f'{indent}"""']

    # -- builders -----------------------------------------------------------------------------
    def render_builder(
        self,
        family: T.Family,
        *,
        prefix: str,
        variant: int,
        renamed: bool,
        reserved: set[str],
        other: str,
    ) -> tuple[str, str, str]:
        """(function name, source text, spelling) of one copy of `family`."""
        numbers = {slot: base for slot, (base, _) in family.numbers.items()}
        if variant:
            slot, _, value = self.variants[family.name][variant - 1]
            numbers[slot] = value
        identifiers = family_identifiers(family)
        strings = family_name_strings(family)
        if renamed:
            while True:
                ids = rename_map(
                    self.rng,
                    identifiers,
                    T.IDENTIFIER_SYNONYMS,
                    T.SUFFIXES,
                    reserved | _PYTHON_NAMES,
                    0.75,
                )
                names = rename_map(
                    self.rng,
                    strings,
                    T.NAME_STRING_SYNONYMS,
                    T.NAME_SUFFIXES,
                    {"SAME", "same"},
                    0.6,
                )
                if any(k != v for k, v in (*ids.items(), *names.items())):
                    break
            # The scope parameter must stay recognisable as one (name, *_scope, *_name).
            function = self.rng.choice((family.name, *family.alt_names, *family.alt_names))
        else:
            ids = {name: name for name in identifiers}
            names = {name: name for name in strings}
            function = family.name
        values: dict[str, str] = {"T": prefix, "fn": function, "BR": _BREAK}
        values.update(numbers)
        values.update(ids)
        values.update({f"s_{name}": new for name, new in names.items()})
        text = string.Template(family.source.strip("\n")).substitute(values)
        lines = text.split("\n")
        body = self.lay_out(lines[1:], family, other, density=0.18)
        header = []
        if self.rng.random() < 0.15:
            header.append(self.comment(family, other))
        out = [*header, lines[0], *self.docstring(family, "    "), *body]
        changed = [f"{k}->{v}" for k, v in (*ids.items(), *names.items()) if k != v]
        return function, "\n".join(out), ",".join(changed)

    def helpers(self, family: T.Family, prefix: str) -> list[str]:
        return [string.Template(h.strip("\n")).substitute(T=prefix) for h in family.helpers]

    # -- files --------------------------------------------------------------------------------
    def model_file(self, path: str, stem: str, task: tuple[str, str, int]) -> str:
        rng = self.rng
        task_name, task_doc, classes = task
        style = weighted(rng, [(s, w) for s, w in IMPORT_STYLES])
        prefix = PREFIX[style]
        trunk_name = rng.choice(sorted(T.TRUNKS))
        trunk = T.TRUNKS[trunk_name]
        depth = weighted(rng, (("1", 1), ("2", 3), ("3", 3), ("4", 2), ("5", 2)))
        layers = list(trunk[: int(depth)])
        tails = int(weighted(rng, (("0", 4), ("1", 3), ("2", 1))))
        layers += [rng.choice(T.TAIL_LAYERS) for _ in range(tails)]
        families = list(dict.fromkeys(spec.family for spec in layers))
        target = rng.randint(*BUILDERS_PER_FILE)
        spare = [f.name for f in T.FAMILIES if f.name not in families]
        rng.shuffle(spare)
        families += spare[: max(0, target - len(families))]
        other = rng.choice(T.TASKS)[0]

        reserved = {
            "VOCAB_SIZE",
            "EMBED_DIM",
            "NUM_CLASSES",
            "LEARNING_RATE",
            "build_model",
            "train_op",
            "count_parameters",
            "feature_dropout",
            "EMBED_INIT_STDDEV",
        }
        reserved |= {f.name for f in T.FAMILIES} | {n for f in T.FAMILIES for n in f.alt_names}
        function_of: dict[str, str] = {}
        blocks: list[str] = []
        helper_blocks: list[str] = []
        for family_name in families:
            family = T.FAMILY_BY_NAME[family_name]
            variants = self.variants[family_name]
            variant = rng.randint(1, len(variants)) if rng.random() < NEAR_MISS_RATE else 0
            renamed = variant == 0 and rng.random() < RENAMED_RATE
            function, text, spelling = self.render_builder(
                family,
                prefix=prefix,
                variant=variant,
                renamed=renamed,
                reserved=reserved,
                other=other,
            )
            function_of[family_name] = function
            blocks.append(text)
            helper_blocks.extend(self.helpers(family, prefix))
            self.instances.append(
                Instance(
                    f"{path}::{function}",
                    path,
                    function,
                    family_name,
                    variant,
                    bool(spelling),
                    spelling,
                )
            )
        rng.shuffle(blocks)

        hyper_values: list[dict[str, str]] = []
        build_lines = []
        if trunk_name == "rnn":
            build_lines.append(f"lengths = {prefix}.reduce_sum({prefix}.sign(token_ids), axis=1)")
        for spec in layers:
            chosen = {key: weighted(rng, choices) for key, choices in sorted(spec.hyper.items())}
            hyper_values.append({"family": spec.family, **chosen})
            call = spec.call.replace("$fn", function_of[spec.family]).format(**chosen)
            build_lines.append(call)
        head = rng.choice(("logits", "head", "output", f"{task_name}_logits"))
        build_lines += [line.replace("$T", prefix).format(head=head) for line in T.BUILD_TAIL]
        scoped = rng.random() < 0.3
        indent = "        " if scoped else "    "
        body = self.lay_out([indent + line for line in build_lines], None, other, density=0.12)
        build = T.BUILD_HEAD.strip("\n").format(classes=classes).split("\n")
        if scoped:
            build.append(f'    with {prefix}.variable_scope("{stem}"):')
        build += body

        vocab = weighted(rng, T.VOCAB_CHOICES)
        dim = weighted(rng, T.EMBED_DIM_CHOICES)
        doc_tail = rng.choice(T.MODULE_DOC_TAILS).format(
            other=other, trunk=trunk_name, split=rng.choice(("2019", "2020", "v2", "dedup"))
        )
        imports = {
            "compat": ["import tensorflow.compat.v1 as tf"],
            "tf1_alias": ["import tensorflow as tf", "", "tf1 = tf.compat.v1"],
            "full": ["import tensorflow as tf"],
        }[style]
        constants = [
            f"VOCAB_SIZE = {vocab}",
            f"EMBED_DIM = {dim}",
            f"NUM_CLASSES = {classes}",
            f"LEARNING_RATE = {rng.choice(('1e-3', '3e-4', '0.001', '5e-4'))}",
        ]
        sections = [
            f'"""{task_doc}: {doc_tail}"""\n\n' + "\n".join(imports) + "\n\n" + "\n".join(constants)
        ]
        sections += list(dict.fromkeys(helper_blocks))
        sections += blocks
        shape = "function"
        if self.real_shapes and self.shape_rng.random() < self.real_shapes:
            shape = self.shape_rng.choice(REAL_SHAPES)
            build = real_shape(build, shape, prefix, stem)
        sections.append("\n".join(build))
        if rng.random() < 0.5:
            sections.append(
                T.TRAIN_OP.strip("\n").replace("$T", prefix).format(clip=rng.choice(("1.0", "5.0")))
            )
        if rng.random() < 0.3:
            sections.append(T.COUNT_PARAMS.strip("\n").replace("$T", prefix))
        self.models.append(
            {
                "path": path,
                "build": f"{path}::{ROOT_OF[shape](stem)}",
                "shape": shape,
                "style": style,
                "trunk": trunk_name,
                "depth": int(depth),
                "vocab_size": vocab,
                "embed_dim": dim,
                "layers": hyper_values,
            }
        )
        return "\n\n\n".join(sections) + "\n"

    def utility_file(self, kind: str) -> str:
        rng = self.rng
        count = rng.randint(6, 11)
        chosen = sorted(rng.sample(range(len(T.UTIL_FUNCTIONS)), count))
        if 1 in chosen and 0 not in chosen:  # tokenize calls normalize_text
            chosen.insert(0, 0)
        numbers = {slot: rng.choice(values) for slot, values in sorted(T.UTIL_NUMBERS.items())}
        functions = [
            string.Template(T.UTIL_FUNCTIONS[i].strip("\n")).substitute(numbers) for i in chosen
        ]
        script = kind in ("prepare_data", "export_cli")
        if script and not any(
            f.startswith("def read_tsv") or f.startswith("def read_jsonl") for f in functions
        ):
            functions.append(string.Template(T.UTIL_FUNCTIONS[6].strip("\n")).substitute(numbers))
        code = "\n\n\n".join(functions)
        imports = [line for line in T.UTIL_IMPORTS if line.split()[1] + "." in code]
        if script:
            imports = sorted({*imports, "import argparse"})
        what = rng.choice(
            ("prepare the training TSV", "export a vocabulary", "summarise a dataset")
        )
        doc = T.UTIL_DOCS[kind].format(what=what)
        text = f'"""{doc}"""\n\n' + "\n".join(imports) + "\n\n\n" + code + "\n"
        if script:
            reader = "read_tsv" if "def read_tsv" in code else "read_jsonl"
            text += T.SCRIPT_MAIN.format(
                fmt=rng.choice(("TSV", "JSONL")),
                out=rng.choice(("vocab.txt", "out/stats.json", "prepared.tsv")),
                n0=numbers["n0"],
                seed=numbers["n5"],
                reader=reader,
            )
        return text

    def generate(self) -> dict[str, str]:
        """Relative path -> text of every file, plus manifest.json."""
        rng = self.rng
        width = max(4, len(str(self.files)))
        utilities = round(self.files * UTIL_SHARE)
        kinds = ["util"] * utilities + ["model"] * (self.files - utilities)
        rng.shuffle(kinds)
        for index, kind in enumerate(kinds):
            if kind == "util":
                folder = weighted(rng, T.UTIL_FOLDERS)
                stem = f"{rng.choice(UTIL_KINDS)}_{index:0{width}d}"
                path = "/".join(p for p in ("models", folder, stem + ".py") if p)
                self.texts[path] = self.utility_file(stem.rsplit("_", 1)[0])
                self.utilities.append(path)
            else:
                folder = weighted(rng, T.MODEL_FOLDERS)
                task = rng.choice(T.TASKS)
                stem = f"{task[0]}_{index:0{width}d}"
                path = "/".join(p for p in ("models", folder, stem + ".py") if p)
                self.texts[path] = self.model_file(path, stem, task)
        return self.texts

    def manifest(self) -> dict[str, object]:
        """Ground truth: planted clone groups, renamed/exact pairs and near-miss pairs."""
        by_key: dict[tuple[str, int], list[Instance]] = {}
        for instance in sorted(self.instances, key=lambda i: i.id):
            by_key.setdefault((instance.family, instance.variant), []).append(instance)
        groups = []
        renamed_pairs = []
        exact_pairs = []
        for (family, variant), members in sorted(by_key.items()):
            if len(members) >= 2:
                groups.append(
                    {
                        "family": family,
                        "variant": variant,
                        "kind": "renamed" if any(m.renamed for m in members) else "exact",
                        "members": [m.id for m in members],
                    }
                )
            canonical = [m for m in members if not m.renamed]
            if not canonical:
                continue
            origin = canonical[0]
            for member in members:
                if member.renamed:
                    renamed_pairs.append(
                        {"copy": member.id, "origin": origin.id, "renaming": member.spelling}
                    )
                elif member is not origin:
                    exact_pairs.append({"copy": member.id, "origin": origin.id})
        near = []
        for (family, variant), members in sorted(by_key.items()):
            base = [m for m in by_key.get((family, 0), []) if not m.renamed]
            if variant == 0 or not base:
                continue
            slot, old, new = self.variants[family][variant - 1]
            near.append(
                {
                    "a": members[0].id,
                    "b": base[0].id,
                    "family": family,
                    "variant": variant,
                    "slot": slot,
                    "change": f"{old} -> {new}",
                    "members": [m.id for m in members],
                }
            )
        return {
            "generator": "bench/corpus.py",
            "seed": self.seed,
            **({"real_shapes": self.real_shapes} if self.real_shapes else {}),
            "files": self.files,
            "model_files": len(self.models),
            "utility_files": len(self.utilities),
            "families": [f.name for f in T.FAMILIES],
            "near_miss_variants": {
                name: [{"slot": s, "change": f"{a} -> {b}"} for s, a, b in variants]
                for name, variants in sorted(self.variants.items())
            },
            "clone_groups": groups,
            "renamed_pairs": renamed_pairs,
            "exact_pairs": exact_pairs,
            "near_miss_pairs": near,
            "builders": [asdict(i) for i in sorted(self.instances, key=lambda i: i.id)],
            "models": sorted(self.models, key=lambda m: str(m["path"])),
            "utilities": sorted(self.utilities),
        }


ROOT_OF = {
    "function": lambda stem: "build_model",
    "class": lambda stem: class_name(stem),
    "model_fn": lambda stem: "model_fn_builder.model_fn",
}


def class_name(stem: str) -> str:
    """`topic_0012` -> `Topic0012Model`."""
    return "".join(part.capitalize() for part in stem.split("_")) + "Model"


def real_shape(build: list[str], shape: str, prefix: str, stem: str) -> list[str]:
    """The build function's lines rewritten into a real-code shape: a class model (constructor ->
    self.inference() -> the original body) or a model_fn (model_fn_builder -> model_fn ->
    create_model, the original body); both add an inline embedding block and a step counter."""
    body = [line for line in build[2:]]  # after the def line and its docstring
    inline = [
        f'with {prefix}.device("/cpu:0"), {prefix}.name_scope("extra_embedding"):',
        f'    table = {prefix}.get_variable("table", [VOCAB_SIZE, EMBED_DIM])',
        f"    extra = {prefix}.nn.embedding_lookup(table, token_ids)",
    ]
    if shape == "class":
        return [
            f"class {class_name(stem)}(object):",
            '    """Builds the whole graph in its constructor."""',
            "",
            "    def __init__(self, token_ids, labels):",
            f'        self.global_step = {prefix}.Variable(0, trainable=False, name="global_step")',
            f'        with {prefix}.device("/cpu:0"), {prefix}.name_scope("extra_embedding"):',
            f'            self.table = {prefix}.get_variable("table", [VOCAB_SIZE, EMBED_DIM])',
            f"            self.extra = {prefix}.nn.embedding_lookup(self.table, token_ids)",
            "        self.logits, self.loss = self.inference(token_ids, labels)",
            "",
            "    def inference(self, token_ids, labels):",
            *(("    " + line) if line.strip() else line for line in body),
        ]
    return [
        "def create_model(token_ids, labels):",
        '    """The model proper: what model_fn calls."""',
        *("    " + line for line in inline),
        *body,
        "",
        "",
        "def model_fn_builder(learning_rate):",
        "    def model_fn(features, labels, mode, params):",
        '        logits, loss = create_model(features["token_ids"], labels)',
        "        return logits, loss",
        "",
        "    return model_fn",
    ]


def generate(
    files: int, seed: int, real_shapes: float = 0.0
) -> tuple[dict[str, str], dict[str, object]]:
    """(relative path -> text, manifest) for a corpus; pure and deterministic."""
    writer = CorpusWriter(files, seed, real_shapes)
    texts = writer.generate()
    return dict(sorted(texts.items())), writer.manifest()


def write_corpus(
    out_dir: Path, files: int, seed: int, real_shapes: float = 0.0
) -> dict[str, object]:
    """Write OUT_DIR/models/... and OUT_DIR/manifest.json; returns the manifest."""
    out_dir = Path(out_dir)
    models = out_dir / "models"
    manifest_path = out_dir / "manifest.json"
    if models.exists():
        if not manifest_path.exists():
            raise SystemExit(
                f"{models} exists and is not a generated corpus (no manifest.json); refusing"
            )
        shutil.rmtree(models)
    texts, manifest = generate(files, seed, real_shapes)
    for relative, text in texts.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    manifest_path.write_text(
        json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write models/ and manifest.json into")
    parser.add_argument("--files", type=int, default=1000, help="number of files (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--real-shapes",
        type=float,
        default=0.0,
        help="share of model files built as class models or model_fns (default 0)",
    )
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be at least 1")
    manifest = write_corpus(args.out_dir, args.files, args.seed, args.real_shapes)
    size = sum(p.stat().st_size for p in (args.out_dir / "models").rglob("*.py"))
    print(
        f"wrote {manifest['files']} files ({manifest['model_files']} models, "
        f"{manifest['utility_files']} utilities, {size / 1e6:.1f} MB) to {args.out_dir / 'models'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
