"""What the generated module needs from Terraform and the AWS provider, and whether a user's
version constraint lets an older one in.

A constraint such as ``~> 5.0`` lets ``terraform init`` pick provider 5.0.0, which has no
``compute_environment_order`` on job queues: the first ``terraform plan`` on a clean machine
(or in CI with an old lock file) fails with "Unsupported block type". So the generated
``required_providers`` states a floor: the first provider release that has every argument
batchform can emit, from the table below (each entry confirmed in the provider's CHANGELOG,
https://github.com/hashicorp/terraform-provider-aws/blob/main/CHANGELOG.md and its
``CHANGELOG_v5`` history). tests/test_requirements.py parses every generated ``.tf`` file and
fails, naming the argument, when the generator emits one the table does not list.

Constraints follow Terraform's syntax (https://developer.hashicorp.com/terraform/language/
expressions/version-constraints): comma-separated ``op version`` terms, ``op`` one of ``=``,
``!=``, ``>``, ``>=``, ``<``, ``<=``, ``~>`` (or none, meaning ``=``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

Version = tuple[int, int, int]

# Everything batchform emits that provider 5.0.0 already had.
PROVIDER_BASELINE = "5.0.0"

# resource (or data source) type -> argument -> first provider version that accepts it.
# Nested block arguments are covered by their top-level block unless listed as "block.arg".
# To extend: add the resource and each argument it emits, with the release whose CHANGELOG
# entry adds it ("resource/aws_x: Add `arg` argument").
PROVIDER_ARGUMENTS: dict[str, dict[str, str]] = {
    "aws_batch_compute_environment": {
        "compute_environment_name": PROVIDER_BASELINE,
        "compute_environment_name_prefix": PROVIDER_BASELINE,
        "compute_resources": PROVIDER_BASELINE,
        "service_role": PROVIDER_BASELINE,
        "state": PROVIDER_BASELINE,
        "tags": PROVIDER_BASELINE,
        "type": PROVIDER_BASELINE,
        # 5.32.0: "resource/aws_batch_compute_environment: Add `update_policy` parameter" (#34353)
        "update_policy": "5.32.0",
        # 4.x: "resource/aws_batch_compute_environment: Add `eks_configuration` configuration
        # block" (#27499), before the 5.0.0 baseline
        "eks_configuration": PROVIDER_BASELINE,
    },
    "aws_batch_job_definition": {
        "container_properties": PROVIDER_BASELINE,
        # 5.44.0: `deregister_on_new_revision` arrived with in-place revisions
        # (hashicorp/terraform-provider-aws PR #35149; issue #36824 dates it to 5.44.0)
        "deregister_on_new_revision": "5.44.0",
        "name": PROVIDER_BASELINE,
        "parameters": PROVIDER_BASELINE,
        "platform_capabilities": PROVIDER_BASELINE,
        "propagate_tags": PROVIDER_BASELINE,
        "retry_strategy": PROVIDER_BASELINE,
        # 5.32.0: "resource/aws_batch_job_definition: Add `scheduling_priority` argument and
        # `arn_prefix` attribute" (#34997)
        "scheduling_priority": "5.32.0",
        "tags": PROVIDER_BASELINE,
        "timeout": PROVIDER_BASELINE,
        "type": PROVIDER_BASELINE,
        "node_properties": PROVIDER_BASELINE,  # multi-node jobs: in every 5.x release
        # 5.63.1: "resource/aws_batch_job_definition: Add `ecs_properties` argument" (#37871),
        # in the same release as job_state_time_limit_action
        "ecs_properties": "5.63.1",
        # in 5.x well before 5.63.1, whose CHANGELOG neighbourhood fixes "a panic when checking
        # `eks_properties` for job updates" (#38716); 5.63.1 is the floor already, so it is
        # listed at that release rather than at an unconfirmed earlier one
        "eks_properties": "5.63.1",
    },
    "aws_batch_job_queue": {
        # 5.40.0: "resource/aws_batch_job_queue: added parameter `compute_environment_order`"
        # (#34750)
        "compute_environment_order": "5.40.0",
        # 5.63.1: "resource/aws_batch_job_queue: Add `job_state_time_limit_action` argument"
        # (#38784)
        "job_state_time_limit_action": "5.63.1",
        "name": PROVIDER_BASELINE,
        "priority": PROVIDER_BASELINE,
        "scheduling_policy_arn": PROVIDER_BASELINE,
        "state": PROVIDER_BASELINE,
        "tags": PROVIDER_BASELINE,
    },
    "aws_batch_scheduling_policy": dict.fromkeys(
        ("fair_share_policy", "name", "tags"), PROVIDER_BASELINE
    ),
    "aws_cloudwatch_log_group": dict.fromkeys(
        ("kms_key_id", "name", "retention_in_days", "tags"), PROVIDER_BASELINE
    ),
    # placement groups a compute environment creates (compiler/batchform/plan/compute.py); no
    # bundled
    # example creates one, so tests/test_requirements.py cannot see them: listed by hand.
    "aws_placement_group": dict.fromkeys(("name", "strategy", "tags"), PROVIDER_BASELINE),
    # efs.tf (compiler/batchform/plan/efs.py): mount targets predate provider 5.
    "aws_efs_mount_target": dict.fromkeys(
        ("file_system_id", "security_groups", "subnet_id"), PROVIDER_BASELINE
    ),
    "aws_default_security_group": dict.fromkeys(("tags", "vpc_id"), PROVIDER_BASELINE),
    # `domain` replaced `vpc = true` in 5.0.0 (the v5 upgrade guide).
    "aws_eip": dict.fromkeys(("domain", "tags"), PROVIDER_BASELINE),
    "aws_iam_instance_profile": dict.fromkeys(("name", "path", "role", "tags"), PROVIDER_BASELINE),
    "aws_iam_role": dict.fromkeys(
        ("assume_role_policy", "description", "name", "path", "permissions_boundary", "tags"),
        PROVIDER_BASELINE,
    ),
    "aws_iam_role_policy": dict.fromkeys(("name", "policy", "role"), PROVIDER_BASELINE),
    "aws_iam_role_policy_attachment": dict.fromkeys(("policy_arn", "role"), PROVIDER_BASELINE),
    "aws_internet_gateway": dict.fromkeys(("tags", "vpc_id"), PROVIDER_BASELINE),
    "aws_launch_template": dict.fromkeys(
        (
            "block_device_mappings",
            "metadata_options",
            "name",
            "tag_specifications",
            "tags",
            "update_default_version",
            "user_data",
        ),
        PROVIDER_BASELINE,
    ),
    "aws_nat_gateway": dict.fromkeys(("allocation_id", "subnet_id", "tags"), PROVIDER_BASELINE),
    "aws_route": dict.fromkeys(
        ("destination_cidr_block", "gateway_id", "nat_gateway_id", "route_table_id"),
        PROVIDER_BASELINE,
    ),
    "aws_route_table": dict.fromkeys(("tags", "vpc_id"), PROVIDER_BASELINE),
    "aws_route_table_association": dict.fromkeys(
        ("route_table_id", "subnet_id"), PROVIDER_BASELINE
    ),
    "aws_security_group": dict.fromkeys(
        ("description", "name", "tags", "vpc_id"), PROVIDER_BASELINE
    ),
    "aws_subnet": dict.fromkeys(
        ("availability_zone", "cidr_block", "map_public_ip_on_launch", "tags", "vpc_id"),
        PROVIDER_BASELINE,
    ),
    "aws_vpc": dict.fromkeys(
        ("cidr_block", "enable_dns_hostnames", "enable_dns_support", "id", "tags"),
        PROVIDER_BASELINE,
    ),
    "aws_vpc_endpoint": dict.fromkeys(
        (
            "private_dns_enabled",
            "route_table_ids",
            "security_group_ids",
            "service_name",
            "subnet_ids",
            "tags",
            "vpc_endpoint_type",
            "vpc_id",
        ),
        PROVIDER_BASELINE,
    ),
    **{
        f"aws_vpc_security_group_{direction}_rule": dict.fromkeys(
            (
                "cidr_ipv4",
                "description",
                "from_port",
                "ip_protocol",
                "referenced_security_group_id",
                "security_group_id",
                "tags",
                "to_port",
            ),
            PROVIDER_BASELINE,
        )
        for direction in ("egress", "ingress")
    },
    # schedules.tf and alerts.tf (compiler/batchform/plan/operations.py): EventBridge Scheduler
    # arrived in
    # the 4.x series, EventBridge rules, targets and SNS long before; every argument used here
    # is in 5.0.0.
    "aws_scheduler_schedule": dict.fromkeys(
        (
            "description",
            "flexible_time_window",
            "group_name",
            "name",
            "schedule_expression",
            "schedule_expression_timezone",
            "state",
            "target",
        ),
        PROVIDER_BASELINE,
    ),
    "aws_cloudwatch_event_rule": dict.fromkeys(
        ("description", "event_pattern", "name", "tags"), PROVIDER_BASELINE
    ),
    "aws_cloudwatch_event_target": dict.fromkeys(
        ("arn", "input_transformer", "rule", "target_id"), PROVIDER_BASELINE
    ),
    "aws_sns_topic": dict.fromkeys(("name", "tags"), PROVIDER_BASELINE),
    "aws_sns_topic_policy": dict.fromkeys(("arn", "policy"), PROVIDER_BASELINE),
    "aws_sns_topic_subscription": dict.fromkeys(
        ("endpoint", "protocol", "topic_arn"), PROVIDER_BASELINE
    ),
    # data sources
    "aws_caller_identity": {},
    "aws_partition": {},
    "aws_region": {},  # a child module's region check (plan/module.py); no arguments
    "aws_ssm_parameter": dict.fromkeys(("name",), PROVIDER_BASELINE),
}

# Attributes the generated outputs read, with the release that added them.
PROVIDER_ATTRIBUTES: dict[str, dict[str, str]] = {
    # 5.32.0: "resource/aws_batch_job_definition: Add ... `arn_prefix` attribute" (#34997)
    "aws_batch_job_definition": {"arn_prefix": "5.32.0"},
}

# Terraform arguments every resource takes, whatever the provider version.
META_ARGUMENTS = frozenset({"count", "depends_on", "for_each", "lifecycle", "provider"})

# The S3 backend's `use_lockfile` (S3-native state locking) exists from Terraform 1.10.0
# (https://developer.hashicorp.com/terraform/language/backend/s3, "State Locking"); the
# DynamoDB lock table it replaces is deprecated from 1.11.
TERRAFORM_LOCKFILE = "1.10.0"

# A pre-release suffix (``1.10.0-beta1``) is accepted and ignored: it sorts below its release.
# Version parts are at most 9 digits: a longer one is no release, and past 4300 digits Python's
# int() refuses the text (found by tests/test_hostile_values.py), so such a term is malformed.
_TERM = re.compile(
    r"^[ \t]*(?P<op>~>|>=|<=|!=|=|>|<)?[ \t]*v?(?P<version>\d{1,9}(?:\.\d{1,9}){0,2})"
    r"(?:-[0-9A-Za-z.-]+)?[ \t]*\Z"
)


def parse_version(text: str) -> Version:
    """``"5.63.1"`` -> ``(5, 63, 1)``; missing parts are 0."""
    parts = [int(p) for p in text.split(".")]
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def format_version(version: Version) -> str:
    return ".".join(str(p) for p in version)


@cache
def provider_floor() -> str:
    """The first AWS provider release that has every argument in :data:`PROVIDER_ARGUMENTS`."""
    versions = [
        parse_version(v)
        for table in (PROVIDER_ARGUMENTS, PROVIDER_ATTRIBUTES)
        for arguments in table.values()
        for v in arguments.values()
    ]
    return format_version(max(versions, default=parse_version(PROVIDER_BASELINE)))


PROVIDER_MAJORS = (5, 6)
"""Major releases of hashicorp/aws batchform generates for. 5.x is tested with the real
provider; 6.x against its schema (compiler/batchform/data/aws_provider_schemas/,
tests/test_provider_schema.py)."""

PROVIDER6_FLOOR = "6.0.0"
"""Every argument batchform emits exists in 6.0.0 under its 6.x name: provider 6 kept every
argument of 5.x that the generator uses but the one it renamed (:data:`PROVIDER6_RENAMED`)."""

PROVIDER6_RENAMED: dict[tuple[str, str], str] = {
    # "resource/aws_batch_compute_environment: `compute_environment_name_prefix` has been
    # renamed to `name_prefix`" (website/docs/guides/version-6-upgrade.html.markdown in
    # hashicorp/terraform-provider-aws)
    ("aws_batch_compute_environment", "compute_environment_name_prefix"): "name_prefix",
    # and `compute_environment_name` (an exact name, aws_name) to `name`: the 6.x schemas in
    # compiler/batchform/data/aws_provider_schemas/ have `name` and `name_prefix` only
    ("aws_batch_compute_environment", "compute_environment_name"): "name",
}
"""(resource type, provider 5 argument) -> its provider 6 name, for every argument the
generator writes that provider 6 renamed."""


def admitted_majors(text: str) -> list[int]:
    """The major provider versions a constraint admits, from 0 up to one past the newest known
    (``[5]`` for ``~> 5.63``, ``[5, 6, 7]`` for ``>= 5.63.1``, where 7 stands for any later).

    ``!=`` terms exclude single releases and never a whole major, so they are ignored here.
    """
    c = parse_constraint(text)
    later = max(PROVIDER_MAJORS) + 1  # stands for every major after the known ones
    if c.exact is not None:
        return [min(c.exact[0], later)]
    start: Version = (0, 0, 0)
    if c.lower is not None:
        start = c.lower.version if c.lower.inclusive else _next_patch(c.lower.version)
    majors: list[int] = []
    for major in range(later + 1):
        lowest = max((major, 0, 0), start)  # the first release of it the lower bound lets in
        if (major == later or lowest[0] == major) and _below_upper(lowest, c.upper):
            majors.append(major)
    return majors


def _next_patch(version: Version) -> Version:
    return version[0], version[1], version[2] + 1


def admits(text: str, version: str) -> bool:
    """Whether constraint ``text`` admits release ``version`` (``!=`` terms included)."""
    v = parse_version(version)
    c = parse_constraint(text)
    excluded = [
        parse_version(m["version"])
        for m in (_TERM.match(term) for term in text.split(","))
        if m is not None and m["op"] == "!="
    ]
    if v in excluded or (c.exact is not None and v != c.exact):
        return False
    if c.lower is not None and (
        v < c.lower.version or (v == c.lower.version and not c.lower.inclusive)
    ):
        return False
    return _below_upper(v, c.upper)


def provider_major(text: str) -> int:
    """The major version the generated module is written for: 6 when the constraint admits
    only 6.x, else 5 (a constraint admitting both is error BF355 before anything is written)."""
    try:
        majors = admitted_majors(text)
    except ConstraintError:
        return 5
    return 6 if majors == [6] else 5


def argument_name(resource_type: str, argument: str, major: int) -> str:
    """The name the provider of ``major`` gives an argument the generator writes."""
    if major >= 6:
        return PROVIDER6_RENAMED.get((resource_type, argument), argument)
    return argument


# "resource/aws_batch_compute_environment: Allow in-place updates of compute environments that
# have the `SPOT_PRICE_CAPACITY_OPTIMIZED` strategy" (#40148): CHANGELOG.md of
# hashicorp/terraform-provider-aws, 6.10.0 (August 21, 2025). Before it,
# isUpdatableAllocationStrategy in internal/service/batch/compute_environment.go knows only
# BEST_FIT_PROGRESSIVE and SPOT_CAPACITY_OPTIMIZED (5.x never got the fix; 5.100.0 is its last).
PRICE_CAPACITY_UPDATABLE = "6.10.0"
UPDATABLE_STRATEGIES = ("BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED")


# "resource/aws_batch_compute_environment: Fix `inconsistent final plan` error when
# `compute_resource.launch_template.version` is unknown during an update" (#43337): CHANGELOG.md,
# 6.8.0 (August 7, 2025). From it on the provider itself plans the replacement of a CE it cannot
# update when a new launch template version is still unknown while planning.
UNKNOWN_VERSION_PLANNED = "6.8.0"


def _admits_only_from(constraint: str, release: str) -> bool:
    """Whether ``constraint`` admits no provider release older than ``release`` (an unreadable
    constraint is reported by BF35x; plan for the oldest provider then)."""
    try:
        return allows_below(constraint, release) is None
    except ConstraintError:
        return False


def plans_unknown_version_replacement(constraint: str) -> bool:
    """Whether every release ``constraint`` admits replaces a CE it cannot update in place for
    a launch template version unknown at plan time, so no ``replace_triggered_by`` is needed."""
    return _admits_only_from(constraint, UNKNOWN_VERSION_PLANNED)


def updatable_strategies(constraint: str) -> tuple[str, ...]:
    """The allocation strategies every provider release ``constraint`` admits updates in place
    (``isUpdatableAllocationStrategy``): SPOT_PRICE_CAPACITY_OPTIMIZED only when no admitted
    release is older than :data:`PRICE_CAPACITY_UPDATABLE`, since the output must be right for
    whichever admitted release ``terraform init`` picks."""
    if _admits_only_from(constraint, PRICE_CAPACITY_UPDATABLE):
        return (*UPDATABLE_STRATEGIES, "SPOT_PRICE_CAPACITY_OPTIMIZED")
    return UPDATABLE_STRATEGIES


def provider_default() -> str:
    """The constraint the generated module uses when the file sets none: the floor, and below
    the next major version (6.x changes resource schemas)."""
    return f">= {provider_floor()}, < 6.0.0"


@dataclass(frozen=True)
class Bound:
    version: Version
    inclusive: bool


@dataclass(frozen=True)
class Constraint:
    lower: Bound | None  # None: no lower bound
    upper: Bound | None
    exact: Version | None


class ConstraintError(ValueError):
    """A constraint string Terraform would not accept."""


def _tighter_lower(a: Bound | None, b: Bound) -> Bound:
    if a is None or b.version > a.version:
        return b
    if b.version == a.version and not b.inclusive:
        return b
    return a


def _tighter_upper(a: Bound | None, b: Bound) -> Bound:
    if a is None or b.version < a.version:
        return b
    if b.version == a.version and not b.inclusive:
        return b
    return a


def _pessimistic_upper(text: str) -> Version:
    """``~> 5.0`` stops before 6.0.0, ``~> 5.63.1`` before 5.64.0, ``~> 5`` before 6.0.0."""
    parts = [int(p) for p in text.split(".")]
    if len(parts) == 1:
        return parts[0] + 1, 0, 0
    if len(parts) == 2:
        return parts[0] + 1, 0, 0
    return parts[0], parts[1] + 1, 0


def parse_constraint(text: str) -> Constraint:
    """The lower and upper bounds of a constraint (``!=`` terms narrow nothing here)."""
    lower: Bound | None = None
    upper: Bound | None = None
    exact: Version | None = None
    terms = text.split(",")
    for term in terms:
        match = _TERM.match(term)
        if match is None:
            raise ConstraintError(f"'{term.strip()}' is not a version constraint term")
        op, version_text = match["op"] or "=", match["version"]
        version = parse_version(version_text)
        if op == "=":
            if exact is not None and exact != version:
                raise ConstraintError(f"'{text}' pins two different versions")
            exact = version
        elif op in (">=", ">"):
            lower = _tighter_lower(lower, Bound(version, op == ">="))
        elif op in ("<=", "<"):
            upper = _tighter_upper(upper, Bound(version, op == "<="))
        elif op == "~>":
            lower = _tighter_lower(lower, Bound(version, True))
            upper = _tighter_upper(upper, Bound(_pessimistic_upper(version_text), False))
    return Constraint(lower, upper, exact)


def _below_upper(version: Version, upper: Bound | None) -> bool:
    if upper is None:
        return True
    return version <= upper.version if upper.inclusive else version < upper.version


def allows_below(text: str, floor: str) -> Version | None:
    """The lowest version below ``floor`` that constraint ``text`` allows, else ``None``.

    Versions are treated as a continuum of patch releases: ``> 5.40.0`` allows 5.40.1.
    """
    c = parse_constraint(text)
    limit = parse_version(floor)
    if c.exact is not None:
        return c.exact if c.exact < limit else None
    if c.lower is None:
        candidate: Version = (0, 0, 0)
    elif c.lower.inclusive:
        candidate = c.lower.version
    else:
        major, minor, patch = c.lower.version
        candidate = (major, minor, patch + 1)
    if candidate < limit and _below_upper(candidate, c.upper):
        return candidate
    return None
