"""Durations and sizes as users write them (``15m``, ``32 GiB``) -> plain integers.

Durations become seconds, memory becomes MiB and disk becomes GiB. Each parser raises
``ValueError`` with a message that says which forms are accepted, which the model turns into a
located diagnostic.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^[ \t]*(\d+)[ \t]*([smhd])[ \t]*\Z")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_SIZE = re.compile(r"^[ \t]*(\d+(?:\.\d+)?)[ \t]*([KMGT]iB)?[ \t]*\Z", re.IGNORECASE)
_MIB_PER_UNIT = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"{what} must be a whole number")


def parse_duration(value: object) -> int:
    """Seconds from an integer or ``90s`` / ``15m`` / ``4h`` / ``2d``."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        if not m:
            raise ValueError(
                f"'{value}' is not a duration: use seconds (3600) or a number with a unit "
                "s, m, h or d (90s, 15m, 4h, 2d)"
            )
        return int(m.group(1)) * _DURATION_UNITS[m.group(2)]
    seconds = _whole(value, "a duration")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def _parse_size(value: object, default_unit: str, what: str) -> float:
    """Size in MiB; a bare number is in ``default_unit`` ('m' or 'g')."""
    if isinstance(value, str):
        m = _SIZE.match(value)
        if not m:
            raise ValueError(
                f"'{value}' is not a {what}: use a number with a unit such as "
                "512 MiB, 32 GiB or 1 TiB (binary units: GiB, not GB)"
            )
        number = float(m.group(1))
        unit = (m.group(2) or default_unit)[0].lower()
        return number * _MIB_PER_UNIT[unit]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a {what} must be a number or a string such as '32 GiB'")
    if value < 0:
        raise ValueError(f"a {what} cannot be negative")
    return float(value) * _MIB_PER_UNIT[default_unit]


def parse_memory_mib(value: object) -> int:
    """Memory in MiB from an integer (MiB) or ``512 MiB`` / ``32 GiB`` / ``1 TiB``."""
    mib = _parse_size(value, "m", "memory size")
    if not mib.is_integer():
        raise ValueError(f"memory must come to a whole number of MiB (got {mib:g} MiB)")
    return int(mib)


def parse_disk_gib(value: object) -> int:
    """Disk size in GiB from an integer (GiB) or ``50 GiB`` / ``1 TiB``."""
    gib = _parse_size(value, "g", "disk size") / 1024
    if not gib.is_integer():
        raise ValueError(f"disk sizes must come to a whole number of GiB (got {gib:g} GiB)")
    return int(gib)


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
