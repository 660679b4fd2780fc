"""Bigger trial counts for the users'-files-are-sacred races (issue 14) than CI runs.

    python bench/bench_sacred.py [TRIALS] [MODELS]

Runs the three real-process race tests of tests/test_sacred.py (an edit saved while `sync` runs,
in place and by rename; a git-checkout-style swap of the whole tree; SIGKILL, then an edit, then
recovery) with TRIALS moments each on a tree of MODELS models, and prints what each trial saw.
Every trial asserts that no user byte was lost; the printout counts the outcomes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    trials = sys.argv[1] if len(sys.argv) > 1 else "10"
    models = sys.argv[2] if len(sys.argv) > 2 else "60"
    env = {
        **os.environ,
        "CODEGEN_SACRED_TRIALS": trials,
        "CODEGEN_SACRED_MODELS": models,
        "PYTHONPATH": str(REPO),
    }
    tests = [
        "tests/test_sacred.py::test_an_edit_saved_while_sync_runs_is_never_overwritten",
        "tests/test_sacred.py::test_a_git_checkout_during_sync_never_writes_the_old_branch",
        "tests/test_sacred.py::test_recovery_after_sigkill_never_overwrites_an_edit_made_since",
    ]
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *tests]
    result = subprocess.run(command, cwd=REPO, env=env, text=True, capture_output=True)
    for line in result.stdout.splitlines():
        if line.startswith(("edit while", "checkout during", "SIGKILL then")) or "passed" in line:
            print(line)
    if result.returncode:
        print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
