"""layershare `codegen`: share early-layer weights between TensorFlow models by construction."""

import hashlib
from pathlib import Path

__version__ = "0.1.0"


def templates_dir() -> Path:
    """The Jinja templates: the repo's templates/, or the copy packaged in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "_templates"):
        if (candidate / "layers_common.py.jinja").is_file():
            return candidate
    return here.parent / "templates"


def stable_hash(text: str) -> str:
    """Content hash for fingerprints and keys, the same on every machine and run (not `hash()`)."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
