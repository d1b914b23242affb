"""Stand-ins: what an environment file assumes already exists in the account, made in moto.

A real account already has the VPC an "existing VPC" file names, the SSM parameters its AMIs
are looked up from, and (once Batch was used) the Batch service-linked role. The emulator starts
empty and cannot create a VPC, subnet or AMI with a chosen id, so:

- existing VPC and subnets: a stand-in VPC and one subnet per listed id are created and their
  ids substituted *in the file's text* before it is compiled again, so Terraform and the
  verifier see the same, consistent ids; the stand-in routes like a working VPC (internet
  gateway for public subnets, NAT gateway for the others);
- pinned AMI ids (``amis.<key>.id``): substituted with an emulated Amazon ECS image;
- SSM parameters moto does not ship: created with a stand-in AMI id (names under ``/aws/`` are
  reserved and cannot be created; moto ships the public ECS ones);
- roles and the instance profile the file names by ARN: created with those names;
- ``AWSServiceRoleForBatch``: created as an account that has used Batch would have it;
- EFS file systems listed in ``network.efs`` (their mount targets are generated): created and
  their ids substituted, like the VPC's.
- customer-managed policies (``iam.permissions_boundary``, ``managed_policies``): created;
- existing launch templates a compute environment pins (``{id|name, version}``): created with
  that many versions, their ids substituted;
- placement groups the file creates (``placement_group: {strategy: ...}``): moto has no
  ``CreatePlacementGroup``, so those compute environments name the group instead
  (:func:`name_placement_groups`).
- multi-container job definitions (``containers:``, ``ecsProperties``): moto 5.2.5's
  ``RegisterJobDefinition`` refuses a definition without ``containerProperties`` or
  ``eksProperties``, so they are left out of what is applied (:func:`without_refused_jobs`).

Every substitution is returned as a human-readable note; the sandbox prints it and lists what
the stand-in means was not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from batchform.model import Environment, PlacementGroupSpec
from batchform.plan.compute import placement_group_aws_name
from batchform.sandbox.emulator import MotoServer, service_linked_batch_role

STANDIN_VPC_CIDR = "10.200.0.0/16"
ANYWHERE = "0.0.0.0/0"
ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
"""Every region moto serves ships this parameter; its value is an emulated ECS AMI."""


@dataclass
class StandIns:
    """The substitutions made for one environment file."""

    replacements: dict[str, str] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)

    def apply(self, text: str) -> str:
        """``text`` with every substituted id replaced (whole ids only)."""
        for old, new in self.replacements.items():
            text = re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", new, text)
        return text


def _existing_ids(env: Environment) -> tuple[str, list[str], list[str]] | None:
    """The existing VPC id, its public subnet ids, and every other subnet id the file names."""
    existing = env.network.vpc.existing
    if existing is None:
        return None
    public = list(dict.fromkeys(existing.public_subnets))
    private = [s for s in dict.fromkeys(existing.private_subnets) if s not in public]
    for ce in env.compute_environments.values():
        if isinstance(ce.subnets, list):
            private += [s for s in ce.subnets if s not in public and s not in private]
    return existing.vpc_id, public, private


def _stand_in_network(env: Environment, server: MotoServer, found: StandIns) -> None:
    """A VPC that works like a real one: public subnets route to an internet gateway and give
    public IPs, the others route through a NAT gateway (otherwise verify would rightly say that
    jobs there can reach neither ECR nor CloudWatch Logs)."""
    ids = _existing_ids(env)
    if ids is None:
        return
    vpc_id, public, private = ids
    ec2 = server.client("ec2", env.region)
    vpc = ec2.create_vpc(CidrBlock=STANDIN_VPC_CIDR)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    found.replacements[vpc_id] = vpc

    def subnet(index: int, is_public: bool) -> str:
        made: str = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=f"10.200.{index * 16}.0/20",
            AvailabilityZone=zones[index % len(zones)],
        )["Subnet"]["SubnetId"]
        if is_public:
            ec2.modify_subnet_attribute(SubnetId=made, MapPublicIpOnLaunch={"Value": True})
        return made

    for index, old in enumerate([*public, *private]):
        found.replacements[old] = subnet(index, old in public)
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock=ANYWHERE, GatewayId=gateway)
    nat_subnet = found.replacements[public[0]] if public else subnet(len(private), True)
    for old in public:
        ec2.associate_route_table(RouteTableId=public_table, SubnetId=found.replacements[old])
    if private:
        if not public:
            ec2.associate_route_table(RouteTableId=public_table, SubnetId=nat_subnet)
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=nat_subnet, AllocationId=eip)["NatGateway"]
        private_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(
            RouteTableId=private_table,
            DestinationCidrBlock=ANYWHERE,
            NatGatewayId=nat["NatGatewayId"],
        )
        for old in private:
            ec2.associate_route_table(RouteTableId=private_table, SubnetId=found.replacements[old])
    subnet_ids = [*public, *private]
    found.made.append(f"stand-in VPC and {len(subnet_ids)} subnet(s)")
    found.notes.append(
        f"existing VPC {vpc_id} and {len(subnet_ids)} subnet(s): moto cannot create them with "
        f"these ids, so stand-in VPC {vpc} (internet gateway for the public subnets, NAT "
        "gateway for the others) and subnets were created and their ids substituted"
    )
    found.not_checked.append(
        f"existing VPC {vpc_id} and subnets {', '.join(subnet_ids)}: that they exist in "
        f"{env.region}, their availability zones, routes and NAT/endpoint reachability "
        "(stand-ins were used)"
    )


def _arn_name(arn: str) -> tuple[str, str]:
    """``(path, name)`` of an IAM role or instance-profile ARN."""
    resource = arn.split(":", 5)[-1]
    kind_and_path, _, name = resource.rpartition("/")
    path = "/" + kind_and_path.partition("/")[2]
    return (path if path.endswith("/") else path + "/"), name


def _trust(service: str) -> str:
    return (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        f'"Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}'
    )


def _stand_in_iam(env: Environment, server: MotoServer, found: StandIns) -> None:
    """Roles and the instance profile the file names by ARN: they exist in the real account
    (validate checked their shape), not in an empty emulator."""
    wanted: dict[str, str] = {}  # role ARN -> service that assumes it
    for value, service in (
        (env.iam.service_role, "batch.amazonaws.com"),
        (env.iam.spot_fleet_role, "spotfleet.amazonaws.com"),
        (env.iam.execution_role, "ecs-tasks.amazonaws.com"),
    ):
        if value.startswith("arn:") and ":role/" in value:
            wanted.setdefault(value, service)
    for key in sorted(env.job_definitions):
        role = env.job_definitions[key].job_role
        if role is not None and role.arn is not None and ":role/" in role.arn:
            wanted.setdefault(role.arn, "ecs-tasks.amazonaws.com")
    iam = server.client("iam", env.region)
    for arn, service in wanted.items():
        path, name = _arn_name(arn)
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=_trust(service))
    profile = env.iam.instance_role_value
    if profile.startswith("arn:") and ":instance-profile/" in profile:
        path, name = _arn_name(profile)
        iam.create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=_trust("ec2.amazonaws.com")
        )
        iam.create_instance_profile(InstanceProfileName=name, Path=path)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        wanted[profile] = "ec2.amazonaws.com"
    if not wanted:
        return
    names = ", ".join(_arn_name(arn)[1] for arn in wanted)
    found.made.append(f"{len(wanted)} role(s)/profile(s) the file names by ARN")
    found.notes.append(f"created the roles/instance profile the file refers to by ARN: {names}")
    found.not_checked.append(
        f"roles and instance profile named by ARN ({names}): that they exist in your account "
        "with the permissions the jobs need (stand-ins were used)"
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
            found.made.append(f"stand-in AMI for {ami.id}")
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
            found.made.append(f"parameter {ami.ssm_parameter}")
            found.notes.append(
                f"AMI parameter {ami.ssm_parameter} (amis.{key}) created in the emulator with "
                f"stand-in {stand_in}"
            )
            found.not_checked.append(
                f"AMI parameter {ami.ssm_parameter} (amis.{key}): that it exists in "
                f"{env.region} and names a launchable image (a stand-in value was used)"
            )


def _stand_in_efs(env: Environment, server: MotoServer, found: StandIns) -> None:
    """File systems ``network.efs`` lists: batchform creates their mount targets, which needs
    them to exist; moto cannot create one with a chosen id, so the ids are substituted (in the
    job definitions' volumes too)."""
    listed = list(dict.fromkeys(env.network.efs))
    if not listed:
        return
    efs = server.client("efs", env.region)
    for file_system in listed:
        made = efs.create_file_system(CreationToken=f"batchform-stand-in-{file_system}")
        found.replacements[file_system] = made["FileSystemId"]
    found.made.append(f"{len(listed)} EFS file system(s)")
    found.notes.append(
        f"EFS file system(s) {', '.join(listed)}: moto cannot create them with these ids, so "
        "stand-in file systems were created and their ids substituted"
    )
    found.not_checked.append(
        f"EFS file system(s) {', '.join(listed)}: that they exist in {env.region} and that "
        "their file system policies let the job roles mount them"
    )


def _stand_in_launch_templates(env: Environment, server: MotoServer, found: StandIns) -> None:
    """Existing launch templates a compute environment names (``launch_template: {id|name,
    version}``): made with as many versions as the CE pins; an id is substituted, since moto
    cannot create a template with a chosen id."""
    ec2 = server.client("ec2", env.region)
    made: dict[str, str] = {}
    for key in sorted(env.compute_environments):
        lt = env.compute_environments[key].existing_launch_template
        if lt is None:
            continue
        wanted = lt.id or lt.name or ""
        versions = int(lt.version) if lt.version and lt.version.isdigit() else 1
        if wanted not in made:
            name = lt.name or f"batchform-stand-in-{wanted}"
            answer = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={})
            made[wanted] = answer["LaunchTemplate"]["LaunchTemplateId"]
        for _ in range(_version_count(ec2, made[wanted]), versions):
            ec2.create_launch_template_version(LaunchTemplateId=made[wanted], LaunchTemplateData={})
        if lt.id is not None:
            found.replacements[lt.id] = made[wanted]
    if made:
        found.made.append(f"{len(made)} launch template(s)")
        found.notes.append(
            f"launch template(s) {', '.join(sorted(made))}: stand-ins with the pinned "
            "versions were created (ids substituted)"
        )
        found.not_checked.append(
            f"launch template(s) {', '.join(sorted(made))}: that they exist in {env.region} "
            "with the pinned versions, and what those versions hold"
        )


