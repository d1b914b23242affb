"""Capacity rules: settings that validate and deploy fine, but leave jobs stuck in RUNNABLE.

AWS Batch accepts a job that no instance of its queues can ever hold and simply never starts
it; compute environments in subnets that cannot reach ECR, S3, CloudWatch Logs or ECS launch
instances that never pull an image. These rules explain such jobs before they are submitted.
Unused groups and policies are reported here too, because they are usually a typo'd reference
that leaves something else with less than intended.

Instance sizes come from :mod:`batchform.instance_types` (shared with the compute rules).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from batchform import derive, instance_types
from batchform.checks import Finding, rule
from batchform.codes import known_codes
from batchform.diagnostics import Level, Path
from batchform.model import ComputeEnvironment, Environment, JobDefinition

# Memory the ECS agent registers is less than what the instance type advertises: the kernel
# and platform keep about 2.5% (AWS's example: m4.large, 8192 MiB installed, 7985 MiB
# registered; we round up to 3%), and the Batch AMI reserves another 32 MiB for the agent
# (ECS_RESERVED_MEMORY).
KERNEL_OVERHEAD = 0.03
ECS_RESERVED_MIB = 32

# What `optimal` and the `default_*` aliases let Batch choose from (AWS Batch User Guide:
# current C, M and R families of the architecture). Generous on purpose: a job is only
# reported when it fits none of them.
_X86_CMR = ("c4", "m4", "r4", "c5", "m5", "r5", "c6i", "m6i", "r6i")
ALIAS_FAMILIES: dict[str, tuple[str, ...]] = {
    instance_types.OPTIMAL: _X86_CMR,
    instance_types.DEFAULT_X86_64: _X86_CMR,
    instance_types.DEFAULT_ARM64: ("c6g", "m6g", "r6g", "c7g", "m7g", "r7g"),
}

PRIVATE_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
)
EC2_AGENT_ENDPOINTS = ("ecs", "ecs-agent", "ecs-telemetry")
ECR_ENDPOINTS = ("ecr.api", "ecr.dkr", "s3")  # image layers are served from S3


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    gpus: int = 0

    @property
    def job_memory_mib(self) -> int:
        """Memory a job can ask for on this instance (see KERNEL_OVERHEAD)."""
        return int(self.memory_mib * (1 - KERNEL_OVERHEAD)) - ECS_RESERVED_MIB


# --- the instance table ----------------------------------------------------------------------


def _sizes(family: instance_types.Family) -> list[InstanceType]:
    return [
        InstanceType(f"{family.name}.{size}", s.vcpus, s.memory_mib, s.gpus)
        for size, s in family.sizes.items()
    ]


def _expand(entry: str) -> list[InstanceType] | None:
    """The sizes an ``instance_types`` entry allows, or ``None`` when the table does not know
    it (then nothing can be concluded about the compute environment)."""
    table = instance_types.families()
    if entry in ALIAS_FAMILIES:
        return [t for name in ALIAS_FAMILIES[entry] if name in table for t in _sizes(table[name])]
    parsed = instance_types.parse(entry)
    if parsed is None or parsed[0] not in table:
        return None
    family, size = table[parsed[0]], parsed[1]
    if size is None:
        return _sizes(family)
    if size not in family.sizes:
        return None
    s = family.sizes[size]
    return [InstanceType(entry, s.vcpus, s.memory_mib, s.gpus)]


# --- which compute environments can run a job -----------------------------------------------


def _queued_ces(env: Environment) -> list[str]:
    """Compute environments some queue uses, in file order, each once."""
    seen: dict[str, None] = {}
    for queue in env.job_queues.values():
        for key in queue.compute_environments:
            if key in env.compute_environments:
                seen.setdefault(key, None)
    return list(seen)


def _runs_on(job: JobDefinition, ce: ComputeEnvironment) -> bool:
    return derive.runs_on(job, ce)


def _candidates(env: Environment, job: JobDefinition) -> list[str]:
    return [k for k in _queued_ces(env) if _runs_on(job, env.compute_environments[k])]


class _Candidates:
    """:func:`_candidates` for every job of one rule run: the answer depends only on the job's
    platform, and recomputing it per job made the rules below O(jobs x queues x CEs)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.by_platform: dict[str | None, list[str]] = {}

    def __call__(self, job: JobDefinition) -> list[str]:
        found = self.by_platform.get(job.platform)
        if found is None:
            found = self.by_platform[job.platform] = _candidates(self.env, job)
        return found


