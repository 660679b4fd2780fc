"""A real-code corpus from PyPI packages: download pinned TF NLP packages, extract their model
modules into a cache folder outside the repo, scan each with `codegen scan`, and score the scan
against hand-written expectations (bench/realcorpus_expectations.json)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXPECTATIONS = Path(__file__).resolve().parent / "realcorpus_expectations.json"
CACHE = Path(
    os.environ.get("LAYERSHARE_REALCORPUS_DIR", "~/.cache/layershare-test/realcorpus")
).expanduser()
# One scan of one package may take this long on a loaded 2-core box before it counts as hung.
SCAN_TIMEOUT = 120
ARCHIVES = (".whl", ".tar.gz", ".zip")


@dataclass(frozen=True)
class Package:
    """One pinned package: where its files sit in the archive, and which of them to scan."""

    name: str
    version: str
    prefix: str  # folder inside the archive that holds the importable packages ("" for wheels)
    sha256: str  # of the archive pip downloads: the pin is the bytes, not only the version
    files: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


def _pkg(name: str, version: str, prefix: str, sha256: str, files: str) -> Package:
    return Package(name, version, prefix, sha256, tuple(files.split()))


# The model modules of each package (with the modules they import that build layers), as the
# paths they have inside the importable package, so imports resolve as they do for a user.
PACKAGES: tuple[Package, ...] = (
    _pkg(
        "bert-tensorflow",
        "1.0.4",
        "",
        "f880680a03fbf637c217443b7d3d8969d0b3aef4822b4ea13c2a124498dd21a0",
        "bert/__init__.py bert/modeling.py bert/optimization.py bert/tokenization.py "
        "bert/run_classifier.py bert/run_squad.py bert/run_pretraining.py "
        "bert/run_classifier_with_tfhub.py bert/extract_features.py",
    ),
    _pkg(
        "albert-tensorflow",
        "1.1",
        "",
        "36ba735b95112597484c082bfa019bbf5b2e513a63627dce4949fdc43a67ba22",
        "albert/__init__.py albert/modeling.py albert/optimization.py albert/lamb_optimizer.py "
        "albert/tokenization.py albert/classifier_utils.py albert/run_classifier.py "
        "albert/run_pretraining.py albert/squad_utils.py albert/run_squad.py",
    ),
    _pkg(
        "bert-base",
        "0.0.9",
        "",
        "2a806924203ac4de32cb2201c00ed15b6ae31b3ea541400a86ada4a15acc681a",
        "bert_base/__init__.py bert_base/bert/__init__.py bert_base/bert/modeling.py "
        "bert_base/bert/optimization.py bert_base/bert/tokenization.py "
        "bert_base/bert/run_classifier.py bert_base/train/__init__.py "
        "bert_base/train/lstm_crf_layer.py bert_base/train/models.py "
        "bert_base/train/bert_lstm_ner.py",
    ),
    _pkg(
        "bilm",
        "0.1.post5",
        "",
        "98a2e3c332bcefcccda6bf6056f8a0be52c474e62bcb0817787010b22b6969a3",
        "bilm/__init__.py bilm/model.py bilm/elmo.py bilm/data.py bilm/training.py",
    ),
    _pkg(
        "gpt-2-simple",
        "0.8.1",
        "gpt_2_simple-0.8.1/",
        "0d620a17b4c4592190b637548afa0aaf26231c71a107165ee91e90929e398c11",
        "gpt_2_simple/__init__.py gpt_2_simple/src/__init__.py gpt_2_simple/src/model.py "
        "gpt_2_simple/src/sample.py gpt_2_simple/src/accumulate.py gpt_2_simple/gpt_2.py",
    ),
    _pkg(
        "kashgari-tf",
        "0.5.5",
        "",
        "92d6561dd9d6b743791c2aba6aac7e1ec4902ec7e2e09cbf562f3c9d0730a489",
        "kashgari/__init__.py kashgari/layers/__init__.py kashgari/layers/att_wgt_avg_layer.py "
        "kashgari/layers/kmax_pool_layer.py kashgari/layers/non_masking_layer.py "
        "kashgari/layers/crf.py kashgari/tasks/__init__.py kashgari/tasks/base_model.py "
        "kashgari/tasks/classification/__init__.py kashgari/tasks/classification/base_model.py "
        "kashgari/tasks/classification/models.py kashgari/tasks/classification/dpcnn_model.py "
        "kashgari/tasks/labeling/__init__.py kashgari/tasks/labeling/base_model.py "
        "kashgari/tasks/labeling/models.py",
    ),
    _pkg(
        "keras-bert",
        "0.89.0",
        "keras-bert-0.89.0/",
        "d35457c91130e23fc9a97181b0eb5c7b81d6945b40edc52310f6f713ed4eaecd",
        "keras_bert/__init__.py keras_bert/bert.py keras_bert/layers/__init__.py "
        "keras_bert/layers/embedding.py keras_bert/layers/masked.py "
        "keras_bert/layers/extract.py keras_bert/layers/inputs.py keras_bert/layers/pooling.py "
        "keras_bert/layers/task_embed.py keras_bert/layers/conv.py",
    ),
    _pkg(
        "keras-transformer",
        "0.40.0",
        "keras-transformer-0.40.0/",
        "b7f9f8a97e07cc190adb76159d0dccc7dc7326ac714e294d105dddbf5b58c304",
        "keras_transformer/__init__.py keras_transformer/gelu.py keras_transformer/transformer.py",
    ),
    _pkg(
        "bert4keras",
        "0.11.5",
        "bert4keras-0.11.5/",
        "d30f2d067588b2db1a0afae48a0457f717d3054b2d4ffc657e455a3213184643",
        "bert4keras/__init__.py bert4keras/backend.py bert4keras/layers.py bert4keras/models.py",
    ),
    _pkg(
        "nlp-architect",
        "0.5.4",
        "",
        "5ac9b4257b4f0475360c97895c203cdec379f98c5dfb6b14c7130cc1f0f59371",
        "nlp_architect/__init__.py nlp_architect/models/__init__.py "
        "nlp_architect/models/crossling_emb.py "
        "nlp_architect/models/temporal_convolutional_network.py "
        "nlp_architect/models/chunker.py nlp_architect/models/intent_extraction.py "
        "nlp_architect/models/ner_crf.py",
    ),
    _pkg(
        "tensor2tensor",
        "1.15.7",
        "",
        "26ef986c2b9f45bdefa4218229f33f2992e4d9df84f8939d41481cdaa8444392",
        "tensor2tensor/__init__.py tensor2tensor/models/__init__.py "
        "tensor2tensor/models/basic.py tensor2tensor/models/lstm.py "
        "tensor2tensor/models/bytenet.py tensor2tensor/layers/__init__.py "
        "tensor2tensor/layers/common_layers.py tensor2tensor/layers/common_hparams.py",
    ),
    _pkg(
        "opennmt-tf",
        "1.25.3",
        "",
        "21cbd041b91493663c35a7e3768478f83b99d9a2d1aca90d5396880505358413",
        "opennmt/__init__.py opennmt/models/__init__.py opennmt/models/catalog.py "
        "opennmt/models/sequence_classifier.py opennmt/models/sequence_tagger.py "
        "opennmt/models/language_model.py",
    ),
    # Keras 3 only: functional backbones built in the `__init__` of `Backbone` subclasses, task
    # models over a backbone passed in, and the layer classes they import from layers/modeling.
    _pkg(
        "keras-hub",
        "0.32.0",
        "",
        "c0a07ed19b894f5588188afd841659263eb6d3732e21188c82e3e7d3b6de4268",
        "keras_hub/src/__init__.py keras_hub/src/models/__init__.py "
        "keras_hub/src/models/backbone.py keras_hub/src/models/task.py "
        "keras_hub/src/models/text_classifier.py keras_hub/src/models/masked_lm.py "
        "keras_hub/src/layers/__init__.py keras_hub/src/layers/modeling/__init__.py "
        "keras_hub/src/layers/modeling/position_embedding.py "
        "keras_hub/src/layers/modeling/token_and_position_embedding.py "
        "keras_hub/src/layers/modeling/transformer_encoder.py "
        "keras_hub/src/layers/modeling/transformer_decoder.py "
        "keras_hub/src/layers/modeling/transformer_layer_utils.py "
        "keras_hub/src/layers/modeling/cached_multi_head_attention.py "
        "keras_hub/src/layers/modeling/f_net_encoder.py "
        "keras_hub/src/layers/modeling/masked_lm_head.py "
        "keras_hub/src/models/bert/bert_backbone.py "
        "keras_hub/src/models/bert/bert_text_classifier.py "
        "keras_hub/src/models/bert/bert_masked_lm.py "
        "keras_hub/src/models/roberta/roberta_backbone.py "
        "keras_hub/src/models/roberta/roberta_text_classifier.py "
        "keras_hub/src/models/xlm_roberta/xlm_roberta_backbone.py "
        "keras_hub/src/models/distil_bert/distil_bert_backbone.py "
        "keras_hub/src/models/albert/albert_backbone.py "
        "keras_hub/src/models/electra/electra_backbone.py "
        "keras_hub/src/models/f_net/f_net_backbone.py "
        "keras_hub/src/models/deberta_v3/deberta_v3_backbone.py "
        "keras_hub/src/models/deberta_v3/disentangled_attention_encoder.py "
        "keras_hub/src/models/deberta_v3/disentangled_self_attention.py "
        "keras_hub/src/models/deberta_v3/relative_embedding.py "
        "keras_hub/src/models/deberta_v3/deberta_v3_text_classifier.py "
        "keras_hub/src/models/gpt2/gpt2_backbone.py keras_hub/src/models/opt/opt_backbone.py "
        "keras_hub/src/models/albert/albert_text_classifier.py "
        "keras_hub/src/models/distil_bert/distil_bert_text_classifier.py "
        "keras_hub/src/models/f_net/f_net_text_classifier.py "
        "keras_hub/src/models/xlm_roberta/xlm_roberta_text_classifier.py "
        "keras_hub/src/models/roberta/roberta_masked_lm.py "
        "keras_hub/src/models/causal_lm.py keras_hub/src/models/gpt2/gpt2_causal_lm.py",
    ),
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _archive(dl: Path, pkg: Package) -> Path | None:
    """The downloaded wheel or sdist of `pkg` in `dl`, if there is one."""
    want = f"{_normalise(pkg.name)}_{_normalise(pkg.version)}_"
    for path in sorted(dl.iterdir()) if dl.is_dir() else []:
        if _normalise(path.name).startswith(want) and path.name.endswith(ARCHIVES):
            return path
    return None


def _download(pkg: Package, dl: Path) -> Path:
    """Download the pinned archive with pip (wheel or sdist, whichever the index has)."""
    found = _archive(dl, pkg)
    if found is not None:
        return found
    dl.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        f"{pkg.name}=={pkg.version}",
        "-d",
        str(dl),
    ]
    subprocess.run(cmd, check=True, timeout=300, stdout=subprocess.DEVNULL)
    found = _archive(dl, pkg)
    if found is None:
        raise RuntimeError(f"pip downloaded no archive for {pkg.name}=={pkg.version}")
    return found


def _members(archive: Path) -> dict[str, bytes]:
    if archive.name.endswith(".whl") or archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            return {n: zf.read(n) for n in zf.namelist() if n.endswith(".py")}
    with tarfile.open(archive) as tf:
        out: dict[str, bytes] = {}
        for m in tf.getmembers():
            if m.isfile() and m.name.endswith(".py"):
                handle = tf.extractfile(m)
                if handle is not None:
                    out[m.name] = handle.read()
        return out


def build(pkg: Package, cache: Path = CACHE) -> Path:
    """The package's model modules extracted under `cache/<name>-<version>/` (reused if there)."""
    target = cache / pkg.folder
    stamp = target / ".complete"
    if stamp.is_file() and stamp.read_text() == "\n".join((pkg.sha256, *pkg.files)):
        return target
    archive = _download(pkg, cache / "_dl")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != pkg.sha256:
        raise RuntimeError(f"{archive} has sha256 {digest}, expected {pkg.sha256}")
    members = _members(archive)
    if target.exists():  # another pin or file list: files of the old one must not be scanned
        shutil.rmtree(target)
    for rel in pkg.files:
        data = members.get(pkg.prefix + rel)
        if data is None:
            raise RuntimeError(f"{pkg.folder}: {pkg.prefix + rel} is not in the archive")
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    stamp.write_text("\n".join((pkg.sha256, *pkg.files)))
    return target


