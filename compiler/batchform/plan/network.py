"""Network plan: the VPC the environment creates, its security groups and VPC endpoints.

Two files: ``network.tf`` (VPC, subnets, internet and NAT gateways, route tables, the stripped
default security group, VPC endpoints) and ``security_groups.tf`` (one security group per key of
``network.security_groups``, each rule its own resource so that a pull request shows a rule
change as one added or removed block).

Addresses (``refs`` holds the ones other modules use):

- ``aws_vpc.main``, ``aws_internet_gateway.main``, ``aws_default_security_group.main``
- ``aws_subnet.{public,private}_<az>`` (``refs.subnet_address``)
- ``aws_eip.nat_<az>`` and ``aws_nat_gateway.<az>``: NAT gateways are labelled by the AZ whose
  public subnet holds them, so ``single`` -> ``per_az`` adds gateways without replacing the first
- ``aws_route_table.public``, ``aws_route.public_internet``, ``aws_route_table.private_<az>``,
  ``aws_route.private_<az>_nat``, ``aws_route_table_association.{public,private}_<az>``
- ``aws_vpc_endpoint.<service>`` (dots become ``_``), ``aws_security_group.vpc_endpoints`` and
  ``aws_vpc_security_group_ingress_rule.vpc_endpoints_https`` for interface endpoints,
  ``data.aws_vpc.main`` (the CIDR blocks of an existing VPC, for that rule, with a
  postcondition that its DNS attributes allow private DNS) and
  ``aws_vpc_security_group_ingress_rule.vpc_endpoints_https_secondary[<cidr>]`` (one per
  secondary CIDR block of an existing VPC)
- ``aws_security_group.<key>``, ``aws_vpc_security_group_{ingress,egress}_rule.<key>_<dir>_<n>``
  (``<key>_egress_all`` for ``egress: all``)

Every private subnet gets its own route table even with one NAT gateway: moving from ``single``
to ``per_az`` then only changes a route's target, and gateway endpoints attach to the same tables.

Public subnets map public IPs on launch only while an EC2/SPOT compute environment runs in them
(Fargate tasks ask per job; NAT gateways have Elastic IPs). ``egress: all`` is one IPv4 rule:
the VPC batchform creates has no IPv6, and an IPv6 egress rule can be listed explicitly.

An existing VPC gets no VPC resources; its ids are literals (``refs``). Gateway endpoints (s3,
dynamodb) need route table ids batchform does not know, so they are skipped there (check BF216
warns); interface endpoints go into the listed private subnets. Endpoint service names are
``com.amazonaws.<region>.<service>``, the form of the commercial and GovCloud partitions.
"""

from __future__ import annotations

import ipaddress
from typing import TypedDict

from batchform import derive, refs
from batchform.derive import ENDPOINTS_SG_KEY, carve_subnets, gateway_endpoints, interface_endpoints
from batchform.hcl import Expr
from batchform.model import (
    Environment,
    SecurityGroupRule,
    VpcCreate,
)
from batchform.naming import aws_name, label, resource_name
from batchform.plan.contract import (
    AssociationEntry,
    EndpointEntry,
    EndpointSecurityGroupEntry,
    ExistingVpcLookupEntry,
    NatGatewayEntry,
    NetworkContext,
    PlanFiles,
    RouteEntry,
    RouteTableEntry,
    RulePeerEntry,
    SecurityGroupEntry,
    SecurityGroupRuleEntry,
    SecurityGroupsContext,
    SubnetEntry,
    TagsOnlyEntry,
    VpcEntry,
)

# Interface endpoints with private DNS need both VPC attributes on (the "Prerequisites" of
# https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html); the
# lookup of an existing VPC checks them at plan time.
EXISTING_VPC_DNS_ERROR = (
    "The VPC must have DNS resolution (enableDnsSupport) and DNS hostnames "
    "(enableDnsHostnames) enabled: the interface VPC endpoints batchform creates use private DNS, "
    "which AWS refuses otherwise. Turn both on (aws ec2 modify-vpc-attribute), then plan again."
)
# Every IPv4 block associated with an existing VPC besides the primary one (the primary has its
# own rule, kept under its first address so upgrading replaces nothing).
SECONDARY_CIDRS = (
    "toset([for a in data.aws_vpc.main.cidr_block_associations : a.cidr_block "
    'if a.cidr_block != data.aws_vpc.main.cidr_block && a.state == "associated"])'
)
ANYWHERE_V4 = "0.0.0.0/0"
HTTPS_PORT = 443
PROTOCOL_NUMBERS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "all": "-1"}


