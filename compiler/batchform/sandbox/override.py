"""Point a generated root module at moto without editing the generated files.

``write_moto_copy(module_dir, dest, endpoint_url)`` copies the module and adds
``zz_moto_override.tf``, a Terraform *override file*: Terraform merges it into the blocks of the
same type and name after loading the other files, so the generated code stays exactly as emitted.

Merge behaviour, verified with Terraform 1.11.4 and hashicorp/aws 5.100.0:

- Top-level arguments of an override ``provider "aws"`` block replace the original's argument by
  argument. ``region`` CAN be replaced: a module saying ``eu-central-1`` created its VPC in the
  override's ``us-west-2``.
- A nested block in the override replaces all original blocks of that type; block types the
  override does not mention are kept. Hence the override must not contain ``default_tags``:
  the generated ``default_tags`` then survive and are applied, while ``endpoints`` (absent from
  generated code) comes from the override.
- ``terraform { backend "local" {} }`` in an override replaces an original ``backend "s3"``
  (init never contacts S3). Terraform 1.11 also accepts it when the original declares no backend
  at all (and even no ``terraform`` block), so it is always written; likewise an override
  ``provider "aws"`` block is accepted without a base provider block.
- moto refuses ``CreateComputeEnvironment`` without ``serviceRole`` ("ServiceRole is required."),
  checked before any role lookup, so creating ``AWSServiceRoleForBatch`` in moto does not help by
  itself. Real AWS falls back to the service-linked role and then *reports* its ARN as
  ``serviceRole`` (the provider attribute is optional+computed, so no diff). The override
  therefore adds ``service_role = <service-linked role ARN>`` to every
  ``aws_batch_compute_environment`` that omits it, and ``emulator.service_linked_batch_role``
  creates that role in moto.
- ``skip_requesting_account_id`` stays false: moto answers STS ``GetCallerIdentity`` (account
  123456789012), and resources whose ARNs the provider builds from the account ID would
  otherwise get malformed ARNs.
- Attributes moto does not round-trip (``MOTO_GAPS``) get ``lifecycle { ignore_changes }`` for
  exactly that attribute, with the reason as a comment, so a re-plan still catches every other
  perpetual diff.

A child module (``terraform.output: module``, compiler/batchform/plan/module.py) has no provider
block to override, and an override file in it applies to it alone: the copy then goes into
``<dest>/environment/`` with an override file holding only the per-resource parts, and ``<dest>``
becomes a small root module (``main.tf``: a ``module`` block calling it, as the user's own
configuration would) whose override file holds the provider and backend. Terraform runs in
``<dest>`` either way; only the addresses gain ``module.environment.``.

Resource blocks are found by a small scanner (strings, comments and heredocs aware) instead of a
full HCL parser, so the sandbox needs no HCL library at run time.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchform.model import Environment

OVERRIDE_FILENAME = "zz_moto_override.tf"
WRAPPED_MODULE = "environment"
"""The directory of a child module inside the root module that calls it (and its ``module``
label there)."""
WRAPPER_FILENAME = "main.tf"
_PROVIDER_BLOCK = re.compile(r'^provider\s+"aws"\s*\{', re.M)
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
    "scheduler",
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

_RESOURCE_START = re.compile(r'^resource\s+"([^"]+)"\s+"([^"]+)"\s*\{')
_ATTRIBUTE = re.compile(r"^[ \t]*([A-Za-z_][\w-]*)[ \t]*=(?!=)[ \t]*(.*)\Z")
_NESTED_BLOCK = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*(?:\"[^\"]*\"\s*)*\{")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][\w]*)[ \t]*\Z")


def _scan_line(line: str, depth: int, in_comment: bool) -> tuple[int, bool, str | None]:
    """Brace depth after ``line``, whether a ``/* */`` comment is still open, and the marker
    of a heredoc the line opens (its body is skipped by the caller)."""
    i, n = 0, len(line)
    while i < n:
        if in_comment:
            end = line.find("*/", i)
            if end < 0:
                return depth, True, None
            in_comment, i = False, end + 2
            continue
        ch = line[i]
        if ch == "#" or line.startswith("//", i):
            break
        if line.startswith("/*", i):
            in_comment, i = True, i + 2
            continue
        if ch == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if line.startswith("<<", i):
            heredoc = _HEREDOC.match(line, i)
            if heredoc:
                return depth, False, heredoc.group(1)
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        i += 1
    return depth, in_comment, None


def scan_resources(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """``{type: {label: {argument or nested block name: raw value text}}}`` of one HCL file.

    Only what an override needs: which resources exist and which top-level arguments they set.
    """
    found: dict[str, dict[str, dict[str, str]]] = {}
    depth, in_comment, heredoc = 0, False, None
    body: dict[str, str] | None = None
    for line in text.splitlines():
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if not in_comment:
            if depth == 0:
                start = _RESOURCE_START.match(line)
                if start:
                    body = found.setdefault(start.group(1), {}).setdefault(start.group(2), {})
            elif depth == 1 and body is not None:
                attribute = _ATTRIBUTE.match(line)
                nested = _NESTED_BLOCK.match(line)
                if attribute:
                    body.setdefault(attribute.group(1), attribute.group(2).strip())
                elif nested:
                    body.setdefault(nested.group(1), "{")
        depth, in_comment, heredoc = _scan_line(line, depth, in_comment)
        if depth <= 0:
            depth, body = 0, None
    return found


def resource_blocks(module_dir: Path | str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{resource type: {label: body}}`` for the module's own (non-override) files, and those
    of the child module it wraps (``WRAPPED_MODULE``), if any.

    A body maps each top-level argument or nested block name of the resource to its raw text.
    """
    found: dict[str, dict[str, dict[str, Any]]] = {}
    paths = [*sorted(Path(module_dir).glob("*.tf"))]
    paths += sorted((Path(module_dir) / WRAPPED_MODULE).glob("*.tf"))
    for path in paths:
        if path.name.endswith("_override.tf") or path.name == "override.tf":
            continue
        for rtype, labels in scan_resources(path.read_text(encoding="utf-8")).items():
            found.setdefault(rtype, {}).update(labels)
    return found


