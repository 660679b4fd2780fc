"""Regenerate every golden case: `python tests/golden/regen.py` (then review the diff and commit)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from codegen import pipeline, runtime  # noqa: E402
from codegen.config import Config  # noqa: E402


def expected_outputs(case: Path) -> dict[str, str]:
    """What codegen makes of a case's models/: generated files and routed models, by relative path."""
    outcome = pipeline.build(Config(root=str(case)), ["models"], use_cache=False)
    if outcome.diagnostics:
        raise SystemExit(f"{case.name}: {[p.format() for p in outcome.diagnostics]}")
    # The runtime is copied verbatim from codegen/runtime/: test_golden checks it, cases skip it.
    runtime_files = runtime.files()
    out = {
        f"generated/{name}": text
        for name, text in outcome.files.items()
        if name not in runtime_files
    }
    for source in outcome.scan.sources:
        out[source.path] = outcome.routed.get(source.abspath, source.text or "")
    return out


def cases() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if (p / "models").is_dir())


def main() -> int:
    for case in cases():
        target = case / "expected"
        shutil.rmtree(target, ignore_errors=True)
        for relative, text in expected_outputs(case).items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        print(f"regenerated {target.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