def _version_count(ec2: Any, template_id: str) -> int:
    answer = ec2.describe_launch_templates(LaunchTemplateIds=[template_id])
    return int(answer["LaunchTemplates"][0]["LatestVersionNumber"])


def _policy_arns(env: Environment) -> list[str]:
    """Customer-managed policies the file attaches or sets as the permissions boundary."""
    arns = list(env.iam.instance_role_policies)
    if env.iam.permissions_boundary is not None:
        arns.append(env.iam.permissions_boundary)
    for job in env.job_definitions.values():
        if job.job_role is not None:
            arns += job.job_role.managed_policies
    return [a for a in dict.fromkeys(arns) if a.split(":")[4:5] != ["aws"]]


def _stand_in_policies(env: Environment, server: MotoServer, found: StandIns) -> None:
    """Customer-managed policies (a boundary, extra role policies) exist in a real account;
    made here with an allow-nothing-special document, the ARN substituted if moto's account
    differs."""
    arns = _policy_arns(env)
    if not arns:
        return
    iam = server.client("iam", env.region)
    document = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
    document += '"sts:GetCallerIdentity", "Resource": "*"}]}'
    for arn in arns:
        path, name = _arn_name(arn)
        made = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=document)
        if made["Policy"]["Arn"] != arn:
            found.replacements[arn] = made["Policy"]["Arn"]
    names = ", ".join(_arn_name(a)[1] for a in arns)
    found.made.append(f"{len(arns)} managed policy(ies)")
    found.notes.append(f"created the customer-managed policies the file names: {names}")
    found.not_checked.append(
        f"managed policies ({names}): that they exist in your account and what they allow "
        "(stand-ins were used)"
    )


