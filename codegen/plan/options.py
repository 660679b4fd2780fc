"""What shapes a plan: the subset of the configuration the planner reads."""

from __future__ import annotations

from dataclasses import dataclass

from codegen.model import DEFAULT_LINE_LENGTH


@dataclass(frozen=True)
class PlanOptions:
    """The configuration that shapes a plan (a subset of Config, so plan stays config-agnostic)."""

    build_function: str = r"^build"
    output_package: str = "generated"
    line_length: int = DEFAULT_LINE_LENGTH  # the project formatter's, for the lines apply adds


DEFAULT_OPTIONS = PlanOptions()