def scan(folder: Path) -> dict[str, Any]:
    """`codegen scan --json --no-cache .` run from `folder`, with this repository's codegen."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env["LAYERSHARE_CACHE_DIR"] = str(folder.parent / "_codegen_cache")
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "scan", "--json", "--no-cache", "."],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCAN_TIMEOUT,
    )
    if not proc.stdout.strip():
        raise RuntimeError(f"scan of {folder} printed nothing: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def build_and_scan(cache: Path = CACHE) -> dict[str, dict[str, Any]]:
    """Every package built and scanned: {package name: scan JSON}."""
    return {pkg.name: scan(build(pkg, cache)) for pkg in PACKAGES}


def load_expectations(path: Path = EXPECTATIONS) -> list[dict[str, Any]]:
    relations: list[dict[str, Any]] = json.loads(path.read_text())["relations"]
    return relations


def _depths(scan_json: dict[str, Any]) -> dict[frozenset[str], int]:
    return {frozenset((d["a"], d["b"])): d["depth"] for d in scan_json.get("shared_depth", [])}


def check(rel: dict[str, Any], scan_json: dict[str, Any]) -> tuple[bool, str]:
    """Whether one relation holds on its package's scan, and what the scan says."""
    models = {m["id"] for m in scan_json.get("models", [])}
    kind = rel["kind"]
    if kind == "model":
        return rel["id"] in models, "found" if rel["id"] in models else "not a model"
    if kind in ("driver", "not_model"):
        return rel["id"] not in models, "a model" if rel["id"] in models else "not a model"
    depth = _depths(scan_json).get(frozenset((rel["a"], rel["b"])), 0)
    want = rel["depth"] if kind == "shared" else 0
    return depth == want, f"depth {depth}"


