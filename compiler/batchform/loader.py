"""Load stage: an environment file -> plain data plus a table of where every value stands.

PyYAML's composer gives nodes with marks; we build the Python data ourselves from those nodes
so that each mapping key and value keeps its line and column, and so that a key written twice is
an error (PyYAML would silently keep the last one).

Values keep their meaning (docs/environment.md, "How values are read"): YAML 1.1 reads `3.10`
as the float 3.1, `0755` as 493 and `12:30` as 750. A plain scalar read as a number therefore
comes out as :class:`SourceInt` / :class:`SourceFloat`, a number that also remembers the text
it was written as, so that a field expecting text gets exactly that text (the model turns
numbers into text with ``str()``), while a number field gets the number. Dates stay text (the
format has no date field), every mapping key is its own text, and a ``null`` key is an error.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from batchform.codes import (
    CODE_DUPLICATE_KEY,
    CODE_LONE_SURROGATE,
    CODE_NOT_A_MAPPING,
    CODE_NULL_KEY,
    CODE_SYNTAX,
)
from batchform.codes import (
    CODE_UNREADABLE as CODE_UNREADABLE,  # diff/git.py reports unreadable git files with it
)
from batchform.diagnostics import BatchformError, Diagnostic, Level, Path, Position, excerpt

_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_NULL_TAG = "tag:yaml.org,2002:null"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_KEY_TAGS = frozenset({_STR_TAG, _INT_TAG, _FLOAT_TAG, _TIMESTAMP_TAG, "tag:yaml.org,2002:bool"})

MAX_DEPTH = 64
MAX_NODES = 200_000  # aliases can multiply a small file into a huge tree ("billion laughs")
MAX_NUMBER_TEXT = 100  # characters of an integer read as a number; longer ones stay text
MAX_FILE_BYTES = 32 * 1024 * 1024
"""A 5000-job-definition file is about 1.5 MiB (benchmarks/genenv.py); anything past this limit
is not an environment file, and reading it whole would only exhaust memory."""

_SURROGATE = re.compile("[\ud800-\udfff]")


class SourceInt(int):
    """An integer read from a plain scalar, with the text it was written as.

    ``str()`` gives that text, so a field expecting text receives ``0755``, not ``493``;
    ``repr()``, arithmetic and pydantic's number fields see the plain number (pydantic turns
    the subclass into an exact ``int``)."""

    source: str

    def __new__(cls, value: int, source: str) -> SourceInt:
        number = super().__new__(cls, value)
        number.source = source
        return number

    def __str__(self) -> str:
        return self.source

    def __reduce__(self) -> tuple[type[SourceInt], tuple[int, str]]:
        """Copies and pickles keep the source text (``copy.deepcopy`` of loaded data)."""
        return (type(self), (int(self), self.source))


class SourceFloat(float):
    """A float read from a plain scalar, with the text it was written as (``3.10``, not 3.1)."""

    source: str

    def __new__(cls, value: float, source: str) -> SourceFloat:
        number = super().__new__(cls, value)
        number.source = source
        return number

    def __str__(self) -> str:
        return self.source

    def __reduce__(self) -> tuple[type[SourceFloat], tuple[float, str]]:
        return (type(self), (float(self), self.source))


@dataclass
class Document:
    """The raw data of one file and where each piece of it stands in the text."""

    file: str
    text: str
    data: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    """Every file the data came from, this one first, then the bases it extends
    (compiler/batchform/overlay.py); empty for a document read on its own."""


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
        if node.tag == _STR_TAG or node.tag == _TIMESTAMP_TAG:
            # What construct_object gives for a plain string, without its cost; a date is kept
            # as written (no field of the format is a date, and `2024-01-01` is a fine tag).
            return self._text(node)
        if node.tag == _INT_TAG and len(node.value) > MAX_NUMBER_TEXT:
            # Past Python's int-conversion limit and any number of the format: kept as text,
            # which a text field uses as written and a number field rejects, located.
            return node.value
        try:
            value = self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self._error(node, CODE_SYNTAX, f"cannot read this value: {problem}")
            return None
        if isinstance(value, bool) or not isinstance(node, yaml.ScalarNode):
            return value
        if isinstance(value, int) and node.tag == _INT_TAG:
            return SourceInt(value, node.value)
        if isinstance(value, float) and node.tag == _FLOAT_TAG:
            return SourceFloat(value, node.value)
        return value

    def _text(self, node: yaml.Node) -> str | None:
        """The text of a scalar, with JSON-style surrogate pairs (``"\\ud83d\\ude00"``, as
        ``json.dumps`` writes an emoji) joined into the one character they encode. A surrogate
        without its partner is no character at all (it cannot be written as UTF-8, so Terraform
        and AWS would choke on it): a located error."""
        text: str = node.value
        if getattr(node, "style", None) != '"' or not _SURROGATE.search(text):
            return text
        lone = _lone_surrogate(text)
        if lone is None:
            return text.encode("utf-16", "surrogatepass").decode("utf-16")
        self._error(
            node,
            CODE_LONE_SURROGATE,
            f"the escape \\u{lone:04x} is half of a surrogate pair without its other half",
            hint="write the character itself, or both halves of the pair "
            "(\\ud83d\\ude00 is one emoji)",
        )
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
            key = self._key(key_node, path, depth)
            if key is None:
                continue
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

    def _key(self, node: yaml.ScalarNode, path: Path, depth: int) -> str | None:
        """A mapping key is its own text: every key of the format is a name, so `1_000:`,
        `0755:` and `yes:` stay as written. ``None`` (reported) for a null key, which would
        otherwise become the text "None" or "null" without the user meaning either."""
        if node.tag == _NULL_TAG:
            self._error(
                node,
                CODE_NULL_KEY,
                "this key is null (`~`, `null`, `Null`, `NULL` or nothing before the colon)",
                hint='write the key you mean; quote it ("null") if you mean the word',
                path=path,
            )
            return None
        if depth >= MAX_DEPTH or self._nodes >= MAX_NODES or node.tag not in _KEY_TAGS:
            # build() reports the limit, or an unknown explicit tag such as `!!python/name:`.
            value = self.build(node, (*path, "<key>"), depth + 1)
            self.positions.pop((*path, "<key>"), None)
            if value is None:
                return None
        self._nodes += 1
        return self._text(node)

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


def _lone_surrogate(text: str) -> int | None:
    """The first surrogate in ``text`` that is not part of a high-low pair, if any."""
    i = 0
    while i < len(text):
        code = ord(text[i])
        if 0xD800 <= code <= 0xDBFF and i + 1 < len(text) and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            i += 2
            continue
        if 0xD800 <= code <= 0xDFFF:
            return code
        i += 1
    return None


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
    try:
        if _FAST_LOADER is not None and "\t" not in text:
            try:
                return list(yaml.compose_all(text, Loader=_FAST_LOADER))
            except (yaml.YAMLError, ValueError):  # ValueError: a lone surrogate cannot be UTF-8
                pass
        return list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except RecursionError:
        # Both composers recurse once per nesting level; the builder's own depth limit never
        # sees such a document, so find where it gets too deep without recursing.
        raise _too_deep(text) from None


class _TooDeepError(yaml.MarkedYAMLError):
    """Nesting past :data:`MAX_DEPTH` found by :func:`_too_deep`: a limit, not a syntax error."""


def _too_deep(text: str) -> yaml.MarkedYAMLError:
    """The error for a document nested past :data:`MAX_DEPTH`, at the first value that is.

    PyYAML's event parser is a state machine with an explicit stack, so walking its events
    costs no recursion however deep the text nests."""
    depth = 0
    mark: Any = None
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        return exc  # a syntax error before the limit: the one to report
    return _TooDeepError(
        problem=f"document too large: more than {MAX_DEPTH} levels deep", problem_mark=mark
    )


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, file: str) -> Diagnostic:
    """A YAML syntax error where the parser gave up, and, for a bracket or quote left open,
    also where it was opened (PyYAML's context mark): the parser often notices only lines
    later, or at the end of the file, and the opening is what the user has to fix."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    col = mark.column + 1 if mark else 1
    problem = exc.problem or "invalid YAML"
    context = ""
    hint = "check indentation and quoting around this line"
    if isinstance(exc, _TooDeepError):
        return Diagnostic(
            CODE_SYNTAX,
            Level.ERROR,
            problem,
            file=file,
            line=line,
            col=col,
            hint="an environment file needs only a few levels; is this the right file?",
            excerpt=excerpt(text, line, col),
        )
    if exc.context:
        context = f" ({exc.context}"
        opened = exc.context_mark
        if opened is not None and (opened.line, opened.column) != (line - 1, col - 1):
            where = f"line {opened.line + 1}, column {opened.column + 1}"
            context += f" that starts at {where}"
            hint = f"close the bracket or quote opened at {where}, or check what comes before"
        context += ")"
    return Diagnostic(
        code=CODE_SYNTAX,
        level=Level.ERROR,
        message=f"YAML syntax error: {problem}{context}",
        file=file,
        line=line,
        col=col,
        hint=hint,
        excerpt=excerpt(text, line, col),
    )


def load_text(text: str, file: str) -> Document:
    """Parse ``text`` (named ``file`` in messages). Raises :class:`BatchformError`."""
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as exc:
        raise BatchformError([_syntax_error(exc, text, file)]) from None
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


def _unreadable(name: str, message: str, hint: str | None = None) -> BatchformError:
    return BatchformError([Diagnostic(CODE_UNREADABLE, Level.ERROR, message, file=name, hint=hint)])


def _refuse_special(mode: int, name: str) -> None:
    """Only a regular file is an environment file: a FIFO would block the read forever, a
    device (``/dev/zero``) would never end, a directory cannot be read at all."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise _unreadable(
            name, "cannot read file: it is a directory", "pass the environment file itself"
        )
    kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    raise _unreadable(
        name, f"cannot read file: it is {kind}", "pass a regular file (save the input to a file)"
    )


def read_source(path: str | FsPath) -> str:
    """The text of one environment file, refusing what is not a regular, UTF-8 file of a sane
    size before reading it. Raises :class:`BatchformError` (``BF004``)."""
    name = str(path)
    if "\0" in name:  # os.stat would raise ValueError, not OSError; no file has such a name
        raise _unreadable(name, "cannot read file: its name contains a NUL character")
    try:
        _refuse_special(os.stat(path).st_mode, name)
        # O_NONBLOCK: should the path become a FIFO between stat and open, open does not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            _refuse_special(info.st_mode, name)
            if info.st_size > MAX_FILE_BYTES:
                raise _too_big(name, info.st_size)
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _unreadable(name, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(name, len(data))
    return _decode(data, name)


def _too_big(name: str, size: int) -> BatchformError:
    return _unreadable(
        name,
        f"cannot read file: it is {size:,} bytes; an environment file is at most "
        f"{MAX_FILE_BYTES // (1024 * 1024)} MiB",
        "split the environment, or check that this is the right file",
    )


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text, or an error at the line and column (in characters) of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        raise BatchformError(
            [
                Diagnostic(
                    CODE_UNREADABLE,
                    Level.ERROR,
                    f"the file is not UTF-8: byte 0x{data[exc.start]:02x} cannot start "
                    "or continue a character here",
                    file=name,
                    line=line,
                    col=col,
                    hint="save the file as UTF-8",
                    excerpt=excerpt(data.decode("utf-8", "replace"), line, col),
                )
            ]
        ) from None


def load_file(path: str | FsPath) -> Document:
    """Read and parse one environment file. Raises :class:`BatchformError`."""
    return load_text(read_source(path), str(path))
