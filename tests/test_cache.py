"""Facts cache: round trips, damage treated as a miss, concurrent writers, disabled modes."""

from __future__ import annotations

import dataclasses
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from codegen.cache import facts as cache_module
from codegen.cache.facts import MAGIC, FactsCache
from codegen.cache.location import claim
from codegen.model import Diagnostic, ModuleFacts
from tests.conftest import REPO


def facts(number: int, *, size: int = 200) -> ModuleFacts:
    """A ModuleFacts whose fields are filled from their names, so new model fields need no edit."""
    known = {
        "path": f"models/m{number}.py",
        "digest": f"{number:064x}",
        "functions": (),
        "symbols": (),
        "aliases": (("tf", "tensorflow"),),
        "diagnostics": (Diagnostic(f"models/m{number}.py", 1, 0, "CG999", "info", "note"),),
        "ok": True,
        "text": f"# model {number}\n" + "x" * size,
    }
    defaults = {"str": "", "bool": False, "int": 0}
    values = {}
    for field in dataclasses.fields(ModuleFacts):
        kind = str(field.type)
        values[field.name] = known.get(
            field.name, () if kind.startswith("tuple") else defaults.get(kind)
        )
    return ModuleFacts(**values)



@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:
    """A cache folder codegen made itself: an existing folder it did not create is never used."""
    folder = tmp_path / "cache"
    assert claim(folder) == ""
    return folder


def packs(directory: Path) -> list[Path]:
    return sorted(directory.glob("pack-*.bin"))


def test_round_trip_across_instances(tmp_path: Path) -> None:
    first = FactsCache(tmp_path / "c", "salt")
    for number in range(5):
        first.put(f"d{number}", facts(number))
    assert first.get("d3") == facts(3)  # visible before flush too
    first.flush()
    second = FactsCache(tmp_path / "c", "salt")
    assert [second.get(f"d{n}") for n in range(5)] == [facts(n) for n in range(5)]
    assert second.get("unknown") is None
    assert second.warnings == []


def test_folder_markers_are_created(tmp_path: Path) -> None:
    FactsCache(tmp_path / "deep" / "cache", "salt")
    folder = tmp_path / "deep" / "cache"
    assert (folder / ".gitignore").read_text() == "*\n"
    assert (
        (folder / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )


def test_salt_and_path_are_part_of_the_key(tmp_path: Path) -> None:
    cache = FactsCache(tmp_path, "v1")
    cache.put("d", facts(1), path="models/a.py")
    cache.flush()
    assert FactsCache(tmp_path, "v2").get("d", path="models/a.py") is None
    reopened = FactsCache(tmp_path, "v1")
    assert reopened.get("d", path="models/b.py") is None
    assert reopened.get("d", path="models/a.py") == facts(1)


def test_warm_run_with_only_hits_writes_nothing(tmp_path: Path) -> None:
    cache = FactsCache(tmp_path, "s")
    cache.put("d", facts(1))
    cache.flush()
    before = [(p.name, p.stat().st_mtime_ns) for p in packs(tmp_path)]
    warm = FactsCache(tmp_path, "s")
    assert warm.get("d") == facts(1)
    warm.flush()
    assert [(p.name, p.stat().st_mtime_ns) for p in packs(tmp_path)] == before


def test_repeated_flushes_keep_earlier_entries_in_one_pack(tmp_path: Path) -> None:
    cache = FactsCache(tmp_path, "s")
    for number in range(4):
        cache.put(f"d{number}", facts(number))
        cache.flush()
    assert len(packs(tmp_path)) == 1
    reopened = FactsCache(tmp_path, "s")
    assert all(reopened.get(f"d{n}") == facts(n) for n in range(4))


def test_packs_from_several_runs_are_merged(tmp_path: Path) -> None:
    one, two = FactsCache(tmp_path, "s"), FactsCache(tmp_path, "s")
    one.get("x"), two.get("x")  # both load the (empty) state first, like two concurrent runs
    one.put("a", facts(1))
    two.put("b", facts(2))
    one.flush()
    two.flush()
    assert len(packs(tmp_path)) == 2
    merged = FactsCache(tmp_path, "s")
    assert merged.get("a") == facts(1) and merged.get("b") == facts(2)
    merged.flush()
    assert len(packs(tmp_path)) == 1
    assert FactsCache(tmp_path, "s").get("a") == facts(1)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"",  # empty
        lambda data: b"PK\x03\x04 not ours at all" * 10,  # foreign
        lambda data: data + b"trailing",  # appended junk
        lambda data: data[:-30] + bytes(b ^ 0xFF for b in data[-30:]),  # flipped bytes
    ],
)
def test_damaged_pack_is_a_miss_and_replaced_on_flush(tmp_path: Path, damage) -> None:
    cache = FactsCache(tmp_path, "s")
    cache.put("d", facts(1, size=500))
    cache.flush()
    (pack,) = packs(tmp_path)
    pack.write_bytes(damage(pack.read_bytes()))
    reopened = FactsCache(tmp_path, "s")
    assert reopened.get("d") is None
    reopened.put("e", facts(2))
    reopened.flush()
    assert pack not in packs(tmp_path)  # the damaged pack is gone
    final = FactsCache(tmp_path, "s")
    assert final.get("e") == facts(2)
    assert final.get("d") is None


