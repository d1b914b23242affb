"""Gather everything deployed that the file concerns, concurrently, into one :class:`Live`.

Every read starts as soon as what it needs is known, on one thread pool (the botocore clients
are shared; they are thread-safe, the session that made them is not used here). The file names
almost everything, so almost every read starts at once:

- Batch (compute environments, queues, job definitions, scheduling policies), the tagged EC2
  resources (security groups, launch templates, VPC and subnets), the log groups, the SSM
  parameters that name AMIs, the mount targets of the EFS file systems in ``network.efs``,
  the instance profile, and each IAM role, its calls side by side.
- A read that needs another's answer starts the moment that answer arrives, not when the
  slowest of the first reads is done: the route tables, NAT and internet gateways and VPC
  endpoints once the VPC's subnets are known; each launch template's latest version once the
  templates are; the AMIs once the compute environments and the SSM parameters are; subnets
  a compute environment uses that the tagged ones did not include (and their VPCs' routes)
  once both are.

So a run costs two round trips of latency however large the environment, plus the pages of
the longest listing, each asked for once the previous one answers (log groups, 50 to a page:
20 round trips for 1000 job definitions), plus what the thread pool and the services' rate
limits make the calls wait. Against real AWS, where a call takes tens of milliseconds and IAM
throttles, that is what decides the wall time (benchmarks/README.md measures it with a latency
proxy, and counts the sequential rounds).

IAM reads per role are only those a check compares: ``GetRole`` (trust policy, tags, ARN)
always, ``ListAttachedRolePolicies`` only for a generated role with a managed policy,
``ListRolePolicies`` only for one with an inline policy; a role the file names by ARN is only
checked for existence. IAM throttles hard, and these calls add up (two for most job roles), so
when they would be more than :data:`ROLE_CALLS_AT_ONCE` the roles are read instead in one
listing, ``GetAccountAuthorizationDetails`` (:func:`batchform.verify.fetch.account_roles`: one
call per 1000 roles of the account); when that is denied or fails, the per-role reads run as
before, so a policy without that action still verifies, only with more calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from batchform import naming
from batchform.plan.contract import ComputeEnvironmentEntry, SecurityGroupEntry
from batchform.verify import fetch, operations
from batchform.verify.desired import Desired, batchform_key
from batchform.verify.fetch import NotFound, Reader
from batchform.verify.live import Live, tags_of

MAX_WORKERS = 32
"""Reads in flight at once. Most of a large environment's reads are per-role IAM calls, each
a round trip of its own; 32 keeps ~100 roles to a few round trips while adaptive retries
(:mod:`batchform.verify.clients`) keep IAM's rate limit in check."""

ROLE_CALLS_AT_ONCE = 20
"""Per-role IAM calls (``GetRole`` and the policy lists) above which the roles are read in one
listing of the account instead. Up to this many go out side by side in one round trip, within
the burst IAM answers before it throttles, and read only the roles the file names; beyond it
they queue behind IAM's rate limit (at 20 requests/s, 200 calls take 10 s), while the listing
takes one call per 1000 roles of the account (benchmarks/README.md measures both)."""

VPC_READS = ("route_tables", "nat_gateways", "internet_gateways", "vpc_endpoints")

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
    if desired.env.iam.instance_role_value.startswith("arn:") and any(
        not ce.is_fargate for ce in desired.env.compute_environments.values()
    ):
        return arn_name(desired.env.iam.instance_role_value)
    return None


def role_names(desired: Desired) -> list[str]:
    names = {str(r["name"]) for r in desired.roles}
    names |= {arn_name(a) for a in user_role_arns(desired).values()}
    return sorted(names)


@dataclass(frozen=True)
class RoleReads:
    """Which IAM calls a role needs: what some check compares, nothing more."""

    attached: bool = False
    inline: bool = False


