"""What the AWS provider decides about a change, as tables and small predicates.

- The arguments that force a new resource, per Terraform type (:data:`KINDS`: every resource
  type the templates write), each from the provider's schema (``ForceNew``; source files cited
  next to the entries).
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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from batchform import requirements
from batchform.diff import arguments
from batchform.diff.result import AttributeChange
from batchform.plan.compute import compute_resources_of, provider_updates_in_place
from batchform.plan.contract import ComputeEnvironmentEntry

Entries = Callable[[Mapping[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class _Kind:
    """Resources of one Terraform type, read from one plan file's context: the list under
    ``context_key``, or what ``entries`` (:mod:`batchform.diff.arguments`) makes of the
    context where the template writes more than the entries hold."""

    file: str
    context_key: str
    tf_type: str
    kind: str
    forces_new: tuple[str, ...]
    model_section: str | None = None  # the environment-file section keyed like the labels
    entries: Entries | None = None
    one_of: tuple[str, ...] = ()  # mappings of exactly one argument: another one replaces


def _rule_kind(file: str, key: str, direction: str, entries: Entries | None = None) -> _Kind:
    """``aws_vpc_security_group_{ingress,egress}_rule``: security_group_id is RequiresReplace,
    every other argument is modified in place (ModifySecurityGroupRules), except a change of
    the source's kind (``cidr_ipv4`` <-> ``referenced_security_group_id``...), which
    ``ModifyPlan`` replaces (internal/service/ec2/vpc_security_group_ingress_rule.go, shared by
    the egress rule)."""
    return _Kind(
        file,
        key,
        f"aws_vpc_security_group_{direction}_rule",
        f"{direction} rule",
        ("security_group_id",),
        entries=entries,
        one_of=("peer",),
    )


def _security_group_kind(
    file: str, key: str, section: str | None = None, entries: Entries | None = None
) -> _Kind:
    """aws_security_group: name, description and vpc_id are ForceNew
    (internal/service/ec2/vpc_security_group.go)."""
    return _Kind(
        file,
        key,
        "aws_security_group",
        "security group",
        ("name", "description", "vpc_id"),
        section,
        entries,
    )


# In dependency order: a resource's knock-on changes are known before its dependants are diffed
# (a reference to a resource diffed later would not be seen to change). Source files are those
# of hashicorp/terraform-provider-aws 5.x.
KINDS: tuple[_Kind, ...] = (
    # aws_vpc: cidr_block is ForceNew (internal/service/ec2/vpc_.go)
    _Kind("network.tf", "vpc", "aws_vpc", "VPC", ("cidr",), entries=arguments.vpc),
    # vpc_id is Optional+Computed, not ForceNew: a new VPC detaches and attaches the gateway
    # (internal/service/ec2/vpc_internet_gateway.go)
    _Kind(
        "network.tf",
        "internet_gateway",
        "aws_internet_gateway",
        "internet gateway",
        (),
        entries=arguments.internet_gateway,
    ),
    # vpc_id is ForceNew (internal/service/ec2/vpc_default_security_group.go)
    _Kind(
        "network.tf",
        "default_security_group",
        "aws_default_security_group",
        "default security group",
        ("vpc_id",),
        entries=arguments.default_security_group,
    ),
    # cidr_block, availability_zone and vpc_id are ForceNew (internal/service/ec2/vpc_subnet.go)
    _Kind(
        "network.tf",
        "subnets",
        "aws_subnet",
        "subnet",
        ("cidr", "az", "vpc_id"),
        entries=arguments.subnets,
    ),
    # domain is ForceNew (internal/service/ec2/ec2_eip.go)
    _Kind(
        "network.tf",
        "nat_gateways",
        "aws_eip",
        "Elastic IP",
        ("domain",),
        entries=arguments.elastic_ips,
    ),
    # allocation_id, subnet_id (and connectivity_type, not written) are ForceNew
    # (internal/service/ec2/vpc_nat_gateway.go)
    _Kind(
        "network.tf",
        "nat_gateways",
        "aws_nat_gateway",
        "NAT gateway",
        ("allocation_id", "subnet_id"),
        entries=arguments.nat_gateways,
    ),
    # vpc_id is ForceNew (internal/service/ec2/vpc_route_table.go)
    _Kind(
        "network.tf",
        "route_tables",
        "aws_route_table",
        "route table",
        ("vpc_id",),
        entries=arguments.route_tables,
    ),
    # route_table_id and the destination are ForceNew, the target is updated in place
    # (ReplaceRoute; internal/service/ec2/vpc_route.go)
    _Kind(
        "network.tf",
        "routes",
        "aws_route",
        "route",
        ("route_table_id", "destination_cidr_block"),
        entries=arguments.routes,
    ),
    # subnet_id is ForceNew, route_table_id is updated in place (ReplaceRouteTableAssociation;
    # internal/service/ec2/vpc_route_table_association.go)
    _Kind(
        "network.tf",
        "associations",
        "aws_route_table_association",
        "route table association",
        ("subnet_id",),
    ),
    _security_group_kind(
        "network.tf", "endpoint_security_group", entries=arguments.endpoint_security_group
    ),
    _rule_kind(
        "network.tf", "endpoint_security_group", "ingress", arguments.endpoint_ingress_rules
    ),
    # vpc_id, service_name and vpc_endpoint_type are ForceNew; route tables, subnets, security
    # groups and private DNS are modified in place (internal/service/ec2/vpc_endpoint.go)
    _Kind(
        "network.tf",
        "endpoints",
        "aws_vpc_endpoint",
        "VPC endpoint",
        ("vpc_id", "service_name", "type"),
        entries=arguments.endpoints,
    ),
    _security_group_kind("security_groups.tf", "security_groups", "security_groups"),
    _rule_kind("security_groups.tf", "ingress_rules", "ingress"),
    _rule_kind("security_groups.tf", "egress_rules", "egress"),
    _security_group_kind("efs.tf", "security_groups"),
    _rule_kind("efs.tf", "ingress_rules", "ingress", arguments.efs_ingress_rules),
    _rule_kind("efs.tf", "egress_rules", "egress", arguments.efs_egress_rules),
    # a new file_system_id or subnet_id forces a new mount target, security_groups are updated
    # in place (internal/service/efs/mount_target.go)
    _Kind(
        "efs.tf",
        "mount_targets",
        "aws_efs_mount_target",
        "EFS mount target",
        ("file_system_id", "subnet_id"),
    ),
    # aws_iam_role: name and path are ForceNew, permissions_boundary is updated in place
    # (internal/service/iam/role.go)
    _Kind("iam.tf", "roles", "aws_iam_role", "IAM role", ("name", "path"), entries=arguments.roles),
    # role and policy_arn are ForceNew (internal/service/iam/role_policy_attachment.go)
    _Kind(
        "iam.tf",
        "roles",
        "aws_iam_role_policy_attachment",
        "IAM policy attachment",
        ("role", "policy_arn"),
        entries=arguments.policy_attachments,
    ),
    # name and path are ForceNew, role is updated in place (internal/service/iam/
    # instance_profile.go)
    _Kind(
        "iam.tf",
        "roles",
        "aws_iam_instance_profile",
        "instance profile",
        ("name", "path"),
        entries=arguments.instance_profiles,
    ),
    _Kind(
        "launch_templates.tf",
        "launch_templates",
        "aws_launch_template",
        "launch template",
        ("name",),  # name (and name_prefix) only (internal/service/ec2/ec2_launch_template.go)
        "launch_templates",
    ),
    _Kind(
        "compute_environments.tf",
        "placement_groups",
        "aws_placement_group",
        "placement group",
        ("name", "strategy"),  # every argument but tags is ForceNew (ec2_placement_group.go)
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
    # name, log_group_class and skip_destroy are ForceNew; retention and the KMS key are
    # updated in place (internal/service/logs/group.go). Before the job definitions, whose
    # log configuration names the group.
    _Kind("logs.tf", "log_groups", "aws_cloudwatch_log_group", "log group", ("name",)),
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
    # name and role are ForceNew, the policy is updated in place (internal/service/iam/
    # role_policy.go). After the job definitions: the scheduler's policy names their revisions.
    _Kind(
        "iam.tf",
        "roles",
        "aws_iam_role_policy",
        "IAM inline policy",
        ("name", "role"),
        entries=arguments.inline_policies,
    ),
    # aws_scheduler_schedule: name and group_name are ForceNew (internal/service/scheduler/
    # schedule.go); the target (queue, job definition revision, input) is updated in place
    _Kind(
        "schedules.tf",
        "schedules",
        "aws_scheduler_schedule",
        "schedule",
        ("name", "group"),
        "schedules",
    ),
    # aws_sns_topic: name is ForceNew (internal/service/sns/topic.go)
    _Kind("alerts.tf", "topic", "aws_sns_topic", "alert topic", ("name",), entries=arguments.topic),
    # aws_cloudwatch_event_rule: name is ForceNew (internal/service/events/rule.go)
    _Kind(
        "alerts.tf",
        "rules",
        "aws_cloudwatch_event_rule",
        "alert rule",
        ("name",),
        entries=arguments.event_rules,
    ),
    # arn is ForceNew (internal/service/sns/topic_policy.go)
    _Kind(
        "alerts.tf",
        "topic",
        "aws_sns_topic_policy",
        "alert topic policy",
        ("arn",),
        entries=arguments.topic_policy,
    ),
    # topic_arn, protocol and endpoint are ForceNew (internal/service/sns/topic_subscription.go)
    _Kind(
        "alerts.tf",
        "subscriptions",
        "aws_sns_topic_subscription",
        "alert subscription",
        ("topic_arn", "protocol", "endpoint"),
        entries=arguments.subscriptions,
    ),
    # rule, target_id and event_bus_name are ForceNew, arn and input_transformer are updated
    # in place (internal/service/events/target.go)
    _Kind(
        "alerts.tf",
        "rules",
        "aws_cloudwatch_event_target",
        "alert target",
        ("rule", "target_id"),
        entries=arguments.event_targets,
    ),
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
