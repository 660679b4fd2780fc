"""A module-level value is an object the scanner cannot see into, or not, by what it is bound
to, never by its name: an unknown call's result (`ENCODER = build_encoder()`) is unseen, so a
call of it or of its method ends the shared trunk with CG230; an instance of a class of the module
runs that class's method (unseen when made with a literal, as for a local); what a library call
that makes no layer returns (`logging.getLogger(...)`, `np.zeros(...)`) is not unseen."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_unseen_calls import depth, notes, scan

from codegen import names

ENCODER_CLASS = """\
class Encoder:
    def __init__(self, units=8):
        self.units = units

    def encode(self, x):
        return layers.Dense(self.units)(x)


"""


def model(head: str, use: str) -> str:
    """`head` at module level (from line 4), then a build function whose `use` line comes right
    after Dense(8) and before Dense(32) and Dense(2)."""
    return (
        "import keras\nfrom keras import layers\n\n"
        + textwrap.dedent(head)
        + "\n\ndef build_model(width):\n"
        + "    inputs = keras.Input((16,))\n"
        + "    x = layers.Dense(8)(inputs)\n"
        + f"    {use}\n"
        + "    x = layers.Dense(32)(x)\n"
        + "    outputs = layers.Dense(2)(x)\n"
        + "    return keras.Model(inputs, outputs)\n"
    )


def use_line(text: str, use: str) -> int:
    return text.splitlines().index(f"    {use}") + 1


@pytest.mark.parametrize(
    ("head", "use", "callee"),
    [
        # an unknown import's result, its method called
        (
            "from encoders import build_encoder\nENCODER = build_encoder()\n",
            "x = ENCODER.encode(x)",
            "ENCODER.encode",
        ),
        # a scanned function's result: what it returns the scan does not follow
        (
            "def make_encoder():\n    return layers.Dense(8)\n\n\nENCODER = make_encoder()\n",
            "x = ENCODER.encode(x)",
            "ENCODER.encode",
        ),
        # an attribute of it, called
        (
            "from encoders import build_encoder\nENCODER = build_encoder()\n",
            "x = ENCODER.layers.first(x)",
            "ENCODER.layers.first",
        ),
        # a library class's instance, which may hold layers
        (
            "SEQ = keras.Sequential([layers.Dense(4)])\n",
            "x = SEQ.call(x)",
            "SEQ.call",
        ),
        # an instance of a class of the module made with a literal: unseen, as for a local
        (ENCODER_CLASS + "ENCODER = Encoder(16)\n", "x = ENCODER.encode(x)", "Encoder"),
    ],
)
def test_a_module_values_method_ends_the_trunk(
    tmp_path: Path, head: str, use: str, callee: str
) -> None:
    text = model(head, use)
    result = scan(tmp_path, text)
    if callee == "Encoder":
        callee = names.of_instance("Encoder", "encode")
    line = use_line(text, use)
    assert depth(result) == 1  # Dense(8) only
    assert notes(result) == [("models/a.py", line, callee), ("models/b.py", line, callee)]


def test_a_module_value_handed_to_a_helper_ends_the_trunk(tmp_path: Path) -> None:
    head = """\
        from encoders import build_encoder
        ENCODER = build_encoder()


        def trunk(enc, x):
            x = enc.encode(x)
            return layers.Dense(32)(x)
        """
    text = model(head, "x = trunk(ENCODER, x)")
    result = scan(tmp_path, text)
    assert depth(result) == 1
    held = (9, "param.enc.encode")  # in trunk, at its line 9
    assert notes(result) == [("models/a.py", *held), ("models/b.py", *held)]


@pytest.mark.parametrize(
    ("head", "use"),
    [
        # what a library call makes that is no layer and holds none
        ("import logging\nLOG = logging.getLogger(__name__)\n", 'LOG.warning("built")'),
        ("import numpy as np\nMEAN = np.zeros(16)\n", "x = x - MEAN.reshape(1, 16)"),
        # an instance of a class of the module made without a literal: its method is its layer
        (ENCODER_CLASS + "ENCODER = Encoder()\n", "x = ENCODER.encode(x)"),
    ],
)
def test_known_module_values_still_share(tmp_path: Path, head: str, use: str) -> None:
    result = scan(tmp_path, model(head, use))
    assert notes(result) == []
    assert depth(result) >= 3
