"""Schedules and alerts (BF500-BF519): rules, the generated Terraform, and the alert message.

Rule cases follow ``test_checks_jobs.py``: a bad case is the good file with one line changed and
marked ``#!``; the finding must stand on that line with the rule's code. The e2e part (the
example applied on moto, verify, a synthetic event through the deployed rule) lives in
``tests/test_verify_e2e.py``, which already deploys the genomics example that uses both.
"""

from __future__ import annotations

import re

import pytest

from batchform.build import analyze_text, render_environment
from batchform.checks.operations import cron_problem, rate_problem
from batchform.diagnostics import Level
from batchform.plan import operations
from tests.harness.events import FAILED_EVENT, transform

MARK = "#!"

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
  ec2: {type: EC2, max_vcpus: 64, instance_types: [c6i]}
  fargate: {type: FARGATE, max_vcpus: 16}
scheduling_policies:
  fair:
    shares:
      - {identifier: labA, weight: 1.0}
      - {identifier: "labB*", weight: 0.5}
job_queues:
  main: {priority: 10, compute_environments: [ec2], scheduling_policy: fair}
  serverless: {priority: 5, compute_environments: [fargate]}
job_definitions:
  align:
    image: example/bwa:1
    command: [bwa, Ref::reference, Ref::reads]
    parameters: {reference: s3://refs/hg38.fa}
    vcpus: 4
    memory: 8 GiB
  report:
    platform: FARGATE
    image: example/report:1
    vcpus: 0.5
    memory: 1 GiB
"""

SCHEDULES = """\
schedules:
  nightly:
    job_definition: align
    queue: main
    cron: "0 2 * * ? *"
    timezone: Europe/Berlin
    parameters: {reads: s3://runs/latest.fq}
    share_identifier: labA
    array_size: 10
    attempts: 2
  hourly-report:
    job_definition: report
    queue: serverless
    rate: 1 hour
"""

ALERTS = """\
alerts:
  email: [oncall@example.com, data-team@example.com]
  on: [job_failed, queue_blocked]
"""


def config(schedules: str = SCHEDULES, alerts: str = ALERTS) -> str:
    return BASE + schedules + alerts


def _ours(text: str) -> list[tuple[str, int | None, Level]]:
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is not None, analysis.diagnostics
    return [(d.code, d.line, d.level) for d in analysis.diagnostics if "BF500" <= d.code <= "BF519"]


def _marked_line(text: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, "a bad case marks exactly one line"
    return lines[0]


def _schedule(old: str, new: str) -> str:
    assert old in SCHEDULES, old
    return config(schedules=SCHEDULES.replace(old, f"{new}  {MARK}", 1))


def _alerts(old: str, new: str) -> str:
    assert old in ALERTS, old
    return config(alerts=ALERTS.replace(old, f"{new}  {MARK}", 1))


BAD: dict[str, tuple[str, str]] = {
    "unknown-job": ("BF500", _schedule("job_definition: align", "job_definition: allign")),
    "unknown-queue": ("BF500", _schedule("queue: serverless", "queue: servrless")),
    "cron-five-fields": ("BF501", _schedule('cron: "0 2 * * ? *"', 'cron: "0 2 * * *"')),
    "cron-both-days": ("BF501", _schedule('cron: "0 2 * * ? *"', 'cron: "0 2 * * MON *"')),
    "cron-hour-range": ("BF501", _schedule('cron: "0 2 * * ? *"', 'cron: "0 24 * * ? *"')),
    "rate-plural": ("BF501", _schedule("rate: 1 hour", "rate: 1 hours")),
    "rate-unit": ("BF501", _schedule("rate: 1 hour", "rate: 1 week")),
    "timezone": ("BF502", _schedule("timezone: Europe/Berlin", "timezone: Berlin")),
    "share-missing": (
        "BF503",
        config(
            schedules=SCHEDULES.replace("    share_identifier: labA\n", "").replace(
                "  nightly:", f"  nightly:  {MARK}"
            )
        ),
    ),
    "share-on-plain-queue": (
        "BF503",
        _schedule("    rate: 1 hour", "    rate: 1 hour\n    share_identifier: labA"),
    ),
    "share-unknown": ("BF504", _schedule("share_identifier: labA", "share_identifier: labC")),
    "required-parameter": (
        "BF505",
        config(
            schedules=SCHEDULES.replace(
                "    parameters: {reads: s3://runs/latest.fq}\n", ""
            ).replace("  nightly:", f"  nightly:  {MARK}")
        ),
    ),
    "unused-parameter": (
        "BF506",
        _schedule(
            "parameters: {reads: s3://runs/latest.fq}",
            "parameters:\n      reads: s3://runs/latest.fq\n      threads: '8'",
        ),
    ),
    "platform-mismatch": (
        "BF507",
        _schedule("queue: serverless", "queue: main\n    share_identifier: labA").replace(
            f"queue: main\n    share_identifier: labA  {MARK}",
            f"queue: main  {MARK}\n    share_identifier: labA",
        ),
    ),
    "array-size-one": ("BF508", _schedule("array_size: 10", "array_size: 1")),
    "attempts": ("BF508", _schedule("attempts: 2", "attempts: 11")),
    "email": (
        "BF510",
        _alerts(
            "email: [oncall@example.com, data-team@example.com]",
            "email:\n    - oncall@example.com\n    - oncall",
        ),
    ),
    "topic-arn": (
        "BF511",
        _alerts(
            "email: [oncall@example.com, data-team@example.com]", "topic_arn: arn:aws:sns:oops"
        ),
    ),
    "topic-region": (
        "BF511",
        _alerts(
            "email: [oncall@example.com, data-team@example.com]",
            "topic_arn: arn:aws:sns:eu-west-1:123456789012:ops",
        ),
    ),
    "existing-topic": (
        "BF512",
        _alerts(
            "email: [oncall@example.com, data-team@example.com]",
            "topic_arn: arn:aws:sns:us-west-2:123456789012:ops",
        ),
    ),
    "event-twice": (
        "BF514",
        _alerts("on: [job_failed, queue_blocked]", "on:\n    - job_failed\n    - job_failed"),
    ),
}


def test_the_good_file_is_silent() -> None:
    assert _ours(config()) == []


@pytest.mark.parametrize("case", sorted(BAD), ids=sorted(BAD))
def test_bad_case_fires_on_the_marked_line(case: str) -> None:
    code, text = BAD[case]
    found = [(c, line) for c, line, _ in _ours(text)]
    assert (code, _marked_line(text)) in found, found


def test_alerts_without_queues_are_refused() -> None:
    text = (
        BASE.split("scheduling_policies:")[0]
        + "alerts:  #!\n  email: [oncall@example.com]\n  on: [job_failed]\n"
    )
    analysis = analyze_text(text, "t.yaml")
    assert ("BF513", _marked_line(text)) in [(d.code, d.line) for d in analysis.diagnostics]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0 2 * * ? *", None),
        ("cron(0 8 1 * ? *)", None),
        ("*/15 8-17 ? * MON-FRI *", None),
        ("0 2 L * ? *", None),
        ("0 2 ? * 6#3 *", None),
        ("0 2 * * ? 2300", "year value 2300 is outside 1970-2199"),
        ("0 2 ? * ? *", "exactly one of day-of-month and day-of-week must be '?'"),
        ("0 2 * ? * *", "'?' is only allowed in day-of-month or day-of-week, not in month"),
        ("0 2 * * ? *\n", None),  # surrounding white space is not part of the expression
    ],
)
def test_cron_syntax(text: str, problem: str | None) -> None:
    assert cron_problem(text) == problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1 day", None),
        ("rate(5 minutes)", None),
        ("2 day", "a rate above 1 takes the plural unit: '2 days'"),
        ("0 minutes", "the value must be a positive whole number"),
    ],
)
def test_rate_syntax(text: str, problem: str | None) -> None:
    assert rate_problem(text) == problem


def test_yaml_11_on_key_is_the_alerts_key() -> None:
    """``on:`` is a boolean in YAML 1.1; as a key it must stay the word the format defines."""
    analysis = analyze_text(config(), "t.yaml")
    assert analysis.env is not None and analysis.env.alerts is not None
    assert analysis.env.alerts.on == ["job_failed", "queue_blocked"]


# --- the generated Terraform -----------------------------------------------------------------


def _files() -> dict[str, str]:
    analysis = analyze_text(config(), "t.yaml")
    assert analysis.env is not None and not analysis.failed(), analysis.diagnostics
    return render_environment(analysis.env, "t.yaml")


def test_schedules_submit_through_the_universal_target_with_the_api_parameters() -> None:
    text = _files()["schedules.tf"]
    nightly = text.split('resource "aws_scheduler_schedule" "nightly"')[1]
    assert 'schedule_expression          = "cron(0 2 * * ? *)"' in nightly
    assert 'schedule_expression_timezone = "Europe/Berlin"' in nightly
    assert (
        'arn      = "arn:${data.aws_partition.current.partition}:scheduler:::aws-sdk:batch:'
        'submitJob"' in nightly
    )
    for line in (
        "JobQueue      = aws_batch_job_queue.main.arn",
        "JobDefinition = aws_batch_job_definition.align.arn",
        'ShareIdentifier = "labA"',
        "Size = 10",
        "Attempts = 2",
        'reads = "s3://runs/latest.fq"',
    ):
        assert line in nightly, line
    assert 'schedule_expression          = "rate(1 hour)"' in text


def test_the_scheduler_role_may_submit_only_the_scheduled_jobs() -> None:
    iam = _files()["iam.tf"]
    policy = iam.split('resource "aws_iam_role_policy" "scheduler_submit"')[1].split("resource")[0]
    flat = " ".join(policy.split())
    assert 'Action = ["batch:SubmitJob"]' in flat
    resources = re.search(r"Resource = \[(.*?)\]", flat)
    assert resources is not None
    assert [r.strip() for r in resources.group(1).split(",") if r.strip()] == [
        "aws_batch_job_queue.main.arn",
        "aws_batch_job_queue.serverless.arn",
        "aws_batch_job_definition.align.arn",
        "aws_batch_job_definition.report.arn",
    ]
    assert 'Service = "scheduler.amazonaws.com"' in iam


def test_alerts_create_a_topic_only_the_rules_may_publish_to() -> None:
    text = _files()["alerts.tf"]
    assert text.count('resource "aws_cloudwatch_event_rule"') == 2
    assert text.count('protocol  = "email"') == 2
    policy = text.split('resource "aws_sns_topic_policy" "alerts"')[1].split("resource")[0]
    assert 'Service = "events.amazonaws.com"' in policy
    assert "aws_cloudwatch_event_rule.alert_job_failed.arn" in policy
    assert "aws_cloudwatch_event_rule.alert_queue_blocked.arn" in policy


def test_compute_environment_alerts_ride_on_the_queue_blocked_rule() -> None:
    both = analyze_text(
        config(
            alerts=ALERTS.replace(
                "[job_failed, queue_blocked]", "[queue_blocked, compute_environment_invalid]"
            )
        ),
        "t.yaml",
    )
    alone = analyze_text(
        config(
            alerts=ALERTS.replace("[job_failed, queue_blocked]", "[compute_environment_invalid]")
        ),
        "t.yaml",
    )
    assert both.env is not None and both.env.alerts is not None
    assert alone.env is not None and alone.env.alerts is not None
    assert operations.alert_rules(both.env.alerts) == ["queue_blocked"]
    assert operations.alert_rules(alone.env.alerts) == ["compute_environment_invalid"]
    pattern = operations.event_pattern(alone.env, "compute_environment_invalid")
    assert pattern["detail-type"] == ["Batch Job Queue Blocked"]
    assert pattern["detail"]["statusReason"] == [
        {"prefix": "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS"},
        {"prefix": "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"},
    ]


def test_reordering_emails_keeps_the_subscription_addresses() -> None:
    one = _files()["alerts.tf"]
    analysis = analyze_text(
        config(
            alerts=ALERTS.replace(
                "[oncall@example.com, data-team@example.com]",
                "[data-team@example.com, oncall@example.com]",
            )
        ),
        "t.yaml",
    )
    assert analysis.env is not None
    two = render_environment(analysis.env, "t.yaml")["alerts.tf"]
    labels = re.findall(r'resource "aws_sns_topic_subscription" "(\w+)"', one)
    assert sorted(labels) == sorted(
        re.findall(r'resource "aws_sns_topic_subscription" "(\w+)"', two)
    )
    assert labels == ["email_oncall_example_com", "email_data_team_example_com"]


# --- the alert message -----------------------------------------------------------------------


def test_the_job_failed_message_reads_well() -> None:
    analysis = analyze_text(config(), "t.yaml")
    assert analysis.env is not None
    message = transform(
        operations.INPUT_PATHS,
        operations.message_template(analysis.env, "job_failed"),
        FAILED_EVENT,
    )
    assert message == (
        "batchform demo: job nightly (4c7599ae) FAILED in queue "
        "arn:aws:batch:us-west-2:123456789012:job-queue/demo-main: Essential container in "
        "task exited. At 2026-11-30T02:14:07Z. https://us-west-2.console.aws.amazon.com/batch/"
        "home?region=us-west-2#jobs/detail/4c7599ae"
    )
