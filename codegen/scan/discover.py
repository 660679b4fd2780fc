"""Find the model files to scan and read them as text, in a deterministic order."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import stat
import subprocess
import tokenize
from collections.abc import Container, Iterable, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from codegen import diagnostics
from codegen.config import Config
from codegen.diagnostics import (
    MISSING_PATH,
    SYMLINK_LOOP,
    TOO_LARGE,
    UNDECODABLE,
    UNREADABLE,
    UNTRACKED,
)
from codegen.lines import position_in, split_lines
from codegen.model import Diagnostic, SourceFile
from codegen.names import SHIM_SUFFIX
from codegen.paths import display_path

SKIPPED_NAMES = frozenset({"__pycache__", "venv", "env", "site-packages", "node_modules"})


def discover(
    paths: Sequence[str], config: Config, *, skip: Container[str] = ()
) -> tuple[tuple[SourceFile, ...], tuple[Diagnostic, ...]]:
    """The `*.py` files under `paths`, sorted by path, plus problems not tied to one file;
    files whose shown path is in `skip` are left out unread."""
    walker = _Walker(config, skip)
    for argument in paths:
        walker.add_argument(argument)
    walker.walk_deferred()
    files = tuple(sorted(walker.files.values(), key=lambda source: source.path))
    return files, tuple(walker.diagnostics)


def in_commit_hook() -> bool:
    """Whether this run is a pre-commit hook (pre-commit sets PRE_COMMIT=1 for every hook)."""
    return os.environ.get("PRE_COMMIT") == "1"


def committed_only(
    sources: Sequence[SourceFile], tracked: frozenset[str]
) -> tuple[tuple[SourceFile, ...], tuple[Diagnostic, ...]]:
    """The files git tracks (real paths in `tracked`), and a note for each one left out: what a
    commit (and so a fresh clone) holds. pre-commit stashes unstaged edits of tracked files, never
    untracked files, so without this a work-in-progress model would shape what gets committed."""
    kept: list[SourceFile] = []
    notes: list[Diagnostic] = []
    for source in sources:
        if os.path.realpath(source.abspath) in tracked:
            kept.append(source)
            continue
        message = (
            "not tracked by git, so not part of this commit: left out of the plan "
            "(`git add` it to share its layers)"
        )
        notes.append(diagnostics.info(source.path, UNTRACKED, message))
    return tuple(kept), tuple(notes)


def git_tracked(root: str) -> frozenset[str] | None:
    """Real paths of every file in git's index for the work tree holding `root`, or None."""
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--full-name"],
            cwd=top,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    base = os.path.realpath(top)
    return frozenset(
        os.path.join(base, os.fsdecode(name).replace("/", os.sep))
        for name in listed.split(b"\0")
        if name
    )


