"""Network, security group and IAM output: what a user deploying the environment would notice.

Small environments are written as YAML text, checked, planned and rendered; assertions read the
plan context (policies as Python data) and the rendered HCL parsed back with python-hcl2. The
``terraform`` tests run ``terraform fmt -check``/``validate`` on the output; the ``e2e`` test
applies the network, security group and IAM files to moto and expects an empty plan afterwards.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchform.build import analyze_text
from batchform.derive import carve_subnets
from batchform.diagnostics import Level
from batchform.model import Environment
from batchform.plan import iam
from batchform.regions import known_zones
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import write_moto_copy
from tests.harness import terraform as tf
from tests.harness.small_env import BASE, analysis, blocks, checked, codes, rendered
from tests.harness.yaml_files import read_yaml

REPO = Path(__file__).resolve().parent.parent

# --- helpers ---------------------------------------------------------------------------------


def network_resources(env: Environment) -> dict[str, dict[str, dict[str, Any]]]:
    files = rendered(env)
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for name in ("network.tf", "security_groups.tf"):
        for rtype, items in blocks(files.get(name, "")).items():
            merged.setdefault(rtype, {}).update(items)
    return merged


def policies(env: Environment) -> dict[str, dict[str, Any]]:
    """``{inline policy label: policy document}`` from the IAM plan."""
    roles = iam.plan(env).get("iam.tf", {"roles": []})["roles"]
    return {p["label"]: p["policy"] for r in roles for p in r["inline_policies"]}


def role_labels(env: Environment) -> set[str]:
    return set(blocks(rendered(env).get("iam.tf", "")).get("aws_iam_role", {}))


# --- subnets ---------------------------------------------------------------------------------


def test_carved_subnets_match_the_spec_example() -> None:
    subnets = network_resources(checked())["aws_subnet"]
    cidrs = {label: body["cidr_block"] for label, body in subnets.items()}
    assert cidrs == {
        "public_us_west_2a": "10.20.0.0/20",
        "public_us_west_2b": "10.20.16.0/20",
        "private_us_west_2a": "10.20.128.0/18",
        "private_us_west_2b": "10.20.192.0/18",
    }
    assert subnets["private_us_west_2a"]["availability_zone"] == "us-west-2a"
    # no instance runs in a public subnet, so none hands out public IPs
    assert not any(s["map_public_ip_on_launch"] for s in subnets.values())


@pytest.mark.parametrize(
    ("cidr", "zones"),
    [
        ("10.0.0.0/16", 1),
        ("10.0.0.0/16", 3),
        ("10.0.0.0/16", 6),
        ("10.0.0.0/24", 3),
        ("172.16.0.0/20", 9),
        ("192.168.0.0/22", 4),
    ],
)
def test_carved_subnets_stay_inside_the_vpc_and_never_overlap(cidr: str, zones: int) -> None:
    public, private = carve_subnets(cidr, zones)
    vpc = ipaddress.ip_network(cidr)
    nets = [ipaddress.ip_network(c) for c in public + private]
    assert len(public) == len(private) == zones
    assert all(n.subnet_of(vpc) for n in nets)  # type: ignore[arg-type]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    upper = list(vpc.subnets(prefixlen_diff=1))[1]
    assert all(ipaddress.ip_network(c).subnet_of(upper) for c in private)  # type: ignore[arg-type]
    assert carve_subnets(cidr, zones) == (public, private)  # deterministic


def test_listed_subnets_are_used_as_written() -> None:
    env = checked(
        replace={
            "network": {
                "vpc": {
                    "create": {
                        "public_subnets": ["10.20.1.0/24", "10.20.2.0/24"],
                        "private_subnets": ["10.20.64.0/19", "10.20.96.0/19"],
                    }
                }
            }
        }
    )
    subnets = network_resources(env)["aws_subnet"]
    assert subnets["public_us_west_2b"]["cidr_block"] == "10.20.2.0/24"
    assert subnets["private_us_west_2a"]["cidr_block"] == "10.20.64.0/19"


# --- NAT, routes, default security group ----------------------------------------------------


def _with_nat(mode: str, zones: list[str] | None = None) -> dict[str, Any]:
    create: dict[str, Any] = {"nat_gateways": mode}
    if zones:
        create["availability_zones"] = zones
    replace: dict[str, Any] = {"network": {"vpc": {"create": create}}}
    if mode == "none":
        replace["compute_environments"] = {"ondemand": {"subnets": "public"}}
    return replace


def test_single_nat_gateway_serves_every_private_subnet() -> None:
    res = network_resources(
        checked(replace=_with_nat("single", ["us-west-2a", "us-west-2b", "us-west-2c"]))
    )
    assert list(res["aws_nat_gateway"]) == ["us_west_2a"]
    assert list(res["aws_eip"]) == ["nat_us_west_2a"]
    assert res["aws_nat_gateway"]["us_west_2a"]["subnet_id"] == "${aws_subnet.public_us_west_2a.id}"
    nat_routes = {k: v for k, v in res["aws_route"].items() if "nat_gateway_id" in v}
    assert len(nat_routes) == 3
    assert {v["nat_gateway_id"] for v in nat_routes.values()} == {
        "${aws_nat_gateway.us_west_2a.id}"
    }


def test_per_az_nat_gateways_keep_traffic_in_its_zone() -> None:
    res = network_resources(checked(replace=_with_nat("per_az")))
    assert sorted(res["aws_nat_gateway"]) == ["us_west_2a", "us_west_2b"]
    assert len(res["aws_eip"]) == 2
    route = res["aws_route"]["private_us_west_2b_nat"]
    assert route["route_table_id"] == "${aws_route_table.private_us_west_2b.id}"
    assert route["nat_gateway_id"] == "${aws_nat_gateway.us_west_2b.id}"
    assert res["aws_nat_gateway"]["us_west_2b"]["subnet_id"] == "${aws_subnet.public_us_west_2b.id}"


def test_no_nat_gateway_leaves_private_subnets_without_a_default_route() -> None:
    res = network_resources(checked(replace=_with_nat("none")))
    # the EC2 compute environment moved to the public subnets: its instances need public IPs
    public_ips = {k: v["map_public_ip_on_launch"] for k, v in res["aws_subnet"].items()}
    assert public_ips == {
        "public_us_west_2a": True,
        "public_us_west_2b": True,
        "private_us_west_2a": False,
        "private_us_west_2b": False,
    }
    assert "aws_nat_gateway" not in res and "aws_eip" not in res
    assert list(res["aws_route"]) == ["public_internet"]
    assert res["aws_route"]["public_internet"]["gateway_id"] == "${aws_internet_gateway.main.id}"
    assert len(res["aws_route_table_association"]) == 4


def test_default_security_group_is_stripped_of_rules() -> None:
    default = network_resources(checked())["aws_default_security_group"]["main"]
    assert default["vpc_id"] == "${aws_vpc.main.id}"
    assert "ingress" not in default and "egress" not in default


def test_created_vpc_resolves_names_and_is_tagged() -> None:
    vpc = network_resources(checked())["aws_vpc"]["main"]
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True
    assert vpc["tags"]["batchform:environment"] == "demo"
    assert vpc["tags"]["Name"] == "demo-vpc"


# --- security groups -------------------------------------------------------------------------

RULES = """\
network:
  vpc:
    create:
      cidr: 10.20.0.0/16
      availability_zones: [us-west-2a, us-west-2b]
  security_groups:
    batch:
      ingress:
        - {protocol: tcp, ports: 8000-8080, cidr: 10.0.0.0/8, description: app ports}
        - {protocol: tcp, ports: 22, security_group: bastion}
        - {protocol: icmp, cidr: "2001:db8::/32"}
      egress:
        - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}
    bastion:
      description: Bastion hosts
      egress: none