def create_stand_ins(env: Environment, server: MotoServer) -> StandIns:
    """Create in moto what ``env`` expects the account to have; say what was substituted."""
    found = StandIns()
    service_linked_batch_role(server)
    found.made.append("role AWSServiceRoleForBatch")
    _stand_in_network(env, server, found)
    _stand_in_iam(env, server, found)
    _stand_in_amis(env, server, found)
    _stand_in_efs(env, server, found)
    _stand_in_launch_templates(env, server, found)
    _stand_in_policies(env, server, found)
    return found


def name_placement_groups(env: Environment) -> tuple[Environment, list[str]]:
    """``env`` with every placement group batchform would create named instead (same name),
    and what that leaves unchecked: moto 5.2.5 does not implement ``CreatePlacementGroup``,
    but stores a CE's ``placementGroup`` as given, so the rest of the file still deploys."""
    ces = dict(env.compute_environments)
    named = []
    for key, ce in sorted(ces.items()):
        group = ce.placement_group
        if isinstance(group, PlacementGroupSpec):
            name = placement_group_aws_name(env, key, group.strategy)
            ces[key] = ce.model_copy(update={"placement_group": name})
            named.append(f"{key} ({group.strategy}: {name})")
    if not named:
        return env, []
    unchecked = [
        f"placement groups ({', '.join(named)}): moto 5.2.5 does not implement "
        "CreatePlacementGroup, so the compute environments name the group instead of creating it"
    ]
    return env.model_copy(update={"compute_environments": ces}), unchecked


MOTO_REFUSES_ECS_PROPERTIES = (
    "moto 5.2.5 RegisterJobDefinition refuses ecsProperties (it requires containerProperties or "
    "eksProperties)"
)


def refused_jobs(env: Environment) -> list[str]:
    """Keys of the job definitions moto refuses to register: the multi-container ones."""
    return sorted(k for k, job in env.job_definitions.items() if job.containers is not None)


def without_refused_jobs(env: Environment) -> tuple[Environment, list[str]]:
    """``env`` without the job definitions moto refuses (:func:`refused_jobs`) and the
    schedules that submit them, and what that leaves unchecked; the rest of the file still
    deploys."""
    refused = refused_jobs(env)
    if not refused:
        return env, []
    jobs = {k: j for k, j in env.job_definitions.items() if k not in refused}
    schedules = {k: s for k, s in env.schedules.items() if s.job_definition not in refused}
    unchecked = [
        f"multi-container job definition(s) {', '.join(refused)}: {MOTO_REFUSES_ECS_PROPERTIES}, "
        "so they were not applied"
    ]
    return env.model_copy(update={"job_definitions": jobs, "schedules": schedules}), unchecked
