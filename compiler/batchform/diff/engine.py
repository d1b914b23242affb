"""The diff engine: two plans in, an :class:`~batchform.diff.result.EnvironmentDiff` out.

Compares the render contexts of :mod:`batchform.plan` (exactly the Terraform arguments the
compiler writes, completed by :mod:`batchform.diff.arguments` where a template writes more)
resource by resource, in dependency order, applying the provider's rules
(:mod:`batchform.diff.provider`) and following knock-on changes as ``terraform plan`` does
(:class:`_Renewed`): a replaced VPC, subnet or security group gives its users a new id, a
changed launch template a new version the compute environments pin, a job definition's new
revision a new ARN; a replaced role keeps its configured name. The risk notes come from
:mod:`batchform.diff.notes`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from batchform.diff.arguments import inline_policies, policy_attachments
from batchform.diff.notes import (
    _ce_notes,
    _env_notes,
    _job_notes,
    _queue_notes,
    job_definition_name_moved_note,
    name_moved_note,
    role_name_kept_note,
    role_policies_replaced_note,
    security_group_replaced_note,
    subnet_overlap_note,
    subscription_pending_note,
    vpc_replaced_note,
)
from batchform.diff.provider import (
    KINDS,
    NEW_VERSION_SUFFIX,
    _address_of,
    _Kind,
    _mark_ce_replacements,
    _top,
)
from batchform.diff.result import (
    Action,
    AttributeChange,
    EnvironmentDiff,
    Note,
    ResourceChange,
    Risk,
)
from batchform.hcl import Expr
from batchform.model import Environment
from batchform.naming import label as terraform_label
from batchform.plan import build_plan
from batchform.plan.compute import compute_resources_of
from batchform.plan.contract import (
    ComputeEnvironmentEntry,
    JobQueueEntry,
    PlanFiles,
    file_contexts,
)
from batchform.plan.module import is_module
from batchform.refs import ce_subnet_ids


def _resources(files: Mapping[str, Mapping[str, Any]], kind: _Kind) -> dict[str, dict[str, Any]]:
    context = files.get(kind.file) or {}
    if kind.entries is not None:
        entries = kind.entries(context)
    else:
        entries = context.get(kind.context_key) or []
    return {entry["label"]: entry for entry in entries}


class _NewValue(str):
    """A reference whose value changes because the resource it points at changes."""


@dataclass(frozen=True)
class _Renewed:
    """What a planned change does to the attributes of a resource that others reference.

    Terraform plans a replaced resource with the values its configuration sets (``name``:
    a reference to it stays known, and changes only when that argument does) and every computed
    attribute unknown (``id``, ``arn``: every reference to it changes). An update keeps the
    computed attributes, except those the provider renews (a launch template's
    ``latest_version``, a job definition's ``arn``: ``computed``, with the text to show)."""

    replaced: bool
    arguments: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()
    computed: Mapping[str, str] = field(default_factory=dict)


def _attribute_of(expr: str, address: str) -> str:
    rest = expr[len(address) + 1 :]
    return rest.split(".", 1)[0].split("[", 1)[0]


def _mark(value: Any, renewed: Mapping[str, _Renewed]) -> Any:
    """``value`` with every reference whose value the planned changes renew marked as new."""
    if isinstance(value, Expr):
        address = _address_of(value)
        found = renewed.get(address)
        if found is None:
            return value
        attribute = _attribute_of(value, address)
        configured = attribute in found.arguments
        if found.replaced and (attribute in found.changed or not configured):
            return _NewValue(f"{value} (new: {address} is replaced)")
        if attribute in found.changed:
            return _NewValue(f"{value} (new: {address}.{attribute} changes)")
        if attribute in found.computed:
            return _NewValue(f"{value}{found.computed[attribute]}")
        return value
    if isinstance(value, Mapping):
        return {k: _mark(v, renewed) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark(v, renewed) for v in value]
    return value


def _renewal(change: ResourceChange, new: Mapping[str, Any] | None) -> _Renewed | None:
    """What ``change`` renews for the resources referring to its resource."""
    if change.action in ("replace", "delete"):
        return _Renewed(
            True,
            frozenset(new or ()),
            frozenset(_top(c.path) for c in change.attributes),
        )
    if change.action != "update":
        return None
    computed: dict[str, str] = {}
    content = [c for c in change.attributes if not _top(c.path).startswith("tags")]
    if content and change.address.startswith("aws_launch_template."):
        computed["latest_version"] = NEW_VERSION_SUFFIX
    if content and change.address.startswith("aws_batch_job_definition."):
        # the provider marks arn, revision and id unknown for a change that registers a new
        # revision (jobDefinitionCustomizeDiff, internal/service/batch/job_definition.go)
        for attribute in ("arn", "revision", "id"):
            computed[attribute] = NEW_REVISION_SUFFIX
    return _Renewed(
        False,
        frozenset(new or ()),
        frozenset(_top(c.path) for c in change.attributes),
        computed,
    )


NEW_REVISION_SUFFIX = " (new revision)"


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


# Context keys that are no resource argument: the label, and meta-arguments (a change to
# them changes no resource in AWS: ``depends_on`` orders, ``replace_triggered_by`` is a
# lifecycle setting).
NOT_ARGUMENTS = ("label", "replace_triggered_by", "depends_on")


def _attribute_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[AttributeChange]:
    old_flat = dict(_flatten({k: v for k, v in old.items() if k not in NOT_ARGUMENTS}))
    new_flat = dict(_flatten({k: v for k, v in new.items() if k not in NOT_ARGUMENTS}))
    changes = []
    for path in sorted(set(old_flat) | set(new_flat)):
        a, b = old_flat.get(path), new_flat.get(path)
        if _display(a) != _display(b) or isinstance(b, _NewValue):
            changes.append(AttributeChange(path, _display(a), _display(b)))
    return changes


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
    one_of: tuple[str, ...] = (),
) -> ResourceChange | None:
    """The change of one resource; ``default_tags`` is added to every taggable one that stays
    (provider ``default_tags`` reach its ``tags_all``); ``one_of`` names mappings that hold
    exactly one argument of several, where setting another one replaces the resource."""
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
        AttributeChange(
            c.path,
            c.old,
            c.new,
            c.forces_replacement or _forces_new(c, forces_new) or _other_one_of(c, one_of),
        )
        for c in attributes
    ]
    action: Action = "replace" if any(c.forces_replacement for c in attributes) else "update"
    return ResourceChange(kind_name, name, address, action, attributes)


