"""How the keys of an environment file become AWS names, Terraform labels and tags.

Shared by the plan stage (which writes them into Terraform) and the verifier (which finds the
deployed resources by them without reading Terraform state), so both always agree.
"""

from __future__ import annotations

# Two environment files compiled together whose AWS names collide (compiler/batchform/build.py).
from batchform.codes import CODE_NAME_COLLISION as CODE_NAME_COLLISION

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
