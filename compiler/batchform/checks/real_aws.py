"""Rules for what only real AWS shows: files that deploy cleanly on the emulator and then fail,
or quietly do less than asked, on the first production day (docs/real-aws.md has one section per
behaviour, with its AWS or provider source).

Codes: BF350-BF359 (Terraform, provider, compute), BF455-BF459 (jobs), BF486-BF489 (instance
types and capacity).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from batchform import derive as common
from batchform import instance_types, refs, requirements
from batchform.checks import Finding, rule
from batchform.checks.capacity import _Candidates
from batchform.diagnostics import Level, Path
from batchform.model import Environment, JobDefinition, Retry, RetryRule

# --- Terraform and provider versions ---------------------------------------------------------


@rule("BF350", Level.ERROR, "terraform.aws_provider allows a provider older than batchform needs")
def provider_constraint_floor(env: Environment) -> Iterator[Finding]:
    constraint = env.terraform.aws_provider
    floor = requirements.provider_floor()
    try:
        lowest = requirements.allows_below(constraint, floor)
    except requirements.ConstraintError:
        return  # BF470 reports malformed constraints
    if lowest is None:
        return
    yield Finding(
        ("terraform", "aws_provider"),
        f"terraform.aws_provider '{constraint}' allows AWS provider "
        f"{requirements.format_version(lowest)}, but the generated module uses arguments that "
        f"first appear in {floor} (job_state_time_limit_action, compute_environment_order, "
        "update_policy, ...); `terraform init` could pick a provider that rejects them",
        f"use '{requirements.provider_default()}' (the default), or any constraint whose "
        f"lowest version is {floor} or newer",
    )


@rule("BF355", Level.ERROR, "terraform.aws_provider admits more than one major provider version")
def provider_constraint_one_major(env: Environment) -> Iterator[Finding]:
    """Provider 6 renamed arguments the module writes (compiler/batchform/requirements.py
    ``PROVIDER6_RENAMED``), so output for 5.x fails on 6.x and the other way round; a constraint
    admitting both lets ``terraform init`` pick the newest, whichever the output was made for."""
    constraint = env.terraform.aws_provider
    try:
        majors = requirements.admitted_majors(constraint)
    except requirements.ConstraintError:
        return  # BF470 reports malformed constraints
    known = [m for m in majors if m in requirements.PROVIDER_MAJORS]
    later = [m for m in majors if m > max(requirements.PROVIDER_MAJORS)]
    if len(known) <= 1 and not (known and later):
        if later and not known:
            yield Finding(
                ("terraform", "aws_provider"),
                f"terraform.aws_provider '{constraint}' admits only AWS provider "
                f"{later[0]}.x or later, which batchform does not generate for",
                f"use '{requirements.provider_default()}' or '~> 6.0'",
            )
        return
    listed = " and ".join(f"{m}.x" for m in known) + (" and later majors" if later else "")
    yield Finding(
        ("terraform", "aws_provider"),
        f"terraform.aws_provider '{constraint}' admits AWS provider {listed}; each major names "
        "some arguments differently (6.x renamed compute_environment_name_prefix to "
        "name_prefix), so `terraform init` could pick one the module was not written for",
        f"use '{requirements.provider_default()}' (the default, provider 5) or '~> 6.0' "
        "(output for provider 6)",
    )


@rule("BF351", Level.ERROR, "terraform.required_version allows a Terraform without use_lockfile")
def lockfile_needs_terraform_1_10(env: Environment) -> Iterator[Finding]:
    constraint = env.terraform.required_version
    if constraint is None or not common.uses_lockfile(env):
        return
    try:
        lowest = requirements.allows_below(constraint, requirements.TERRAFORM_LOCKFILE)
    except requirements.ConstraintError:
        return
    if lowest is None:
        return
    yield Finding(
        ("terraform", "required_version"),
        f"terraform.required_version '{constraint}' allows Terraform "
        f"{requirements.format_version(lowest)}, but the S3 backend locks state with "
        f"use_lockfile, which Terraform before {requirements.TERRAFORM_LOCKFILE} rejects",
        f"require '>= {requirements.TERRAFORM_LOCKFILE}' (or leave required_version out: "
        "batchform then requires it), or name a DynamoDB lock table in "
        "terraform.backend.s3.dynamodb_table (deprecated from Terraform 1.11)",
    )


@rule("BF354", Level.INFO, "Terraform 1.10 is required because the S3 backend uses a lock file")
def lockfile_raises_terraform_default(env: Environment) -> Iterator[Finding]:
    if env.terraform.required_version is not None or not common.uses_lockfile(env):
        return
    yield Finding(
        ("terraform", "backend", "s3"),
        "the S3 backend locks state with use_lockfile (no dynamodb_table), so the generated "
        f"module requires Terraform >= {requirements.TERRAFORM_LOCKFILE} instead of 1.5",
        "set terraform.required_version to make it explicit, or name a dynamodb_table to keep "
        "older Terraform (the DynamoDB lock is deprecated from Terraform 1.11)",
    )


# --- compute environment update policy -------------------------------------------------------


def _ces_running(env: Environment) -> dict[str, list[str]]:
    """compute environment key -> job definition keys that can run on it (via any queue)."""
    candidates = _Candidates(env)
    running: dict[str, list[str]] = {}
    for key in env.job_definitions:
        for ce_key in candidates(env.job(key)):
            running.setdefault(ce_key, []).append(key)
    return running


# UpdatePolicy.jobExecutionTimeoutMinutes: 1-360 as the provider validates it
# (validation.IntBetween(1, 360) in internal/service/batch/compute_environment.go); the Batch API
# reference (API_UpdatePolicy) now allows up to 7200, but the plan fails past 360.
MAX_UPDATE_TIMEOUT_SECONDS = 360 * 60


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


@rule("BF352", Level.WARNING, "update_policy.job_execution_timeout is shorter than a job timeout")
def update_timeout_shorter_than_jobs(env: Environment) -> Iterator[Finding]:
    if not any(ce.update_policy for ce in env.compute_environments.values()):
        return
    running = _ces_running(env)
    for key, ce in env.compute_environments.items():
        if ce.update_policy is None:
            continue
        timed = [(env.job(j).timeout, j) for j in running.get(key, [])]
        longest = max(((t, j) for t, j in timed if t is not None), default=None)
        limit = ce.update_policy.job_execution_timeout
        if longest is None or longest[0] <= limit:
            continue
        seconds, job_key = longest
        if seconds <= MAX_UPDATE_TIMEOUT_SECONDS:
            hint = (
                f"raise job_execution_timeout to {_duration(seconds)}, or accept that an "
                "update stops such jobs (they are retried if attempts allow)"
            )
        else:
            hint = (
                "AWS waits at most 6h: use job_execution_timeout: 6h and schedule changes "
                "to this compute environment between runs, or make the job resume from a "
                "checkpoint when retried"
            )
        yield Finding(
            ("compute_environments", key, "update_policy", "job_execution_timeout"),
            f"compute environment '{key}' gives running jobs {_duration(limit)} when AWS "
            f"updates its infrastructure, but job definition '{job_key}' may run for "
            f"{_duration(seconds)} there; an update would stop it before its own timeout",
            hint,
        )


@rule("BF353", Level.WARNING, "update_policy is set but the service role cannot update in place")
def update_policy_needs_service_linked_role(env: Environment) -> Iterator[Finding]:
    if env.iam.service_role == refs.SERVICE_LINKED:
        return
    for key, ce in env.compute_environments.items():
        if ce.update_policy is None:
            continue
        yield Finding(
            ("compute_environments", key, "update_policy"),
            f"compute environment '{key}' sets update_policy, but infrastructure updates need "
            "AWS Batch's service-linked role and iam.service_role is "
            f"'{env.iam.service_role}'; every change replaces the environment instead, so the "
            "policy never applies",
            "use iam.service_role: service-linked (the default), or remove update_policy",
        )


# --- retries that catch Spot reclaims --------------------------------------------------------

# The status reason a job gets when its capacity is reclaimed, and AWS's pattern for it.
# EC2: "Host EC2 (instance i-...) terminated." (Spot reclaim, scale-in, hardware failure); AWS's
# retry example matches it with onStatusReason "Host EC2*"
# (https://aws.amazon.com/blogs/compute/introducing-retry-strategies-for-aws-batch/).
# Fargate Spot: ECS stops the task with "Your Spot Task was interrupted."
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html).
RECLAIM: dict[str, tuple[str, str]] = {
    "SPOT": ("Host EC2 (instance i-0123456789abcdef0) terminated.", "Host EC2*"),
    "FARGATE_SPOT": ("Your Spot Task was interrupted.", "Your Spot Task was interrupted*"),
}


def glob_matches(pattern: str, text: str) -> bool:
    """AWS's evaluateOnExit patterns: exact text, or a prefix followed by one trailing ``*``."""
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return pattern == text


