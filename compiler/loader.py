"""Load stage: an environment file -> plain data plus a table of where every value stands.

PyYAML's composer gives nodes with marks; we build the Python data ourselves from those nodes
so that each mapping key and value keeps its line and column, and so that a key written twice is
an error (PyYAML would silently keep the last one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from compiler.diagnostics import BatchformError, Diagnostic, Level, Path, Position, excerpt

CODE_SYNTAX = "BF001"
CODE_DUPLICATE_KEY = "BF002"
CODE_NOT_A_MAPPING = "BF003"
CODE_UNREADABLE = "BF004"

_STR_TAG = "tag:yaml.org,2002:str"

MAX_DEPTH = 64
MAX_NODES = 200_000  # aliases can multiply a small file into a huge tree ("billion laughs")


@dataclass
class Document:
    """The raw data of one file and where each piece of it stands in the text."""

    file: str
    text: str
    data: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.errors: list[Diagnostic] = []
        self._constructor = yaml.SafeLoader("")
        self._nodes = 0
        # id(node) -> (entries merged in, node); the node is kept so its id stays unique
        self._merged: dict[int, tuple[int, yaml.MappingNode]] = {}

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.positions[path] = _pos(node)
        self._nodes += 1
        if depth > MAX_DEPTH or self._nodes > MAX_NODES:
            if not self.errors:
                self._error(
                    node,
                    CODE_SYNTAX,
                    f"document too large: more than {MAX_DEPTH} levels deep "
                    f"or {MAX_NODES} values once aliases are expanded",
                )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if node.tag == _STR_TAG:
            return node.value  # what construct_object gives for a plain string, without its cost
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self._error(node, CODE_SYNTAX, f"cannot read this value: {problem}")
            return None

    def release_nodes(self) -> None:
        """Drop every reference the builder keeps to YAML nodes once the data is built.

        Why: PyYAML's constructor remembers each node it constructed (``constructed_objects``)
        and is itself a reference cycle (it stores bound methods of itself), so without this the
        whole node tree with its marks (400,000 objects for 5000 job definitions) outlived the
        load as cyclic garbage that only a full collection could free; released here, reference
        counting frees it as soon as the load returns.
        """
        self._constructor.constructed_objects.clear()
        self._constructor.recursive_objects.clear()
        self._merged.clear()

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        merged = self._flatten(node)
        out: dict[Any, Any] = {}
        first_seen: dict[Any, Position] = {}
        from_merge: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                self._error(key_node, CODE_SYNTAX, "a mapping key must be a plain value")
                continue
            if (
                key_node.tag == _STR_TAG
                and depth < MAX_DEPTH
                and self._nodes < MAX_NODES
                and not isinstance(key_node, yaml.CollectionNode)
            ):
                # The common key: build() would count it, record its position under "<key>"
                # (removed again below) and return its text.
                self._nodes += 1
                key = key_node.value
            else:
                key = self.build(key_node, (*path, "<key>"), depth + 1)
            if not isinstance(key, str) and not key_node.style:
                # A plain key is a name: `on:` stays "on" (YAML 1.1 reads it as true), `3.10:`
                # stays "3.10". Only quoted or tagged keys keep what YAML made of them.
                key = key_node.value
            if not isinstance(key, str):
                key = str(key) if not isinstance(key, bool) else str(key).lower()
            if index < merged:
                from_merge.add(key)  # merged in by `<<:`; the mapping's own keys override it
            elif key in from_merge:
                from_merge.discard(key)
                first_seen.pop(key, None)
            if key in first_seen and key not in from_merge:
                before = first_seen[key]
                self._error(
                    key_node,
                    CODE_DUPLICATE_KEY,
                    f"key '{key}' appears twice in this mapping "
                    f"(first at line {before.line}, column {before.col})",
                    hint="remove one of them; YAML would silently keep only the last",
                    path=(*path, key),
                )
                continue
            key_pos = first_seen[key] = _pos(key_node)  # Position is frozen: one is shared
            self.positions.pop((*path, "<key>"), None)
            self.key_positions[(*path, key)] = key_pos
            out[key] = self.build(value_node, (*path, key), depth + 1)
            if isinstance(value_node, yaml.CollectionNode):
                # A finding about a whole section points at its key, not at its first entry.
                self.positions[(*path, key)] = key_pos
        return out

    def _flatten(self, node: yaml.MappingNode) -> int:
        """Apply ``<<:`` merge keys; returns how many leading entries came from merges.

        PyYAML puts merged entries first and the mapping's own after them. A node reached again
        through an alias is already flattened, so the count is remembered per node."""
        if id(node) not in self._merged:
            own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
            try:
                self._constructor.flatten_mapping(node)
            except yaml.YAMLError as exc:
                problem = getattr(exc, "problem", None) or str(exc)
                self._error(node, CODE_SYNTAX, f"invalid merge key (<<): {problem}")
                node.value = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
                own = len(node.value)
            self._merged[id(node)] = (len(node.value) - own, node)
        return self._merged[id(node)][0]

    def _error(
        self,
        node: yaml.Node,
        code: str,
        message: str,
        hint: str | None = None,
        path: Path = (),
    ) -> None:
        pos = _pos(node)
        self.errors.append(
            Diagnostic(
                code=code,
                level=Level.ERROR,
                message=message,
                path=path,
                file=self.file,
                line=pos.line,
                col=pos.col,
                hint=hint,
                excerpt=excerpt(self.text, pos.line, pos.col),
            )
        )


def _codepoint(character: object) -> int:
    return character if isinstance(character, int) else ord(str(character)[:1] or "\0")


_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)


class _MemoResolver:
    """Tag resolution as ``SafeLoader`` does it, memoised per scalar: libyaml calls back into
    Python for every node, and a file of thousands of job definitions repeats the same keys and
    values. The safe loader has no path resolvers, so descending and ascending do nothing."""

    _resolved: dict[tuple[Any, str, Any], str]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit) if kind is yaml.ScalarNode else (kind, "", None)
        try:
            return self._resolved[key]
        except AttributeError:
            self._resolved = {}
        except KeyError:
            pass
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[misc]
        self._resolved[key] = tag
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


_FAST_LOADER: Any = (
    type("_FastSafeLoader", (_MemoResolver, _C_LOADER), {}) if _C_LOADER is not None else None
)
"""libyaml's parser (when PyYAML was built with it) composes about five times faster than the
pure-Python one, with the same nodes and marks."""


def _compose(text: str) -> list[yaml.Node]:
    """The YAML nodes of ``text``, parsed by libyaml when that gives the same answer.

    The pure-Python parser stays the reference: any text libyaml rejects is parsed again by it,
    so syntax errors keep their wording, and so is text with a tab, the one place found where
    the two disagree (libyaml accepts a tab inside a plain scalar, the pure parser does not).
    """
    if _FAST_LOADER is not None and "\t" not in text:
        try:
            return list(yaml.compose_all(text, Loader=_FAST_LOADER))
        except (yaml.YAMLError, ValueError):  # ValueError: a lone surrogate cannot be UTF-8
            pass
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


def load_text(text: str, file: str) -> Document:
    """Parse ``text`` (named ``file`` in messages). Raises :class:`BatchformError`."""
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise BatchformError(
            [
                Diagnostic(
                    code=CODE_SYNTAX,
                    level=Level.ERROR,
                    message=f"YAML syntax error: {problem}{context}",
                    file=file,
                    line=line,
                    col=col,
                    hint="check indentation and quoting around this line",
                    excerpt=excerpt(text, line, col),
                )
            ]
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise BatchformError(
            [
                Diagnostic(
                    CODE_SYNTAX,
                    Level.ERROR,
                    f"character U+{_codepoint(exc.character):04X} is not allowed in YAML",
                    file=file,
                    line=line,
                    col=col,
                    hint="remove the control character",
                    excerpt=excerpt(text, line, col),
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise BatchformError(
            [Diagnostic(CODE_SYNTAX, Level.ERROR, f"YAML error: {exc}", file=file)]
        ) from None
    if len(nodes) != 1 or nodes[0] is None:
        where = _pos(nodes[1]) if len(nodes) > 1 else Position(1, 1)
        raise BatchformError(
            [
                Diagnostic(
                    CODE_NOT_A_MAPPING,
                    Level.ERROR,
                    "an environment file holds exactly one YAML document"
                    + (" (found an empty file)" if not nodes or nodes[0] is None else ""),
                    file=file,
                    line=where.line,
                    col=where.col,
                )
            ]
        )
    builder = _Builder(file, text)
    try:
        data = builder.build(nodes[0], ())
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise BatchformError(
            [Diagnostic(CODE_SYNTAX, Level.ERROR, f"cannot read a value: {exc}", file=file)]
        ) from None
    finally:
        builder.release_nodes()
    if builder.errors:
        raise BatchformError(builder.errors)
    if not isinstance(data, dict):
        pos = _pos(nodes[0])
        raise BatchformError(
            [
                Diagnostic(
                    CODE_NOT_A_MAPPING,
                    Level.ERROR,
                    "the top level of an environment file must be a mapping of keys "
                    "(version, name, region, ...)",
                    file=file,
                    line=pos.line,
                    col=pos.col,
                )
            ]
        )
    return Document(file, text, data, builder.positions, builder.key_positions)


def load_file(path: str | FsPath) -> Document:
    """Read and parse one environment file. Raises :class:`BatchformError`."""
    name = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BatchformError(
            [Diagnostic(CODE_UNREADABLE, Level.ERROR, f"cannot read file: {reason}", file=name)]
        ) from None
    return load_text(text, name)
