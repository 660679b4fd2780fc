"""The Hugging Face "Copied from" corpus: download transformers 4.46.3 (pinned), extract the TF
model files of ten BERT-family models into a cache folder outside the repo, scan them, and score
the scan's clone classes of classes against every `# Copied from transformers.models.X.
modeling_tf_X.Class[ with A->B]` comment on a class: how many of the copied pairs share one clone
class, and which clone classes join classes that the comments or the code say differ."""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realcorpus  # the download, pin and scan helpers live there

CACHE = Path(
    os.environ.get("LAYERSHARE_HFCORPUS_DIR", "~/.cache/layershare-test/hfcorpus")
).expanduser()
EXPECTATIONS = Path(__file__).resolve().parent / "hfcorpus_expectations.json"
MODELS = (
    "bert roberta roberta_prelayernorm electra camembert xlm_roberta layoutlm distilbert albert "
    "mobilebert"
).split()
# The modules the model files import from inside transformers that hold code the scan needs:
# the `keras` alias and `get_initializer` (modeling_tf_utils), `shape_list`, activations.
SUPPORT = "modeling_tf_utils.py tf_utils.py activations_tf.py modeling_tf_outputs.py".split()
PACKAGE = realcorpus.Package(
    "transformers",
    "4.46.3",
    "",
    "a12ef6f52841fd190a3e5602145b542d03507222f2c64ebb7ee92e8788093aef",
    tuple(
        [f"transformers/{name}" for name in SUPPORT]
        + [f"transformers/models/{m}/modeling_tf_{m}.py" for m in MODELS]
    ),
)
_COPIED = re.compile(
    r"^[ \t]*# Copied from transformers\.models\.(\w+)\.modeling_tf_\w+\.(\w+)"
    r"(?: with (.+?))?[ \t]*$"
)
_CLASS = re.compile(r"^class (\w+)\b")


@dataclass(frozen=True)
class Pair:
    """One `# Copied from` comment on a class: the copy and its source, as class ids."""

    copy: str  # "transformers/models/roberta/modeling_tf_roberta.py::TFRobertaPooler"
    source: str
    renames: str  # "Bert->Roberta", or ""


def model_path(model: str) -> str:
    return f"transformers/models/{model}/modeling_tf_{model}.py"


def copied_pairs(folder: Path) -> list[Pair]:
    """Every `# Copied from` comment directly above a module-level class (decorators between
    allowed); comments on methods or functions are not class pairs."""
    pairs: list[Pair] = []
    for model in MODELS:
        path = model_path(model)
        lines = (folder / path).read_text(encoding="utf-8").split("\n")
        for index, line in enumerate(lines):
            found = _COPIED.match(line)
            if found is None or line[0].isspace():
                continue
            after = index + 1
            while after < len(lines) and lines[after].startswith("@"):
                after += 1
            cls = _CLASS.match(lines[after]) if after < len(lines) else None
            if cls is None:
                continue
            source_model, source_class, renames = found.groups()
            pairs.append(
                Pair(
                    f"{path}::{cls.group(1)}",
                    f"{model_path(source_model)}::{source_class}",
                    renames or "",
                )
            )
    return pairs


def load_expectations(path: Path = EXPECTATIONS) -> dict[str, str]:
    """Copies that may stay apart, each with the reason read from the code: {copy id: why}."""
    if not path.is_file():
        return {}
    return {e["copy"]: e["why"] for e in json.loads(path.read_text())["apart"]}


