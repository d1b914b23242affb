"""Overlay merge of two environment-file mappings.

The rules are those of an overlay on a base file: mappings merge key by key, lists and scalars
replace what the base holds, and ``null`` removes the key. The rule pages' bad and good examples
are overlays on ``compiler/batchform/checks/docs/base.yaml``, merged with :func:`merge`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` laid over it; neither argument is changed."""
    merged: dict[str, Any] = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
