"""What the AWS provider decides about a change, as tables and small predicates.

- The arguments that force a new resource, per Terraform type (:data:`KINDS`,
  :data:`SINGLETONS`), each from the provider's schema (``ForceNew``; source files cited next
  to the entries).
- The compute environment rules of provider 5.x (``resourceComputeEnvironmentCustomizeDiff`` in
  ``internal/service/batch/compute_environment.go`` of hashicorp/terraform-provider-aws): name,
  name prefix, placement group and spot fleet role always replace; adding or removing the launch
  template block always replaces; every other ``compute_resources`` change except the vCPU
  bounds replaces a CE that is not *updatable* (service-linked role and BEST_FIT_PROGRESSIVE or
  SPOT_CAPACITY_OPTIMIZED, before and after; subnets and security groups of Fargate CEs are
  exempt).
- How a Terraform reference names the resource it points at (:func:`_address_of`).
"""

from __future__ import annotations

from dataclasses import dataclass

from batchform import requirements
from batchform.diff.result import AttributeChange
from batchform.plan.compute import compute_resources_of, provider_updates_in_place
from batchform.plan.contract import ComputeEnvironmentEntry


@dataclass(frozen=True)
class _Kind:
    """A list in a plan file's context whose entries are resources of one Terraform type."""

    file: str
    context_key: str
    tf_type: str
    kind: str
    forces_new: tuple[str, ...]
    model_section: str | None = None  # the environment-file section keyed like the labels


# In dependency order: a resource's knock-on changes are known before its dependants are diffed.
KINDS: tuple[_Kind, ...] = (
    _Kind("network.tf", "subnets", "aws_subnet", "subnet", ("cidr", "az")),
    _Kind("network.tf", "nat_gateways", "aws_nat_gateway", "NAT gateway", ("subnet_id",)),
    _Kind("network.tf", "route_tables", "aws_route_table", "route table", ()),
    _Kind("network.tf", "routes", "aws_route", "route", ("route_table_id",)),
    _Kind(
        "network.tf",
        "associations",
        "aws_route_table_association",
        "route table association",
        ("subnet_id",),
    ),
    _Kind("network.tf", "endpoints", "aws_vpc_endpoint", "VPC endpoint", ("service_name", "type")),
    _Kind(
        "security_groups.tf",
        "security_groups",
        "aws_security_group",
        "security group",
        ("name", "description", "vpc_id"),
        "security_groups",
    ),
    _Kind(
        "security_groups.tf",
        "ingress_rules",
        "aws_vpc_security_group_ingress_rule",
        "ingress rule",
        ("security_group_id",),
    ),
    _Kind(
        "security_groups.tf",
        "egress_rules",
        "aws_vpc_security_group_egress_rule",
        "egress rule",
        ("security_group_id",),
    ),
    # efs.tf: provider internal/service/efs/mount_target.go forces a new mount target for a new
    # file_system_id or subnet_id (security_groups are updated in place)
    _Kind(
        "efs.tf",
        "security_groups",
        "aws_security_group",
        "security group",
        ("name", "description", "vpc_id"),
    ),
    _Kind(
        "efs.tf",
        "ingress_rules",
        "aws_vpc_security_group_ingress_rule",
        "ingress rule",
        ("security_group_id",),
    ),
    _Kind(
        "efs.tf",
        "egress_rules",
        "aws_vpc_security_group_egress_rule",
        "egress rule",
        ("security_group_id",),
    ),
    _Kind(
        "efs.tf",
        "mount_targets",
        "aws_efs_mount_target",
        "EFS mount target",
        ("file_system_id", "subnet_id"),
    ),
    # aws_iam_role: name and path are ForceNew, permissions_boundary is updated in place
    # (internal/service/iam/role.go); the instance profile's path is ForceNew as well
    # (internal/service/iam/instance_profile.go)
    _Kind("iam.tf", "roles", "aws_iam_role", "IAM role", ("name", "path", "instance_profile.path")),
    _Kind(
        "launch_templates.tf",
        "launch_templates",
        "aws_launch_template",
        "launch template",
        ("name",),
        "launch_templates",
    ),
    _Kind(
        "compute_environments.tf",
        "placement_groups",
        "aws_placement_group",
        "placement group",
        ("name", "strategy"),  # every argument but tags is ForceNew (placement_group.go)
    ),
    _Kind(
        "compute_environments.tf",
        "compute_environments",
        "aws_batch_compute_environment",
        "compute environment",
        # compute_environment_name(_prefix) and type are ForceNew (compute_environment.go)
        ("name", "name_prefix", "type"),
        "compute_environments",
    ),
    _Kind(
        "scheduling_policies.tf",
        "policies",
        "aws_batch_scheduling_policy",
        "scheduling policy",
        ("name",),
        "scheduling_policies",
    ),
    _Kind("job_queues.tf", "queues", "aws_batch_job_queue", "job queue", ("name",), "job_queues"),
    _Kind(
        "job_definitions.tf",
        "jobs",
        "aws_batch_job_definition",
        "job definition",
        # name and retry_strategy.evaluate_on_exit are ForceNew (internal/service/batch/
        # job_definition.go); every other change registers a new revision in place
        ("name", "retry_strategy.evaluate_on_exit"),
        "job_definitions",
    ),
    _Kind("logs.tf", "log_groups", "aws_cloudwatch_log_group", "log group", ("name",)),
    # aws_scheduler_schedule: name and group_name are ForceNew (internal/service/scheduler/
    # schedule.go); aws_cloudwatch_event_rule: name (internal/service/events/rule.go);
    # aws_sns_topic_subscription: protocol and endpoint (internal/service/sns/
    # topic_subscription.go).
    _Kind(
        "schedules.tf",
        "schedules",
        "aws_scheduler_schedule",
        "schedule",
        ("name",),
        "schedules",
    ),
    _Kind("alerts.tf", "rules", "aws_cloudwatch_event_rule", "alert rule", ("name",)),
    _Kind(
        "alerts.tf",
        "subscriptions",
        "aws_sns_topic_subscription",
        "alert subscription",
        ("endpoint",),
    ),
)


