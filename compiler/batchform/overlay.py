"""``extends:``: an environment file laid over a base file (docs/environment.md, "Several
environments from one base").

The base is named by a path relative to the file that extends it; bases may extend further
bases. The merge is :func:`batchform.merge.merge`'s: mappings merge key by key, lists and scalars
replace, ``null`` removes the inherited key. Every position of the merged document keeps the
file it was written in (:attr:`batchform.diagnostics.Position.file`), so a diagnostic about an
inherited value points at the base file's line, and one about an overridden value at the
overlay's.

Reading goes through a ``read`` function, so ``batchform diff --base REF`` can resolve a chain
as it stood at a git revision (:func:`batchform.cli` passes a reader of ``git show``).
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import yaml

from batchform.codes import CODE_BAD_EXTENDS, CODE_EXTENDS_CYCLE, CODE_UNREADABLE
from batchform.diagnostics import BatchformError, Diagnostic, Level, Path, Position
from batchform.loader import Document, load_text, read_source
from batchform.merge import merge

EXTENDS = "extends"


MAX_CHAIN = 8
"""Bases in one chain; dev -> staging -> prod -> org defaults is four."""

Reader = Callable[[str], str]
"""Text of the environment file at a path (raises :class:`BatchformError` when unreadable)."""


def load_chain(path: str, read: Reader = read_source) -> Document:
    """The document of ``path`` with every base it extends merged in. Raises
    :class:`BatchformError` (diagnostics located in whichever file is at fault)."""
    return _load(path, read, ())


def load_chain_text(text: str, file: str, read: Reader = read_source) -> Document:
    """As :func:`load_chain` for a file whose own text is already in hand."""
    return _extend(load_text(text, file), read, (_key(file),))


def _key(path: str) -> str:
    """What identifies a file in a chain (cycles): its normalised path."""
    return posixpath.normpath(path.replace(os.sep, "/"))


def _load(path: str, read: Reader, chain: tuple[str, ...]) -> Document:
    return _extend(load_text(read(path), path), read, (*chain, _key(path)))


def _own(doc: Document) -> Document:
    """``doc`` with every position no base has claimed marked as written in ``doc.file``.

    Only documents of a chain are marked: a file that extends nothing keeps its positions as
    the loader made them (their file is the analysis's own), which spares a 5000-job file
    160,000 new positions.
    """
    return replace(
        doc,
        positions=_in_file(doc.positions, doc.file),
        key_positions=_in_file(doc.key_positions, doc.file),
        sources=doc.sources or (doc.file,),
    )


def _in_file(positions: Mapping[Path, Position], file: str) -> dict[Path, Position]:
    return {
        p: pos if pos.file else Position(pos.line, pos.col, file) for p, pos in positions.items()
    }


def _error(doc: Document, code: str, message: str, hint: str | None = None) -> BatchformError:
    pos = doc.positions.get((EXTENDS,))
    return BatchformError(
        [
            Diagnostic(
                code,
                Level.ERROR,
                message,
                path=(EXTENDS,),
                file=doc.file,
                line=pos.line if pos else None,
                col=pos.col if pos else None,
                hint=hint,
            )
        ]
    )


def _extend(doc: Document, read: Reader, chain: tuple[str, ...]) -> Document:
    if not isinstance(doc.data, dict) or EXTENDS not in doc.data:
        return doc
    target = doc.data[EXTENDS]
    own = {k: v for k, v in doc.data.items() if k != EXTENDS}
    if target is None:
        return replace(doc, data=own)
    if not isinstance(target, str) or not target.strip():
        raise _error(doc, CODE_BAD_EXTENDS, "extends must be the path of a base environment file")
    if os.path.isabs(target) or target.startswith("~"):
        raise _error(
            doc,
            CODE_BAD_EXTENDS,
            f"extends '{target}' is an absolute path",
            "write the base's path relative to this file, so the pair moves together",
        )
    base_path = posixpath.join(posixpath.dirname(doc.file.replace(os.sep, "/")), target)
    key = _key(base_path)
    if key in chain:
        cycle = " -> ".join((*chain, key))
        raise _error(doc, CODE_EXTENDS_CYCLE, f"extends forms a cycle: {cycle}")
    if len(chain) > MAX_CHAIN:
        raise _error(
            doc,
            CODE_EXTENDS_CYCLE,
            f"more than {MAX_CHAIN} files extend each other here",
            "flatten the chain: each base can carry more",
        )
    try:
        base = _load(key, read, chain)
    except BatchformError as exc:
        unreadable = [d for d in exc.diagnostics if d.file == key and d.code == CODE_UNREADABLE]
        if unreadable and len(exc.diagnostics) == 1:
            raise _error(
                doc,
                CODE_BAD_EXTENDS,
                f"extends '{target}': {unreadable[0].message}",
                f"the path is relative to this file ({key})",
            ) from None
        raise
    if not isinstance(base.data, dict):
        raise _error(doc, CODE_BAD_EXTENDS, f"extends '{target}' is not a mapping of keys")
    return _merge_documents(_own(base), _own(replace(doc, data=own)))


def _merge_documents(base: Document, overlay: Document) -> Document:
    data = merge(base.data, overlay.data)
    positions: dict[Path, Position] = {}
    key_positions: dict[Path, Position] = {}
    for path in _paths(data, ()):
        for out, mine, theirs in (
            (positions, overlay.positions, base.positions),
            (key_positions, overlay.key_positions, base.key_positions),
        ):
            pos = mine.get(path) if _written_by(overlay.data, path) else theirs.get(path)
            if pos is not None:
                out[path] = pos
    return replace(
        overlay,
        data=data,
        positions=positions,
        key_positions=key_positions,
        sources=(*overlay.sources, *base.sources),
    )


def _written_by(data: Any, path: Path) -> bool:
    """Whether the value at ``path`` of the merged data is the one ``data`` holds there:
    every step down is a mapping key ``data`` has, or a list ``data`` replaced whole."""
    node = data
    for step in path:
        if isinstance(node, list):
            return True  # a list is never merged: the one that wrote the list wrote its items
        if not isinstance(node, dict) or step not in node or node[step] is None:
            return False
        node = node[step]
    return True


def _paths(value: Any, path: Path) -> Iterator[Path]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


# --- batchform show: the merged file, each value with the file and line it came from ---------


def show(doc: Document) -> str:
    """The merged environment as YAML that batchform reads back to the same data, each line
    ending in a comment naming the file and line its value was written at."""
    chain = " -> ".join(doc.sources or (doc.file,))
    lines = [f"# {doc.file}: the environment as batchform reads it (from {chain})"]
    _show_mapping(doc.data, (), 0, doc, lines)
    return "\n".join(lines) + "\n"


def _where(doc: Document, path: Path) -> str:
    pos = doc.positions.get(path)
    if pos is None:
        return ""
    return f"  # {pos.file or doc.file}:{pos.line}"


def _scalar(value: Any) -> str:
    """One scalar (or a list of scalars) in YAML flow style, quoted where YAML needs it, so it
    reads back as the same value. Numbers keep the text they were written as."""
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int | float):
        return str(value)
    if any(c in value for c in "\n\r\t") or not value.isprintable():
        return json.dumps(value, ensure_ascii=False)  # a YAML double-quoted scalar, on one line
    dumped = yaml.safe_dump([value], default_flow_style=True, width=1 << 30, allow_unicode=True)
    return dumped.strip()[1:-1]


def _is_leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return not value
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    return True


def _show_mapping(
    data: Mapping[str, Any], path: Path, indent: int, doc: Document, lines: list[str]
) -> None:
    pad = " " * indent
    for key, value in data.items():
        here = (*path, key)
        if _is_leaf(value):
            lines.append(f"{pad}{_scalar(key)}: {_scalar(value)}{_where(doc, here)}")
            continue
        lines.append(f"{pad}{_scalar(key)}:{_where(doc, here)}")
        if isinstance(value, dict):
            _show_mapping(value, here, indent + 2, doc, lines)
        else:
            _show_list(value, here, indent + 2, doc, lines)


def _show_list(items: list[Any], path: Path, indent: int, doc: Document, lines: list[str]) -> None:
    pad = " " * indent
    for i, item in enumerate(items):
        here = (*path, i)
        if isinstance(item, dict) and item:
            nested: list[str] = []
            _show_mapping(item, here, indent + 2, doc, nested)
            nested[0] = f"{pad}- {nested[0][indent + 2 :]}"
            lines.extend(nested)
        elif isinstance(item, list) and item:
            lines.append(f"{pad}-{_where(doc, here)}")
            _show_list(item, here, indent + 2, doc, lines)
        else:
            lines.append(f"{pad}- {_scalar(item)}{_where(doc, here)}")
