"""SARIF 2.1.0, the static-analysis result format GitHub code scanning, checkov, tflint and
cfn-lint speak: one log with one run, the rules that produced results, and the results.

Built to the OASIS standard (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html;
its schema is committed as ``tests/data/sarif-schema-2.1.0.json`` and every output is validated
against it in ``tests/test_report.py``) and to what GitHub code scanning reads
(https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning):
every result has a ``ruleId``, a message and a physical location with a non-empty relative
``uri`` and a ``region.startLine``; the rule's ``shortDescription`` and ``helpUri`` are what
the alert shows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from batchform import __version__
from batchform.diagnostics import Level

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/batchform/batchform"
# Each rule's page (docs/rules/BF483.md), as the repository's main branch shows it.
RULE_HELP_BASE = f"{INFORMATION_URI}/blob/main/docs/rules/"
SRCROOT = "%SRCROOT%"

LEVELS = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "note"}


@dataclass(frozen=True)
class Rule:
    """A ``reportingDescriptor``: what a ``ruleId`` means."""

    id: str
    summary: str
    level: Level
    help_uri: str

    @property
    def name(self) -> str:
        """SARIF wants a readable identifier (``VpcCidrOverlaps``): the summary's words."""
        words = re.findall(r"[A-Za-z0-9]+", self.summary)
        return "".join(w[:1].upper() + w[1:] for w in words) or self.id


@dataclass(frozen=True)
class LogicalLocation:
    """A named thing the result is about that has no line of its own (an AWS resource)."""

    name: str
    fully_qualified_name: str
    kind: str = "resource"


@dataclass(frozen=True)
class Result:
    rule_id: str
    level: Level
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    logical: Sequence[LogicalLocation] = ()


@dataclass(frozen=True)
class Run:
    """One command's results. ``failures`` are what kept the tool from finishing its job
    (``toolExecutionNotifications``; ``executionSuccessful`` is false when there are any)."""

    rules: Sequence[Rule]
    results: Sequence[Result]
    failures: Sequence[str] = field(default_factory=tuple)


def rule_help_uri(code: str) -> str:
    return f"{RULE_HELP_BASE}{code}.md"


def artifact_uri(file: str) -> str:
    """``file`` as a URI reference relative to the working directory (the repository root in
    CI, where GitHub resolves it), percent-encoded; an absolute ``file://`` URI when the file
    lies outside the working directory."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            return path.resolve().as_uri()
    return quote(os.path.normpath(path.as_posix()), safe="/")


def _location(result: Result, uris: dict[str, str]) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if result.file is not None:
        if result.file not in uris:  # once per file: a log holds thousands of results
            uris[result.file] = artifact_uri(result.file)
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": uris[result.file], "uriBaseId": SRCROOT}
        }
        # GitHub code scanning rejects a result without region.startLine; a finding about
        # the file as a whole (unreadable, empty) is shown on its first line.
        line, col = (result.line, result.col or 1) if result.line is not None else (1, 1)
        physical["region"] = {"startLine": line, "startColumn": col}
        location["physicalLocation"] = physical
    if result.logical:
        location["logicalLocations"] = [
            {"name": lg.name, "fullyQualifiedName": lg.fully_qualified_name, "kind": lg.kind}
            for lg in result.logical
        ]
    return location


def _result(result: Result, index: dict[str, int], uris: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": result.rule_id,
        "ruleIndex": index[result.rule_id],
        "level": LEVELS[result.level],
        "message": {"text": result.message},
    }
    location = _location(result, uris)
    if location:
        out["locations"] = [location]
    return out


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": LEVELS[rule.level]},
    }


def render(run: Run) -> str:
    """The SARIF log as indented JSON text ending in a newline."""
    rules = sorted({r.id: r for r in run.rules}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    uris: dict[str, str] = {}
    invocation: dict[str, Any] = {"executionSuccessful": not run.failures}
    if run.failures:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": text}} for text in run.failures
        ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "batchform",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().resolve().as_uri() + "/"}},
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": [_result(r, index, uris) for r in run.results],
            }
        ],
    }
    # Compact: a log is for machines, and the indenting encoder is pure Python (ten times
    # slower on a 10,000-result log).
    return json.dumps(log, ensure_ascii=False) + "\n"