def compute_environments_without_service_role(module_dir: Path | str) -> list[str]:
    """Labels of ``aws_batch_compute_environment`` resources that leave ``service_role`` unset."""
    environments = resource_blocks(module_dir).get("aws_batch_compute_environment", {})
    return sorted(label for label, body in environments.items() if "service_role" not in body)


@dataclass(frozen=True)
class MotoGap:
    """An attribute moto does not round-trip, so a plan after apply would always show it.

    ``only_with``: the gap exists only for resources that set this argument (e.g. a rule's
    description is lost only when its peer is a security group)."""

    resource_type: str
    attribute: str
    reason: str
    only_with: str | None = None

    def applies_to(self, rtype: str, body: Mapping[str, Any]) -> bool:
        return rtype == self.resource_type and (self.only_with is None or self.only_with in body)


MOTO_GAPS: tuple[MotoGap, ...] = (
    MotoGap(
        "aws_batch_compute_environment",
        "update_policy",
        "moto 5.2 ignores updatePolicy on create/update and never returns it",
        only_with="update_policy",
    ),
    MotoGap(
        "aws_batch_job_queue",
        "job_state_time_limit_action",
        "moto 5.2 ignores jobStateTimeLimitActions on create/update and never returns them",
        only_with="job_state_time_limit_action",
    ),
    MotoGap(
        "aws_launch_template",
        "tag_specifications",
        "moto 5.2 copies the template's own tags (provider default_tags) into "
        "LaunchTemplateData.TagSpecifications as resource_type launch-template",
    ),
    MotoGap(
        "aws_batch_job_definition",
        "scheduling_priority",
        "moto 5.2 ignores schedulingPriority on RegisterJobDefinition and never returns it",
        only_with="scheduling_priority",
    ),
    MotoGap(
        "aws_batch_job_definition",
        "node_properties",
        "moto 5.2 stores nodeProperties but DescribeJobDefinitions never returns them",
        only_with="node_properties",
    ),
    MotoGap(
        "aws_batch_compute_environment",
        "eks_configuration",
        "moto 5.2 ignores eksConfiguration on CreateComputeEnvironment and never returns it",
        only_with="eks_configuration",
    ),
    *(
        MotoGap(
            f"aws_vpc_security_group_{direction}_rule",
            "description",
            "moto 5.2 keeps a rule's description only for CIDR peers, not for a "
            "security group peer",
            only_with="referenced_security_group_id",
        )
        for direction in ("ingress", "egress")
    ),
)
"""Known moto gaps, ignored (``lifecycle.ignore_changes``) only for the attribute concerned."""