def test_foreign_pickle_in_a_well_formed_pack_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    cache = FactsCache(tmp_path, "s")
    blob = pickle.dumps(Evil())
    key = cache.key("d")
    index = struct.pack("<32sQII", key, 0, len(blob), zlib.crc32(blob))
    (tmp_path / "pack-evil.bin").write_bytes(MAGIC + struct.pack("<I", 1) + index + blob)
    assert cache.get("d") is None
    assert not (tmp_path / "pwned").exists()


def test_stray_files_in_the_folder_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "pack-dir.bin").mkdir()
    cache = FactsCache(tmp_path, "s")
    cache.put("d", facts(1))
    cache.flush()
    assert FactsCache(tmp_path, "s").get("d") == facts(1)


def test_disabled_cache_does_nothing(tmp_path: Path) -> None:
    cache = FactsCache(None, "s")
    cache.put("d", facts(1))
    cache.flush()
    assert cache.get("d") is None
    assert not cache.enabled
    assert cache.warnings == []


def test_unusable_folder_disables_with_one_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = FactsCache(blocker / "cache", "s")
    assert not cache.enabled
    assert [(w.code, w.severity) for w in cache.warnings] == [("CG601", "warning")]
    cache.put("d", facts(1))
    cache.flush()
    assert cache.get("d") is None
    assert len(cache.warnings) == 1


def test_write_failure_on_flush_disables_quietly(tmp_path: Path, monkeypatch) -> None:
    cache = FactsCache(tmp_path, "s")
    cache.put("d", facts(1))

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.atomic.os, "replace", refuse)  # the temp must go too
    cache.flush()
    assert [w.code for w in cache.warnings] == ["CG601"]
    assert "No space left" in cache.warnings[0].message
    assert not cache.enabled
    assert list(tmp_path.glob(".*.codegen-tmp-*")) == []


def test_size_cap_drops_least_recently_used_entries(tmp_path: Path, monkeypatch) -> None:
    cache = FactsCache(tmp_path, "s")
    for number in range(10):
        cache.put(f"d{number}", facts(number, size=1000))
    cache.flush()
    one_entry = len(pickle.dumps(facts(0, size=1000), protocol=pickle.HIGHEST_PROTOCOL))
    monkeypatch.setattr(cache_module, "MAX_PACK_BYTES", one_entry * 4 + 10)
    run = FactsCache(tmp_path, "s")
    assert run.get("d7") == facts(7, size=1000) and run.get("d8") == facts(8, size=1000)
    run.put("new", facts(99, size=1000))
    run.flush()
    after = FactsCache(tmp_path, "s")
    kept = [key for key in [f"d{n}" for n in range(10)] if after.get(key) is not None]
    assert after.get("new") == facts(99, size=1000)
    assert {"d7", "d8"} <= set(kept)
    assert len(kept) == 3  # the cap leaves room for one untouched entry


