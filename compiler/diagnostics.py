"""One diagnostic record for every stage, and the ways it is shown to people and machines.

A check reports a *path* into the document; turning that path into a file position happens
once, here (:func:`locate`), from the position table the loader recorded.
"""

from __future__ import annotations

import json
import unicodedata
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


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based
    file: str | None = None  # set where a document merges several files (compiler/overlay.py)


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": str(self.level),
            "message": self.message,
            "path": list(self.path),
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "hint": self.hint,
        }


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


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Bidirectional controls reorder what a terminal shows ("Trojan Source", CVE-2021-42574).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e") | frozenset(
    "\u2066\u2067\u2068\u2069"
)


def _escape_char(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs") or char in _BIDI_CONTROLS:
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def inert(text: str) -> str:
    """``text`` with every control, line-separator and bidi character written as an escape
    (``\\n``, ``\\x1b``, ``\\u2028``), so a value quoted in a message can neither break a
    ``file:line:col`` line in two nor send escape sequences to the terminal."""
    if text.isprintable():
        return text
    return "".join(_escape_char(c) for c in text)


def format_text(diag: Diagnostic) -> str:
    """``configs/prod.yaml:42:7: error BF201: message`` plus hint and excerpt lines.

    Every text that can carry a user's value (file name, message, hint, source lines) goes
    through :func:`inert`: the first line stays one line per finding, whatever a rule quotes.
    """
    where = inert(diag.file or "<input>")
    if diag.line is not None:
        where += f":{diag.line}:{diag.col or 1}"
    text = f"{where}: {diag.level} {diag.code}: {inert(diag.message)}"
    if diag.excerpt:
        text += "\n" + "\n".join(inert(line) for line in diag.excerpt.split("\n"))
    if diag.hint:
        text += f"\n    hint: {inert(diag.hint)}"
    return text


def summary_line(diagnostics: Sequence[Diagnostic]) -> str:
    counts = {lvl: sum(1 for d in diagnostics if d.level == lvl) for lvl in Level}
    parts = [f"{counts[lvl]} {lvl}{'s' if counts[lvl] != 1 else ''}" for lvl in Level]
    return ", ".join(parts)


def format_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps(
        {"version": 1, "diagnostics": [d.to_dict() for d in diagnostics]},
        indent=2,
        ensure_ascii=False,
    )


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