def _ce_instances(ce: ComputeEnvironment) -> list[InstanceType] | None:
    """Every instance type a CE may launch; ``None`` if any entry is unknown (and for an
    UNMANAGED CE, whose instances its owner launches)."""
    if ce.is_unmanaged:
        return None
    out: list[InstanceType] = []
    for entry in ce.instance_types or [instance_types.OPTIMAL]:
        sizes = _expand(entry)
        if sizes is None:
            return None
        out.extend(sizes)
    return out


def _fits(need: derive.Demand, t: InstanceType) -> bool:
    return t.vcpus >= need.vcpus and t.job_memory_mib >= need.memory and t.gpus >= need.gpus


@rule("BF480", Level.WARNING, "a job definition fits no instance type its queues can launch")
def job_fits_no_instance(env: Environment) -> Iterator[Finding]:
    # Expanded once per compute environment, not once per job x compute environment: with
    # thousands of job definitions the expansion dominated the whole check run.
    expanded: dict[str, list[InstanceType] | None] = {}
    candidates = _Candidates(env)
    for key in env.job_definitions:
        job = env.job(key)
        if job.platform == "FARGATE":
            continue
        ces = candidates(job)
        instances: list[InstanceType] = []
        for ce_key in ces:
            if ce_key not in expanded:
                expanded[ce_key] = _ce_instances(env.compute_environments[ce_key])
            found = expanded[ce_key]
            if found is None:
                break  # an unknown type might fit; BF481 says so
            instances.extend(found)
        else:
            for need in derive.demands(env, key):
                if instances and not any(_fits(need, t) for t in instances):
                    yield _no_fit_finding(need, instances, ces)


def _count(n: float, noun: str) -> str:
    return f"{n:g} {noun}" + ("" if n == 1 else "s")


def _no_fit_finding(need: derive.Demand, instances: list[InstanceType], ces: list[str]) -> Finding:
    """Where one :class:`~batchform.derive.Demand` (a job, a node of a node range, or a
    multi-container task, whose containers share one instance) fits no instance."""
    most_cpu = max(instances, key=lambda t: (t.vcpus, t.memory_mib))
    most_mem = max(instances, key=lambda t: (t.memory_mib, t.vcpus))
    where = f"its compute environments ({', '.join(ces)})"
    reserve = (
        f"a job can use about {100 - KERNEL_OVERHEAD * 100:g}% of an instance's memory minus "
        f"{ECS_RESERVED_MIB} MiB: the kernel and the ECS agent keep the rest"
    )
    if need.vcpus > most_cpu.vcpus:
        return Finding(
            _at(need, "vcpus"),
            f"{need.what} asks for {_count(need.vcpus, 'vCPU')}, but the largest "
            f"instance type {where} can launch, {most_cpu.name}, has {most_cpu.vcpus}; its jobs "
            "would stay RUNNABLE forever",
            "ask for fewer vCPUs or add a larger instance family to instance_types",
        )
    if need.memory > most_mem.job_memory_mib:
        return Finding(
            _at(need, "memory"),
            f"{need.what} asks for {need.memory} MiB, but a job gets at most "
            f"{most_mem.job_memory_mib} MiB on {where}, on {most_mem.name} with "
            f"{most_mem.memory_mib} MiB installed; its jobs would stay RUNNABLE forever",
            f"ask for at most {most_mem.job_memory_mib} MiB or add a larger instance type; "
            + reserve,
        )
    most_gpu = max(t.gpus for t in instances)
    if need.gpus > most_gpu:
        return Finding(
            _at(need, "gpus"),
            f"{need.what} asks for {_count(need.gpus, 'GPU')}, but the instance types "
            f"{where} can launch have at most {most_gpu}; its jobs would stay RUNNABLE forever",
            "add a GPU family (g5, p4d, ...) to instance_types and a GPU AMI to that CE",
        )
    return Finding(
        need.path,
        f"{need.what} ({need.vcpus:g} vCPUs, {need.memory} MiB, {need.gpus} GPUs) "
        f"fits no single instance type {where} can launch, although each need alone would; "
        "its jobs would stay RUNNABLE forever",
        "add an instance type with enough vCPUs and memory together; " + reserve,
    )


def _at(need: derive.Demand, name: str) -> tuple[str | int, ...]:
    """The key to change: the value itself, or the containers of a multi-container task
    (whose need is their sum)."""
    return need.path if need.path[-1] == "containers" else (*need.path, name)