"""


def _rules_env() -> Environment:
    data = read_yaml(BASE)
    data["network"] = read_yaml(RULES)["network"]
    result = analyze_text(yaml.safe_dump(data, sort_keys=False), "demo.yaml")
    assert result.env is not None
    return result.env


def test_security_groups_are_named_and_described() -> None:
    groups = network_resources(_rules_env())["aws_security_group"]
    assert groups["batch"]["name"] == "demo-batch"
    assert groups["batch"]["description"] == "batchform batch security group"
    assert groups["bastion"]["description"] == "Bastion hosts"
    assert groups["batch"]["vpc_id"] == "${aws_vpc.main.id}"


def test_rules_render_with_ports_peers_and_descriptions() -> None:
    res = network_resources(_rules_env())
    ingress = res["aws_vpc_security_group_ingress_rule"]
    assert set(ingress) == {"batch_ingress_0", "batch_ingress_1", "batch_ingress_2"}
    assert all(rule["description"] for rule in ingress.values())
    app = ingress["batch_ingress_0"]
    assert (app["from_port"], app["to_port"], app["ip_protocol"]) == (8000, 8080, "tcp")
    assert app["cidr_ipv4"] == "10.0.0.0/8" and app["description"] == "app ports"
    ssh = ingress["batch_ingress_1"]
    assert ssh["referenced_security_group_id"] == "${aws_security_group.bastion.id}"
    assert ssh["description"] == "tcp 22 from security group bastion"
    icmp = ingress["batch_ingress_2"]
    assert icmp["ip_protocol"] == "icmpv6" and icmp["cidr_ipv6"] == "2001:db8::/32"
    egress = res["aws_vpc_security_group_egress_rule"]
    assert set(egress) == {"batch_egress_0"}  # bastion: egress none -> no rule at all
    assert egress["batch_egress_0"]["from_port"] == 443


def test_egress_all_is_one_ipv4_rule_without_ports() -> None:
    egress = network_resources(checked())["aws_vpc_security_group_egress_rule"]
    assert list(egress) == ["batch_egress_all"]
    rule = egress["batch_egress_all"]
    assert rule["ip_protocol"] == "-1" and rule["cidr_ipv4"] == "0.0.0.0/0"
    assert "from_port" not in rule and rule["description"]


def test_existing_vpc_uses_literal_ids_and_creates_no_vpc_resources() -> None:
    env = checked(
        replace={
            "network": {
                "vpc": {
                    "create": None,
                    "existing": {
                        "vpc_id": "vpc-0123456789abcdef0",
                        "private_subnets": ["subnet-0aaaaaaa", "subnet-0bbbbbbb"],
                    },
                }
            }
        }
    )
    files = rendered(env)
    assert "network.tf" not in files
    groups = blocks(files["security_groups.tf"])["aws_security_group"]
    assert groups["batch"]["vpc_id"] == "vpc-0123456789abcdef0"


def _compute(env: Environment) -> dict[str, dict[str, Any]]:
    parsed = blocks(rendered(env)["compute_environments.tf"])
    return parsed["aws_batch_compute_environment"]


def test_without_security_groups_batchform_creates_one_that_every_ce_uses() -> None:
    """A file with no network.security_groups still gets a working group: ``<name>-batch``,
    all outbound IPv4, nothing inbound, described; BF207 does not fire."""
    result = analysis(
        replace={
            "network": {"security_groups": None},
            "compute_environments": {"fargate": {"type": "FARGATE", "max_vcpus": 4}},
        }
    )
    assert result.env is not None and "BF207" not in {d.code for d in result.diagnostics}
    res = network_resources(result.env)
    (group,) = res["aws_security_group"].values()
    assert group["name"] == "demo-batch" and group["description"]
    assert group["vpc_id"] == "${aws_vpc.main.id}"
    assert "aws_vpc_security_group_ingress_rule" not in res
    (egress,) = res["aws_vpc_security_group_egress_rule"].values()
    assert egress["ip_protocol"] == "-1" and egress["cidr_ipv4"] == "0.0.0.0/0"
    for ce in _compute(result.env).values():
        assert ce["compute_resources"][0]["security_group_ids"] == [
            "${aws_security_group.batch.id}"
        ]


def test_default_security_group_goes_into_an_existing_vpc() -> None:
    env = checked(
        replace={
            "network": {
                "security_groups": None,
                "vpc": {
                    "create": None,
                    "existing": {
                        "vpc_id": "vpc-0123456789abcdef0",
                        "private_subnets": ["subnet-0aaaaaaa"],
                    },
                },
            }
        }
    )
    groups = blocks(rendered(env)["security_groups.tf"])["aws_security_group"]
    assert groups["batch"]["vpc_id"] == "vpc-0123456789abcdef0"


def test_security_groups_mix_keys_and_ids_of_existing_groups() -> None:
    env = checked(
        replace={
            "compute_environments": {
                "ondemand": {"security_groups": ["batch", "sg-0123456789abcdef0"]}
            }
        }
    )
    (ce,) = _compute(env).values()
    assert ce["compute_resources"][0]["security_group_ids"] == [
        "${aws_security_group.batch.id}",
        "sg-0123456789abcdef0",
    ]
    # Only ids of existing groups: batchform creates no default group for nobody.
    env = checked(
        replace={
            "network": {"security_groups": None},
            "compute_environments": {"ondemand": {"security_groups": ["sg-0123456789abcdef0"]}},
        }
    )
    assert "security_groups.tf" not in rendered(env)


# --- VPC endpoints ---------------------------------------------------------------------------


def test_gateway_and_interface_endpoints() -> None:
    env = checked(replace={"network": {"endpoints": ["s3", "ecr.api", "logs"]}})
    res = network_resources(env)
    endpoints = res["aws_vpc_endpoint"]
    s3 = endpoints["s3"]
    assert s3["vpc_endpoint_type"] == "Gateway"
    assert s3["service_name"] == "com.amazonaws.us-west-2.s3"
    assert s3["route_table_ids"] == [
        "${aws_route_table.private_us_west_2a.id}",
        "${aws_route_table.private_us_west_2b.id}",
    ]
    ecr = endpoints["ecr_api"]
    assert ecr["vpc_endpoint_type"] == "Interface" and ecr["private_dns_enabled"] is True
    assert ecr["subnet_ids"] == [
        "${aws_subnet.private_us_west_2a.id}",
        "${aws_subnet.private_us_west_2b.id}",
    ]
    assert ecr["security_group_ids"] == ["${aws_security_group.vpc_endpoints.id}"]
    https = res["aws_vpc_security_group_ingress_rule"]["vpc_endpoints_https"]
    assert (https["from_port"], https["to_port"]) == (443, 443)
    assert https["cidr_ipv4"] == "${aws_vpc.main.cidr_block}"
    assert res["aws_security_group"]["vpc_endpoints"]["name"] == "demo-vpc-endpoints"


def test_existing_vpc_skips_gateway_endpoints_with_a_warning() -> None:
    replace = {
        "network": {
            "endpoints": ["s3", "ecr.dkr"],
            "vpc": {
                "create": None,
                "existing": {"vpc_id": "vpc-0abc", "private_subnets": ["subnet-0aaaaaaa"]},
            },
        }
    }
    result = analysis(replace=replace)
    skipped = [d for d in result.diagnostics if d.code == "BF216"]
    assert len(skipped) == 1 and "s3" in skipped[0].message
    assert result.env is not None
    files = rendered(result.env)
    endpoints = blocks(files["network.tf"])["aws_vpc_endpoint"]
    assert list(endpoints) == ["ecr_dkr"]
    assert endpoints["ecr_dkr"]["subnet_ids"] == ["subnet-0aaaaaaa"]
    assert endpoints["ecr_dkr"]["vpc_id"] == "vpc-0abc"
    lookup = blocks(files["network.tf"], "data")["aws_vpc"]["main"]
    assert lookup["id"] == "vpc-0abc"


# --- IAM -------------------------------------------------------------------------------------

JOBS = """\
job_definitions:
  align:
    image: 123456789012.dkr.ecr.us-west-2.amazonaws.com/bwa:1
    vcpus: 2
    memory: 4 GiB
    secrets:
      TOKEN: "arn:aws:secretsmanager:us-west-2:123456789012:secret:api-token"
      DB: "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf:password::"
      PARAM: "arn:aws:ssm:us-west-2:123456789012:parameter/batch/param"
    job_role:
      s3_read: [refs, shared/genomes]
      s3_write: [results]
  report:
    image: 123456789012.dkr.ecr.us-west-2.amazonaws.com/report:1
    vcpus: 1
    memory: 2 GiB