_EMPTY = ("(none)", "[]")


def _forces_new(change: AttributeChange, forces_new: tuple[str, ...]) -> bool:
    """Whether a changed path is under a ForceNew argument: a top-level name, or a nested one
    written as a dotted path (``retry_strategy.evaluate_on_exit``). An absent and an empty list
    are the same to the provider (SDKv2 stores no empty list), so that is no change."""
    if _top(change.path) in forces_new:
        return True
    return any(
        "." in nested
        and (change.path == nested or change.path.startswith((f"{nested}.", f"{nested}[")))
        and not (change.old in _EMPTY and change.new in _EMPTY)
        for nested in forces_new
    )


def _other_one_of(change: AttributeChange, one_of: tuple[str, ...]) -> bool:
    """An argument of a one-of mapping set or unset: another argument of the choice is used."""
    return any(
        change.path.startswith(f"{group}.") and "(none)" in (change.old, change.new)
        for group in one_of
    )


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

    renewed: dict[str, _Renewed] = {}  # addresses whose attributes others see change

    old_ces = old_plan.get("compute_environments.tf")
    new_ces = new_plan.get("compute_environments.tf")
    old_amis = {a["label"]: a for a in (old_ces["ssm_amis"] if old_ces else [])}
    for ami in new_ces["ssm_amis"] if new_ces else []:
        before = old_amis.get(ami["label"])
        if before is not None and before["name"] != ami["name"]:
            renewed[f"data.aws_ssm_parameter.{ami['label']}"] = _Renewed(True)

    ce_names = {
        f"aws_batch_compute_environment.{terraform_label(k)}": k
        for env in (old, new)
        if env is not None
        for k in env.compute_environments
    }
    for kind in KINDS:
        olds, news = _resources(old_files, kind), _resources(new_files, kind)
        for label in sorted(set(olds) | set(news)):
            address = f"{kind.tf_type}.{label}"
            new_ctx = _mark(news[label], renewed) if label in news else None
            name = _name_for(label, new if label in news else old, kind.model_section)
            change = _diff_resource(
                kind.kind,
                name,
                address,
                olds.get(label),
                new_ctx,
                kind.forces_new,
                default_tags,
                kind.one_of,
            )
            if kind.tf_type != "aws_batch_compute_environment":  # CEs: _mark_ce_replacements
                change = _triggered(change, kind.kind, name, address, news.get(label), new_ctx)
            if change is None:
                continue
            if kind.tf_type == "aws_batch_compute_environment" and change.action == "update":
                assert new_ctx is not None
                change.attributes = _mark_ce_replacements(
                    cast(ComputeEnvironmentEntry, olds[label]),
                    cast(ComputeEnvironmentEntry, new_ctx),
                    change.attributes,
                    new.terraform.aws_provider,
                )
                if any(c.forces_replacement for c in change.attributes):
                    change.action = "replace"
            _annotate(change, kind, olds.get(label), new_ctx, old, new, ce_names)
            if kind.tf_type == "aws_iam_role" and change.action == "replace":
                _note_role_parts_replaced(change, olds[label], news[label], new_files)
            renewal = _renewal(change, new_ctx)
            if renewal is not None:
                renewed[address] = renewal
            result.changes.append(change)
        if kind.tf_type in NAME_MOVES_CHECKED:
            _mark_name_moves(result, kind, olds, news)
        if kind.tf_type == "aws_subnet" and not renewed.get("aws_vpc.main", _KEPT).replaced:
            _mark_subnet_overlaps(result, olds, news, new)
    _address_in_caller(result, new)
    return result


