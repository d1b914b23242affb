"""The drift report: what the verifier found, per resource, and its four renderings.

One record type (:class:`ResourceCheck`) holds everything known about one resource of the file
(or one unmanaged extra): the attributes compared, each difference with expected and actual
values, and what could not be checked. The renderings (text, JSON, JUnit, Markdown) and the exit
code are derived from the same records, so they can never disagree.

Exit codes follow ``terraform plan -detailed-exitcode``: 0 in sync, 2 drift or unhealthy, 1 when
the check is incomplete (an API call was denied or an endpoint could not be reached). An
incomplete check is never 0, even when everything that *could* be checked was in sync.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

REPORT_VERSION = 1

EXIT_IN_SYNC = 0
EXIT_INCOMPLETE = 1
EXIT_DRIFT = 2


class Kind(StrEnum):
    """Why a difference matters to the user."""

    MISSING = "missing"  # the resource (or a part such as a rule) the file declares is absent
    CHANGED = "changed"  # the attribute exists with another value
    UNHEALTHY = "unhealthy"  # the attribute is as AWS reports it, but the resource cannot work
    UNMANAGED = "unmanaged"  # tagged with the environment but not declared in the file


class Status(StrEnum):
    IN_SYNC = "in-sync"
    DRIFT = "drift"
    MISSING = "missing"
    UNHEALTHY = "unhealthy"
    UNMANAGED = "unmanaged"
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class Difference:
    """One attribute that differs: ``attribute`` is a path inside the resource
    (``computeEnvironmentOrder[1]``, ``containerProperties.image``); empty for the resource as a
    whole."""

    attribute: str
    expected: Any
    actual: Any
    kind: Kind = Kind.CHANGED
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attribute": self.attribute,
            "kind": str(self.kind),
            "expected": self.expected,
            "actual": self.actual,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class ResourceCheck:
    """The verdict on one resource. ``kind`` is the section of the file (``job_queues``),
    ``key`` the file's key, ``name`` what AWS calls it (name, id or ARN) when it was found."""

    kind: str
    key: str
    name: str | None = None
    checked: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.kind}.{self.key}"

    @property
    def status(self) -> Status:
        kinds = {d.kind for d in self.differences}
        if self.unchecked:
            return Status.UNCHECKED
        if Kind.UNMANAGED in kinds:
            return Status.UNMANAGED
        if any(d.kind == Kind.MISSING and not d.attribute for d in self.differences):
            return Status.MISSING
        if kinds - {Kind.UNHEALTHY}:
            return Status.DRIFT
        if kinds:
            return Status.UNHEALTHY
        return Status.IN_SYNC

    def compare(
        self,
        attribute: str,
        expected: Any,
        actual: Any,
        kind: Kind = Kind.CHANGED,
        reason: str | None = None,
    ) -> bool:
        """Record that ``attribute`` was compared; add a difference when the values differ."""
        self.checked.append(attribute)
        if expected == actual:
            return True
        self.differences.append(Difference(attribute, expected, actual, kind, reason))
        return False

    def differ(
        self,
        attribute: str,
        expected: Any,
        actual: Any,
        kind: Kind = Kind.CHANGED,
        reason: str | None = None,
    ) -> None:
        self.differences.append(Difference(attribute, expected, actual, kind, reason))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "status": str(self.status),
            "checked": list(self.checked),
            "differences": [d.to_dict() for d in self.differences],
            "unchecked": list(self.unchecked),
        }


@dataclass
class Report:
    """Everything one ``verify`` run found. ``incomplete`` says exactly what could not be
    checked and why (the API call and the error AWS gave)."""

    environment: str
    region: str
    resources: list[ResourceCheck] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.incomplete or any(r.unchecked for r in self.resources):
            return EXIT_INCOMPLETE
        if any(r.differences for r in self.resources):
            return EXIT_DRIFT
        return EXIT_IN_SYNC

    @property
    def verdict(self) -> str:
        return {
            EXIT_IN_SYNC: "in sync",
            EXIT_DRIFT: "drift found",
            EXIT_INCOMPLETE: "INCOMPLETE",
        }[self.exit_code]

    def sorted_resources(self) -> list[ResourceCheck]:
        return sorted(self.resources, key=lambda r: (r.kind, r.key))

    def find(self, kind: str, key: str) -> ResourceCheck | None:
        return next((r for r in self.resources if r.kind == kind and r.key == key), None)

    def counts(self) -> dict[str, int]:
        out = {str(s): 0 for s in Status}
        for r in self.resources:
            out[str(r.status)] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "environment": self.environment,
            "region": self.region,
            "result": self.verdict,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "incomplete": list(self.incomplete),
            "resources": [r.to_dict() for r in self.sorted_resources()],
        }


# --- renderings ------------------------------------------------------------------------------


