"""The environment document as YAML a person reviews: block mappings in the format's order,
short lists of scalars in flow style, and comments at the places they are about.

Written by hand rather than by a YAML library because comments must sit at the right place
(the library has no comments) and quoting must be predictable: a string is written plain
only when it starts with a letter or ``/`` and holds nothing YAML could read as something else
(``yes``, ``on``, ``null``, ``12:30``, ``#``, ``: ``); everything else is a JSON string, which is
also a YAML double-quoted string with the same value. ``tests/test_import.py`` reads every
written file back with batchform's own loader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from batchform.hcl import comment_safe
from batchform.importer.result import DocPath

Comments = Mapping[DocPath, list[str]]

_PLAIN = re.compile(r"^[A-Za-z/][A-Za-z0-9_./@+=-]*(?: [A-Za-z0-9_./@+=()-]+)*\Z")
_PLAIN_BLOCK = re.compile(r"^[A-Za-z/][A-Za-z0-9_./@+=:*-]*(?: [A-Za-z0-9_./@+=()*-]+)*\Z")
_UNIT = re.compile(r"^\d+(?:[smhd]| (?:MiB|GiB|TiB))\Z")
"""Durations and sizes (``90s``, ``4 GiB``): YAML reads them as text, written plain."""
_SPECIAL = {
    "y",
    "n",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "false",
    "null",
}
FLOW_WIDTH = 100
INDENT = "  "


def scalar(value: Any, flow: bool = False) -> str:
    """One scalar as YAML text whose value reads back as ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    pattern = _PLAIN if flow else _PLAIN_BLOCK
    if _UNIT.match(text):
        return text
    plain = pattern.match(text) and text.lower() not in _SPECIAL
    if plain and ": " not in text and not text.endswith(":"):
        return text
    return json.dumps(text, ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _comment_lines(lines: list[str], indent: str) -> list[str]:
    """``# ...`` lines; text from AWS is made one printable line first (a newline in a value
    would end the comment and start YAML)."""
    return [f"{indent}# {comment_safe(line)}".rstrip() for line in lines]


def _value_lines(value: Any, path: DocPath, depth: int, comments: Comments) -> list[str]:
    """The lines of a mapping's or list's body (for a scalar: nothing, it goes on its key's
    line)."""
    indent = INDENT * depth
    out: list[str] = []
    if isinstance(value, dict):
        out += _comment_lines(comments.get(path, []), indent)
        for key, item in value.items():
            out += _entry_lines(str(key), item, (*path, key), depth, comments)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _list_item_lines(item, (*path, index), depth, comments)
    return out


def _flow(value: list[Any]) -> str:
    return "[" + ", ".join(scalar(v, flow=True) for v in value) + "]"


def _entry_lines(key: str, value: Any, path: DocPath, depth: int, comments: Comments) -> list[str]:
    indent = INDENT * depth
    head = f"{indent}{scalar(key, flow=True)}:"
    out: list[str] = []
    if _is_scalar(value):
        out += _comment_lines(comments.get(path, []), indent)
        return [*out, f"{head} {scalar(value)}"]
    if not value:
        return [f"{head} {'{}' if isinstance(value, dict) else '[]'}"]
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        text = f"{head} {_flow(value)}"
        if len(text) <= FLOW_WIDTH:
            return [text]
    return [head, *_value_lines(value, path, depth + 1, comments)]


def _list_item_lines(item: Any, path: DocPath, depth: int, comments: Comments) -> list[str]:
    indent = INDENT * depth
    if _is_scalar(item):
        return [f"{indent}- {scalar(item)}"]
    if isinstance(item, list):
        return (
            [f"{indent}- {_flow(item)}"]
            if all(_is_scalar(v) for v in item)
            else [
                f"{indent}-",
                *_value_lines(item, path, depth + 1, comments),
            ]
        )
    body = _value_lines(item, path, depth + 1, comments)
    if not body:
        return [f"{indent}- {{}}"]
    first = body[0]
    return [f"{indent}- {first[len(indent) + 2 :]}", *body[1:]]


def _attach(
    document: dict[str, Any], comments: Mapping[DocPath, list[str]]
) -> dict[DocPath, list[str]]:
    """Each comment at the nearest existing place on its path: a comment about a value that
    was taken out goes to the mapping that held it."""
    out: dict[DocPath, list[str]] = {}
    for path, lines in comments.items():
        place: DocPath = ()
        node: Any = document
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
                place = (*place, part)
            else:
                break
        out.setdefault(place, []).extend(lines)
    return out


def dump(
    document: dict[str, Any],
    header: list[str],
    comments: Mapping[DocPath, list[str]],
    footer: list[str],
) -> str:
    """The whole file: header comment, the document with its comments, footer comment."""
    placed = _attach(document, comments)
    lines = _comment_lines(header, "")
    lines += _comment_lines(placed.pop((), []), "")
    for key, value in document.items():
        if lines and not _is_scalar(value):
            lines.append("")
        lines += _entry_lines(str(key), value, (key,), 0, placed)
    if footer:
        lines += ["", *_comment_lines(footer, "")]
    return "\n".join(lines) + "\n"
