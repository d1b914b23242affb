"""Read what is deployed: every Describe/List/Get call the verifier makes lives here.

Calls are grouped by *topic* (``compute_environments``, ``roles``, ...). A topic that fails is
recorded with the operation and AWS's error, and every resource that depends on it is reported
as not checked; the run never stops at the first denied call, so one report says everything that
could not be checked. When an endpoint is unreachable, later calls to that service are not even
attempted (each would wait through its retries for the same answer).

Batch call budget (aws-batch-rules.md, "Describe APIs"): the three Batch describe APIs take up to
100 names per call and pages of up to 100 results.

- Compute environments carry a Terraform-generated suffix, so their names are not known in
  advance: one unfiltered ``DescribeComputeEnvironments`` paginated by 100 returns them all (a
  region holds at most 50 by default, so this is one call) and also reveals tagged extras.
- Job queues: the same, unfiltered (at most 50 per region: one call); names alone would need
  ``ceil(n / 100)`` calls too and could not reveal extras.
- Job definitions: ``DescribeJobDefinitions`` with ``jobDefinitionName`` takes one name per call
  (250 definitions = 250 calls), and ``jobDefinitions`` needs ``name:revision`` and cannot be
  combined with ``status``. ``status=ACTIVE`` paginated by 100 returns every live revision of
  the region in ``ceil(active revisions / 100)`` calls; the provider deregisters superseded
  revisions, so that is ``ceil(job definitions / 100)`` for an account holding one environment.
  The result is filtered by name locally.
- Scheduling policies: ``ListSchedulingPolicies`` (paginated, ARNs whose last part is the name),
  filtered by name, then ``DescribeSchedulingPolicies`` with up to 100 ARNs per call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from compiler.verify.clients import Clients

T = TypeVar("T")

PAGE_SIZE = 100
"""The most names or results a Batch describe call accepts or returns."""

UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


def chunks(items: Sequence[T], size: int = PAGE_SIZE) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class NotFound(Exception):
    """An expected "does not exist" answer (``NoSuchEntity``, ``ParameterNotFound``)."""


@dataclass
class Reader:
    """Runs read calls, turning failures into "could not check" records per topic."""

    clients: Clients
    failures: dict[str, str] = field(default_factory=dict)
    _down: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, topic: str) -> str | None:
        with self._lock:
            return self.failures.get(topic)

    def _record(self, topic: str, message: str) -> None:
        with self._lock:
            self.failures.setdefault(topic, message)

    def read(self, topic: str, service: str, operation: str, call: Callable[[], T]) -> T | None:
        """``call()``, or ``None`` after recording why it could not be made.

        ``NotFound`` passes through: callers turn it into "missing".
        """
        with self._lock:
            down = self._down.get(service)
        if down is not None:
            self._record(topic, f"{service}:{operation} not attempted: {down}")
            return None
        try:
            return call()
        except NotFound:
            raise
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            message = error.get("Message", "")
            self._record(topic, f"{service}:{operation} failed: {code}: {message}".rstrip(": "))
        except UNREACHABLE as exc:
            reason = f"the {service} endpoint is unreachable ({exc})"
            with self._lock:
                self._down.setdefault(service, reason)
            self._record(topic, f"{service}:{operation} failed: {reason}")
        except BotoCoreError as exc:
            self._record(topic, f"{service}:{operation} failed: {exc}")
        return None


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator(operation)
    yield from paginator.paginate(**kwargs, PaginationConfig={"PageSize": PAGE_SIZE})


def _not_found_as(codes: Iterable[str], call: Callable[[], T]) -> T:
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in set(codes):
            raise NotFound(str(exc)) from None
        raise


# --- Batch ------------------------------------------------------------------------------------


def compute_environments(batch: Any) -> list[dict[str, Any]]:
    return [
        ce
        for page in _pages(batch, "describe_compute_environments")
        for ce in page["computeEnvironments"]
    ]


def job_queues(batch: Any) -> list[dict[str, Any]]:
    return [q for page in _pages(batch, "describe_job_queues") for q in page["jobQueues"]]


def active_job_definitions(batch: Any, name_prefix: str) -> list[dict[str, Any]]:
    """Every ACTIVE revision whose name starts with ``name_prefix`` (see the module docstring
    for why this is the fewest calls)."""
    return [
        jd
        for page in _pages(batch, "describe_job_definitions", status="ACTIVE")
        for jd in page["jobDefinitions"]
        if jd["jobDefinitionName"].startswith(name_prefix)
    ]


def scheduling_policies(batch: Any, names: Iterable[str]) -> list[dict[str, Any]]:
    """Policies named in ``names`` or starting with a name's environment prefix: listed, then
    described 100 ARNs at a time."""
    wanted = tuple(names)
    arns = [
        p["arn"]
        for page in _pages(batch, "list_scheduling_policies")
        for p in page["schedulingPolicies"]
        if p["arn"].rsplit("/", 1)[-1].startswith(wanted)
    ]
    found: list[dict[str, Any]] = []
    for part in chunks(arns):
        found += batch.describe_scheduling_policies(arns=part)["schedulingPolicies"]
    return found


# --- EC2 --------------------------------------------------------------------------------------


def tag_filter(key: str, value: str) -> dict[str, Any]:
    return {"Name": f"tag:{key}", "Values": [value]}


def ec2_list(ec2: Any, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """All results of a paginated EC2 describe (EC2 pages hold up to 1000 when asked)."""
    paginator = ec2.get_paginator(operation)
    return [item for page in paginator.paginate(**kwargs) for item in page[result_key]]


def subnets_by_id(ec2: Any, subnet_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Subnets by id; ids that do not exist are simply absent (asked one by one only after
    AWS rejects the batch, so the usual case is one call)."""
    ids = sorted(set(subnet_ids))
    if not ids:
        return {}
    try:
        found = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "InvalidSubnetID.NotFound":
            raise
        found = []
        for sid in ids:
            try:
                found += ec2.describe_subnets(SubnetIds=[sid])["Subnets"]
            except ClientError as one:
                if one.response.get("Error", {}).get("Code") != "InvalidSubnetID.NotFound":
                    raise
    return {s["SubnetId"]: s for s in found}


