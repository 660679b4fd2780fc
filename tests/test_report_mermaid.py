"""`codegen scan --format mermaid`: a flowchart GitHub renders, within its size limit, with a
note when branches are collapsed; the slow tests render it with the real `mermaid` package."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report_html import REPO, browse, codegen, make_corpus, scan_plan

from codegen.report.mermaid import MAX_CHARS, MAX_NODES, label, to_mermaid

MERMAID_CACHE = Path.home() / ".cache" / "layershare-test"
MERMAID_VERSION = "11"  # the major GitHub renders with


def defined_nodes(text: str) -> set[str]:
    """Ids of the nodes a flowchart defines (`id["..."]` or `id(["..."])`)."""
    return set(re.findall(r"^\s+(\w+)\(?\[\"", text, re.M))


def test_bundled_models_diagram_draws_every_layer_and_model() -> None:
    plan = scan_plan(REPO).plan
    diagram = to_mermaid(plan)
    assert diagram.text.startswith("flowchart LR\n")
    assert not diagram.collapsed and "Collapsed" not in diagram.text
    expected = len(plan.nodes) + 1 + len(plan.models)  # shared layers, the root, the models
    assert diagram.nodes == expected == len(defined_nodes(diagram.text))
    for model in plan.models:
        assert f'(["{model.name}"])' in diagram.text
    assert "key 00_503eeb33" in diagram.text  # the embed layer the six models share


def test_the_command_prints_it() -> None:
    done = codegen("scan", "models", "--no-cache", "--format", "mermaid", cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout == to_mermaid(scan_plan(REPO).plan).text


def test_labels_cannot_break_the_syntax() -> None:
    assert label('a "b" <c> #d') == "a #quot;b#quot; #lt;c#gt; #35;d"


def test_a_tight_limit_collapses_with_a_note() -> None:
    plan = scan_plan(REPO).plan
    full = to_mermaid(plan)
    small = to_mermaid(plan, max_nodes=8)
    assert small.collapsed and small.nodes <= 8
    assert "Collapsed to fit GitHub" in small.text
    assert "codegen scan --html shows all" in small.text
    assert small.nodes == len(defined_nodes(small.text)) < full.nodes
    # A character limit well under the full diagram (two thirds of it) collapses it to fit.
    limit = len(full.text) * 2 // 3
    tiny = to_mermaid(plan, max_chars=limit)
    assert tiny.collapsed and len(tiny.text) <= limit


@pytest.mark.slow
def test_two_hundred_models_stay_under_the_limits(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    diagram = to_mermaid(scan_plan(corpus).plan)
    assert len(diagram.text) <= MAX_CHARS and diagram.nodes <= MAX_NODES
    assert diagram.collapsed and "Collapsed to fit GitHub" in diagram.text
    assert diagram.nodes == len(defined_nodes(diagram.text))


# ---- slow: rendered by the real mermaid package in headless Chromium ------------------------


def mermaid_js() -> Path:
    """mermaid's browser bundle from the npm registry, installed once into a cache folder."""
    bundle = MERMAID_CACHE / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    if bundle.is_file():
        return bundle
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot fetch the mermaid package to render with")
    MERMAID_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", f"mermaid@{MERMAID_VERSION}"],
        cwd=MERMAID_CACHE,
        check=True,
        capture_output=True,
        timeout=900,
    )
    assert bundle.is_file(), "npm install mermaid left no dist/mermaid.min.js"
    return bundle


def render(text: str, folder: Path) -> tuple[int, str]:
    """Render with mermaid in Chromium: (nodes in the SVG, the page's log of errors)."""
    page = folder / "mermaid.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<script src='{mermaid_js().as_uri()}'></script></head><body>"
        "<pre id='log'></pre><div id='out'></div><script>\n"
        "var log = document.getElementById('log');\n"
        "window.onerror = function (m) { log.textContent += 'ERROR ' + m + '\\n'; };\n"
        "mermaid.initialize({startOnLoad: false});\n"
        f"mermaid.render('diagram', {json.dumps(text)}).then(function (r) {{\n"
        "  document.getElementById('out').innerHTML = r.svg;\n"
        "  log.textContent += 'NODES ' + document.querySelectorAll('#out g.node').length;\n"
        "}).catch(function (e) { log.textContent += 'ERROR ' + e; });\n"
        "</script></body></html>",
        encoding="utf-8",
    )
    dom, console = browse(page, "--dump-dom")
    log = re.search(r'<pre id="log">(.*?)</pre>', dom, re.S)
    assert log is not None, dom[:2000]
    found = re.search(r"NODES (\d+)", log.group(1))
    assert found and "ERROR" not in log.group(1), (log.group(1), console)
    assert "<svg" in dom
    return int(found.group(1)), log.group(1)


@pytest.mark.slow
def test_mermaid_renders_the_bundled_models(tmp_path: Path) -> None:
    diagram = to_mermaid(scan_plan(REPO).plan)
    nodes, _ = render(diagram.text, tmp_path)
    assert nodes == diagram.nodes


@pytest.mark.slow
def test_mermaid_renders_two_hundred_models_collapsed(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    done = codegen("scan", "models", "--no-cache", "--format", "mermaid", cwd=corpus)
    assert done.returncode in (0, 1), done.stderr
    text = done.stdout
    assert len(text) <= MAX_CHARS and "Collapsed to fit GitHub" in text
    nodes, _ = render(text, tmp_path)
    assert nodes == len(defined_nodes(text))


@pytest.mark.parametrize("doc_path", ["docs/report.md", "README.md"])
def test_the_docs_diagram_is_current(doc_path: str) -> None:
    """The README and docs/report.md carry the bundled models' diagram inline: it must be this
    tool's output, and the screenshot they show must exist."""
    doc = (REPO / doc_path).read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)```", doc, re.S)
    assert block is not None
    assert block.group(1) == to_mermaid(scan_plan(REPO).plan).text
    assert os.path.isfile(REPO / "docs" / "report.png") and "report.png" in doc


def test_check_report_markdown_outlines_the_changed_layers(tmp_path: Path) -> None:
    from test_report_html import changed_copy

    root = changed_copy(tmp_path)
    done = codegen("check", "--no-cache", "--report", "shared.md", cwd=root)
    assert done.returncode == 1, done.stderr
    text = (root / "shared.md").read_text(encoding="utf-8")
    assert "models/sentiment.py no longer shares `conv_block` (layer 3)" in text
    block = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert block is not None
    outlined = re.search(r"^  class (\S+) changed$", block.group(1), re.M)
    assert outlined is not None and len(outlined.group(1).split(",")) == 2
