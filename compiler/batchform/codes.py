"""Every BF code batchform can report, registered in one place with its level and summary.

A code is either a *rule* (a check over the model, registered by ``@rule`` in
``compiler/batchform/checks/``, which calls :func:`register`) or a code of a stage around the
checks:
loading the file, its shape, rendering, writing the output, the build stage's cross-file check,
and a crashed check. Those are defined in the table below; the stages import their constants
from here. ``batchform rules`` lists the registry, the file's ``ignore`` list is checked
against it (BF498/BF499), and each code's page (``docs/rules/BF483.md``) is generated from it
and from the documentation entries in ``compiler/batchform/checks/docs/``
(:mod:`batchform.ruledocs`).

Codes are stable: never renumber or reuse one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from batchform.diagnostics import Level

if TYPE_CHECKING:
    from batchform.ruledocs import RuleDoc

CODE_PATTERN = re.compile(r"BF\d{3}")


class Stage(StrEnum):
    """Where a code is reported; the order is the pipeline's (docs/architecture.md)."""

    LOAD = "load"
    SCHEMA = "schema"
    CHECKS = "checks"
    BUILD = "build"
    RENDER = "render"
    EMIT = "emit"


@dataclass(frozen=True)
class Code:
    code: str
    level: Level
    summary: str
    stage: Stage

    @property
    def is_rule(self) -> bool:
        """A check of the model (``@rule``), as opposed to a code of another stage."""
        return self.stage is Stage.CHECKS and self.code != CODE_CHECK_CRASHED

    @property
    def page(self) -> str:
        """The code's documentation page, relative to the repository root."""
        return f"docs/rules/{self.code}.md"

    @property
    def doc(self) -> RuleDoc | None:
        """The code's documentation entry (``compiler/batchform/checks/docs/``), if one is
        written."""
        from batchform.ruledocs import rule_docs

        return rule_docs().get(self.code)


_REGISTRY: dict[str, Code] = {}


def register(code: str, level: Level, summary: str, stage: Stage) -> str:
    """Add ``code`` to the registry and return it; a code registered twice is a programming
    error (two rules would share one page and one ``ignore`` entry)."""
    if not CODE_PATTERN.fullmatch(code):
        raise RuntimeError(f"{code!r} is not a code of the form BF123")
    if code in _REGISTRY:
        raise RuntimeError(f"code {code} registered twice")
    _REGISTRY[code] = Code(code, level, summary, stage)
    return code


# --- codes reported outside the checks ----------------------------------------------------------

E = Level.ERROR

CODE_CHECK_CRASHED = register(
    "BF000", E, "a check crashed (please report it); the other checks still ran", Stage.CHECKS
)

CODE_SYNTAX = register(
    "BF001", E, "YAML syntax error, or a document too deep or too large", Stage.LOAD
)
CODE_DUPLICATE_KEY = register("BF002", E, "a key appears twice in one mapping", Stage.LOAD)
CODE_NOT_A_MAPPING = register("BF003", E, "the file is not exactly one YAML mapping", Stage.LOAD)
CODE_UNREADABLE = register(
    "BF004",
    E,
    "the file cannot be read (missing, a directory, FIFO or device, over 32 MiB, not UTF-8)",
    Stage.LOAD,
)
CODE_NULL_KEY = register("BF005", E, "a mapping key is null (`~`, `null` or empty)", Stage.LOAD)
CODE_LONE_SURROGATE = register(
    "BF006", E, "a `\\u` escape is half of a surrogate pair without its other half", Stage.LOAD
)

CODE_BAD_EXTENDS = register(
    "BF007",
    E,
    "`extends` is not a relative path to a readable environment file that is a mapping",
    Stage.LOAD,
)
CODE_EXTENDS_CYCLE = register(
    "BF008", E, "`extends` files form a cycle, or a chain longer than 8 files", Stage.LOAD
)

CODE_RENDER = register(
    "BF009", E, "internal error while rendering Terraform (please report it)", Stage.RENDER
)

CODE_OUTPUT_DIR = register(
    "BF010",
    E,
    "the output directory cannot be used (not a directory, a symbolic link, unwritable, or an "
    "environment name that is not a directory name)",
    Stage.EMIT,
)
CODE_FOREIGN_FILE = register(
    "BF011",
    E,
    "`compile` would overwrite a file batchform did not write; nothing was changed",
    Stage.EMIT,
)
CODE_MANIFEST = register(
    "BF012",
    E,
    "the output directory's `.batchform-manifest.json` is unreadable or malformed",
    Stage.EMIT,
)
CODE_LOCKED = register(
    "BF013",
    E,
    "another `compile` of the same environment held the directory's lock for 60 s",
    Stage.EMIT,
)
CODE_WRITE_FAILED = register(
    "BF014", E, "writing failed half-way; every file was restored to its previous state", Stage.EMIT
)
CODE_UNREADABLE_OUTPUT = register(
    "BF015", E, "an output file cannot be read (permissions)", Stage.EMIT
)
CODE_IO = register(
    "BF016",
    E,
    "a file or standard output the command writes cannot be written (`schema -o`, a full "
    "disk, a closed pipe)",
    Stage.EMIT,
)

CODE_UNKNOWN_KEY = register("BF101", E, 'unknown key (with a "did you mean")', Stage.SCHEMA)
CODE_MISSING_KEY = register("BF102", E, "a required key is missing", Stage.SCHEMA)
CODE_INVALID_VALUE = register("BF103", E, "a value has the wrong type or form", Stage.SCHEMA)

CODE_NAME_COLLISION = register(
    "BF493",
    E,
    "files checked or compiled together would create the same AWS name (or share an "
    "environment name)",
    Stage.BUILD,
)

# batchform import (compiler/batchform/importer/): the imports file compile copies
CODE_IMPORTS_FILE = register(
    "BF580",
    E,
    "the imports file beside an environment file (`<file>.imports.tf`, written by `batchform "
    "import`) cannot be used: a symbolic link, not UTF-8, or more than import blocks",
    Stage.LOAD,  # read with the environment file (build.analyze), so validate reports it
)

del E


# --- reading the registry -------------------------------------------------------------------------


def all_codes() -> list[Code]:
    """Every code, rules included, in code order.

    Rule modules register their codes when imported, so this imports them first
    (:func:`batchform.checks.all_rules`); the import is local because the checks import this
    module."""
    from batchform.checks import all_rules

    all_rules()
    return [_REGISTRY[code] for code in sorted(_REGISTRY)]


def known_codes() -> dict[str, Level]:
    """Every code batchform can report, with its level (what an ``ignore`` list may name)."""
    return {c.code: c.level for c in all_codes()}


def lookup(text: str) -> Code | None:
    """The code a user means by ``text``: ``BF483``, ``bf483`` or ``483``."""
    wanted = normalize(text)
    return next((c for c in all_codes() if c.code == wanted), None)


def normalize(text: str) -> str:
    """``bf483``, ``483`` and ``6`` as ``BF483`` and ``BF006``; anything else unchanged but
    stripped."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 3:
        return f"BF{int(text):03d}"
    return text.upper() if CODE_PATTERN.fullmatch(text.upper()) else text


def close_codes(text: str, n: int = 3) -> list[str]:
    """Codes a mistyped ``text`` probably meant (digits swapped or one off)."""
    codes = [c.code for c in all_codes()]
    return difflib.get_close_matches(normalize(text), codes, n=n, cutoff=0.6)
