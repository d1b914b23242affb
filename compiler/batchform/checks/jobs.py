"""AWS Batch rules for names, job queues, scheduling policies and job definitions (BF400-BF459).

Each rule is one documented AWS Batch fact (docs/rules.md lists them): a limit AWS or the Terraform
provider enforces only at plan or apply time (or, worse, when a job starts), reported here with
the line of the value to change.

Settings a job may inherit from ``job_defaults`` (retry, timeout, log retention, environment)
are checked where they are written: once under ``job_defaults`` and once per job that sets its
own, so one mistake gives one diagnostic. Settings that only make sense on one platform
(``privileged`` on EC2, ``assign_public_ip`` on Fargate, ...) are judged on the job's own keys:
a default applies only to the jobs it fits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from batchform.checks import Finding, rule
from batchform.derive import (
    properties_document,
    referenced_parameters_in,
    required_parameters,
    runs_on,
    task_size,
    vcpu_value,
)
from batchform.diagnostics import Level, Path
from batchform.hcl import Expr
from batchform.instance_types import OPTIMAL, architectures
from batchform.model import Environment, JobDefinition
from batchform.naming import (
    NAMED_BATCH_SECTIONS,
    TAG_ENVIRONMENT,
    TAG_KEY,
    NamedSection,
    aws_name,
    named,
)

# --- limits ----------------------------------------------------------------------------------

AWS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")
AWS_NAME_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\Z")
SHARE_IDENTIFIER = re.compile(r"^[A-Za-z0-9]{1,255}\*?\Z")

MAX_QUEUE_COMPUTE_ENVIRONMENTS = 3
KNOWN_TIME_LIMIT_REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS",
)
MAX_QUEUES_PER_REGION = 50

MAX_SHARES = 500

MIN_EC2_MEMORY_MIB = 4
# Fargate task sizes, as the Batch API reference lists them (ResourceRequirement.value, in
# botocore's batch/2016-08-10 model): 32 vCPU takes 61440, 122880 or 249856 MiB.
FARGATE_MEMORY_MIB: dict[float, list[int]] = {
    0.25: [512, 1024, 2048],
    0.5: list(range(1024, 4096 + 1, 1024)),
    1: list(range(2048, 8192 + 1, 1024)),
    2: list(range(4096, 16384 + 1, 1024)),
    4: list(range(8192, 30720 + 1, 1024)),
    8: list(range(16384, 61440 + 1, 4096)),
    16: list(range(32768, 122880 + 1, 8192)),
    32: [61440, 122880, 249856],
}
FARGATE_LARGE_VCPUS = (8, 16, 32)
FARGATE_MIN_PLATFORM = (1, 4, 0)

MAX_ON_EXIT_RULES = 5
MAX_PATTERN_LENGTH = 512
# The provider's own patterns (resource aws_batch_job_definition, evaluate_on_exit).
EXIT_CODE_PATTERN = re.compile(r"^[0-9]*\*?\Z")
REASON_PATTERN = re.compile(r"^[0-9A-Za-z.: \t]*\*?\Z")
RESERVED_ENV_PREFIX = "AWS_BATCH"
MAX_TAGS = 50
LOG_RETENTION_DAYS = (
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
MAX_JOB_DEFINITION_BYTES = 24 * 1024
# A generated role ARN or log group name as AWS will spell it, for the size estimate.
REFERENCE_PLACEHOLDER = "x" * 100


# --- helpers ---------------------------------------------------------------------------------


def _setting_sources(env: Environment, name: str) -> Iterator[tuple[Path, Any]]:
    """Every place a job setting is written: ``job_defaults`` and each job's own key."""
    value = getattr(env.job_defaults, name)
    if value is not None:
        yield ("job_defaults", name), value
    for key, job in env.job_definitions.items():
        value = getattr(job, name)
        if value is not None:
            yield ("job_definitions", key, name), value