_KEPT = _Renewed(False)


def _mark_subnet_overlaps(
    result: EnvironmentDiff,
    olds: Mapping[str, Mapping[str, Any]],
    news: Mapping[str, Mapping[str, Any]],
    env: Environment,
) -> None:
    """A subnet created (or replaced) in the same VPC on a CIDR block an old subnet still holds.

    Subnets are carved from the VPC's block by zone count, so a new zone moves the blocks of
    the subnets that stay; EC2 refuses a subnet overlapping one that exists
    (CreateSubnet: ``InvalidSubnet.Conflict``). The old subnet of another address is deleted
    in the same apply with nothing ordering that first; the old subnet of the same address is
    deleted first unless a compute environment created from a name prefix uses it, whose
    ``create_before_destroy`` Terraform passes on to its subnets
    (https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle)."""
    kept_first = _subnets_of_prefixed_ces(env)
    for label, subnet in news.items():
        change = result.change(f"aws_subnet.{label}")
        if change is None or change.action not in ("create", "replace"):
            continue
        block = ipaddress.ip_network(str(subnet["cidr"]))
        holders = [
            (other, str(old["cidr"]))
            for other, old in sorted(olds.items())
            if (other != label or label in kept_first)
            and str(old["cidr"]) != str((news.get(other) or {}).get("cidr"))
            and block.overlaps(ipaddress.ip_network(str(old["cidr"])))
        ]
        if holders:
            change.notes.append(subnet_overlap_note(str(subnet["cidr"]), holders))


def _subnets_of_prefixed_ces(env: Environment) -> set[str]:
    """Labels of the subnets a compute environment without an exact name launches into."""
    return {
        str(ref).split(".")[1]
        for key, ce in env.compute_environments.items()
        if ce.aws_name is None
        for ref in ce_subnet_ids(env, key)
        if isinstance(ref, Expr) and str(ref).startswith("aws_subnet.")
    }


def _triggered(
    change: ResourceChange | None,
    kind_name: str,
    name: str,
    address: str,
    written: Mapping[str, Any] | None,
    new_ctx: Mapping[str, Any] | None,
) -> ResourceChange | None:
    """``change`` made a replacement when the resource's ``lifecycle.replace_triggered_by``
    names an attribute the planned changes renew (a role's ``unique_id`` when it is replaced):
    Terraform then plans the resource replaced, whatever its own arguments do."""
    if written is None or new_ctx is None or (change is not None and change.action != "update"):
        return change
    fired = [
        AttributeChange(f"lifecycle.replace_triggered_by ({trigger})", str(trigger), str(now), True)
        for trigger, now in zip(
            written.get("replace_triggered_by") or [],
            new_ctx.get("replace_triggered_by") or [],
            strict=True,
        )
        if isinstance(now, _NewValue)
    ]
    if not fired:
        return change
    if change is None:
        return ResourceChange(kind_name, name, address, "replace", fired)
    change.action = "replace"
    change.attributes.extend(fired)
    return change


def _note_role_parts_replaced(
    change: ResourceChange,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    files: Mapping[str, Mapping[str, Any]],
) -> None:
    """A role replaced under its name: its policies are replaced with it (their
    ``replace_triggered_by``), and jobs using it are denied while it is gone."""
    if old.get("name") != new.get("name") or any(n.risk == Risk.FAILS for n in change.notes):
        return
    iam = files.get("iam.tf") or {}
    name_ref = f"aws_iam_role.{new['label']}.name"
    parts = [
        f"{tf_type}.{entry['label']}"
        for tf_type, entries in (
            ("aws_iam_role_policy_attachment", policy_attachments(iam)),
            ("aws_iam_role_policy", inline_policies(iam)),
        )
        for entry in entries
        if str(entry["role"]) == name_ref
    ]
    if parts:
        change.notes.append(role_policies_replaced_note(str(new["name"]), parts))


