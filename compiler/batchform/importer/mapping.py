"""Deployed compute environments, scheduling policies and job queues -> the file's keys.

Pure functions over the API's answers (:class:`~batchform.importer.read.Snapshot`), so every
rule here is unit-tested with plain dicts. The principle: write what the format can say in
its own words (``network.vpc.existing``, security group ids, role ARNs, durations with units,
``aws_name`` with the exact name so nothing is renamed), and record everything else as a
:class:`~batchform.importer.result.LeftOut` at the place it belongs, never drop it silently.

The API shapes cited are those of the AWS Batch API reference:
https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeEnvironmentDetail.html,
https://docs.aws.amazon.com/batch/latest/APIReference/API_JobQueueDetail.html,
https://docs.aws.amazon.com/batch/latest/APIReference/API_SchedulingPolicyDetail.html.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from batchform import naming
from batchform.importer.read import Snapshot
from batchform.importer.result import Adopted, Adoption
from batchform.model import KEY_PATTERN, NAME_PATTERN
from batchform.units import format_duration

SERVICE_LINKED_MARKER = ":role/aws-service-role/batch.amazonaws.com/"
"""A CE's ``serviceRole`` with this in it is Batch's service-linked role (the file's
``service-linked``, the default), as the provider's ``isServiceLinkedRole`` decides too."""

MANAGED_TAG_PREFIXES = ("aws:", "batchform:")
"""Tags nobody writes in a file: ``aws:`` tags belong to AWS (they cannot be set), and
``batchform:`` tags are what batchform adds to everything it manages anyway."""

_KEY_PATTERN = re.compile(KEY_PATTERN.removesuffix("$") + r"\Z")
TERRAFORM_SUFFIX = re.compile(r"-\d{18}[0-9a-f]{8}\Z")
"""The unique suffix Terraform appends to a ``name_prefix``: a UTC timestamp to the 1/10000 s
(18 digits) and a counter as 8 *hex* digits (``PrefixedUniqueId`` in
helper/resource/id.go of hashicorp/terraform, helper/id in terraform-plugin-sdk), so the
eleventh name one apply makes ends in ``0000000b``. A compute environment batchform (or other
Terraform) made from a prefix gets its key from the prefix alone."""


# --- names -----------------------------------------------------------------------------------