# --- subnets (the carving itself is batchform.derive's: checks test that it fits) ------------


def subnet_cidrs(create: VpcCreate) -> tuple[list[str], list[str]]:
    """The (public, private) CIDRs of a created VPC: the listed ones, else carved (BF214 has
    checked that carving fits whenever a tier is not listed)."""
    public, private = create.public_subnets, create.private_subnets
    if public is None or private is None:
        carved_public, carved_private = carve_subnets(create.cidr, len(create.availability_zones))
        public = carved_public if public is None else public
        private = carved_private if private is None else private
    return list(public), list(private)


# --- network.tf ------------------------------------------------------------------------------


def instances_in_public_subnets(env: Environment) -> bool:
    """Whether EC2/SPOT instances run in the public subnets: only they need a public IP from
    the subnet (Fargate tasks ask per job, NAT gateways use an Elastic IP), so otherwise the
    public subnets hand out none."""
    return any(
        not ce.is_fargate and ce.subnets == "public" for ce in env.compute_environments.values()
    )


def _named_tags(env: Environment, key: str) -> dict[str, str]:
    """Tags with a console ``Name``: VPC objects are otherwise listed by id only."""
    return derive.tags(env, key, {"Name": aws_name(env.name, key)})


class _CreatedVpc(TypedDict):
    """The part of network.tf's context that exists only for a VPC batchform creates."""

    vpc: VpcEntry
    internet_gateway: TagsOnlyEntry
    default_security_group: TagsOnlyEntry
    subnets: list[SubnetEntry]
    nat_gateways: list[NatGatewayEntry]
    route_tables: list[RouteTableEntry]
    routes: list[RouteEntry]
    associations: list[AssociationEntry]


class _Endpoints(TypedDict):
    """The part of network.tf's context about VPC endpoints."""

    endpoints: list[EndpointEntry]
    endpoint_security_group: EndpointSecurityGroupEntry | None
    existing_vpc_lookup: ExistingVpcLookupEntry | None


def _created_vpc(env: Environment, create: VpcCreate) -> _CreatedVpc:
    azs = list(create.availability_zones)
    public_cidrs, private_cidrs = subnet_cidrs(create)
    public_ips = instances_in_public_subnets(env)
    subnets: list[SubnetEntry] = []
    for tier, cidrs in (("public", public_cidrs), ("private", private_cidrs)):
        for az, cidr in zip(azs, cidrs, strict=True):
            subnets.append(
                {
                    "label": f"{tier}_{refs.az_label(az)}",
                    "cidr": cidr,
                    "az": az,
                    "map_public_ip_on_launch": tier == "public" and public_ips,
                    "tags": _named_tags(env, f"{tier}-{az}"),
                }
            )

    nat_azs = {"single": azs[:1], "per_az": azs, "none": []}[create.nat_gateways]
    nat_gateways: list[NatGatewayEntry] = [
        {
            "label": refs.az_label(az),
            "eip_label": f"nat_{refs.az_label(az)}",
            "allocation_id": Expr(f"aws_eip.nat_{refs.az_label(az)}.id"),
            "subnet_id": Expr(f"{refs.subnet_address('public', az)}.id"),
            "tags": _named_tags(env, f"nat-{az}"),
        }
        for az in nat_azs
    ]

    route_tables: list[RouteTableEntry] = [{"label": "public", "tags": _named_tags(env, "public")}]
    routes: list[RouteEntry] = [
        {
            "label": "public_internet",
            "route_table_id": Expr("aws_route_table.public.id"),
            "target": "gateway_id",
            "target_id": Expr("aws_internet_gateway.main.id"),
        }
    ]
    associations: list[AssociationEntry] = []
    for az in azs:
        az_l = refs.az_label(az)
        associations.append(
            {
                "label": f"public_{az_l}",
                "subnet_id": Expr(f"{refs.subnet_address('public', az)}.id"),
                "route_table_id": Expr("aws_route_table.public.id"),
            }
        )
    for az in azs:
        az_l = refs.az_label(az)
        route_tables.append({"label": f"private_{az_l}", "tags": _named_tags(env, f"private-{az}")})
        if nat_azs:
            nat_az = az if create.nat_gateways == "per_az" else nat_azs[0]
            routes.append(
                {
                    "label": f"private_{az_l}_nat",
                    "route_table_id": Expr(f"aws_route_table.private_{az_l}.id"),
                    "target": "nat_gateway_id",
                    "target_id": Expr(f"aws_nat_gateway.{refs.az_label(nat_az)}.id"),
                }
            )
        associations.append(
            {
                "label": f"private_{az_l}",
                "subnet_id": Expr(f"{refs.subnet_address('private', az)}.id"),
                "route_table_id": Expr(f"aws_route_table.private_{az_l}.id"),
            }
        )

    return {
        "vpc": {"cidr": create.cidr, "tags": _named_tags(env, "vpc")},
        "internet_gateway": {"tags": _named_tags(env, "internet-gateway")},
        "default_security_group": {"tags": _named_tags(env, "default-security-group")},
        "subnets": subnets,
        "nat_gateways": nat_gateways,
        "route_tables": route_tables,
        "routes": routes,
        "associations": associations,
    }


