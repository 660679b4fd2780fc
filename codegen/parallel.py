"""The process pool that parses and applies many files at once, and its worker entry points."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from codegen.gcpause import gc_paused
from codegen.model import ModelEdit, ModuleFacts, SourceFile

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 48

Item = TypeVar("Item")
Result = TypeVar("Result")


def resolve_jobs(requested: int, pending: int) -> int:
    """0 means automatic: every core for a large tree, one process for a small one. Never more
    processes than files to parse, nor than cores (`--jobs 100` for 5 files starts 5 at most)."""
    cores = os.cpu_count() or 1
    if requested > 0:
        return max(1, min(requested, pending, cores))
    return cores if pending >= PARALLEL_THRESHOLD else 1


def _exit_with_parent(parent: int) -> None:
    """Pool worker initializer: when the parent is killed (SIGKILL), exit instead of lingering."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="codegen-parent-watch", daemon=True).start()


def pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers never outlive this process."""
    # multiprocessing is imported here: a run that parses a file or two never starts a pool.
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=workers, initializer=_exit_with_parent, initargs=(os.getpid(),)
    )


def chunks_by_size(items: Sequence[SourceFile], count: int) -> list[list[SourceFile]]:
    """Split work into about `count * 4` chunks balanced by text size."""
    buckets: list[list[SourceFile]] = [[] for _ in range(max(1, count * 4))]
    sizes = [0] * len(buckets)
    for item in sorted(items, key=lambda s: -len(s.text or "")):
        index = sizes.index(min(sizes))
        buckets[index].append(item)
        sizes[index] += len(item.text or "")
    return [bucket for bucket in buckets if bucket]


def map_in_order(
    worker: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item], workers: int
) -> list[Result]:
    """`worker` over round-robin chunks of `items` in a pool; results in the order of `items`."""
    count = workers * 4
    parts = [items[i::count] for i in range(count)]
    with pool(workers) as executor:
        done = list(executor.map(worker, parts))
    # Undo the round-robin split so results line up with `items` again.
    results: list[Result | None] = [None] * len(items)
    for offset, part in enumerate(done):
        results[offset::count] = part
    return results  # type: ignore[return-value]  # every slot was filled


def map_as_done(
    worker: Callable[[list[SourceFile]], list[ModuleFacts]],
    chunks: list[list[SourceFile]],
    workers: int,
) -> Iterator[list[ModuleFacts]]:
    """`worker` over `chunks` in a pool, yielding each chunk's results in order as they finish."""
    with pool(workers) as executor:
        yield from executor.map(worker, chunks)


def extract_chunk(sources: Sequence[SourceFile]) -> list[ModuleFacts]:
    """Worker entry point: extract a chunk of files in one process."""
    from codegen.scan.extract import extract  # libcst: only in processes that parse

    with gc_paused():
        return [extract(source) for source in sources]


def apply_chunk(work: Sequence[tuple[str, ModelEdit]]) -> list[object]:
    """Worker entry point: apply a chunk of edits in one process."""
    from codegen.apply.rewrite import apply_edit  # libcst and its metadata: only when applying

    return [apply_edit(text, edit) for text, edit in work]