def key_for(
    name: str, env_name: str, taken: Iterable[str], tags: Mapping[str, Any] | None = None
) -> str:
    """A file key (``^[a-z][a-z0-9-]{0,31}$``) for an AWS name, unique among ``taken``.

    A resource batchform made carries its key in its ``batchform:key`` tag (beside
    ``batchform:environment``, compiler/batchform/naming.py): when the environment is this one
    and the key is free, it is kept, so a re-import gives back the file's keys and with them
    the Terraform addresses and the tags batchform writes (a key read from the name would turn
    ``spot`` with ``aws_name_prefix: lab-`` into ``lab-spot``). Otherwise ``<env>-`` at the
    start is dropped (``research-high`` in environment ``research`` is ``high``), and so is a
    Terraform name-prefix suffix; other characters become ``-``; a clash gets ``-2``, ``-3``.
    The exact name stays in ``aws_name``, so the key only has to be readable.
    """
    own = str((tags or {}).get(naming.TAG_KEY, ""))
    if (
        (tags or {}).get(naming.TAG_ENVIRONMENT) == env_name
        and _KEY_PATTERN.match(own)
        and own not in set(taken)
    ):
        return own
    text = TERRAFORM_SUFFIX.sub("", name.lower())
    prefix = f"{env_name}-"
    if text.startswith(prefix) and len(text) > len(prefix):
        text = text[len(prefix) :]
    text = re.sub(r"[^a-z0-9-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if not text or not text[0].isalpha():
        text = f"x-{text}".rstrip("-")
    text = text[:32].rstrip("-")
    used = set(taken)
    candidate, n = text, 2
    while candidate in used:
        suffix = f"-{n}"
        candidate = f"{text[: 32 - len(suffix)].rstrip('-')}{suffix}"
        n += 1
    assert _KEY_PATTERN.match(candidate), candidate
    return candidate


PREFIX_TEXT = re.compile(r"[A-Za-z0-9_-]+\Z")


def compute_environment_naming(name: str, key: str, env_name: str) -> dict[str, str]:
    """How the file names a compute environment called ``name`` under ``key``.

    A name Terraform made from a prefix (``<prefix><key>-`` and its unique suffix, as
    batchform names every compute environment it creates) is written as that prefix: nothing
    for batchform's own ``<name>-``, else ``aws_name_prefix``. The provider sets the state's
    ``compute_environment_name_prefix`` from the imported name, so the first plan changes
    nothing, and later replacements still create the new compute environment before
    destroying the old one (an exact name cannot: two cannot share it). Any other name is
    kept exactly, as ``aws_name``.
    """
    stem = TERRAFORM_SUFFIX.sub("", name)
    if stem != name and stem.endswith(key):
        prefix = stem[: len(stem) - len(key)]
        if prefix == naming.aws_name(env_name, ""):
            return {}
        if PREFIX_TEXT.match(prefix):
            return {"aws_name_prefix": prefix}
    return {"aws_name": name}


def environment_name(
    names: list[str], given: str | None, tagged: Sequence[Mapping[str, Any] | None] = ()
) -> str:
    """``--name``; or the ``batchform:environment`` tag every queue carries (an environment
    batchform made: its own name, so its keys and AWS names line up again); or the
    dash-separated prefix every queue name shares (``research`` for ``research-high`` and
    ``research-low``); or ``imported``."""
    if given:
        return given
    envs = {str((tags or {}).get(naming.TAG_ENVIRONMENT, "")) for tags in tagged}
    if len(envs) == 1 and re.match(NAME_PATTERN, own := envs.pop()):
        return own
    parts = [n.lower().split("-") for n in names if n]
    common: list[str] = []
    for words in zip(*parts, strict=False) if parts else ():
        if len(set(words)) != 1:
            break
        common.append(words[0])
    if len(parts) == 1:
        common = common[:-1] or common
    candidate = re.sub(r"[^a-z0-9-]+", "-", "-".join(common)).strip("-")[:28].rstrip("-")
    return candidate if re.match(NAME_PATTERN, candidate) else "imported"


def arn_name(arn: str) -> str:
    """The last part of an ARN: a role's, a policy's or a queue's name."""
    return arn.rsplit("/", 1)[-1]


# --- tags ------------------------------------------------------------------------------------


def user_tags(tags: dict[str, Any] | None) -> dict[str, str]:
    """A resource's tags without those nobody writes (:data:`MANAGED_TAG_PREFIXES`)."""
    return {
        str(k): str(v)
        for k, v in sorted((tags or {}).items())
        if not str(k).startswith(MANAGED_TAG_PREFIXES)
    }


def common_tags(tag_sets: list[dict[str, str]]) -> dict[str, str]:
    """The tags every resource carries with the same value: the file's ``tags``."""
    if not tag_sets:
        return {}
    first, *rest = tag_sets
    return {k: v for k, v in first.items() if all(other.get(k) == v for other in rest)}


def own_tags(tags: dict[str, str], common: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if common.get(k) != v}


def adopted_entry(
    entry: dict[str, Any],
    live_tags: dict[str, Any] | None,
    common: dict[str, str],
    adoption: Adoption,
    adopted: Adopted,
) -> dict[str, Any]:
    """``entry`` finished the same way for every kind of resource: the tags it carries beyond
    the file's ``tags`` (last, where a person writes them), and the ``import`` block that hands
    it to the compiled module."""
    tags = own_tags(user_tags(live_tags), common)
    if tags:
        entry["tags"] = tags
    adoption.adopted.append(adopted)
    return entry


# --- network and IAM -------------------------------------------------------------------------


def network(snapshot: Snapshot, adoption: Adoption) -> dict[str, Any]:
    """``network.vpc.existing`` from the compute environments' subnets.

    Each compute environment lists its own subnet ids, so the VPC's lists name the subnets in
    use (as private subnets: batchform creates no route for them and only passes them on).
    A file describes one VPC; subnets of another VPC are left out at their compute
    environment.
    """
    vpcs = sorted({str(s.get("VpcId")) for s in snapshot.subnets.values() if s.get("VpcId")})
    subnet_ids = sorted(snapshot.subnets)
    if not vpcs:
        # nothing to find a VPC from (only Fargate CEs whose subnets vanished, or no CE):
        # the file still needs one, so take the first CE's subnets as they are
        subnet_ids = sorted(
            {
                str(s)
                for ce in snapshot.compute_environments
                for s in ce.get("computeResources", {}).get("subnets", [])
            }
        )
        vpc_id = "vpc-00000000"
        adoption.leave_out(
            ("network",),
            "network",
            "vpc_id",
            "no subnet of a compute environment could be read, so the VPC is unknown; "
            "write its id here",
        )
    else:
        vpc_id = vpcs[0]
        if len(vpcs) > 1:
            adoption.leave_out(
                ("network",),
                "network",
                f"subnets of {len(vpcs)} VPCs ({', '.join(vpcs)})",
                f"an environment file describes one VPC; {vpc_id} is used",
            )
        subnet_ids = [s for s in subnet_ids if snapshot.subnets[s].get("VpcId") == vpc_id]
    return {"vpc": {"existing": {"vpc_id": vpc_id, "private_subnets": subnet_ids}}}


def _one_value(
    values: dict[str, str], setting: str, default: str, adoption: Adoption, what: str
) -> str:
    """An environment-wide IAM setting from the value of each resource that has one: one
    value for all is exact; several are left out at the resources that differ."""
    distinct = sorted(set(values.values()))
    if not distinct:
        return default
    chosen = max(distinct, key=lambda v: (list(values.values()).count(v), v))
    for resource, value in sorted(values.items()):
        if value != chosen:
            adoption.leave_out(
                ("iam", setting),
                resource,
                f"{what} {value}",
                f"`iam.{setting}` is one value for the whole file; {chosen} is used",
            )
    return chosen


def iam(snapshot: Snapshot, adoption: Adoption, execution_roles: dict[str, str]) -> dict[str, Any]:
    """``iam``: the roles the compute environments and job definitions use, as ARNs (Batch's
    service-linked role as ``service-linked``), so batchform generates no role."""
    service: dict[str, str] = {}
    instance: dict[str, str] = {}
    fleet: dict[str, str] = {}
    for ce in snapshot.compute_environments:
        name = f"compute environment {ce['computeEnvironmentName']}"
        role = str(ce.get("serviceRole") or "")
        service[name] = "service-linked" if not role or SERVICE_LINKED_MARKER in role else role
        resources = ce.get("computeResources", {})
        if resources.get("instanceRole"):
            instance[name] = instance_profile_arn(str(resources["instanceRole"]), ce)
        if resources.get("spotIamFleetRole"):
            fleet[name] = str(resources["spotIamFleetRole"])
    out: dict[str, Any] = {
        "service_role": _one_value(
            service, "service_role", "service-linked", adoption, "service role"
        ),
    }
    if instance:
        out["instance_role"] = _one_value(
            instance, "instance_role", "", adoption, "instance profile"
        )
    if fleet:
        out["spot_fleet_role"] = _one_value(
            fleet, "spot_fleet_role", "", adoption, "Spot Fleet role"
        )
    if execution_roles:
        out["execution_role"] = _one_value(
            execution_roles, "execution_role", "", adoption, "execution role"
        )
    return out


def instance_profile_arn(value: str, ce: dict[str, Any]) -> str:
    """``instanceRole`` as the file takes it, an instance-profile ARN: AWS also accepts (and
    returns) a bare profile name, which becomes the ARN in the CE's account and partition."""
    if value.startswith("arn:"):
        return value
    parts = str(ce.get("computeEnvironmentArn", "")).split(":")
    if len(parts) < 5:
        return value
    return f"arn:{parts[1]}:iam::{parts[4]}:instance-profile/{value}"


# --- compute environments --------------------------------------------------------------------

FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")


def _durations(seconds: int) -> str | int:
    return format_duration(seconds) if seconds else 0


def compute_environment(
    ce: dict[str, Any],
    key: str,
    snapshot: Snapshot,
    adoption: Adoption,
    common: dict[str, str],
    amis: dict[str, dict[str, str]],
) -> dict[str, Any] | None:
    """One compute environment's entry, or ``None`` for one the format cannot hold."""
    name = str(ce["computeEnvironmentName"])
    where = ("compute_environments", key)
    resource = f"compute environment {key}"
    resources = ce.get("computeResources") or {}
    if ce.get("type") != "MANAGED" or not resources:
        adoption.leave_out(
            ("compute_environments",),
            resource,
            f"type {ce.get('type')}",
            "only MANAGED compute environments can be written; it stays outside batchform",
        )
        return None
    if ce.get("eksConfiguration"):
        adoption.leave_out(
            ("compute_environments",),
            resource,
            "eksConfiguration",
            "compute environments on EKS cannot be written; it stays outside batchform",
        )
        return None
    kind = str(resources.get("type"))
    env_name = str(adoption.document.get("name"))
    entry: dict[str, Any] = {**compute_environment_naming(name, key, env_name), "type": kind}
    fargate = kind in FARGATE_TYPES
    if not fargate:
        if resources.get("allocationStrategy"):
            entry["allocation_strategy"] = resources["allocationStrategy"]
        if kind == "SPOT" and resources.get("bidPercentage") is not None:
            entry["bid_percentage"] = int(resources["bidPercentage"])
        entry["min_vcpus"] = int(resources.get("minvCpus", 0))
    entry["max_vcpus"] = int(resources.get("maxvCpus", 0))
    if not fargate:
        types = [str(t) for t in resources.get("instanceTypes", [])]
        if types and types != ["optimal"]:
            entry["instance_types"] = types
        _images(resources, key, entry, amis, adoption, resource)
        _launch_template(resources, key, entry, snapshot, adoption, resource)
        if resources.get("ec2KeyPair"):
            entry["ec2_key_pair"] = resources["ec2KeyPair"]
        if resources.get("placementGroup"):
            entry["placement_group"] = resources["placementGroup"]
        instance_tags = user_tags(resources.get("tags"))
        if instance_tags:
            entry["instance_tags"] = instance_tags
    entry["subnets"] = [str(s) for s in resources.get("subnets", [])]
    vpc = _vpc_of(snapshot, entry["subnets"])
    if vpc is not None and vpc != _file_vpc(snapshot):
        adoption.leave_out((*where, "subnets"), resource, f"subnets in {vpc}", "not the file's VPC")
    groups = [str(g) for g in resources.get("securityGroupIds", [])]
    if groups:
        entry["security_groups"] = groups
    else:
        adoption.leave_out(
            (*where,),
            resource,
            "no security groups",
            "batchform gives a compute environment without groups its `<name>-batch` group",
        )
    if ce.get("state") and ce["state"] != "ENABLED":
        entry["state"] = ce["state"]
    policy = ce.get("updatePolicy")
    if policy:
        entry["update_policy"] = {
            "terminate_jobs_on_update": bool(policy.get("terminateJobsOnUpdate", False)),
            "job_execution_timeout": _durations(
                int(policy.get("jobExecutionTimeoutMinutes", 30)) * 60
            ),
        }
    return adopted_entry(
        entry,
        ce.get("tags"),
        common,
        adoption,
        Adopted("compute_environments", key, "aws_batch_compute_environment", name, name),
    )


def _file_vpc(snapshot: Snapshot) -> str | None:
    vpcs = sorted({str(s.get("VpcId")) for s in snapshot.subnets.values() if s.get("VpcId")})
    return vpcs[0] if vpcs else None


def _vpc_of(snapshot: Snapshot, subnets: list[str]) -> str | None:
    vpcs = {str(snapshot.subnets[s].get("VpcId")) for s in subnets if s in snapshot.subnets}
    others = sorted(vpcs - {_file_vpc(snapshot) or ""})
    return others[0] if others else (next(iter(vpcs)) if vpcs else None)


IMAGE_TYPES = ("ECS_AL2", "ECS_AL2_NVIDIA", "ECS_AL2023", "ECS_AL2023_NVIDIA")


def _images(
    resources: dict[str, Any],
    key: str,
    entry: dict[str, Any],
    amis: dict[str, dict[str, str]],
    adoption: Adoption,
    resource: str,
) -> None:
    """``ec2Configuration`` as an ``amis`` entry the CE names. One image type is an
    ``image_type`` AMI; an image id override an ``id`` AMI (batchform pairs it with the image
    type the instance types need, checked by :mod:`batchform.importer.exactness`). The plain
    AL2023 default and several entries are left to the exactness check."""
    configs = resources.get("ec2Configuration") or []
    if len(configs) != 1:
        return
    config = configs[0]
    override = config.get("imageIdOverride")
    image_type = config.get("imageType")
    ami_key = f"{key[:26].rstrip('-')}-image"
    if override:
        entry["ami"] = ami_key
        amis[ami_key] = {"id": str(override)}
    elif image_type in IMAGE_TYPES and image_type != "ECS_AL2023":
        entry["ami"] = ami_key
        amis[ami_key] = {"image_type": str(image_type)}
    if resources.get("imageId") and not override:
        adoption.leave_out(
            ("compute_environments", key),
            resource,
            f"imageId {resources['imageId']}",
            "batchform sets images through ec2Configuration (the deprecated imageId is dropped)",
        )


def _launch_template(
    resources: dict[str, Any],
    key: str,
    entry: dict[str, Any],
    snapshot: Snapshot,
    adoption: Adoption,
    resource: str,
) -> None:
    """An existing launch template: ``{id, version}`` with the version as a number (Batch
    resolves ``$Latest``/``$Default`` only when the CE is created or updated, so the number is
    what the CE runs: https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html).
    """
    spec = resources.get("launchTemplate")
    if not spec:
        return
    ref = spec.get("launchTemplateId") or spec.get("launchTemplateName")
    template = snapshot.launch_templates.get(str(ref))
    version = str(spec.get("version") or "$Default")
    if template is not None and version in ("$Latest", "$Default"):
        number = template.get(
            "LatestVersionNumber" if version == "$Latest" else "DefaultVersionNumber"
        )
        adoption.leave_out(
            ("compute_environments", key, "launch_template"),
            resource,
            f"launch template version {version}",
            f"written as the number it stands for now ({number}); the provider then plans "
            "an update of the compute environment",
        )
        version = str(number)
    # The form the compute environment was given (Batch returns it as given): an id for a
    # template given by name makes the first plan an update of the compute environment
    # (launch_template_name -> launch_template_id, seen with hashicorp/aws 5.100).
    if spec.get("launchTemplateId"):
        entry["launch_template"] = {"id": str(spec["launchTemplateId"]), "version": version}
    else:
        entry["launch_template"] = {"name": str(spec.get("launchTemplateName")), "version": version}


# --- scheduling policies and job queues ------------------------------------------------------


def scheduling_policy(
    policy: dict[str, Any], key: str, adoption: Adoption, common: dict[str, str]
) -> dict[str, Any]:
    name = str(policy["name"])
    fair = policy.get("fairsharePolicy") or {}
    entry: dict[str, Any] = {"aws_name": name}
    decay = int(fair.get("shareDecaySeconds", 0) or 0)
    if decay:
        entry["share_decay"] = _durations(decay)
    reservation = int(fair.get("computeReservation", 0) or 0)
    if reservation:
        entry["compute_reservation"] = reservation
    shares = [
        {"identifier": str(s["shareIdentifier"]), "weight": float(s.get("weightFactor", 1.0))}
        for s in fair.get("shareDistribution", []) or []
    ]
    if shares:
        entry["shares"] = shares
    arn = str(policy["arn"])
    adopted = Adopted("scheduling_policies", key, "aws_batch_scheduling_policy", arn, name)
    return adopted_entry(entry, policy.get("tags"), common, adoption, adopted)


def job_queue(
    queue: dict[str, Any],
    key: str,
    ce_keys: dict[str, str],
    policy_keys: dict[str, str],
    adoption: Adoption,
    common: dict[str, str],
) -> dict[str, Any] | None:
    name = str(queue["jobQueueName"])
    resource = f"job queue {key}"
    order = sorted(queue.get("computeEnvironmentOrder", []), key=lambda o: int(o["order"]))
    ces = [
        ce_keys[str(o["computeEnvironment"])]
        for o in order
        if str(o["computeEnvironment"]) in ce_keys
    ]
    if len(ces) != len(order) or not ces:
        adoption.leave_out(
            ("job_queues",),
            resource,
            "compute environments that cannot be written",
            "a queue needs its compute environments in the file; it stays outside batchform",
        )
        return None
    entry: dict[str, Any] = {"aws_name": name, "priority": int(queue.get("priority", 0))}
    entry["compute_environments"] = ces
    policy_arn = queue.get("schedulingPolicyArn")
    if policy_arn:
        entry["scheduling_policy"] = policy_keys[str(policy_arn)]
    if queue.get("state") and queue["state"] != "ENABLED":
        entry["state"] = queue["state"]
    actions = [
        {
            "reason": str(a["reason"]),
            "after": _durations(int(a["maxTimeSeconds"])),
            "action": str(a.get("action", "CANCEL")),
        }
        for a in queue.get("jobStateTimeLimitActions", []) or []
    ]
    if actions:
        entry["time_limit_actions"] = actions
    if queue.get("jobQueueType") not in (None, "ECS", "FARGATE"):
        adoption.leave_out(
            ("job_queues", key),
            resource,
            f"jobQueueType {queue['jobQueueType']}",
            "batchform writes ECS and Fargate queues only",
        )
    return adopted_entry(
        entry,
        queue.get("tags"),
        common,
        adoption,
        Adopted("job_queues", key, "aws_batch_job_queue", str(queue["jobQueueArn"]), name),
    )
