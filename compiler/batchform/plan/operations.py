"""Plan of the operations side: scheduled job submissions and alerts on stuck or failed jobs.

Two files, each written only when the file asks for it:

- ``schedules.tf``: one ``aws_scheduler_schedule`` per ``schedules`` entry. EventBridge
  Scheduler has no templated target for AWS Batch, so each schedule uses the *universal target*
  ``arn:<partition>:scheduler:::aws-sdk:batch:submitJob`` whose ``input`` is the SubmitJob
  request itself, in the API's own parameter names (EventBridge Scheduler user guide, "Using
  universal targets"). The role it assumes is ``aws_iam_role.scheduler`` (``iam.tf``), allowed
  ``batch:SubmitJob`` on exactly the queues and job definition revisions named here.
- ``alerts.tf``: one EventBridge rule per kind of event in ``alerts.on``, filtered to this
  environment's job queues, each with a target that sends a readable message (an input
  transformer) to one SNS topic: created with e-mail subscriptions, or an existing topic ARN.
  A created topic gets a policy that lets only these rules publish.

AWS Batch sends exactly two kinds of events to EventBridge, ``Batch Job State Change`` and
``Batch Job Queue Blocked`` (EventBridge event reference, "AWS Batch events"); there is no event
for a compute environment turning INVALID. ``compute_environment_invalid`` therefore alerts on
what users see of it: a queue blocked because its compute environments cannot run the job
(the blocked reasons AWS names ``MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS`` and
``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE``, "Jobs stuck in a RUNNABLE status"). With
``queue_blocked`` also chosen, the one queue-blocked rule carries those events already, so no
second rule (and no second message) is made.
"""

from __future__ import annotations

import re
from typing import Any

from batchform import derive, naming, refs
from batchform.hcl import Expr
from batchform.model import Alerts, Environment, Schedule
from batchform.plan.contract import AlertsContext, JsonObject, PlanFiles, ScheduleEntry

SCHEDULE_GROUP = "default"
SUBMIT_JOB_TARGET = "scheduler:::aws-sdk:batch:submitJob"
"""The universal target of SubmitJob, after ``arn:<partition>:`` (the plan writes the partition
as ``data.aws_partition.current``, from iam.tf; verify from the region)."""

EVENT_SOURCE = "aws.batch"
JOB_STATE_CHANGE = "Batch Job State Change"
JOB_QUEUE_BLOCKED = "Batch Job Queue Blocked"
COMPUTE_ENVIRONMENT_REASONS = (
    "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
)
"""Blocked-queue reasons that name a compute environment problem ("Jobs stuck in RUNNABLE")."""

INPUT_PATHS = {
    "job": "$.detail.jobName",
    "job_id": "$.detail.jobId",
    "queue": "$.detail.jobQueue",
    "reason": "$.detail.statusReason",
    "region": "$.region",
    "status": "$.detail.status",
    "time": "$.time",
}
"""The event fields every alert message quotes (EventBridge input transformer paths)."""

CONSOLE_JOB_LINK = (
    "https://<region>.console.aws.amazon.com/batch/home?region=<region>#jobs/detail/<job_id>"
)


def _expression(schedule: Schedule) -> str:
    """``cron(...)`` or ``rate(...)`` as Scheduler wants it; the file may write either form."""
    if schedule.cron is not None:
        return _wrapped("cron", schedule.cron)
    assert schedule.rate is not None
    return _wrapped("rate", schedule.rate)


def _wrapped(kind: str, text: str) -> str:
    body = text.strip()
    match = re.fullmatch(rf"{kind}\((.*)\)", body)
    if match is not None:
        body = match.group(1).strip()
    return f"{kind}({' '.join(body.split())})"


def expression(schedule: Schedule) -> str:
    """The schedule expression batchform writes (checks and verify compare with it)."""
    return _expression(schedule)


def submit_job_input(env: Environment, key: str) -> JsonObject:
    """The SubmitJob request a schedule sends, in the API's parameter names."""
    schedule = env.schedules[key]
    request: dict[str, Any] = {
        "JobName": key,
        "JobQueue": refs.job_queue_arn(schedule.queue),
        "JobDefinition": refs.job_definition_arn(schedule.job_definition),
    }
    if schedule.parameters:
        request["Parameters"] = dict(sorted(schedule.parameters.items()))
    if schedule.array_size is not None:
        request["ArrayProperties"] = {"Size": schedule.array_size}
    if schedule.attempts is not None:
        request["RetryStrategy"] = {"Attempts": schedule.attempts}
    if schedule.share_identifier is not None:
        request["ShareIdentifier"] = schedule.share_identifier
    return request


def _schedule(env: Environment, key: str) -> ScheduleEntry:
    schedule = env.schedules[key]
    return {
        "label": naming.label(key),
        "name": naming.resource_name(env, "schedules", key),
        "description": (
            f"batchform {env.name}: submits {schedule.job_definition} to {schedule.queue}"
        ),
        "expression": _expression(schedule),
        "timezone": schedule.timezone,
        "state": schedule.state,
        "group": SCHEDULE_GROUP,
        "target_arn": Expr(f'"arn:${{data.aws_partition.current.partition}}:{SUBMIT_JOB_TARGET}"'),
        "role_arn": Expr("aws_iam_role.scheduler.arn"),
        "input": submit_job_input(env, key),
    }


