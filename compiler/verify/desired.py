"""What the file asks for: the compiler's plan contexts, read by the verifier.

The plan stage already decides every name, tag, attribute and reference the Terraform module
holds. Reading its contexts (instead of re-deriving them from the model) keeps the verifier in
step with the compiler: whatever ``batchform compile`` writes is what ``verify`` expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from compiler import naming
from compiler.hcl import Expr
from compiler.model import Environment
from compiler.plan import compute, efs, iam, jobs, network

Context = dict[str, Any]

DEFAULT_SECURITY_GROUP_DESCRIPTION = "default VPC security group"
"""AWS's description of a VPC's default group, which the module adopts and strips of rules."""


def _efs_rule(rule: Context) -> Context:
    """An ``efs.tf`` NFS rule in the shape of ``security_groups.tf`` rules."""
    return {**rule, "ip_protocol": "tcp", "peer": {"referenced_security_group_id": rule["peer"]}}


def batchform_key(context: Context) -> str | None:
    """The ``batchform:key`` tag a plan context gives its resource."""
    tags = context.get("tags") or {}
    key = tags.get(naming.TAG_KEY)
    return str(key) if key is not None else None


@dataclass(frozen=True)
class Desired:
    env: Environment

    @cached_property
    def _compute(self) -> dict[str, Context]:
        return compute.plan(self.env)

    @cached_property
    def _network(self) -> dict[str, Context]:
        return network.plan(self.env)

    @cached_property
    def _efs(self) -> dict[str, Context]:
        return efs.plan(self.env)

    @cached_property
    def _iam(self) -> Context:
        return iam.plan(self.env).get("iam.tf", {})

    @cached_property
    def _jobs(self) -> dict[str, Context]:
        return jobs.plan(self.env)

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def prefix(self) -> str:
        """Every AWS name of the environment starts with this."""
        return f"{self.env.name}-"

    # --- compute ------------------------------------------------------------------------------

    @property
    def compute_environments(self) -> list[Context]:
        return list(
            self._compute.get("compute_environments.tf", {}).get("compute_environments", [])
        )

    @property
    def ssm_amis(self) -> list[Context]:
        return list(self._compute.get("compute_environments.tf", {}).get("ssm_amis", []))

    @property
    def placement_groups(self) -> list[Context]:
        """Placement groups batchform creates (a CE's ``placement_group`` names them)."""
        return list(self._compute.get("compute_environments.tf", {}).get("placement_groups", []))

    @property
    def launch_templates(self) -> list[Context]:
        return list(self._compute.get("launch_templates.tf", {}).get("launch_templates", []))

    # --- network ------------------------------------------------------------------------------

    @property
    def network_file(self) -> Context:
        return self._network.get("network.tf", {})

    @property
    def security_groups(self) -> list[Context]:
        """Every security group the module creates, the VPC endpoints' one included."""
        groups = list(self._network.get("security_groups.tf", {}).get("security_groups", []))
        endpoint_group = self.network_file.get("endpoint_security_group")
        if endpoint_group:
            groups.append(endpoint_group)
        groups += self._efs.get("efs.tf", {}).get("security_groups", [])
        default_group = self.network_file.get("default_security_group")
        if default_group:
            groups.append(
                {
                    **default_group,
                    "label": "default",
                    "name": "default",
                    "description": DEFAULT_SECURITY_GROUP_DESCRIPTION,
                    "vpc_id": Expr("aws_vpc.main.id"),
                }
            )
        return groups

    def security_group_rules(self, label: str) -> tuple[list[Context], list[Context]]:
        """(ingress, egress) rule contexts of the security group labelled ``label``."""
        file = self._network.get("security_groups.tf", {})
        address = f"aws_security_group.{label}.id"
        ingress = [r for r in file.get("ingress_rules", []) if r["security_group_id"] == address]
        egress = [r for r in file.get("egress_rules", []) if r["security_group_id"] == address]
        endpoint_group = self.network_file.get("endpoint_security_group")
        if endpoint_group and endpoint_group["label"] == label:
            ingress.append(endpoint_group["ingress"])
            if self.network_file.get("existing_vpc_lookup"):
                # one rule per secondary CIDR block (a ``for_each`` in the module)
                secondary = Expr("data.aws_vpc.main.secondary_cidr_blocks")
                ingress.append({**endpoint_group["ingress"], "cidr_ipv4": secondary})
        efs = self._efs.get("efs.tf")
        if efs is not None:
            ingress += [
                _efs_rule(r) for r in efs["ingress_rules"] if r["security_group_id"] == address
            ]
            egress += [
                _efs_rule(r) for r in efs["egress_rules"] if r["security_group_id"] == address
            ]
        return ingress, egress

    @property
    def subnets(self) -> list[Context]:
        return list(self.network_file.get("subnets", []))

    @property
    def endpoints(self) -> list[Context]:
        return list(self.network_file.get("endpoints", []))

    @property
    def mount_targets(self) -> list[Context]:
        """EFS mount targets the module creates (``efs.tf``)."""
        return list(self._efs.get("efs.tf", {}).get("mount_targets", []))

    # --- IAM ----------------------------------------------------------------------------------

    @property
    def roles(self) -> list[Context]:
        return list(self._iam.get("roles", []))

    @property
    def instance_profile(self) -> Context | None:
        """The generated instance profile (it sits on the role its instances assume)."""
        for role in self.roles:
            profile: Context | None = role.get("instance_profile")
            if profile is not None:
                return profile
        return None

    @staticmethod
    def role_purpose(role: Context) -> str:
        """``ecs-instance``, ``job-align``: the role's tag key is ``role-<purpose>``."""
        return (batchform_key(role) or str(role["label"])).removeprefix("role-")

    # --- jobs ---------------------------------------------------------------------------------

    @property
    def scheduling_policies(self) -> list[Context]:
        return list(self._jobs.get("scheduling_policies.tf", {}).get("policies", []))

    @property
    def job_queues(self) -> list[Context]:
        return list(self._jobs.get("job_queues.tf", {}).get("queues", []))

    @property
    def job_definitions(self) -> list[Context]:
        return list(self._jobs.get("job_definitions.tf", {}).get("jobs", []))

    @property
    def log_groups(self) -> list[Context]:
        return list(self._jobs.get("logs.tf", {}).get("log_groups", []))

    def expected_tags(self, own: dict[str, str]) -> dict[str, str]:
        """A resource's tags as AWS shows them: the provider's ``default_tags`` (the file's
        ``tags``) under the resource's own."""
        return {**self.env.tags, **own}
