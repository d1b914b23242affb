"""How the keys of an environment file become AWS names, Terraform labels and tags.

Shared by the plan stage (which writes them into Terraform) and the verifier (which finds the
deployed resources by them without reading Terraform state), so both always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

# Two environment files compiled together whose AWS names collide (compiler/batchform/build.py).
from batchform.codes import CODE_NAME_COLLISION as CODE_NAME_COLLISION
from batchform.model import AwsNamed, Environment

TAG_ENVIRONMENT = "batchform:environment"
TAG_KEY = "batchform:key"

# Terraform appends a 26-character unique suffix to a name_prefix.
TERRAFORM_PREFIX_SUFFIX_LENGTH = 26


def aws_name(env_name: str, key: str) -> str:
    """The AWS name of a keyed resource: ``<name>-<key>``."""
    return f"{env_name}-{key}"


def ce_name_prefix(env_name: str, key: str) -> str:
    """Compute environments are created from a prefix so a replacement can exist beside the
    old one (``create_before_destroy``); the verifier matches deployed names by this prefix."""
    return f"{aws_name(env_name, key)}-"


# --- names the file may choose (aws_name, aws_name_prefix) ----------------------------------

NamedSection = Literal[
    "compute_environments",
    "job_queues",
    "scheduling_policies",
    "job_definitions",
    "security_groups",
    "schedules",
]
NAMED_BATCH_SECTIONS: tuple[NamedSection, ...] = (
    "compute_environments",
    "job_queues",
    "scheduling_policies",
    "job_definitions",
)
"""The Batch sections whose resources take ``aws_name`` / ``aws_name_prefix`` (one AWS Batch
name pattern, BF400)."""
NAMED_OTHER_SECTIONS: tuple[NamedSection, ...] = ("security_groups", "schedules")
"""The other sections whose resources take them, each kind with its own service's name rules:
``network.security_groups`` (EC2, BF567) and ``schedules`` (EventBridge Scheduler, BF568)."""
NAMED_SECTIONS: tuple[NamedSection, ...] = NAMED_BATCH_SECTIONS + NAMED_OTHER_SECTIONS

_UNNAMED = AwsNamed()
"""The naming keys of batchform's default security group when the file writes none."""


def section_entries(env: Environment, section: NamedSection) -> Mapping[str, AwsNamed]:
    """The entries of a named section, by key (security groups live under ``network``)."""
    if section == "security_groups":
        return env.network.security_groups
    entries: Mapping[str, AwsNamed] = getattr(env, section)
    return entries


def section_path(section: NamedSection, key: str) -> tuple[str, ...]:
    """The path of one entry in the file, for located diagnostics."""
    if section == "security_groups":
        return ("network", "security_groups", key)
    return (section, key)


def named(env: Environment, section: NamedSection, key: str) -> AwsNamed:
    """The entry of ``section`` at ``key`` (its naming keys); a look-up, never a copy of the
    section (called once per resource: a copy made compiling 5000 jobs quadratic). The
    default security group batchform adds when the file writes none chooses no name."""
    if section == "security_groups":
        return env.network.security_groups.get(key, _UNNAMED)
    entry: AwsNamed = getattr(env, section)[key]
    return entry


def name_source(env: Environment, section: NamedSection, key: str) -> tuple[str, ...]:
    """Where the AWS name of one resource was chosen, for a located diagnostic: its
    ``aws_name`` or ``aws_name_prefix`` where the file wrote one, else the resource's key; the
    environment's ``name`` for batchform's default security group, which the file does not
    write."""
    entry, path = named(env, section, key), section_path(section, key)
    for choice in ("aws_name", "aws_name_prefix"):
        if getattr(entry, choice) is not None:
            return (*path, choice)
    if key not in section_entries(env, section):
        return ("name",)
    return path


def chooses_name(entry: AwsNamed) -> bool:
    """Whether the file chose the resource's name (``aws_name`` or ``aws_name_prefix``)."""
    return entry.aws_name is not None or entry.aws_name_prefix is not None


def resource_name(env: Environment, section: NamedSection, key: str) -> str:
    """The AWS name of a job queue, scheduling policy, job definition, security group or
    schedule: its ``aws_name``, else ``<aws_name_prefix><key>``, else ``<name>-<key>``. (A
    compute environment's exact name or Terraform prefix: :func:`compute_environment_name`,
    :func:`compute_environment_prefix`.)"""
    entry = named(env, section, key)
    if entry.aws_name is not None:
        return entry.aws_name
    if entry.aws_name_prefix is not None:
        return f"{entry.aws_name_prefix}{key}"
    return aws_name(env.name, key)


def compute_environment_name(env: Environment, key: str) -> str | None:
    """The exact name of a compute environment with ``aws_name``, else None (it is created
    from a prefix)."""
    return env.compute_environments[key].aws_name


def compute_environment_prefix(env: Environment, key: str) -> str | None:
    """The Terraform name prefix of a compute environment: ``<aws_name_prefix><key>-``, or
    ``<name>-<key>-``; None when it has an exact ``aws_name`` (no prefix, so no
    ``create_before_destroy``: two environments cannot share one exact name)."""
    ce = env.compute_environments[key]
    if ce.aws_name is not None:
        return None
    if ce.aws_name_prefix is not None:
        return f"{ce.aws_name_prefix}{key}-"
    return ce_name_prefix(env.name, key)


def label(key: str) -> str:
    """The Terraform label of a keyed resource: the key with ``-`` replaced by ``_``."""
    return key.replace("-", "_")


def resource_tags(env_name: str, key: str) -> dict[str, str]:
    """Tags that let the verifier find a resource in AWS: environment name and key.

    Non-keyed resources (the VPC, subnets, IAM roles) use a descriptive key such as ``vpc``,
    ``private-us-west-2a`` or ``role-instance``.
    """
    return {TAG_ENVIRONMENT: env_name, TAG_KEY: key}


def role_name(env_name: str, purpose: str) -> str:
    """IAM role and instance-profile names (at most 64 characters): ``<name>-<purpose>``."""
    return f"{env_name}-{purpose}"


def log_group_name(env_name: str, job_key: str) -> str:
    """One CloudWatch log group per job definition."""
    return f"/aws/batch/{env_name}/{job_key}"