"""


def _actions(policy: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for statement in policy["Statement"]:
        action = statement["Action"]
        out += [action] if isinstance(action, str) else action
    return out


def test_job_role_policy_scopes_exactly_the_named_buckets() -> None:
    policy = policies(checked(JOBS))["job_align_s3"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    partition = "arn:${data.aws_partition.current.partition}:s3:::"
    assert by_sid["ListBuckets"]["Resource"] == [f'"{partition}refs"', f'"{partition}results"']
    shared = by_sid["ListPrefixes0"]
    assert shared["Resource"] == [f'"{partition}shared"']
    assert shared["Condition"] == {"StringLike": {"s3:prefix": ["genomes", "genomes/*"]}}
    assert by_sid["ReadObjects"]["Action"] == ["s3:GetObject"]
    assert by_sid["ReadObjects"]["Resource"] == [
        f'"{partition}refs/*"',
        f'"{partition}shared/genomes/*"',
        f'"{partition}results/*"',
    ]
    assert by_sid["WriteObjects"]["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert by_sid["WriteObjects"]["Resource"] == [f'"{partition}results/*"']


def test_execution_role_reads_exactly_the_referenced_secrets() -> None:
    policy = policies(checked(JOBS))["execution_secrets"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadJobSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    base = "arn:aws:secretsmanager:us-west-2:123456789012:secret:"
    assert by_sid["ReadJobSecrets"]["Resource"] == [
        base + "api-token",
        base + "api-token-??????",  # the partial ARN matches the secret's own 6-char suffix
        base + "db-AbCdEf",  # the JSON key suffix is not part of the resource
        base + "db-AbCdEf-??????",
    ]
    assert by_sid["ReadJobParameters"] == {
        "Sid": "ReadJobParameters",
        "Effect": "Allow",
        "Action": ["ssm:GetParameters"],
        "Resource": ["arn:aws:ssm:us-west-2:123456789012:parameter/batch/param"],
    }


def test_no_policy_has_a_wildcard_action_or_resource() -> None:
    env = checked(JOBS, replace={"iam": {"service_role": "generated"}})
    for label, policy in policies(env).items():
        for action in _actions(policy):
            assert "*" not in action, (label, action)
        for statement in policy["Statement"]:
            assert "*" not in statement["Resource"], label
    text = rendered(env)["iam.tf"]
    assert '"*"' not in text and 'Action = "*"' not in text


def test_rendered_policies_are_jsonencoded_hcl_objects() -> None:
    roles = blocks(rendered(checked(JOBS))["iam.tf"])
    inline = roles["aws_iam_role_policy"]["job_align_s3"]
    assert inline["role"] == "${aws_iam_role.job_align.name}"
    assert inline["policy"].startswith("${jsonencode({")
    trust = roles["aws_iam_role"]["job_align"]["assume_role_policy"]
    assert "ecs-tasks.amazonaws.com" in trust
    assert roles["aws_iam_role"]["job_align"]["name"] == "demo-job-align"
    assert roles["aws_iam_role"]["job_align"]["tags"]["batchform:key"] == "role-job-align"


def test_roles_exist_only_when_something_uses_them() -> None:
    # EC2 CE, service-linked service role, no SPOT, no Fargate, no secrets, no job roles
    assert role_labels(checked()) == {"ecs_instance"}
    # a generated job role and secrets add the job role and the execution role
    assert role_labels(checked(JOBS)) == {"ecs_instance", "execution", "job_align"}
    # SPOT with a price-capacity strategy needs no spot fleet role; BEST_FIT does
    spot = {
        "compute_environments": {"spot": {"type": "SPOT", "max_vcpus": 8, "bid_percentage": 50}}
    }
    assert "spot_fleet" in role_labels(checked(replace=spot))
    spot["compute_environments"]["spot"]["allocation_strategy"] = "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert "spot_fleet" not in role_labels(checked(replace=spot))
    # the batch service role only when asked for
    assert "batch_service" in role_labels(checked(replace={"iam": {"service_role": "generated"}}))


def test_fargate_only_environment_has_no_instance_role() -> None:
    env = checked(
        """\
        job_definitions:
          report:
            platform: FARGATE
            image: public.ecr.aws/docker/library/python:3.12
            vcpus: 0.5
            memory: 1 GiB
        """,
        replace={
            "compute_environments": {
                "ondemand": None,
                "fargate": {"type": "FARGATE", "max_vcpus": 4},
            }
        },
    )
    files = rendered(env)
    assert role_labels(env) == {"execution"}
    assert "aws_iam_instance_profile" not in blocks(files["iam.tf"])
    assert "aws_iam_role_policy" not in blocks(files["iam.tf"])  # no secrets, no job roles


def test_given_arns_generate_no_iam_file() -> None:
    env = checked(
        replace={
            "iam": {
                "service_role": "arn:aws:iam::123456789012:role/batch",
                "instance_role": "arn:aws:iam::123456789012:instance-profile/ecs",
            }
        }
    )
    assert "iam.tf" not in rendered(env)


def test_managed_policies_follow_the_partition() -> None:
    iam_tf = blocks(rendered(checked(replace={"iam": {"service_role": "generated"}}))["iam.tf"])
    arn = iam_tf["aws_iam_role_policy_attachment"]["batch_service"]["policy_arn"]
    partition = "${data.aws_partition.current.partition}"
    assert arn == f"arn:{partition}:iam::aws:policy/service-role/AWSBatchServiceRole"
    instance = iam_tf["aws_iam_instance_profile"]["ecs_instance"]
    assert instance["role"] == "${aws_iam_role.ecs_instance.name}"
    assert instance["name"] == "demo-ecs-instance"


# --- checks ----------------------------------------------------------------------------------


def _create(**values: Any) -> dict[str, Any]:
    return {"network": {"vpc": {"create": values}}}


@pytest.mark.parametrize(
    ("code", "replace"),
    [
        ("BF210", _create(cidr="10.0.0.0/8")),
        ("BF210", _create(availability_zones=["us-east-1a", "us-west-2b"])),
        ("BF211", _create(public_subnets=["10.20.0.0/24"])),
        ("BF212", _create(public_subnets=["10.21.0.0/24", "10.20.1.0/24"])),
        ("BF213", _create(private_subnets=["10.20.0.0/20", "10.20.8.0/24"])),
        ("BF214", _create(cidr="10.20.0.0/27")),
        (
            "BF215",
            {"network": {"vpc": {"create": None, "existing": {"vpc_id": "vpc-1"}}}},
        ),
        (
            "BF217",
            {
                "network": {
                    "security_groups": {
                        "batch": {"ingress": [{"protocol": "tcp", "cidr": "10.0.0.0/8"}]}
                    }
                }
            },
        ),
        (
            "BF217",
            {
                "network": {
                    "security_groups": {
                        "batch": {
                            "ingress": [{"protocol": "tcp", "ports": "90-80", "cidr": "10.0.0.0/8"}]
                        }
                    }
                }
            },
        ),
        (
            "BF217",
            {
                "network": {
                    "security_groups": {
                        "batch": {
                            "ingress": [{"protocol": "all", "ports": 22, "cidr": "10.0.0.0/8"}]
                        }
                    }
                }
            },
        ),
        ("BF218", {"network": {"endpoints": ["logs"], "security_groups": {"vpc-endpoints": {}}}}),
        ("BF219", {"network": {"endpoints": ["s3", "s3"]}}),
        ("BF222", {"iam": {"instance_role": "arn:aws:iam::123456789012:role/ecs"}}),
        ("BF222", {"iam": {"service_role": "my-role"}}),
    ],
)
def test_network_and_iam_rules_fire(code: str, replace: dict[str, Any]) -> None:
    assert code in codes(replace=replace)


def test_a_zone_the_region_does_not_have_is_bf209_at_that_zone() -> None:
    zones = ["us-west-2a", "us-west-2b", "us-west-2e"]
    result = analysis(replace=_create(availability_zones=zones, public_subnets=None))
    found = [d for d in result.diagnostics if d.code == "BF209"]
    assert len(found) == 1, [f"{d.code} {d.message}" for d in result.diagnostics]
    assert found[0].level == Level.WARNING
    assert found[0].path == ("network", "vpc", "create", "availability_zones", 2)
    assert "us-west-2e" in found[0].message and "us-west-2d" in found[0].message
    assert result.env is not None  # a warning: the file still compiles
    # every zone the region has is silent
    assert "BF209" not in codes(replace=_create(availability_zones=["us-west-2c", "us-west-2d"]))
    # a malformed name is BF210's alone; a region missing from the table is not checked
    malformed = codes(replace=_create(availability_zones=["us-west-2a", "us-west-2"]))
    assert "BF210" in malformed and "BF209" not in malformed
    elsewhere = {
        "region": "xx-north-9",
        **_create(availability_zones=["xx-north-9a", "xx-north-9q"]),
    }
    assert "BF209" not in codes(replace=elsewhere)


def test_the_zone_table_lists_only_zones_of_its_own_region() -> None:
    as_of, regions = known_zones()
    assert re.fullmatch(r"\d{4}-\d{2}", as_of)
    assert {"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"} <= set(regions)
    for region, zones in regions.items():
        assert zones and all(re.fullmatch(re.escape(region) + "[a-z]", z) for z in zones), region


def test_interface_endpoint_without_subnets_in_existing_vpc_is_skipped_with_bf216() -> None:
    replace = {
        "network": {
            "endpoints": ["logs"],
            "vpc": {
                "create": None,
                "existing": {
                    "vpc_id": "vpc-0123456789abcdef0",
                    "public_subnets": ["subnet-0123456789abcdef0"],
                },
            },
        },
        "compute_environments": {"ondemand": {"subnets": ["subnet-0123456789abcdef0"]}},
    }
    result = analysis(replace=replace)
    assert [d.code for d in result.diagnostics if d.level != Level.INFO] == ["BF216"]
    assert result.env is not None and "network.tf" not in rendered(result.env)


def test_long_job_role_name_is_bf220_and_s3_url_is_bf221() -> None:
    extra = """\
    job_definitions:
      a-very-long-job-definition-key-x:
        image: public.ecr.aws/x/y:1
        vcpus: 1
        memory: 1 GiB
        job_role: {s3_read: ["s3://refs"]}
    """
    name = "a-rather-long-environment-nm"
    result = analysis(extra, replace={"name": name})
    found = {d.code: d for d in result.diagnostics}
    assert "BF220" in found and found["BF220"].path == (
        "job_definitions",
        "a-very-long-job-definition-key-x",
    )
    assert "BF221" in found and found["BF221"].hint == "write the bucket name alone: refs"


def test_the_genomics_example_passes_the_network_and_iam_rules() -> None:
    from batchform.build import analyze

    result = analyze(REPO / "configs" / "genomics.yaml")
    assert not {d.code for d in result.diagnostics if "BF210" <= d.code <= "BF229"}


# --- real Terraform --------------------------------------------------------------------------


def _write(files: dict[str, str], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


FULL = (
    """\
