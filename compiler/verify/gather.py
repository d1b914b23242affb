"""Gather everything deployed that the file concerns, concurrently, into one :class:`Live`.

Two rounds, each a set of independent reads run on a thread pool (the boto3 clients are shared;
they are thread-safe, the session that made them is not used here):

1. Batch (compute environments, queues, job definitions, scheduling policies), the tagged EC2
   resources (security groups, launch templates, VPC and subnets), IAM roles and the instance
   profile, the mount targets of the EFS file systems in ``network.efs``, log groups, and the
   SSM parameters that name AMIs.
2. What round 1 points at: subnets the compute environments use that round 1 did not return,
   the route tables, NAT and internet gateways and VPC endpoints of their VPCs, the AMIs, and
   the latest version of each launch template.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from compiler import naming
from compiler.verify import fetch, operations
from compiler.verify.desired import Desired, batchform_key
from compiler.verify.fetch import NotFound, Reader
from compiler.verify.live import Live, tags_of

MAX_WORKERS = 8
MOUNT_TARGETS_TOPIC = "efs mount targets"

Progress = Callable[[str], None]


def arn_name(arn: str) -> str:
    """The last path segment of an ARN: a role, instance profile or policy name."""
    return arn.rsplit("/", 1)[-1]


def user_role_arns(desired: Desired) -> dict[str, str]:
    """``{purpose: role ARN}`` for roles the file names by ARN instead of generating."""
    env = desired.env
    out: dict[str, str] = {}
    for purpose, value in (
        ("batch-service", env.iam.service_role),
        ("spot-fleet", env.iam.spot_fleet_role),
        ("execution", env.iam.execution_role),
    ):
        if value.startswith("arn:"):
            out[purpose] = value
    for key in sorted(env.job_definitions):
        job_role = env.job_definitions[key].job_role
        if job_role is not None and job_role.arn is not None:
            out[f"job-{key}"] = job_role.arn
    return out


def instance_profile_name(desired: Desired) -> str | None:
    profile = desired.instance_profile
    if profile is not None:
        return str(profile["name"])
    if desired.env.iam.instance_role.startswith("arn:") and any(
        not ce.is_fargate for ce in desired.env.compute_environments.values()
    ):
        return arn_name(desired.env.iam.instance_role)
    return None


def role_names(desired: Desired) -> list[str]:
    names = {str(r["name"]) for r in desired.roles}
    names |= {arn_name(a) for a in user_role_arns(desired).values()}
    return sorted(names)


def _run(tasks: list[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()


def by_key(resources: list[dict[str, Any]], env_name: str) -> dict[str, dict[str, Any]]:
    """Resources tagged with the environment, by their ``batchform:key``."""
    out: dict[str, dict[str, Any]] = {}
    for r in resources:
        tags = tags_of(r)
        if tags.get(naming.TAG_ENVIRONMENT) == env_name and naming.TAG_KEY in tags:
            out.setdefault(tags[naming.TAG_KEY], r)
    return out


class Gatherer:
    def __init__(self, desired: Desired, reader: Reader, progress: Progress | None = None):
        self.desired = desired
        self.reader = reader
        self.clients = reader.clients
        self.live = Live()
        self.progress = progress

    def _step(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    # --- round 1 ------------------------------------------------------------------------------

    def _batch(self) -> list[Callable[[], None]]:
        batch = self.clients.batch
        read = self.reader.read
        live = self.live
        prefix = self.desired.prefix

        def ces() -> None:
            live.compute_environments = read(
                "compute_environments",
                "batch",
                "DescribeComputeEnvironments",
                lambda: fetch.compute_environments(batch),
            )
            self._step("compute environments")

        def queues() -> None:
            live.job_queues = read(
                "job_queues", "batch", "DescribeJobQueues", lambda: fetch.job_queues(batch)
            )
            self._step("job queues")

        def jobdefs() -> None:
            live.job_definitions = read(
                "job_definitions",
                "batch",
                "DescribeJobDefinitions",
                lambda: fetch.active_job_definitions(batch, prefix),
            )
            self._step("job definitions")

        def policies() -> None:
            live.scheduling_policies = read(
                "scheduling_policies",
                "batch",
                "ListSchedulingPolicies/DescribeSchedulingPolicies",
                lambda: fetch.scheduling_policies(batch, [prefix]),
            )
            self._step("scheduling policies")

        return [ces, queues, jobdefs, policies]

    def _ec2(self) -> list[Callable[[], None]]:
        ec2 = self.clients.ec2
        read = self.reader.read
        live = self.live
        env_filter = [fetch.tag_filter(naming.TAG_ENVIRONMENT, self.desired.name)]
        vpc = self.desired.env.network.vpc

        def groups() -> None:
            live.security_groups = read(
                "security_groups",
                "ec2",
                "DescribeSecurityGroups",
                lambda: fetch.ec2_list(
                    ec2, "describe_security_groups", "SecurityGroups", Filters=env_filter
                ),
            )
            self._step("security groups")

        def templates() -> None:
            live.launch_templates = read(
                "launch_templates",
                "ec2",
                "DescribeLaunchTemplates",
                lambda: fetch.ec2_list(
                    ec2, "describe_launch_templates", "LaunchTemplates", Filters=env_filter
                ),
            )
            self._step("launch templates")

        def network() -> None:
            if vpc.create is not None:
                live.vpcs = read(
                    "network",
                    "ec2",
                    "DescribeVpcs",
                    lambda: ec2.describe_vpcs(Filters=env_filter)["Vpcs"],
                )
                tagged = read(
                    "network",
                    "ec2",
                    "DescribeSubnets",
                    lambda: fetch.ec2_list(ec2, "describe_subnets", "Subnets", Filters=env_filter),
                )
                if tagged is not None:
                    live.subnets = {s["SubnetId"]: s for s in tagged}
            else:
                assert vpc.existing is not None
                ids = [*vpc.existing.private_subnets, *vpc.existing.public_subnets]
                live.vpcs = read(
                    "network",
                    "ec2",
                    "DescribeVpcs",
                    lambda: fetch_vpc(ec2, vpc.existing.vpc_id if vpc.existing else ""),
                )
                live.subnets = read(
                    "network", "ec2", "DescribeSubnets", lambda: fetch.subnets_by_id(ec2, ids)
                )
            self._step("VPC and subnets")

        return [groups, templates, network]

    def _iam(self) -> list[Callable[[], None]]:
        iam = self.clients.iam
        tasks: list[Callable[[], None]] = []
        for name in role_names(self.desired):

            def one_role(name: str = name) -> None:
                try:
                    got = self.reader.read(
                        f"role {name}", "iam", "GetRole", lambda: fetch.role(iam, name)
                    )
                except NotFound:
                    self.live.roles[name] = None
                    return
                if got is not None:
                    self.live.roles[name] = got

            tasks.append(one_role)
        profile = instance_profile_name(self.desired)
        if profile is not None:

            def one_profile(name: str = profile) -> None:
                try:
                    got = self.reader.read(
                        f"instance profile {name}",
                        "iam",
                        "GetInstanceProfile",
                        lambda: fetch.instance_profile(iam, name),
                    )
                except NotFound:
                    self.live.instance_profiles[name] = None
                    return
                if got is not None:
                    self.live.instance_profiles[name] = got

            tasks.append(one_profile)
        return tasks

    def _efs(self) -> list[Callable[[], None]]:
        tasks: list[Callable[[], None]] = []
        file_systems = dict.fromkeys(str(mt["file_system_id"]) for mt in self.desired.mount_targets)
        for file_system in file_systems:

            def targets(file_system: str = file_system) -> None:
                try:
                    got = self.reader.read(
                        MOUNT_TARGETS_TOPIC,
                        "efs",
                        "DescribeMountTargets",
                        lambda: fetch.mount_targets(self.clients.efs, file_system),
                    )
                except NotFound:
                    self.live.mount_targets[file_system] = None
                    return
                if got is not None:
                    self.live.mount_targets[file_system] = got

            tasks.append(targets)
        return tasks

    def _logs_and_ssm(self) -> list[Callable[[], None]]:
        tasks: list[Callable[[], None]] = []
        if self.desired.log_groups:

            def groups() -> None:
                prefix = naming.log_group_name(self.desired.name, "")
                self.live.log_groups = self.reader.read(
                    "log_groups",
                    "logs",
                    "DescribeLogGroups",
                    lambda: fetch.log_groups(self.clients.logs, prefix),
                )
                self._step("log groups")

            tasks.append(groups)
        for ami in self.desired.ssm_amis:

            def parameter(name: str = ami["name"]) -> None:
                try:
                    got = self.reader.read(
                        f"ssm parameter {name}",
                        "ssm",
                        "GetParameter",
                        lambda: fetch.ssm_parameter(self.clients.ssm, name),
                    )
                except NotFound:
                    self.live.ssm_parameters[name] = None
                    return
                if got is not None:
                    self.live.ssm_parameters[name] = got

            tasks.append(parameter)
        return tasks

    # --- round 2 ------------------------------------------------------------------------------

    def _ce_subnet_ids(self) -> set[str]:
        ids: set[str] = set()
        for ce in self.live.compute_environments or []:
            if ce["computeEnvironmentName"].startswith(self.desired.prefix):
                ids.update(ce.get("computeResources", {}).get("subnets", []))
        for wanted in self.desired.env.compute_environments.values():
            if isinstance(wanted.subnets, list):
                ids.update(wanted.subnets)
        return ids

    def _round_two(self) -> list[Callable[[], None]]:
        ec2 = self.clients.ec2
        read = self.reader.read
        live = self.live
        tasks: list[Callable[[], None]] = []

        def network() -> None:
            if live.subnets is None:
                return
            missing = sorted(self._ce_subnet_ids() - set(live.subnets))
            if missing:
                more = read(
                    "network", "ec2", "DescribeSubnets", lambda: fetch.subnets_by_id(ec2, missing)
                )
                if more is not None:
                    live.subnets.update(more)
            vpc_ids = sorted({s["VpcId"] for s in live.subnets.values()})
            if not vpc_ids:
                live.route_tables, live.nat_gateways = [], []
                live.internet_gateways, live.vpc_endpoints = [], []
                return
            in_vpcs = [{"Name": "vpc-id", "Values": vpc_ids}]
            live.route_tables = read(
                "network",
                "ec2",
                "DescribeRouteTables",
                lambda: fetch.ec2_list(
                    ec2, "describe_route_tables", "RouteTables", Filters=in_vpcs
                ),
            )
            live.nat_gateways = read(
                "network",
                "ec2",
                "DescribeNatGateways",
                lambda: fetch.ec2_list(ec2, "describe_nat_gateways", "NatGateways", Filter=in_vpcs),
            )
            live.internet_gateways = read(
                "network",
                "ec2",
                "DescribeInternetGateways",
                lambda: fetch.ec2_list(
                    ec2,
                    "describe_internet_gateways",
                    "InternetGateways",
                    Filters=[{"Name": "attachment.vpc-id", "Values": vpc_ids}],
                ),
            )
            live.vpc_endpoints = read(
                "network",
                "ec2",
                "DescribeVpcEndpoints",
                lambda: fetch.ec2_list(
                    ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=in_vpcs
                ),
            )
            self._step("routes and endpoints")

        def images() -> None:
            ids = {a.id for a in self.desired.env.amis.values() if a.id is not None}
            ids |= {v for v in live.ssm_parameters.values() if v}
            for ce in live.compute_environments or []:
                if ce["computeEnvironmentName"].startswith(self.desired.prefix):
                    for c in ce.get("computeResources", {}).get("ec2Configuration", []) or []:
                        if c.get("imageIdOverride"):
                            ids.add(c["imageIdOverride"])
            if ids:
                live.images = read(
                    "images", "ec2", "DescribeImages", lambda: fetch.images_by_id(ec2, sorted(ids))
                )
            else:
                live.images = {}
            self._step("machine images")

        tasks += [network, images]
        for lt in live.launch_templates or []:

            def versions(template_id: str = lt["LaunchTemplateId"]) -> None:
                live.launch_template_data[template_id] = read(
                    f"launch template {template_id}",
                    "ec2",
                    "DescribeLaunchTemplateVersions",
                    lambda: fetch.latest_launch_template_data(ec2, template_id),
                )

            tasks.append(versions)
        return tasks

    # --- addresses ----------------------------------------------------------------------------

    def _bind(self) -> None:
        """Map each Terraform address the plan refers to onto the live resource."""
        live, desired = self.live, self.desired
        groups = by_key(live.security_groups or [], desired.name)
        for ctx in desired.security_groups:
            found = groups.get(batchform_key(ctx) or "")
            if found:
                live.bind(f"aws_security_group.{ctx['label']}", id=found["GroupId"])
        subnets = by_key(list((live.subnets or {}).values()), desired.name)
        for ctx in desired.subnets:
            found = subnets.get(batchform_key(ctx) or "")
            if found:
                live.bind(f"aws_subnet.{ctx['label']}", id=found["SubnetId"])
        for vpc in live.vpcs or []:
            address = "aws_vpc.main" if desired.env.network.vpc.create else "data.aws_vpc.main"
            live.bind(
                address,
                id=vpc["VpcId"],
                cidr_block=vpc.get("CidrBlock"),
                secondary_cidr_blocks=secondary_cidr_blocks(vpc),
            )
        templates = by_key(live.launch_templates or [], desired.name)
        for ctx in desired.launch_templates:
            found = templates.get(batchform_key(ctx) or "")
            if found:
                live.bind(
                    f"aws_launch_template.{ctx['label']}",
                    id=found["LaunchTemplateId"],
                    latest_version=str(found["LatestVersionNumber"]),
                    default_version=str(found["DefaultVersionNumber"]),
                )
        for ctx in desired.roles:
            role = live.roles.get(str(ctx["name"]))
            if role is not None:
                live.bind(f"aws_iam_role.{ctx['label']}", arn=role.arn, name=role.name)
        profile = desired.instance_profile
        if profile is not None:
            got = live.instance_profiles.get(str(profile["name"]))
            if got is not None:
                live.bind(f"aws_iam_instance_profile.{profile['label']}", arn=got["Arn"])
        for ctx in desired.log_groups:
            live.bind(f"aws_cloudwatch_log_group.{ctx['label']}", name=ctx["name"])
        for ctx in desired.placement_groups:  # the CE names it; its name is fixed by the file
            live.bind(f"aws_placement_group.{ctx['label']}", name=ctx["name"])
        for ctx in desired.ssm_amis:
            value = live.ssm_parameters.get(str(ctx["name"]))
            if value:
                live.bind(f"data.aws_ssm_parameter.{ctx['label']}", insecure_value=value)
        for ctx in desired.scheduling_policies:
            for p in live.scheduling_policies or []:
                if p["name"] == ctx["name"]:
                    live.bind(f"aws_batch_scheduling_policy.{ctx['label']}", arn=p["arn"])
        for ctx in desired.compute_environments:
            chosen = pick_compute_environment(live, ctx, desired.name)
            if chosen is not None:
                live.bind(
                    f"aws_batch_compute_environment.{ctx['label']}",
                    arn=chosen["computeEnvironmentArn"],
                )

    def gather(self) -> Live:
        _run(
            [
                *self._batch(),
                *self._ec2(),
                *self._iam(),
                *self._efs(),
                *self._logs_and_ssm(),
                *operations.read_tasks(self.desired, self.reader, self.live),
            ]
        )
        _run(self._round_two())
        self._bind()
        operations.bind(self.live, self.desired)
        return self.live


def secondary_cidr_blocks(vpc: dict[str, Any]) -> list[str]:
    """The VPC's associated IPv4 blocks besides the primary (the endpoint group admits each)."""
    return [
        a["CidrBlock"]
        for a in vpc.get("CidrBlockAssociationSet", [])
        if a.get("CidrBlockState", {}).get("State") == "associated"
        and a.get("CidrBlock") != vpc.get("CidrBlock")
    ]