def _address_in_caller(result: EnvironmentDiff, new: Environment) -> None:
    """With ``terraform.output: module`` the resources live in the calling configuration, where
    ``terraform plan`` names them ``module.<label>.<address>`` (the label of the ``module`` block
    the generated README gives): the diff names them the same way, so a reviewer can hold the two
    side by side. Done last, because the comparison itself works on the module's own addresses."""
    if not is_module(new):
        return
    prefix = f"module.{terraform_label(new.name)}."
    for change in result.changes:
        change.address = prefix + change.address


NAME_MOVES_CHECKED = (
    "aws_security_group",
    "aws_scheduler_schedule",
    "aws_batch_compute_environment",
    "aws_batch_job_queue",
    "aws_batch_scheduling_policy",
    "aws_batch_job_definition",
)
"""Kinds whose ``aws_name`` may move from one key to another in one change: AWS refuses a
second resource of one name, or (job definitions) the old key's delete takes the new one's
revision with it."""


def _mark_name_moves(
    result: EnvironmentDiff,
    kind: _Kind,
    olds: Mapping[str, Mapping[str, Any]],
    news: Mapping[str, Mapping[str, Any]],
) -> None:
    """A resource created under a name another key of its kind gives up in the same change."""

    def name(resource: Mapping[str, Any] | None) -> str | None:
        # a compute environment named by a prefix has no exact name to collide with
        value = resource.get("name") if resource is not None else None
        return str(value).lower() if value is not None else None

    given_up = {
        name(old): label
        for label, old in olds.items()
        if name(old) is not None and name(news.get(label)) != name(old)
    }
    for label, new in news.items():
        if name(new) is None or name(olds.get(label)) == name(new):
            continue
        previous = given_up.get(name(new))
        change = result.change(f"{kind.tf_type}.{label}")
        if previous is None or change is None:
            continue
        old_change = result.change(f"{kind.tf_type}.{previous}")
        key = old_change.name if old_change is not None else previous
        if kind.tf_type == "aws_batch_job_definition":
            change.notes.append(job_definition_name_moved_note(str(new["name"]), key))
        else:
            change.notes.append(name_moved_note(kind.kind, str(new["name"]), key))


def _annotate(
    change: ResourceChange,
    kind: _Kind,
    old_ctx: Mapping[str, Any] | None,
    new_ctx: Mapping[str, Any] | None,
    old_env: Environment | None,
    new_env: Environment,
    ce_names: Mapping[str, str],
) -> None:
    """Add what the change means for jobs and capacity."""
    tf_type = kind.tf_type
    if tf_type == "aws_launch_template" and change.action == "update":
        content = [c for c in change.attributes if not _top(c.path).startswith("tags")]
        if content:
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
                    new_env.terraform.aws_provider,
                )
            )
        elif change.action == "delete":
            change.notes.append(Note(Risk.JOBS, "deleted: jobs still running in it are terminated"))
        elif change.action == "create" and new_ctx is not None:
            attrs = compute_resources_of(cast(ComputeEnvironmentEntry, new_ctx))["attrs"]
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
    if tf_type == "aws_batch_job_definition" and change.action in ("update", "replace"):
        # a new name is another job definition (submissions name it anew): nothing to add
        renamed = any(c.forces_replacement and _top(c.path) == "name" for c in change.attributes)
        content = [c for c in change.attributes if not _top(c.path).startswith("tags")]
        if content and not renamed:
            replaced = change.action == "replace"
            change.notes.extend(_job_notes(old_env, new_env, change.name, replaced=replaced))
    own_group = kind.file == "security_groups.tf" and tf_type == "aws_security_group"
    if own_group and change.action == "replace" and old_ctx and new_ctx:
        new_vpc = any(c.path == "vpc_id" for c in change.attributes)
        note = security_group_replaced_note(old_ctx, new_ctx, new_env, change.name, new_vpc)
        if note is not None:
            change.notes.append(note)
    named_once = ("aws_iam_role", "aws_iam_instance_profile")
    if tf_type in named_once and change.action == "replace" and old_ctx and new_ctx:
        note = role_name_kept_note(old_ctx, new_ctx, new_env, kind.kind)
        if note is not None:
            change.notes.append(note)
    if tf_type == "aws_vpc" and change.action == "replace":
        change.notes.append(vpc_replaced_note())
    if tf_type == "aws_sns_topic_subscription" and change.action in ("create", "replace"):
        change.notes.append(subscription_pending_note())
    if tf_type == "aws_batch_job_definition" and change.action == "delete":
        kept = old_env is not None and old_env.job(change.name).keep_old_revisions
        change.notes.append(
            Note(
                Risk.JOBS,
                "deregistered: submissions that name it fail from now on"
                # the provider's delete deregisters every ACTIVE revision of the name
                + (" (every ACTIVE revision, the kept ones too)" if kept else ""),
            )
        )
