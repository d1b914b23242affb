"""Deployed EventBridge Scheduler schedules that submit AWS Batch jobs -> ``schedules``.

batchform compiles a ``schedules.<key>`` entry to one ``aws_scheduler_schedule`` in the
``default`` group whose target is the SubmitJob universal target, with the SubmitJob request as
its ``Input`` (``JobName`` is the key, ``JobQueue`` and ``JobDefinition`` the ARNs of the
queue and of the job definition revision the module manages) and batchform's own role
(compiler/batchform/plan/operations.py). The mapping here writes what the format can say
(``cron``/``rate``, ``timezone``, ``state``, ``parameters``, ``share_identifier``,
``array_size``, ``attempts``, ``aws_name``); :func:`batchform.importer.exactness.compare` then
compares the whole schedule with what batchform would write and lists every other difference.

Shapes: ``GetSchedule``
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_GetSchedule.html) and the
SubmitJob request (https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html).
"""

from __future__ import annotations

import re
from typing import Any

from batchform import naming
from batchform.importer.mapping import key_for
from batchform.importer.read import (
    Snapshot,
    job_definition_name,
    queue_name,
    submit_input,
)
from batchform.importer.result import Adopted, Adoption
from batchform.model import KEY_PATTERN

SCHEDULER_PURPOSE = "scheduler"
"""The role batchform generates for schedules: ``aws_iam_role.scheduler``, ``<name>-scheduler``
(compiler/batchform/derive.py, ``role_specs``)."""
SUBMIT_POLICY = ("scheduler_submit", "submit-jobs")
"""Label and name of its inline policy (compiler/batchform/plan/iam.py)."""

_KEY = re.compile(KEY_PATTERN.removesuffix("$") + r"\Z")
_EXPRESSION = re.compile(r"(cron|rate)\((.*)\)\Z", re.DOTALL)


def schedule_key(schedule: dict[str, Any], env_name: str, taken: dict[str, Any]) -> str:
    """The key batchform would have made this schedule from: its SubmitJob ``JobName`` (a
    batchform schedule submits under its key), else one made from its name."""
    job_name = str((submit_input(schedule) or {}).get("JobName", ""))
    if _KEY.match(job_name) and job_name not in taken:
        return job_name
    return key_for(str(schedule["Name"]), env_name, taken)


def expression(text: str) -> dict[str, str] | None:
    """``{"cron": ...}`` or ``{"rate": ...}`` from ``cron(...)`` / ``rate(...)``; ``None`` for a
    one-time ``at(...)`` schedule, which the format cannot hold."""
    match = _EXPRESSION.match(text.strip())
    if match is None:
        return None
    return {match.group(1): " ".join(match.group(2).split())}


def _request_keys(request: dict[str, Any], entry: dict[str, Any]) -> None:
    """The SubmitJob fields the format has keys for (exactness lists the others)."""
    parameters = request.get("Parameters")
    if isinstance(parameters, dict) and parameters:
        entry["parameters"] = {str(k): str(v) for k, v in sorted(parameters.items())}
    if request.get("ShareIdentifier") is not None:
        entry["share_identifier"] = str(request["ShareIdentifier"])
    size = (request.get("ArrayProperties") or {}).get("Size")
    if isinstance(size, int) and not isinstance(size, bool):
        entry["array_size"] = size
    attempts = (request.get("RetryStrategy") or {}).get("Attempts")
    if isinstance(attempts, int) and not isinstance(attempts, bool):
        entry["attempts"] = attempts


def schedule(
    live: dict[str, Any],
    key: str,
    queue_keys: dict[str, str],
    job_keys: dict[str, str],
    adoption: Adoption,
) -> dict[str, Any] | None:
    """One schedule's entry, or ``None`` (left out) when the format cannot hold it at all."""
    name = str(live["Name"])
    group = str(live.get("GroupName") or "default")
    resource = f"schedule {key}"
    request = submit_input(live) or {}
    queue = queue_keys.get(queue_name(str(request.get("JobQueue", ""))))
    job = job_keys.get(job_definition_name(str(request.get("JobDefinition", ""))))
    when = expression(str(live.get("ScheduleExpression", "")))
    why = None
    if queue is None or job is None:
        why = "its job queue or job definition could not be written"
    elif when is None:
        why = "a one-time schedule (`at(...)`) cannot be written, only cron and rate"
    if why is not None:
        adoption.leave_out(
            ("schedules",),
            resource,
            f"{group}/{name} ({live.get('ScheduleExpression')})",
            f"{why}; it stays outside batchform",
        )
        return None
    assert queue is not None and job is not None and when is not None
    entry: dict[str, Any] = {}
    env_name = str(adoption.document.get("name"))
    if name != naming.aws_name(env_name, key):
        entry["aws_name"] = name
    entry.update({"job_definition": job, "queue": queue, **when})
    timezone = str(live.get("ScheduleExpressionTimezone") or "UTC")
    if timezone != "UTC":
        entry["timezone"] = timezone
    _request_keys(request, entry)
    if live.get("State") and live["State"] != "ENABLED":
        entry["state"] = str(live["State"])
    adoption.adopted.append(
        Adopted("schedules", key, "aws_scheduler_schedule", f"{group}/{name}", name)
    )
    return entry