def _is_fargate_ce(env: Environment, key: str) -> bool | None:
    ce = env.compute_environments.get(key)
    return None if ce is None else ce.is_fargate


def _platform(job: JobDefinition) -> str:
    return job.platform if job.platform in ("FARGATE", "EKS") else "EC2"


def _platform_at_least(version: str | None, minimum: tuple[int, ...]) -> bool:
    """``None`` and ``LATEST`` mean the newest platform; ``1.3.0`` is compared numerically."""
    if version is None or version.upper() == "LATEST":
        return True
    parts = re.findall(r"\d+", version)
    return tuple(int(p) for p in parts) >= minimum


def _own(env: Environment, key: str) -> JobDefinition:
    return env.job_definitions[key]


# --- names -----------------------------------------------------------------------------------


@rule(
    "BF400",
    Level.ERROR,
    "an AWS name of a compute environment, queue, job definition or policy is invalid",
)
def aws_names_valid(env: Environment) -> Iterator[Finding]:
    for section in NAMED_BATCH_SECTIONS:
        for key in getattr(env, section):
            yield from _aws_name_findings(env, section, key)


AWS_NAME_RULE = "1-128 letters, digits, '-' or '_', starting with a letter or digit"


def _aws_name_findings(env: Environment, section: NamedSection, key: str) -> Iterator[Finding]:
    """The name a resource gets must match AWS's pattern; a compute environment's own prefix
    only its characters (its length is BF321's)."""
    entry = named(env, section, key)
    if entry.aws_name is not None:
        if not AWS_NAME.match(entry.aws_name):
            yield Finding(
                (section, key, "aws_name"),
                f"aws_name '{entry.aws_name}' of {section}.{key} is not {AWS_NAME_RULE}",
                "AWS Batch names take only A-Z, a-z, 0-9, '-' and '_' (no dots or spaces)",
            )
        return
    if entry.aws_name_prefix is not None:
        prefix = entry.aws_name_prefix
        name = prefix if section == "compute_environments" else f"{prefix}{key}"
        if not AWS_NAME_PREFIX.match(prefix) or not AWS_NAME.match(name):
            yield Finding(
                (section, key, "aws_name_prefix"),
                f"aws_name_prefix '{prefix}' of {section}.{key} makes the AWS name "
                f"'{name}', which is not {AWS_NAME_RULE}",
                "start the prefix with a letter or digit and use only A-Z, a-z, 0-9, '-' and '_'",
            )
        return
    if section == "compute_environments":
        return  # <name>-<key>- is always valid; its length is BF321's
    name = aws_name(env.name, key)
    if not AWS_NAME.match(name):
        yield Finding(
            (section, key),
            f"AWS name '{name}' of {section}.{key} is not {AWS_NAME_RULE}",
            "shorten the environment name or the key",
        )


@rule(
    "BF401", Level.ERROR, "a fair-share identifier is not 1-255 letters/digits with an optional *"
)
def share_identifier_valid(env: Environment) -> Iterator[Finding]:
    for key, policy in env.scheduling_policies.items():
        for i, share in enumerate(policy.shares):
            if not SHARE_IDENTIFIER.match(share.identifier):
                yield Finding(
                    ("scheduling_policies", key, "shares", i, "identifier"),
                    f"share identifier '{share.identifier}' must be 1-255 letters and digits, "
                    "optionally ending in '*' ('-' and '_' are not allowed)",
                    "write labA rather than lab-a; jobs are submitted with this exact "
                    "shareIdentifier",
                )


def _overlap(a: str, b: str) -> bool:
    if a == b:
        return True
    if a.endswith("*") and b.startswith(a[:-1]):
        return True
    return b.endswith("*") and a.startswith(b[:-1])


