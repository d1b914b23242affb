"""Point a generated root module at moto without editing the generated files.

``moto_copy(module_dir, endpoint_url)`` copies the module to a temporary directory and adds
``zz_moto_override.tf``, a Terraform *override file*: Terraform merges it into the blocks of the
same type and name after loading the other files, so the generated code under test stays exactly
as emitted.

Merge behaviour, verified with Terraform 1.11.4 and hashicorp/aws 5.100.0:

- Top-level arguments of an override ``provider "aws"`` block replace the original's argument by
  argument. ``region`` CAN be replaced: a module saying ``eu-central-1`` created its VPC in the
  override's ``us-west-2``.
- A nested block in the override replaces all original blocks of that type; block types the
  override does not mention are kept. Hence the override must not contain ``default_tags``:
  the generated ``default_tags`` then survive and are applied (checked through boto3), while
  ``endpoints`` (absent from generated code) comes from the override.
- ``terraform { backend "local" {} }`` in an override replaces an original ``backend "s3"``
  (init never contacts S3). Terraform 1.11 also accepts it when the original declares no backend
  at all (and even no ``terraform`` block), so it is always written; no HCL parsing is needed.
  Likewise an override ``provider "aws"`` block is accepted without a base provider block.
- moto refuses ``CreateComputeEnvironment`` without ``serviceRole`` ("ServiceRole is required."),
  checked before any role lookup, so creating ``AWSServiceRoleForBatch`` in moto does not help by
  itself. Real AWS falls back to the service-linked role and then *reports* its ARN as
  ``serviceRole`` (the provider attribute is optional+computed, so no diff). The override
  therefore adds ``service_role = <service-linked role ARN>`` to every
  ``aws_batch_compute_environment`` that omits it (override resource blocks merge the same way),
  and ``moto.service_linked_batch_role`` creates that role in moto.
- ``skip_requesting_account_id`` stays false: moto answers STS ``GetCallerIdentity`` (account
  123456789012), and resources whose ARNs the provider builds from the account ID would
  otherwise get malformed ARNs.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import hcl2

OVERRIDE_FILENAME = "zz_moto_override.tf"
SERVICE_LINKED_BATCH_ROLE_ARN = (
    "arn:aws:iam::123456789012:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
)
"""The role real AWS uses when ``service_role`` is omitted, in moto's default account."""

ENDPOINT_SERVICES: tuple[str, ...] = (
    "autoscaling",
    "batch",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "efs",
    "elbv2",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "sts",
)
"""Provider ``endpoints`` keys sent to moto: what a Batch stack and its neighbours call."""

_IGNORED_IN_COPY = shutil.ignore_patterns(
    ".terraform", "terraform.tfstate", "terraform.tfstate.backup", "*.tfplan", OVERRIDE_FILENAME
)


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def compute_environments_without_service_role(module_dir: Path | str) -> list[str]:
    """Labels of ``aws_batch_compute_environment`` resources that leave ``service_role`` unset."""
    labels: set[str] = set()
    for path in sorted(Path(module_dir).glob("*.tf")):
        if path.name.endswith("_override.tf") or path.name == "override.tf":
            continue
        with path.open(encoding="utf-8") as handle:
            document: dict[str, Any] = hcl2.load(handle)
        for block in document.get("resource", []):
            for rtype, instances in block.items():
                if _unquote(rtype) != "aws_batch_compute_environment":
                    continue
                for label, body in instances.items():
                    if "service_role" not in body:
                        labels.add(_unquote(label))
    return sorted(labels)


def render_override(
    endpoint_url: str,
    region: str | None = None,
    services: Iterable[str] = ENDPOINT_SERVICES,
    service_role_for: Iterable[str] = (),
    service_role_arn: str = SERVICE_LINKED_BATCH_ROLE_ARN,
) -> str:
    """Text of the override file sending every listed service to ``endpoint_url``.

    ``service_role_for`` names compute environments (Terraform labels) that get
    ``service_role = service_role_arn``, standing in for the AWS service-linked-role fallback.
    """
    names = sorted(set(services))
    width = max(len(name) for name in names)
    endpoint_lines = [f'    {name.ljust(width)} = "{endpoint_url}"' for name in names]
    provider_args: list[tuple[str, str]] = []
    if region is not None:
        provider_args.append(("region", f'"{region}"'))
    provider_args += [
        ("access_key", '"testing"'),
        ("secret_key", '"testing"'),
        ("skip_credentials_validation", "true"),
        ("skip_metadata_api_check", "true"),
        ("skip_requesting_account_id", "false"),
        ("skip_region_validation", "true"),
        ("s3_use_path_style", "true"),
    ]
    arg_width = max(len(name) for name, _ in provider_args)
    arg_lines = [f"  {name.ljust(arg_width)} = {value}" for name, value in provider_args]
    service_role_blocks: list[str] = []
    for label in sorted(set(service_role_for)):
        service_role_blocks += [
            f'resource "aws_batch_compute_environment" "{label}" {{',
            f'  service_role = "{service_role_arn}"',
            "}",
            "",
        ]
    return "\n".join(
        [
            "# Written by tests/harness/override.py: sends the AWS provider to moto.",
            'provider "aws" {',
            *arg_lines,
            "",
            "  endpoints {",
            *endpoint_lines,
            "  }",
            "}",
            "",
            "terraform {",
            '  backend "local" {}',
            "}",
            "",
            *service_role_blocks,
        ]
    )


def write_moto_copy(
    module_dir: Path | str,
    dest: Path | str,
    endpoint_url: str,
    region: str | None = None,
) -> Path:
    """Copy ``module_dir`` to ``dest`` (which must not exist) and add the override file."""
    dest = Path(dest)
    shutil.copytree(module_dir, dest, ignore=_IGNORED_IN_COPY)
    text = render_override(
        endpoint_url,
        region=region,
        service_role_for=compute_environments_without_service_role(dest),
    )
    (dest / OVERRIDE_FILENAME).write_text(text, encoding="utf-8")
    return dest


@contextmanager
def moto_copy(
    module_dir: Path | str, endpoint_url: str, region: str | None = None
) -> Iterator[Path]:
    """A temporary moto-pointed copy of ``module_dir``, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="batchform-moto-") as tmp:
        yield write_moto_copy(module_dir, Path(tmp) / "module", endpoint_url, region=region)
