"""Creates the emulator answers "already exists" after the AWS SDK retried them.

Why: under load, the provider's SDK sometimes sends a create again (the first answer came late or
the connection dropped) and moto answers the second attempt "already exists", although the first
attempt made exactly the resource Terraform wanted. The apply fails on a correct environment.
Each such resource is found in the emulator and imported into the state, then the apply runs
again (``terraform.apply_importing_duplicates``). Anything else stays a failure.

Two kinds of duplicate answers:

- the message names the import id (compute environments, roles, instance profiles, routes);
- it does not: the id is looked up in the emulator, read-only, and only when exactly one
  resource there matches. Job queues are found by the name in the message (their import id is
  the ARN); security groups, their rules, launch templates, log groups, schedules and EFS mount
  targets by the resource's own arguments in the module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from batchform.sandbox.override import resource_blocks

# Messages that carry the import id.
_DUPLICATE_ID = (
    re.compile(r"already exists with the name (\S+?)[\s,]"),
    re.compile(r"Role with name (\S+?)\.? already exists"),
    re.compile(r"Instance Profile (\S+?)\.? already exists"),
)
# A queue sent twice: moto names it, the import id is its ARN (looked up).
_QUEUE_DUPLICATE = re.compile(r"ClientException: Job queue (\S+) already exists")
# Messages (moto's error codes or texts) whose id is looked up, by the resource type they concern.
_DUPLICATE_LOOKUP = {
    "aws_vpc_security_group_egress_rule": "InvalidPermission.Duplicate",
    "aws_vpc_security_group_ingress_rule": "InvalidPermission.Duplicate",
    "aws_security_group": "InvalidGroup.Duplicate",
    "aws_launch_template": "InvalidLaunchTemplateName.AlreadyExistsException",
    "aws_cloudwatch_log_group": "The specified log group already exists",
    "aws_scheduler_schedule": "ConflictException: Schedule ",
    "aws_efs_mount_target": "mount target already exists in this AZ",
}
_ERROR_ADDRESS = re.compile(r"^\s*with ([\w.\[\]\"-]+),\s*$", re.M)
_MODULE_PREFIX = re.compile(r"^(?:module\.[\w-]+\.)+")
_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"\Z')
_ID_REFERENCE = re.compile(r"^(aws_\w+)\.(\w+)\.id\Z")
_PROVIDER = re.compile(r'^provider "aws" \{\n(.*?)^\}', re.M | re.S)
_REGION = re.compile(r'^  region\s*=\s*"([^"]+)"', re.M)

# (resource type, label) -> import id, or None when the emulator holds no single match.
Lookup = Callable[[str, str], "str | None"]
# job queue name -> its ARN, or None when the emulator holds no such queue.
QueueLookup = Callable[[str], "str | None"]


def duplicate_creates(
    output: str, lookup: Lookup | None = None, queue_arn: QueueLookup | None = None
) -> list[tuple[str, str]]:
    """(resource address, import id) of each create in terraform's ``output`` that failed only
    because the emulator already holds it. ``lookup`` and ``queue_arn`` find ids the message
    does not carry; without them only messages that name the id count."""
    found = []
    for block in output.split("Error: ")[1:]:
        address = _ERROR_ADDRESS.search(block)
        if address is None:
            continue
        resource_id = _id_in_message(block)
        queue = _QUEUE_DUPLICATE.search(block)
        if queue is not None and queue_arn is not None:
            # The provider's job queue id is the queue's ARN (job_queue.go: Create sets it from
            # JobQueueArn; import docs: "import Batch Job Queue using the arn").
            resource_id = queue_arn(queue.group(1))
        if resource_id is None and lookup is not None:
            # module.environment.<type>.<label> in a wrapped child module (override.py)
            rtype, _, label = _MODULE_PREFIX.sub("", address.group(1)).partition(".")
            marker = _DUPLICATE_LOOKUP.get(rtype)
            if marker is not None and marker in block:
                resource_id = lookup(rtype, label)
        if resource_id is not None:
            found.append((address.group(1), resource_id))
    return found


_ROUTE_DUPLICATE = re.compile(
    r"creating Route in Route Table \((rtb-[0-9a-f]+)\) with destination \(([^)\s]+)\)"
    r".*?RouteAlreadyExists",
    re.S,
)
"""A route sent twice: its import id is ``<route table id>_<destination>`` (the aws_route
import format, https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/route#import);
seen in CI for the NAT route of configs/ml-training.yaml."""


def _id_in_message(block: str) -> str | None:
    for pattern in _DUPLICATE_ID:
        match = pattern.search(block)
        if match:
            return match.group(1)
    route = _ROUTE_DUPLICATE.search(block)
    if route:
        return f"{route.group(1)}_{route.group(2)}"
    return None


def _literal(value: str | None) -> str | None:
    """The text of a plain HCL string literal, else None (expressions, absent arguments)."""
    match = _STRING.match(value or "")
    if match is None or "${" in match.group(1):
        return None
    try:
        text: str = json.loads(f'"{match.group(1)}"')
    except ValueError:
        return None
    return text


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class EmulatorLookup:
    """Finds the id of a resource the emulator already holds, from the module's arguments.

    Read-only: only ``Describe*`` calls, against the emulator at ``AWS_ENDPOINT_URL`` of ``env``
    (what the terraform subprocess got), in the module's provider region.
    """

    def __init__(self, module_dir: Path | str, env: Mapping[str, str]):
        self.blocks = resource_blocks(module_dir)
        self.env = env
        self.region = (
            module_region(module_dir) or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        )
        self._clients: dict[str, Any] = {}

    def __call__(self, rtype: str, label: str) -> str | None:
        body = self.blocks.get(rtype, {}).get(label)
        if body is None or not self.env.get("AWS_ENDPOINT_URL"):
            return None
        try:
            if rtype == "aws_cloudwatch_log_group":
                return _literal(body.get("name"))
            if rtype == "aws_scheduler_schedule":
                return self._schedule(body)
            if rtype == "aws_efs_mount_target":
                return self._mount_target(body)
            if rtype == "aws_launch_template":
                return self._launch_template(body)
            if rtype == "aws_security_group":
                return self._security_group(body)
            if rtype.startswith("aws_vpc_security_group_"):
                return self._rule(body, egress=rtype.endswith("_egress_rule"))
        except Exception:
            return None
        return None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from batchform.sandbox.emulator import MotoServer  # boto3: only when a lookup runs

            server = MotoServer(url=self.env["AWS_ENDPOINT_URL"])
            self._clients[service] = server.client(service, region=self.region)
        return self._clients[service]

    def ec2(self) -> Any:
        return self.client("ec2")

    def job_queue_arn(self, name: str) -> str | None:
        """The ARN of the job queue called ``name`` in the emulator, else None."""
        if not self.env.get("AWS_ENDPOINT_URL"):
            return None
        try:
            found = self.client("batch").describe_job_queues(jobQueues=[name])["jobQueues"]
        except Exception:
            return None
        return _single([q["jobQueueArn"] for q in found if q.get("jobQueueName") == name])

    def _schedule(self, body: Mapping[str, str]) -> str | None:
        """``<group>/<name>``, the aws_scheduler_schedule import id
        (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/scheduler_schedule#import);
        a schedule without ``group_name`` is in the group ``default``."""
        name = _literal(body.get("name"))
        group = _literal(body.get("group_name")) if "group_name" in body else "default"
        if name is None or group is None:
            return None
        found = self.client("scheduler").get_schedule(Name=name, GroupName=group)
        return f"{group}/{name}" if found.get("Name") == name else None

    def _mount_target(self, body: Mapping[str, str]) -> str | None:
        """The mount target of the file system in the availability zone of the subnet the
        resource references (EFS allows one per zone, which is the duplicate moto reports)."""
        file_system = _literal(body.get("file_system_id"))
        subnet = self._referenced("aws_subnet", body.get("subnet_id"))
        zone = _literal(subnet.get("availability_zone")) if subnet else None
        if file_system is None or zone is None:
            return None
        found = self.client("efs").describe_mount_targets(FileSystemId=file_system)
        return _single(
            [
                target["MountTargetId"]
                for target in found["MountTargets"]
                if target.get("AvailabilityZoneName") == zone
            ]
        )

    def _launch_template(self, body: Mapping[str, str]) -> str | None:
        name = _literal(body.get("name"))
        if name is None:
            return None
        found = self.ec2().describe_launch_templates(LaunchTemplateNames=[name])
        return _single([t["LaunchTemplateId"] for t in found["LaunchTemplates"]])

    def _security_group(self, body: Mapping[str, str]) -> str | None:
        name = _literal(body.get("name"))
        if name is None:
            return None
        filters = [{"Name": "group-name", "Values": [name]}]
        vpc_id = _literal(body.get("vpc_id"))
        if vpc_id is not None:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        found = self.ec2().describe_security_groups(Filters=filters)["SecurityGroups"]
        return _single([group["GroupId"] for group in found])

    def _referenced(self, rtype: str, reference: str | None) -> Mapping[str, str] | None:
        """The body of the ``rtype`` resource an ``<rtype>.<label>.id`` reference names."""
        match = _ID_REFERENCE.match(reference or "")
        if match is None or match.group(1) != rtype:
            return None
        return self.blocks.get(rtype, {}).get(match.group(2))

    def _group_of(self, reference: str | None) -> str | None:
        """The id of the security group an ``aws_security_group.<label>.id`` reference names."""
        body = self._referenced("aws_security_group", reference)
        return self._security_group(body) if body is not None else None

    def _rule(self, body: Mapping[str, str], *, egress: bool) -> str | None:
        group_id = self._group_of(body.get("security_group_id"))
        if group_id is None:
            return None
        wanted = {
            "IpProtocol": _literal(body.get("ip_protocol")),
            "FromPort": _number(body.get("from_port")),
            "ToPort": _number(body.get("to_port")),
            "CidrIpv4": _literal(body.get("cidr_ipv4")),
            "CidrIpv6": _literal(body.get("cidr_ipv6")),
            "Description": _literal(body.get("description")),
        }
        peer = body.get("referenced_security_group_id")
        peer_id = self._group_of(peer) if peer is not None else None
        if peer is not None:
            if peer_id is None:
                return None
            wanted["Description"] = None  # moto drops it on security-group peers
        rules = self.ec2().describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group_id]}]
        )["SecurityGroupRules"]
        matching = [
            rule["SecurityGroupRuleId"]
            for rule in rules
            if rule.get("IsEgress") is egress
            and all(
                rule.get(key) == value
                for key, value in wanted.items()
                if value is not None and not (key.endswith("Port") and wanted["IpProtocol"] == "-1")
            )
            and (peer_id is None or rule.get("ReferencedGroupInfo", {}).get("GroupId") == peer_id)
        ]
        return _single(matching)


def module_region(module_dir: Path | str) -> str | None:
    """The region of the module's ``provider "aws"`` block; override files win, as in Terraform."""
    region = None
    files = sorted(
        Path(module_dir).glob("*.tf"), key=lambda p: (p.stem.endswith("override"), p.name)
    )
    for path in files:
        for provider in _PROVIDER.finditer(path.read_text(encoding="utf-8")):
            match = _REGION.search(provider.group(1))
            if match:
                region = match.group(1)
    return region


def _single(ids: list[str]) -> str | None:
    return ids[0] if len(ids) == 1 else None


__all__ = ["EmulatorLookup", "Lookup", "QueueLookup", "duplicate_creates", "module_region"]