@rule("BF481", Level.INFO, "an instance family is not in batchform's table, so fit is not checked")
def unknown_instance_type(env: Environment) -> Iterator[Finding]:
    table = instance_types.families()
    for key, ce in env.compute_environments.items():
        if ce.is_fargate:
            continue
        for i, entry in enumerate(ce.instance_types or []):
            # malformed names are the compute rules' to report, unknown sizes BF487's
            family = instance_types.family_of(entry)
            if family is None or family in table:
                continue
            close = difflib.get_close_matches(family, list(table), n=1, cutoff=0.6)
            yield Finding(
                ("compute_environments", key, "instance_types", i),
                f"instance family '{family}' is not one EC2 lists (batchform's table is "
                "generated from EC2 DescribeInstanceTypes), so whether jobs fit on it is not "
                "checked",
                (f"did you mean '{close[0]}'? " if close else "check the spelling; ")
                + "a family newer than the table can be kept (ignore: [BF481] silences this)",
            )


@rule("BF482", Level.WARNING, "a job needs more vCPUs than any of its compute environments allows")
def job_exceeds_max_vcpus(env: Environment) -> Iterator[Finding]:
    candidates = _Candidates(env)
    limits: dict[str | None, int | None] = {}  # by platform, as the candidates are
    for key in env.job_definitions:
        job = env.job(key)
        ces = candidates(job)
        if not ces:
            continue
        if job.platform not in limits:
            known = not any(env.compute_environments[k].is_unmanaged for k in ces)
            limits[job.platform] = (
                max(env.compute_environments[k].vcpu_limit for k in ces) if known else None
            )
        largest = limits[job.platform]
        if largest is None:
            continue  # an UNMANAGED CE has the instances its owner registers
        for need in derive.demands(env, key):
            if need.vcpus <= largest:
                continue
            yield Finding(
                _at(need, "vcpus"),
                f"{need.what} asks for {need.vcpus:g} vCPUs but the compute "
                f"environments that can run it ({', '.join(ces)}) allow at most {largest}; "
                "its jobs would stay RUNNABLE forever",
                "raise max_vcpus of one of those compute environments or ask for fewer vCPUs",
            )


# --- network reachability -------------------------------------------------------------------


def _cut_off(env: Environment, ce: ComputeEnvironment) -> bool:
    """True when the CE's instances or tasks have no route to the internet for sure: private
    subnets of a VPC created without NAT. Existing VPCs and explicit subnet ids are unknown
    here (the verifier checks their routes)."""
    vpc = env.network.vpc.create
    return vpc is not None and vpc.nat_gateways == "none" and ce.subnets == "private"


def _needs_internet(image: str, region: str) -> bool:
    m = PRIVATE_ECR_IMAGE.match(image)
    return m is None or m.group("region") != region


def _endpoints_needed(env: Environment, ce_key: str) -> dict[str, str]:
    """{endpoint service: why} for a CE whose subnets reach AWS only through endpoints."""
    ce = env.compute_environments[ce_key]
    need: dict[str, str] = {"logs": "awslogs cannot start a container without it"}
    if not ce.is_fargate:
        for service in EC2_AGENT_ENDPOINTS:
            need[service] = "instances register with ECS through them"
    queued = set(_queued_ces(env))
    for key in sorted(env.job_definitions):
        job = env.job(key)
        if ce_key not in queued or not _runs_on(job, ce):
            continue
        if not all(_needs_internet(image, env.region) for _, image in derive.job_images(job, key)):
            for service in ECR_ENDPOINTS:
                need.setdefault(service, f"job definition '{key}' pulls from ECR")
        for ref in job.all_secrets.values():
            service = "ssm" if ":ssm:" in ref else "secretsmanager"
            need.setdefault(service, f"job definition '{key}' reads secrets")
    return need


@rule("BF483", Level.ERROR, "private subnets without NAT lack VPC endpoints that jobs need")
def private_subnets_without_endpoints(env: Environment) -> Iterator[Finding]:
    have = set(env.network.endpoints)
    for key, ce in env.compute_environments.items():
        if not _cut_off(env, ce):
            continue
        need = _endpoints_needed(env, key)
        missing = sorted(set(need) - have)
        if missing:
            by_reason: dict[str, list[str]] = {}
            for service in missing:
                by_reason.setdefault(need[service], []).append(service)
            reasons = "; ".join(f"{', '.join(s)}: {why}" for why, s in by_reason.items())
            yield Finding(
                ("compute_environments", key, "subnets"),
                f"compute environment '{key}' runs in private subnets without a NAT gateway "
                f"and the VPC has no endpoint for {', '.join(missing)} ({reasons}); jobs "
                "would stay RUNNABLE or fail to start",
                f"add {', '.join(missing)} to network.endpoints, or set "
                "network.vpc.create.nat_gateways to single",
            )