def _value(value: Any) -> str:
    """Compact, unambiguous text for a value in a table cell."""
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _table(rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _summary(report: Report) -> str:
    counts = {k: v for k, v in report.counts().items() if v}
    detail = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no resources"
    return f"{report.verdict}: {len(report.resources)} resource(s) checked ({detail})"


def format_text(report: Report, verbose: bool = False) -> str:
    """Grouped by resource; only resources with something to say unless ``verbose``."""
    lines = [f"batchform verify: environment {report.environment} in {report.region}"]
    for r in report.sorted_resources():
        if r.status == Status.IN_SYNC and not verbose:
            continue
        name = f" ({r.name})" if r.name else ""
        lines.append("")
        lines.append(f"{r.title}{name}: {r.status}")
        if r.differences:
            rows = [["attribute", "expected", "actual", "kind"]]
            for d in r.differences:
                note = str(d.kind) + (f": {d.reason}" if d.reason else "")
                rows.append(
                    [d.attribute or "(resource)", _value(d.expected), _value(d.actual), note]
                )
            lines += _table(rows)
        lines += [f"    not checked: {u}" for u in r.unchecked]
        if verbose:
            same = [a for a in r.checked if a not in {d.attribute for d in r.differences}]
            if same:
                lines.append("    in sync: " + ", ".join(same))
    if report.incomplete:
        lines.append("")
        lines.append("The check is INCOMPLETE; these could not be checked:")
        lines += [f"  - {item}" for item in report.incomplete]
    lines.append("")
    lines.append(_summary(report))
    return "\n".join(lines)


def format_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str)


def format_junit(report: Report) -> str:
    """One ``testcase`` per resource: drift is a ``failure``, an unchecked resource an
    ``error``; anything the run as a whole could not check is a ``system-err`` and an extra
    errored testcase, so CI never shows an incomplete check as green."""
    resources = report.sorted_resources()
    failures = sum(1 for r in resources if r.differences and not r.unchecked)
    errors = sum(1 for r in resources if r.unchecked) + (1 if report.incomplete else 0)
    suite = ElementTree.Element(
        "testsuite",
        name=f"batchform verify {report.environment}",
        tests=str(len(resources) + (1 if report.incomplete else 0)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
    )
    for r in resources:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"{report.environment}.{r.kind}", name=r.key
        )
        if r.unchecked:
            err = ElementTree.SubElement(case, "error", message="not checked")
            err.text = "\n".join(r.unchecked)
        elif r.differences:
            fail = ElementTree.SubElement(case, "failure", message=str(r.status))
            fail.text = "\n".join(
                f"{d.attribute or '(resource)'}: expected {_value(d.expected)}, "
                f"actual {_value(d.actual)} ({d.kind}{': ' + d.reason if d.reason else ''})"
                for d in r.differences
            )
    if report.incomplete:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"{report.environment}.verify", name="completeness"
        )
        err = ElementTree.SubElement(case, "error", message="the check is incomplete")
        err.text = "\n".join(report.incomplete)
    ElementTree.indent(suite)
    body = ElementTree.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def format_markdown(report: Report, verbose: bool = False) -> str:
    """A pull-request comment: verdict first, then one table of every difference."""
    lines = [f"## batchform verify: `{report.environment}` ({report.region})", ""]
    lines.append(f"**{_summary(report)}**")
    rows = [
        (r, d)
        for r in report.sorted_resources()
        for d in r.differences
        if verbose or r.status != Status.IN_SYNC
    ]
    if rows:
        lines += [
            "",
            "| resource | attribute | expected | actual | kind |",
            "|---|---|---|---|---|",
        ]
        for r, d in rows:
            kind = str(d.kind) + (f": {d.reason}" if d.reason else "")
            cells = [
                f"`{r.title}`",
                f"`{d.attribute}`" if d.attribute else "(resource)",
                _value(d.expected),
                _value(d.actual),
                kind,
            ]
            lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    unchecked = [(r.title, u) for r in report.sorted_resources() for u in r.unchecked]
    if unchecked or report.incomplete:
        lines += ["", "### Not checked", ""]
        lines += [f"- `{title}`: {_md(u)}" for title, u in unchecked]
        lines += [f"- {_md(item)}" for item in report.incomplete]
    if verbose:
        lines += ["", "### In sync", ""]
        lines += [f"- `{r.title}`" for r in report.sorted_resources() if r.status == Status.IN_SYNC]
    return "\n".join(lines) + "\n"


FORMATS = ("text", "json", "junit", "markdown")


def render(report: Report, fmt: str, verbose: bool = False) -> str:
    if fmt == "json":
        return format_json(report)
    if fmt == "junit":
        return format_junit(report)
    if fmt == "markdown":
        return format_markdown(report, verbose)
    return format_text(report, verbose)