def role_reads(desired: Desired) -> dict[str, RoleReads]:
    """``{role name: reads}`` for every role to look up (generated or named by ARN)."""
    out = {arn_name(a): RoleReads() for a in user_role_arns(desired).values()}
    for ctx in desired.roles:
        name, had = str(ctx["name"]), out.get(str(ctx["name"]), RoleReads())
        out[name] = RoleReads(
            attached=had.attached
            or ctx["managed_policy_arn"] is not None
            or bool(ctx["managed_policy_attachments"]),
            inline=had.inline or bool(ctx["inline_policies"]),
        )
    return dict(sorted(out.items()))


def role_calls(reads: dict[str, RoleReads]) -> int:
    """The IAM calls :meth:`Gatherer._role` makes for ``reads``."""
    return sum(1 + needs.attached + needs.inline for needs in reads.values())


class Tasks:
    """A thread pool whose tasks may start more tasks; :meth:`wait` returns once none is left.

    The first exception a task raises is re-raised by :meth:`wait` (reads record their own
    failures, so this is only ever a bug, which must not pass as "in sync")."""

    def __init__(self, workers: int = MAX_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify")
        self._idle = threading.Condition()
        self._pending = 0
        self._errors: list[BaseException] = []

    def start(self, task: Callable[[], None]) -> None:
        with self._idle:
            self._pending += 1
        self._pool.submit(self._run, task)

    def _run(self, task: Callable[[], None]) -> None:
        try:
            task()
        except BaseException as exc:  # re-raised by wait() in the calling thread
            with self._idle:
                self._errors.append(exc)
        finally:
            with self._idle:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.notify_all()

    def wait(self) -> None:
        with self._idle:
            while self._pending:
                self._idle.wait()
        self._pool.shutdown()
        if self._errors:
            raise self._errors[0]


class After:
    """Starts ``then`` once ``count`` other tasks have each called :meth:`done` (in a
    ``finally``, so a failed read still lets what depends on it run and record its own)."""

    def __init__(self, tasks: Tasks, count: int, then: Callable[[], None]) -> None:
        self._tasks = tasks
        self._count = count
        self._then = then
        self._lock = threading.Lock()
        if count == 0:
            tasks.start(then)

    def done(self) -> None:
        with self._lock:
            self._count -= 1
            last = self._count == 0
        if last:
            self._tasks.start(self._then)


def by_key(resources: list[dict[str, Any]], env_name: str) -> dict[str, dict[str, Any]]:
    """Resources tagged with the environment, by their ``batchform:key``."""
    out: dict[str, dict[str, Any]] = {}
    for r in resources:
        tags = tags_of(r)
        if tags.get(naming.TAG_ENVIRONMENT) == env_name and naming.TAG_KEY in tags:
            out.setdefault(tags[naming.TAG_KEY], r)
    return out


def security_group_of(
    live: Live, desired: Desired, group: SecurityGroupEntry, tagged: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The live group of one the plan creates: by its ``batchform:key`` tag (``tagged``, from
    :func:`by_key`), else, for a group the file names itself, by that name (EC2 compares group
    names without case), in the environment's VPC when several VPCs hold one."""
    found = tagged.get(batchform_key(group) or "")
    if found is not None or group["name"] not in desired.chosen_security_group_names:
        return found
    wanted = group["name"].lower()
    named = [g for g in live.security_groups or [] if str(g.get("GroupName")).lower() == wanted]
    vpc_ids = {v.get("VpcId") for v in live.vpcs or []}
    in_vpc = [g for g in named if g.get("VpcId") in vpc_ids]
    if len(in_vpc) == 1:
        return in_vpc[0]
    return named[0] if len(named) == 1 else None


class Gatherer:
    def __init__(self, desired: Desired, reader: Reader, progress: Progress | None = None):
        self.desired = desired
        self.reader = reader
        self.clients = reader.clients
        self.live = Live()
        self.progress = progress
        self.tasks = Tasks()
        self._vpc_lock = threading.Lock()
        self._vpcs_asked: set[str] = set()
        self._vpc_parts: dict[str, list[tuple[int, list[dict[str, Any]] | None]]] = {}

    def _step(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    # --- what the file names: started at once --------------------------------------------------

    def _batch(self, needs_ces: After, needs_images: After) -> list[Callable[[], None]]:
        batch = self.clients.batch
        read = self.reader.read
        live = self.live

        def ces() -> None:
            try:
                live.compute_environments = read(
                    "compute_environments",
                    "batch",
                    "DescribeComputeEnvironments",
                    lambda: fetch.compute_environments(batch),
                )
                self._step("compute environments")
            finally:
                needs_ces.done()
                needs_images.done()

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
                lambda: fetch.active_job_definitions(batch, self.desired.job_definition_prefixes),
            )
            self._step("job definitions")

        def policies() -> None:
            live.scheduling_policies = read(
                "scheduling_policies",
                "batch",
                "ListSchedulingPolicies/DescribeSchedulingPolicies",
                lambda: fetch.scheduling_policies(batch, self.desired.policy_prefixes),
            )
            self._step("scheduling policies")

        return [ces, queues, jobdefs, policies]

    def _ec2(self, needs_ces: After) -> list[Callable[[], None]]:
        ec2 = self.clients.ec2
        read = self.reader.read
        live = self.live
        env_filter = [fetch.tag_filter(naming.TAG_ENVIRONMENT, self.desired.name)]
        vpc = self.desired.env.network.vpc

        def tagged_or_named() -> list[dict[str, Any]]:
            """The groups tagged with the environment, and those named as the file names its
            groups (``aws_name``): found even before, or without, batchform's tags."""
            found = fetch.ec2_list(
                ec2, "describe_security_groups", "SecurityGroups", Filters=env_filter
            )
            names = self.desired.chosen_security_group_names
            if names:
                filters = [{"Name": "group-name", "Values": list(names)}]
                if vpc.existing is not None:
                    filters.append({"Name": "vpc-id", "Values": [vpc.existing.vpc_id]})
                seen = {g["GroupId"] for g in found}
                found += [
                    g
                    for g in fetch.ec2_list(
                        ec2, "describe_security_groups", "SecurityGroups", Filters=filters
                    )
                    if g["GroupId"] not in seen
                ]
            return found

        def groups() -> None:
            live.security_groups = read(
                "security_groups", "ec2", "DescribeSecurityGroups", tagged_or_named
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
            for lt in live.launch_templates or []:
                self.tasks.start(self._template_version(lt["LaunchTemplateId"]))

        def vpcs() -> None:
            if vpc.create is not None:
                live.vpcs = read(
                    "network",
                    "ec2",
                    "DescribeVpcs",
                    lambda: fetch.ec2_items(ec2.describe_vpcs(Filters=env_filter), "Vpcs"),
                )
            else:
                assert vpc.existing is not None
                vpc_id = vpc.existing.vpc_id
                live.vpcs = read("network", "ec2", "DescribeVpcs", lambda: fetch_vpc(ec2, vpc_id))
            self._step("VPC")

        def subnets() -> None:
            """Read beside the VPC (neither needs the other); the VPC's routes once known."""
            try:
                if vpc.create is not None:
                    tagged = read(
                        "network",
                        "ec2",
                        "DescribeSubnets",
                        lambda: fetch.ec2_list(
                            ec2, "describe_subnets", "Subnets", Filters=env_filter
                        ),
                    )
                    if tagged is not None:
                        live.subnets = {s["SubnetId"]: s for s in tagged}
                else:
                    assert vpc.existing is not None
                    ids = [*vpc.existing.private_subnets, *vpc.existing.public_subnets]
                    live.subnets = read(
                        "network", "ec2", "DescribeSubnets", lambda: fetch.subnets_by_id(ec2, ids)
                    )
                self._step("subnets")
                if live.subnets is not None:
                    self._read_vpcs(self._subnet_vpcs())
            finally:
                needs_ces.done()

        return [groups, templates, vpcs, subnets]

    def _iam(self) -> list[Callable[[], None]]:
        tasks: list[Callable[[], None]] = []
        profile = instance_profile_name(self.desired)
        if profile is not None:

            def one_profile(name: str = profile) -> None:
                try:
                    got = self.reader.read(
                        f"instance profile {name}",
                        "iam",
                        "GetInstanceProfile",
                        lambda: fetch.instance_profile(self.clients.iam, name),
                    )
                except NotFound:
                    self.live.instance_profiles[name] = None
                    return
                if got is not None:
                    self.live.instance_profiles[name] = got

            tasks.append(one_profile)
        reads = role_reads(self.desired)
        if role_calls(reads) > ROLE_CALLS_AT_ONCE:
            tasks.append(self._roles_at_once(reads))
        else:
            for name, needs in reads.items():
                tasks += self._role(name, needs)
        return tasks

    def _roles_at_once(self, reads: dict[str, RoleReads]) -> Callable[[], None]:
        """Every role in one listing of the account's roles; the per-role reads instead when
        the listing fails (most likely a policy without ``GetAccountAuthorizationDetails``),
        which then record their own failures, if any."""

        def listing() -> None:
            found = self.reader.attempt("iam", lambda: fetch.account_roles(self.clients.iam, reads))
            if found is None:
                for name, needs in reads.items():
                    for task in self._role(name, needs):
                        self.tasks.start(task)
                return
            for name in reads:
                self.live.roles[name] = found.get(name)
            self._step("IAM roles")

        return listing

    def _role(self, name: str, reads: RoleReads) -> list[Callable[[], None]]:
        """The role's calls side by side; the last to finish puts the role together."""
        iam = self.clients.iam
        got: dict[str, Any] = {}
        parts: list[tuple[str, str, Callable[[], Any]]] = [
            ("role", "GetRole", lambda: fetch.role_details(iam, name))
        ]
        if reads.attached:
            parts.append(
                ("attached", "ListAttachedRolePolicies", lambda: fetch.attached_policies(iam, name))
            )
        if reads.inline:
            parts.append(
                ("inline", "ListRolePolicies", lambda: fetch.inline_policy_names(iam, name))
            )

        def assemble() -> None:
            if any(value is NotFound for value in got.values()):
                self.live.roles[name] = None
            elif all(value is not None for value in got.values()):
                self.live.roles[name] = fetch.role_info(
                    got["role"], got.get("attached", ()), got.get("inline", ())
                )

        together = After(self.tasks, len(parts), assemble)

        def part(key: str, operation: str, call: Callable[[], Any]) -> Callable[[], None]:
            def run() -> None:
                try:
                    got[key] = self.reader.read(f"role {name}", "iam", operation, call)
                except NotFound:
                    got[key] = NotFound
                finally:
                    together.done()

            return run

        return [part(*p) for p in parts]

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

    def _logs_and_ssm(self, needs_images: After) -> list[Callable[[], None]]:
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
                    if got is not None:
                        self.live.ssm_parameters[name] = got
                except NotFound:
                    self.live.ssm_parameters[name] = None
                finally:
                    needs_images.done()

            tasks.append(parameter)
        return tasks

    # --- what other answers point at: started when those arrive ---------------------------------

    def _template_version(self, template_id: str) -> Callable[[], None]:
        def versions() -> None:
            self.live.launch_template_data[template_id] = self.reader.read(
                f"launch template {template_id}",
                "ec2",
                "DescribeLaunchTemplateVersions",
                lambda: fetch.latest_launch_template_data(self.clients.ec2, template_id),
            )

        return versions

    def _subnet_vpcs(self) -> list[str]:
        return sorted({s["VpcId"] for s in (self.live.subnets or {}).values()})

    def _ce_subnet_ids(self) -> set[str]:
        ids: set[str] = set()
        for ce in self.live.compute_environments or []:
            if ce["computeEnvironmentName"].startswith(self.desired.compute_environment_prefixes):
                ids.update(ce.get("computeResources", {}).get("subnets", []))
        for wanted in self.desired.env.compute_environments.values():
            if isinstance(wanted.subnets, list):
                ids.update(wanted.subnets)
        return ids

    def _ce_subnets(self) -> None:
        """Subnets the compute environments use that the tagged (or listed) ones did not
        include, then the routes of any VPC only they are in."""
        live = self.live
        if live.subnets is None:
            return
        missing = sorted(self._ce_subnet_ids() - set(live.subnets))
        if not missing:
            return
        more = self.reader.read(
            "network",
            "ec2",
            "DescribeSubnets",
            lambda: fetch.subnets_by_id(self.clients.ec2, missing),
        )
        if more is not None:
            live.subnets.update(more)
            self._read_vpcs(self._subnet_vpcs())

    def _read_vpcs(self, vpc_ids: list[str]) -> None:
        """Start the route table, NAT gateway, internet gateway and VPC endpoint reads of the
        VPCs in ``vpc_ids`` not asked about yet (one call of each kind for them all)."""
        with self._vpc_lock:
            new = [v for v in vpc_ids if v not in self._vpcs_asked]
            self._vpcs_asked.update(new)
            order = len(self._vpc_parts.get(VPC_READS[0], []))
            for kind in VPC_READS:
                self._vpc_parts.setdefault(kind, [])
        if not new:
            return
        ec2, read = self.clients.ec2, self.reader.read
        in_vpcs = [{"Name": "vpc-id", "Values": new}]
        calls: dict[str, tuple[str, Callable[[], list[dict[str, Any]]]]] = {
            "route_tables": (
                "DescribeRouteTables",
                lambda: fetch.ec2_list(
                    ec2, "describe_route_tables", "RouteTables", Filters=in_vpcs
                ),
            ),
            "nat_gateways": (
                "DescribeNatGateways",
                lambda: fetch.ec2_list(ec2, "describe_nat_gateways", "NatGateways", Filter=in_vpcs),
            ),
            "internet_gateways": (
                "DescribeInternetGateways",
                lambda: fetch.ec2_list(
                    ec2,
                    "describe_internet_gateways",
                    "InternetGateways",
                    Filters=[{"Name": "attachment.vpc-id", "Values": new}],
                ),
            ),
            "vpc_endpoints": (
                "DescribeVpcEndpoints",
                lambda: fetch.ec2_list(
                    ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=in_vpcs
                ),
            ),
        }
        for kind, (operation, call) in calls.items():

            def one(
                kind: str = kind, operation: str = operation, call: Callable[..., Any] = call
            ) -> None:
                found = read("network", "ec2", operation, call)
                with self._vpc_lock:
                    self._vpc_parts[kind].append((order, found))
                self._step(kind.replace("_", " "))

            self.tasks.start(one)

    def _merge_vpc_reads(self) -> None:
        """The VPC reads into :class:`Live`, in the order they were asked: a kind stays
        ``None`` (not read) when one of its calls failed or the subnets could not be read."""
        if self.live.subnets is None:
            return
        for kind in VPC_READS:
            parts = sorted(self._vpc_parts.get(kind, []), key=lambda p: p[0])
            if any(found is None for _, found in parts):
                continue
            setattr(self.live, kind, [item for _, found in parts for item in found or []])

    def _images(self) -> None:
        live = self.live
        ids = {a.id for a in self.desired.env.amis.values() if a.id is not None}
        ids |= {v for v in live.ssm_parameters.values() if v}
        for ce in live.compute_environments or []:
            if ce["computeEnvironmentName"].startswith(self.desired.compute_environment_prefixes):
                for c in ce.get("computeResources", {}).get("ec2Configuration", []) or []:
                    if c.get("imageIdOverride"):
                        ids.add(c["imageIdOverride"])
        if ids:
            live.images = self.reader.read(
                "images",
                "ec2",
                "DescribeImages",
                lambda: fetch.images_by_id(self.clients.ec2, sorted(ids)),
            )
        else:
            live.images = {}
        self._step("machine images")

    # --- addresses ----------------------------------------------------------------------------

    def _bind(self) -> None:
        """Map each Terraform address the plan refers to onto the live resource."""
        live, desired = self.live, self.desired
        groups = by_key(live.security_groups or [], desired.name)
        for group in desired.security_groups:
            found = security_group_of(live, desired, group, groups)
            if found:
                live.bind(f"aws_security_group.{group['label']}", id=found["GroupId"])
        subnets = by_key(list((live.subnets or {}).values()), desired.name)
        for subnet in desired.subnets:
            found = subnets.get(batchform_key(subnet) or "")
            if found:
                live.bind(f"aws_subnet.{subnet['label']}", id=found["SubnetId"])
        for vpc in live.vpcs or []:
            address = "aws_vpc.main" if desired.env.network.vpc.create else "data.aws_vpc.main"
            live.bind(
                address,
                id=vpc["VpcId"],
                cidr_block=vpc.get("CidrBlock"),
                secondary_cidr_blocks=secondary_cidr_blocks(vpc),
            )
        templates = by_key(live.launch_templates or [], desired.name)
        for template in desired.launch_templates:
            found = templates.get(batchform_key(template) or "")
            if found:
                live.bind(
                    f"aws_launch_template.{template['label']}",
                    id=found["LaunchTemplateId"],
                    latest_version=str(found["LatestVersionNumber"]),
                    default_version=str(found["DefaultVersionNumber"]),
                )
        for role_ctx in desired.roles:
            role = live.roles.get(str(role_ctx["name"]))
            if role is not None:
                live.bind(f"aws_iam_role.{role_ctx['label']}", arn=role.arn, name=role.name)
        profile = desired.instance_profile
        if profile is not None:
            got = live.instance_profiles.get(str(profile["name"]))
            if got is not None:
                live.bind(f"aws_iam_instance_profile.{profile['label']}", arn=got["Arn"])
        for log_group in desired.log_groups:
            live.bind(f"aws_cloudwatch_log_group.{log_group['label']}", name=log_group["name"])
        for placement in desired.placement_groups:  # the CE names it; its name is fixed by the file
            live.bind(f"aws_placement_group.{placement['label']}", name=placement["name"])
        for ami in desired.ssm_amis:
            value = live.ssm_parameters.get(str(ami["name"]))
            if value:
                live.bind(f"data.aws_ssm_parameter.{ami['label']}", insecure_value=value)
        for policy in desired.scheduling_policies:
            for p in live.scheduling_policies or []:
                if p["name"] == policy["name"]:
                    live.bind(f"aws_batch_scheduling_policy.{policy['label']}", arn=p["arn"])
        for ce in desired.compute_environments:
            chosen = pick_compute_environment(live, ce, desired.name)
            if chosen is not None:
                live.bind(
                    f"aws_batch_compute_environment.{ce['label']}",
                    arn=chosen["computeEnvironmentArn"],
                )

    def gather(self) -> Live:
        """Every read, each started as soon as what it needs is known; then the addresses."""
        tasks = self.tasks
        needs_ces = After(tasks, 2, self._ce_subnets)  # compute environments + tagged subnets
        needs_images = After(tasks, 1 + len(self.desired.ssm_amis), self._images)
        for task in [
            *self._batch(needs_ces, needs_images),
            *self._ec2(needs_ces),
            *self._logs_and_ssm(needs_images),
            *self._iam(),
            *self._efs(),
            *operations.read_tasks(self.desired, self.reader, self.live),
        ]:
            tasks.start(task)
        tasks.wait()
        self._merge_vpc_reads()
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
        vpcs = fetch.ec2_items(ec2.describe_vpcs(VpcIds=[vpc_id]), "Vpcs")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidVpcID.NotFound":
            return []
        raise
    return vpcs


def _named_as(name: str, ctx: ComputeEnvironmentEntry) -> bool:
    """A deployed CE's name fits the plan's: the exact ``aws_name``, or the prefix."""
    if ctx["name"] is not None:
        return name == ctx["name"]
    return name.startswith(ctx["name_prefix"] or "")


def candidates(live: Live, ctx: ComputeEnvironmentEntry, env_name: str) -> list[dict[str, Any]]:
    """Deployed compute environments for one CE of the file: the name starts with its prefix
    (Terraform adds a suffix), or is its exact ``aws_name``, and the batchform tags name this
    environment and key."""
    return [
        ce
        for ce in live.tagged_compute_environments(env_name, batchform_key(ctx))
        if _named_as(ce["computeEnvironmentName"], ctx)
    ]


def pick_compute_environment(
    live: Live, ctx: ComputeEnvironmentEntry, env_name: str
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
