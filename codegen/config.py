"""`[tool.codegen]` settings from the nearest pyproject.toml, checked, overridable by flags."""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from codegen import diagnostics, names
from codegen.diagnostics import BAD_TOML, INVALID_VALUE, UNKNOWN_KEY, WRONG_TYPE
from codegen.model import DEFAULT_LINE_LENGTH, Diagnostic
from codegen.paths import display_path, folder_parts, package_of

PYPROJECT = "pyproject.toml"


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
    bounds: tuple[int, int] | None = None  # an integer's smallest and largest allowed value


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
    Option(
        "output",
        "string",
        "Folder for generated modules: an importable package path inside the project (`gen/v2`,"
        " not `gen.v2`); not a scanned folder, nor inside or holding one (scanning `.` is fine).",
    ),
    Option(
        "collection",
        "string",
        "Graph collection that the shims add transferable variables to (letters, digits, `_.-`).",
    ),
    Option(
        "scope_prefix",
        "string",
        "Variable scope under which all canonical keys live: one name (letters, digits, `_.-`).",
    ),
    Option(
        "build_function",
        "string",
        "Regex (re.search) that a model's build function name matches; patterns that can"
        " backtrack badly (nested repeats, backreferences) are refused.",
    ),
    Option("cache_dir", "string", 'Scan cache folder; `""` disables the cache. Safe to delete.'),
    Option(
        "jobs", "integer", "Parallel parser processes (0 to 1024); 0 picks one per CPU.", (0, 1024)
    ),
    Option(
        "max_file_bytes",
        "integer",
        "Files larger than this (at most 2**30) are reported (CG103) and not scanned.",
        (1, 2**30),
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
    problems: list[tuple[str, str]] = [
        ("build_function", pattern_problem(config.build_function)),
        ("scope_prefix", names.setting_name_problem("scope_prefix", config.scope_prefix)),
        ("collection", names.setting_name_problem("collection", config.collection)),
        ("output", _output_problem(config.output, config.paths)),
        ("cache_dir", _cache_dir_problem(config.cache_dir, config.output)),
        *((option.key, _range_problem(option, getattr(config, option.key))) for option in OPTIONS),
    ]
    if not config.paths:
        problems.append(("paths", "paths must name at least one file or folder"))
    return tuple(
        diagnostics.error(path, INVALID_VALUE, message, line=_key_line(text, key))
        for key, message in problems
        if message
    )


def _range_problem(option: Option, value: object) -> str:
    """Why an integer setting is out of its range, or "" (also for settings without one)."""
    if option.bounds is None or not _is_int(value):
        return ""
    low, high = option.bounds
    assert isinstance(value, int)
    if low <= value <= high:
        return ""
    return f"{option.key} must be between {low} and {high}, got {value}"


# Most repeats a build_function pattern may hold: matching one name costs up to
# (name length) ** (repeats + 1) steps, and three keep a 40-character name under a millisecond.
MAX_PATTERN_REPEATS = 3


def pattern_problem(pattern: str) -> str:
    """Why `pattern` cannot be the build_function regex, or "" when it can.

    Python's matcher backtracks: a repeat inside a repeat (`(a+)+`), a repeated alternation, a
    backreference or many repeats in a row can take exponential (or high polynomial) time on
    one function name, which would hang a commit hook. Such patterns are refused, so every
    accepted pattern matches a name in time bounded by a low power of its length.
    """
    # The stdlib's own parser (its public alias `sre_parse` is deprecated since Python 3.11).
    parser: Any = importlib.import_module("re._parser")
    try:
        parsed = parser.parse(pattern)
    except re.error as error:
        return f"build_function is not a valid regex: {error}"
    why = _costly(parsed, repeated=False)
    if not why and _count_repeats(parsed) > MAX_PATTERN_REPEATS:
        why = f"more than {MAX_PATTERN_REPEATS} repeats (`*`, `+`, `{{m,n}}`)"
    if not why:
        return ""
    return (
        f"build_function {pattern!r} is refused: {why} can make matching a name take"
        " exponential or very long time; use a simpler pattern (a character class such as"
        " `[ab]+`, or plain alternatives such as `^(build|make)_model$`)"
    )


# Opcodes of the parsed pattern, by name (they are named int constants).
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_LOOKS = {"ASSERT", "ASSERT_NOT"}


def _costly(items: Any, *, repeated: bool) -> str:
    """What in a parsed pattern makes backtracking blow up, or "" (`repeated`: inside a repeat)."""
    for opcode, arg in items:
        op = str(opcode)
        if op in ("GROUPREF", "GROUPREF_EXISTS"):
            return "a backreference"
        if op in _REPEATS:
            _, high, body = arg
            if repeated:
                return "a repeat inside a repeat"
            why = _costly(body, repeated=repeated or high > 1)
            if why:
                return why
        elif op == "BRANCH":
            if repeated:
                return "a repeated alternation"
            for branch in arg[1]:
                why = _costly(branch, repeated=repeated)
                if why:
                    return why
        elif op == "SUBPATTERN":
            why = _costly(arg[-1], repeated=repeated)
            if why:
                return why
        elif op in _LOOKS:
            why = _costly(arg[1], repeated=repeated)
            if why:
                return why
    return ""


def _count_repeats(items: Any) -> int:
    """Repeats that can match more than once, anywhere in a parsed pattern."""
    count = 0
    for opcode, arg in items:
        op = str(opcode)
        if op in _REPEATS:
            count += (arg[1] > 1) + _count_repeats(arg[2])
        elif op == "BRANCH":
            count += sum(_count_repeats(branch) for branch in arg[1])
        elif op == "SUBPATTERN":
            count += _count_repeats(arg[-1])
        elif op in _LOOKS:
            count += _count_repeats(arg[1])
    return count


def _cache_dir_problem(cache_dir: str, output: str) -> str:
    """Why `cache_dir` cannot be the cache folder, or "" when it can ("" disables the cache)."""
    if not cache_dir:
        return ""
    problem = _folder_problem("cache_dir", cache_dir)
    if problem:
        return problem
    if _overlap(folder_parts(cache_dir), folder_parts(output)):
        return f"cache_dir {cache_dir!r} must not be, hold or lie inside the output folder"
    return ""


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one folder is the other or lies inside it."""
    return bool(a) and bool(b) and (a[: len(b)] == b or b[: len(a)] == a)


def _folder_problem(key: str, folder: str) -> str:
    """Why `folder` cannot be a folder codegen writes into, or "" when it can."""
    if not folder.strip():
        return f"{key} must not be empty"
    if os.path.isabs(folder) or PurePosixPath(folder).is_absolute():
        return f"{key} {folder!r} must be relative to the project root, not absolute"
    parts = folder_parts(folder)
    if ".." in parts:
        return f"{key} {folder!r} must stay inside the project root (no `..`)"
    if not parts:
        # The root itself would make every model file sit in the generated folder.
        return f"{key} must be a folder below the project root, not the root itself"
    return ""


def _output_problem(output: str, paths: tuple[str, ...]) -> str:
    """Why `output` cannot be the generated package, or "" when it can."""
    problem = _folder_problem("output", output)
    if problem:
        return problem
    parts = folder_parts(output)
    bad = [part for part in parts if not names.is_identifier(part)]
    if bad:
        return (
            f"output {output!r} is not an importable package path: {bad[0]!r} is not a Python"
            f" identifier, so models could not `from {package_of(output)} import ...`"
        )
    for scanned in paths:
        # Scanning the whole project (`.`) is fine: the walk never enters the output folder.
        if _overlap(parts, folder_parts(scanned)):
            return (
                f"output {output!r} must not be, hold or lie inside the scanned path {scanned!r}:"
                " its files would go unscanned or generated code would land among the models"
            )
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
    relative = display_path(path, start)
    return relative if len(relative) < len(str(path)) else path.as_posix()
