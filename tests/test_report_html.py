"""`codegen scan --html`: one self-contained, deterministic page, checked in a real headless
Chromium (slow tests) for console errors, tree nodes, matrix cells and a divergence reason."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegen import pipeline
from codegen.config import Config
from codegen.model import Plan
from codegen.report.html import report_data, to_html
from codegen.report.trie import build_tree

REPO = Path(__file__).resolve().parent.parent
CORPUS_FILES = 225  # bench/corpus.py with seed 0 gives about 200 models from this many files
# A reason the planner gives for the bundled models: ner and intent differ in vocab_size.
KNOWN_REASON = "`vocab_size` is 20000 in models/ner.py but 30000 in models/intent.py"


def scan_plan(root: Path) -> pipeline.Scan:
    """The scan of `root/models`, as `codegen scan` runs it (no cache)."""
    return pipeline.scan(["models"], Config(root=str(root)), use_cache=False)


def codegen(*args: str, cwd: Path, seed: str = "0") -> subprocess.CompletedProcess[str]:
    """The real command line, in a fresh process (hash seed fixed by the caller)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": seed}
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def make_corpus(out: Path, files: int = CORPUS_FILES) -> Path:
    """A reproducible bench corpus of about 200 models under `out/models`."""
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "corpus.py"), str(out), "--files", str(files)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def chromium() -> str:
    """Debian's chromium; installed by .ci/run, and by this helper when it is missing as root."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
            shell=True,
            check=False,
            capture_output=True,
            timeout=1800,
        )
        found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed (apt-get install chromium; .ci/run does it)")
    return found


def browse(page: Path, *extra: str) -> tuple[str, list[str]]:
    """Load a page in headless Chromium: its DOM after the scripts ran, and console messages."""
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=30000",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def screenshot(page: Path, png: Path, size: str = "1400,1100") -> None:
    """A PNG of the page as a reader first sees it."""
    browse(page, "--hide-scrollbars", f"--window-size={size}", f"--screenshot={png}")
    assert png.stat().st_size > 10_000, "an empty screenshot"


def dom_counts(dom: str) -> tuple[int, int, int]:
    """Tree nodes, model leaves and matrix cells in a dumped DOM."""
    nodes = len(re.findall(r'<g class="n s\d', dom))
    leaves = len(re.findall(r'<g class="leaf', dom))
    cells = len(re.findall(r'<td class="c ', dom))
    return nodes, leaves, cells


# ---- fast: the file itself ------------------------------------------------------------------


def test_page_is_self_contained_and_places_every_node_and_model() -> None:
    scanned = scan_plan(REPO)
    page = to_html(scanned.plan, scanned.diagnostics, root=str(REPO), report_dir=str(REPO))
    # Nothing to fetch: no external script, stylesheet, image, font or frame; the one URL is
    # the SVG namespace, which is a name, never loaded.
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", page)
    assert "default-src 'none'" in page  # and the page forbids it itself
    nodes, leaves, _ = dom_counts(page)
    assert nodes == len(scanned.plan.nodes) + 1  # the trie's shared layers and the root
    assert leaves == len(scanned.plan.models)
    assert html.escape(KNOWN_REASON, quote=False) in page
    # Source links are relative to the page's folder.
    assert '<a href="models/intent.py#L' in page
    elsewhere = to_html(scanned.plan, root=str(REPO), report_dir=str(REPO / "build" / "site"))
    assert '<a href="../../models/intent.py#L' in elsewhere and str(REPO) not in elsewhere


def test_every_divergence_is_found_again_by_the_page() -> None:
    plan = scan_plan(REPO).plan
    data = report_data(plan, build_tree(plan))
    assert len(data["why"]) == len(plan.divergences)  # one cell key per divergence, no clash
    assert KNOWN_REASON in " ".join(data["why"].values())
    assert sorted(m["n"] for m in data["models"]) == sorted(m.name for m in plan.models)


def test_trie_paths_give_the_plans_shared_depths() -> None:
    from codegen.plan.planner import pair_depths

    plan = scan_plan(REPO).plan
    tree = build_tree(plan)
    depths = pair_depths(plan)
    ids = [m.id for m in plan.models]
    for i, a in enumerate(ids):
        for j, b in enumerate(ids[i + 1 :], start=i + 1):
            common = 0
            for x, y in zip(tree.paths[i], tree.paths[j], strict=False):
                if x != y:
                    break
                common += 1
            assert common == depths.get((min(a, b), max(a, b)), 0), (a, b)


def test_same_bytes_twice_and_under_two_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for run, seed in enumerate(("0", "0", "12345")):
        out = tmp_path / f"report{run}.html"
        done = codegen("scan", "models", "--no-cache", "--html", str(out), cwd=REPO, seed=seed)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert b"<svg" in outputs[0]


def test_empty_plan_renders() -> None:
    plan = Plan((), (), (), (), (), (), (), (), ())
    page = to_html(plan)
    assert dom_counts(page)[:2] == (1, 0)


# ---- slow: in a real browser ---------------------------------------------------------------


def check_in_browser(page: Path, plan: Plan, reason: str, png: Path) -> None:
    dom, console = browse(page, "--dump-dom")
    assert console == [], console
    errors = re.search(r'<pre id="errors"[^>]*>(.*?)</pre>', dom, re.S)
    assert errors is not None and errors.group(1) == "", errors
    nodes, leaves, cells = dom_counts(dom)
    shown = min(len(plan.models), 300)  # MATRIX_MAX in report.js
    assert (nodes, leaves, cells) == (len(plan.nodes) + 1, len(plan.models), shown * shown)
    assert html.escape(reason, quote=False) in dom
    screenshot(page, png)


@pytest.mark.slow
def test_bundled_models_report_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = codegen("scan", "models", "--no-cache", "--html", str(page), cwd=REPO)
    assert done.returncode == 0, done.stderr
    check_in_browser(page, scan_plan(REPO).plan, KNOWN_REASON, tmp_path / "report.png")


@pytest.mark.slow
def test_two_hundred_model_report_in_chromium(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    plan = scan_plan(corpus).plan
    assert 180 <= len(plan.models) <= 260, len(plan.models)
    page = tmp_path / "report.html"
    done = codegen("scan", "models", "--no-cache", "--html", str(page), cwd=corpus)
    assert done.returncode in (0, 1), done.stderr  # 1: the corpus plants unreadable files
    reason = next(d.reason for d in plan.divergences if d.depth >= 1)
    check_in_browser(page, plan, reason, tmp_path / "report.png")


def changed_copy(root: Path) -> Path:
    """The bundled project with one edit: sentiment's second conv_block gets width 256, so it
    leaves review and topic and joins ner and slots at layer 3."""
    for name in ("models", "generated"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    model = root / "models" / "sentiment.py"
    text = model.read_text(encoding="utf-8")
    edited = text.replace('conv_block(h, 128, 3, "conv2")', 'conv_block(h, 256, 3, "conv2")')
    assert edited != text
    model.write_text(edited, encoding="utf-8")
    return root


def test_check_report_html_says_what_the_change_does(tmp_path: Path) -> None:
    root = changed_copy(tmp_path)
    page = root / "review" / "shared.html"
    page.parent.mkdir()
    done = codegen("check", "--no-cache", "--report", str(page), cwd=root)
    assert done.returncode == 1, done.stderr  # out of date, and the report is written anyway
    text = page.read_text(encoding="utf-8")
    assert "What this change does to transfer checkpoints" in text
    assert "models/sentiment.py no longer shares `conv_block` (layer 3)" in text
    # The two layer-3 nodes (the one sentiment leaves, the one it joins) are outlined.
    assert len(re.findall(r'<g class="n s\d chg"', text)) == 2
    assert '<a href="../models/' in text  # links from the report's own folder


def test_check_report_in_sync_says_nothing_changes(tmp_path: Path) -> None:
    for name in ("models", "generated"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    page = tmp_path / "shared.html"
    done = codegen("check", "--report", str(page), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = page.read_text(encoding="utf-8")
    assert "No model gains or loses a shared layer" in text and " chg" not in text


def test_a_report_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "missing" / "report.html"
    done = codegen("scan", "models", "--no-cache", "--html", str(page), cwd=REPO)
    assert done.returncode == 2
    assert "cannot write the report" in done.stderr and not page.exists()
