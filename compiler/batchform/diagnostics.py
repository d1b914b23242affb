"""One diagnostic record for every stage (shown to people and machines by
:mod:`batchform.report.diagnostics`).

A check reports a *path* into the document; turning that path into a file position happens
once, here (:func:`locate`), from the position table the loader recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

Path = tuple[str | int, ...]


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


LEVEL_ORDER = {Level.ERROR: 0, Level.WARNING: 1, Level.INFO: 2}


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based
    # set where a document merges several files (compiler/batchform/overlay.py)
    file: str | None = None


@dataclass(frozen=True)
class Diagnostic:
    code: str
    level: Level
    message: str
    path: Path = ()
    file: str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    excerpt: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        return (self.file or "", self.line or 0, self.col or 0, self.code, self.message)


class BatchformError(Exception):
    """Raised by a stage that cannot continue; carries the diagnostics that explain why."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))


def format_path(path: Path) -> str:
    """Render a document path the way a user would write it: ``job_queues.high.priority``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def locate(
    path: Path,
    positions: Mapping[Path, Position],
) -> Position | None:
    """The position of the value at ``path``, or of its nearest recorded ancestor."""
    probe = tuple(path)
    while True:
        pos = positions.get(probe)
        if pos is not None:
            return pos
        if not probe:
            return None
        probe = probe[:-1]


def with_location(
    diag: Diagnostic, file: str | None, positions: Mapping[Path, Position]
) -> Diagnostic:
    """Fill in file/line/col of ``diag`` from its path, unless it already has them."""
    if diag.line is not None:
        return diag if diag.file else replace(diag, file=file)
    pos = locate(diag.path, positions)
    return replace(
        diag,
        file=diag.file or (pos.file if pos is not None and pos.file else file),
        line=pos.line if pos else None,
        col=pos.col if pos else None,
    )


def has_errors(diagnostics: Iterable[Diagnostic], strict: bool = False) -> bool:
    failing = {Level.ERROR, Level.WARNING} if strict else {Level.ERROR}
    return any(d.level in failing for d in diagnostics)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=Diagnostic.sort_key)


def excerpt(text: str, line: int, col: int, context: int = 2) -> str:
    """A few numbered source lines around ``line`` with a caret under ``col``."""
    lines = text.splitlines()
    if not lines:
        return ""
    line = max(1, min(line, len(lines)))
    first = max(1, line - context)
    last = min(len(lines), line + context)
    width = len(str(last))
    out = []
    for n in range(first, last + 1):
        out.append(f"  {n:>{width}} | {lines[n - 1]}")
        if n == line:
            out.append(f"  {'':>{width}} | {' ' * max(col - 1, 0)}^")
    return "\n".join(out)