@rule("BF402", Level.ERROR, "two fair-share identifiers of a policy overlap")
def share_identifiers_disjoint(env: Environment) -> Iterator[Finding]:
    for key, policy in env.scheduling_policies.items():
        ids = [s.identifier for s in policy.shares]
        for j, later in enumerate(ids):
            for earlier in ids[:j]:
                if _overlap(earlier, later):
                    yield Finding(
                        ("scheduling_policies", key, "shares", j, "identifier"),
                        f"share identifier '{later}' overlaps '{earlier}' in the same policy",
                        "AWS rejects identifiers that match the same jobs; make the prefixes "
                        "distinct or merge the shares",
                    )
                    break


# --- job queues ------------------------------------------------------------------------------


@rule("BF406", Level.ERROR, "a job queue lists more than 3 compute environments")
def queue_compute_environment_count(env: Environment) -> Iterator[Finding]:
    for key, queue in env.job_queues.items():
        count = len(queue.compute_environments)
        if count > MAX_QUEUE_COMPUTE_ENVIRONMENTS:
            yield Finding(
                ("job_queues", key, "compute_environments", MAX_QUEUE_COMPUTE_ENVIRONMENTS),
                f"job queue '{key}' lists {count} compute environments; AWS allows 1 to 3",
                "split the queue, or merge compute environments that differ only in instance types",
            )


@rule("BF407", Level.ERROR, "a job queue lists the same compute environment twice")
def queue_compute_environments_unique(env: Environment) -> Iterator[Finding]:
    for key, queue in env.job_queues.items():
        seen: set[str] = set()
        for i, ce in enumerate(queue.compute_environments):
            if ce in seen:
                yield Finding(
                    ("job_queues", key, "compute_environments", i),
                    f"job queue '{key}' lists compute environment '{ce}' twice",
                    "each compute environment can appear once; remove the repeat",
                )
            seen.add(ce)


@rule("BF408", Level.ERROR, "a job queue mixes EC2/SPOT with FARGATE compute environments")
def queue_platforms_not_mixed(env: Environment) -> Iterator[Finding]:
    for key, queue in env.job_queues.items():
        kinds = {
            ce: _is_fargate_ce(env, ce)
            for ce in queue.compute_environments
            if _is_fargate_ce(env, ce) is not None
        }
        if len(set(kinds.values())) > 1:
            fargate = [ce for ce, f in kinds.items() if f]
            ec2 = [ce for ce, f in kinds.items() if not f]
            yield Finding(
                ("job_queues", key, "compute_environments"),
                f"job queue '{key}' mixes EC2/SPOT ({', '.join(ec2)}) with Fargate "
                f"({', '.join(fargate)}) compute environments",
                "AWS rejects the queue; make one queue per platform",
            )


@rule("BF409", Level.ERROR, "a job queue mixes compute environments of different architectures")
def queue_single_architecture(env: Environment) -> Iterator[Finding]:
    for key, queue in env.job_queues.items():
        arch_of: dict[str, str] = {}
        for ce_key in queue.compute_environments:
            ce = env.compute_environments.get(ce_key)
            if ce is None or ce.is_fargate or ce.is_unmanaged:
                continue
            found = architectures(ce.instance_types or [OPTIMAL])
            if len(found) == 1:  # a CE that mixes architectures is the compute rules' finding
                arch_of[ce_key] = next(iter(found))
        if len(set(arch_of.values())) > 1:
            detail = ", ".join(f"{ce} ({arch})" for ce, arch in arch_of.items())
            yield Finding(
                ("job_queues", key, "compute_environments"),
                f"job queue '{key}' mixes architectures: {detail}",
                "a job's image runs on one architecture; use one queue per architecture",
            )


@rule("BF411", Level.WARNING, "a job state time-limit action names an unknown reason")
def time_limit_reason_known(env: Environment) -> Iterator[Finding]:
    for key, queue in env.job_queues.items():
        for i, action in enumerate(queue.time_limit_actions):
            if action.reason not in KNOWN_TIME_LIMIT_REASONS:
                yield Finding(
                    ("job_queues", key, "time_limit_actions", i, "reason"),
                    f"'{action.reason}' is not a reason AWS Batch reports for RUNNABLE jobs, "
                    "so this action may never fire",
                    "known reasons: " + ", ".join(KNOWN_TIME_LIMIT_REASONS),
                )