_UPDATE_POLICY_GAP = (
    "moto 5.2 ignores updatePolicy on CreateComputeEnvironment/UpdateComputeEnvironment "
    "and never returns it"
)
_SCHEDULING_PRIORITY_GAP = (
    "moto 5.2 ignores schedulingPriority on RegisterJobDefinition and never returns it"
)
_NODE_PROPERTIES_GAP = (
    "moto 5.2 stores nodeProperties on RegisterJobDefinition but DescribeJobDefinitions never "
    "returns them"
)
_EKS_CONFIGURATION_GAP = (
    "moto 5.2 ignores eksConfiguration on CreateComputeEnvironment and never returns it"
)
_TIME_LIMIT_GAP = (
    "moto 5.2 ignores jobStateTimeLimitActions on CreateJobQueue/UpdateJobQueue and never "
    "returns them"
)


def verify_gaps(env: Environment) -> dict[tuple[str, str], str]:
    """The differences ``batchform verify`` reports on moto for ``env`` only because moto does
    not store a setting, as ``{(resource title, attribute): reason}``: the same gaps as
    :data:`MOTO_GAPS`, named the way verify names them, and only where the file sets them."""
    gaps: dict[tuple[str, str], str] = {}
    for key, ce in sorted(env.compute_environments.items()):
        if ce.update_policy is not None:
            for attribute in (
                "updatePolicy.jobExecutionTimeoutMinutes",
                "updatePolicy.terminateJobsOnUpdate",
            ):
                gaps[(f"compute_environments.{key}", attribute)] = _UPDATE_POLICY_GAP
    for key, queue in sorted(env.job_queues.items()):
        if queue.time_limit_actions:
            gaps[(f"job_queues.{key}", "jobStateTimeLimitActions")] = _TIME_LIMIT_GAP
    for key, job in sorted(env.job_definitions.items()):
        if job.scheduling_priority is not None:
            gaps[(f"job_definitions.{key}", "schedulingPriority")] = _SCHEDULING_PRIORITY_GAP
        if job.nodes is not None:
            gaps[(f"job_definitions.{key}", "nodeProperties")] = _NODE_PROPERTIES_GAP
    for key, ce in sorted(env.compute_environments.items()):
        if ce.eks is not None:
            for attribute in (
                "eksConfiguration.eksClusterArn",
                "eksConfiguration.kubernetesNamespace",
            ):
                gaps[(f"compute_environments.{key}", attribute)] = _EKS_CONFIGURATION_GAP
    return gaps