def fetch_vpc(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    try:
        vpcs: list[dict[str, Any]] = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidVpcID.NotFound":
            return []
        raise
    return vpcs


def candidates(live: Live, ctx: dict[str, Any], env_name: str) -> list[dict[str, Any]]:
    """Deployed compute environments for one CE of the file: the name starts with its prefix
    (Terraform adds a suffix) and the batchform tags name this environment and key."""
    key = batchform_key(ctx)
    out = []
    for ce in live.compute_environments or []:
        tags = tags_of(ce)
        if (
            ce["computeEnvironmentName"].startswith(ctx["name_prefix"])
            and tags.get(naming.TAG_ENVIRONMENT) == env_name
            and tags.get(naming.TAG_KEY) == key
        ):
            out.append(ce)
    return out


def pick_compute_environment(
    live: Live, ctx: dict[str, Any], env_name: str
) -> dict[str, Any] | None:
    """The CE the file's key maps to. With ``create_before_destroy`` a replaced CE can linger
    beside its successor; the one a job queue uses wins, then the newest name (Terraform's
    suffix is a timestamp, so names sort by creation)."""
    found = candidates(live, ctx, env_name)
    if not found:
        return None
    in_use = {
        o["computeEnvironment"]
        for q in live.job_queues or []
        for o in q.get("computeEnvironmentOrder", [])
    }
    return sorted(
        found,
        key=lambda ce: (ce["computeEnvironmentArn"] in in_use, ce["computeEnvironmentName"]),
    )[-1]
