"""What every plan module shares: the file header, references, the versions and provider files."""

from __future__ import annotations

from batchform import requirements
from batchform.derive import uses_lockfile
from batchform.hcl import GENERATED_HEADER, Expr, comment_safe
from batchform.model import Environment
from batchform.plan.contract import PlanFiles, S3BackendEntry


def header(source_name: str) -> str:
    return (
        f"{GENERATED_HEADER} from {comment_safe(source_name)}. Do not edit: change the "
        "environment file and run `batchform compile`."
    )


def ref(*parts: str) -> Expr:
    """A Terraform reference built from trusted parts: ``ref("aws_vpc", "this", "id")``."""
    return Expr(".".join(parts))


DEFAULT_TERRAFORM_VERSION = ">= 1.5.0"


def required_version(env: Environment) -> str:
    """The file's ``terraform.required_version``, or batchform's default: Terraform 1.5, or
    1.10 when the backend uses ``use_lockfile`` (older Terraform rejects the argument)."""
    if env.terraform.required_version is not None:
        return env.terraform.required_version
    if uses_lockfile(env):
        return f">= {requirements.TERRAFORM_LOCKFILE}"
    return DEFAULT_TERRAFORM_VERSION


def versions(env: Environment) -> PlanFiles:
    backend: S3BackendEntry | None = None
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
    files: PlanFiles = {
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
    if env.terraform.output == "module":
        # A child module uses its caller's provider and state (compiler/batchform/plan/module.py).
        del files["providers.tf"]
        files["versions.tf"]["backend"] = None
    return files
