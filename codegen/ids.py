"""Function ids, `path::qualname`: the one place they are written and read back."""

from __future__ import annotations

SEPARATOR = "::"


def function_id(path: str, qualname: str) -> str:
    """`path::qualname`, the id used in reports and JSON."""
    return f"{path}{SEPARATOR}{qualname}"


def split_id(fid: str) -> tuple[str, str]:
    """`(path, qualname)` of an id (the qualname is empty for an id without one)."""
    path, _, qualname = fid.partition(SEPARATOR)
    return path, qualname


def id_path(fid: str) -> str:
    """The file path part of an id."""
    return split_id(fid)[0]


def id_qualname(fid: str) -> str:
    """The qualified-name part of an id."""
    return split_id(fid)[1]
