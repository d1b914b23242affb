"""Documentation of every code, as data: ``compiler/batchform/checks/docs/bf<first>-<last>.yaml``.

A code's summary and level live with its code (``@rule`` or compiler/batchform/codes.py); what a
user
who met the code wants next, why it exists, a file that triggers it, the fix and the AWS or
provider source, is written once in these YAML files (the format is in docs/architecture.md,
"Documenting a code"). ``batchform rules BF483`` prints it, ``docs/rules/BF483.md`` is generated
from it (compiler/batchform/rulepages.py), and tests/test_rule_docs.py proves that each bad example
reports its code and each good example reports no error.

Examples are *overlays* on ``base.yaml`` (a clean environment), merged with
:func:`batchform.merge.merge`; codes no overlay can reach (loader codes) give a whole file
(``bad_file``/``good_file``), and codes no file can trigger give ``trigger`` instead. The files
are package data, read through :mod:`importlib.resources` relative to this package, and read
with batchform's own loader, so a code written twice in one file is an error and ``on:`` in an
example stays the text ``on`` as in a user's file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from batchform.codes import CODE_PATTERN
from batchform.diagnostics import BatchformError, Position, format_path, locate
from batchform.loader import Document, SourceFloat, SourceInt, load_text
from batchform.merge import merge

DOCS_DIRECTORY = ("checks", "docs")
"""Where the documentation files are, relative to this package."""
BASE_FILE = "base.yaml"
DOC_FILE = re.compile(r"bf(\d{3})-(\d{3})\.yaml")
SOURCE_FILE = "compiler/batchform/checks/docs"
"""The folder as a contributor finds it in the repository (for messages and page footers)."""

Kind = Literal["bad", "good"]


class RuleDoc(BaseModel):
    """One code's page: the fields of a documentation entry, validated when loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    explanation: str
    fix: str
    source: tuple[str, ...]
    bad: str | None = None
    good: str | None = None
    bad_file: str | None = None
    good_file: str | None = None
    trigger: str | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source_list(cls, value: Any) -> Any:
        """YAML gives a list; the frozen model keeps a tuple."""
        if isinstance(value, str):
            raise ValueError(f"source is a list: write `source: [{value}]`")
        return tuple(value) if isinstance(value, list) else value

    @field_validator("explanation", "fix", "trigger")
    @classmethod
    def _prose(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("source")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(
                "list at least one source (an AWS docs URL, a provider source file, "
                "or 'batchform' for batchform's own conventions)"
            )
        if any(not s.strip() for s in value):
            raise ValueError("a source is empty")
        return value

    @field_validator("bad", "good")
    @classmethod
    def _overlay(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_overlay(value)
        return value

    @model_validator(mode="after")
    def _examples(self) -> RuleDoc:
        """A pair of examples (each an overlay or a whole file), or a trigger: never both,
        never one example alone (the test needs both sides)."""
        for kind in ("bad", "good"):
            if getattr(self, kind) is not None and getattr(self, f"{kind}_file") is not None:
                raise ValueError(f"give {kind} or {kind}_file, not both")
        has_bad, has_good = self.example("bad") is not None, self.example("good") is not None
        if has_bad != has_good:
            raise ValueError("give both a bad and a good example (the good one fixes the bad)")
        if has_bad and self.trigger is not None:
            raise ValueError("trigger is for codes no file can trigger; this one has examples")
        if not has_bad and self.trigger is None:
            raise ValueError(
                "give a bad and a good example, or a trigger when no file can trigger this code"
            )
        return self

    def example(self, kind: Kind) -> str | None:
        """The ``bad`` or ``good`` example as written (an overlay or a whole file)."""
        overlay: str | None = getattr(self, kind)
        whole: str | None = getattr(self, f"{kind}_file")
        return overlay if overlay is not None else whole

    def is_overlay(self, kind: Kind) -> bool:
        return getattr(self, kind) is not None

    def example_file(self, kind: Kind) -> str | None:
        """The whole environment file of the ``bad`` or ``good`` example, as a user would
        write it: the overlay laid over base.yaml, or the whole file as written."""
        overlay: str | None = getattr(self, kind)
        if overlay is None:
            whole: str | None = getattr(self, f"{kind}_file")
            return whole
        return dump_yaml(merge(base_environment(), _parse_overlay(overlay)))


def _parse_overlay(text: str) -> dict[str, Any]:
    try:
        data = load_text(text, "<example>").data
    except BatchformError as exc:
        raise ValueError(f"the overlay cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("an overlay is a mapping of top-level keys")
    return data


class _Dumper(yaml.SafeDumper):
    """Writes numbers read by batchform's loader as they were written (``3.10``, ``0755``), so
    the merged example reads back exactly as its author wrote it."""


def _represent_source(dumper: yaml.SafeDumper, value: SourceInt | SourceFloat) -> yaml.Node:
    tag = "tag:yaml.org,2002:int" if isinstance(value, SourceInt) else "tag:yaml.org,2002:float"
    return dumper.represent_scalar(tag, value.source)


_Dumper.add_representer(SourceInt, _represent_source)
_Dumper.add_representer(SourceFloat, _represent_source)


def dump_yaml(data: Mapping[str, Any]) -> str:
    """An environment mapping as YAML text, in its own key order (``on`` keys are quoted)."""
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _docs_directory() -> Traversable:
    root = resources.files(__package__ or "compiler")
    for part in DOCS_DIRECTORY:
        root = root.joinpath(part)
    return root


@cache
def base_environment() -> dict[str, Any]:
    """The clean environment every overlay is laid over (base.yaml)."""
    text = _docs_directory().joinpath(BASE_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = load_text(text, f"{SOURCE_FILE}/{BASE_FILE}").data
    return data


@dataclass(frozen=True)
class DocProblem:
    """Something wrong in a documentation file, located like a diagnostic."""

    file: str
    position: Position | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.position.line}:{self.position.col}" if self.position else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class LoadedDocs:
    docs: dict[str, RuleDoc]
    files: dict[str, str]  # code -> documentation file name
    problems: list[DocProblem]


class RuleDocError(Exception):
    """The packaged documentation files are broken (tests/test_rule_docs.py keeps them sound)."""

    def __init__(self, problems: Iterable[DocProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def doc_files(directory: Traversable | None = None) -> list[Traversable]:
    """The documentation files (``bf*.yaml``), in name order."""
    folder = directory if directory is not None else _docs_directory()
    return sorted(
        (f for f in folder.iterdir() if f.name.startswith("bf") and f.name.endswith(".yaml")),
        key=lambda f: f.name,
    )


def load_docs(directory: Traversable | None = None) -> LoadedDocs:
    """Read and validate every documentation file; problems are collected, not raised, so a
    test can show all of them at once."""
    docs: dict[str, RuleDoc] = {}
    files: dict[str, str] = {}
    problems: list[DocProblem] = []
    for f in doc_files(directory):
        name = f"{SOURCE_FILE}/{f.name}"
        try:
            doc = load_text(f.read_text(encoding="utf-8"), name)
        except BatchformError as exc:
            problems.extend(
                DocProblem(name, Position(d.line, d.col or 1) if d.line else None, d.message)
                for d in exc.diagnostics
            )
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(DocProblem(name, None, f"cannot read: {exc}"))
            continue
        for code, entry in _file_entries(f.name, doc, problems):
            if code in docs:
                problems.append(
                    DocProblem(
                        name,
                        doc.key_positions.get((code,)),
                        f"{code} is documented in {files[code]} too",
                    )
                )
                continue
            docs[code] = entry
            files[code] = f.name
    return LoadedDocs(docs, files, problems)


def _file_entries(
    file_name: str, doc: Document, problems: list[DocProblem]
) -> Iterable[tuple[str, RuleDoc]]:
    name = doc.file
    match = DOC_FILE.fullmatch(file_name)
    if match is None:
        problems.append(
            DocProblem(
                name,
                None,
                "documentation files are named bf<first>-<last>"
                ".yaml after the codes they hold, e.g. bf200-319.yaml",
            )
        )
        return
    first, last = f"BF{match.group(1)}", f"BF{match.group(2)}"
    previous = ""
    for code, raw in doc.data.items():
        where = doc.key_positions.get((code,))
        if not CODE_PATTERN.fullmatch(code):
            problems.append(DocProblem(name, where, f"{code!r} is not a code like BF483"))
            continue
        if not first <= code <= last:
            problems.append(
                DocProblem(name, where, f"{code} is outside this file's range {first}-{last}")
            )
        if code < previous:
            problems.append(
                DocProblem(
                    name, where, f"{code} comes after {previous}: keep the entries in code order"
                )
            )
        previous = max(previous, code)
        try:
            yield code, RuleDoc.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_entry_problems(doc, code, exc))


FIELDS = tuple(RuleDoc.model_fields)


def _entry_problems(doc: Document, code: str, exc: ValidationError) -> Iterable[DocProblem]:
    """One located problem per pydantic error; an unknown field is placed at its key."""
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        field = format_path(loc)
        path = (code, *loc)
        if error["type"] == "extra_forbidden":
            position = doc.key_positions.get(path)
            message = f"unknown field {field!r} (the fields are {', '.join(FIELDS)})"
        else:
            position = locate(path, doc.positions)
            message = error["msg"].removeprefix("Value error, ")
        where = f"{code}.{field}" if field else code
        yield DocProblem(doc.file, position, f"{where}: {message}")


@cache
def _packaged() -> LoadedDocs:
    return load_docs()


def rule_docs() -> dict[str, RuleDoc]:
    """Every code's documentation entry, by code. The files ship with batchform and a test
    keeps them valid, so a problem here is a broken installation: it raises."""
    loaded = _packaged()
    if loaded.problems:
        raise RuleDocError(loaded.problems)
    return loaded.docs


def doc_file_of(code: str) -> str | None:
    """The documentation file that holds ``code``'s entry (for page footers)."""
    return _packaged().files.get(code)
