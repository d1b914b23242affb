"""Compare what Batch stands on: security groups, launch templates, IAM roles and the instance
profile, log groups, machine images, and the network path of the compute environments.

Health here goes beyond what Terraform can see: a role may exist with the wrong trust, an AMI
may have been deregistered, a subnet may have lost its route to a NAT gateway. Each such finding
is an ``unhealthy`` difference on the resource concerned.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from batchform import derive
from batchform.hcl import Expr
from batchform.plan.compute import compute_resources_of
from batchform.plan.contract import RoleEntry, SecurityGroupRuleEntry
from batchform.verify.batch import compare_tags, unmanaged
from batchform.verify.desired import Desired, TaggedEntry, batchform_key
from batchform.verify.fetch import RoleInfo
from batchform.verify.gather import (
    arn_name,
    by_key,
    pick_compute_environment,
    security_group_of,
    user_role_arns,
)
from batchform.verify.live import Live, tags_of
from batchform.verify.result import Kind, ResourceCheck

SG = "security_groups"
LT = "launch_templates"
ROLES = "iam_roles"
PROFILE = "instance_profiles"
LOGS = "log_groups"
AMIS = "amis"
SUBNETS = "subnets"
ENDPOINTS = "vpc_endpoints"
ROUTES = "compute_environment_networks"
MOUNT_TARGETS = "efs_mount_targets"

AVAILABLE = "available"
ANYWHERE_V4 = "0.0.0.0/0"

EC2_ENDPOINT_SERVICES = ("ecs", "ecs-agent", "ecs-telemetry", "ecr.api", "ecr.dkr", "s3", "logs")
FARGATE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "s3", "logs")
"""VPC endpoints a subnet without a route to the internet needs for Batch to start containers
(AWS Batch User Guide: jobs stuck in RUNNABLE)."""


Entry = TypeVar("Entry", bound=TaggedEntry)


def tagged_and_found(
    kind: str,
    contexts: Iterable[Entry],
    found: dict[str, dict[str, Any]],
    checks: list[ResourceCheck],
    missing: Callable[[Entry], str],
) -> Iterator[tuple[Entry, ResourceCheck, dict[str, Any]]]:
    """One check per desired resource, appended to ``checks``; yields those whose resource was
    found by its ``batchform:key`` tag, after marking the others missing (naming them by
    ``missing(context)``)."""
    for ctx in contexts:
        key = batchform_key(ctx) or ctx["label"]
        check = ResourceCheck(kind, key)
        checks.append(check)
        actual = found.get(key)
        if actual is None:
            check.differ("", missing(ctx), None, Kind.MISSING)
            continue
        yield ctx, check, actual


# --- security groups -------------------------------------------------------------------------

Rule = tuple[str, int | None, int | None, str]
PEER_KEYS = ("cidr_ipv4", "cidr_ipv6", "referenced_security_group_id", "prefix_list_id")


def _rule_text(rule: Rule) -> str:
    protocol, low, high, peer = rule
    what = "all traffic" if protocol == "-1" else protocol
    if low is not None and protocol not in ("-1", "icmp", "icmpv6"):
        what += f" {low}" if low == high else f" {low}-{high}"
    return f"{what} {peer}"


def _expected_rules(live: Live, contexts: Iterable[SecurityGroupRuleEntry]) -> set[Rule]:
    out: set[Rule] = set()
    for r in live.resolve(list(contexts)):
        protocol = str(r["ip_protocol"])
        all_ports = protocol == "-1"
        peers = r.get("peer") or {k: r[k] for k in PEER_KEYS if r.get(k) is not None}
        peer = next(iter(peers.values()))
        for one in peer if isinstance(peer, list) else [peer]:  # a for_each over CIDR blocks
            out.add(
                (
                    protocol,
                    None if all_ports else r["from_port"],
                    None if all_ports else r["to_port"],
                    str(one),
                )
            )
    return out


def _actual_rules(permissions: Iterable[dict[str, Any]]) -> set[Rule]:
    out: set[Rule] = set()
    for p in permissions:
        protocol = str(p.get("IpProtocol"))
        all_ports = protocol == "-1"
        low = None if all_ports else p.get("FromPort")
        high = None if all_ports else p.get("ToPort")
        peers = [r["CidrIp"] for r in p.get("IpRanges", [])]
        peers += [r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])]
        peers += [g["GroupId"] for g in p.get("UserIdGroupPairs", [])]
        peers += [pl["PrefixListId"] for pl in p.get("PrefixListIds", [])]
        out |= {(protocol, low, high, peer) for peer in peers}
    return out


def _compare_rules(check: ResourceCheck, direction: str, want: set[Rule], got: set[Rule]) -> None:
    check.checked.append(direction)
    for rule in sorted(want - got, key=str):
        check.differ(direction, _rule_text(rule), None, Kind.MISSING)
    for rule in sorted(got - want, key=str):
        check.differ(direction, None, _rule_text(rule), Kind.CHANGED, "rule not in the file")


def check_security_groups(live: Live, desired: Desired) -> list[ResourceCheck]:
    tagged = by_key(list(live.security_groups or []), desired.name)
    found = {
        batchform_key(g) or g["label"]: group
        for g in desired.security_groups
        if (group := security_group_of(live, desired, g, tagged)) is not None
    }
    checks: list[ResourceCheck] = []
    for ctx, check, actual in tagged_and_found(
        SG, desired.security_groups, found, checks, lambda g: g["name"]
    ):
        check.name = actual["GroupId"]
        check.compare("GroupName", ctx["name"], actual.get("GroupName"))
        check.compare("Description", ctx["description"], actual.get("Description"))
        check.compare("VpcId", live.resolve(ctx["vpc_id"]), actual.get("VpcId"))
        ingress, egress = desired.security_group_rules(ctx["label"])
        _compare_rules(
            check,
            "ingress",
            _expected_rules(live, ingress),
            _actual_rules(actual.get("IpPermissions", [])),
        )
        _compare_rules(
            check,
            "egress",
            _expected_rules(live, egress),
            _actual_rules(actual.get("IpPermissionsEgress", [])),
        )
        compare_tags(check, desired.expected_tags(ctx["tags"]), tags_of(actual))
    known = {batchform_key(c) for c in desired.security_groups}
    return checks + unmanaged(
        SG,
        live.security_groups or [],
        desired.name,
        {k for k in known if k},
        lambda g: g["GroupId"],
    )


# --- launch templates ------------------------------------------------------------------------

_EBS = {
    "delete_on_termination": "DeleteOnTermination",
    "encrypted": "Encrypted",
    "iops": "Iops",
    "throughput": "Throughput",
    "volume_size": "VolumeSize",
    "volume_type": "VolumeType",
}
_METADATA = {
    "http_endpoint": "HttpEndpoint",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_tokens": "HttpTokens",
}


def _decode(user_data: str | None) -> str | None:
    if user_data is None:
        return None
    try:
        return base64.b64decode(user_data).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return user_data


def check_launch_templates(live: Live, desired: Desired) -> list[ResourceCheck]:
    found = by_key(list(live.launch_templates or []), desired.name)
    checks: list[ResourceCheck] = []
    for ctx, check, actual in tagged_and_found(
        LT, desired.launch_templates, found, checks, lambda t: t["name"]
    ):
        check.name = f"{actual['LaunchTemplateId']} ({actual.get('LaunchTemplateName')})"
        check.compare("LaunchTemplateName", ctx["name"], actual.get("LaunchTemplateName"))
        check.compare(
            "DefaultVersionNumber",
            actual.get("LatestVersionNumber"),
            actual.get("DefaultVersionNumber"),
            Kind.CHANGED,
            "the default version must be the latest (update_default_version)",
        )
        compare_tags(check, desired.expected_tags(ctx["tags"]), tags_of(actual))
        version = live.launch_template_data.get(actual["LaunchTemplateId"])
        if version is None:
            continue
        data = version.get("LaunchTemplateData", {}) or {}
        devices = {
            m.get("DeviceName"): m.get("Ebs", {}) for m in data.get("BlockDeviceMappings", [])
        }
        for mapping in ctx["block_device_mappings"]:
            device = mapping["device_name"]
            got = devices.get(device)
            ebs: Mapping[str, object] = mapping["ebs"]
            for name, api in _EBS.items():
                if name in ebs:
                    check.compare(
                        f"BlockDeviceMappings[{device}].Ebs.{api}",
                        ebs[name],
                        None if got is None else got.get(api),
                    )
        metadata = data.get("MetadataOptions", {}) or {}
        wanted: Mapping[str, object] = ctx["metadata_options"]
        for name, api in _METADATA.items():
            check.compare(f"MetadataOptions.{api}", wanted[name], metadata.get(api))
        check.compare("UserData", ctx["user_data"], _decode(data.get("UserData")))
    known = {batchform_key(c) for c in desired.launch_templates}
    return checks + unmanaged(
        LT,
        live.launch_templates or [],
        desired.name,
        {k for k in known if k},
        lambda t: t["LaunchTemplateId"],
    )


# --- IAM -------------------------------------------------------------------------------------


def trust_principals(document: dict[str, Any]) -> list[str]:
    """Service principals allowed to assume a role (``sts:AssumeRole`` statements)."""
    out: set[str] = set()
    statements = document.get("Statement", [])
    for s in statements if isinstance(statements, list) else [statements]:
        if s.get("Effect") != "Allow":
            continue
        services = (s.get("Principal") or {}).get("Service", [])
        out |= set([services] if isinstance(services, str) else services)
    return sorted(out)


def _managed_policy_name(value: Any) -> str:
    """``service-role/AWSBatchServiceRole`` from the plan's ARN template or a real ARN."""
    return str(value).strip('"').split(":policy/", 1)[-1]


