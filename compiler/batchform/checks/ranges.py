"""Numeric ranges AWS enforces on one value, as a table feeding one generic check.

Each :class:`Range` row names the value by a path pattern into the model (``*`` stands for
every key of a mapping or every index of a list), its bounds and unit, the message and hint a
user sees, and the AWS page the bounds come from. Every code of the table is registered as a
rule like any other (``@rule``), so its level, summary, page and ``ignore`` behaviour are those
of a hand-written rule; the finding stands at the value, as before.

What is more than one value against two bounds stays a hand-written rule: a bound that depends
on another value (``min_vcpus`` up to ``max_vcpus``, BF305), on a volume type (BF323-BF325) or a
unit conversion (BF319), a bound that depends on the platform a job inherits (BF421), counts of
list items (BF406, BF417, BF433) and the 32-bit integer bound of every number (BF492).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from pydantic import BaseModel

from batchform.checks import CheckFunction, Finding, rule
from batchform.diagnostics import Level, Path
from batchform.model import Environment

BATCH_API = "https://docs.aws.amazon.com/batch/latest/APIReference"


@dataclass(frozen=True)
class Range:
    """One bounded value. ``message`` and ``hint`` are :meth:`str.format` templates over
    ``value``, ``low``, ``high``, ``unit``, ``key`` (what the first ``*`` matched, such as the
    queue's key) and ``parent`` (the model object holding the value)."""

    code: str
    summary: str
    pattern: str
    low: float | None
    high: float | None
    unit: str
    message: str
    hint: str
    source: str
    level: Level = Level.ERROR
    when: Callable[[Any], bool] | None = None
    """Only values whose holder passes this (``bid_percentage`` of SPOT environments only)."""

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def findings(self, env: Environment) -> Iterator[Finding]:
        for path, keys, parent, value in _matches(env, tuple(self.pattern.split(".")), ()):
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if (self.when is not None and not self.when(parent)) or self.contains(value):
                continue
            fields = {
                "value": value,
                "low": _number(self.low),
                "high": _number(self.high),
                "unit": self.unit,
                "key": keys[0] if keys else "",
                "parent": parent,
            }
            yield Finding(path, self.message.format(**fields), self.hint.format(**fields))


def _number(bound: float | None) -> str:
    """``100``, ``0.0001``, ``999.9999``: a bound as the API reference writes it."""
    if bound is None:
        return ""
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


def _children(node: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(node, dict):
        yield from node.items()
    elif isinstance(node, list | tuple):
        yield from enumerate(node)


def _child(node: Any, name: str) -> Any:
    if isinstance(node, BaseModel):
        return getattr(node, name, None)
    if isinstance(node, dict):
        return node.get(name)
    return None


def _matches(
    node: Any, parts: tuple[str, ...], path: Path, keys: tuple[str | int, ...] = ()
) -> Iterator[tuple[Path, tuple[str | int, ...], Any, Any]]:
    """(path, wildcard keys, holder, value) of every value the pattern ``parts`` names."""
    head, rest = parts[0], parts[1:]
    if head == "*":
        for key, child in _children(node):
            yield from _step(node, child, rest, (*path, key), (*keys, key))
    else:
        yield from _step(node, _child(node, head), rest, (*path, head), keys)


def _step(
    parent: Any, child: Any, rest: tuple[str, ...], path: Path, keys: tuple[str | int, ...]
) -> Iterator[tuple[Path, tuple[str | int, ...], Any, Any]]:
    if child is None:
        return
    if rest:
        yield from _matches(child, rest, path, keys)
    else:
        yield path, keys, parent, child


ATTEMPTS_HINT = "attempts counts the first try too: 1 means no retry"

RANGES: tuple[Range, ...] = (
    Range(
        "BF304",
        "bid_percentage outside 1-100",
        "compute_environments.*.bid_percentage",
        1,
        100,
        "%",
        "bid_percentage {value} is outside {low}-{high}: it is the highest Spot price to pay, "
        "as a percentage of the On-Demand price",
        "use e.g. 60 to pay at most 60% of On-Demand, or 100 to never pay more",
        f"{BATCH_API}/API_ComputeResource.html",
        when=lambda ce: ce.type == "SPOT",  # BF303 reports it on EC2, where it does not apply
    ),
    Range(
        "BF306",
        "max_vcpus must be at least 1",
        "compute_environments.*.max_vcpus",
        1,
        None,
        "vCPUs",
        "max_vcpus {value} lets compute environment '{key}' run nothing",
        "set max_vcpus to the most vCPUs all its jobs may use at once",
        f"{BATCH_API}/API_ComputeResource.html",
    ),
    Range(
        "BF405",
        "a job queue priority is outside 0-1000",
        "job_queues.*.priority",
        0,
        1000,
        "",
        "priority {value} of job queue '{key}' is outside {low}-{high}",
        "higher numbers are scheduled first; use a value from {low} to {high}",
        f"{BATCH_API}/API_CreateJobQueue.html",
    ),
    Range(
        "BF410",
        "a job state time-limit action is outside 600-86400 seconds",
        "job_queues.*.time_limit_actions.*.after",
        600,
        86400,
        "seconds",
        "time-limit action after {value}s is outside {low}-{high} seconds (10 minutes to 24 hours)",
        "use a duration such as 10m, 1h or 24h",
        f"{BATCH_API}/API_JobStateTimeLimitAction.html",
    ),
    Range(
        "BF415",
        "a fair-share decay is outside 0-604800 seconds",
        "scheduling_policies.*.share_decay",
        0,
        604800,
        "seconds",
        "share_decay of {value}s is more than {high} seconds (7 days)",  # a duration is >= 0
        "use at most 7d",
        f"{BATCH_API}/API_FairsharePolicy.html",
    ),
    Range(
        "BF416",
        "a fair-share compute reservation is outside 0-99",
        "scheduling_policies.*.compute_reservation",
        0,
        99,
        "%",
        "compute_reservation {value} is outside {low}-{high}",
        "it is a percentage of capacity held back for share identifiers not yet seen; {low}-{high}",
        f"{BATCH_API}/API_FairsharePolicy.html",
    ),
    Range(
        "BF418",
        "a fair-share weight is outside 0.0001-999.9999",
        "scheduling_policies.*.shares.*.weight",
        0.0001,
        999.9999,
        "",
        "weight {value:g} of share '{parent.identifier}' is outside {low}-{high}",
        "a lower weight gets more capacity; 1.0 is the usual baseline",
        f"{BATCH_API}/API_ShareAttributes.html",
    ),
    Range(
        "BF429",
        "Fargate ephemeral storage is outside 21-200 GiB",
        "job_definitions.*.ephemeral_storage",
        21,
        200,
        "GiB",
        "ephemeral_storage of {value} GiB is outside {low}-{high} GiB",
        "omit it for Fargate's default 20 GiB, or use {low}-{high} GiB",
        f"{BATCH_API}/API_EphemeralStorage.html",
    ),
    # Written once under job_defaults and once per job that sets its own
    # (compiler/batchform/checks/jobs.py).
    Range(
        "BF432",
        "retry attempts are outside 1-10",
        "job_defaults.retry.attempts",
        1,
        10,
        "attempts",
        "retry attempts {value} is outside {low}-{high}",
        ATTEMPTS_HINT,
        f"{BATCH_API}/API_RetryStrategy.html",
    ),
    Range(
        "BF432",
        "retry attempts are outside 1-10",
        "job_definitions.*.retry.attempts",
        1,
        10,
        "attempts",
        "retry attempts {value} is outside {low}-{high}",
        ATTEMPTS_HINT,
        f"{BATCH_API}/API_RetryStrategy.html",
    ),
    Range(
        "BF436",
        "a job timeout is shorter than 60 seconds",
        "job_defaults.timeout",
        60,
        None,
        "seconds",
        "timeout of {value}s is shorter than the {low} seconds AWS Batch accepts",
        "use at least 60s (1m)",
        f"{BATCH_API}/API_JobTimeout.html",
    ),
    Range(
        "BF436",
        "a job timeout is shorter than 60 seconds",
        "job_definitions.*.timeout",
        60,
        None,
        "seconds",
        "timeout of {value}s is shorter than the {low} seconds AWS Batch accepts",
        "use at least 60s (1m)",
        f"{BATCH_API}/API_JobTimeout.html",
    ),
    # A schedule submits the job through EventBridge Scheduler's Batch target, which passes
    # these to SubmitJob unchanged.
    Range(
        "BF508",
        "a schedule's array size or attempts are outside AWS's range",
        "schedules.*.array_size",
        2,
        10000,
        "jobs",
        "array_size {value} is outside {low}-{high}",
        "leave array_size out for a single job",
        f"{BATCH_API}/API_ArrayProperties.html",
    ),
    Range(
        "BF508",
        "a schedule's array size or attempts are outside AWS's range",
        "schedules.*.attempts",
        1,
        10,
        "attempts",
        "attempts {value} is outside {low}-{high}",
        ATTEMPTS_HINT,
        f"{BATCH_API}/API_RetryStrategy.html",
    ),
    # Container options (compiler/batchform/checks/containers.py has the rules that are more
    # than one value against bounds).
    Range(
        "BF524",
        "a tmpfs or shared memory size is below 1 MiB",
        "job_definitions.*.tmpfs.*.size",
        1,
        None,
        "MiB",
        "a tmpfs volume of {value} MiB in job definition '{key}' holds nothing",
        "give it a size such as 512 MiB, or remove the mount",
        f"{BATCH_API}/API_Tmpfs.html",
    ),
    Range(
        "BF524",
        "a tmpfs or shared memory size is below 1 MiB",
        "job_definitions.*.shared_memory",
        1,
        None,
        "MiB",
        "shared_memory {value} MiB of job definition '{key}' is no size: Docker would fall "
        "back to its 64 MiB default",
        "give the size /dev/shm needs (such as 2 GiB), or remove shared_memory",
        f"{BATCH_API}/API_LinuxParameters.html",
    ),
    Range(
        "BF525",
        "swap.swappiness is outside 0-100",
        "job_definitions.*.swap.swappiness",
        0,
        100,
        "",
        "swappiness {value} of job definition '{key}' is outside {low}-{high}",
        "0 swaps only when it must, 100 swaps eagerly; AWS's default is 60",
        f"{BATCH_API}/API_LinuxParameters.html",
    ),
)


def _check(code: str, rows: tuple[Range, ...]) -> CheckFunction:
    def check(env: Environment) -> Iterator[Finding]:
        for row in rows:
            yield from row.findings(env)

    check.__name__ = f"range_{code.lower()}"
    check.__doc__ = "Range limits of the table: " + "; ".join(
        f"{r.pattern} in {_number(r.low) or '-inf'}..{_number(r.high) or 'inf'} ({r.source})"
        for r in rows
    )
    return check


def _register() -> None:
    """One rule per code; rows sharing a code must agree on its level and summary."""
    for code, group in groupby(sorted(RANGES, key=lambda r: r.code), key=lambda r: r.code):
        rows = tuple(group)
        if len({(r.level, r.summary) for r in rows}) != 1:
            raise RuntimeError(f"the range rows of {code} disagree on level or summary")
        rule(code, rows[0].level, rows[0].summary)(_check(code, rows))


_register()
