"""Read environment-file YAML in tests the way batchform reads it.

PyYAML's ``safe_load`` follows YAML 1.1, where a plain ``on:`` key is the boolean ``true``;
batchform's loader keeps plain keys as the text written (``alerts.on`` is a key of the format).
Tests that edit an example as data and write it back therefore load it with batchform's loader;
``yaml.safe_dump`` then quotes such keys (``'on':``), which every YAML reader keeps as text.
Numbers come back as plain ``int``/``float`` (the loader's number types remember their source
text, which PyYAML's dumper does not know how to write).
"""

from __future__ import annotations

from typing import Any

from batchform.loader import SourceFloat, SourceInt, load_text


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, SourceInt):
        return int(value)
    if isinstance(value, SourceFloat):
        return float(value)
    return value


def read_yaml(text: str) -> Any:
    return _plain(load_text(text, "<test>").data)
