"""The docs hold to the code: the architecture map lists the real modules, the README is short and
its quickstart commands are the ones that work, the reference lists every diagnostic code."""

from __future__ import annotations

import re
from pathlib import Path

from codegen.diagnostics import MEANINGS

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "codegen"
README = REPO / "README.md"
DOCS = REPO / "docs"
MAX_README_LINES = 260
QUICKSTART = (
    'python3 -m venv .venv && .venv/bin/pip install -q -e ".[tensorflow]"'
    " && .venv/bin/codegen demo",
    "bash .ci/run",
)


def _section(text: str, heading: str) -> str:
    """The body of `## heading`, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no `## {heading}` section"
    return match.group(1)


def _real_modules() -> set[str]:
    """Every module (`codegen/x.py`) and subpackage (`codegen/x/`) of codegen, and its root."""
    found = {"codegen/__init__.py"}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        if path.name != "__init__.py":
            found.add(rel)
        elif path.parent != PACKAGE:
            found.add(rel.removesuffix("__init__.py"))
    return found


def _mapped_modules() -> list[str]:
    body = _section((DOCS / "architecture.md").read_text(encoding="utf-8"), "Module map")
    return re.findall(r"^- `(codegen/[^`]*)`:", body, re.M)


def test_module_map_lists_exactly_the_real_modules() -> None:
    mapped = _mapped_modules()
    real = _real_modules()
    assert len(mapped) == len(set(mapped)), "a module is listed twice"
    assert not real - set(mapped), f"add to docs/architecture.md: {sorted(real - set(mapped))}"
    assert not set(mapped) - real, f"gone from codegen/: {sorted(set(mapped) - real)}"


def test_module_map_describes_each_entry() -> None:
    body = _section((DOCS / "architecture.md").read_text(encoding="utf-8"), "Module map")
    bare = re.findall(r"^- `(codegen/[^`]*)`:\s*$", body, re.M)
    assert not bare, f"entries without a description: {bare}"


def test_readme_is_short() -> None:
    """The prose is short; the Mermaid diagram of models/ is the tool's output (test_report_mermaid
    holds it to the scan) and grows with the bundled models, so its lines are not counted."""
    readme = README.read_text(encoding="utf-8")
    lines = re.sub(r"^```mermaid\n.*?^```\n", "", readme, flags=re.M | re.S).splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_readme_quickstart_commands_are_verbatim() -> None:
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    commands = {line.strip() for block in blocks for line in block.splitlines()}
    for command in QUICKSTART:
        assert command in commands, f"README quickstart lost: {command}"


def test_reference_lists_every_diagnostic_code() -> None:
    text = (DOCS / "reference.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| (CG\d{3}) \|", _section(text, "Diagnostic codes"), re.M)
    assert len(listed) == len(set(listed)), "a code is listed twice"
    assert set(listed) == set(MEANINGS), (
        f"missing: {sorted(set(MEANINGS) - set(listed))}, "
        f"unknown: {sorted(set(listed) - set(MEANINGS))}"
    )


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_relative_links_and_their_anchors_resolve() -> None:
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            linked = (page.parent / target) if target else page
            assert linked.exists(), f"{page.relative_to(REPO)} links to {target}"
            if anchor:
                headings = re.findall(r"^#+ (.*)$", linked.read_text(encoding="utf-8"), re.M)
                assert anchor in {_anchor(h) for h in headings}, f"{page.name}: no #{anchor}"
