"""What a change to an environment file does to AWS: the result types of ``batchform diff``.

Pure data: built by :mod:`batchform.diff.engine`, rendered by :mod:`batchform.report.diff`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Action = Literal["create", "update", "replace", "delete"]


class Risk(StrEnum):
    """Why a reviewer should look twice, most serious first."""

    FAILS = "apply fails"
    JOBS = "running jobs"
    CAPACITY = "capacity"
    NOTE = "note"


RISK_ORDER = {Risk.FAILS: 0, Risk.JOBS: 1, Risk.CAPACITY: 2, Risk.NOTE: 3}


@dataclass(frozen=True)
class AttributeChange:
    """One Terraform argument (a dotted path into the resource) that changes."""

    path: str
    old: str
    new: str
    forces_replacement: bool = False


@dataclass(frozen=True)
class Note:
    risk: Risk
    text: str


@dataclass
class ResourceChange:
    """What happens to one Terraform resource."""

    kind: str  # "compute environment"
    name: str  # the key in the environment file (or the Terraform label)
    address: str  # aws_batch_compute_environment.spot
    action: Action
    attributes: list[AttributeChange] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass
class EnvironmentDiff:
    """Every resource that changes, in apply-relevant order, and environment-wide notes."""

    old_name: str | None
    new_name: str
    changes: list[ResourceChange] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def change(self, address: str) -> ResourceChange | None:
        return next((c for c in self.changes if c.address == address), None)

    @property
    def all_notes(self) -> list[tuple[ResourceChange | None, Note]]:
        """Every note with the resource it belongs to, most serious first."""
        pairs: list[tuple[ResourceChange | None, Note]] = [(None, n) for n in self.notes]
        pairs += [(c, n) for c in self.changes for n in c.notes]
        return sorted(pairs, key=lambda p: RISK_ORDER[p[1].risk])