def adopt_schedules(snapshot: Snapshot, adoption: Adoption) -> dict[str, Any]:
    """``schedules`` of the document, keyed like batchform keys them, and the scheduler role
    when it is batchform's (:func:`adopt_role`)."""
    document = adoption.document
    env_name = str(document.get("name"))
    queue_keys = _written_names(adoption, "job_queues")
    job_keys = _written_names(adoption, "job_definitions")
    out: dict[str, Any] = {}
    kept: list[dict[str, Any]] = []
    for live in sorted(snapshot.schedules, key=lambda s: str(s["Name"])):
        key = schedule_key(live, env_name, out)
        entry = schedule(live, key, queue_keys, job_keys, adoption)
        if entry is not None:
            out[key] = entry
            kept.append(live)
    adopt_role(snapshot, adoption, kept)
    return dict(sorted(out.items()))


def _written_names(adoption: Adoption, section: str) -> dict[str, str]:
    """``{AWS name: key}`` of the adopted resources of ``section`` the document holds."""
    entries = adoption.document.get(section, {})
    return {
        a.aws_name: a.key for a in adoption.adopted if a.section == section and a.key in entries
    }


def adopt_role(snapshot: Snapshot, adoption: Adoption, schedules: list[dict[str, Any]]) -> None:
    """The role the schedules assume, when it is the one batchform generates for this
    environment (``<name>-scheduler``): see :func:`adopt_role_record`. Any other role is left
    as it is, and the schedule's difference is listed by exactness."""
    wanted = naming.role_name(str(adoption.document.get("name")), SCHEDULER_PURPOSE)
    arns = {str((s.get("Target") or {}).get("RoleArn") or "") for s in schedules}
    for arn in sorted(arns):
        role = snapshot.roles.get(arn)
        if role is not None and role.get("RoleName") == wanted:
            adopt_role_record(adoption, role)
            return


def adopt_role_record(adoption: Adoption, role: dict[str, Any]) -> None:
    """Adopt ``role`` (``GetRole``'s answer, :func:`batchform.importer.read.scheduler_role`) as
    ``aws_iam_role.scheduler``, with its ``submit-jobs`` policy, rather than have the first
    apply create it again, which would fail (an IAM role name is unique in the account,
    whatever its path); its path and permissions boundary become ``iam.path`` and
    ``iam.permissions_boundary`` (the provider replaces a role whose path changes: ``path`` is
    ForceNew in internal/service/iam/role.go)."""
    name = str(role["RoleName"])
    iam = adoption.document.setdefault("iam", {})
    path = str(role.get("Path") or "/")
    if path != "/" and "path" not in iam:
        iam["path"] = path
    boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary and "permissions_boundary" not in iam:
        iam["permissions_boundary"] = str(boundary)
    adoption.adopted.append(Adopted("iam", SCHEDULER_PURPOSE, "aws_iam_role", name, name))
    label, policy = SUBMIT_POLICY
    if policy in role.get("InlinePolicyNames", []):
        adoption.adopted.append(
            Adopted("iam", label, "aws_iam_role_policy", f"{name}:{policy}", policy)
        )


def adopted_scheduler_role(adoption: Adoption) -> Adopted | None:
    """The scheduler role this import adopts, if any (the only role it adopts today, but
    looked up by its key so another adopted role can never be taken for it)."""
    return next(
        (
            a
            for a in adoption.adopted
            if a.tf_type == "aws_iam_role" and a.section == "iam" and a.key == SCHEDULER_PURPOSE
        ),
        None,
    )


def scheduler_role_adopted(adoption: Adoption) -> bool:
    return adopted_scheduler_role(adoption) is not None