# Singletons of network.tf: (context key, Terraform address, kind, arguments that force new).
SINGLETONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("vpc", "aws_vpc.main", "VPC", ("cidr",)),
    ("internet_gateway", "aws_internet_gateway.main", "internet gateway", ()),
    ("default_security_group", "aws_default_security_group.main", "default security group", ()),
)


# Compute resources arguments the provider replaces a non-updatable CE for (CustomizeDiff).
CE_FORCE_NEW_UNLESS_UPDATABLE = (
    "security_group_ids",
    "subnets",
    "allocation_strategy",
    "bid_percentage",
    "ec2_configuration",
    "ec2_key_pair",
    "image_id",
    "instance_role",
    "instance_type",
    "launch_template",
    "tags",
)
CE_FORCE_NEW_ALWAYS = ("placement_group", "spot_iam_fleet_role")
FARGATE_EXEMPT = ("security_group_ids", "subnets")
CE_SCALING = ("min_vcpus", "max_vcpus")
LT_VERSION_PATH = "compute_resources.launch_template.version"
NEW_VERSION_SUFFIX = " (new version)"


def _address_of(expr: str) -> str:
    parts = expr.split(".")
    return ".".join(parts[:3]) if parts[0] == "data" else ".".join(parts[:2])


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _resource_argument(path: str) -> str:
    """``compute_resources.attrs.max_vcpus`` -> ``max_vcpus``; ``compute_resources.launch_template
    .version`` -> ``launch_template``: the provider's name for what a CE path changes."""
    parts = path.split(".")
    if parts[0] != "compute_resources" or len(parts) < 2:
        return parts[0]
    if parts[1] == "attrs":
        return parts[2].split("[", 1)[0] if len(parts) > 2 else "attrs"
    return parts[1].split("[", 1)[0]


def _ce_updatable(
    old: ComputeEnvironmentEntry, new: ComputeEnvironmentEntry, aws_provider: str
) -> bool:
    """``isUpdatableComputeEnvironment`` on both sides of the change, of the providers the new
    file's constraint admits (they make the change)."""
    return all(
        provider_updates_in_place(
            ce.get("service_role"),
            compute_resources_of(ce)["attrs"].get("allocation_strategy"),
            aws_provider,
        )
        for ce in (old, new)
    )


def _is_fargate(ce: ComputeEnvironmentEntry) -> bool:
    return str(compute_resources_of(ce)["attrs"].get("type", "")).startswith("FARGATE")


def _mark_ce_replacements(
    old: ComputeEnvironmentEntry,
    new: ComputeEnvironmentEntry,
    changes: list[AttributeChange],
    aws_provider: str,
) -> list[AttributeChange]:
    updatable = _ce_updatable(old, new, aws_provider)
    fargate = _is_fargate(new)
    lt_block_changes = (compute_resources_of(old)["launch_template"] is None) != (
        compute_resources_of(new)["launch_template"] is None
    )
    marked = []
    for c in changes:
        argument = _resource_argument(c.path)
        in_resources = c.path.startswith("compute_resources.")
        # eks_configuration and both its arguments are ForceNew
        # (internal/service/batch/compute_environment.go)
        forces = _top(c.path) in ("name", "name_prefix", "type", "eks_configuration") or (
            in_resources
            and (
                argument in CE_FORCE_NEW_ALWAYS
                or (argument == "launch_template" and lt_block_changes)
                or (
                    not updatable
                    and argument in CE_FORCE_NEW_UNLESS_UPDATABLE
                    and not (fargate and argument in FARGATE_EXEMPT)
                )
            )
        )
        if _is_apply_time_version(c):
            forces = _replaced_for_new_version(new, updatable, aws_provider)
        marked.append(AttributeChange(c.path, c.old, c.new, forces))
    return marked


def _is_apply_time_version(c: AttributeChange) -> bool:
    return c.path == LT_VERSION_PATH and c.new.endswith(NEW_VERSION_SUFFIX)


def _replaced_for_new_version(
    new: ComputeEnvironmentEntry, updatable: bool, aws_provider: str
) -> bool:
    """Whether a new launch template version replaces the CE. Before provider 6.8.0 the
    provider cannot see that version while planning (it is unknown until the template is
    updated), so only the ``replace_triggered_by`` the compiler writes for a CE it cannot update
    in place does; from 6.8.0 on the provider plans that replacement itself (#43337)."""
    if new.get("replace_triggered_by"):
        return True
    return not updatable and requirements.plans_unknown_version_replacement(aws_provider)
