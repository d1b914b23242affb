"""Stand-ins: what an environment file assumes already exists in the account, made in moto.

A real account already has the VPC an "existing VPC" file names, the SSM parameters its AMIs
are looked up from, and (once Batch was used) the Batch service-linked role. The emulator starts
empty and cannot create a VPC, subnet or AMI with a chosen id, so:

- existing VPC and subnets: a stand-in VPC and one subnet per listed id are created and their
  ids substituted *in the file's text* before it is compiled again, so Terraform and the
  verifier see the same, consistent ids;
- pinned AMI ids (``amis.<key>.id``): substituted with an emulated Amazon ECS image;
- SSM parameters moto does not ship: created with a stand-in AMI id (names under ``/aws/`` are
  reserved and cannot be created; moto ships the public ECS ones);
- ``AWSServiceRoleForBatch``: created as an account that has used Batch would have it.

Every substitution is returned as a human-readable note; the sandbox prints it and lists what
the stand-in means was not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from compiler.model import Environment
from compiler.sandbox.emulator import MotoServer, service_linked_batch_role

STANDIN_VPC_CIDR = "10.200.0.0/16"
ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
"""Every region moto serves ships this parameter; its value is an emulated ECS AMI."""


@dataclass
class StandIns:
    """The substitutions made for one environment file."""

    replacements: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)

    def apply(self, text: str) -> str:
        """``text`` with every substituted id replaced (whole ids only)."""
        for old, new in self.replacements.items():
            text = re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", new, text)
        return text


def _existing_ids(env: Environment) -> tuple[str, list[str]] | None:
    existing = env.network.vpc.existing
    if existing is None:
        return None
    subnets = list(dict.fromkeys([*existing.private_subnets, *existing.public_subnets]))
    for ce in env.compute_environments.values():
        if isinstance(ce.subnets, list):
            subnets += [s for s in ce.subnets if s not in subnets]
    return existing.vpc_id, subnets


def _stand_in_network(env: Environment, server: MotoServer, found: StandIns) -> None:
    ids = _existing_ids(env)
    if ids is None:
        return
    vpc_id, subnet_ids = ids
    ec2 = server.client("ec2", env.region)
    vpc = ec2.create_vpc(CidrBlock=STANDIN_VPC_CIDR)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    found.replacements[vpc_id] = vpc
    for index, old in enumerate(subnet_ids):
        subnet = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=f"10.200.{index * 16}.0/20",
            AvailabilityZone=zones[index % len(zones)],
        )["Subnet"]["SubnetId"]
        found.replacements[old] = subnet
    found.notes.append(
        f"existing VPC {vpc_id} and {len(subnet_ids)} subnet(s): moto cannot create them with "
        f"these ids, so stand-in VPC {vpc} and subnets were created and their ids substituted"
    )
    found.not_checked.append(
        f"existing VPC {vpc_id} and subnets {', '.join(subnet_ids)}: that they exist in "
        f"{env.region}, their availability zones, routes and NAT/endpoint reachability "
        "(stand-ins were used)"
    )


def _stand_in_amis(env: Environment, server: MotoServer, found: StandIns) -> None:
    if not env.amis:
        return
    ssm = server.client("ssm", env.region)
    stand_in: str = ssm.get_parameter(Name=ECS_AMI_PARAMETER)["Parameter"]["Value"]
    for key in sorted(env.amis):
        ami = env.amis[key]
        if ami.id is not None and ami.id not in found.replacements:
            found.replacements[ami.id] = stand_in
            found.notes.append(
                f"AMI {ami.id} (amis.{key}): moto cannot register an image with this id; "
                f"stand-in {stand_in} (an emulated ECS AMI) used"
            )
            found.not_checked.append(
                f"AMI {ami.id} (amis.{key}): that it exists in {env.region} and the account "
                "may launch it (a stand-in image was used)"
            )
        elif ami.ssm_parameter is not None:
            try:
                ssm.get_parameter(Name=ami.ssm_parameter)
                found.not_checked.append(
                    f"AMI parameter {ami.ssm_parameter} (amis.{key}): moto ships its own copy, "
                    "so the image it names in your account is not checked"
                )
                continue
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ParameterNotFound":
                    raise
            if ami.ssm_parameter.startswith("/aws/"):
                found.notes.append(
                    f"AMI parameter {ami.ssm_parameter} (amis.{key}) is not in the emulator and "
                    "names under /aws/ are reserved: the data source lookup will fail"
                )
                continue
            ssm.put_parameter(Name=ami.ssm_parameter, Value=stand_in, Type="String")
            found.notes.append(
                f"AMI parameter {ami.ssm_parameter} (amis.{key}) created in the emulator with "
                f"stand-in {stand_in}"
            )
            found.not_checked.append(
                f"AMI parameter {ami.ssm_parameter} (amis.{key}): that it exists in "
                f"{env.region} and names a launchable image (a stand-in value was used)"
            )


def create_stand_ins(env: Environment, server: MotoServer) -> StandIns:
    """Create in moto what ``env`` expects the account to have; say what was substituted."""
    found = StandIns()
    service_linked_batch_role(server)
    _stand_in_network(env, server, found)
    _stand_in_amis(env, server, found)
    return found
