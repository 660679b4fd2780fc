"""Cache keys: every file of the tool itself, found on disk, and the settings that shape outputs."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from codegen import __version__, templates_dir
from codegen.config import Config

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _package_files(package: Path, templates: Path) -> Iterator[tuple[str, Path]]:
    """(name, path) of every file of the package and of the templates, sorted by name."""
    found: dict[str, Path] = {}
    for root, prefix in ((package, "codegen"), (templates, "templates")):
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
                continue
            found[f"{prefix}/{path.relative_to(root).as_posix()}"] = path
    yield from sorted(found.items())


@functools.cache
def package_digest() -> str:
    """The digest of this installation's files; read once per process, they do not change."""
    return files_digest(PACKAGE_DIR, templates_dir())


def files_digest(package: Path, templates: Path) -> str:
    """sha256 over the names and bytes of every file of a codegen package and its templates."""
    digest = hashlib.sha256(__version__.encode())
    for name, path in _package_files(package, templates):
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def facts_salt() -> str:
    """What every facts-cache key includes: any change to the tool may change facts."""
    return package_digest()[:16]


def settings_key(config: Config) -> str:
    """What the outputs depend on besides the model files: the settings and the tool's code."""
    digest = hashlib.sha256(package_digest().encode())
    settings = (
        config.collection,
        config.scope_prefix,
        config.output,
        config.build_function,
        config.line_length,  # where apply wraps the lines it adds
    )
    digest.update(repr(settings).encode())
    return digest.hexdigest()


def tree_key(sources: Sequence[tuple[str, str]], config: Config) -> str:
    """What the outputs depend on: the inputs (path, digest), the settings, the tool's code."""
    digest = hashlib.sha256(settings_key(config).encode())
    for path, source_digest in sorted(sources):
        digest.update(f"{path}\0{source_digest}\n".encode())
    return digest.hexdigest()