def _matches_everything(r: RetryRule) -> bool:
    given = [v for v in (r.exit_code, r.reason, r.status_reason) if v is not None]
    return bool(given) and all(v == "*" for v in given)


def _catches_reclaim(r: RetryRule, status_reason: str) -> bool:
    """True when the rule matches a job whose capacity was reclaimed: such a job has that
    status reason and no exit code; ``reason`` can only match as a catch-all. (AWS matches a
    rule when every condition it gives matches.)"""
    if r.status_reason is None or not glob_matches(r.status_reason, status_reason):
        return False
    return r.exit_code is None and r.reason in (None, "*")


def _exits_before_reclaim_retry(retry: Retry, status_reason: str) -> int | None:
    """Index of the catch-all EXIT that wins over a reclaim, else ``None``. AWS evaluates
    on_exit in order and takes the first match; when none matches, the job is retried."""
    for i, r in enumerate(retry.on_exit):
        if _catches_reclaim(r, status_reason):
            return None if r.action == "RETRY" else i
        if r.action == "EXIT" and _matches_everything(r):
            return i
    return None


def _retry_path(env: Environment, key: str) -> Path:
    own = env.job_definitions[key].retry
    return ("job_definitions", key, "retry") if own is not None else ("job_defaults", "retry")


@rule("BF455", Level.WARNING, "a job that can run on Spot exits on host loss instead of retrying")
def spot_reclaim_not_retried(env: Environment) -> Iterator[Finding]:
    if not any(ce.type in RECLAIM for ce in env.compute_environments.values()):
        return
    candidates = _Candidates(env)
    reported: dict[Path, list[str]] = {}
    for key in env.job_definitions:
        job = env.job(key)
        if job.retry is None or job.retry.attempts < 2:
            continue
        ces = candidates(job)
        spot = [k for k in ces if env.compute_environments[k].type in RECLAIM]
        if not spot:
            continue
        status_reason, pattern = RECLAIM[env.compute_environments[spot[0]].type]
        index = _exits_before_reclaim_retry(job.retry, status_reason)
        if index is None:
            continue
        path = (*_retry_path(env, key), "on_exit", index)
        reported.setdefault(path, []).append(key)
        if len(reported[path]) > 1:
            continue  # one finding per written on_exit list (job_defaults is shared)
        yield Finding(
            path,
            f"job definition '{key}' can run on Spot ({', '.join(spot)}), but this catch-all "
            "EXIT comes before any RETRY on the status reason AWS sets when Spot capacity is "
            f"reclaimed ('{status_reason}'); a reclaim would fail the job instead of retrying "
            "it",
            f'put {{status_reason: "{pattern}", action: RETRY}} before it (exit code 137 is '
            "a SIGKILL, usually the out-of-memory killer, not a reclaim)",
        )


