"""Every diagnostic code codegen reports, with its meaning, and the one factory for Diagnostics."""

from __future__ import annotations

from codegen.model import Diagnostic

# code -> one line of meaning; filled by _code() below, read by tests and docs.
MEANINGS: dict[str, str] = {}


def _code(code: str, meaning: str) -> str:
    MEANINGS[code] = meaning
    return code


# --- configuration ([tool.codegen], command-line overrides) ---------------------------------
UNKNOWN_KEY = _code("CG001", "configuration: a key codegen does not know")
WRONG_TYPE = _code("CG002", "configuration: a value of the wrong type")
INVALID_VALUE = _code("CG003", "configuration: a value of the right type that is not allowed")
BAD_TOML = _code("CG004", "configuration: pyproject.toml is not valid TOML")

# --- discovery -------------------------------------------------------------------------------
MISSING_PATH = _code("CG101", "discovery: a path to scan does not exist")
UNREADABLE = _code("CG102", "discovery: a file or folder cannot be read or listed")
TOO_LARGE = _code("CG103", "discovery: a file is larger than max_file_bytes")
UNDECODABLE = _code("CG104", "discovery: a file is not decodable text or contains NUL bytes")
SYMLINK_LOOP = _code("CG105", "discovery: a symlink loop")
UNTRACKED = _code(
    "CG106", "discovery: in a commit hook, a file git does not track is left out of the plan"
)

# --- parsing ---------------------------------------------------------------------------------
SYNTAX_ERROR = _code("CG201", "parsing: a syntax error (with a hint for Python 2 sources)")
PARSER_FAILED = _code("CG202", "parsing: the parser itself failed on a file")
TOO_DEEP = _code("CG203", "parsing: a file too deeply nested to analyse")

# --- planning --------------------------------------------------------------------------------
SEVERAL_BUILD_FUNCTIONS = _code("CG210", "planning: several functions match build_function")
LIBRARY_LAYER_SHARED = _code("CG220", "planning: a shared inline library layer cannot transfer")
NOT_ROUTABLE = _code("CG221", "planning: a shared layer or model that apply cannot route")
UNRESOLVED_IMPORT = _code("CG230", "planning: a model calls an import no scanned file defines")
UNPLACED_LAYERS = _code(
    "CG231", "planning: a Keras model reads layer objects where the scan cannot place their use"
)

# --- writing ---------------------------------------------------------------------------------
EDITED = _code("CG301", "writing: a generated file was edited by hand (use --force)")
FOREIGN = _code("CG302", "writing: a file without our header is in the way; never touched")
ESCAPES = _code("CG303", "writing: a path escapes the output folder or the project")
OUTPUT_NOT_DIR = _code("CG304", "writing: the output path is not a folder")
LOCKED = _code("CG305", "writing: another codegen run holds the lock")
WRITE_FAILED = _code("CG306", "writing: an I/O error while writing")
CHANGED_SINCE_PLAN = _code("CG307", "writing: a file changed on disk since it was planned")
REFUSED = _code("CG308", "writing: a write was refused")
BAD_JOURNAL = _code("CG309", "writing: the journal of an interrupted write is damaged")
PENDING = _code("CG310", "writing: an interrupted write was pending; finished by recovery")
READ_ONLY = _code("CG311", "writing: a model file is read-only; refused, never rewritten")
FILE_LOCKED = _code("CG312", "writing: another process holds an advisory lock on a file")
PARTIAL_SCAN = _code(
    "CG313", "writing: a narrower scan would delete or rewrite what unscanned routed files import"
)
STILL_IMPORTED = _code(
    "CG314", "writing: a scanned file would still import a shim this run deletes; nothing written"
)
JOURNALED = _code(
    "CG315", "writing: a write failed midway and could not be rolled back; the next run finishes it"
)

# --- rendering -------------------------------------------------------------------------------
UNSAFE_NAME = _code("CG320", "rendering: a name that cannot be placed safely in generated code")

# --- apply -----------------------------------------------------------------------------------
APPLY_SYNTAX_ERROR = _code("CG400", "apply: the model file does not parse")
ALIAS_CONFLICT = _code("CG401", "apply: the shim alias is already bound to something else")
MISSING_BUILDER = _code("CG402", "apply: a builder to route is neither defined nor imported")
APPLY_INTERNAL = _code("CG403", "apply: an internal error while applying one file")
INVALID_NAMES = _code("CG404", "apply: names in the edit that are not valid identifiers")
MISSING_LAYER = _code(
    "CG405", "apply: no statements cover a shared inline layer's lines (Keras: no one constructor)"
)
ROUND_TRIP = _code("CG406", "apply: the rewrite would change lines outside the routing; left alone")

# --- cache -----------------------------------------------------------------------------------
CACHE_DISABLED = _code("CG601", "cache: the cache cannot be used; disabled for this run")


def error(path: str, code: str, message: str, *, line: int = 1, column: int = 0) -> Diagnostic:
    """An error: the file (or run) cannot be handled as asked."""
    return Diagnostic(path, line, column, code, "error", message)


def warning(path: str, code: str, message: str, *, line: int = 1, column: int = 0) -> Diagnostic:
    """A warning: handled, but probably not as the user meant."""
    return Diagnostic(path, line, column, code, "warning", message)


def info(path: str, code: str, message: str, *, line: int = 1, column: int = 0) -> Diagnostic:
    """A note: worth knowing, nothing is wrong."""
    return Diagnostic(path, line, column, code, "info", message)
