"""What shapes a plan: the subset of the configuration the planner reads."""

from __future__ import annotations

from dataclasses import dataclass

from codegen.config import Config
from codegen.model import DEFAULT_LINE_LENGTH
from codegen.paths import package_of


@dataclass(frozen=True)
class PlanOptions:
    """The configuration that shapes a plan (a subset of Config, so plan stays config-agnostic)."""

    # The defaults are Config's (they live there only).
    build_function: str = Config.build_function
    output_package: str = package_of(Config.output)
    line_length: int = DEFAULT_LINE_LENGTH  # the project formatter's, for the lines apply adds

    @property
    def narrows_roots(self) -> bool:
        """A chosen build_function narrows the models found to the names it matches."""
        return self.build_function != Config.build_function


DEFAULT_OPTIONS = PlanOptions()
