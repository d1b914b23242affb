"""Network rules (BF210-BF219): the VPC, subnets, security group rules and VPC endpoints.

The network plan trusts a checked model: it carves subnets, parses rule ports and names the
endpoint security group without re-validating. Everything it would otherwise have to refuse is
an error here, reported at the key the user wrote. Reachability (private subnets without NAT or
endpoints) is in ``batchform.checks.capacity`` (BF483-BF485).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from batchform import regions as regions_data
from batchform.checks import Finding, rule
from batchform.derive import (
    AWS_MAX_SUBNET_PREFIX,
    AWS_MIN_SUBNET_PREFIX,
    ENDPOINTS_SG_KEY,
    carve_fits,
    carve_prefixes,
    interface_endpoints,
)
from batchform.diagnostics import Level, Path
from batchform.model import GATEWAY_ENDPOINT_SERVICES, Environment, SecurityGroupRule

CREATE: Path = ("network", "vpc", "create")
EXISTING: Path = ("network", "vpc", "existing")
PORT_RANGE = re.compile(r"^[ \t]*(\d+)[ \t]*(?:-[ \t]*(\d+)[ \t]*)?\Z")
MAX_PORT = 65535


def _prefix_hint() -> str:
    low, high = AWS_MIN_SUBNET_PREFIX, AWS_MAX_SUBNET_PREFIX
    return f"AWS accepts VPC and subnet blocks from /{low} to /{high}"


@rule("BF210", Level.ERROR, "the VPC CIDR or availability zones of a created VPC are invalid")
def vpc_settings(env: Environment) -> Iterator[Finding]:
    create = env.network.vpc.create
    if create is None:
        return
    net = ipaddress.ip_network(create.cidr)
    if net.version != 4:
        yield Finding(
            (*CREATE, "cidr"),
            f"the VPC CIDR {create.cidr} is IPv6; a VPC is created from an IPv4 block",
            "use a private IPv4 block such as 10.20.0.0/16",
        )
    elif not AWS_MIN_SUBNET_PREFIX <= net.prefixlen <= AWS_MAX_SUBNET_PREFIX:
        yield Finding(
            (*CREATE, "cidr"), f"the VPC CIDR {create.cidr} has an invalid size", _prefix_hint()
        )
    seen: set[str] = set()
    for i, az in enumerate(create.availability_zones):
        path = (*CREATE, "availability_zones", i)
        if az in seen:
            yield Finding(path, f"availability zone {az} is listed twice")
        seen.add(az)
        if not re.fullmatch(re.escape(env.region) + r"[a-z]", az):
            yield Finding(
                path,
                f"'{az}' is not an availability zone of {env.region}",
                f"zones are the region name and a letter, such as {env.region}a",
            )


@rule("BF209", Level.WARNING, "an availability zone is not one batchform knows in the region")
def zone_exists(env: Environment) -> Iterator[Finding]:
    create = env.network.vpc.create
    if create is None:
        return
    as_of, regions = regions_data.known_zones()
    zones = regions.get(env.region)
    if zones is None:
        return
    for i, az in enumerate(create.availability_zones):
        # Malformed names are BF210's; this rule is about well-formed names AWS does not have.
        if az not in zones and re.fullmatch(re.escape(env.region) + r"[a-z]", az):
            yield Finding(
                (*CREATE, "availability_zones", i),
                f"{env.region} has no availability zone {az} (zones as of {as_of}: "
                f"{', '.join(zones)}); creating its subnets would fail at apply time",
                "pick one of the zones listed; if AWS has opened this zone since, "
                "add BF209 to `ignore:`",
            )


@rule("BF211", Level.ERROR, "listed subnets of a created VPC are not one per availability zone")
def subnet_count(env: Environment) -> Iterator[Finding]:
    create = env.network.vpc.create
    if create is None:
        return
    zones = len(create.availability_zones)
    for tier in ("public_subnets", "private_subnets"):
        listed = getattr(create, tier)
        if listed is not None and len(listed) != zones:
            yield Finding(
                (*CREATE, tier),
                f"{tier} lists {len(listed)} CIDR block(s) for {zones} availability zone(s)",
                "list one block per availability zone, in the same order, or leave the key "
                "out to have them carved from the VPC CIDR",
            )


def _listed(env: Environment) -> Iterator[tuple[Path, str]]:
    create = env.network.vpc.create
    if create is None:
        return
    for tier in ("public_subnets", "private_subnets"):
        for i, cidr in enumerate(getattr(create, tier) or []):
            yield (*CREATE, tier, i), cidr


@rule("BF212", Level.ERROR, "a listed subnet is not an IPv4 block inside the VPC CIDR")
def subnet_inside_vpc(env: Environment) -> Iterator[Finding]:
    create = env.network.vpc.create
    if create is None:
        return
    vpc = ipaddress.ip_network(create.cidr)
    for path, cidr in _listed(env):
        net = ipaddress.ip_network(cidr)
        inside = (
            isinstance(net, ipaddress.IPv4Network)
            and isinstance(vpc, ipaddress.IPv4Network)
            and net.subnet_of(vpc)
        )
        if not inside:
            yield Finding(path, f"subnet {cidr} is not inside the VPC CIDR {create.cidr}")
        elif not AWS_MIN_SUBNET_PREFIX <= net.prefixlen <= AWS_MAX_SUBNET_PREFIX:
            yield Finding(path, f"subnet {cidr} has an invalid size", _prefix_hint())


@rule("BF213", Level.ERROR, "two listed subnets overlap")
def subnets_overlap(env: Environment) -> Iterator[Finding]:
    earlier: list[tuple[Path, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for path, cidr in _listed(env):
        net = ipaddress.ip_network(cidr)
        for other_path, other in earlier:
            if net.version == other.version and net.overlaps(other):
                where = ".".join(str(p) for p in other_path[3:])
                yield Finding(path, f"subnet {cidr} overlaps {other} ({where})")
                break
        earlier.append((path, net))


@rule(
    "BF214",
    Level.ERROR,
    "the VPC CIDR is too small to carve one public and one private subnet per AZ",
)
def cidr_too_small(env: Environment) -> Iterator[Finding]:
    create = env.network.vpc.create
    if create is None or (create.public_subnets is not None and create.private_subnets is not None):
        return
    net = ipaddress.ip_network(create.cidr)
    zones = len(create.availability_zones)
    if net.version != 4 or carve_fits(create.cidr, zones):
        return
    public, private = carve_prefixes(net.prefixlen, zones)
    yield Finding(
        (*CREATE, "cidr"),
        f"{create.cidr} is too small to carve subnets for {zones} availability zone(s): that "
        f"needs public /{public} and private /{private} blocks, and AWS's smallest is "
        f"/{AWS_MAX_SUBNET_PREFIX}",
        "use a larger VPC CIDR (a /16 to /24), fewer zones, or list public_subnets and "
        "private_subnets yourself",
    )


@rule("BF215", Level.ERROR, "a compute environment uses subnets an existing VPC does not list")
def existing_vpc_subnets(env: Environment) -> Iterator[Finding]:
    existing = env.network.vpc.existing
    if existing is None:
        return
    for key, ce in env.compute_environments.items():
        if isinstance(ce.subnets, list):
            continue
        tier = f"{ce.subnets}_subnets"
        if not getattr(existing, tier):
            yield Finding(
                ("compute_environments", key, "subnets"),
                f"compute environment '{key}' runs in the {ce.subnets} subnets, but "
                f"network.vpc.existing lists no {tier}",
                f"list the subnet ids under network.vpc.existing.{tier}, or give this compute "
                "environment a list of subnet ids",
            )


@rule("BF216", Level.WARNING, "a VPC endpoint is skipped because batchform cannot create it there")
def endpoints_skipped(env: Environment) -> Iterator[Finding]:
    existing = env.network.vpc.existing
    if existing is None:
        return
    interface = set(interface_endpoints(env))
    for i, service in enumerate(env.network.endpoints):
        path = ("network", "endpoints", i)
        if service in GATEWAY_ENDPOINT_SERVICES:
            yield Finding(
                path,
                f"the {service} gateway endpoint is not created in an existing VPC: it attaches "
                "to route tables, which batchform does not know there",
                "create it with the VPC's own Terraform (or console), then add BF216 to ignore",
            )
        elif service not in interface:
            yield Finding(
                path,
                f"the {service} interface endpoint is not created: network.vpc.existing lists "
                "no private_subnets to place it in",
                "list the private subnet ids under network.vpc.existing.private_subnets",
            )


def _port_findings(path: Path, r: SecurityGroupRule) -> Iterator[Finding]:
    if r.protocol in ("all", "icmp"):
        if r.ports is not None:
            yield Finding(
                (*path, "ports"),
                f"a protocol '{r.protocol}' rule takes no ports (it covers every "
                f"{'port' if r.protocol == 'all' else 'ICMP type'})",
                "remove ports, or use protocol tcp or udp",
            )
        return
    if r.ports is None:
        yield Finding(
            path,
            f"a {r.protocol} rule needs ports (a number such as 443 or a range such as 8000-8080)",
            "to open every port, write ports: 0-65535",
        )
        return
    if isinstance(r.ports, int):
        low = high = r.ports
    else:
        m = PORT_RANGE.match(r.ports)
        if m is None:
            yield Finding(
                (*path, "ports"), f"'{r.ports}' is not a port or a range such as 8000-8080"
            )
            return
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
    if not (0 <= low <= MAX_PORT and 0 <= high <= MAX_PORT):
        yield Finding((*path, "ports"), f"ports {r.ports} are outside 0-{MAX_PORT}")
    elif low > high:
        yield Finding((*path, "ports"), f"port range {r.ports} starts above its end")


@rule("BF217", Level.ERROR, "a security group rule's protocol and ports do not fit together")
def rule_ports(env: Environment) -> Iterator[Finding]:
    for key, sg in env.network.security_groups.items():
        directions = [("ingress", sg.ingress)]
        if isinstance(sg.egress, list):
            directions.append(("egress", sg.egress))
        for direction, rules in directions:
            for i, r in enumerate(rules):
                yield from _port_findings(("network", "security_groups", key, direction, i), r)


@rule("BF218", Level.ERROR, "a security group key is reserved for the VPC endpoints' group")
def reserved_security_group(env: Environment) -> Iterator[Finding]:
    if ENDPOINTS_SG_KEY in env.network.security_groups and interface_endpoints(env):
        yield Finding(
            ("network", "security_groups", ENDPOINTS_SG_KEY),
            f"the security group key '{ENDPOINTS_SG_KEY}' is used by batchform for the interface "
            "endpoints' own group (same AWS name and Terraform address)",
            "rename this security group",
        )


@rule("BF219", Level.ERROR, "network.endpoints lists a service twice")
def duplicate_endpoints(env: Environment) -> Iterator[Finding]:
    seen: set[str] = set()
    for i, service in enumerate(env.network.endpoints):
        if service in seen:
            yield Finding(("network", "endpoints", i), f"endpoint {service} is listed twice")
        seen.add(service)