iam: {service_role: generated}
launch_templates:
  plain: {}
"""
    + JOBS
)


@pytest.mark.terraform
def test_rendered_files_are_fmt_clean_and_valid(
    terraform_cli: tf.TerraformCLI, tmp_path: Path
) -> None:
    replace = {
        "network": {
            "endpoints": ["s3", "ecr.api", "ecr.dkr"],
            "vpc": {"create": {"nat_gateways": "per_az"}},
            "security_groups": yaml_rules(),
        },
        "compute_environments": {"spot": {"type": "SPOT", "max_vcpus": 8, "bid_percentage": 50}},
    }
    env = checked(FULL, replace=replace)
    module = _write(rendered(env), tmp_path / "module")
    tf.fmt_check(module)
    tf.init(module, backend=False)
    tf.validate(module)


def yaml_rules() -> dict[str, Any]:
    groups: dict[str, Any] = read_yaml(RULES)["network"]["security_groups"]
    return groups


# --- moto ------------------------------------------------------------------------------------

E2E_FILES = ("versions.tf", "providers.tf", "network.tf", "security_groups.tf", "iam.tf")

# moto 5.2 (5.2.1 to 5.2.5) keeps a rule's description only for CIDR peers
# (SecurityGroupRule.description reads ip_range), so the one rule whose peer is a security group
# reads back without it.
MOTO_SG_REFERENCE_GAP = """\
resource "aws_vpc_security_group_ingress_rule" "batch_ingress_1" {
  # moto gap: description of a rule whose peer is a security group is not stored
  lifecycle {
    ignore_changes = [description]
  }
}
"""


@pytest.mark.e2e
def test_network_security_groups_and_iam_apply_cleanly_on_moto(
    terraform_cli: tf.TerraformCLI, moto: MotoServer, tmp_path: Path
) -> None:
    """Apply only the files this module writes; a second plan must be empty, and AWS must hold
    what the user asked for (NATs, stripped default SG, rules, roles and their policies)."""
    replace = {
        "network": {
            "endpoints": ["s3", "ecr.api"],
            "vpc": {"create": {"nat_gateways": "per_az"}},
            "security_groups": yaml_rules(),
        },
        "compute_environments": {"spot": {"type": "SPOT", "max_vcpus": 8, "bid_percentage": 50}},
    }
    env = checked(FULL, replace=replace)
    files = {k: v for k, v in rendered(env).items() if k in E2E_FILES}
    module = _write(files, tmp_path / "generated")
    copy = write_moto_copy(module, tmp_path / "moto", moto.url)
    (copy / "zz_gap_override.tf").write_text(MOTO_SG_REFERENCE_GAP, encoding="utf-8")
    tf.init(copy)
    tf.apply(copy, moto.env())
    result = tf.plan(copy, moto.env())
    assert result.returncode == 0, result.stdout[-4000:]

    ec2 = moto.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:batchform:environment", "Values": ["demo"]}])
    vpc_id = vpcs["Vpcs"][0]["VpcId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    nats = ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]
    assert len([n for n in nats if n["State"] != "deleted"]) == 2
    default = ec2.describe_security_groups(
        Filters=[*in_vpc, {"Name": "group-name", "Values": ["default"]}]
    )
    group = default["SecurityGroups"][0]
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []
    batch = ec2.describe_security_groups(
        Filters=[*in_vpc, {"Name": "group-name", "Values": ["demo-batch"]}]
    )
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [batch["SecurityGroups"][0]["GroupId"]]}]
    )["SecurityGroupRules"]
    assert len(rules) == 4
    assert all(r.get("Description") for r in rules if "ReferencedGroupInfo" not in r)  # moto gap
    assert {r.get("CidrIpv6") for r in rules} >= {"2001:db8::/32"}

    client = moto.client("iam")
    roles = {r["RoleName"] for r in client.list_roles()["Roles"]}
    assert {
        "demo-batch-service",
        "demo-ecs-instance",
        "demo-spot-fleet",
        "demo-execution",
        "demo-job-align",
    } <= roles
    inline = client.get_role_policy(RoleName="demo-job-align", PolicyName="s3")["PolicyDocument"]
    document = inline if isinstance(inline, dict) else json.loads(inline)
    resources = [r for s in document["Statement"] for r in s["Resource"]]
    assert "arn:aws:s3:::results/*" in resources
