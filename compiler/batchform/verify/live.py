"""What is deployed, gathered once, and the bridge from Terraform references to live values.

The expected side of every comparison is the compiler's own plan context (``batchform.plan.*``),
so the verifier compares with exactly what was written to Terraform. Those contexts point at
other resources through :class:`~batchform.hcl.Expr` references (``aws_iam_role.job_align.arn``);
:class:`Live` resolves them to the values of the resources found in AWS (by their batchform
tags or their names), so ``expected`` holds real ARNs and ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchform import naming
from batchform.hcl import Expr
from batchform.verify.fetch import RoleInfo


@dataclass(frozen=True)
class Unresolved:
    """A reference to a resource that was not found (its own check reports it missing)."""

    address: str

    def __str__(self) -> str:
        return f"<{self.address}: not deployed>"


@dataclass
class Live:
    """Deployed resources by topic. A topic is ``None`` when it could not be read (the reader
    recorded why); a name mapped to ``None`` was looked up and does not exist."""

    compute_environments: list[dict[str, Any]] | None = None
    job_queues: list[dict[str, Any]] | None = None
    job_definitions: list[dict[str, Any]] | None = None
    scheduling_policies: list[dict[str, Any]] | None = None
    security_groups: list[dict[str, Any]] | None = None
    launch_templates: list[dict[str, Any]] | None = None
    launch_template_data: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    vpcs: list[dict[str, Any]] | None = None
    subnets: dict[str, dict[str, Any]] | None = None
    route_tables: list[dict[str, Any]] | None = None
    nat_gateways: list[dict[str, Any]] | None = None
    internet_gateways: list[dict[str, Any]] | None = None
    vpc_endpoints: list[dict[str, Any]] | None = None
    images: dict[str, dict[str, Any]] | None = None
    ssm_parameters: dict[str, str | None] = field(default_factory=dict)
    roles: dict[str, RoleInfo | None] = field(default_factory=dict)
    instance_profiles: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    log_groups: dict[str, dict[str, Any]] | None = None
    schedules: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    event_rules: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    mount_targets: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)
    addresses: dict[str, dict[str, Any]] = field(default_factory=dict)
    _indexes: dict[str, tuple[list[dict[str, Any]], int, dict[Any, list[dict[str, Any]]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def revisions(self, name: str) -> list[dict[str, Any]]:
        """The live revisions of job definition ``name``, in the order they were listed."""
        return self._index(
            "job_definitions", self.job_definitions, lambda jd: jd.get("jobDefinitionName")
        ).get(name, [])

    def tagged_compute_environments(self, env_name: str, key: str | None) -> list[dict[str, Any]]:
        """The compute environments whose batchform tags name environment ``env_name`` and
        key ``key`` (``None``: without a key tag), in the order they were listed."""

        def tags(ce: dict[str, Any]) -> tuple[str | None, str | None]:
            found = tags_of(ce)
            return found.get(naming.TAG_ENVIRONMENT), found.get(naming.TAG_KEY)

        return self._index("compute_environments", self.compute_environments, tags).get(
            (env_name, key), []
        )

    def _index(
        self,
        topic: str,
        items: list[dict[str, Any]] | None,
        key_of: Callable[[dict[str, Any]], Any],
    ) -> dict[Any, list[dict[str, Any]]]:
        """``items`` grouped by ``key_of``, built once per listing: looking each of 1000 job
        definitions up in the whole list made binding and comparing them quadratic (most of
        verify's CPU time at that size). Rebuilt when the topic holds another list."""
        source = items or []
        cached = self._indexes.get(topic)
        if cached is None or cached[0] is not source or cached[1] != len(source):
            index: dict[Any, list[dict[str, Any]]] = {}
            for item in source:
                index.setdefault(key_of(item), []).append(item)
            cached = (source, len(source), index)
            self._indexes[topic] = cached
        return cached[2]

    def bind(self, address: str, **attributes: Any) -> None:
        """Record the live attributes of the resource Terraform calls ``address``."""
        self.addresses.setdefault(address, {}).update(attributes)

    def resolve(self, value: Any) -> Any:
        """``value`` with every Terraform reference replaced by the live value (recursively)."""
        if isinstance(value, Expr):
            address, _, attribute = value.rpartition(".")
            found = self.addresses.get(address, {}).get(attribute)
            return found if found is not None else Unresolved(str(value))
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """Tags as a dict, from Batch's ``tags`` map or EC2's ``Tags`` list."""
    if isinstance(resource.get("tags"), dict):
        return dict(resource["tags"])
    return {t["Key"]: t["Value"] for t in resource.get("Tags", []) or []}
