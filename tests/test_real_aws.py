"""Rules for what only real AWS shows (compiler/batchform/checks/real_aws.py, docs/real-aws.md).

Each case states the AWS or provider behaviour it encodes, with its source, and asserts what a
user sees: the code, the level and the line of the value to change.
"""

from __future__ import annotations

import pytest

from batchform.build import analyze_text, render_environment
from batchform.diagnostics import Diagnostic, Level

BASE = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
  security_groups:
    batch: {description: Batch hosts}
compute_environments:
  spot:
    type: SPOT
    allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED
    max_vcpus: 64
    instance_types: [m6i]
  ec2: {type: EC2, allocation_strategy: BEST_FIT_PROGRESSIVE, max_vcpus: 64, instance_types: [c6i]}
  fspot: {type: FARGATE_SPOT, max_vcpus: 16}
scheduling_policies:
  fair:
    shares:
      - {identifier: labA}
job_queues:
  fair-q: {priority: 10, compute_environments: [spot, ec2], scheduling_policy: fair}
  fifo: {priority: 5, compute_environments: [ec2]}
  fargate-q: {priority: 1, compute_environments: [fspot]}
"""

JOB = """\
job_definitions:
  work:
    image: public.ecr.aws/docker/library/busybox:1.36
    vcpus: 1
    memory: 1 GiB
"""


def diagnostics(text: str) -> list[Diagnostic]:
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is not None, analysis.diagnostics
    return analysis.diagnostics


def found(text: str, code: str) -> list[tuple[int | None, Level]]:
    return [(d.line, d.level) for d in diagnostics(text) if d.code == code]


def line_of(text: str, needle: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, needle
    return lines[0]


# --- BF455: retries that catch Spot reclaims -------------------------------------------------
# AWS Batch "Automated job retries" (https://docs.aws.amazon.com/batch/latest/userguide/
# job_retries.html): on_exit entries are evaluated in order, the first match decides, and a job
# no entry matches is retried. A reclaimed instance fails the job with status reason "Host EC2
# (instance i-...) terminated." and no exit code; AWS's own example retries it with
# onStatusReason "Host EC2*" (https://aws.amazon.com/blogs/compute/
# introducing-retry-strategies-for-aws-batch/). Exit code 137 is SIGKILL (the OOM killer).

EXIT_FIRST = (
    JOB
    + """\
    retry:
      attempts: 3
      on_exit:
        - {exit_code: "137", action: RETRY}
        - {reason: "*", action: EXIT}
