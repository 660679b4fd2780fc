"""The one Jinja environment every template renders in (jinja2 is imported only here)."""

from __future__ import annotations

import jinja2

from codegen import runtime, templates_dir


def environment() -> jinja2.Environment:
    """Strict environment: a typo in a template fails loudly instead of rendering blank."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # Real modules of codegen/runtime/ placed verbatim (the demo script): linted where they live.
    env.globals["runtime_source"] = runtime.source
    return env
