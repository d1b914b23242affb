"""Verify the operations side: EventBridge Scheduler schedules and the alert rules.

Neither kind is tagged by batchform (Scheduler schedules take no tags, and a rule's tags need a
call per rule), so both are found by their exact names, which the plan decides:
``<name>-<schedule key>`` (or the schedule's ``aws_name``, ``<aws_name_prefix><key>``) in the
``default`` schedule group and ``<name>-<event>`` on the
default event bus. Calls: one ``GetSchedule`` per schedule, one ``DescribeRule`` and one
``ListTargetsByRule`` per alert rule, all read-only and all in the first round of reads.

The expected values are the plan's own (:mod:`batchform.plan.operations`), with the queue, job
definition, role and topic references resolved to the live ARNs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from batchform import naming
from batchform.model import Environment
from batchform.plan import operations as plan_ops
from batchform.regions import region_partition
from batchform.verify import fetch
from batchform.verify.desired import Desired
from batchform.verify.fetch import NotFound, Reader
from batchform.verify.live import Live
from batchform.verify.result import Kind, ResourceCheck

SCHEDULES = "schedules"
ALERT_RULES = "alert_rules"


def _not_found(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise NotFound(str(exc)) from None
        raise


def get_schedule(scheduler: Any, name: str) -> dict[str, Any]:
    got: dict[str, Any] = _not_found(
        lambda: scheduler.get_schedule(Name=name, GroupName=plan_ops.SCHEDULE_GROUP)
    )
    return got


def describe_rule(events: Any, name: str) -> dict[str, Any]:
    rule: dict[str, Any] = _not_found(lambda: events.describe_rule(Name=name))
    rule["Targets"] = [
        t
        for page in events.get_paginator("list_targets_by_rule").paginate(Rule=name)
        for t in page["Targets"]
    ]
    return rule


def schedule_names(env: Environment) -> list[str]:
    return [naming.resource_name(env, "schedules", key) for key in sorted(env.schedules)]


def rule_names(env: Environment) -> list[str]:
    if env.alerts is None:
        return []
    return [plan_ops.alert_rule_name(env, e) for e in plan_ops.alert_rules(env.alerts)]


def _read_by_name(
    reader: Reader,
    topic: str,
    service: str,
    operation: str,
    fetch: Callable[[str], dict[str, Any]],
    store: dict[str, dict[str, Any] | None],
    name: str,
) -> Callable[[], None]:
    """A task reading one resource by name into ``store`` (``None`` when it does not exist)."""

    def task() -> None:
        try:
            got = reader.read(topic, service, operation, lambda: fetch(name))
        except NotFound:
            store[name] = None
            return
        if got is not None:
            store[name] = got

    return task


def read_tasks(desired: Desired, reader: Reader, live: Live) -> list[Callable[[], None]]:
    """The reads of the first round: each schedule and each alert rule by name."""
    env = desired.env
    clients = reader.clients
    return [
        *(
            _read_by_name(
                reader,
                SCHEDULES,
                "scheduler",
                "GetSchedule",
                lambda n: get_schedule(clients.scheduler, n),
                live.schedules,
                name,
            )
            for name in schedule_names(env)
        ),
        *(
            _read_by_name(
                reader,
                ALERT_RULES,
                "events",
                "DescribeRule/ListTargetsByRule",
                lambda n: describe_rule(clients.events, n),
                live.event_rules,
                name,
            )
            for name in rule_names(env)
        ),
    ]


def bind(live: Live, desired: Desired) -> None:
    """Addresses the schedules and rules refer to: queues, job definition revisions, topic."""
    env = desired.env
    for key in env.job_queues:
        name = naming.resource_name(env, "job_queues", key)
        for q in live.job_queues or []:
            if q.get("jobQueueName") == name:
                live.bind(f"aws_batch_job_queue.{naming.label(key)}", arn=q["jobQueueArn"])
    for key in env.job_definitions:
        name = naming.resource_name(env, "job_definitions", key)
        revisions = live.revisions(name)
        if revisions:
            latest = max(revisions, key=lambda jd: int(jd.get("revision", 0)))
            live.bind(
                f"aws_batch_job_definition.{naming.label(key)}", arn=latest["jobDefinitionArn"]
            )
    if env.alerts is not None and env.alerts.topic_arn is None:
        for rule in live.event_rules.values():
            account = fetch.arn_account((rule or {}).get("Arn"))
            if account is not None:
                live.bind(
                    "aws_sns_topic.alerts",
                    arn=(
                        f"arn:{region_partition(env.region)}:sns:{env.region}:{account}:"
                        f"{naming.aws_name(env.name, 'alerts')}"
                    ),
                )
                break


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _found(
    kind: str, key: str, name: str, store: dict[str, dict[str, Any] | None]
) -> tuple[ResourceCheck, dict[str, Any] | None]:
    """The check of one resource found by name, marked missing when it was not found."""
    check = ResourceCheck(kind, key, name)
    actual = store.get(name)
    if actual is None:
        check.differ("", name, None, Kind.MISSING)
    return check, actual


def check_schedules(live: Live, desired: Desired) -> list[ResourceCheck]:
    env = desired.env
    file = plan_ops.plan(env).get("schedules.tf")
    contexts = file["schedules"] if file else []
    checks = []
    target = f"arn:{region_partition(env.region)}:{plan_ops.SUBMIT_JOB_TARGET}"
    for ctx, key in zip(contexts, sorted(env.schedules), strict=True):
        check, actual = _found(SCHEDULES, key, ctx["name"], live.schedules)
        checks.append(check)
        if actual is None:
            continue
        check.compare("ScheduleExpression", ctx["expression"], actual.get("ScheduleExpression"))
        check.compare(
            "ScheduleExpressionTimezone",
            ctx["timezone"],
            actual.get("ScheduleExpressionTimezone", "UTC"),
        )
        check.compare("State", ctx["state"], actual.get("State"))
        got_target = actual.get("Target") or {}
        check.compare("Target.Arn", target, got_target.get("Arn"))
        check.compare("Target.RoleArn", live.resolve(ctx["role_arn"]), got_target.get("RoleArn"))
        check.compare("Target.Input", live.resolve(ctx["input"]), _json(got_target.get("Input")))
    return checks


def check_alert_rules(live: Live, desired: Desired) -> list[ResourceCheck]:
    env = desired.env
    if env.alerts is None:
        return []
    context = plan_ops.plan(env)["alerts.tf"]
    checks = []
    for ctx in context["rules"]:
        check, actual = _found(ALERT_RULES, ctx["event"], ctx["name"], live.event_rules)
        checks.append(check)
        if actual is None:
            continue
        check.compare("State", "ENABLED", actual.get("State"), Kind.UNHEALTHY)
        check.compare(
            "EventPattern", live.resolve(ctx["event_pattern"]), _json(actual.get("EventPattern"))
        )
        want_topic = live.resolve(ctx["topic_arn"])
        targets = actual.get("Targets") or []
        sns = [t for t in targets if t.get("Arn") == want_topic]
        if not sns:
            check.differ(
                "Targets",
                want_topic,
                [t.get("Arn") for t in targets],
                Kind.MISSING,
                "the rule does not send to the alert topic",
            )
            continue
        transformer = sns[0].get("InputTransformer") or {}
        check.compare(
            "InputTransformer.InputPathsMap",
            ctx["input_paths"],
            transformer.get("InputPathsMap"),
        )
        check.compare(
            "InputTransformer.InputTemplate",
            ctx["input_template"],
            transformer.get("InputTemplate"),
        )
    return checks


CHECKS: dict[str, Callable[[Live, Desired], list[ResourceCheck]]] = {
    SCHEDULES: check_schedules,
    ALERT_RULES: check_alert_rules,
}

TOPICS: dict[str, list[str]] = {
    SCHEDULES: [SCHEDULES, "job_queues", "job_definitions"],
    ALERT_RULES: [ALERT_RULES, "job_queues"],
}
"""The reads each check's verdict rests on (see ``engine.SECTION_TOPICS``)."""
