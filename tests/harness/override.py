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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def resource_blocks(module_dir: Path | str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{resource type: {label: parsed body}}`` for the module's own (non-override) files."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(Path(module_dir).glob("*.tf")):
        if path.name.endswith("_override.tf") or path.name == "override.tf":
            continue
        with path.open(encoding="utf-8") as handle:
            document: dict[str, Any] = hcl2.load(handle)
        for block in document.get("resource", []):
            for rtype, instances in block.items():
                for label, body in instances.items():
                    found.setdefault(_unquote(rtype), {})[_unquote(label)] = body
    return found


def compute_environments_without_service_role(module_dir: Path | str) -> list[str]:
    """Labels of ``aws_batch_compute_environment`` resources that leave ``service_role`` unset."""
    environments = resource_blocks(module_dir).get("aws_batch_compute_environment", {})
    return sorted(label for label, body in environments.items() if "service_role" not in body)


@dataclass(frozen=True)
class MotoGap:
    """An attribute moto does not round-trip, so a plan after apply would always show it."""

    resource_type: str
    attribute: str
    reason: str


MOTO_GAPS: tuple[MotoGap, ...] = (
    MotoGap(
        "aws_batch_compute_environment",
        "update_policy",
        "moto 5.2.1 ignores updatePolicy on create/update and never returns it",
    ),
    MotoGap(
        "aws_batch_job_queue",
        "job_state_time_limit_action",
        "moto 5.2.1 ignores jobStateTimeLimitActions on create/update and never returns them",
    ),
    MotoGap(
        "aws_launch_template",
        "tag_specifications",
        "moto 5.2.1 copies the template's own tags (provider default_tags) into "
        "LaunchTemplateData.TagSpecifications as resource_type launch-template",
    ),
)
"""Known moto gaps, ignored (``lifecycle.ignore_changes``) only for the attribute concerned."""


def _resource_override(
    rtype: str, label: str, body: Mapping[str, Any], gaps: Sequence[MotoGap], service_role_arn: str
) -> list[str]:
    lines: list[str] = []
    if rtype == "aws_batch_compute_environment" and "service_role" not in body:
        lines.append("  # moto requires serviceRole; AWS falls back to the service-linked role.")
        lines.append(f'  service_role = "{service_role_arn}"')
    ignored = [gap for gap in gaps if gap.resource_type == rtype]
    if ignored:
        if lines:
            lines.append("")
        lines += [f"  # moto gap: {gap.attribute}: {gap.reason}" for gap in ignored]
        attributes = ", ".join(gap.attribute for gap in ignored)
        lines += ["  lifecycle {", f"    ignore_changes = [{attributes}]", "  }"]
    if not lines:
        return []
    return [f'resource "{rtype}" "{label}" {{', *lines, "}", ""]


def render_override(
    endpoint_url: str,
    region: str | None = None,
    services: Iterable[str] = ENDPOINT_SERVICES,
    resources: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    ignore_gaps: Iterable[MotoGap] = MOTO_GAPS,
    service_role_arn: str = SERVICE_LINKED_BATCH_ROLE_ARN,
) -> str:
    """Text of the override file sending every listed service to ``endpoint_url``.

    ``resources`` (as returned by ``resource_blocks``) gets per-resource overrides: a
    ``service_role`` for compute environments without one, and ``ignore_changes`` for the
    attributes named in ``ignore_gaps``. An ``ignore_changes`` written here replaces one in the
    original resource (override merging is argument by argument inside ``lifecycle``).
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
    gaps = list(ignore_gaps)
    resource_lines: list[str] = []
    for rtype in sorted(resources or {}):
        for label in sorted((resources or {})[rtype]):
            body = (resources or {})[rtype][label]
            resource_lines += _resource_override(rtype, label, body, gaps, service_role_arn)
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
            *resource_lines,
        ]
    )


def write_moto_copy(
    module_dir: Path | str,
    dest: Path | str,
    endpoint_url: str,
    region: str | None = None,
    ignore_gaps: Iterable[MotoGap] = MOTO_GAPS,
) -> Path:
    """Copy ``module_dir`` to ``dest`` (which must not exist) and add the override file."""
    dest = Path(dest)
    shutil.copytree(module_dir, dest, ignore=_IGNORED_IN_COPY)
    text = render_override(
        endpoint_url, region=region, resources=resource_blocks(dest), ignore_gaps=ignore_gaps
    )
    (dest / OVERRIDE_FILENAME).write_text(text, encoding="utf-8")
    return dest


@contextmanager
def moto_copy(
    module_dir: Path | str,
    endpoint_url: str,
    region: str | None = None,
    ignore_gaps: Iterable[MotoGap] = MOTO_GAPS,
) -> Iterator[Path]:
    """A temporary moto-pointed copy of ``module_dir``, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="batchform-moto-") as tmp:
        yield write_moto_copy(
            module_dir, Path(tmp) / "module", endpoint_url, region=region, ignore_gaps=ignore_gaps
        )
