"""Score what codegen and pylint report against the ground truth planted by bench/corpus.py."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from codegen.ids import id_path

# pylint's R0801 block: a header line, then one `==module:[start:end]` line per file.
_PYLINT_ENTRY = re.compile(r"^==([\w.]+):\[(\d+):(\d+)\]\s*$")
# Lines a pylint block must share with a function before it counts as reporting that function.
MIN_OVERLAP = 3


def function_ranges(corpus: Path, paths: set[str]) -> dict[str, tuple[int, int]]:
    """`path::qualname` -> (first, last) 1-based line of every top-level function in `paths`."""
    ranges: dict[str, tuple[int, int]] = {}
    for path in sorted(paths):
        tree = ast.parse((corpus / path).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                ranges[f"{path}::{node.name}"] = (node.lineno, node.end_lineno or node.lineno)
    return ranges


def _class_of(scan: dict[str, Any]) -> dict[str, str]:
    return {member: c["id"] for c in scan.get("clone_classes", []) for member in c["members"]}


def codegen_scores(manifest: dict[str, Any], scan: dict[str, Any]) -> dict[str, Any]:
    """Recall of planted renamed/exact pairs and near-misses, and purity of the clone classes."""
    class_of = _class_of(scan)
    kind_of = {c["id"]: c["kind"] for c in scan.get("clone_classes", [])}

    def same_class(a: str, b: str) -> bool:
        return a in class_of and class_of.get(a) == class_of.get(b)

    renamed = manifest["renamed_pairs"]
    renamed_found = [p for p in renamed if same_class(p["copy"], p["origin"])]
    renamed_kind_ok = [p for p in renamed_found if kind_of[class_of[p["copy"]]] == "renamed"]
    exact = manifest["exact_pairs"]
    exact_found = [p for p in exact if same_class(p["copy"], p["origin"])]

    def rep(builder: str) -> str:
        return class_of.get(builder, builder)

    reported = {frozenset((rep(n["a"]), rep(n["b"]))) for n in scan.get("near_misses", [])}
    near = manifest["near_miss_pairs"]
    near_found = [n for n in near if frozenset((rep(n["a"]), rep(n["b"]))) in reported]

    copies = [m for g in manifest["clone_groups"] for m in g["members"]]
    group_members = {m: g["members"] for g in manifest["clone_groups"] for m in g["members"]}
    copies_linked = [m for m in copies if any(same_class(m, o) for o in group_members[m] if o != m)]
    planted_groups = {frozenset(g["members"]) for g in manifest["clone_groups"]}
    group_of = {m: (b["family"], b["variant"]) for b in manifest["builders"] for m in [b["id"]]}
    codegen_groups = [frozenset(c["members"]) for c in scan.get("clone_classes", [])]
    # Identical build functions are real clones the generator did not plant: counted apart.
    unplanted = [g for g in codegen_groups if not any(m in group_of for m in g)]
    mixed = [
        g
        for g in codegen_groups
        if g not in unplanted and len({group_of.get(m, ("?", m)) for m in g}) > 1
    ]
    return {
        "renamed_pairs": len(renamed),
        "renamed_pairs_found": len(renamed_found),
        "renamed_pairs_found_as_renamed_class": len(renamed_kind_ok),
        "exact_pairs": len(exact),
        "exact_pairs_found": len(exact_found),
        "copies": len(copies),
        "copies_linked": len(copies_linked),
        "near_miss_pairs": len(near),
        "near_miss_pairs_found": len(near_found),
        "near_misses_reported": len(scan.get("near_misses", [])),
        "planted_groups": len(planted_groups),
        "clone_classes": len(codegen_groups),
        "clone_classes_equal_to_planted": len(planted_groups & set(codegen_groups)),
        "clone_classes_mixing_builders": len(mixed),
        "clone_classes_of_unplanted_functions": len(unplanted),
        "missed_renamed_examples": [p["copy"] for p in renamed if p not in renamed_found][:5],
        "missed_near_miss_examples": [n["a"] for n in near if n not in near_found][:5],
    }


def parse_pylint(text: str) -> list[list[tuple[str, int, int]]]:
    """Each R0801 report as [(module, first line, last line)], lines 1-based inclusive."""
    blocks: list[list[tuple[str, int, int]]] = []
    current: list[tuple[str, int, int]] | None = None
    for line in text.splitlines():
        if "R0801" in line:
            current = []
            blocks.append(current)
            continue
        match = _PYLINT_ENTRY.match(line)
        if match and current is not None:
            # pylint prints [start:end] with a 0-based start and an exclusive 0-based end.
            current.append((match.group(1), int(match.group(2)) + 1, int(match.group(3))))
        elif current is not None and current and not line.startswith("=="):
            current = None  # the code excerpt started: this block's file list is complete
    return [block for block in blocks if block]


def _module(path: str) -> str:
    """pylint's module name for a file in a folder without __init__.py: its stem."""
    return path.rsplit("/", 1)[-1].removesuffix(".py")


def pylint_scores(
    manifest: dict[str, Any],
    blocks: list[list[tuple[str, int, int]]],
    ranges: dict[str, tuple[int, int]],
) -> dict[str, Any]:
    """Which planted pairs a pylint R0801 block links, function range against function range."""
    index: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for number, block in enumerate(blocks):
        for module, first, last in block:
            index[module].append((number, first, last))

    def blocks_covering(builder: str) -> set[int]:
        path = id_path(builder)
        first, last = ranges[builder]
        return {
            number
            for number, start, end in index.get(_module(path), ())
            if min(end, last) - max(start, first) + 1 >= min(MIN_OVERLAP, last - first + 1)
        }

    covering = {
        b["id"]: blocks_covering(b["id"]) for b in manifest["builders"] if b["id"] in ranges
    }

    def linked(a: str, b: str) -> bool:
        return bool(covering.get(a, set()) & covering.get(b, set()))

    renamed = manifest["renamed_pairs"]
    exact = manifest["exact_pairs"]
    near = manifest["near_miss_pairs"]
    # Generous variant: a renamed copy counts if pylint links it to any differently spelled copy.
    members: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for builder in manifest["builders"]:
        members[(builder["family"], builder["variant"])].append(builder)
    renamed_any = 0
    for builder in manifest["builders"]:
        if not builder["renamed"]:
            continue
        others = [
            o["id"]
            for o in members[(builder["family"], builder["variant"])]
            if o["spelling"] != builder["spelling"]
        ]
        renamed_any += any(linked(builder["id"], other) for other in others)
    copies_linked = 0
    copies = 0
    for group in manifest["clone_groups"]:
        for member in group["members"]:
            copies += 1
            copies_linked += any(
                linked(member, other) for other in group["members"] if other != member
            )
    return {
        "reports": len(blocks),
        "copies": copies,
        "copies_linked": copies_linked,
        "renamed_pairs": len(renamed),
        "renamed_pairs_found": sum(linked(p["copy"], p["origin"]) for p in renamed),
        "renamed_copies_linked_to_any_other_spelling": renamed_any,
        "exact_pairs": len(exact),
        "exact_pairs_found": sum(linked(p["copy"], p["origin"]) for p in exact),
        "near_miss_pairs": len(near),
        "near_miss_pairs_reported_as_duplicates": sum(linked(n["a"], n["b"]) for n in near),
    }
