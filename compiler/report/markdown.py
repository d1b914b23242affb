"""Markdown building blocks for pull-request comments and CI job summaries.

Every user value goes through :func:`compiler.report.escape.markdown` (via :func:`text` or
:func:`code`); the structure around it (headings, tables, lists) is batchform's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from compiler.report.escape import markdown

_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+=,-]+( [A-Za-z0-9_.:/@+=,-]+)*")


def text(value: str) -> str:
    """``value`` as inline text that renders as exactly its characters."""
    return markdown(value)


def code(value: str) -> str:
    """``value`` in a monospace span. A plain value (names, addresses, paths) is a backtick
    code span, readable as it is; anything else is ``<code>`` around escaped text, because a
    code span cannot escape (a ``|`` would end a table cell, a backtick the span)."""
    if _PLAIN.fullmatch(value):
        return f"`{value}`"
    return f"<code>{markdown(value)}</code>"


def table(headers: Sequence[str]) -> list[str]:
    """The header row and the delimiter row of a table (headers are batchform's own words)."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]


def row(cells: Sequence[str], raw: bool = False) -> str:
    """A table row; ``raw`` cells are already Markdown built from :func:`text`/:func:`code`."""
    shown = cells if raw else [markdown(c) for c in cells]
    return "| " + " | ".join(shown) + " |"