# How each model spells its own name; the copies rename exactly these (`with Bert->Roberta`).
SPELLINGS = {
    "bert": "Bert BERT bert",
    "roberta": "Roberta ROBERTA roberta",
    "roberta_prelayernorm": "RobertaPreLayerNorm ROBERTA_PRELAYERNORM roberta_prelayernorm",
    "electra": "Electra ELECTRA electra",
    "camembert": "Camembert CAMEMBERT camembert",
    "xlm_roberta": "XLMRoberta XLM_ROBERTA xlm_roberta xlm-roberta",
    "layoutlm": "LayoutLM LAYOUTLM layoutlm",
    "distilbert": "DistilBert DISTILBERT distilbert",
    "albert": "Albert ALBERT albert",
    "mobilebert": "MobileBert MOBILEBERT mobilebert",
}
_MODEL_NAMES = re.compile(
    "|".join(sorted({w for v in SPELLINGS.values() for w in v.split()}, key=len, reverse=True))
)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return tree


def class_code(folder: Path, cid: str, *, whole: bool = False) -> str | None:
    """A class's code as a copy would be compared by hand: docstrings dropped and every model's
    own name replaced by one placeholder (what `with Bert->Roberta` renames). Its bases and
    methods (a class is a copy only if `__init__`, `build`, `call` and its helpers all are), or
    with `whole` its class attributes too (`config_class`, `_keys_to_ignore_on_load_missing`)."""
    path, name = cid.split("::", 1)
    text = (folder / path).read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            segment = ast.get_source_segment(text, node) or ""
            tree = _without_docstrings(ast.parse(_MODEL_NAMES.sub("MODEL", segment)))
            cls = tree.body[0]  # type: ignore[attr-defined]
            if not whole:
                cls.body = [n for n in cls.body if isinstance(n, ast.FunctionDef)]
            return ast.dump(tree)
    return None


def score(pairs: list[Pair], scan_json: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Pairs in one clone class, pairs apart, and wrong joins: a clone class holding two classes
    that no chain of comments says are copies and whose code (docstrings dropped, model names
    renamed as the comments do) differs."""
    group = {m: c["id"] for c in scan_json.get("clone_classes", []) for m in c["members"]}
    joined = [p for p in pairs if p.copy in group and group.get(p.copy) == group.get(p.source)]
    apart = [p for p in pairs if p not in joined]
    # Copies of copies are copies: the comments' connected components.
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for p in pairs:
        parent[find(p.copy)] = find(p.source)
    wrong: list[tuple[str, str, str]] = []
    metadata: list[tuple[str, str, str]] = []  # same methods and bases, other class attributes
    for clone in scan_json.get("clone_classes", []):
        members = [m for m in clone["members"] if "." not in m.split("::", 1)[1]]
        members = [m for m in members if m.split("::", 1)[0].startswith("transformers/models/")]
        for a, b in itertools.pairwise(members):
            if find(a) == find(b):
                continue
            if class_code(folder, a) != class_code(folder, b):
                wrong.append((clone["id"], a, b))
            elif class_code(folder, a, whole=True) != class_code(folder, b, whole=True):
                metadata.append((clone["id"], a, b))
    return {
        "pairs": len(pairs),
        "joined": len(joined),
        "apart": [(p.copy, p.source) for p in apart],
        "wrong_joins": wrong,
        "metadata_joins": metadata,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--dump", type=Path, help="write the scan JSON here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    folder = realcorpus.build(PACKAGE, args.cache)
    scan_json = realcorpus.scan(folder)
    if args.dump:
        args.dump.write_text(json.dumps(scan_json, indent=1, sort_keys=True))
    pairs = copied_pairs(folder)
    result = score(pairs, scan_json, folder)
    allowed = load_expectations()
    print(f"copied class pairs: {result['pairs']}, in one clone class: {result['joined']}")
    for copy, source in result["apart"]:
        why = allowed.get(copy)
        shown = f"{copy} ~ {source}"
        print(f"apart (expected): {shown}: {why}" if why else f"apart: {shown}")
    for clone, a, b in result["metadata_joins"]:
        print(f"joined: same bases and methods, class attributes differ {clone}: {a} ~ {b}")
    for clone, a, b in result["wrong_joins"]:
        print(f"WRONG JOIN {clone}: {a} ~ {b}")
    elapsed = time.perf_counter() - start
    print(f"built and scanned transformers {PACKAGE.version} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
