"""layershare `codegen`: share early-layer weights between TensorFlow models by construction."""

from pathlib import Path

__version__ = "0.1.0"


def templates_dir() -> Path:
    """The Jinja templates: the repo's templates/, or the copy packaged in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "_templates"):
        if (candidate / "layers_common.py.jinja").is_file():
            return candidate
    return here.parent / "templates"
