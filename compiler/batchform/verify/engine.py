"""The verify stage: a checked environment + injected boto3 clients -> a drift report.

Read everything once (:mod:`batchform.verify.gather`), compare every section
(:mod:`batchform.verify.batch`, :mod:`batchform.verify.infra`), then make incompleteness explicit:
a resource whose own read failed is *not checked* (never "missing"), and a difference that only
exists because a referenced resource could not be read is turned into a "not checked" note too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batchform.model import Environment
from batchform.verify import batch, infra, operations
from batchform.verify.clients import Clients
from batchform.verify.desired import Desired
from batchform.verify.fetch import Reader
from batchform.verify.gather import MOUNT_TARGETS_TOPIC, Gatherer, Progress
from batchform.verify.live import Live, Unresolved
from batchform.verify.result import Report, ResourceCheck

SECTION_TOPICS: dict[str, Callable[[ResourceCheck, Desired], list[str]]] = {
    batch.CE: lambda c, d: ["compute_environments", "job_queues"],
    batch.JQ: lambda c, d: ["job_queues", "compute_environments"],
    batch.SP: lambda c, d: ["scheduling_policies"],
    batch.JD: lambda c, d: ["job_definitions"],
    infra.SG: lambda c, d: ["security_groups"],
    infra.LT: lambda c, d: (
        ["launch_templates"] + ([f"launch template {c.name.split()[0]}"] if c.name else [])
    ),
    infra.ROLES: lambda c, d: [f"role {c.name}"],
    infra.PROFILE: lambda c, d: [f"instance profile {c.name}"],
    infra.LOGS: lambda c, d: ["log_groups"],
    infra.AMIS: lambda c, d: (
        ["images"]
        + [f"ssm parameter {a.ssm_parameter}" for k, a in d.env.amis.items() if k == c.key]
    ),
    infra.SUBNETS: lambda c, d: ["network"],
    infra.ENDPOINTS: lambda c, d: ["network"],
    infra.ROUTES: lambda c, d: ["network", "compute_environments"],
    operations.SCHEDULES: lambda c, d: [
        *operations.TOPICS[operations.SCHEDULES],
        f"role {d.env.name}-scheduler",
    ],
    operations.ALERT_RULES: lambda c, d: operations.TOPICS[operations.ALERT_RULES],
    infra.MOUNT_TARGETS: lambda c, d: [MOUNT_TARGETS_TOPIC, "network", "security_groups"],
}
"""The reads each section's verdict rests on: when one failed, the verdict is "not checked"."""


def _mentions_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, dict):
        return any(_mentions_unresolved(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_mentions_unresolved(v) for v in value)
    return False


def _account_for_failures(check: ResourceCheck, reader: Reader, desired: Desired) -> None:
    own = [reader.failed(t) for t in SECTION_TOPICS[check.kind](check, desired)]
    failures = [f for f in own if f]
    if failures:
        check.differences = []
        check.unchecked = failures
        return
    if not reader.failures:
        return
    kept = []
    for d in check.differences:
        if _mentions_unresolved(d.expected):
            check.unchecked.append(
                f"{d.attribute}: a resource it refers to could not be read ({d.expected})"
            )
        else:
            kept.append(d)
    check.differences = kept


def compare(live: Live, desired: Desired) -> list[ResourceCheck]:
    """Every section's checks. A check that crashes on something unexpected in AWS's answer
    makes its section "not checked" (exit 1) instead of ending the run with a traceback."""
    checks: list[ResourceCheck] = []
    for section in (batch.CHECKS, infra.CHECKS, operations.CHECKS):
        for kind, run in section.items():
            try:
                checks += run(live, desired)
            except Exception as exc:
                checks.append(
                    ResourceCheck(kind, "*", unchecked=[f"the {kind} check failed: {exc!r}"])
                )
    return checks


def verify(env: Environment, clients: Clients, progress: Progress | None = None) -> Report:
    """Compare what is deployed with ``env``; only Describe/List/Get calls are made."""
    desired = Desired(env)
    reader = Reader(clients)
    live = Gatherer(desired, reader, progress).gather()
    checks = compare(live, desired)
    for check in checks:
        _account_for_failures(check, reader, desired)
    region = getattr(getattr(clients.batch, "meta", None), "region_name", None) or env.region
    return Report(
        environment=env.name,
        region=str(region),
        resources=checks,
        incomplete=sorted(set(reader.failures.values())),
    )
