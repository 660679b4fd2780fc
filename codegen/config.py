"""`[tool.codegen]` settings from the nearest pyproject.toml, checked, overridable by flags."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from codegen import diagnostics
from codegen.diagnostics import BAD_TOML, INVALID_VALUE, UNKNOWN_KEY, WRONG_TYPE
from codegen.model import DEFAULT_LINE_LENGTH, Diagnostic

PYPROJECT = "pyproject.toml"
SCOPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")


@dataclass(frozen=True)
class Config:
    """Every setting a run uses; `root` is the absolute folder that relative paths start from."""

    paths: tuple[str, ...] = ("models",)
    exclude: tuple[str, ...] = ()
    output: str = "generated"
    collection: str = "transferable_variables"
    scope_prefix: str = "transfer"
    build_function: str = "^build"
    cache_dir: str = ".codegen_cache"
    jobs: int = 0
    max_file_bytes: int = 2_000_000
    root: str = field(default_factory=os.getcwd)
    # Not a [tool.codegen] key: the project formatter's (ruff, then black), so marks fit its lines.
    line_length: int = DEFAULT_LINE_LENGTH
    # Not a key either: a tree without [tool.codegen] caches in the user's cache folder (issue 22).
    user_cache: bool = False


@dataclass(frozen=True)
class Option:
    """One `[tool.codegen]` key: its TOML type and meaning (the README table comes from these)."""

    key: str
    toml_type: str
    help: str


# Single source for the README table, the list of valid keys and the type checks.
OPTIONS: tuple[Option, ...] = (
    Option(
        "paths",
        "list of strings",
        "Files or folders to scan, relative to the pyproject.toml folder.",
    ),
    Option(
        "exclude",
        "list of strings",
        "Glob patterns (fnmatch) on the relative `/` path or any of its parent folders;"
        " a pattern without `/` also matches any single path component.",
    ),
    Option("output", "string", "Folder for generated modules, relative and inside the project."),
    Option(
        "collection", "string", "Graph collection that the shims add transferable variables to."
    ),
    Option("scope_prefix", "string", "Variable scope under which all canonical keys live."),
    Option(
        "build_function", "string", "Regex (re.search) that a model's build function name matches."
    ),
    Option("cache_dir", "string", 'Scan cache folder; `""` disables the cache. Safe to delete.'),
    Option("jobs", "integer", "Parallel parser processes; 0 picks one per CPU."),
    Option(
        "max_file_bytes", "integer", "Files larger than this are reported (CG103) and not scanned."
    ),
)
_OPTION_KEYS = tuple(option.key for option in OPTIONS)


def options_table() -> str:
    """The Markdown table of `[tool.codegen]` keys with their defaults, for the README."""
    defaults = Config(root="")
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        value = getattr(defaults, option.key)
        shown = _toml_literal(list(value) if isinstance(value, tuple) else value)
        rows.append(f"| `{option.key}` | {option.toml_type} | `{shown}` | {option.help} |")
    return "\n".join(rows) + "\n"


def load_config(start: Path, explicit: Path | None = None) -> tuple[Config, tuple[Diagnostic, ...]]:
    """Read `[tool.codegen]` from `explicit` or the nearest pyproject.toml above `start`."""
    start = Path(os.path.abspath(start))
    if start.is_file():
        start = start.parent
    pyproject = Path(os.path.abspath(explicit)) if explicit is not None else find_pyproject(start)
    if pyproject is None:
        # Outside any project: scan what was asked, but leave no cache folder in the user's files.
        return Config(root=str(start), cache_dir="", user_cache=True), ()
    shown = _display(pyproject, start)
    root = str(pyproject.parent)
    try:
        text = pyproject.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return Config(root=root), (
            diagnostics.error(shown, BAD_TOML, f"cannot read config: {reason}"),
        )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, column = _toml_error_position(str(error))
        return Config(root=root), (
            diagnostics.error(shown, BAD_TOML, f"invalid TOML: {error}", line=line, column=column),
        )
    table = (
        document.get("tool", {}).get("codegen", {})
        if isinstance(document.get("tool"), dict)
        else {}
    )
    if not isinstance(table, dict):
        message = f"[tool.codegen] must be a table, got {_type_name(table)}"
        return Config(root=root), (
            diagnostics.error(shown, WRONG_TYPE, message, line=_key_line(text, "codegen")),
        )
    values, problems = _convert(table, text, shown)
    if not (isinstance(document.get("tool"), dict) and "codegen" in document["tool"]):
        values.setdefault("cache_dir", "")  # a pyproject.toml that is not set up for codegen
        values["user_cache"] = True
    config = Config(root=root, line_length=formatter_line_length(document), **values)
    return config, (*problems, *validate_config(config, path=shown, text=text))


def formatter_line_length(document: dict[str, Any]) -> int:
    """`line-length` of `[tool.ruff]`, else of `[tool.black]`, else their default of 88."""
    tool = document.get("tool")
    for formatter in ("ruff", "black"):
        table = tool.get(formatter) if isinstance(tool, dict) else None
        value = table.get("line-length") if isinstance(table, dict) else None
        if isinstance(value, int) and _is_int(value) and 0 < value <= 1000:
            return value
    return DEFAULT_LINE_LENGTH


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in `start` or a folder above it (black's rule: nearest wins)."""
    for folder in (start, *start.parents):
        candidate = folder / PYPROJECT
        if candidate.is_file():
            return candidate
    return None