def _endpoints(env: Environment) -> _Endpoints:
    """VPC endpoints and, for interface endpoints, the security group that admits HTTPS."""
    create = env.network.vpc.create
    endpoints: list[EndpointEntry] = []
    private_route_tables = (
        [
            Expr(f"aws_route_table.private_{refs.az_label(az)}.id")
            for az in create.availability_zones
        ]
        if create is not None
        else []
    )
    for service in gateway_endpoints(env):
        endpoints.append(
            {
                "label": label(service.replace(".", "-")),
                "service_name": f"com.amazonaws.{env.region}.{service}",
                "type": "Gateway",
                "route_table_ids": private_route_tables,
                "tags": _named_tags(env, f"endpoint-{service.replace('.', '-')}"),
            }
        )
    interface = interface_endpoints(env)
    for service in interface:
        endpoints.append(
            {
                "label": label(service.replace(".", "-")),
                "service_name": f"com.amazonaws.{env.region}.{service}",
                "type": "Interface",
                "subnet_ids": refs.subnet_ids(env, "private"),
                "security_group_ids": [refs.security_group_id(ENDPOINTS_SG_KEY)],
                "private_dns_enabled": True,
                "tags": _named_tags(env, f"endpoint-{service.replace('.', '-')}"),
            }
        )
    endpoint_sg: EndpointSecurityGroupEntry | None = None
    existing_vpc_lookup: ExistingVpcLookupEntry | None = None
    if interface:
        if create is not None:
            vpc_cidr: Expr = Expr("aws_vpc.main.cidr_block")
        else:
            existing_vpc_lookup = {
                "id": refs.vpc_id(env),
                "dns_error": EXISTING_VPC_DNS_ERROR,
                "secondary": {
                    "label": f"{label(ENDPOINTS_SG_KEY)}_https_secondary",
                    "cidrs": Expr(SECONDARY_CIDRS),
                    "description": "HTTPS to the VPC endpoints from a secondary VPC CIDR block",
                    "tags": derive.tags(env, f"{ENDPOINTS_SG_KEY}-https-secondary"),
                },
            }
            vpc_cidr = Expr("data.aws_vpc.main.cidr_block")
        endpoint_sg = {
            "label": label(ENDPOINTS_SG_KEY),
            "name": aws_name(env.name, ENDPOINTS_SG_KEY),
            "description": "batchform VPC interface endpoints: HTTPS from the VPC",
            "vpc_id": refs.vpc_id(env),
            "tags": _named_tags(env, ENDPOINTS_SG_KEY),
            "ingress": {
                "label": f"{label(ENDPOINTS_SG_KEY)}_https",
                "security_group_id": refs.security_group_id(ENDPOINTS_SG_KEY),
                "description": "HTTPS to the VPC endpoints from inside the VPC",
                "ip_protocol": "tcp",
                "from_port": HTTPS_PORT,
                "to_port": HTTPS_PORT,
                "cidr_ipv4": vpc_cidr,
                "tags": derive.tags(env, f"{ENDPOINTS_SG_KEY}-https"),
            },
        }
    return {
        "endpoints": endpoints,
        "endpoint_security_group": endpoint_sg,
        "existing_vpc_lookup": existing_vpc_lookup,
    }


def _network_file(env: Environment) -> NetworkContext | None:
    create = env.network.vpc.create
    created = _created_vpc(env, create) if create is not None else None
    endpoints = _endpoints(env)
    if created is None and not endpoints["endpoints"]:
        return None
    return {
        "vpc_id_ref": refs.vpc_id(env),
        "vpc": created["vpc"] if created else None,
        "internet_gateway": created["internet_gateway"] if created else None,
        "default_security_group": created["default_security_group"] if created else None,
        "subnets": created["subnets"] if created else [],
        "nat_gateways": created["nat_gateways"] if created else [],
        "route_tables": created["route_tables"] if created else [],
        "routes": created["routes"] if created else [],
        "associations": created["associations"] if created else [],
        "endpoints": endpoints["endpoints"],
        "endpoint_security_group": endpoints["endpoint_security_group"],
        "existing_vpc_lookup": endpoints["existing_vpc_lookup"],
    }


