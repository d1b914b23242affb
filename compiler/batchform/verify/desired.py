"""What the file asks for: the compiler's plan contexts, read by the verifier.

The plan stage already decides every name, tag, attribute and reference the Terraform module
holds. Reading its contexts (instead of re-deriving them from the model) keeps the verifier in
step with the compiler: whatever ``batchform compile`` writes is what ``verify`` expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TypedDict

from batchform import naming
from batchform.hcl import Expr
from batchform.model import Environment
from batchform.plan import compute, efs, iam, jobs, network
from batchform.plan.contract import (
    ComputeEnvironmentEntry,
    EndpointEntry,
    EndpointIngressEntry,
    InstanceProfileEntry,
    JobDefinitionEntry,
    JobQueueEntry,
    LaunchTemplateEntry,
    LogGroupEntry,
    MountTargetEntry,
    NetworkContext,
    NfsRuleEntry,
    PlacementGroupEntry,
    PlanFiles,
    RoleEntry,
    SchedulingPolicyEntry,
    SecurityGroupEntry,
    SecurityGroupRuleEntry,
    SsmAmiEntry,
    SubnetEntry,
    Tags,
)

DEFAULT_SECURITY_GROUP_DESCRIPTION = "default VPC security group"
"""AWS's description of a VPC's default group, which the module adopts and strips of rules."""


class TaggedEntry(TypedDict):
    """What every resource entry verify finds by its ``batchform:key`` tag has in common."""

    label: str
    tags: Tags


def _efs_rule(rule: NfsRuleEntry) -> SecurityGroupRuleEntry:
    """An ``efs.tf`` NFS rule in the shape of ``security_groups.tf`` rules."""
    return {
        "label": rule["label"],
        "security_group_id": rule["security_group_id"],
        "description": rule["description"],
        "ip_protocol": "tcp",
        "from_port": rule["from_port"],
        "to_port": rule["to_port"],
        "peer": {"referenced_security_group_id": rule["peer"]},
        "tags": rule["tags"],
    }


def _endpoint_rule(rule: EndpointIngressEntry, cidr: Expr) -> SecurityGroupRuleEntry:
    """The VPC endpoints' HTTPS rule (``network.tf``) in the shape of ``security_groups.tf``
    rules, from ``cidr`` (the VPC's block, or all its secondary blocks)."""
    return {
        "label": rule["label"],
        "security_group_id": rule["security_group_id"],
        "description": rule["description"],
        "ip_protocol": rule["ip_protocol"],
        "from_port": rule["from_port"],
        "to_port": rule["to_port"],
        "peer": {"cidr_ipv4": cidr},
        "tags": rule["tags"],
    }


def batchform_key(context: TaggedEntry) -> str | None:
    """The ``batchform:key`` tag a plan context gives its resource."""
    return context["tags"].get(naming.TAG_KEY)


@dataclass(frozen=True)
class Desired:
    """The plan's contexts of the resources verify compares, each list in the plan's order."""

    env: Environment

    @cached_property
    def _compute(self) -> PlanFiles:
        return compute.plan(self.env)

    @cached_property
    def _network(self) -> PlanFiles:
        return network.plan(self.env)

    @cached_property
    def _efs(self) -> PlanFiles:
        return efs.plan(self.env)

    @cached_property
    def _iam(self) -> list[RoleEntry]:
        file = iam.plan(self.env).get("iam.tf")
        return file["roles"] if file else []

    @cached_property
    def _jobs(self) -> PlanFiles:
        return jobs.plan(self.env)

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def prefix(self) -> str:
        """Every AWS name the environment makes itself starts with this."""
        return f"{self.env.name}-"

    def _prefixes(self, section: naming.NamedSection) -> tuple[str, ...]:
        """The environment's prefix, and the names of ``section`` that do not start with it
        (``aws_name``, ``aws_name_prefix``): what a listing of the section is filtered by."""
        names = {naming.resource_name(self.env, section, k) for k in getattr(self.env, section)}
        return (self.prefix, *sorted(n for n in names if not n.startswith(self.prefix)))

    @property
    def job_definition_prefixes(self) -> tuple[str, ...]:
        return self._prefixes("job_definitions")

    @property
    def policy_prefixes(self) -> tuple[str, ...]:
        return self._prefixes("scheduling_policies")

    @property
    def compute_environment_prefixes(self) -> tuple[str, ...]:
        """What the names of this environment's CEs start with: its prefix, and the exact
        names and own prefixes chosen with ``aws_name`` / ``aws_name_prefix``."""
        env = self.env
        chosen = {
            naming.compute_environment_name(env, k) or naming.compute_environment_prefix(env, k)
            for k in env.compute_environments
        }
        return (self.prefix, *sorted(n for n in chosen if n and not n.startswith(self.prefix)))

    # --- compute ------------------------------------------------------------------------------

    @property
    def compute_environments(self) -> list[ComputeEnvironmentEntry]:
        file = self._compute.get("compute_environments.tf")
        return list(file["compute_environments"]) if file else []

    @property
    def ssm_amis(self) -> list[SsmAmiEntry]:
        file = self._compute.get("compute_environments.tf")
        return list(file["ssm_amis"]) if file else []

    @property
    def placement_groups(self) -> list[PlacementGroupEntry]:
        """Placement groups batchform creates (a CE's ``placement_group`` names them)."""
        file = self._compute.get("compute_environments.tf")
        return list(file["placement_groups"]) if file else []

    @property
    def launch_templates(self) -> list[LaunchTemplateEntry]:
        file = self._compute.get("launch_templates.tf")
        return list(file["launch_templates"]) if file else []

    # --- network ------------------------------------------------------------------------------

    @property
    def network_file(self) -> NetworkContext | None:
        return self._network.get("network.tf")

    @property
    def security_groups(self) -> list[SecurityGroupEntry]:
        """Every security group the module creates, the VPC endpoints' one included."""
        file = self._network.get("security_groups.tf")
        groups = list(file["security_groups"]) if file else []
        network_file = self.network_file
        if network_file is not None and network_file["endpoint_security_group"] is not None:
            groups.append(network_file["endpoint_security_group"])
        efs_file = self._efs.get("efs.tf")
        groups += efs_file["security_groups"] if efs_file else []
        if network_file is not None and network_file["default_security_group"] is not None:
            groups.append(
                {
                    "label": "default",
                    "name": "default",
                    "description": DEFAULT_SECURITY_GROUP_DESCRIPTION,
                    "vpc_id": Expr("aws_vpc.main.id"),
                    "tags": network_file["default_security_group"]["tags"],
                }
            )
        return groups

    @cached_property
    def chosen_security_group_names(self) -> tuple[str, ...]:
        """Names of the groups the file names itself (``aws_name``, ``aws_name_prefix``): verify
        also looks these up by name, so a group adopted under its name, or one whose batchform
        tags were removed, is found and its tags compared rather than reported missing."""
        env = self.env
        return tuple(
            sorted(
                naming.resource_name(env, "security_groups", key)
                for key in env.security_group_definitions()
                if naming.chooses_name(naming.named(env, "security_groups", key))
            )
        )

    def security_group_rules(
        self, label: str
    ) -> tuple[list[SecurityGroupRuleEntry], list[SecurityGroupRuleEntry]]:
        """(ingress, egress) rule contexts of the security group labelled ``label``."""
        file = self._network.get("security_groups.tf")
        address = f"aws_security_group.{label}.id"
        ingress = [
            r for r in (file["ingress_rules"] if file else []) if r["security_group_id"] == address
        ]
        egress = [
            r for r in (file["egress_rules"] if file else []) if r["security_group_id"] == address
        ]
        network_file = self.network_file
        endpoint_group = network_file["endpoint_security_group"] if network_file else None
        if endpoint_group is not None and endpoint_group["label"] == label:
            rule = endpoint_group["ingress"]
            ingress.append(_endpoint_rule(rule, rule["cidr_ipv4"]))
            if network_file is not None and network_file["existing_vpc_lookup"] is not None:
                # one rule per secondary CIDR block (a ``for_each`` in the module)
                secondary = Expr("data.aws_vpc.main.secondary_cidr_blocks")
                ingress.append(_endpoint_rule(rule, secondary))
        efs_file = self._efs.get("efs.tf")
        if efs_file is not None:
            ingress += [
                _efs_rule(r) for r in efs_file["ingress_rules"] if r["security_group_id"] == address
            ]
            egress += [
                _efs_rule(r) for r in efs_file["egress_rules"] if r["security_group_id"] == address
            ]
        return ingress, egress

    @property
    def subnets(self) -> list[SubnetEntry]:
        return list(self.network_file["subnets"]) if self.network_file else []

    @property
    def endpoints(self) -> list[EndpointEntry]:
        return list(self.network_file["endpoints"]) if self.network_file else []

    @property
    def mount_targets(self) -> list[MountTargetEntry]:
        """EFS mount targets the module creates (``efs.tf``)."""
        file = self._efs.get("efs.tf")
        return list(file["mount_targets"]) if file else []

    # --- IAM ----------------------------------------------------------------------------------

    @property
    def roles(self) -> list[RoleEntry]:
        return list(self._iam)

    @property
    def instance_profile(self) -> InstanceProfileEntry | None:
        """The generated instance profile (it sits on the role its instances assume)."""
        for role in self.roles:
            if role["instance_profile"] is not None:
                return role["instance_profile"]
        return None

    @staticmethod
    def role_purpose(role: RoleEntry) -> str:
        """``ecs-instance``, ``job-align``: the role's tag key is ``role-<purpose>``."""
        return (batchform_key(role) or role["label"]).removeprefix("role-")

    # --- jobs ---------------------------------------------------------------------------------

    @property
    def scheduling_policies(self) -> list[SchedulingPolicyEntry]:
        file = self._jobs.get("scheduling_policies.tf")
        return list(file["policies"]) if file else []

    @property
    def job_queues(self) -> list[JobQueueEntry]:
        file = self._jobs.get("job_queues.tf")
        return list(file["queues"]) if file else []

    @property
    def job_definitions(self) -> list[JobDefinitionEntry]:
        file = self._jobs.get("job_definitions.tf")
        return list(file["jobs"]) if file else []

    @property
    def log_groups(self) -> list[LogGroupEntry]:
        file = self._jobs.get("logs.tf")
        return list(file["log_groups"]) if file else []

    def expected_tags(self, own: dict[str, str]) -> dict[str, str]:
        """A resource's tags as AWS shows them: the provider's ``default_tags`` (the file's
        ``tags``) under the resource's own."""
        return {**self.env.tags, **own}