def apply_overrides(config: Config, **flags: Any) -> Config:
    """`config` with each non-None flag replacing its field; check it with validate_config."""
    changes = {key: value for key, value in flags.items() if value is not None}
    unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(Config)})
    if unknown:
        # A programming error in the CLI, not a user input problem.
        raise TypeError(f"unknown config override(s): {', '.join(unknown)}")
    for key in ("paths", "exclude"):
        if isinstance(changes.get(key), list | str):
            value = changes[key]
            changes[key] = (value,) if isinstance(value, str) else tuple(value)
    return dataclasses.replace(config, **changes)


def validate_config(
    config: Config, *, path: str = PYPROJECT, text: str = ""
) -> tuple[Diagnostic, ...]:
    """Value checks shared by the file and the flags: one CG003 error per bad setting."""
    problems: list[tuple[str, str]] = []
    try:
        re.compile(config.build_function)
    except re.error as error:
        problems.append(("build_function", f"build_function is not a valid regex: {error}"))
    if not SCOPE_NAME.match(config.scope_prefix) or config.scope_prefix.endswith("/"):
        problems.append(
            (
                "scope_prefix",
                f"scope_prefix {config.scope_prefix!r} is not a valid TensorFlow scope name"
                " (letters, digits, `_.-/`, not starting with a symbol nor ending with `/`)",
            )
        )
    if not config.collection.strip():
        problems.append(("collection", "collection must not be empty"))
    output_problem = _output_problem(config.output)
    if output_problem:
        problems.append(("output", output_problem))
    cache_problem = _cache_dir_problem(config.cache_dir, config.output)
    if cache_problem:
        problems.append(("cache_dir", cache_problem))
    if config.jobs < 0:
        problems.append(("jobs", f"jobs must be 0 (auto) or a positive number, got {config.jobs}"))
    if config.max_file_bytes <= 0:
        problems.append(
            ("max_file_bytes", f"max_file_bytes must be positive, got {config.max_file_bytes}")
        )
    if not config.paths:
        problems.append(("paths", "paths must name at least one file or folder"))
    return tuple(
        diagnostics.error(path, INVALID_VALUE, message, line=_key_line(text, key))
        for key, message in problems
    )