@rule("BF412", Level.ERROR, "more than 50 job queues (a per-region quota AWS never raises)")
def queue_count(env: Environment) -> Iterator[Finding]:
    """AWS Batch's 50 job queues per Region is among the quotas that "can't be changed"
    (https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html)."""
    if len(env.job_queues) > MAX_QUEUES_PER_REGION:
        yield Finding(
            ("job_queues",),
            f"{len(env.job_queues)} job queues exceed AWS Batch's quota of 50 per region, "
            "which cannot be raised: the apply would fail part-way",
            "merge queues (a fair-share policy can separate teams on one queue)",
        )


# --- scheduling policies ---------------------------------------------------------------------


@rule("BF417", Level.ERROR, "a fair-share policy has more than 500 shares")
def share_count(env: Environment) -> Iterator[Finding]:
    for key, policy in env.scheduling_policies.items():
        if len(policy.shares) > MAX_SHARES:
            yield Finding(
                ("scheduling_policies", key, "shares"),
                f"scheduling policy '{key}' has {len(policy.shares)} shares; AWS allows 500",
                "group identifiers with a trailing '*'",
            )


# --- job definitions: resources --------------------------------------------------------------


def _resources(env: Environment, key: str) -> Iterator[tuple[Path, JobDefinition]]:
    """Every set of resources job ``key`` declares, with the path they are written at: the job
    itself, or each node range as it runs (job-level keys are the ranges' defaults). Each value
    is judged where it is written, so a job-level value that ranges inherit is reported once.
    A multi-container job's containers are judged by their summed task size (BF423)."""
    job = env.job(key)
    base: Path = ("job_definitions", key)
    if job.nodes is None:
        if job.containers is None:
            yield base, job
        return
    yield base, job
    for i in range(len(job.nodes.ranges)):
        yield (*base, "nodes", "ranges", i), rng_view(job, i)


def rng_view(job: JobDefinition, index: int) -> JobDefinition:
    """Node range ``index`` with only its own resource keys (so the job's are not judged
    twice)."""
    assert job.nodes is not None
    rng = job.nodes.ranges[index]
    return job.model_copy(update={"vcpus": rng.vcpus, "memory": rng.memory, "gpus": rng.gpus or 0})