"""
)


def test_catch_all_exit_before_host_retry_on_spot_is_a_warning() -> None:
    text = BASE + EXIT_FIRST
    assert found(text, "BF455") == [(line_of(text, 'reason: "*"'), Level.WARNING)]
    hint = next(d.hint for d in diagnostics(text) if d.code == "BF455")
    assert hint is not None and 'status_reason: "Host EC2*"' in hint and "137" in hint


def test_awss_own_pattern_is_silent() -> None:
    text = BASE + EXIT_FIRST.replace(
        '- {exit_code: "137", action: RETRY}', '- {status_reason: "Host EC2*", action: RETRY}'
    )
    assert found(text, "BF455") == []


def test_host_retry_after_the_catch_all_does_not_help() -> None:
    text = BASE + EXIT_FIRST + '        - {status_reason: "Host EC2*", action: RETRY}\n'
    assert found(text, "BF455") == [(line_of(text, 'reason: "*"'), Level.WARNING)]


def test_retry_on_reason_instead_of_status_reason_does_not_catch_host_loss() -> None:
    # `reason` is matched against the container's reason, not the job's status reason
    text = BASE + EXIT_FIRST.replace(
        '- {exit_code: "137", action: RETRY}', '- {reason: "Host EC2*", action: RETRY}'
    )
    assert [c for c, _ in found(text, "BF455")] == [line_of(text, 'reason: "*"')]


def test_no_catch_all_means_aws_retries_anyway() -> None:
    text = BASE + EXIT_FIRST.replace('        - {reason: "*", action: EXIT}\n', "")
    assert found(text, "BF455") == []


def test_on_demand_only_jobs_are_not_concerned() -> None:
    text = BASE.replace("compute_environments: [spot, ec2]", "compute_environments: [ec2]")
    assert found(text + EXIT_FIRST, "BF455") == []


def test_fargate_spot_uses_the_ecs_interruption_reason() -> None:
    # ECS stops an interrupted Fargate Spot task with "Your Spot Task was interrupted."
    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html)
    fargate = EXIT_FIRST.replace("    vcpus: 1\n", "    platform: FARGATE\n    vcpus: 1\n")
    text = BASE + fargate
    hints = [d.hint for d in diagnostics(text) if d.code == "BF455"]
    assert len(hints) == 1 and hints[0] is not None
    assert "Your Spot Task was interrupted*" in hints[0]
    fixed = fargate.replace(
        '- {exit_code: "137", action: RETRY}',
        '- {status_reason: "Your Spot Task was interrupted*", action: RETRY}',
    )
    assert found(BASE + fixed, "BF455") == []


def test_a_shared_default_is_reported_once_where_it_is_written() -> None:
    jobs = JOB + "  other:\n    image: x/y:1\n    vcpus: 1\n    memory: 1 GiB\n"
    defaults = "job_defaults:\n  retry:\n    attempts: 2\n    on_exit:\n"
    defaults += '      - {reason: "*", action: EXIT}\n'
    text = BASE + defaults + jobs
    assert found(text, "BF455") == [(line_of(text, 'reason: "*"'), Level.WARNING)]


# --- BF352 / BF353: update policy ------------------------------------------------------------
# UpdatePolicy (https://docs.aws.amazon.com/batch/latest/APIReference/API_UpdatePolicy.html):
# jobExecutionTimeoutMinutes (1-360) is how long running jobs may go on during an
# infrastructure update. Infrastructure updates need the service-linked role
# (https://docs.aws.amazon.com/batch/latest/userguide/infrastructure-updates.html).

POLICY = "    update_policy: {job_execution_timeout: 30m}\n"


def _with_policy(base: str = BASE) -> str:
    return base.replace("    instance_types: [m6i]\n", "    instance_types: [m6i]\n" + POLICY)


def test_update_timeout_shorter_than_a_job_timeout_is_a_warning() -> None:
    text = _with_policy() + JOB + "    timeout: 2h\n"
    assert found(text, "BF352") == [(line_of(text, "update_policy"), Level.WARNING)]
    hint = next(d.hint for d in diagnostics(text) if d.code == "BF352")
    assert hint is not None and "job_execution_timeout to 2h" in hint


def test_update_timeout_covering_every_job_is_silent() -> None:
    assert found(_with_policy() + JOB + "    timeout: 20m\n", "BF352") == []
    # a job that cannot run on the CE does not count
    fargate = JOB + "    platform: FARGATE\n    timeout: 2h\n"
    assert found(_with_policy() + fargate, "BF352") == []


def test_job_longer_than_the_6h_maximum_gets_a_different_hint() -> None:
    text = _with_policy() + JOB + "    timeout: 12h\n"
    hint = next(d.hint for d in diagnostics(text) if d.code == "BF352")
    assert hint is not None and "at most 6h" in hint


def test_update_policy_with_a_custom_service_role_is_a_warning() -> None:
    text = _with_policy() + "iam: {service_role: generated}\n" + JOB
    assert found(text, "BF353") == [(line_of(text, "update_policy"), Level.WARNING)]
    assert found(_with_policy() + JOB, "BF353") == []


# --- BF456: scheduling priority --------------------------------------------------------------
# RegisterJobDefinition schedulingPriority: "only jobs submitted to fair share job queues will
# use this" (https://docs.aws.amazon.com/batch/latest/APIReference/API_RegisterJobDefinition.html)


def test_scheduling_priority_without_a_fair_share_queue_is_a_warning() -> None:
    fifo_only = BASE.replace(", scheduling_policy: fair", "")
    text = fifo_only.replace("scheduling_policies:\n  fair:\n    shares:\n", "").replace(
        "      - {identifier: labA}\n", ""
    )
    text += JOB + "    scheduling_priority: 10\n"
    assert found(text, "BF456") == [(line_of(text, "scheduling_priority"), Level.WARNING)]
    assert found(BASE + JOB + "    scheduling_priority: 10\n", "BF456") == []


@pytest.mark.parametrize("value", ["-1", "10000", "high"])
def test_scheduling_priority_range_is_0_to_9999(value: str) -> None:
    text = BASE + JOB + f"    scheduling_priority: {value}\n"
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is None
    assert [(d.code, d.line) for d in analysis.diagnostics] == [
        ("BF103", line_of(text, "scheduling_priority"))
    ]


def test_scheduling_priority_reaches_the_job_definition() -> None:
    analysis = analyze_text(BASE + JOB + "    scheduling_priority: 9999\n", "t.yaml")
    assert analysis.env is not None
    files = render_environment(analysis.env, "t.yaml")
    assert "scheduling_priority   = 9999" in files["job_definitions.tf"]
    unset = analyze_text(BASE + JOB, "t.yaml")
    assert unset.env is not None
    assert (
        "scheduling_priority" not in render_environment(unset.env, "t.yaml")["job_definitions.tf"]
    )


# --- BF457: partial secret ARNs --------------------------------------------------------------
# A complete Secrets Manager ARN ends in "-" and 6 random characters; a partial one resolves
# only while exactly one secret has that name (Secrets Manager user guide, "Secret ARN" /
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html).

SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:db/pass"


@pytest.mark.parametrize(
    ("value_from", "partial"),
    [
        (SECRET, True),
        (SECRET + ":password::", True),
        (SECRET + "-AbC123", False),
        (SECRET + "-AbC123:password::", False),
        ("arn:aws:ssm:us-west-2:123456789012:parameter/db/pass", False),
    ],
)
def test_partial_secret_arn_is_an_info_with_the_full_form(value_from: str, partial: bool) -> None:
    text = BASE + JOB + f"    secrets: {{DB: '{value_from}'}}\n"
    hits = [d for d in diagnostics(text) if d.code == "BF457"]
    assert [(d.line, d.level) for d in hits] == (
        [(line_of(text, "secrets:"), Level.INFO)] if partial else []
    )
    if partial:
        assert hits[0].hint is not None and f"{SECRET}-XXXXXX" in hits[0].hint


# --- trust policies and outputs --------------------------------------------------------------
# Confused-deputy protection: AWS Batch and ECS tasks send aws:SourceAccount when they assume a
# role (https://docs.aws.amazon.com/batch/latest/userguide/
# cross-service-confused-deputy-prevention.html; https://docs.aws.amazon.com/AmazonECS/latest/
# developerguide/task-iam-roles.html); EC2 instance profiles and Spot Fleet do not.

ROLES = """\
iam: {service_role: generated}
job_definitions:
  work:
    image: public.ecr.aws/docker/library/busybox:1.36
    vcpus: 1
    memory: 1 GiB
    job_role: {s3_read: [inputs]}
    secrets: {DB: arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbC123}
