"""Shared test setup: legacy Keras for tf.compat.v1.layers, repo paths, helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Must be set before anything imports TensorFlow: tf.compat.v1.layers needs tf-keras under TF >= 2.16.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
TEMPLATES = REPO / "templates"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