def is_false_share(rel: dict[str, Any], scan_json: dict[str, Any]) -> bool:
    """A share deeper than the expectation allows: never a gap, always a failure."""
    if rel["kind"] not in ("shared", "none"):
        return False
    depth = _depths(scan_json).get(frozenset((rel["a"], rel["b"])), 0)
    return depth > (rel["depth"] if rel["kind"] == "shared" else 0)


def _expected_models(relations: list[dict[str, Any]], package: str) -> set[str]:
    return {r["id"] for r in relations if r["package"] == package and r["kind"] == "model"}


def unjudged(relations: list[dict[str, Any]], scans: dict[str, dict[str, Any]]) -> list[str]:
    """Models the scan reports that no expectation judges, and shares between two expected models
    that no expectation judges: each must be judged (shares that involve a reported non-model
    are consequences of that false model, which is judged)."""
    judged_ids = {r["id"] for r in relations if "id" in r}
    judged_pairs = {frozenset((r["a"], r["b"])) for r in relations if "a" in r}
    out: list[str] = []
    for name, scan_json in scans.items():
        models = _expected_models(relations, name)
        out += [
            f"{name}: model {m['id']}"
            for m in scan_json.get("models", [])
            if m["id"] not in judged_ids
        ]
        out += [
            f"{name}: share {d['a']} ~ {d['b']} depth {d['depth']}"
            for d in scan_json.get("shared_depth", [])
            if d["depth"] > 0
            and {d["a"], d["b"]} <= models
            and frozenset((d["a"], d["b"])) not in judged_pairs
        ]
    return out


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def _row(pkg: Package, mine: list[dict[str, Any]], scan_json: dict[str, Any]) -> dict[str, Any]:
    expected_models = {r["id"] for r in mine if r["kind"] == "model"}
    found_models = {m["id"] for m in scan_json.get("models", [])}
    want = {frozenset((r["a"], r["b"])): r["depth"] for r in mine if r["kind"] == "shared"}
    negative = {frozenset((r["a"], r["b"])) for r in mine if r["kind"] == "none"}
    found_pairs = {p: d for p, d in _depths(scan_json).items() if d > 0}
    # Shares the precision counts: every judged pair, and every pair of two expected models.
    counted = {
        p: d for p, d in found_pairs.items() if p in want or p in negative or p <= expected_models
    }
    right = [p for p, d in counted.items() if p in want and d <= want[p]]
    gaps: dict[str, int] = defaultdict(int)
    for r in mine:
        # "a+b": the relation waits for both mechanisms; each is counted.
        for mechanism in r.get("gap", "").split("+") if "gap" in r else ():
            gaps[mechanism] += 1
    return {
        "version": pkg.version,
        "files": len(pkg.files),
        "relations": len(mine),
        "holding": sum(1 for r in mine if check(r, scan_json)[0]),
        "models_expected": len(expected_models),
        "models_found": len(expected_models & found_models),
        "models_reported": len(found_models),
        "shared_expected": len(want),
        "shared_found": sum(1 for p, d in want.items() if found_pairs.get(p) == d),
        "shared_reported": len(counted),
        "shared_right": len(right),
        "shares_of_false_models": len(found_pairs) - len(counted),
        "gaps": dict(sorted(gaps.items())),
    }


