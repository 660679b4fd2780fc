"""Content-hash cache of ModuleFacts: pack files read in one go, written atomically."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import pickle
import secrets
import struct
import time
import zlib
from pathlib import Path

from codegen import atomic, diagnostics, model
from codegen.cache.location import cache_folder, claim
from codegen.cache.salt import facts_salt
from codegen.config import Config
from codegen.model import Diagnostic, ModuleFacts

# Pack layout: MAGIC, entry count, index of (key, offset, length, crc32), then the pickles.
MAGIC = b"CGFACTS1"
_COUNT = struct.Struct("<I")
_INDEX = struct.Struct("<32sQII")
PACK_GLOB = "pack-*.bin"
MAX_PACK_BYTES = 128 * 1024 * 1024  # least recently used entries beyond this are dropped
# A run that adds little (the check after an edit) writes its entries as a small pack beside the
# big one instead of rewriting it; packs are merged again when there are more than MAX_PACKS or
# the small ones hold more than 1/DELTA_SHARE of the bytes.
MAX_PACKS = 8
DELTA_SHARE = 8
STALE_TEMP_SECONDS = 3600


class FactsCache:
    """ModuleFacts keyed by sha256(salt + digest); `directory=None` disables it. Not thread-safe."""

    def __init__(self, directory: Path | None, salt: str) -> None:
        self.directory = directory
        self.salt = salt
        self.warnings: list[Diagnostic] = []
        self._loaded = False
        self._entries: dict[
            bytes, tuple[bytes, int, int, int]
        ] = {}  # key -> (pack data, offset, length, crc)
        self._order: list[bytes] = []  # loaded keys, most recently used first
        self._packs: list[Path] = []  # pack files read; replaced by one pack on flush
        self._sizes: list[int] = []  # their sizes in bytes
        self._new: dict[bytes, bytes] = {}
        self._touched: dict[bytes, None] = {}  # ordered set of keys used this run
        self._dirty = False
        if directory is not None:
            self._prepare(directory)

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def key(self, digest: str, *, path: str = "") -> bytes:
        """The entry key; `path` keeps identical files apart, since facts mention their path."""
        return hashlib.sha256(f"{self.salt}\0{path}\0{digest}".encode()).digest()

    def get(self, digest: str, *, path: str = "") -> ModuleFacts | None:
        """The cached facts, or None on a miss, a damaged entry or a disabled cache."""
        if self.directory is None:
            return None
        key = self.key(digest, path=path)
        if key in self._new:
            return _loads(self._new[key])
        self._load()
        entry = self._entries.get(key)
        if entry is None:
            return None
        data, offset, length, crc = entry
        blob = data[offset : offset + length]
        facts = _loads(blob) if zlib.crc32(blob) == crc else None
        if facts is None:
            del self._entries[key]
            self._dirty = True  # rewrite the pack without the bad entry
            return None
        self._touched[key] = None
        return facts

    def put(self, digest: str, facts: ModuleFacts, *, path: str = "") -> None:
        """Remember facts for this content; written by flush()."""
        if self.directory is None:
            return
        key = self.key(digest, path=path)
        self._new[key] = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
        self._touched[key] = None

    def flush(self) -> None:
        """Write new entries (and merge packs) as one new pack file; never raises."""
        if self.directory is None:
            return
        self._load()
        if not self._new and not self._dirty and not self._merge_due(0):
            return  # a warm run with nothing new writes nothing
        try:
            if self._dirty or self._merge_due(sum(map(len, self._new.values()))):
                self._write_pack(self.directory)
            else:
                self._write_delta(self.directory)
        except OSError as error:
            self._disable(f"cannot write cache: {error.strerror or error}")
            return
        self._new.clear()
        self._dirty = False

    def _merge_due(self, added: int) -> bool:
        """Whether the packs (and `added` new bytes) should be merged into one pack again."""
        if len(self._packs) + (1 if added else 0) > MAX_PACKS:
            return True
        sizes = sorted(self._sizes) + ([added] if added else [])
        if sum(sizes) > MAX_PACK_BYTES:
            return True  # the merge drops the least recently used entries
        if len(sizes) <= 1:
            return False
        biggest = max(sizes)
        return (sum(sizes) - biggest) * DELTA_SHARE > sum(sizes)

    def _write_delta(self, directory: Path) -> None:
        """The new entries alone, as a pack beside the others (newest wins on load)."""
        blobs = list(self._new.items())
        packed = _packed(blobs)
        path = directory / f"pack-{secrets.token_hex(8)}.bin"
        atomic.write_bytes(path, packed)
        self._packs.insert(0, path)
        self._sizes.insert(0, len(packed))
        for key, offset, length, crc in _parse_pack(packed) or []:
            if key not in self._entries:
                self._order.insert(0, key)
            self._entries[key] = (packed, offset, length, crc)

    def _prepare(self, directory: Path) -> None:
        """Claim the folder (see `claim`); when it is not ours, disable with a warning."""
        refusal = claim(directory)
        if refusal:
            self._disable(refusal)

    def _disable(self, reason: str) -> None:
        shown = str(self.directory)
        self.warnings.append(
            diagnostics.warning(shown, diagnostics.CACHE_DISABLED, f"{reason}; cache disabled")
        )
        self.directory = None
        self._entries.clear()
        self._new.clear()

    def _load(self) -> None:
        """Read every pack once, newest first; a foreign or damaged pack counts as empty."""
        if self._loaded or self.directory is None:
            return
        self._loaded = True
        try:
            packs = sorted(self.directory.glob(PACK_GLOB), key=_mtime, reverse=True)
        except OSError:
            return
        for pack in packs:
            try:
                data = pack.read_bytes()
            except OSError:
                continue  # removed by a concurrent flush: a miss, not an error
            self._packs.append(pack)
            self._sizes.append(len(data))
            index = _parse_pack(data)
            if index is None:
                self._dirty = True  # drop the unreadable pack on the next flush
                continue
            for key, offset, length, crc in index:
                if key not in self._entries:
                    self._entries[key] = (data, offset, length, crc)
                    self._order.append(key)

    def _write_pack(self, directory: Path) -> None:
        """Newest entries first, then the ones used this run, then the rest while they fit."""
        blobs: list[tuple[bytes, bytes]] = list(self._new.items())
        chosen = set(self._new)
        used = [key for key in self._touched if key not in chosen and key in self._entries]
        rest = [key for key in self._order if key not in chosen and key not in self._touched]
        total = sum(len(blob) for _, blob in blobs)
        for key in (*used, *rest):
            if key not in self._entries:
                continue
            data, offset, length, _ = self._entries[key]
            if total + length > MAX_PACK_BYTES and key not in self._touched:
                break
            blobs.append((key, data[offset : offset + length]))
            chosen.add(key)
            total += length
        name = f"pack-{secrets.token_hex(8)}.bin"
        packed = _packed(blobs)
        atomic.write_bytes(directory / name, packed)
        for old in self._packs:
            # Another process may have removed it already, or still be reading it (fine on POSIX).
            try:
                old.unlink()
            except OSError:
                pass
        self._packs = [directory / name]
        self._sizes = [len(packed)]
        # What was just written is now the loaded state, so a later flush keeps it.
        index = _parse_pack(packed) or []
        self._entries = {key: (packed, offset, length, crc) for key, offset, length, crc in index}
        self._order = [key for key, *_ in index]
        _remove_stale_temps(directory)


def _packed(blobs: list[tuple[bytes, bytes]]) -> bytes:
    """One pack's bytes: MAGIC, count, index, then the blobs in order."""
    stream = io.BytesIO()
    stream.write(MAGIC)
    stream.write(_COUNT.pack(len(blobs)))
    offset = 0
    for key, blob in blobs:
        stream.write(_INDEX.pack(key, offset, len(blob), zlib.crc32(blob)))
        offset += len(blob)
    for _, blob in blobs:
        stream.write(blob)
    return stream.getvalue()