def _image_findings(env: Environment, every: bool) -> Iterator[Finding]:
    candidates = _Candidates(env)
    for key in env.job_definitions:
        job = env.job(key)
        pulls = [(p, i) for p, i in derive.job_images(job, key) if _needs_internet(i, env.region)]
        if not pulls:
            continue
        ces = candidates(job)
        blocked = [k for k in ces if _cut_off(env, env.compute_environments[k])]
        if not blocked or (len(blocked) == len(ces)) != every:
            continue
        for path, image in pulls:
            yield _image_finding(env, key, path, image, blocked, every)


def _image_finding(
    env: Environment, key: str, path: Path, image: str, blocked: list[str], every: bool
) -> Finding:
    return Finding(
        path,
        f"job definition '{key}' pulls '{image}' from outside this region's ECR, but "
        f"{'the' if every else 'some'} compute environments that can run it "
        f"({', '.join(blocked)}) are in private subnets without a NAT gateway; the pull "
        "would fail there with CannotPullContainerError",
        "copy the image into a private ECR repository in "
        f"{env.region} (reachable through VPC endpoints), or add a NAT gateway",
    )


@rule("BF484", Level.ERROR, "a job's image is unreachable from every compute environment")
def image_unreachable(env: Environment) -> Iterator[Finding]:
    yield from _image_findings(env, every=True)


@rule("BF485", Level.WARNING, "a job's image is unreachable from some of its compute environments")
def image_unreachable_somewhere(env: Environment) -> Iterator[Finding]:
    yield from _image_findings(env, every=False)


# --- unused definitions ----------------------------------------------------------------------


@rule("BF490", Level.WARNING, "a security group is used by no compute environment")
def unused_security_group(env: Environment) -> Iterator[Finding]:
    used = {sg for key in env.compute_environments for sg in env.ce_security_groups(key)}
    for sg in env.network.security_groups.values():
        rules = list(sg.ingress) + (sg.egress if isinstance(sg.egress, list) else [])
        used.update(r.security_group for r in rules if r.security_group)
    for key in env.network.security_groups:
        if key not in used:
            yield Finding(
                ("network", "security_groups", key),
                f"security group '{key}' is attached to no compute environment and no other "
                "group's rule refers to it",
                "list it in a compute environment's security_groups, or remove it",
            )


@rule("BF491", Level.WARNING, "a scheduling policy is used by no job queue")
def unused_scheduling_policy(env: Environment) -> Iterator[Finding]:
    used = {q.scheduling_policy for q in env.job_queues.values()}
    for key in env.scheduling_policies:
        if key not in used:
            yield Finding(
                ("scheduling_policies", key),
                f"scheduling policy '{key}' is used by no job queue",
                "set it as a queue's scheduling_policy (a queue created without one can only "
                "get one by being replaced), or remove it",
            )


# --- the ignore list -------------------------------------------------------------------------


def _ignored(env: Environment) -> Iterable[tuple[int, str]]:
    return enumerate(env.ignore)


@rule("BF498", Level.INFO, "ignore lists an error code; errors cannot be silenced")
def ignore_lists_error(env: Environment) -> Iterator[Finding]:
    codes = known_codes()
    for i, code in _ignored(env):
        if codes.get(code) == Level.ERROR:
            yield Finding(
                ("ignore", i),
                f"'{code}' reports errors, which `ignore` cannot silence",
                "fix what it reports instead, and remove it from ignore",
            )


@rule("BF499", Level.WARNING, "ignore lists a code that does not exist")
def ignore_lists_unknown_code(env: Environment) -> Iterator[Finding]:
    codes = known_codes()
    for i, code in _ignored(env):
        if code not in codes:
            close = [c for c in sorted(codes) if c.lower() == code.strip().lower()]
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "`batchform rules` lists every code; codes look like BF305"
            )
            yield Finding(("ignore", i), f"'{code}' is not a batchform rule code", hint)
