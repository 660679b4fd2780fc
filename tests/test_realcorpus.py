"""The scanner on a real-code corpus built from pinned PyPI packages (bench/realcorpus.py): every
hand-written expectation in bench/realcorpus_expectations.json holds, or waits for a named
mechanism as a strict expected failure; a false share always fails."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realcorpus

pytestmark = [pytest.mark.slow, pytest.mark.network]

RELATIONS = realcorpus.load_expectations()
KINDS = {"model", "driver", "not_model", "shared", "none"}


@pytest.fixture(scope="module")
def scans() -> dict[str, dict[str, Any]]:
    return realcorpus.build_and_scan()


def _name(rel: dict[str, Any]) -> str:
    return f"{rel['kind']}:{rel.get('id') or rel['a'] + '~' + rel['b'].split('::')[-1]}"


def test_the_expectations_are_well_formed() -> None:
    """At least 10 packages and 60 relations, each with its package, file and reason; a gap is
    never allowed on a negative control, and ids are unique per kind."""
    packages = {p.name for p in realcorpus.PACKAGES}
    assert len(packages) >= 10
    assert len(RELATIONS) >= 60
    assert {r["package"] for r in RELATIONS} <= packages
    for rel in RELATIONS:
        assert rel["kind"] in KINDS, rel
        assert rel["why"].strip() and rel["file"].endswith(".py"), rel
        assert rel["kind"] != "none" or "gap" not in rel, f"a false share is never a gap: {rel}"
        ids = [rel["id"]] if "id" in rel else [rel["a"], rel["b"]]
        pkg = next(p for p in realcorpus.PACKAGES if p.name == rel["package"])
        assert all(i.split("::")[0] in pkg.files for i in ids), rel
        assert rel["file"] == ids[0].split("::")[0], rel
    keys = [(r["kind"], r.get("id") or frozenset((r["a"], r["b"]))) for r in RELATIONS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("rel", RELATIONS, ids=[_name(r) for r in RELATIONS])
def test_expectation(rel: dict[str, Any], scans: dict[str, dict[str, Any]]) -> None:
    """Holds, or is a recorded gap that does not hold yet (strict: a gap that starts holding
    fails until the file is updated). A share deeper than expected is never a gap."""
    scan_json = scans[rel["package"]]
    ok, what = realcorpus.check(rel, scan_json)
    assert not realcorpus.is_false_share(rel, scan_json), f"false share ({what}): {rel['why']}"
    if "gap" in rel:
        if ok:
            pytest.fail(f"now holds ({what}): remove its gap {rel['gap']!r} from the expectations")
        pytest.xfail(f"gap {rel['gap']}: {what}")
    assert ok, f"{what}: {rel['why']}"


def test_every_reported_model_and_share_is_judged(scans: dict[str, dict[str, Any]]) -> None:
    """A model the scan starts reporting, or a new share between expected models, needs a
    judgement in the expectations file before it counts."""
    assert realcorpus.unjudged(RELATIONS, scans) == []


def test_scores_are_printed_and_the_docs_table_is_current(
    scans: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The figures go to the test output and docs/realcorpus.md quotes them as they are today
    (`python bench/realcorpus.py --write-docs` updates it)."""
    scores = realcorpus.score(RELATIONS, scans)
    current = realcorpus.table(scores)
    with capsys.disabled():
        print("\n" + current)
    documented = realcorpus.docs_table(realcorpus.DOCS.read_text(encoding="utf-8"))
    assert documented == current, "run `python bench/realcorpus.py --write-docs`"