def _role_check(live: Live, key: str, name: str) -> tuple[ResourceCheck, Any]:
    check = ResourceCheck(ROLES, key, name)
    role = live.roles.get(name)
    if name in live.roles and role is None:
        check.differ("", name, None, Kind.MISSING)
    return check, role


def check_roles(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = []
    for ctx in desired.roles:
        check, role = _role_check(live, desired.role_purpose(ctx), str(ctx["name"]))
        checks.append(check)
        if role is None:
            continue
        check.compare(
            "AssumeRolePolicyDocument.Principal.Service",
            trust_principals(ctx["assume_role_policy"]),
            trust_principals(role.trust),
        )
        if ctx["managed_policy_arn"] is not None:
            wanted = _managed_policy_name(ctx["managed_policy_arn"])
            attached = sorted(_managed_policy_name(a) for a in role.managed_policies)
            check.compare(
                "AttachedPolicies",
                wanted,
                wanted if wanted in attached else None,
                Kind.MISSING if wanted not in attached else Kind.CHANGED,
                f"attached: {', '.join(attached) or 'none'}",
            )
        _role_options(check, ctx, role)
        for policy in ctx["inline_policies"]:
            wanted = policy["name"]
            check.compare(
                f"RolePolicies.{wanted}",
                wanted,
                wanted if wanted in role.inline_policies else None,
                Kind.MISSING,
            )
        compare_tags(check, desired.expected_tags(ctx["tags"]), role.tags)
    for purpose, arn in sorted(user_role_arns(desired).items()):
        check, role = _role_check(live, purpose, arn_name(arn))
        check.checked.append("exists")
        checks.append(check)
    return checks


def _role_options(check: ResourceCheck, ctx: RoleEntry, role: RoleInfo) -> None:
    """``iam.path``, ``iam.permissions_boundary`` and the managed policies the file attaches:
    a boundary removed (or added) out of band, or a policy detached, is drift."""
    check.compare("Path", ctx["path"] or "/", role.path)
    check.compare("PermissionsBoundary", ctx["permissions_boundary"], role.permissions_boundary)
    attached = set(role.managed_policies)
    aws_managed = {_managed_policy_name(a) for a in role.managed_policies}
    for attachment in ctx["managed_policy_attachments"]:
        wanted = attachment["policy_arn"]
        if isinstance(wanted, Expr):
            # an AWS managed policy batchform attaches (the EKS node policies): its ARN is a
            # template of the partition, so it is compared by the policy's name
            name = _managed_policy_name(wanted)
            check.compare(
                f"AttachedPolicies.{name}",
                name,
                name if name in aws_managed else None,
                Kind.MISSING,
            )
            continue
        check.compare(
            f"AttachedPolicies.{wanted}",
            wanted,
            wanted if wanted in attached else None,
            Kind.MISSING,
        )


def check_instance_profile(live: Live, desired: Desired) -> list[ResourceCheck]:
    ctx = desired.instance_profile
    if ctx is not None:
        name, role = str(ctx["name"]), live.resolve(ctx["role"])
    elif desired.env.iam.instance_role_value.startswith("arn:") and live.instance_profiles:
        name, role = next(iter(live.instance_profiles)), None
    else:
        return []
    check = ResourceCheck(PROFILE, "ecs-instance", name)
    profile = live.instance_profiles.get(name)
    if profile is None:
        check.differ("", name, None, Kind.MISSING)
        return [check]
    roles = sorted(r["RoleName"] for r in profile.get("Roles", []))
    if ctx is not None and ctx["path"] is not None:
        check.compare("Path", ctx["path"], profile.get("Path"))
    if role is not None:
        check.compare("Roles", [str(role)], roles)
    else:
        check.compare(
            "Roles", "at least one role", "at least one role" if roles else None, Kind.UNHEALTHY
        )
    return [check]


# --- logs and images -------------------------------------------------------------------------


def check_log_groups(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = []
    for ctx in desired.log_groups:
        check = ResourceCheck(LOGS, batchform_key(ctx) or ctx["label"], ctx["name"])
        checks.append(check)
        actual = (live.log_groups or {}).get(ctx["name"])
        if actual is None:
            check.differ("", ctx["name"], None, Kind.MISSING)
            continue
        check.compare("retentionInDays", ctx["retention_in_days"], actual.get("retentionInDays"))
        if ctx["kms_key_id"] is not None:
            check.compare("kmsKeyId", ctx["kms_key_id"], actual.get("kmsKeyId"))
    return checks


def check_mount_targets(live: Live, desired: Desired) -> list[ResourceCheck]:
    """Each generated mount target: its file system has one in the planned subnet, ``available``,
    with the mount targets' security group (``aws_efs_mount_target`` has no tags; the file
    system and subnet identify it)."""
    checks = []
    for ctx in desired.mount_targets:
        file_system = str(ctx["file_system_id"])
        check = ResourceCheck(MOUNT_TARGETS, ctx["label"], file_system)
        checks.append(check)
        if file_system not in live.mount_targets:
            continue  # the read failed: the engine reports it as not checked
        subnet = live.resolve(ctx["subnet_id"])
        targets = live.mount_targets[file_system]
        if targets is None:
            check.differ("FileSystemId", file_system, None, Kind.MISSING, "no such file system")
            continue
        found = next((t for t in targets if t.get("SubnetId") == subnet), None)
        if found is None:
            check.differ("SubnetId", subnet, None, Kind.MISSING)
            continue
        check.name = f"{file_system} {found.get('MountTargetId')}"
        check.compare("LifeCycleState", AVAILABLE, found.get("LifeCycleState"), Kind.UNHEALTHY)
        check.compare(
            "SecurityGroups",
            sorted(str(g) for g in live.resolve(ctx["security_groups"])),
            sorted(found.get("SecurityGroups", [])),
        )
    return checks


def check_amis(live: Live, desired: Desired) -> list[ResourceCheck]:
    """AMIs a compute environment uses must exist and be ``available``; one named by an SSM
    parameter is resolved through the parameter first. AWS-provided image types need nothing."""
    checks = []
    for key in derive.used_ami_keys(desired.env):
        ami = desired.env.amis[key]
        if ami.image_type is not None:
            continue
        check = ResourceCheck(AMIS, key)
        checks.append(check)
        image_id = ami.id
        if ami.ssm_parameter is not None:
            image_id = live.ssm_parameters.get(ami.ssm_parameter)
            check.compare(
                "ssm_parameter",
                ami.ssm_parameter,
                ami.ssm_parameter if image_id else None,
                Kind.MISSING,
            )
            if not image_id:
                continue
        check.name = image_id
        image = (live.images or {}).get(str(image_id))
        check.compare(
            "State",
            AVAILABLE,
            image.get("State") if image else None,
            Kind.UNHEALTHY,
            None if image else "the image does not exist or is not visible",
        )
    return checks


# --- network ---------------------------------------------------------------------------------


def check_subnets(live: Live, desired: Desired) -> list[ResourceCheck]:
    """Subnets the environment creates: present, in their AZ, with their CIDR."""
    found = by_key(list((live.subnets or {}).values()), desired.name)
    checks: list[ResourceCheck] = []
    for ctx, check, actual in tagged_and_found(
        SUBNETS, desired.subnets, found, checks, lambda s: s["cidr"]
    ):
        check.name = actual["SubnetId"]
        check.compare("CidrBlock", ctx["cidr"], actual.get("CidrBlock"))
        check.compare("AvailabilityZone", ctx["az"], actual.get("AvailabilityZone"))
        if "map_public_ip_on_launch" in ctx:
            check.compare(
                "MapPublicIpOnLaunch",
                bool(ctx["map_public_ip_on_launch"]),
                bool(actual.get("MapPublicIpOnLaunch")),
            )
    existing = desired.env.network.vpc.existing
    if existing is not None:
        for sid in [*existing.private_subnets, *existing.public_subnets]:
            check = ResourceCheck(SUBNETS, sid, sid)
            check.checked.append("exists")
            if sid not in (live.subnets or {}):
                check.differ("", sid, None, Kind.MISSING)
            checks.append(check)
    return checks


def _endpoint_services(live: Live, vpc_id: str, region: str) -> set[str]:
    prefix = f"com.amazonaws.{region}."
    return {
        e["ServiceName"][len(prefix) :]
        for e in live.vpc_endpoints or []
        if e.get("VpcId") == vpc_id
        and e.get("ServiceName", "").startswith(prefix)
        and str(e.get("State", AVAILABLE)).lower() == AVAILABLE
    }


def check_endpoints(live: Live, desired: Desired) -> list[ResourceCheck]:
    checks = []
    region = desired.env.region
    for ctx in desired.endpoints:
        service = ctx["service_name"].removeprefix(f"com.amazonaws.{region}.")
        check = ResourceCheck(ENDPOINTS, service)
        checks.append(check)
        found = [e for e in live.vpc_endpoints or [] if e.get("ServiceName") == ctx["service_name"]]
        if not found:
            check.differ("", ctx["service_name"], None, Kind.MISSING)
            continue
        check.name = found[0]["VpcEndpointId"]
        check.compare("VpcEndpointType", ctx["type"], found[0].get("VpcEndpointType"))
        check.compare("State", AVAILABLE, str(found[0].get("State", "")).lower(), Kind.UNHEALTHY)
    return checks


def _route_table(live: Live, subnet: dict[str, Any]) -> dict[str, Any] | None:
    """The table a subnet uses: its explicit association, else its VPC's main table."""
    tables = [t for t in live.route_tables or [] if t.get("VpcId") == subnet["VpcId"]]
    for t in tables:
        if any(a.get("SubnetId") == subnet["SubnetId"] for a in t.get("Associations", [])):
            return t
    return next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)


def subnet_egress(live: Live, subnet: dict[str, Any], fargate: bool, region: str) -> str | None:
    """``None`` when instances in ``subnet`` can reach ECS, ECR, S3 and CloudWatch Logs: a
    default route to an attached internet gateway (with public IPs, for EC2) or to an available
    NAT gateway, or the VPC endpoints those services need. Otherwise the reason they cannot."""
    table = _route_table(live, subnet)
    routes = [] if table is None else table.get("Routes", [])
    default = next((r for r in routes if r.get("DestinationCidrBlock") == ANYWHERE_V4), None)
    if default is not None and str(default.get("State", "active")) != "blackhole":
        gateway = str(default.get("GatewayId") or "")
        nat = default.get("NatGatewayId")
        if gateway.startswith("igw-"):
            attached = any(g["InternetGatewayId"] == gateway for g in live.internet_gateways or [])
            if not attached:
                return f"its default route points at {gateway}, which is not attached to the VPC"
            if not fargate and not subnet.get("MapPublicIpOnLaunch"):
                return (
                    f"it routes to internet gateway {gateway} but does not give instances "
                    "public IPv4 addresses (use private subnets with a NAT gateway)"
                )
            return None
        if nat:
            found = next((n for n in live.nat_gateways or [] if n["NatGatewayId"] == nat), None)
            state = found.get("State") if found else None
            if state != AVAILABLE:
                return f"its default route points at NAT gateway {nat}, which is {state or 'gone'}"
            return None
        if any(
            default.get(k)
            for k in (
                "TransitGatewayId",
                "NetworkInterfaceId",
                "VpcPeeringConnectionId",
                "InstanceId",
            )
        ):
            return None  # routed through the user's own appliance: beyond what can be checked
    needed = FARGATE_ENDPOINT_SERVICES if fargate else EC2_ENDPOINT_SERVICES
    missing = sorted(set(needed) - _endpoint_services(live, subnet["VpcId"], region))
    if not missing:
        return None
    return (
        "no route to the internet (no default route to an internet or NAT gateway) and "
        f"no VPC endpoints for {', '.join(missing)}"
    )


def check_compute_networks(live: Live, desired: Desired) -> list[ResourceCheck]:
    """Every subnet a deployed compute environment uses can reach what Batch needs: otherwise
    jobs stay RUNNABLE forever."""
    checks = []
    for ctx in desired.compute_environments:
        actual = pick_compute_environment(live, ctx, desired.name)
        if actual is None:
            continue
        fargate = str(compute_resources_of(ctx)["attrs"].get("type", "")).startswith("FARGATE")
        key = batchform_key(ctx) or ctx["label"]
        check = ResourceCheck(ROUTES, key, actual["computeEnvironmentName"])
        checks.append(check)
        for sid in actual.get("computeResources", {}).get("subnets", []):
            subnet = (live.subnets or {}).get(sid)
            attribute = f"subnets[{sid}]"
            if subnet is None:
                check.compare(attribute, "exists", None, Kind.MISSING)
                continue
            problem = subnet_egress(live, subnet, fargate, desired.env.region)
            check.compare(
                attribute,
                "reaches ECS, ECR, S3 and CloudWatch Logs",
                "reaches ECS, ECR, S3 and CloudWatch Logs"
                if problem is None
                else "cannot reach them",
                Kind.UNHEALTHY,
                problem,
            )
    return checks


CHECKS: dict[str, Callable[[Live, Desired], list[ResourceCheck]]] = {
    SG: check_security_groups,
    LT: check_launch_templates,
    ROLES: check_roles,
    PROFILE: check_instance_profile,
    LOGS: check_log_groups,
    AMIS: check_amis,
    SUBNETS: check_subnets,
    ENDPOINTS: check_endpoints,
    ROUTES: check_compute_networks,
    MOUNT_TARGETS: check_mount_targets,
}