def _rates(row: dict[str, Any]) -> None:
    row["model_precision"] = _ratio(row["models_found"], row["models_reported"])
    row["model_recall"] = _ratio(row["models_found"], row["models_expected"])
    row["shared_precision"] = _ratio(row["shared_right"], row["shared_reported"])
    row["shared_recall"] = _ratio(row["shared_found"], row["shared_expected"])


def score(relations: list[dict[str, Any]], scans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per package and in total: models and shared runs expected/found, precision, recall, gaps.
    Model precision counts every model the scan reports; shared-run precision counts every
    reported share that an expectation judges or that joins two expected models."""
    rows = {
        pkg.name: _row(pkg, [r for r in relations if r["package"] == pkg.name], scans[pkg.name])
        for pkg in PACKAGES
    }
    total: dict[str, Any] = {"version": ""}
    for key in (
        "files",
        "relations",
        "holding",
        "models_expected",
        "models_found",
        "models_reported",
        "shared_expected",
        "shared_found",
        "shared_reported",
        "shared_right",
        "shares_of_false_models",
    ):
        total[key] = sum(r[key] for r in rows.values())
    all_gaps: dict[str, int] = defaultdict(int)
    for r in rows.values():
        _rates(r)
        for mech, n in r["gaps"].items():
            all_gaps[mech] += n
    total["gaps"] = dict(sorted(all_gaps.items()))
    _rates(total)
    return {"packages": rows, "total": total}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def table(scores: dict[str, Any]) -> str:
    """The Markdown table docs/realcorpus.md quotes."""
    lines = [
        "| package | version | files | relations (holding) | models expected / found / reported "
        "| model P / R | shared runs expected / found | shared P / R | shares between false models "
        "| gaps by mechanism |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def row(name: str, r: dict[str, Any]) -> str:
        gaps = ", ".join(f"{k} {v}" for k, v in r["gaps"].items()) or "-"
        return (
            f"| {name} | {r['version']} | {r['files']} | {r['relations']} ({r['holding']}) | "
            f"{r['models_expected']} / {r['models_found']} / {r['models_reported']} | "
            f"{_pct(r['model_precision'])} / {_pct(r['model_recall'])} | "
            f"{r['shared_expected']} / {r['shared_found']} | "
            f"{_pct(r['shared_precision'])} / {_pct(r['shared_recall'])} | "
            f"{r['shares_of_false_models']} | {gaps} |"
        )

    lines += [row(name, r) for name, r in scores["packages"].items()]
    lines.append(row("**total**", scores["total"]))
    return "\n".join(lines)


DOCS = REPO / "docs" / "realcorpus.md"
TABLE_START, TABLE_END = "<!-- realcorpus-table -->", "<!-- /realcorpus-table -->"


def docs_table(text: str) -> str:
    """The table between the markers of docs/realcorpus.md."""
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()


def write_docs(scores: dict[str, Any], path: Path = DOCS) -> None:
    """Put the current table between the markers of docs/realcorpus.md."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(TABLE_START, 1)
    tail = rest.split(TABLE_END, 1)[1]
    path.write_text(f"{head}{TABLE_START}\n{table(scores)}\n{TABLE_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--dump", type=Path, help="write every package's scan JSON here")
    parser.add_argument("--write-docs", action="store_true", help="update docs/realcorpus.md")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    scans = build_and_scan(args.cache)
    if args.dump:
        args.dump.write_text(json.dumps(scans, indent=1, sort_keys=True))
    relations = load_expectations()
    scores = score(relations, scans)
    print(json.dumps(scores, indent=1) if args.json else table(scores))
    if args.write_docs:
        write_docs(scores)
    for name in unjudged(relations, scans):
        print("unjudged:", name)
    for r in relations:
        ok, what = check(r, scans[r["package"]])
        if not ok:
            label = (
                "FALSE SHARE"
                if is_false_share(r, scans[r["package"]])
                else (f"gap {r['gap']}" if "gap" in r else "FAIL")
            )
            print(f"{label}: {r['kind']} {r.get('id') or r['a'] + ' ~ ' + r['b']}: {what}")
    print(f"built and scanned {len(PACKAGES)} packages in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