@rule("BF420", Level.ERROR, "an EC2 job asks for a fractional or zero number of vCPUs")
def ec2_vcpus_whole(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        for path, job in _resources(env, key):
            vcpus = job.vcpus
            if vcpus is None or _platform(job) != "EC2":
                continue
            if vcpus < 1 or not float(vcpus).is_integer():
                yield Finding(
                    (*path, "vcpus"),
                    f"job definition '{key}' runs on EC2 and asks for {vcpus:g} vCPUs; EC2 "
                    "jobs take a whole number of at least 1",
                    "round up to a whole number, or set platform: FARGATE for fractional vCPUs",
                )


@rule("BF421", Level.ERROR, "an EC2 job asks for less than 4 MiB of memory")
def ec2_memory_minimum(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        for path, job in _resources(env, key):
            if (
                _platform(job) == "EC2"
                and job.memory is not None
                and job.memory < MIN_EC2_MEMORY_MIB
            ):
                yield Finding(
                    (*path, "memory"),
                    f"job definition '{key}' asks for {job.memory} MiB; the minimum is 4 MiB",
                    "memory is MiB when written as a number; write '512 MiB' or '2 GiB' to be "
                    "clear",
                )


@rule("BF422", Level.ERROR, "GPUs are requested on Fargate, or a negative GPU count")
def gpus_ec2_only(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        for path, job in _resources(env, key):
            if job.gpus < 0:
                yield Finding(
                    (*path, "gpus"),
                    f"job definition '{key}' asks for {job.gpus} GPUs",
                    "use 0 or more",
                )
            elif job.gpus > 0 and _platform(job) == "FARGATE":
                yield Finding(
                    (*path, "gpus"),
                    f"job definition '{key}' runs on Fargate, which has no GPUs",
                    "run it on EC2 with a GPU compute environment, or remove gpus",
                )
        job = env.job(key)
        for name, container in sorted((job.containers or {}).items()):
            if container.gpus > 0 and _platform(job) == "FARGATE":
                yield Finding(
                    ("job_definitions", key, "containers", name, "gpus"),
                    f"container '{name}' of job definition '{key}' runs on Fargate, which has "
                    "no GPUs",
                    "run the job on EC2 with a GPU compute environment, or remove gpus",
                )


@rule("BF423", Level.ERROR, "a Fargate job's vCPU/memory pair is not a Fargate size")
def fargate_size_valid(env: Environment) -> Iterator[Finding]:
    """A multi-container job's task is sized by the sum of its containers' vCPUs and memory,
    which must be a Fargate size like a single container's (Batch: "Fargate ... resource
    requirements are summed across containers",
    https://docs.aws.amazon.com/batch/latest/userguide/multi-container-jobs.html)."""
    for key in env.job_definitions:
        job = env.job(key)
        size = task_size(env, key)
        if _platform(job) != "FARGATE" or size is None:
            continue
        what = (
            f"Fargate job definition '{key}' (its containers together)"
            if size.summed
            else f"Fargate job definition '{key}'"
        )
        allowed = FARGATE_MEMORY_MIB.get(size.vcpus)
        if allowed is None:
            yield Finding(
                size.path if size.summed else (*size.path, "vcpus"),
                f"{what} asks for {size.vcpus:g} vCPUs",
                "Fargate vCPUs: " + ", ".join(vcpu_value(v) for v in FARGATE_MEMORY_MIB),
            )
        elif size.memory not in allowed:
            yield Finding(
                size.path if size.summed else (*size.path, "memory"),
                f"{what} asks for {size.memory} MiB with "
                f"{vcpu_value(size.vcpus)} vCPU, which is not a Fargate size",
                f"with {vcpu_value(size.vcpus)} vCPU Fargate takes (MiB): "
                + ", ".join(str(m) for m in allowed),
            )


@rule("BF424", Level.ERROR, "a Fargate job with 8 or more vCPUs pins a platform older than 1.4.0")
def fargate_large_platform(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        job = env.job(key)
        size = task_size(env, key)
        if (
            _platform(job) == "FARGATE"
            and size is not None
            and size.vcpus in FARGATE_LARGE_VCPUS
            and not _platform_at_least(job.platform_version, FARGATE_MIN_PLATFORM)
        ):
            yield Finding(
                size.path if size.summed else (*size.path, "vcpus"),
                f"Fargate job definition '{key}' asks for {size.vcpus:g} vCPUs, which needs "
                f"platform 1.4.0 or LATEST, not {job.platform_version}",
                "set platform_version: LATEST (or remove it)",
            )


@rule("BF425", Level.ERROR, "a Fargate job mounts EFS on a platform older than 1.4.0")
def fargate_efs_platform(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        job = env.job(key)
        if _platform(job) != "FARGATE" or _platform_at_least(
            job.platform_version, FARGATE_MIN_PLATFORM
        ):
            continue
        for i, volume in enumerate(job.volumes):
            if volume.efs is not None:
                yield Finding(
                    ("job_definitions", key, "volumes", i),
                    f"Fargate job definition '{key}' mounts EFS, which needs platform 1.4.0 "
                    f"or LATEST, not {job.platform_version}",
                    "set platform_version: LATEST (or remove it)",
                )


@rule("BF426", Level.ERROR, "a Fargate job asks for a privileged container")
def fargate_not_privileged(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        if _platform(env.job(key)) == "FARGATE" and _own(env, key).privileged:
            yield Finding(
                ("job_definitions", key, "privileged"),
                f"job definition '{key}' runs on Fargate, which does not run privileged containers",
                "remove privileged, or run the job on EC2",
            )


@rule("BF427", Level.ERROR, "a Fargate job mounts a host path")
def fargate_no_host_volumes(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        job = env.job(key)
        if _platform(job) != "FARGATE":
            continue
        for i, volume in enumerate(job.volumes):
            if volume.host_path is not None:
                yield Finding(
                    ("job_definitions", key, "volumes", i, "host_path"),
                    f"job definition '{key}' runs on Fargate, which has no host volumes",
                    "use an EFS volume or ephemeral_storage, or run the job on EC2",
                )


FARGATE_ONLY_SETTINGS = ("assign_public_ip", "ephemeral_storage", "platform_version")


@rule("BF428", Level.ERROR, "an EC2 job sets a Fargate-only key")
def fargate_only_settings(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        if _platform(env.job(key)) != "EC2":
            continue
        own = _own(env, key)
        for name in FARGATE_ONLY_SETTINGS:
            if getattr(own, name) is not None:
                yield Finding(
                    ("job_definitions", key, name),
                    f"job definition '{key}' runs on EC2, where {name} does not apply",
                    "remove it, or set platform: FARGATE",
                )


# --- job definitions: parameters -------------------------------------------------------------


def _first_use(job: JobDefinition, name: str) -> int:
    for i, arg in enumerate(job.command):
        if name in referenced_parameters_in(arg):
            return i
    return 0


@rule("BF430", Level.INFO, "a command uses Ref:: without a default: a required submit parameter")
def required_submit_parameters(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        job = env.job(key)
        for name in required_parameters(job):
            yield Finding(
                ("job_definitions", key, "command", _first_use(job, name)),
                f"job definition '{key}' needs parameter '{name}' at submit time "
                f"(Ref::{name} has no default)",
                f"submit with --parameters {name}=..., or add a default under parameters",
            )


@rule("BF431", Level.WARNING, "a parameter default is never referenced by the command")
def unused_parameter(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        job = env.job(key)
        used = {name for arg in job.command for name in referenced_parameters_in(arg)}
        for name in job.parameters:
            if name not in used:
                yield Finding(
                    ("job_definitions", key, "parameters", name),
                    f"parameter '{name}' of job definition '{key}' is not used by its command",
                    f"reference it as Ref::{name} in command, or remove it",
                )


# --- job definitions: retry and timeout ------------------------------------------------------


@rule("BF433", Level.ERROR, "more than 5 retry on_exit rules")
def on_exit_count(env: Environment) -> Iterator[Finding]:
    for path, retry in _setting_sources(env, "retry"):
        if len(retry.on_exit) > MAX_ON_EXIT_RULES:
            yield Finding(
                (*path, "on_exit", MAX_ON_EXIT_RULES),
                f"{len(retry.on_exit)} on_exit rules; AWS evaluates at most 5",
                "merge rules with a trailing '*' in their patterns",
            )


@rule("BF434", Level.ERROR, "a retry on_exit rule has no condition (exit_code, reason, status)")
def on_exit_has_matcher(env: Environment) -> Iterator[Finding]:
    for path, retry in _setting_sources(env, "retry"):
        for i, r in enumerate(retry.on_exit):
            if r.exit_code is None and r.reason is None and r.status_reason is None:
                yield Finding(
                    (*path, "on_exit", i),
                    "an on_exit rule needs at least one of exit_code, reason, status_reason",
                    "use reason: '*' to match every failure",
                )


def _pattern_problem(value: str, pattern: re.Pattern[str], allowed: str) -> str | None:
    if not value:
        return "is empty"
    if len(value) > MAX_PATTERN_LENGTH:
        return f"is {len(value)} characters long (at most 512)"
    if "*" in value[:-1]:
        return "has '*' before its end (only a trailing '*' is allowed)"
    if not pattern.match(value):
        return f"may contain only {allowed}"
    return None


@rule("BF435", Level.ERROR, "a retry on_exit pattern is malformed")
def on_exit_patterns(env: Environment) -> Iterator[Finding]:
    fields = (
        ("exit_code", EXIT_CODE_PATTERN, "digits"),
        ("reason", REASON_PATTERN, "letters, digits, '.', ':' and spaces"),
        ("status_reason", REASON_PATTERN, "letters, digits, '.', ':' and spaces"),
    )
    for path, retry in _setting_sources(env, "retry"):
        for i, r in enumerate(retry.on_exit):
            for name, pattern, allowed in fields:
                value = getattr(r, name)
                if value is None:
                    continue
                problem = _pattern_problem(value, pattern, allowed)
                if problem:
                    yield Finding(
                        (*path, "on_exit", i, name),
                        f"on_exit {name} '{value[:60]}' {problem}",
                        f"{name} takes {allowed}, optionally ending in '*' (prefix match)",
                    )


# --- job definitions: environment, volumes, tags, logs ---------------------------------------


@rule("BF437", Level.ERROR, "an environment variable or secret name starts with AWS_BATCH")
def reserved_variable_names(env: Environment) -> Iterator[Finding]:
    hint = "AWS_BATCH* variables are set by AWS Batch itself; rename the variable"
    for path, variables in _setting_sources(env, "environment"):
        for name in variables:
            if name.startswith(RESERVED_ENV_PREFIX):
                yield Finding((*path, name), f"environment variable '{name}' is reserved", hint)
    for key, job in env.job_definitions.items():
        for name in job.secrets:
            if name.startswith(RESERVED_ENV_PREFIX):
                yield Finding(
                    ("job_definitions", key, "secrets", name),
                    f"secret variable '{name}' is reserved",
                    hint,
                )


@rule("BF438", Level.ERROR, "an EFS volume with an access point or IAM is not encrypted in transit")
def efs_transit_encryption(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        for i, volume in enumerate(job.volumes):
            if volume.efs is None or not (volume.access_point or volume.iam):
                continue
            path: Path = ("job_definitions", key, "volumes", i)
            if volume.transit_encryption is False:
                yield Finding(
                    (*path, "transit_encryption"),
                    "an EFS volume with an access point or IAM authorization needs transit "
                    "encryption",
                    "remove transit_encryption: false (it is on by default here)",
                )
            if volume.access_point and volume.root_directory not in (None, "/"):
                yield Finding(
                    (*path, "root_directory"),
                    "with an EFS access point the root directory comes from the access point",
                    "remove root_directory (or set it to '/')",
                )


EFS_ONLY_OPTIONS = ("access_point", "root_directory", "transit_encryption")


@rule("BF439", Level.ERROR, "a host volume sets EFS-only options")
def host_volume_efs_options(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        for i, volume in enumerate(job.volumes):
            if volume.host_path is None:
                continue
            given = [n for n in EFS_ONLY_OPTIONS if getattr(volume, n) is not None]
            if volume.iam:
                given.append("iam")
            for name in given:
                yield Finding(
                    ("job_definitions", key, "volumes", i, name),
                    f"{name} applies to EFS volumes only, not to host_path",
                    "remove it, or mount the file system with efs: fs-...",
                )


@rule("BF440", Level.ERROR, "a job carries more than 50 tags")
def tag_count(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        job = env.job(key)
        tags = {**env.tags, **(job.tags or {}), TAG_ENVIRONMENT: "", TAG_KEY: ""}
        if len(tags) > MAX_TAGS:
            path: Path = ("job_definitions", key, "tags") if job.tags else ("tags",)
            yield Finding(
                path,
                f"job definition '{key}' would carry {len(tags)} tags (environment tags, its "
                "own and batchform's two); AWS allows 50 on a resource and fails jobs that "
                "exceed 50 with propagated tags",
                "drop some tags, or move them off job definitions",
            )


@rule("BF441", Level.ERROR, "log_retention_days is not a value CloudWatch Logs accepts")
def log_retention_valid(env: Environment) -> Iterator[Finding]:
    for path, days in _setting_sources(env, "log_retention_days"):
        if days not in LOG_RETENTION_DAYS:
            closest = sorted(LOG_RETENTION_DAYS[1:], key=lambda d: abs(d - days))[:2]
            yield Finding(
                path,
                f"log_retention_days {days} is not a CloudWatch Logs retention period",
                f"nearest allowed: {', '.join(str(d) for d in sorted(closest))} (allowed: "
                + ", ".join(str(d) for d in LOG_RETENTION_DAYS[1:])
                + "; 0 keeps logs forever)",
            )


@rule("BF442", Level.WARNING, "an environment variable has an empty value (Batch drops it)")
def empty_environment_value(env: Environment) -> Iterator[Finding]:
    for path, variables in _setting_sources(env, "environment"):
        for name, value in variables.items():
            if value == "":
                yield Finding(
                    (*path, name),
                    f"environment variable '{name}' is empty; AWS Batch drops empty variables, "
                    "so the container will not see it at all",
                    "give it a value, or remove it",
                )


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))  # ASCII output: characters = bytes


def _size_estimate(value: Any) -> Any:
    """Container properties with every reference replaced by a worst-case-length string."""
    if isinstance(value, Expr):
        return REFERENCE_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _size_estimate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_size_estimate(v) for v in value]
    return value


@rule("BF443", Level.ERROR, "a job definition is larger than the 24 KiB AWS accepts")
def job_definition_size(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        job = env.job(key)
        if job.type == "multinode" and job.nodes is None:
            continue  # no node properties to measure: BF540 reports the missing `nodes`
        document, properties = properties_document(env, key)
        body = {
            document: properties,
            "parameters": job.parameters,
            "tags": job.tags or {},
        }
        text = _COMPACT_JSON.encode(body)
        # Fast path: even if every string were a reference, the worst case stays under the limit.
        bound = len(text) + text.count('"') // 2 * len(REFERENCE_PLACEHOLDER)
        if bound <= MAX_JOB_DEFINITION_BYTES:
            continue
        body[document] = _size_estimate(body[document])
        size = len(_COMPACT_JSON.encode(body))
        if size > MAX_JOB_DEFINITION_BYTES:
            yield Finding(
                ("job_definitions", key),
                f"job definition '{key}' registers about {size // 1024} KiB; AWS accepts 24 KiB",
                "move large environment values to S3 or SSM and read them at start-up",
            )


# --- placement -------------------------------------------------------------------------------


WANTED_CES = {
    "EC2": "EC2 or SPOT",
    "FARGATE": "FARGATE or FARGATE_SPOT",
    "EKS": "EKS (with `eks:`)",
}


@rule("BF450", Level.WARNING, "no job queue can run a job definition's platform")
def job_has_queue(env: Environment) -> Iterator[Finding]:
    queued = [
        env.compute_environments[ce]
        for queue in env.job_queues.values()
        for ce in queue.compute_environments
        if ce in env.compute_environments
    ]
    runnable: dict[str | None, bool] = {}  # by platform: the answer depends on nothing else
    for key in env.job_definitions:
        job = env.job(key)
        if job.platform not in runnable:
            runnable[job.platform] = any(runs_on(job, ce) for ce in queued)
        if not runnable[job.platform]:
            wanted = WANTED_CES[_platform(job)]
            path: Path = (
                ("job_definitions", key, "platform")
                if _own(env, key).platform is not None
                else ("job_definitions", key)
            )
            yield Finding(
                path,
                f"job definition '{key}' runs on {_platform(job)} but no job queue has a "
                f"{wanted} compute environment; its jobs could not be submitted anywhere here",
                f"add a queue with a {wanted} compute environment, or change the platform",
            )