def read_source(
    abspath: str, *, display: str | None = None, max_bytes: int | None = None
) -> tuple[str | None, str, tuple[Diagnostic, ...]]:
    """(text or None, sha256, problems) of one Python file, honouring a BOM and PEP 263."""
    shown = display if display is not None else abspath
    try:
        info = os.stat(abspath)
    except OSError as error:
        return None, "", (diagnostics.error(shown, UNREADABLE, f"cannot read: {_reason(error)}"),)
    if not stat.S_ISREG(info.st_mode):
        # Opening a FIFO or device would block or read forever.
        return None, "", (diagnostics.error(shown, UNREADABLE, "cannot read: not a regular file"),)
    if max_bytes is not None and info.st_size > max_bytes:
        message = f"file is {info.st_size} bytes, over max_file_bytes={max_bytes}; not scanned"
        return None, "", (diagnostics.error(shown, TOO_LARGE, message),)
    try:
        with open(abspath, "rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as error:
        return None, "", (diagnostics.error(shown, UNREADABLE, f"cannot read: {_reason(error)}"),)
    if max_bytes is not None and len(data) > max_bytes:
        message = f"file is over max_file_bytes={max_bytes}; not scanned"
        return None, "", (diagnostics.error(shown, TOO_LARGE, message),)
    digest = hashlib.sha256(data).hexdigest()
    text, problem = decode_source(data, shown)
    return text, digest, (() if problem is None else (problem,))


def decode_source(data: bytes, shown: str) -> tuple[str | None, Diagnostic | None]:
    """Decode source bytes as Python would; a problem carries the line where it failed."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        line = error.lineno or _cookie_line(data)
        return None, diagnostics.error(shown, UNDECODABLE, f"cannot decode: {error.msg}", line=line)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        if isinstance(error, UnicodeDecodeError):
            line, column = position_in(data, error.start)
            message = f"cannot decode as {encoding}: {error.reason} (byte {data[error.start]:#04x})"
            return None, diagnostics.error(shown, UNDECODABLE, message, line=line, column=column)
        return None, diagnostics.error(shown, UNDECODABLE, f"cannot decode: {error}")
    nul = text.find("\0")
    if nul >= 0:
        line, column = position_in(text, nul)
        return None, diagnostics.error(
            shown, UNDECODABLE, "source contains a NUL byte", line=line, column=column
        )
    return text, None


def is_excluded(relative: str, patterns: Sequence[str]) -> bool:
    """True when `relative` or one of its parent folders matches a pattern (see Config.exclude)."""
    if not patterns:
        return False
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if any(fnmatchcase(prefix, pattern) for prefix in prefixes):
                return True
        elif any(fnmatchcase(part, pattern) for part in parts):
            return True
    return False


class _Walker:
    """Collects files and problems for one discover() call; dedupes by display path."""

    def __init__(self, config: Config, skip: Container[str] = ()) -> None:
        self.config = config
        self.skip = skip
        self.root = os.path.abspath(config.root)
        self.root_prefix = self.root if self.root.endswith(os.sep) else self.root + os.sep
        self.files: dict[str, SourceFile] = {}
        self.diagnostics: list[Diagnostic] = []
        self.skip_real = {os.path.realpath(os.path.join(self.root, config.output))}
        if config.cache_dir:
            self.skip_real.add(os.path.realpath(os.path.join(self.root, config.cache_dir)))
        self.visited: set[str] = set()
        self.deferred: list[tuple[str, tuple[str, ...]]] = []

    def add_argument(self, argument: str) -> None:
        """Scan one user-given path; it skips the name rules but never our own folders."""
        abspath = os.path.abspath(os.path.join(self.root, argument))
        shown = self.relative(abspath)
        if not os.path.lexists(abspath):
            self.diagnostics.append(
                diagnostics.error(shown, MISSING_PATH, "no such file or folder")
            )
            return
        if self.is_ours(abspath):
            return
        if os.path.isdir(abspath):
            self.walk(abspath, ())
        else:
            self.add_file(abspath)

    def walk(self, directory: str, ancestors: tuple[str, ...]) -> None:
        """Depth-first walk in sorted order, following symlinked folders but not around a loop."""
        real = os.path.realpath(directory)
        if real in ancestors:
            back = self.relative(real)
            message = f"symlink loop: {self.relative(directory)} leads back to {back}; skipped"
            self.diagnostics.append(
                diagnostics.warning(self.relative(directory), SYMLINK_LOOP, message)
            )
            return
        if real in self.visited:
            return  # reached again through another symlink: its files are already in
        self.visited.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as error:
            message = f"cannot list folder: {_reason(error)}"
            self.diagnostics.append(
                diagnostics.warning(self.relative(directory), UNREADABLE, message)
            )
            return
        for entry in entries:
            abspath = os.path.join(directory, entry.name)
            if _is_dir(entry):
                if self.skip_dir(entry, abspath):
                    continue
                if entry.is_symlink():
                    # Walked after all real folders: a file reached both ways keeps its real path.
                    self.deferred.append((abspath, (*ancestors, real)))
                else:
                    self.walk(abspath, (*ancestors, real))
            elif entry.name.endswith(".py") and not is_excluded(
                self.relative(abspath), self.config.exclude
            ):
                self.add_file(abspath)

    def walk_deferred(self) -> None:
        """Walk the symlinked folders met so far, in the order met (they may defer more)."""
        while self.deferred:
            directory, ancestors = self.deferred.pop(0)
            self.walk(directory, ancestors)

    def skip_dir(self, entry: os.DirEntry[str], abspath: str) -> bool:
        """Folders never scanned: hidden, caches, virtualenvs, our output and cache, excluded."""
        name = entry.name
        if name.startswith(".") or name in SKIPPED_NAMES:
            return True
        if os.path.exists(os.path.join(abspath, "pyvenv.cfg")):
            return True
        return self.is_ours(abspath) or is_excluded(self.relative(abspath), self.config.exclude)

    def is_ours(self, abspath: str) -> bool:
        """Inside the output or cache folder, compared by real path so symlinks cannot hide it."""
        real = os.path.realpath(abspath)
        return any(real == skip or real.startswith(skip + os.sep) for skip in self.skip_real)

    def add_file(self, abspath: str) -> None:
        shown = self.relative(abspath)
        if shown in self.files or shown in self.skip:
            return
        text, digest, diagnostics = read_source(
            abspath, display=shown, max_bytes=self.config.max_file_bytes
        )
        self.files[shown] = SourceFile(shown, abspath, text, digest, diagnostics)

    def relative(self, abspath: str) -> str:
        """`/`-separated path relative to the root (with `..` when outside it)."""
        if abspath.startswith(self.root_prefix):  # the walk's paths are normalized: no relpath
            return abspath[len(self.root_prefix) :].replace(os.sep, "/")
        return display_path(abspath, self.root)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks; a broken one is not a folder
    except OSError:
        return False


def _cookie_line(data: bytes) -> int:
    """Line of the coding cookie (1 or 2) for a bad-cookie error that did not say."""
    for number, line in enumerate(split_lines(data.decode("latin-1"))[:2], 1):
        if "coding" in line:
            return number
    return 1


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def routed_elsewhere(
    config: Config, package: str, seen: Iterable[str], *, tracked: frozenset[str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Shim files that files this scan did not see still import: {shim file: (paths, ...)}.

    Deletions and rewrites of generated/ must follow what is routed, not what one scan saw: a
    narrower scan (`--exclude`, a path argument naming one file, `sync generated`) leaves routed
    models out. This looks at every `*.py` under the configured paths, excludes ignored, for the
    imports `apply` writes (a cheap text search, no parse) and over-approximates: a file that only
    mentions a shim in a comment counts too, which can only keep more. With `tracked` (in a
    commit hook), files git does not track are not part of the commit and do not count.
    """
    if not package:
        return {}
    everything = replace(config, exclude=())
    sources, _ = discover(list(config.paths), everything, skip=set(seen))
    found: dict[str, list[str]] = {}
    for source in sources:
        if source.text is None:
            continue
        if tracked is not None and os.path.realpath(source.abspath) not in tracked:
            continue
        for alias in shims_mentioned(source.text, package):
            found.setdefault(f"{alias}.py", []).append(source.path)
    return {name: tuple(paths) for name, paths in sorted(found.items())}


def shims_mentioned(text: str, package: str) -> tuple[str, ...]:
    """The `<x>_transfer` names a file that imports from `package` mentions, sorted (a cheap text
    search, no parse: it over-approximates what the file imports, never misses an import)."""
    if not package or not _imports_package(package).search(text):
        return ()
    return tuple(sorted(set(_SHIM_NAME.findall(text))))


def imported_shims(text: str, package: str) -> dict[str, int]:
    """The `<x>_transfer` modules of `package` that import statements of `text` name, with the
    line of the first: `from pkg import a_transfer, (b_transfer)`, `from pkg.a_transfer import
    f`, `import pkg.a_transfer` (at any indentation; text only, so an import in a string counts)."""
    if not package or not _imports_package(package).search(text):
        return {}
    found: dict[str, int] = {}
    for match in _import_statements(package).finditer(text):
        line = position_in(text, match.start())[0]
        for alias in _SHIM_NAME.findall(match.group(0)):
            found.setdefault(alias, line)
    return found


_SHIM_NAME = re.compile(rf"\b(\w+{SHIM_SUFFIX})\b")


@functools.lru_cache(maxsize=8)
def _import_statements(package: str) -> re.Pattern[str]:
    pkg = re.escape(package)
    names = r"(\([^)]*\)|(?:[^\n\\]|\\\n)*)"  # a parenthesised list, or one (continued) line
    return re.compile(
        rf"^[ \t]*(?:from[ \t]+{pkg}[ \t]+import[ \t]*{names}"
        rf"|from[ \t]+{pkg}\.\w+[ \t]+import"
        rf"|import[ \t]+(?:[\w.]+[ \t]*(?:as[ \t]+\w+)?[ \t]*,[ \t]*)*{pkg}\.\w+)",
        re.M,
    )


@functools.lru_cache(maxsize=8)
def _imports_package(package: str) -> re.Pattern[str]:
    return re.compile(
        rf"^\s*(from\s+{re.escape(package)}(\s+|\.\w+\s+)import|import\s+{re.escape(package)}\.)",
        re.M,
    )
