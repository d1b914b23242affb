"""What is deployed, gathered once, and the bridge from Terraform references to live values.

The expected side of every comparison is the compiler's own plan context (``batchform.plan.*``),
so the verifier compares with exactly what was written to Terraform. Those contexts point at
other resources through :class:`~batchform.hcl.Expr` references (``aws_iam_role.job_align.arn``);
:class:`Live` resolves them to the values of the resources found in AWS (by their batchform
tags or their names), so ``expected`` holds real ARNs and ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
