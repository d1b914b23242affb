"""Pieces every plan module shares: the file header, tags, and the terraform/provider files."""

from __future__ import annotations

from typing import Any

from compiler import requirements
from compiler.model import Environment
from compiler.naming import resource_tags
from compiler.render import GENERATED_HEADER, Expr, comment_safe


def header(source_name: str) -> str:
    return (
        f"{GENERATED_HEADER} from {comment_safe(source_name)}. Do not edit: change the "
        "environment file and run `batchform compile`."
    )


def tags(env: Environment, key: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The tags a resource carries besides the provider's ``default_tags``, sorted by key."""
    merged = {**(extra or {}), **resource_tags(env.name, key)}
    return dict(sorted(merged.items()))


def ref(*parts: str) -> Expr:
    """A Terraform reference built from trusted parts: ``ref("aws_vpc", "this", "id")``."""
    return Expr(".".join(parts))


DEFAULT_TERRAFORM_VERSION = ">= 1.5.0"


def uses_lockfile(env: Environment) -> bool:
    """True when the S3 backend locks with an S3 lock file: whenever no DynamoDB table is
    named (the table is deprecated from Terraform 1.11; the lock file needs 1.10)."""
    backend = env.terraform.backend
    return backend is not None and not backend.s3.dynamodb_table


def required_version(env: Environment) -> str:
    """The file's ``terraform.required_version``, or batchform's default: Terraform 1.5, or
    1.10 when the backend uses ``use_lockfile`` (older Terraform rejects the argument)."""
    if env.terraform.required_version is not None:
        return env.terraform.required_version
    if uses_lockfile(env):
        return f">= {requirements.TERRAFORM_LOCKFILE}"
    return DEFAULT_TERRAFORM_VERSION


def versions(env: Environment) -> dict[str, dict[str, Any]]:
    backend: dict[str, Any] | None = None
    if env.terraform.backend is not None:
        s3 = env.terraform.backend.s3
        backend = {
            "bucket": s3.bucket,
            "key": s3.key,
            "region": s3.region,
            "encrypt": s3.encrypt,
        }
        if s3.dynamodb_table:
            backend["dynamodb_table"] = s3.dynamodb_table
        else:
            backend["use_lockfile"] = True
    return {
        "versions.tf": {
            "required_version": required_version(env),
            "aws_provider": env.terraform.aws_provider,
            "backend": backend,
        },
        "providers.tf": {
            "region": env.region,
            "default_tags": dict(sorted(env.tags.items())),
        },
    }
