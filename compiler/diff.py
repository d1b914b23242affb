"""Semantic diff of two environment files: what a change does to AWS, and whether it is dangerous.

A reviewer of a pull request that edits ``configs/prod.yaml`` sees the YAML diff and the
generated ``.tf`` diff, but neither says which resources Terraform will *replace*, which changes
reach running jobs, or which ones AWS will refuse halfway through an apply. This module answers
that without AWS credentials or Terraform state, by comparing the two *plans* (the render
contexts of :mod:`compiler.plan`, which hold exactly the Terraform arguments the compiler
writes) resource by resource, and applying what the provider decides:

- arguments that force a new resource (``name``, ``cidr_block``, a security group's
  ``description``, ...; :data:`FORCES_NEW`);
- the compute environment rules of provider 5.x (``resourceComputeEnvironmentCustomizeDiff``):
  name prefix, placement group and spot fleet role always replace; adding or removing the launch
  template block always replaces; every other ``compute_resources`` change except the vCPU
  bounds replaces a CE that is not *updatable* (service-linked role and BEST_FIT_PROGRESSIVE or
  SPOT_CAPACITY_OPTIMIZED, before and after; subnets and security groups of Fargate CEs are
  exempt). Note that the provider does **not** count SPOT_PRICE_CAPACITY_OPTIMIZED as updatable,
  although AWS itself can update such a CE in place;
- knock-on changes: a replaced subnet or security group gives the CEs that use it a new id, and
  a changed launch template gets a new version that every CE using it picks up (the CE pins
  ``latest_version``), so those CEs update or are replaced too. The provider itself cannot see
  that new version while planning; a CE it cannot update in place is replaced by the
  ``lifecycle.replace_triggered_by`` the compiler writes for it
  (:func:`compiler.plan.compute.replace_triggers`), so the plan says "replace" up front;
- AWS refusals that ``terraform plan`` cannot see: a queue created without a fair-share policy can
  never get one, and a policy cannot be removed from a queue.

Everything is pure: two models in, an :class:`EnvironmentDiff` out, and two formatters (plain
text for a terminal, Markdown for a pull-request comment).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, cast

from compiler.derive import required_parameters
from compiler.hcl import Expr
from compiler.model import Environment
from compiler.plan import build_plan
from compiler.plan.compute import provider_updates_in_place
from compiler.plan.contract import (
    ComputeEnvironmentEntry,
    JobQueueEntry,
    PlanFiles,
    file_contexts,
)

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


# --- what the plan holds, resource by resource ---------------------------------------------


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
    _Kind("iam.tf", "roles", "aws_iam_role", "IAM role", ("name",)),
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
        ("name_prefix", "type"),
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
        ("name",),
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


def _resources(files: Mapping[str, Mapping[str, Any]], kind: _Kind) -> dict[str, dict[str, Any]]:
    context = files.get(kind.file) or {}
    entries = context.get(kind.context_key) or []
    return {entry["label"]: entry for entry in entries}


# --- values: flattening, display, knock-on markers -----------------------------------------


class _NewValue(str):
    """A reference whose value changes because the resource it points at changes."""


def _address_of(expr: str) -> str:
    parts = expr.split(".")
    return ".".join(parts[:3]) if parts[0] == "data" else ".".join(parts[:2])


def _mark(value: Any, replaced: set[str], versioned: set[str]) -> Any:
    """``value`` with every reference to a replaced or re-versioned resource marked as new."""
    if isinstance(value, Expr):
        address = _address_of(value)
        if address in replaced:
            return _NewValue(f"{value} (new: {address} is replaced)")
        if value.endswith(".latest_version") and address in versioned:
            return _NewValue(f"{value}{NEW_VERSION_SUFFIX}")
        return value
    if isinstance(value, Mapping):
        return {k: _mark(v, replaced, versioned) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark(v, replaced, versioned) for v in value]
    return value


def _display(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Expr | _NewValue):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaf paths of nested mappings; lists of scalars stay whole, lists of mappings by index.

    JSON-valued arguments (a job definition's container properties) are flattened the same way,
    so a changed image shows as ``container_properties.image`` rather than as one huge string.
    """
    if isinstance(value, Mapping) and value:
        for k in sorted(value):
            yield from _flatten(value[k], f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            yield from _flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


# Context keys that are no resource argument: the label, and lifecycle settings (a change to
# them changes no resource in AWS).
NOT_ARGUMENTS = ("label", "replace_triggered_by")


def _attribute_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[AttributeChange]:
    old_flat = dict(_flatten({k: v for k, v in old.items() if k not in NOT_ARGUMENTS}))
    new_flat = dict(_flatten({k: v for k, v in new.items() if k not in NOT_ARGUMENTS}))
    changes = []
    for path in sorted(set(old_flat) | set(new_flat)):
        a, b = old_flat.get(path), new_flat.get(path)
        if _display(a) != _display(b) or isinstance(b, _NewValue):
            changes.append(AttributeChange(path, _display(a), _display(b)))
    return changes


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


# --- the diff ---------------------------------------------------------------------------------


def _ce_updatable(old: ComputeEnvironmentEntry, new: ComputeEnvironmentEntry) -> bool:
    """``isUpdatableComputeEnvironment`` of provider 5.x, on both sides of the change."""
    return all(
        provider_updates_in_place(
            ce.get("service_role"), ce["compute_resources"]["attrs"].get("allocation_strategy")
        )
        for ce in (old, new)
    )


def _is_fargate(ce: ComputeEnvironmentEntry) -> bool:
    return str(ce["compute_resources"]["attrs"].get("type", "")).startswith("FARGATE")


def _mark_ce_replacements(
    old: ComputeEnvironmentEntry, new: ComputeEnvironmentEntry, changes: list[AttributeChange]
) -> list[AttributeChange]:
    updatable = _ce_updatable(old, new)
    fargate = _is_fargate(new)
    lt_block_changes = (old["compute_resources"]["launch_template"] is None) != (
        new["compute_resources"]["launch_template"] is None
    )
    marked = []
    for c in changes:
        argument = _resource_argument(c.path)
        in_resources = c.path.startswith("compute_resources.")
        forces = _top(c.path) in ("name_prefix", "type") or (
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
            forces = _replaced_by_trigger(new)
        marked.append(AttributeChange(c.path, c.old, c.new, forces))
    return marked


def _is_apply_time_version(c: AttributeChange) -> bool:
    return c.path == LT_VERSION_PATH and c.new.endswith(NEW_VERSION_SUFFIX)


def _replaced_by_trigger(new: ComputeEnvironmentEntry) -> bool:
    """Whether a new launch template version replaces the CE: the provider cannot see that
    version while planning (it is unknown until the template is updated), so only the
    ``replace_triggered_by`` the compiler writes for a CE it cannot update in place does."""
    return bool(new.get("replace_triggered_by"))


def _ce_notes(
    old: ComputeEnvironmentEntry, new: ComputeEnvironmentEntry, change: ResourceChange
) -> list[Note]:
    notes: list[Note] = []
    attrs_old, attrs_new = old["compute_resources"]["attrs"], new["compute_resources"]["attrs"]
    for bound, a, b in (
        ("min_vcpus", attrs_old.get("min_vcpus"), attrs_new.get("min_vcpus")),
        ("max_vcpus", attrs_old.get("max_vcpus"), attrs_new.get("max_vcpus")),
    ):
        if a != b:
            more = (b or 0) > (a or 0)
            what = "more" if more else "less"
            text = f"{bound} {a} -> {b}: {what} capacity"
            if bound == "min_vcpus" and more:
                text += " (instances kept running even with no jobs: they cost money while idle)"
            if bound == "max_vcpus" and not more:
                text += " (jobs beyond the new limit wait in RUNNABLE)"
            notes.append(Note(Risk.CAPACITY, text))
    if change.action == "replace":
        notes.append(
            Note(
                Risk.JOBS,
                "a new compute environment is created and swapped into its queues first "
                "(create_before_destroy); the old one is then disabled and deleted, which "
                "terminates the jobs still running on it",
            )
        )
        if not _ce_updatable(old, new) and not _is_fargate(new):
            notes.append(
                Note(
                    Risk.NOTE,
                    "this compute environment cannot be updated in place: the provider "
                    "replaces it on any instance change unless it uses the service-linked role "
                    "and allocation strategy BEST_FIT_PROGRESSIVE or SPOT_CAPACITY_OPTIMIZED",
                )
            )
        if any(_is_apply_time_version(c) and c.forces_replacement for c in change.attributes):
            notes.append(
                Note(
                    Risk.NOTE,
                    "the launch template's new version replaces it in the same apply "
                    "(lifecycle replace_triggered_by: provider 5.x would otherwise plan an "
                    "update and fail the apply with 'Provider produced inconsistent final plan')",
                )
            )
        return notes
    infra = [
        c
        for c in change.attributes
        if c.path.startswith("compute_resources.") and _resource_argument(c.path) not in CE_SCALING
    ]
    if infra and not _is_fargate(new):
        policy = new["update_policy"]
        if policy is not None and policy["terminate_jobs_on_update"]:
            text = (
                "infrastructure update with terminate_jobs_on_update: Batch replaces the "
                "instances and terminates the jobs running on them at once"
            )
        else:
            minutes = policy["job_execution_timeout_minutes"] if policy is not None else 30
            text = (
                "infrastructure update: Batch replaces the instances; running jobs get "
                f"{minutes} minutes (update_policy.job_execution_timeout) before they are "
                "terminated"
            )
        notes.append(Note(Risk.JOBS, text))
    if attrs_old.get("type") != attrs_new.get("type"):
        notes.append(
            Note(
                Risk.NOTE,
                f"type {attrs_old.get('type')} -> {attrs_new.get('type')} in place: new "
                "instances are bought the new way as Batch replaces the old ones",
            )
        )
    policy_old, policy_new = old["update_policy"], new["update_policy"]
    if (policy_new is not None and policy_new["terminate_jobs_on_update"]) and not (
        policy_old is not None and policy_old["terminate_jobs_on_update"]
    ):
        notes.append(
            Note(
                Risk.JOBS,
                "terminate_jobs_on_update turned on: later infrastructure updates terminate "
                "running jobs at once",
            )
        )
    if old.get("state") == "ENABLED" and new.get("state") == "DISABLED":
        notes.append(
            Note(
                Risk.JOBS,
                "state DISABLED: Batch stops placing jobs here and scales the environment down "
                "to min_vcpus as running jobs finish",
            )
        )
    return notes


def _queue_notes(
    old: JobQueueEntry,
    new: JobQueueEntry,
    address: str,
    ce_names: Mapping[str, str],
) -> list[Note]:
    notes: list[Note] = []
    policy_old, policy_new = old.get("scheduling_policy_arn"), new.get("scheduling_policy_arn")
    if policy_old is None and policy_new is not None:
        notes.append(
            Note(
                Risk.FAILS,
                "adds a fair-share scheduling policy to a queue created without one: Terraform "
                "plans an in-place update but AWS refuses it (a FIFO queue can never get a "
                "policy). Replace the queue: `terraform apply -replace=" + address + "`, or "
                "give the queue a new key",
            )
        )
    if policy_old is not None and policy_new is None:
        notes.append(
            Note(
                Risk.FAILS,
                "removes the queue's scheduling policy: neither AWS nor the provider can remove "
                "a policy from a queue (apply fails with 'cannot remove the fair share "
                "scheduling policy'); swap it for another policy or replace the queue",
            )
        )
    if old.get("state") == "ENABLED" and new.get("state") == "DISABLED":
        notes.append(
            Note(
                Risk.JOBS,
                "queue DISABLED: new submissions are refused; jobs already in the queue still run",
            )
        )
    if old.get("priority") != new.get("priority"):
        notes.append(
            Note(
                Risk.NOTE,
                f"priority {old.get('priority')} -> {new.get('priority')}: changes which queue "
                "the shared compute environments serve first",
            )
        )

    def ces(q: Mapping[str, Any]) -> list[str]:
        refs = [str(o["compute_environment"]) for o in q.get("compute_environment_order", [])]
        return [ce_names.get(_address_of(r), r) for r in refs]

    before, after = ces(old), ces(new)
    removed = [c for c in before if c not in after]
    if removed:
        notes.append(
            Note(
                Risk.JOBS,
                "compute environment(s) "
                + ", ".join(f"'{c}'" for c in removed)
                + " leave this queue: its RUNNABLE jobs are no longer placed there (jobs already "
                "running there continue unless the environment is deleted)",
            )
        )
    if not removed and before != after and sorted(before) == sorted(after):
        notes.append(
            Note(Risk.NOTE, f"compute environment order {before} -> {after}: tried in new order")
        )
    return notes


def _job_notes(old_env: Environment | None, new_env: Environment, key: str) -> list[Note]:
    notes = [
        Note(
            Risk.NOTE,
            "a new revision is registered and the previous one deregistered; jobs already "
            "submitted keep running on the revision they were submitted with",
        )
    ]
    if old_env is not None and key in old_env.job_definitions:
        before = required_parameters(old_env.job(key))
        after = required_parameters(new_env.job(key))
        added = [p for p in after if p not in before]
        if added:
            notes.append(
                Note(
                    Risk.FAILS,
                    "submitters must now pass "
                    + ", ".join(f"--parameters {p}=..." for p in added)
                    + " (a Ref:: without a default): existing submit scripts break",
                )
            )
    return notes


def _name_for(label: str, env: Environment | None, section: str | None) -> str:
    """The key in the environment file a label came from (labels are keys with ``-`` -> ``_``)."""
    if env is not None and section is not None:
        for key in _section(env, section):
            if key.replace("-", "_") == label:
                return key
    return label


def _section(env: Environment, section: str) -> Mapping[str, Any]:
    if section == "security_groups":
        return env.network.security_groups
    value: Mapping[str, Any] = getattr(env, section)
    return value


def _diff_resource(
    kind_name: str,
    name: str,
    address: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    forces_new: tuple[str, ...],
    default_tags: AttributeChange | None = None,
) -> ResourceChange | None:
    """The change of one resource; ``default_tags`` is added to every taggable one that stays
    (provider ``default_tags`` reach its ``tags_all``)."""
    if old is None and new is None:
        return None
    if old is None:
        return ResourceChange(kind_name, name, address, "create")
    if new is None:
        return ResourceChange(kind_name, name, address, "delete")
    attributes = _attribute_changes(old, new)
    if default_tags is not None and "tags" in new:
        attributes.append(default_tags)
    if not attributes:
        return None
    attributes = [
        AttributeChange(c.path, c.old, c.new, c.forces_replacement or _top(c.path) in forces_new)
        for c in attributes
    ]
    action: Action = "replace" if any(c.forces_replacement for c in attributes) else "update"
    return ResourceChange(kind_name, name, address, action, attributes)


def _env_notes(old: Environment, new: Environment) -> list[Note]:
    notes = []
    if old.name != new.name:
        notes.append(
            Note(
                Risk.JOBS,
                f"environment name {old.name} -> {new.name}: every AWS name changes, so "
                "Terraform replaces every resource, and the output directory moves to "
                f"generated/{new.name}/ (a new root module with its own state)",
            )
        )
    if old.region != new.region:
        notes.append(
            Note(
                Risk.JOBS,
                f"region {old.region} -> {new.region}: everything is created anew in "
                f"{new.region} and destroyed in {old.region}",
            )
        )
    if old.tags != new.tags:
        notes.append(
            Note(
                Risk.NOTE,
                "environment tags change: every taggable resource's tags_all is updated in "
                "place (provider default_tags); compute environments also tag their instances "
                "with them, which replaces any compute environment that cannot be updated in "
                "place",
            )
        )
    if old.terraform.backend != new.terraform.backend:
        notes.append(
            Note(
                Risk.FAILS,
                "the Terraform backend changes: run `terraform init -migrate-state` before "
                "the next plan, or Terraform starts from empty state and tries to create "
                "everything again",
            )
        )
    return notes


def diff_environments(old: Environment | None, new: Environment) -> EnvironmentDiff:
    """What changes in AWS when ``old`` (``None``: a new file) is replaced by ``new``."""
    old_plan: PlanFiles = build_plan(old, "old").files if old is not None else {}
    new_plan = build_plan(new, "new").files
    old_files, new_files = file_contexts(old_plan), file_contexts(new_plan)
    result = EnvironmentDiff(old.name if old else None, new.name)
    if old is not None:
        result.notes = _env_notes(old, new)

    default_tags = None
    if old is not None and old.tags != new.tags:
        default_tags = AttributeChange(
            "tags_all (environment tags)",
            _display(dict(sorted(old.tags.items()))),
            _display(dict(sorted(new.tags.items()))),
        )

    replaced: set[str] = set()  # addresses whose id changes
    versioned: set[str] = set()  # launch templates that get a new version

    for key, address, kind_name, forces_new in SINGLETONS:
        old_ctx = (old_files.get("network.tf") or {}).get(key)
        new_ctx = (new_files.get("network.tf") or {}).get(key)
        change = _diff_resource(
            kind_name, address.split(".")[1], address, old_ctx, new_ctx, forces_new, default_tags
        )
        if change is not None:
            result.changes.append(change)
            if change.action in ("replace", "delete"):
                replaced.add(address)

    old_ces = old_plan.get("compute_environments.tf")
    new_ces = new_plan.get("compute_environments.tf")
    old_amis = {a["label"]: a for a in (old_ces["ssm_amis"] if old_ces else [])}
    for ami in new_ces["ssm_amis"] if new_ces else []:
        before = old_amis.get(ami["label"])
        if before is not None and before["name"] != ami["name"]:
            replaced.add(f"data.aws_ssm_parameter.{ami['label']}")

    ce_names = {
        f"aws_batch_compute_environment.{k.replace('-', '_')}": k
        for env in (old, new)
        if env is not None
        for k in env.compute_environments
    }
    for kind in KINDS:
        olds, news = _resources(old_files, kind), _resources(new_files, kind)
        for label in sorted(set(olds) | set(news)):
            address = f"{kind.tf_type}.{label}"
            new_ctx = _mark(news[label], replaced, versioned) if label in news else None
            name = _name_for(label, new if label in news else old, kind.model_section)
            change = _diff_resource(
                kind.kind, name, address, olds.get(label), new_ctx, kind.forces_new, default_tags
            )
            if change is None:
                continue
            if kind.tf_type == "aws_batch_compute_environment" and change.action == "update":
                assert new_ctx is not None
                change.attributes = _mark_ce_replacements(
                    cast(ComputeEnvironmentEntry, olds[label]),
                    cast(ComputeEnvironmentEntry, new_ctx),
                    change.attributes,
                )
                if any(c.forces_replacement for c in change.attributes):
                    change.action = "replace"
            _annotate(change, kind, olds.get(label), new_ctx, old, new, ce_names, versioned)
            if change.action in ("replace", "delete"):
                replaced.add(address)
            result.changes.append(change)
    return result


def _annotate(
    change: ResourceChange,
    kind: _Kind,
    old_ctx: Mapping[str, Any] | None,
    new_ctx: Mapping[str, Any] | None,
    old_env: Environment | None,
    new_env: Environment,
    ce_names: Mapping[str, str],
    versioned: set[str],
) -> None:
    """Add what the change means for jobs and capacity, and record launch template versions."""
    tf_type = kind.tf_type
    if tf_type == "aws_launch_template" and change.action == "update":
        content = [c for c in change.attributes if not _top(c.path).startswith("tags")]
        if content:
            versioned.add(change.address)
            change.notes.append(
                Note(
                    Risk.NOTE,
                    "a new template version is created; compute environments using it pin the "
                    "new latest_version, which is an infrastructure update (or a replacement) "
                    "of each of them",
                )
            )
    if tf_type == "aws_batch_compute_environment":
        if change.action in ("update", "replace") and old_ctx is not None and new_ctx is not None:
            change.notes.extend(
                _ce_notes(
                    cast(ComputeEnvironmentEntry, old_ctx),
                    cast(ComputeEnvironmentEntry, new_ctx),
                    change,
                )
            )
        elif change.action == "delete":
            change.notes.append(Note(Risk.JOBS, "deleted: jobs still running in it are terminated"))
        elif change.action == "create" and new_ctx is not None:
            attrs = cast(ComputeEnvironmentEntry, new_ctx)["compute_resources"]["attrs"]
            change.notes.append(
                Note(
                    Risk.CAPACITY,
                    f"new capacity: {attrs.get('min_vcpus', 0)}-{attrs.get('max_vcpus')} vCPUs",
                )
            )
    if tf_type == "aws_batch_job_queue":
        if change.action in ("update", "replace") and old_ctx is not None and new_ctx is not None:
            change.notes.extend(
                _queue_notes(
                    cast(JobQueueEntry, old_ctx),
                    cast(JobQueueEntry, new_ctx),
                    change.address,
                    ce_names,
                )
            )
        elif change.action == "delete":
            change.notes.append(
                Note(
                    Risk.JOBS,
                    "deleted: Terraform disables it first; jobs still queued are lost and "
                    "submissions to it fail",
                )
            )
    if tf_type == "aws_batch_job_definition" and change.action == "update":
        content = [c for c in change.attributes if not _top(c.path).startswith("tags")]
        if content:
            change.notes.extend(_job_notes(old_env, new_env, change.name))
    if tf_type == "aws_batch_job_definition" and change.action == "delete":
        change.notes.append(
            Note(Risk.JOBS, "deregistered: submissions that name it fail from now on")
        )


# --- output -----------------------------------------------------------------------------------

_VERBS: dict[Action, str] = {
    "create": "will be created",
    "update": "will be updated in place",
    "replace": "will be REPLACED",
    "delete": "will be DELETED",
}
_SYMBOLS: dict[Action, str] = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def summary_line(d: EnvironmentDiff) -> str:
    if not d.changes:
        return "No changes to AWS resources."
    counts = ", ".join(f"{d.count(a)} to {a}" for a in ("create", "update", "replace", "delete"))
    return f"Plan: {counts}."


def _risk_lines(d: EnvironmentDiff) -> Iterable[tuple[Risk, str]]:
    for resource, note in d.all_notes:
        if note.risk == Risk.NOTE:
            continue
        where = f"{resource.kind} '{resource.name}': " if resource is not None else ""
        yield note.risk, where + note.text


def format_text(d: EnvironmentDiff, old_label: str, new_label: str) -> str:
    lines = [f"batchform diff {old_label} -> {new_label} (environment {d.new_name})", ""]
    risks = list(_risk_lines(d))
    if risks:
        lines.append("Needs attention:")
        lines += [f"  [{risk}] {text}" for risk, text in risks]
        lines.append("")
    for note in d.notes:
        if note.risk == Risk.NOTE:
            lines.append(f"Note: {note.text}")
    for c in d.changes:
        lines.append(f"{_SYMBOLS[c.action]} {c.kind} '{c.name}' ({c.address}) {_VERBS[c.action]}")
        for a in c.attributes:
            forces = "  # forces replacement" if a.forces_replacement else ""
            lines.append(f"      {a.path}: {a.old} -> {a.new}{forces}")
        for n in c.notes:
            lines.append(f"      ({n.risk}) {n.text}")
    if d.changes:
        lines.append("")
    lines.append(summary_line(d))
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_code(text: str) -> str:
    """Inline code that survives backticks in the value."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_MD_ICONS: dict[Action, str] = {
    "create": ":heavy_plus_sign: create",
    "update": ":arrows_counterclockwise: update",
    "replace": ":warning: **REPLACE**",
    "delete": ":wastebasket: **delete**",
}
_MD_RISK: dict[Risk, str] = {
    Risk.FAILS: ":no_entry: apply fails",
    Risk.JOBS: ":warning: running jobs",
    Risk.CAPACITY: ":chart_with_upwards_trend: capacity",
    Risk.NOTE: ":information_source: note",
}


def format_markdown(d: EnvironmentDiff, old_label: str, new_label: str) -> str:
    """A pull-request comment: the verdict first, then one table row per resource."""
    lines = [
        f"### batchform diff: `{d.new_name}`",
        "",
        f"{_md_code(old_label)} → {_md_code(new_label)}. **{summary_line(d)}**",
        "",
    ]
    risks = list(_risk_lines(d))
    if risks:
        lines.append("**Needs attention**")
        lines.append("")
        lines += [f"- {_MD_RISK[risk]}: {_md_cell(text)}" for risk, text in risks]
        lines.append("")
    for note in d.notes:
        if note.risk == Risk.NOTE:
            lines += [f"> :information_source: {_md_cell(note.text)}", ""]
    if d.changes:
        lines += ["| action | resource | address | what changes |", "|---|---|---|---|"]
        for c in d.changes:
            details = []
            for a in c.attributes:
                forces = " **(forces replacement)**" if a.forces_replacement else ""
                details.append(f"{_md_code(a.path)}: {_md_code(a.old)} → {_md_code(a.new)}{forces}")
            details += [f"{_MD_RISK[n.risk]}: {n.text}" for n in c.notes]
            lines.append(
                f"| {_MD_ICONS[c.action]} | {_md_cell(c.kind)} `{_md_cell(c.name)}` "
                f"| `{c.address}` | {_md_cell('<br>'.join(details))} |"
            )
        lines.append("")
    lines.append(
        "<sub>From the two environment files alone (no AWS access, no Terraform state): "
        "`terraform plan` remains the authority.</sub>"
    )
    return "\n".join(lines) + "\n"


# --- input at the edge: an environment file as it was at a git revision ---------------------


class GitError(RuntimeError):
    """``git show`` failed for a reason other than the file not existing at that revision."""


# git's messages are parsed below ("does not exist in"), so git must speak English whatever the
# user's locale: LC_ALL=C wins over LANG and LC_MESSAGES, and makes gettext ignore LANGUAGE.
GIT_ENVIRONMENT = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C"}


def _check_ref(ref: str) -> None:
    """A revision must never be read as an option (``--output=...``) or carry control
    characters; git itself validates the rest (``git show --end-of-options``)."""
    if not ref or ref.startswith("-"):
        raise GitError(f"{ref!r} is not a git revision (a revision cannot start with '-')")
    if any(not c.isprintable() or c.isspace() for c in ref):
        raise GitError(f"{ref!r} is not a git revision (it contains spaces or control characters)")


def _decode(data: bytes, label: str) -> str:
    """UTF-8 text of a file read from git, or a BF004 error at the line and column (in
    characters) of the first byte that is not UTF-8."""
    from compiler.diagnostics import BatchformError, Diagnostic, Level
    from compiler.loader import CODE_UNREADABLE

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")) + 1
        raise BatchformError(
            [
                Diagnostic(
                    CODE_UNREADABLE,
                    Level.ERROR,
                    f"cannot read file: byte 0x{data[exc.start]:02x} is not UTF-8",
                    file=label,
                    line=line,
                    col=col,
                    hint="environment files are UTF-8; the old revision has another encoding",
                )
            ]
        ) from None


def read_at_git_ref(ref: str, path: str) -> str | None:
    """The text of ``path`` at git revision ``ref`` (``None`` if the file did not exist then).

    ``git show REF:./name`` run in the file's own directory resolves the path relative to it, so
    this works from any working directory and inside any repository layout. Raises
    :class:`GitError` when git fails, and ``BatchformError`` (BF004, located) when the old file
    is not UTF-8.
    """
    import os
    import subprocess
    from pathlib import Path

    _check_ref(ref)
    file = Path(path)
    directory = file.parent if str(file.parent) else Path(".")
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "show", "--end-of-options", f"{ref}:./{file.name}"],
            capture_output=True,
            check=False,
            env={**os.environ, **GIT_ENVIRONMENT},
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if result.returncode == 0:
        return _decode(result.stdout, f"{ref}:{path}")
    message = result.stderr.decode("utf-8", errors="replace").strip()
    if "does not exist in" in message or "exists on disk, but not in" in message:
        return None
    raise GitError(f"git show {ref}:{path} failed: {message}")
