"""The one escaping function of each target format, and the one XML header.

Every text a user can influence (file names, keys, AWS names, values read from AWS, messages
quoting them) reaches the output through exactly one of these, chosen by where it lands:

- :func:`terminal` for plain text on a terminal or in a log: control, line-separator and bidi
  characters are written as escapes, so a value can neither break a ``file:line:col`` line in
  two nor send ANSI escape sequences to the terminal;
- :func:`markdown` for Markdown (pull-request comments, job summaries): inline text that stays
  inline text, whatever characters it holds;
- :func:`xml` for XML text and attributes (JUnit): what XML 1.0 cannot hold at all
  (ElementTree writes ``&``, ``<``, ``>`` and quotes as entities itself).

JSON (and SARIF, which is JSON) needs no function of its own: :func:`json.dumps` escapes.
"""

from __future__ import annotations

import re
import unicodedata

XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'

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
    if char in "\ufffe\uffff":  # noncharacters: printable to Python, forbidden in XML 1.0
        return f"\\u{ord(char):04x}"
    return char


def terminal(text: str) -> str:
    """``text`` with every control, line-separator and bidi character written as an escape
    (``\\n``, ``\\x1b``, ``\\u2028``), so a value quoted in a message can neither break a
    ``file:line:col`` line in two nor send escape sequences to the terminal."""
    if text.isprintable() and "\ufffe" not in text and "\uffff" not in text:
        return text
    return "".join(_escape_char(c) for c in text)


# Characters that start inline Markdown (emphasis, code, links, images, autolinks, raw HTML,
# entities, strikethrough, table cells, math) anywhere in a line. CommonMark: "Any ASCII
# punctuation character may be backslash-escaped" (https://spec.commonmark.org/0.31.2/#backslash-escapes),
# and GitHub's table extension honours ``\|`` inside code spans too
# (https://github.github.com/gfm/#tables-extension-).
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|&~$!{}])")
# What starts a block when it opens a line: heading, quote, list item, thematic break, setext.
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def markdown(text: str) -> str:
    """``text`` as Markdown inline text that renders as exactly these characters: one line
    (line breaks and controls written as :func:`terminal` escapes), no emphasis, code, link,
    HTML, entity or table cell of its own, and no block (heading, list, quote) when it happens
    to open a line."""
    escaped = _MD_INLINE.sub(r"\\\1", terminal(text))
    return _MD_LINE_START.sub(lambda m: m.group(1) + _escape_first(m.group(2)), escaped, count=1)


def _escape_first(marker: str) -> str:
    if marker[0].isdigit():
        return marker[:-1] + "\\" + marker[-1]
    return "\\" + marker


def xml(text: str) -> str:
    """``text`` as XML 1.0 can hold it: line breaks kept (a JUnit failure is several lines),
    every other character XML forbids or a terminal would act on (``\\x1b``, ``\\x00``,
    ``\\ufffe``, bidi controls) written as a :func:`terminal` escape."""
    return "\n".join(terminal(line) for line in text.split("\n"))