# --- alerts ----------------------------------------------------------------------------------


def alert_rules(alerts: Alerts) -> list[str]:
    """The rules the alerts make, in a fixed order (see the module docstring for the merge)."""
    chosen = set(alerts.on)
    if "queue_blocked" in chosen:
        chosen.discard("compute_environment_invalid")
    return [
        event
        for event in ("job_failed", "queue_blocked", "compute_environment_invalid")
        if event in chosen
    ]


def event_pattern(env: Environment, event: str) -> JsonObject:
    """The EventBridge pattern of one alert rule: Batch's own events on this environment's
    queues only (``detail.jobQueue`` is the queue ARN in both kinds of event)."""
    queues = [refs.job_queue_arn(q) for q in sorted(env.job_queues)]
    detail: dict[str, Any] = {"jobQueue": queues}
    if event == "job_failed":
        detail["status"] = ["FAILED"]
        kind = JOB_STATE_CHANGE
    else:
        kind = JOB_QUEUE_BLOCKED
        if event == "compute_environment_invalid":
            detail["statusReason"] = [{"prefix": reason} for reason in COMPUTE_ENVIRONMENT_REASONS]
    return {"source": [EVENT_SOURCE], "detail-type": [kind], "detail": detail}


def message_template(env: Environment, event: str) -> str:
    """The text of the SNS message: a JSON string, so SNS delivers it as plain text."""
    if event == "job_failed":
        what = "job <job> (<job_id>) FAILED in queue <queue>: <reason>"
    elif event == "queue_blocked":
        what = "queue <queue> is blocked by job <job> (<job_id>), RUNNABLE: <reason>"
    else:
        what = (
            "queue <queue> is blocked by its compute environments: job <job> (<job_id>) "
            "cannot be placed: <reason>"
        )
    text = f"batchform {env.name}: {what}. At <time>. {CONSOLE_JOB_LINK}"
    return f'"{text}"'


def alert_rule_label(event: str) -> str:
    return f"alert_{event}"


def alert_rule_name(env: Environment, event: str) -> str:
    return naming.aws_name(env.name, event.replace("_", "-"))


def topic_arn(env: Environment) -> Expr | str:
    assert env.alerts is not None
    if env.alerts.topic_arn is not None:
        return env.alerts.topic_arn
    return Expr("aws_sns_topic.alerts.arn")


def _subscription_labels(emails: list[str]) -> list[tuple[str, str]]:
    """A stable label per address (its text, not its position: reordering the list must not
    re-create subscriptions, which would send every recipient a new confirmation mail)."""
    out: list[tuple[str, str]] = []
    used: set[str] = set()
    for email in dict.fromkeys(emails):
        base = "email_" + re.sub(r"[^a-z0-9]+", "_", email.lower()).strip("_")
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate)
        out.append((candidate, email))
    return out


def topic_policy(env: Environment) -> JsonObject:
    """Only this environment's alert rules may publish to the topic it creates."""
    assert env.alerts is not None
    rules = [
        Expr(f"aws_cloudwatch_event_rule.{alert_rule_label(e)}.arn")
        for e in alert_rules(env.alerts)
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventBridgeAlertRules",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": Expr("aws_sns_topic.alerts.arn"),
                "Condition": {"ArnEquals": {"aws:SourceArn": rules}},
            }
        ],
    }


def _alerts(env: Environment) -> AlertsContext:
    alerts = env.alerts
    assert alerts is not None
    created = alerts.topic_arn is None
    return {
        "topic": (
            {
                "name": naming.aws_name(env.name, "alerts"),
                "policy": topic_policy(env),
                "tags": derive.tags(env, "alerts"),
            }
            if created
            else None
        ),
        "subscriptions": [
            {"label": label, "endpoint": email}
            for label, email in _subscription_labels(alerts.email)
        ],
        "rules": [
            {
                "event": event,
                "label": alert_rule_label(event),
                "rule_name": Expr(f"aws_cloudwatch_event_rule.{alert_rule_label(event)}.name"),
                "name": alert_rule_name(env, event),
                "description": f"batchform {env.name}: {event.replace('_', ' ')}",
                "event_pattern": event_pattern(env, event),
                "topic_arn": topic_arn(env),
                "input_paths": dict(sorted(INPUT_PATHS.items())),
                "input_template": message_template(env, event),
                "tags": derive.tags(env, f"alert-{event.replace('_', '-')}"),
            }
            for event in alert_rules(alerts)
        ],
    }


def plan(env: Environment) -> PlanFiles:
    files: PlanFiles = {}
    if env.schedules:
        files["schedules.tf"] = {
            "schedules": [_schedule(env, key) for key in sorted(env.schedules)]
        }
    if env.alerts is not None:
        files["alerts.tf"] = _alerts(env)
    return files