def _resource_override(
    rtype: str, label: str, body: Mapping[str, Any], gaps: Sequence[MotoGap], service_role_arn: str
) -> list[str]:
    lines: list[str] = []
    if rtype == "aws_batch_compute_environment" and "service_role" not in body:
        lines.append("  # moto requires serviceRole; AWS falls back to the service-linked role.")
        lines.append(f'  service_role = "{service_role_arn}"')
    ignored = [gap for gap in gaps if gap.applies_to(rtype, body)]
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
    provider: bool = True,
) -> str:
    """Text of the override file sending every listed service to ``endpoint_url``.

    ``resources`` (as returned by ``resource_blocks``) gets per-resource overrides: a
    ``service_role`` for compute environments without one, and ``ignore_changes`` for the
    attributes named in ``ignore_gaps``. An ``ignore_changes`` written here replaces one in the
    original resource (override merging is argument by argument inside ``lifecycle``).
    ``provider=False`` leaves out the provider and backend (a wrapped child module's file).
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
    if not provider:
        return "\n".join(
            [
                "# Written by batchform (compiler/batchform/sandbox/override.py): what moto "
                "needs of these resources.",
                *resource_lines,
            ]
        )
    return "\n".join(
        [
            "# Written by batchform (compiler/batchform/sandbox/override.py): sends AWS calls to "
            "moto.",
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


def gaps_in(
    resources: Mapping[str, Mapping[str, Mapping[str, Any]]],
    ignore_gaps: Iterable[MotoGap] = MOTO_GAPS,
) -> list[tuple[MotoGap, list[str]]]:
    """The gaps that actually apply to a module: each with the labels it covers, only where
    the generated resource sets the attribute (an unset attribute cannot drift; launch template
    tags come from the provider's default_tags, so that gap always applies)."""
    applied = []
    for gap in ignore_gaps:
        labels = sorted(
            label
            for label, body in resources.get(gap.resource_type, {}).items()
            if gap.applies_to(gap.resource_type, body)
            and (gap.attribute in body or gap.attribute == "tag_specifications")
        )
        if labels:
            applied.append((gap, labels))
    return applied


def declares_provider(texts: Iterable[str]) -> bool:
    """Whether a module's files configure the ``aws`` provider: a root module does, a child
    module (``terraform.output: module``) uses its caller's."""
    return any(_PROVIDER_BLOCK.search(text) for text in texts)


WRAPPER = f"""# Written by batchform (compiler/batchform/sandbox/override.py): the root module that
# calls the generated child module, as the configuration that embeds it would.
module "{WRAPPED_MODULE}" {{
  source = "./{WRAPPED_MODULE}"
}}
"""


def write_moto_copy(
    module_dir: Path | str,
    dest: Path | str,
    endpoint_url: str,
    region: str | None = None,
    ignore_gaps: Iterable[MotoGap] = MOTO_GAPS,
) -> Path:
    """Copy ``module_dir`` to ``dest`` (which must not exist) and add the override file; a
    child module is copied into ``dest/environment`` under a root module that calls it."""
    dest = Path(dest)
    texts = (p.read_text(encoding="utf-8") for p in sorted(Path(module_dir).glob("*.tf")))
    if declares_provider(texts):
        shutil.copytree(module_dir, dest, ignore=_IGNORED_IN_COPY)
        return _add_override(dest, endpoint_url, region, ignore_gaps)
    shutil.copytree(module_dir, dest / WRAPPED_MODULE, ignore=_IGNORED_IN_COPY)
    return _wrap(dest, endpoint_url, region, ignore_gaps)


def write_moto_module(
    files: Mapping[str, str],
    dest: Path | str,
    endpoint_url: str,
    region: str | None = None,
    ignore_gaps: Iterable[MotoGap] = MOTO_GAPS,
) -> Path:
    """Write in-memory module ``files`` (``{name: text}``) to ``dest`` plus the override file;
    a child module goes to ``dest/environment`` under a root module that calls it."""
    dest = Path(dest)
    root = declares_provider(t for n, t in files.items() if n.endswith(".tf"))
    target = dest if root else dest / WRAPPED_MODULE
    target.mkdir(parents=True)
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    if root:
        return _add_override(dest, endpoint_url, region, ignore_gaps)
    return _wrap(dest, endpoint_url, region, ignore_gaps)


def _wrap(
    dest: Path, endpoint_url: str, region: str | None, ignore_gaps: Iterable[MotoGap]
) -> Path:
    """Make ``dest`` the root module calling the child module in ``dest/environment``: the
    wrapper and the provider's override file here, the per-resource overrides in the child
    (an override file changes only the module it is in)."""
    child = dest / WRAPPED_MODULE
    resources = resource_blocks(child)
    text = render_override(
        endpoint_url, resources=resources, ignore_gaps=ignore_gaps, provider=False
    )
    (child / OVERRIDE_FILENAME).write_text(text, encoding="utf-8")
    (dest / WRAPPER_FILENAME).write_text(WRAPPER, encoding="utf-8")
    text = render_override(endpoint_url, region=region, resources={})
    (dest / OVERRIDE_FILENAME).write_text(text, encoding="utf-8")
    return dest


def _add_override(
    dest: Path, endpoint_url: str, region: str | None, ignore_gaps: Iterable[MotoGap]
) -> Path:
    """Write the override file for the module in ``dest``, from the resources it declares."""
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