"""


def _trust_by_role() -> dict[str, dict[str, object]]:
    import hcl2

    analysis = analyze_text(
        BASE.replace("allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED", "bid_percentage: 50")
        + ROLES,
        "t.yaml",
    )
    assert analysis.env is not None
    text = render_environment(analysis.env, "t.yaml")["iam.tf"]
    assert 'data "aws_caller_identity" "current" {}' in text
    parsed = hcl2.loads(text)
    roles = {
        name.strip('"'): body
        for block in parsed["resource"]
        for rtype, items in block.items()
        if rtype.strip('"') == "aws_iam_role"
        for name, body in items.items()
    }
    return {name: {"policy": body["assume_role_policy"]} for name, body in roles.items()}


def test_batch_and_ecs_task_roles_trust_only_this_account() -> None:
    roles = _trust_by_role()
    assert set(roles) == {"batch_service", "ecs_instance", "spot_fleet", "execution", "job_work"}
    condition = '"aws:SourceAccount" = data.aws_caller_identity.current.account_id'
    for name in ("batch_service", "execution", "job_work"):
        assert condition.replace(" ", "") in str(roles[name]["policy"]).replace(" ", ""), name
    for name in ("ecs_instance", "spot_fleet"):
        assert "SourceAccount" not in str(roles[name]["policy"]), name


def test_outputs_carry_revision_free_job_definition_arns() -> None:
    # aws_batch_job_definition.arn_prefix: the ARN without ":<revision>" (provider 5.32.0,
    # #34997); SubmitJob with it runs the latest ACTIVE revision.
    analysis = analyze_text(BASE + JOB, "t.yaml")
    assert analysis.env is not None
    text = render_environment(analysis.env, "t.yaml")["outputs.tf"]
    assert 'output "job_definition_arn_prefixes"' in text
    assert "work = aws_batch_job_definition.work.arn_prefix" in text
