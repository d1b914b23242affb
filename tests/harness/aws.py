"""Log groups and job definitions created through boto3 the way the generated Terraform creates
them: from the plan contexts the templates render (``compiler/batchform/plan/jobs.py``), Terraform
references (``Expr``) resolved to applied values, and the provider's ``default_tags`` (the
file's ``tags``) under each resource's own.

For where Terraform is too slow or not the point: ``tests/test_verify.py`` checks verify against
resources made directly, and ``benchmarks/`` registers the 1000 job definitions of its scale
run in seconds instead of minutes (then imports them into the Terraform state).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from batchform import naming
from batchform.hcl import Expr
from batchform.model import Environment
from batchform.plan import iam as plan_iam
from batchform.plan import jobs as plan_jobs
from batchform.plan.contract import JobDefinitionEntry, LogGroupEntry

Values = dict[str, Any]
"""``{"type.label.attribute": value}``: what a Terraform reference (an ``Expr``) stands for."""

RETRY_KEYS = {
    "on_exit_code": "onExitCode",
    "on_reason": "onReason",
    "on_status_reason": "onStatusReason",
}
"""The provider's ``evaluate_on_exit`` argument names -> the API's (``RegisterJobDefinition``:
https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html)."""


def job_contexts(env: Environment) -> tuple[list[LogGroupEntry], list[JobDefinitionEntry]]:
    """The ``logs.tf`` log groups and the ``job_definitions.tf`` jobs of ``env``'s plan (typed by
    compiler/batchform/plan/contract.py)."""
    files = plan_jobs.plan(env)
    log_file, job_file = files.get("logs.tf"), files.get("job_definitions.tf")
    return (
        list(log_file["log_groups"]) if log_file else [],
        list(job_file["jobs"]) if job_file else [],
    )


def job_context(env: Environment, key: str) -> JobDefinitionEntry:
    """The plan context of job definition ``key``."""
    name = naming.aws_name(env.name, key)
    return next(job for job in job_contexts(env)[1] if job["name"] == name)


def state_values(module: Path) -> Values:
    """Every attribute of every resource and data source in ``module``'s local state."""
    state = json.loads((module / "terraform.tfstate").read_text(encoding="utf-8"))
    values: Values = {}
    for block in state["resources"]:
        prefix = "data." if block["mode"] == "data" else ""
        for instance in block["instances"]:
            for attribute, value in instance["attributes"].items():
                values[f"{prefix}{block['type']}.{block['name']}.{attribute}"] = value
    return values


def resolve(value: Any, values: Values) -> Any:
    """A plan value with every Terraform reference replaced by its applied value."""
    if isinstance(value, Expr):
        return values[str(value)]
    if isinstance(value, dict):
        return {k: resolve(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    return value


def create_log_group(logs: Any, env: Environment, group: LogGroupEntry, values: Values) -> str:
    """Create one ``logs.tf`` log group with its retention; record its name in ``values`` (the
    job definitions' ``awslogs-group`` refers to it). Returns the Terraform address."""
    logs.create_log_group(logGroupName=group["name"], tags={**env.tags, **group["tags"]})
    logs.put_retention_policy(
        logGroupName=group["name"], retentionInDays=group["retention_in_days"]
    )
    values[f"aws_cloudwatch_log_group.{group['label']}.name"] = group["name"]
    return f"aws_cloudwatch_log_group.{group['label']}"


def job_definition_request(
    env: Environment, job: JobDefinitionEntry, values: Values, **container: Any
) -> dict[str, Any]:
    """The ``RegisterJobDefinition`` request of one ``job_definitions.tf`` job, as the provider
    sends it; ``container`` overrides keys of ``containerProperties``."""
    request: dict[str, Any] = {
        "jobDefinitionName": job["name"],
        "type": "container",
        "platformCapabilities": job["platform_capabilities"],
        "propagateTags": job["propagate_tags"],
        "containerProperties": {**resolve(job["container_properties"], values), **container},
        "tags": {**env.tags, **job["tags"]},
    }
    if job["parameters"]:
        request["parameters"] = job["parameters"]
    retry = job["retry_strategy"]
    if retry is not None:
        request["retryStrategy"] = {
            "attempts": retry["attempts"],
            "evaluateOnExit": [
                {RETRY_KEYS.get(k, k): v for k, v in rule.items()}
                for rule in retry["evaluate_on_exit"]
            ],
        }
    if job["timeout"] is not None:
        request["timeout"] = {"attemptDurationSeconds": job["timeout"]}
    return request


def create_job_resources(env: Environment, server: Any, values: Values) -> dict[str, str]:
    """Every log group and job definition of ``env``, in ``server`` (a ``MotoServer``).
    Returns the Terraform address and import id (log group name, job definition ARN) of each."""
    log_groups, job_definitions = job_contexts(env)
    logs = server.client("logs", env.region)
    batch = server.client("batch", env.region)
    made: dict[str, str] = {}
    for group in log_groups:
        made[create_log_group(logs, env, group, values)] = group["name"]
    for job in job_definitions:
        request = job_definition_request(env, job, values)
        made[f"aws_batch_job_definition.{job['label']}"] = batch.register_job_definition(**request)[
            "jobDefinitionArn"
        ]
    return made


# --- IAM roles ---------------------------------------------------------------------------------

PARTITION = "data.aws_partition.current.partition"
"""The reference policies interpolate into their ARNs (``arn:${...}:s3:::bucket``)."""

_INTERPOLATION = re.compile(r"\$\{([^}]+)\}")


def interpolate(text: str, values: Values) -> str:
    """``text`` with every ``${reference}`` replaced by its applied value."""
    return _INTERPOLATION.sub(lambda m: str(values[m.group(1)]), text)


def create_roles(env: Environment, server: Any, values: Values) -> list[str]:
    """Every role of ``env``'s ``iam.tf`` as the generated Terraform creates it: trust policy
    and tags, its managed policy attached (the AWS-managed ARN in the ``aws`` partition), its
    inline policies. Records each role's ARN and name in ``values`` (job definitions refer to
    them). Returns the role names."""
    iam = server.client("iam", env.region)
    values.setdefault(PARTITION, "aws")
    iam_file = plan_iam.plan(env).get("iam.tf")
    names: list[str] = []
    for role in iam_file["roles"] if iam_file else []:
        name = role["name"]
        made = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(role["assume_role_policy"], default=str),
            Tags=[{"Key": k, "Value": v} for k, v in {**env.tags, **role["tags"]}.items()],
        )["Role"]
        if role["managed_policy_arn"] is not None:
            policy = str(role["managed_policy_arn"]).split(":policy/", 1)[1].strip('"')
            iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
        for inline in role["inline_policies"]:
            iam.put_role_policy(
                RoleName=name,
                PolicyName=inline["name"],
                PolicyDocument=interpolate(json.dumps(inline["policy"], default=str), values),
            )
        values[f"aws_iam_role.{role['label']}.arn"] = made["Arn"]
        values[f"aws_iam_role.{role['label']}.name"] = name
        names.append(name)
    return names