def test_concurrent_writers_and_readers_never_crash_or_lose_all(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
        from codegen.cache.facts import FactsCache
        from tests.test_cache import facts
        me = sys.argv[1]
        for round in range(15):
            cache = FactsCache(__import__("pathlib").Path(sys.argv[2]), "s")
            for other in range(round):
                got = cache.get(f"{{me}}-{{other}}")
                assert got is None or got == facts(other, size=3000), got
            cache.put(f"{{me}}-{{round}}", facts(round, size=3000))
            cache.flush()
            assert not cache.warnings, cache.warnings
        print("ok")
        """
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, name, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b", "c")
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        assert out.strip() == "ok"
    final = FactsCache(tmp_path, "s")
    found = sum(final.get(f"{me}-{n}") is not None for me in "abc" for n in range(15))
    # Last flushes of each writer always survive; races may only drop entries, never corrupt.
    assert found >= 3
    for me in "abc":
        assert final.get(f"{me}-14") == facts(14, size=3000)
    assert list(tmp_path.glob(".*.codegen-tmp-*")) == []


# --- issue 22: the user cache folder holds one folder per tree, bounded by count and size ------


def _tree_folder(trees: Path, name: str, age: int, size: int = 0) -> Path:
    from codegen.cache.location import OWNER_MARKER

    folder = trees / name
    assert claim(folder) == ""
    (folder / "pack-0.bin").write_bytes(b"x" * size)
    os.utime(folder / OWNER_MARKER, (1_000_000 + age, 1_000_000 + age))
    return folder


def test_prune_keeps_the_most_recently_used_tree_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen.cache import location

    monkeypatch.setattr(location, "MAX_TREES", 3)
    trees = tmp_path / "trees"
    folders = [_tree_folder(trees, f"t{age}", age) for age in range(6)]
    foreign = trees / "not-ours"
    foreign.mkdir()
    (foreign / "data").write_text("keep me")
    (trees / "link").symlink_to(folders[0])
    # The folder being opened is kept even when its marker is the oldest.
    removed = location.prune(trees, keep=folders[0])
    assert sorted(p.name for p in removed) == ["t1", "t2", "t3"]
    assert sorted(p.name for p in trees.iterdir()) == ["link", "not-ours", "t0", "t4", "t5"]
    assert (foreign / "data").read_text() == "keep me"


def test_prune_bounds_the_total_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codegen.cache import location

    monkeypatch.setattr(location, "MAX_USER_CACHE_BYTES", 3000)
    trees = tmp_path / "trees"
    folders = [_tree_folder(trees, f"t{age}", age, size=1000) for age in range(4)]
    removed = location.prune(trees, keep=folders[3])
    # Markers and tags count too: t3 (kept) and t2 fit, t1 and t0 do not.
    assert sorted(p.name for p in removed) == ["t0", "t1"]


def test_a_new_tree_folder_prunes_the_least_recently_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen.cache import location
    from codegen.config import Config

    monkeypatch.setattr(location, "MAX_TREES", 2)
    monkeypatch.setattr(location, "_maintained", {})
    monkeypatch.setenv(location.USER_CACHE_ENV, str(tmp_path / "home"))
    roots = [tmp_path / f"root{n}" for n in range(3)]
    opened = []
    for age, root in enumerate(roots):
        folder = location.cache_folder(Config(root=str(root), cache_dir="", user_cache=True))
        assert folder is not None and folder.is_dir() and not root.exists()
        os.utime(folder / location.OWNER_MARKER, (1_000_000 + age, 1_000_000 + age))
        opened.append(folder)
    assert [folder.exists() for folder in opened] == [False, True, True]
    assert location.cache_folder(Config(root=str(roots[0]), cache_dir="")) is None


def test_an_unusable_user_cache_means_no_cache_and_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen import pipeline
    from codegen.cache import location
    from codegen.config import Config

    monkeypatch.setattr(location, "_maintained", {})
    blocker = tmp_path / "home"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv(location.USER_CACHE_ENV, str(blocker))
    root = tmp_path / "tree"
    (root / "models").mkdir(parents=True)
    (root / "models" / "a.py").write_text("def build():\n    return 1\n")
    config = Config(root=str(root), cache_dir="", user_cache=True)
    assert location.cache_folder(config) is None
    scanned = pipeline.scan(["models"], config)
    assert scanned.diagnostics == () and scanned.stats.parsed == 1
    assert blocker.read_text() == "a file where the cache folder would go"
