"""CPU time of positions' printing: libcst's own vs the short cut, against libcst's parse.

Usage: `python bench/printer_ab.py FOLDER` (every .py file under it; the repo importable)."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

import libcst

from codegen.scan.extract.parser import parse_module
from codegen.scan.extract.positions import SpanRecorder
from codegen.scan.extract.printer import print_module


def main() -> None:
    paths = sorted(Path(sys.argv[1]).rglob("*.py"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    modules = [parse_module(t) for t in texts]

    def libcst_printing() -> None:
        for module in modules:
            module._codegen(SpanRecorder(module))

    def short_cut() -> None:
        for module in modules:
            print_module(module, SpanRecorder(module))

    def parse() -> None:
        for text in texts:
            libcst.parse_module(text)

    steps: dict[str, Callable[[], None]] = {
        "libcst_printing": libcst_printing,
        "short_cut": short_cut,
        "parse": parse,
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(5):
        for name, step in steps.items():
            gc.collect()
            start = time.process_time()
            step()
            times[name].append(time.process_time() - start)
    floor = min(times["parse"])
    for name, values in times.items():
        print(f"{name}: min {min(values):.3f} s CPU, {min(values) / floor:.3f} of the parse")


if __name__ == "__main__":
    main()