# --- security_groups.tf ----------------------------------------------------------------------


def parse_ports(ports: int | str | None) -> tuple[int, int] | None:
    """``22`` -> (22, 22); ``"8000-8080"`` -> (8000, 8080); ``None`` -> None.

    Raises ``ValueError`` for anything else (check BF217 reports it before planning).
    """
    if ports is None:
        return None
    if isinstance(ports, int):
        return ports, ports
    text = ports.strip()
    low, sep, high = text.partition("-")
    if not sep:
        return int(text), int(text)
    return int(low), int(high)


def _is_ipv6(cidr: str) -> bool:
    return ipaddress.ip_network(cidr).version == 6


def _default_rule_description(direction: str, r: SecurityGroupRule) -> str:
    what: str = "all traffic" if r.protocol == "all" else r.protocol
    if r.protocol in ("tcp", "udp") and r.ports is not None:
        what += f" {r.ports}"
    peer = r.cidr if r.cidr is not None else f"security group {r.security_group}"
    return f"{what} {'from' if direction == 'ingress' else 'to'} {peer}"


def _rule(
    env: Environment, sg_key: str, direction: str, index: str, r: SecurityGroupRule
) -> SecurityGroupRuleEntry:
    protocol = PROTOCOL_NUMBERS[r.protocol]
    if r.protocol == "icmp" and r.cidr is not None and _is_ipv6(r.cidr):
        protocol = "icmpv6"
    ports: tuple[int, int] | None = None
    if r.protocol in ("tcp", "udp"):
        ports = parse_ports(r.ports)
    elif r.protocol == "icmp":
        ports = (-1, -1)  # every ICMP type and code
    peer: RulePeerEntry = {}
    if r.cidr is not None:
        if _is_ipv6(r.cidr):
            peer["cidr_ipv6"] = r.cidr
        else:
            peer["cidr_ipv4"] = r.cidr
    else:
        assert r.security_group is not None
        peer["referenced_security_group_id"] = refs.security_group_id(r.security_group)
    return {
        "label": f"{label(sg_key)}_{direction}_{index}",
        "security_group_id": refs.security_group_id(sg_key),
        "description": r.description or _default_rule_description(direction, r),
        "ip_protocol": protocol,
        "from_port": ports[0] if ports else None,
        "to_port": ports[1] if ports else None,
        "peer": peer,
        "tags": derive.tags(env, f"{sg_key}-{direction}-{index}"),
    }


def _security_groups_file(env: Environment) -> SecurityGroupsContext | None:
    groups: list[SecurityGroupEntry] = []
    ingress: list[SecurityGroupRuleEntry] = []
    egress: list[SecurityGroupRuleEntry] = []
    definitions = env.security_group_definitions()
    for key in sorted(definitions):
        sg = definitions[key]
        name = resource_name(env, "security_groups", key)
        groups.append(
            {
                "label": label(key),
                "name": name,
                "description": sg.description or f"batchform {key} security group",
                "vpc_id": refs.vpc_id(env),
                # the console Name is the group's name; the group's own tags may set another
                "tags": derive.tags(env, key, {"Name": name, **sg.tags}),
            }
        )
        for i, r in enumerate(sg.ingress):
            ingress.append(_rule(env, key, "ingress", str(i), r))
        if sg.egress == "all":
            egress.append(
                _rule(
                    env,
                    key,
                    "egress",
                    "all",
                    SecurityGroupRule(
                        protocol="all",
                        cidr=ANYWHERE_V4,
                        description="all outbound IPv4 traffic (image pulls, AWS APIs, S3)",
                    ),
                )
            )
        elif isinstance(sg.egress, list):
            for i, r in enumerate(sg.egress):
                egress.append(_rule(env, key, "egress", str(i), r))
    if not groups:
        return None
    return {"security_groups": groups, "ingress_rules": ingress, "egress_rules": egress}


def plan(env: Environment) -> PlanFiles:
    """``{"network.tf": ..., "security_groups.tf": ...}``, leaving out a file with nothing in it."""
    files: PlanFiles = {}
    network = _network_file(env)
    if network is not None:
        files["network.tf"] = network
    groups = _security_groups_file(env)
    if groups is not None:
        files["security_groups.tf"] = groups
    return files