def images_by_id(ec2: Any, image_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """AMIs by id; a missing or deregistered AMI is absent from the result."""
    ids = sorted(set(image_ids))
    if not ids:
        return {}
    missing = ("InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable")
    try:
        found = ec2.describe_images(ImageIds=ids)["Images"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in missing:
            raise
        found = []
        for image_id in ids:
            try:
                found += ec2.describe_images(ImageIds=[image_id])["Images"]
            except ClientError as one:
                if one.response.get("Error", {}).get("Code") not in missing:
                    raise
    return {i["ImageId"]: i for i in found}


def latest_launch_template_data(ec2: Any, template_id: str) -> dict[str, Any] | None:
    versions = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Latest"]
    )["LaunchTemplateVersions"]
    return versions[0] if versions else None


# --- IAM, logs, SSM ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleInfo:
    name: str
    arn: str
    trust: dict[str, Any]
    managed_policies: tuple[str, ...]  # ARNs
    inline_policies: tuple[str, ...]  # names
    tags: dict[str, str]


def role(iam: Any, name: str) -> RoleInfo:
    """A role with its trust policy and policies; ``NotFound`` when it does not exist."""
    got = _not_found_as(["NoSuchEntity"], lambda: iam.get_role(RoleName=name))["Role"]
    attached = [
        p["PolicyArn"]
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        for p in page["AttachedPolicies"]
    ]
    inline = [
        n
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
        for n in page["PolicyNames"]
    ]
    trust = got.get("AssumeRolePolicyDocument") or {}
    if isinstance(trust, str):  # the raw API URL-encodes it; boto3 usually decodes it already
        trust = json.loads(unquote(trust))
    return RoleInfo(
        name=got["RoleName"],
        arn=got["Arn"],
        trust=trust,
        managed_policies=tuple(sorted(attached)),
        inline_policies=tuple(sorted(inline)),
        tags={t["Key"]: t["Value"] for t in got.get("Tags", [])},
    )


def instance_profile(iam: Any, name: str) -> dict[str, Any]:
    got = _not_found_as(
        ["NoSuchEntity"], lambda: iam.get_instance_profile(InstanceProfileName=name)
    )
    profile: dict[str, Any] = got["InstanceProfile"]
    return profile


def log_groups(logs: Any, prefix: str) -> dict[str, dict[str, Any]]:
    paginator = logs.get_paginator("describe_log_groups")
    return {
        g["logGroupName"]: g
        for page in paginator.paginate(logGroupNamePrefix=prefix)
        for g in page["logGroups"]
    }


def ssm_parameter(ssm: Any, name: str) -> str:
    got = _not_found_as(["ParameterNotFound"], lambda: ssm.get_parameter(Name=name))
    return str(got["Parameter"]["Value"])


def mount_targets(efs: Any, file_system_id: str) -> list[dict[str, Any]]:
    """The file system's mount targets, each with its ``SecurityGroups`` (a second call each:
    ``DescribeMountTargets`` does not return them)."""
    found = _not_found_as(
        ["FileSystemNotFound"],
        lambda: efs.describe_mount_targets(FileSystemId=file_system_id),
    )
    targets: list[dict[str, Any]] = []
    for target in found.get("MountTargets", []):
        groups = efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])
        targets.append({**target, "SecurityGroups": groups.get("SecurityGroups", [])})
    return targets