def _cache_dir_problem(cache_dir: str, output: str) -> str:
    """Why `cache_dir` cannot be the cache folder, or "" when it can ("" disables the cache)."""
    if not cache_dir:
        return ""
    problem = _output_problem(cache_dir).replace("output", "cache_dir")
    if problem:
        return problem
    parts = _parts(cache_dir)
    out = _parts(output)
    if out and (parts[: len(out)] == out or out[: len(parts)] == parts):
        return f"cache_dir {cache_dir!r} must not be, hold or lie inside the output folder"
    return ""


def _parts(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]


def _output_problem(output: str) -> str:
    """Why `output` cannot be the generated folder, or "" when it can."""
    if not output.strip():
        return "output must not be empty"
    if os.path.isabs(output) or PurePosixPath(output).is_absolute():
        return f"output {output!r} must be relative to the project root, not absolute"
    parts = [part for part in output.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        return f"output {output!r} must stay inside the project root (no `..`)"
    if not parts:
        # The root itself would make every model file sit in the generated folder.
        return "output must be a folder below the project root, not the root itself"
    return ""


def _convert(
    table: dict[str, Any], text: str, path: str
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Keep the well-typed keys of `table` as Config values; report unknown and mistyped ones."""
    values: dict[str, Any] = {}
    found: list[Diagnostic] = []
    for key, value in table.items():
        line = _key_line(text, key)
        checker = _CHECKERS.get(key)
        if checker is None:
            valid = ", ".join(_OPTION_KEYS)
            found.append(
                diagnostics.error(
                    path,
                    UNKNOWN_KEY,
                    f"unknown key {key!r} in [tool.codegen]; valid keys: {valid}",
                    line=line,
                )
            )
            continue
        expected, ok = checker
        if not ok(value):
            message = f"{key} must be {expected}, got {_type_name(value)}"
            found.append(diagnostics.error(path, WRONG_TYPE, message, line=line))
            continue
        values[key] = tuple(value) if isinstance(value, list) else value
    return values, found


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_int(value: object) -> bool:
    # bool is an int subclass, but `jobs = true` is a mistake worth reporting.
    return isinstance(value, int) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "list of strings": _is_str_list,
    "string": lambda value: isinstance(value, str),
    "integer": _is_int,
}
_ARTICLE = {"integer": "an"}
_CHECKERS = {
    option.key: (
        f"{_ARTICLE.get(option.toml_type, 'a')} {option.toml_type}",
        _TYPE_CHECKS[option.toml_type],
    )
    for option in OPTIONS
}


def _type_name(value: object) -> str:
    """TOML-flavoured name of a parsed value's type, for messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        inner = sorted({_type_name(item) for item in value})
        return f"list of {'/'.join(inner)}" if inner else "list"
    names = {str: "string", int: "integer", float: "float", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _toml_literal(value: object) -> str:
    """A default value written the way it would appear in pyproject.toml."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml_literal(item) for item in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _toml_error_position(message: str) -> tuple[int, int]:
    """Line and column from a TOMLDecodeError message: Python 3.11 has no attributes for them."""
    found = re.search(r"line (\d+), column (\d+)", message)
    if found:
        return int(found.group(1)), max(int(found.group(2)) - 1, 0)
    return 1, 0


def _key_line(text: str, key: str) -> int:
    """Line of `key = ...` inside [tool.codegen] (1 when it cannot be found)."""
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            header = stripped.split("#", 1)[0].strip()
            in_table = header.replace(" ", "") == "[tool.codegen]"
            if key == "codegen" and in_table:
                return number
            continue
        if in_table and re.match(rf"""^["']?{re.escape(key)}["']?\s*=""", stripped):
            return number
        if key == "codegen" and re.match(r"^tool\s*\.\s*codegen\s*=", stripped):
            return number
    return 1


def _display(path: Path, start: Path) -> str:
    """A short `/` path for diagnostics: relative to where the run started when that is shorter."""
    relative = os.path.relpath(path, start)
    shown = relative if len(relative) < len(str(path)) else str(path)
    return shown.replace(os.sep, "/")
