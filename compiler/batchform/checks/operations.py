"""Rules for ``schedules`` (EventBridge Scheduler -> SubmitJob) and ``alerts`` (EventBridge -> SNS).

Expression syntax follows the EventBridge Scheduler user guide, "Schedule types": a cron
expression has six fields (minutes, hours, day-of-month, month, day-of-week, year) and one of
day-of-month / day-of-week must be ``?``; a rate is ``value unit`` with a positive whole value
and a singular unit for 1 (``1 day``) and a plural one otherwise (``2 days``). SubmitJob's own
rules (Batch API reference, SubmitJob): ``shareIdentifier`` must be given for a queue with a
scheduling policy and must not be given otherwise; array sizes are 2-10,000; retry attempts
1-10; every ``Ref::`` a command uses needs a value, from the job definition or the submission.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from functools import cache

from batchform import derive
from batchform.checks import Finding, rule
from batchform.checks.references import _dangling
from batchform.derive import referenced_parameters_in, required_parameters
from batchform.diagnostics import Level
from batchform.model import Environment, Schedule

_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"


@cache
def _field_patterns() -> tuple[tuple[str, re.Pattern[str], int, int], ...]:
    """(name, pattern of one comma-separated element, lowest, highest) for the six fields."""

    def element(value: str, extra: str = "") -> re.Pattern[str]:
        item = rf"(?:{value})"
        step = r"(?:/\d+)?"
        return re.compile(rf"(?:\*{step}|{item}(?:-{item})?{step}{extra})")

    return (
        ("minutes", element(r"\d{1,2}"), 0, 59),
        ("hours", element(r"\d{1,2}"), 0, 23),
        ("day-of-month", element(r"\d{1,2}", r"|L|LW|\d{1,2}W"), 1, 31),
        ("month", element(rf"\d{{1,2}}|{_MONTHS}"), 1, 12),
        ("day-of-week", element(rf"[1-7]|{_DAYS}", rf"|(?:[1-7]|{_DAYS})(?:L|#[1-5])|L"), 1, 7),
        ("year", element(r"\d{4}"), 1970, 2199),
    )


def _strip(kind: str, text: str) -> str:
    body = text.strip()
    match = re.fullmatch(rf"{kind}\((.*)\)", body, flags=re.DOTALL)
    return (match.group(1) if match else body).strip()


def cron_problem(text: str) -> str | None:
    """Why EventBridge Scheduler would refuse this cron expression, or ``None``."""
    fields = _strip("cron", text).split()
    if len(fields) != 6:
        return (
            f"has {len(fields)} fields; EventBridge cron has 6: minutes hours day-of-month "
            "month day-of-week year"
        )
    for value, (name, pattern, low, high) in zip(fields, _field_patterns(), strict=True):
        if value == "?":
            if name not in ("day-of-month", "day-of-week"):
                return f"'?' is only allowed in day-of-month or day-of-week, not in {name}"
            continue
        for part in value.split(","):
            if not pattern.fullmatch(part.upper()):
                return f"{name} '{value}' is not a valid value"
            for number in re.findall(r"(?<![/#])\b\d+", part):
                if not low <= int(number) <= high:
                    return f"{name} value {number} is outside {low}-{high}"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def rate_problem(text: str) -> str | None:
    match = re.fullmatch(r"(\d+)\s+([a-z]+)", _strip("rate", text))
    if match is None:
        return "is not 'VALUE UNIT' (for example '1 day' or '15 minutes')"
    value, unit = int(match.group(1)), match.group(2)
    units = ("minute", "hour", "day")
    if unit.rstrip("s") not in units:
        return f"unit '{unit}' is not minute(s), hour(s) or day(s)"
    if value < 1:
        return "the value must be a positive whole number"
    if value == 1 and unit.endswith("s"):
        return f"a rate of 1 takes the singular unit: '1 {unit[:-1]}'"
    if value > 1 and not unit.endswith("s"):
        return f"a rate above 1 takes the plural unit: '{value} {unit}s'"
    return None


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _schedules(env: Environment) -> Iterator[tuple[str, Schedule]]:
    yield from sorted(env.schedules.items())


@rule("BF500", Level.ERROR, "a schedule names a job definition or job queue that is not defined")
def schedule_references(env: Environment) -> Iterator[Finding]:
    for key, s in _schedules(env):
        yield from _dangling(
            ("schedules", key, "job_definition"),
            s.job_definition,
            env.job_definitions,
            "job_definitions",
        )
        yield from _dangling(("schedules", key, "queue"), s.queue, env.job_queues, "job_queues")


@rule("BF501", Level.ERROR, "a schedule's cron or rate expression is not one EventBridge accepts")
def schedule_expression_valid(env: Environment) -> Iterator[Finding]:
    for key, s in _schedules(env):
        if s.cron is not None:
            problem = cron_problem(s.cron)
            if problem:
                yield Finding(
                    ("schedules", key, "cron"),
                    f"cron '{s.cron}' {problem}",
                    "for example '0 2 * * ? *' runs at 02:00 every day",
                )
        elif s.rate is not None:
            problem = rate_problem(s.rate)
            if problem:
                yield Finding(("schedules", key, "rate"), f"rate '{s.rate}' {problem}")


@rule("BF502", Level.ERROR, "a schedule's time zone is not an IANA time zone name")
def schedule_timezone_valid(env: Environment) -> Iterator[Finding]:
    zones = _time_zones()
    if not zones:  # no time zone database on this machine: nothing to compare with
        return
    for key, s in _schedules(env):
        if s.timezone not in zones:
            close = [z for z in zones if z.lower() == s.timezone.lower()]
            yield Finding(
                ("schedules", key, "timezone"),
                f"time zone '{s.timezone}' is not an IANA time zone name",
                f"did you mean '{close[0]}'?" if close else "for example Europe/Berlin or UTC",
            )


@rule("BF503", Level.ERROR, "a share identifier is missing on a fair-share queue, or set elsewhere")
def schedule_share_identifier(env: Environment) -> Iterator[Finding]:
    for key, s in _schedules(env):
        queue = env.job_queues.get(s.queue)
        if queue is None:
            continue
        if queue.scheduling_policy is not None and s.share_identifier is None:
            policy = env.scheduling_policies.get(queue.scheduling_policy)
            example = (
                next((sh.identifier.rstrip("*") or "team" for sh in policy.shares), "team")
                if policy
                else "team"
            )
            yield Finding(
                ("schedules", key),
                f"queue '{s.queue}' has the scheduling policy '{queue.scheduling_policy}', so "
                "SubmitJob needs a share identifier",
                f"add share_identifier: {example}",
            )
        elif queue.scheduling_policy is None and s.share_identifier is not None:
            yield Finding(
                ("schedules", key, "share_identifier"),
                f"queue '{s.queue}' has no scheduling policy; SubmitJob refuses a share "
                "identifier there",
                "remove share_identifier, or give the queue a scheduling policy",
            )


@rule(
    "BF504", Level.WARNING, "a schedule's share identifier matches no share of the queue's policy"
)
def schedule_share_known(env: Environment) -> Iterator[Finding]:
    for key, s in _schedules(env):
        queue = env.job_queues.get(s.queue)
        if queue is None or queue.scheduling_policy is None or s.share_identifier is None:
            continue
        policy = env.scheduling_policies.get(queue.scheduling_policy)
        if policy is None or not policy.shares:
            continue
        ident = s.share_identifier
        if not any(
            ident == sh.identifier
            or (sh.identifier.endswith("*") and ident.startswith(sh.identifier[:-1]))
            for sh in policy.shares
        ):
            listed = ", ".join(sh.identifier for sh in policy.shares)
            yield Finding(
                ("schedules", key, "share_identifier"),
                f"share identifier '{ident}' matches none of the shares of policy "
                f"'{queue.scheduling_policy}' ({listed}), so these jobs get no weight of their own",
                "use one of the policy's identifiers, or add a share for it",
            )


@rule("BF505", Level.ERROR, "a schedule does not give a parameter the job's command needs")
def schedule_required_parameters(env: Environment) -> Iterator[Finding]:
    for key, s in _schedules(env):
        if s.job_definition not in env.job_definitions:
            continue
        missing = [
            name
            for name in required_parameters(env.job(s.job_definition))
            if name not in s.parameters
        ]
        if missing:
            yield Finding(
                ("schedules", key),
                f"job definition '{s.job_definition}' needs "
                + ", ".join(f"'{m}'" for m in missing)
                + " at submit time (Ref:: without a default); the scheduled job would fail",
                "add parameters: {" + ", ".join(f"{m}: ..." for m in missing) + "}",
            )


@rule("BF506", Level.WARNING, "a schedule passes a parameter the job's command never uses")
def schedule_unused_parameters(env: Environment) -> Iterator[Finding]:
    for key, s in _schedules(env):
        if s.job_definition not in env.job_definitions:
            continue
        job = env.job(s.job_definition)
        used = {name for arg in job.command for name in referenced_parameters_in(arg)}
        for name in s.parameters:
            if name not in used:
                yield Finding(
                    ("schedules", key, "parameters", name),
                    f"parameter '{name}' is not referenced (Ref::{name}) by the command of "
                    f"job definition '{s.job_definition}'",
                    "check the spelling, or remove it",
                )


@rule("BF507", Level.ERROR, "a scheduled job definition cannot run on the schedule's queue")
def schedule_job_runs_on_queue(env: Environment) -> Iterator[Finding]:
    for key, s in _schedules(env):
        queue = env.job_queues.get(s.queue)
        if queue is None or s.job_definition not in env.job_definitions:
            continue
        job = env.job(s.job_definition)
        ces = [
            env.compute_environments[c]
            for c in queue.compute_environments
            if c in env.compute_environments
        ]
        if ces and not any(derive.runs_on(job, ce) for ce in ces):
            platform = job.platform if job.platform in ("FARGATE", "EKS") else "EC2"
            yield Finding(
                ("schedules", key, "queue"),
                f"job definition '{s.job_definition}' runs on {platform}, but queue "
                f"'{s.queue}' has no {platform} compute environment: the job would stay RUNNABLE",
                "schedule it on a queue whose compute environments match the job's platform",
            )


# --- alerts ----------------------------------------------------------------------------------

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}")
SNS_TOPIC_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}"
)


@rule("BF510", Level.ERROR, "an alert e-mail address is invalid or listed twice")
def alert_emails_valid(env: Environment) -> Iterator[Finding]:
    if env.alerts is None:
        return
    seen: set[str] = set()
    for i, email in enumerate(env.alerts.email):
        if not EMAIL.fullmatch(email):
            yield Finding(
                ("alerts", "email", i), f"'{email}' is not an e-mail address", "name@example.com"
            )
        elif email.lower() in seen:
            yield Finding(("alerts", "email", i), f"'{email}' is listed twice")
        seen.add(email.lower())


@rule("BF511", Level.ERROR, "alerts.topic_arn is not an SNS topic ARN in the file's region")
def alert_topic_arn_valid(env: Environment) -> Iterator[Finding]:
    if env.alerts is None or env.alerts.topic_arn is None:
        return
    arn = env.alerts.topic_arn
    if not SNS_TOPIC_ARN.fullmatch(arn):
        yield Finding(
            ("alerts", "topic_arn"),
            f"'{arn}' is not an SNS topic ARN",
            f"arn:aws:sns:{env.region}:123456789012:my-topic",
        )
    elif arn.split(":")[3] != env.region:
        yield Finding(
            ("alerts", "topic_arn"),
            f"topic '{arn}' is in {arn.split(':')[3]}, the alert rules in {env.region}; "
            "EventBridge rules send to SNS topics of their own region",
            f"use a topic in {env.region}",
        )


@rule(
    "BF512", Level.INFO, "alerts go to an existing topic whose policy must let EventBridge publish"
)
def alert_existing_topic_policy(env: Environment) -> Iterator[Finding]:
    if env.alerts is None or env.alerts.topic_arn is None:
        return
    yield Finding(
        ("alerts", "topic_arn"),
        "batchform does not change the policy of a topic it does not create; EventBridge can "
        "deliver only if the topic's policy allows it",
        'add a statement allowing {"Service": "events.amazonaws.com"} sns:Publish on the topic '
        f"(for aws:SourceArn arn:aws:events:{env.region}:<account>:rule/{env.name}-*)",
    )


@rule("BF513", Level.ERROR, "alerts are asked for but the environment has no job queue to watch")
def alerts_need_queues(env: Environment) -> Iterator[Finding]:
    if env.alerts is not None and not env.job_queues:
        yield Finding(
            ("alerts",),
            "alerts watch this environment's job queues, and it has none",
            "define job_queues, or remove alerts",
        )


@rule("BF514", Level.WARNING, "alerts.on lists an event twice")
def alert_events_unique(env: Environment) -> Iterator[Finding]:
    if env.alerts is None:
        return
    for i, event in enumerate(env.alerts.on):
        if event in env.alerts.on[:i]:
            yield Finding(("alerts", "on", i), f"'{event}' is listed twice", "remove one")