# --- fair share ------------------------------------------------------------------------------


def _queues_for(env: Environment, job: JobDefinition) -> list[str]:
    """Queues with at least one compute environment that can run ``job``."""
    fargate = job.platform == "FARGATE"
    return [
        k
        for k, q in env.job_queues.items()
        if any(
            c in env.compute_environments and env.compute_environments[c].is_fargate == fargate
            for c in q.compute_environments
        )
    ]


@rule("BF456", Level.WARNING, "scheduling_priority on a job no fair-share queue can run")
def scheduling_priority_without_fair_share(env: Environment) -> Iterator[Finding]:
    for key, own in env.job_definitions.items():
        if own.scheduling_priority is None:
            continue
        queues = _queues_for(env, env.job(key))
        if not queues or any(env.job_queues[q].scheduling_policy for q in queues):
            continue
        yield Finding(
            ("job_definitions", key, "scheduling_priority"),
            f"job definition '{key}' sets scheduling_priority, but every queue that can run it "
            f"({', '.join(queues)}) is first-in-first-out; AWS Batch uses the priority only on "
            "queues with a scheduling policy",
            "give one of those queues a scheduling_policy, or remove scheduling_priority",
        )


# --- secrets ---------------------------------------------------------------------------------

# A complete Secrets Manager ARN ends its secret name with "-" and six random characters
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html
# and the ECS guide, "Pass Secrets Manager secrets through Amazon ECS environment variables").
_SECRET_ARN = re.compile(
    r"^(?P<arn>arn:[\w-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:(?P<name>[\w/+=.@-]+))"
    r"(?P<rest>:[^:\s]*:[^:\s]*:[^:\s]*)?\Z"
)
_COMPLETE_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}\Z")


def is_partial_secret_arn(value_from: str) -> bool:
    match = _SECRET_ARN.match(value_from)
    return match is not None and _COMPLETE_SUFFIX.search(match["name"]) is None


