"""The drift report: what the verifier found, per resource.

One record type (:class:`ResourceCheck`) holds everything known about one resource of the file
(or one unmanaged extra): the attributes compared, each difference with expected and actual
values, and what could not be checked. The renderings (:mod:`batchform.report.verify`: text,
JSON, JUnit, Markdown, SARIF) and the exit code are derived from the same records, so they can
never disagree.

Exit codes follow ``terraform plan -detailed-exitcode``: 0 in sync, 2 drift or unhealthy, 1 when
the check is incomplete (an API call was denied or an endpoint could not be reached). An
incomplete check is never 0, even when everything that *could* be checked was in sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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