class _FactsUnpickler(pickle.Unpickler):
    """Only the model's dataclasses may be rebuilt: a foreign pickle is refused, not executed."""

    def find_class(self, module: str, name: str) -> type:
        if module == model.__name__ and isinstance(getattr(model, name, None), type):
            return getattr(model, name)  # type: ignore[no-any-return]
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def _loads(blob: bytes) -> ModuleFacts | None:
    # Thousands of small tuples per entry trigger GC passes that cost more than unpickling.
    paused = gc.isenabled()
    gc.disable()
    try:
        facts = _FactsUnpickler(io.BytesIO(blob)).load()
    except Exception:  # any damage in a cache entry is just a miss
        return None
    finally:
        if paused:
            gc.enable()
    return facts if isinstance(facts, ModuleFacts) else None


def _parse_pack(data: bytes) -> list[tuple[bytes, int, int, int]] | None:
    """The index of a pack with absolute offsets, or None when it is not a whole pack of ours."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _COUNT.size:
        return None
    (count,) = _COUNT.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _COUNT.size
    base = start + count * _INDEX.size
    if base > len(data):
        return None
    index = [
        (key, base + offset, length, crc)
        for key, offset, length, crc in _INDEX.iter_unpack(data[start:base])
    ]
    end = index[-1][1] + index[-1][2] if index else base
    if end != len(data):
        return None  # truncated, or trailing bytes from something else
    return index


def _remove_stale_temps(directory: Path) -> None:
    """Temp files of crashed runs; recent ones may belong to a process that is writing right now."""
    now = time.time()
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for temp in (directory / name for name in names if atomic.is_temp_name(name)):
        try:
            if now - temp.stat().st_mtime > STALE_TEMP_SECONDS:
                temp.unlink()
        except OSError:
            pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def open_facts_cache(config: Config, enabled: bool = True) -> FactsCache:
    """The facts cache of this tree (see location.py), or a disabled one."""

    folder = cache_folder(config) if enabled else None
    if folder is None:
        return FactsCache(None, "")
    return FactsCache(folder, facts_salt())
