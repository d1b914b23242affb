"""Markdown building blocks for pull-request comments and CI job summaries.

Every user value goes through :func:`batchform.report.escape.markdown` (via :func:`text` or
:func:`code`); the structure around it (headings, tables, lists) is batchform's own.
"""

from __future__ import annotations

from collections.abc import Sequence

from batchform.report.escape import markdown, terminal


def text(value: str) -> str:
    """``value`` as inline text that renders as exactly its characters."""
    return markdown(value)


def code(value: str) -> str:
    """``value`` in a monospace span. Inside a backtick code span nothing is markup (no
    emphasis, HTML or entity), so most values are one, readable as they are; but a code span
    cannot escape anything, so a value with a backtick (it would end the span), a ``|`` (it
    would end a table cell), a line break or control character, or an outer space (stripped)
    is ``<code>`` around :func:`~batchform.report.escape.markdown` text instead."""
    if value and "`" not in value and "|" not in value and value == terminal(value).strip():
        return f"`{value}`"
    return f"<code>{markdown(value)}</code>"


def table(headers: Sequence[str]) -> list[str]:
    """The header row and the delimiter row of a table (headers are batchform's own words)."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]


def row(cells: Sequence[str], raw: bool = False) -> str:
    """A table row; ``raw`` cells are already Markdown built from :func:`text`/:func:`code`."""
    shown = cells if raw else [markdown(c) for c in cells]
    return "| " + " | ".join(shown) + " |"