@rule("BF457", Level.INFO, "a secret is given as a partial Secrets Manager ARN")
def partial_secret_arn(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        for name, value_from in job.secrets.items():
            if not is_partial_secret_arn(value_from):
                continue
            match = _SECRET_ARN.match(value_from)
            assert match is not None
            yield Finding(
                ("job_definitions", key, "secrets", name),
                f"secret '{name}' of job definition '{key}' is a partial ARN (no '-XXXXXX' "
                "suffix); AWS resolves it only while exactly one secret has that name, and "
                "a secret whose own name ends in '-' and six characters is mistaken for "
                "another",
                f"use the complete ARN: {match['arn']}-XXXXXX{match['rest'] or ''} with the "
                "suffix from `aws secretsmanager describe-secret --secret-id "
                f"{match['name']} --query ARN` (the generated policy allows either form)",
            )


# --- instance types: sizes and offerings -----------------------------------------------------
# compiler/batchform/data/instance_types.json is generated from EC2 DescribeInstanceTypes and
# DescribeInstanceTypeOfferings (compiler/batchform/data/generate_instance_types.py).
# CreateComputeEnvironment
# accepts any type name; a type the region does not offer fails only when Batch scales the
# environment up, leaving the CE INVALID or jobs RUNNABLE.


def _ec2_instance_entries(env: Environment) -> Iterator[tuple[str, int, str]]:
    for key, ce in env.compute_environments.items():
        if ce.is_fargate:
            continue
        for i, entry in enumerate(ce.instance_types or []):
            if instance_types.parse(entry) is not None:
                yield key, i, entry


@rule("BF486", Level.ERROR, "an instance type is not offered in the file's region")
def instance_type_not_in_region(env: Environment) -> Iterator[Finding]:
    offerings = instance_types.region_offerings(env.region)
    if offerings is None:
        return
    for key, i, entry in _ec2_instance_entries(env):
        family = instance_types.known_family(entry)
        if family is None or not family.offerings_known or not _size_known(entry, family):
            continue
        if offerings.offers(entry):
            continue
        what = "instance type" if "." in entry else "instance family"
        yield Finding(
            ("compute_environments", key, "instance_types", i),
            f"{what} '{entry}' is not offered in {env.region} (EC2 "
            "DescribeInstanceTypeOfferings); Batch could never launch it there",
            _offered_alternatives(entry, family, offerings),
        )


def _size_known(entry: str, family: instance_types.Family) -> bool:
    parsed = instance_types.parse(entry)
    return parsed is not None and (parsed[1] is None or parsed[1] in family.sizes)


def _offered_alternatives(
    entry: str, family: instance_types.Family, offerings: instance_types.RegionOfferings
) -> str:
    sizes = [s for s in family.sizes if offerings.offers(f"{family.name}.{s}")]
    if "." in entry and sizes:
        return f"sizes of {family.name} offered there: {', '.join(sizes)}"
    return "choose a family the region offers (`aws ec2 describe-instance-type-offerings`)"


@rule("BF487", Level.ERROR, "an instance type names a size its family does not have")
def instance_size_unknown(env: Environment) -> Iterator[Finding]:
    for key, i, entry in _ec2_instance_entries(env):
        family = instance_types.known_family(entry)
        if family is None or _size_known(entry, family):
            continue
        parsed = instance_types.parse(entry)
        assert parsed is not None and parsed[1] is not None
        close = difflib.get_close_matches(parsed[1], list(family.sizes), n=1, cutoff=0.5)
        hint = f"did you mean '{family.name}.{close[0]}'? " if close else ""
        yield Finding(
            ("compute_environments", key, "instance_types", i),
            f"'{entry}' is not an EC2 instance type: {family.name} has no size '{parsed[1]}'",
            hint + f"sizes of {family.name}: {', '.join(family.sizes)}",
        )


@rule("BF488", Level.WARNING, "an instance type is offered in none of the environment's zones")
def instance_type_not_in_zones(env: Environment) -> Iterator[Finding]:
    offerings = instance_types.region_offerings(env.region)
    vpc = env.network.vpc.create
    if offerings is None or vpc is None:
        return
    zones = [z for z in vpc.availability_zones if z in offerings.zones]
    if not zones:
        return
    for key, i, entry in _ec2_instance_entries(env):
        family = instance_types.known_family(entry)
        if family is None or not family.offerings_known or not _size_known(entry, family):
            continue
        if not offerings.offers(entry) or any(offerings.offers(entry, z) for z in zones):
            continue  # BF486 reports what the region lacks
        yield Finding(
            ("compute_environments", key, "instance_types", i),
            f"instance type '{entry}' is offered in {env.region}, but in none of the "
            f"environment's availability zones ({', '.join(zones)}); Batch could not launch it",
            "add a zone that offers it to network.vpc.create.availability_zones, or choose "
            "another type (zone names map to different physical zones per account: check "
            "with `aws ec2 describe-instance-type-offerings --location-type availability-zone`)",
        )
