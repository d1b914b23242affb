"""Read environment-file YAML in tests the way batchform reads it.

PyYAML's ``safe_load`` follows YAML 1.1, where a plain ``on:`` key is the boolean ``true``;
batchform's loader keeps plain keys as the text written (``alerts.on`` is a key of the format).
Tests that edit an example as data and write it back therefore load it with batchform's loader;
``yaml.safe_dump`` then quotes such keys (``'on':``), which every YAML reader keeps as text.
"""

from __future__ import annotations

from typing import Any

from compiler.loader import load_text


def read_yaml(text: str) -> Any:
    return load_text(text, "<test>").data
