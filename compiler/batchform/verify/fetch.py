"""Read what is deployed: every Describe/List/Get call the verifier makes lives here.

Calls are grouped by *topic* (``compute_environments``, ``roles``, ...). A topic that fails is
recorded with the operation and AWS's error, and every resource that depends on it is reported
as not checked; the run never stops at the first denied call, so one report says everything that
could not be checked. When an endpoint is unreachable, later calls to that service are not even
attempted (each would wait through its retries for the same answer).

Batch call budget: the three Batch describe APIs take up to 100 names per call and pages of up to
100 results (Batch API reference, DescribeComputeEnvironments, DescribeJobQueues,
DescribeJobDefinitions: ``maxResults`` 1-100).

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

from batchform.verify.clients import Clients

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


class MalformedAnswer(ValueError):
    """An answer without what the API reference says it always holds (an endpoint that is not
    AWS, or a proxy's error page): the topic is reported not checked, never "missing"."""


def _field(container: Any, key: str, kind: type[T]) -> T:
    """``container[key]``, which must be a ``kind``."""
    if not isinstance(container, dict):
        raise MalformedAnswer(f"expected an object holding {key}, got {type(container).__name__}")
    value = container.get(key)
    if not isinstance(value, kind):
        found = "nothing" if value is None else type(value).__name__
        raise MalformedAnswer(f"{key} should be a {kind.__name__}, got {found}")
    return value


def _required(item: Any, *text: str, present: Sequence[str] = ()) -> dict[str, Any]:
    """``item``, an object whose ``text`` fields are strings and ``present`` fields are set:
    the ones the gatherer indexes or binds addresses with."""
    if not isinstance(item, dict):
        raise MalformedAnswer(f"expected an object, got {type(item).__name__}")
    for name in text:
        _field(item, name, str)
    for name in present:
        if item.get(name) is None:
            raise MalformedAnswer(f"{name} is missing")
    return item


def _items(page: Any, key: str, *text: str, present: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The objects of list ``page[key]``, each checked by :func:`_required`."""
    return [_required(item, *text, present=present) for item in _field(page, key, list)]


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
        """Keep one reason per topic, the same whichever concurrent read failed first: a call
        that failed beats one not attempted after it, then the alphabetically first."""
        with self._lock:
            kept = self.failures.get(topic)
            if kept is None or _precedence(message) < _precedence(kept):
                self.failures[topic] = message

    def attempt(self, service: str, call: Callable[[], T]) -> T | None:
        """``call()``, or ``None`` when it failed, recording nothing: for a read that only
        saves calls, whose caller falls back to reads that record their own failures. An
        unreachable endpoint still marks the service down, so the fallback does not wait for
        it again."""
        with self._lock:
            if service in self._down:
                return None
        try:
            return call()
        except UNREACHABLE as exc:
            with self._lock:
                self._down.setdefault(service, f"the {service} endpoint is unreachable ({exc})")
        except Exception:  # denied, throttled past the retries, or a garbled answer
            pass
        return None

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
        except Exception as exc:  # a garbled answer, whatever its shape
            self._record(topic, f"{service}:{operation} failed: {unreadable(exc)}")
        return None


def _precedence(message: str) -> tuple[bool, str]:
    return " not attempted: " in message, message


def unreadable(exc: Exception) -> str:
    """Why an answer could not be used, in one line: not AWS's shape, not UTF-8, not JSON or
    XML (botocore's ``ResponseParserError`` and the decoding errors it lets through)."""
    detail = " ".join(str(exc).split())
    if len(detail) > 200:
        detail = detail[:197] + "..."
    return f"the answer could not be read ({type(exc).__name__}: {detail})"


def _optional_items(container: dict[str, Any], key: str, *text: str) -> list[dict[str, Any]]:
    """:func:`_items` of a list AWS may leave out when it is empty."""
    if container.get(key) is None:
        return []
    return _items(container, key, *text)


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
        for ce in _items(
            page, "computeEnvironments", "computeEnvironmentName", "computeEnvironmentArn"
        )
    ]


def job_queues(batch: Any) -> list[dict[str, Any]]:
    return [
        q
        for page in _pages(batch, "describe_job_queues")
        for q in _items(page, "jobQueues", "jobQueueName", "jobQueueArn")
    ]


def active_job_definitions(batch: Any, name_prefix: str | tuple[str, ...]) -> list[dict[str, Any]]:
    """Every ACTIVE revision whose name starts with ``name_prefix`` (or one of several: the
    environment's prefix and the names chosen with ``aws_name``; see the module docstring for
    why this is the fewest calls)."""
    return [
        jd
        for page in _pages(batch, "describe_job_definitions", status="ACTIVE")
        for jd in _items(page, "jobDefinitions", "jobDefinitionName", "jobDefinitionArn")
        if jd["jobDefinitionName"].startswith(name_prefix)
    ]


def scheduling_policies(batch: Any, names: Iterable[str]) -> list[dict[str, Any]]:
    """Policies named in ``names`` or starting with a name's environment prefix: listed, then
    described 100 ARNs at a time."""
    wanted = tuple(names)
    arns = [
        p["arn"]
        for page in _pages(batch, "list_scheduling_policies")
        for p in _items(page, "schedulingPolicies", "arn")
        if p["arn"].rsplit("/", 1)[-1].startswith(wanted)
    ]
    found: list[dict[str, Any]] = []
    for part in chunks(arns):
        answer = batch.describe_scheduling_policies(arns=part)
        found += _items(answer, "schedulingPolicies", "name", "arn")
    return found


# --- EC2 --------------------------------------------------------------------------------------


def tag_filter(key: str, value: str) -> dict[str, Any]:
    return {"Name": f"tag:{key}", "Values": [value]}


EC2_IDS = {
    "SecurityGroups": ("GroupId",),
    "LaunchTemplates": ("LaunchTemplateId",),
    "Subnets": ("SubnetId", "VpcId"),
    "Vpcs": ("VpcId",),
    "RouteTables": ("RouteTableId",),
    "NatGateways": ("NatGatewayId",),
    "InternetGateways": ("InternetGatewayId",),
    "VpcEndpoints": ("VpcEndpointId",),
    "Images": ("ImageId",),
}
"""The id fields of each EC2 describe result: every answer item must carry them."""

EC2_PRESENT = {"LaunchTemplates": ("LatestVersionNumber", "DefaultVersionNumber")}


def ec2_items(page: Any, result_key: str) -> list[dict[str, Any]]:
    """The checked items of one EC2 describe answer."""
    ids = EC2_IDS.get(result_key, ())
    return _items(page, result_key, *ids, present=EC2_PRESENT.get(result_key, ()))


def ec2_list(ec2: Any, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """All results of a paginated EC2 describe (EC2 pages hold up to 1000 when asked)."""
    paginator = ec2.get_paginator(operation)
    return [item for page in paginator.paginate(**kwargs) for item in ec2_items(page, result_key)]


def subnets_by_id(ec2: Any, subnet_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Subnets by id; ids that do not exist are simply absent (asked one by one only after
    AWS rejects the batch, so the usual case is one call)."""
    ids = sorted(set(subnet_ids))
    if not ids:
        return {}
    try:
        found = ec2_items(ec2.describe_subnets(SubnetIds=ids), "Subnets")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "InvalidSubnetID.NotFound":
            raise
        found = []
        for sid in ids:
            try:
                found += ec2_items(ec2.describe_subnets(SubnetIds=[sid]), "Subnets")
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
        found = ec2_items(ec2.describe_images(ImageIds=ids), "Images")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in missing:
            raise
        found = []
        for image_id in ids:
            try:
                found += ec2_items(ec2.describe_images(ImageIds=[image_id]), "Images")
            except ClientError as one:
                if one.response.get("Error", {}).get("Code") not in missing:
                    raise
    return {i["ImageId"]: i for i in found}


def latest_launch_template_data(ec2: Any, template_id: str) -> dict[str, Any] | None:
    answer = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Latest"]
    )
    versions = _items(answer, "LaunchTemplateVersions")
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
    path: str = "/"
    permissions_boundary: str | None = None


def role_details(iam: Any, name: str) -> dict[str, Any]:
    """``GetRole``: name, ARN, trust policy and tags; ``NotFound`` when it does not exist."""
    got = _not_found_as(["NoSuchEntity"], lambda: iam.get_role(RoleName=name))
    return _role_fields(_field(got, "Role", dict))


def _role_fields(item: Any) -> dict[str, Any]:
    """A role as ``GetRole`` and ``GetAccountAuthorizationDetails`` both describe it (a
    ``Role`` or a ``RoleDetail``), with the trust policy decoded and the tags as a mapping."""
    role = dict(_required(item, "RoleName", "Arn"))
    role["AssumeRolePolicyDocument"] = policy_document(
        role.get("AssumeRolePolicyDocument"), "AssumeRolePolicyDocument"
    )
    role["Tags"] = {
        t["Key"]: t["Value"] for t in _items({"Tags": role.get("Tags") or []}, "Tags", "Key")
    }
    return role


def policy_document(value: Any, what: str) -> dict[str, Any]:
    """An IAM policy document as a mapping: the raw API URL-encodes it, boto3 usually decodes
    it already; ``MalformedAnswer`` when it is no JSON object."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(unquote(value))
        except ValueError:
            raise MalformedAnswer(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedAnswer(f"{what} is not a policy document")
    return value


def arn_account(arn: Any) -> str | None:
    """The account id field of an ARN (``arn:partition:service:region:account:...``), or
    None when ``arn`` has no such field."""
    parts = str(arn or "").split(":")
    return parts[4] if len(parts) >= 6 and parts[0] == "arn" else None


def attached_policies(iam: Any, name: str) -> tuple[str, ...]:
    """ARNs of the managed policies attached to the role (``ListAttachedRolePolicies``)."""
    pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
    return tuple(
        sorted(
            p["PolicyArn"]
            for page in _not_found_as(["NoSuchEntity"], lambda: list(pages))
            for p in _items(page, "AttachedPolicies", "PolicyArn")
        )
    )


def inline_policy_names(iam: Any, name: str) -> tuple[str, ...]:
    """Names of the role's inline policies (``ListRolePolicies``)."""
    pages = iam.get_paginator("list_role_policies").paginate(RoleName=name)
    return tuple(
        sorted(
            str(n)
            for page in _not_found_as(["NoSuchEntity"], lambda: list(pages))
            for n in _field(page, "PolicyNames", list)
        )
    )


def role_info(got: dict[str, Any], attached: tuple[str, ...], inline: tuple[str, ...]) -> RoleInfo:
    """One role from its ``GetRole`` answer and the policy lists that were read (empty when
    no check compares them)."""
    return RoleInfo(
        name=got["RoleName"],
        arn=got["Arn"],
        trust=got["AssumeRolePolicyDocument"],
        managed_policies=attached,
        inline_policies=inline,
        tags=got["Tags"],
        path=str(got.get("Path") or "/"),
        permissions_boundary=(got.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
    )


ACCOUNT_ROLES_PAGE = 1000
"""The most roles one ``GetAccountAuthorizationDetails`` answer holds (``MaxItems``: 1-1000,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html)."""


def account_roles(iam: Any, names: Iterable[str]) -> dict[str, RoleInfo]:
    """The roles among ``names`` that exist, read in one listing of the account's roles:
    ``GetAccountAuthorizationDetails`` with ``Filter=["Role"]`` returns each role's trust
    policy, tags, attached managed policies and inline policies (a ``RoleDetail``:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_RoleDetail.html), so one call per
    1000 roles of the account answers what ``GetRole``, ``ListAttachedRolePolicies`` and
    ``ListRolePolicies`` answer per role. A name missing from the result does not exist."""
    wanted = set(names)
    found: dict[str, RoleInfo] = {}
    pages = iam.get_paginator("get_account_authorization_details").paginate(
        Filter=["Role"], PaginationConfig={"PageSize": ACCOUNT_ROLES_PAGE}
    )
    for page in pages:
        for item in _items(page, "RoleDetailList", "RoleName", "Arn"):
            if item["RoleName"] not in wanted:
                continue
            attached = _optional_items(item, "AttachedManagedPolicies", "PolicyArn")
            inline = _optional_items(item, "RolePolicyList", "PolicyName")
            found[item["RoleName"]] = role_info(
                _role_fields(item),
                tuple(sorted(p["PolicyArn"] for p in attached)),
                tuple(sorted(p["PolicyName"] for p in inline)),
            )
    return found


def instance_profile(iam: Any, name: str) -> dict[str, Any]:
    got = _not_found_as(
        ["NoSuchEntity"], lambda: iam.get_instance_profile(InstanceProfileName=name)
    )
    profile = _required(_field(got, "InstanceProfile", dict), "Arn")
    _items(profile, "Roles", "RoleName")
    return profile


def log_groups(logs: Any, prefix: str) -> dict[str, dict[str, Any]]:
    paginator = logs.get_paginator("describe_log_groups")
    return {
        g["logGroupName"]: g
        for page in paginator.paginate(logGroupNamePrefix=prefix)
        for g in _items(page, "logGroups", "logGroupName")
    }


def ssm_parameter(ssm: Any, name: str) -> str:
    got = _not_found_as(["ParameterNotFound"], lambda: ssm.get_parameter(Name=name))
    return str(_field(_field(got, "Parameter", dict), "Value", str))


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
