"""What an import produces: the environment document, what it could not express, and the
resources the ``import`` blocks adopt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DocPath = tuple[str | int, ...]
"""A place in the environment document: ``("job_definitions", "align", "retry")``."""


@dataclass(frozen=True)
class LeftOut:
    """A deployed value the file cannot hold as it is: the first apply would change it.

    ``path`` is where the comment goes in the file (the resource, or the key nearest to the
    value); ``resource`` names the resource by its kind and its key in the file (whose
    Terraform label follows from it), ``what`` the attribute and its live value, ``why`` what
    batchform does instead.
    """

    path: DocPath
    resource: str
    what: str
    why: str

    def line(self) -> str:
        return f"{self.resource}: {self.what}: {self.why}"


@dataclass(frozen=True)
class Adopted:
    """One deployed resource an ``import`` block hands to the compiled module.

    ``section`` and ``key`` name it in the file; ``tf_type`` and ``import_id`` are what
    Terraform's ``import`` block needs (the address's label comes from the plan)."""

    section: str
    key: str
    tf_type: str
    import_id: str
    aws_name: str


@dataclass
class Adoption:
    """The environment document being built, and what it cannot hold."""

    document: dict[str, Any]
    left_out: list[LeftOut] = field(default_factory=list)
    adopted: list[Adopted] = field(default_factory=list)
    creates: list[str] = field(default_factory=list)
    """Addresses of resources the compiled module has and no import block adopts: the first
    apply creates them (a log group per job definition, a role batchform generates)."""

    def leave_out(self, path: DocPath, resource: str, what: str, why: str) -> None:
        entry = LeftOut(path, resource, what, why)
        if entry not in self.left_out:
            self.left_out.append(entry)

    @property
    def exact(self) -> bool:
        return not self.left_out and not self.creates
