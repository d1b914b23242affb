"""Read an existing AWS Batch environment, read-only.

Every call goes through the verifier's clients (:func:`batchform.verify.clients.make_clients`),
which refuse any operation that is not ``Describe*``/``List*``/``Get*`` before it leaves the
process, and the verifier's batched describe helpers (:mod:`batchform.verify.fetch`): one
unfiltered ``DescribeJobQueues`` and ``DescribeComputeEnvironments`` (at most 50 of each per
Region), ``DescribeJobDefinitions`` with ``status=ACTIVE`` in pages of 100,
``DescribeSchedulingPolicies`` with up to 100 ARNs, one ``DescribeSubnets`` and one
``DescribeLaunchTemplates`` for all ids at once.

What is read starts from the job queues (the named ones, or every queue in the Region) and
follows their compute environments and scheduling policies; job definitions are not attached
to queues, so every ACTIVE one is read (or the named ones), and of each name its latest
revision.

EventBridge Scheduler schedules are read last (:func:`read_schedules`): ``ListSchedules`` over
every schedule group, then ``GetSchedule`` only for those whose target is the AWS Batch
SubmitJob universal target, and of those the ones that submit to a queue and a job definition
read above are kept; ``GetRole``, ``ListRolePolicies`` and ``GetRolePolicy`` (its
``submit-jobs`` policy) for the role they assume when it is named as batchform names its
scheduler role (``<name>-scheduler``), to adopt it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchform.verify import fetch
from batchform.verify.clients import Clients

Progress = Callable[[str], None]


class ReadError(Exception):
    """The account could not be read as asked (a named queue that does not exist, a denied
    call); the message says which and why."""


@dataclass
class Snapshot:
    """What was read, as AWS answered (the API's camelCase dicts)."""

    region: str
    queues: list[dict[str, Any]] = field(default_factory=list)
    compute_environments: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    job_definitions: list[dict[str, Any]] = field(default_factory=list)
    subnets: dict[str, dict[str, Any]] = field(default_factory=dict)
    launch_templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    """``GetSchedule`` answers of the schedules that submit to what was read."""
    skipped_schedules: list[str] = field(default_factory=list)
    """``<group>/<name>: why`` of each SubmitJob schedule that submits elsewhere."""
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``GetRole``'s ``Role`` by role ARN, with ``InlinePolicyNames`` added: the roles of the
    kept schedules named like batchform's scheduler role."""


def _select(
    found: list[dict[str, Any]], name_key: str, wanted: Sequence[str], kind: str
) -> list[dict[str, Any]]:
    """``found`` filtered to the names in ``wanted`` (all when empty); a missing name is an
    error naming what exists, so a typo is not taken for "nothing to import"."""
    if not wanted:
        return sorted(found, key=lambda item: str(item[name_key]))
    by_name = {str(item[name_key]): item for item in found}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        known = ", ".join(sorted(by_name)[:10]) or "none"
        raise ReadError(f"no {kind} named {', '.join(missing)} in this Region (found: {known})")
    return [by_name[name] for name in dict.fromkeys(wanted)]


def latest_revisions(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The highest ACTIVE revision of each job definition name, sorted by name."""
    latest: dict[str, dict[str, Any]] = {}
    for jd in definitions:
        name = str(jd["jobDefinitionName"])
        if name not in latest or int(jd.get("revision", 0)) > int(latest[name].get("revision", 0)):
            latest[name] = jd
    return [latest[name] for name in sorted(latest)]


def _queue_ce_arns(queues: list[dict[str, Any]]) -> list[str]:
    return [
        str(order["computeEnvironment"])
        for queue in queues
        for order in queue.get("computeEnvironmentOrder", [])
    ]


def _policies(batch: Any, arns: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in fetch.chunks(sorted(set(arns))):
        answer = batch.describe_scheduling_policies(arns=part)
        found += list(answer.get("schedulingPolicies", []))
    return found


def _launch_templates(ec2: Any, ces: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Launch templates the compute environments name, by id and by name (one call each)."""
    ids: set[str] = set()
    names: set[str] = set()
    for ce in ces:
        spec = ce.get("computeResources", {}).get("launchTemplate") or {}
        if spec.get("launchTemplateId"):
            ids.add(str(spec["launchTemplateId"]))
        elif spec.get("launchTemplateName"):
            names.add(str(spec["launchTemplateName"]))
    out: dict[str, dict[str, Any]] = {}
    for kwargs in ({"LaunchTemplateIds": sorted(ids)}, {"LaunchTemplateNames": sorted(names)}):
        if not next(iter(kwargs.values())):
            continue
        answer = ec2.describe_launch_templates(**kwargs)
        for template in fetch.ec2_items(answer, "LaunchTemplates"):
            out[str(template["LaunchTemplateId"])] = template
            out[str(template.get("LaunchTemplateName", ""))] = template
    return out


def read_account(
    clients: Clients,
    region: str,
    queue_names: Sequence[str] = (),
    job_definition_names: Sequence[str] = (),
    progress: Progress | None = None,
    every_job_definition: bool = True,
    schedule_names: Sequence[str] | None = None,
) -> Snapshot:
    """Read the queues (all, or those named), what they use, the job definitions (all, or
    those named; none when ``every_job_definition`` is false and none is named), and the
    schedules that submit to them (only those named, when ``schedule_names`` is given)."""
    say = progress or (lambda _message: None)
    batch, ec2 = clients.batch, clients.ec2
    snapshot = Snapshot(region)
    say("reading job queues")
    snapshot.queues = _select(fetch.job_queues(batch), "jobQueueName", queue_names, "job queue")
    say("reading compute environments")
    used = set(_queue_ce_arns(snapshot.queues))
    snapshot.compute_environments = sorted(
        (ce for ce in fetch.compute_environments(batch) if ce["computeEnvironmentArn"] in used),
        key=lambda ce: str(ce["computeEnvironmentName"]),
    )
    policy_arns = [
        str(q["schedulingPolicyArn"]) for q in snapshot.queues if q.get("schedulingPolicyArn")
    ]
    if policy_arns:
        say("reading scheduling policies")
        snapshot.policies = _policies(batch, policy_arns)
    if not job_definition_names and not every_job_definition:
        return _follow(ec2, snapshot, say)
    say("reading job definitions")
    every = latest_revisions(fetch.active_job_definitions(batch, ""))
    snapshot.job_definitions = _select(
        every, "jobDefinitionName", job_definition_names, "ACTIVE job definition"
    )
    if schedule_names is None or schedule_names:
        say("reading schedules")
        read_schedules(clients, snapshot, schedule_names)
    return _follow(ec2, snapshot, say)


def _follow(ec2: Any, snapshot: Snapshot, say: Progress) -> Snapshot:
    """The subnets and launch templates the compute environments name."""
    subnet_ids = [
        str(s)
        for ce in snapshot.compute_environments
        for s in ce.get("computeResources", {}).get("subnets", [])
    ]
    if subnet_ids:
        say("reading subnets")
        snapshot.subnets = fetch.subnets_by_id(ec2, subnet_ids)
    if any(
        ce.get("computeResources", {}).get("launchTemplate") for ce in snapshot.compute_environments
    ):
        say("reading launch templates")
        snapshot.launch_templates = _launch_templates(ec2, snapshot.compute_environments)
    return snapshot


# --- EventBridge Scheduler ------------------------------------------------------------------

SUBMIT_JOB_TARGET_SUFFIX = ":scheduler:::aws-sdk:batch:submitJob"
"""The AWS Batch SubmitJob universal target, after ``arn:<partition>``
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html)."""
SCHEDULER_ROLE_SUFFIX = "-scheduler"
"""batchform names its scheduler role ``<name>-scheduler`` (``naming.role_name``)."""


def is_submit_job(target_arn: Any) -> bool:
    return str(target_arn or "").endswith(SUBMIT_JOB_TARGET_SUFFIX)


def submit_input(schedule: dict[str, Any]) -> dict[str, Any] | None:
    """The SubmitJob request a schedule sends (its target's ``Input``, a JSON object), or
    ``None`` when it is not one."""
    text = (schedule.get("Target") or {}).get("Input")
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def job_definition_name(reference: str) -> str:
    """The name in a SubmitJob ``jobDefinition``: a name, ``name:revision``, or an ARN with
    or without the revision (https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html)."""
    text = reference.partition(":job-definition/")[2] if reference.startswith("arn:") else reference
    return text.split(":", 1)[0]


def queue_name(reference: str) -> str:
    """The name in a SubmitJob ``jobQueue``: a name or an ARN."""
    return reference.rsplit("/", 1)[-1] if reference.startswith("arn:") else reference


def _elsewhere(snapshot: Snapshot, request: dict[str, Any] | None) -> str | None:
    """Why a schedule's SubmitJob request is not this import's, ``None`` when it is."""
    if request is None:
        return "its input is not a SubmitJob request (a JSON object)"
    queues = {str(q["jobQueueName"]) for q in snapshot.queues}
    jobs = {str(jd["jobDefinitionName"]) for jd in snapshot.job_definitions}
    queue = queue_name(str(request.get("JobQueue", "")))
    job = job_definition_name(str(request.get("JobDefinition", "")))
    if queue not in queues:
        return f"submits to job queue {queue or '(none)'}, which is not imported"
    if job not in jobs:
        return f"submits job definition {job or '(none)'}, which is not imported"
    return None


def read_schedules(
    clients: Clients, snapshot: Snapshot, names: Sequence[str] | None = None
) -> None:
    """The SubmitJob schedules of every group that submit to the queues and job definitions
    of ``snapshot`` (only those named ``names``, when given), and the batchform-named roles
    they assume (see the module docstring)."""
    scheduler = clients.scheduler
    listed = [
        item
        for page in scheduler.get_paginator("list_schedules").paginate()
        for item in page.get("Schedules", [])
    ]
    for item in sorted(listed, key=lambda i: (str(i.get("GroupName")), str(i.get("Name")))):
        target = (item.get("Target") or {}).get("Arn")
        if target is not None and not is_submit_job(target):
            continue  # the list answer names the target: not a SubmitJob schedule
        if names is not None and str(item.get("Name")) not in names:
            continue
        schedule = scheduler.get_schedule(
            Name=str(item["Name"]), GroupName=str(item.get("GroupName") or "default")
        )
        if not is_submit_job((schedule.get("Target") or {}).get("Arn")):
            continue
        why = _elsewhere(snapshot, submit_input(schedule))
        if why is None:
            snapshot.schedules.append(schedule)
        else:
            snapshot.skipped_schedules.append(
                f"{schedule.get('GroupName', 'default')}/{schedule['Name']}: {why}"
            )
    _scheduler_roles(clients.iam, snapshot)


SUBMIT_POLICY_NAME = "submit-jobs"
"""The inline policy of batchform's scheduler role (compiler/batchform/plan/iam.py)."""


def _scheduler_roles(iam: Any, snapshot: Snapshot) -> None:
    """The role of each kept schedule that is named like batchform's scheduler role (one per
    environment), by its ARN (:func:`scheduler_role`)."""
    arns = {str((s.get("Target") or {}).get("RoleArn") or "") for s in snapshot.schedules}
    for arn in sorted(a for a in arns if a.endswith(SCHEDULER_ROLE_SUFFIX) and ":role/" in a):
        role = scheduler_role(iam, arn.rsplit("/", 1)[-1])
        if role is not None:
            snapshot.roles[arn] = role


def scheduler_role(iam: Any, name: str) -> dict[str, Any] | None:
    """``GetRole`` + ``ListRolePolicies`` (+ ``GetRolePolicy`` of ``submit-jobs``) of the role
    ``name``, read as verify reads roles (:func:`batchform.verify.fetch.role_details`), with
    ``InlinePolicyNames`` and ``SubmitJobsPolicy`` added; ``None`` when there is none."""
    try:
        role = fetch.role_details(iam, name)
        role["InlinePolicyNames"] = list(fetch.inline_policy_names(iam, name))
    except fetch.NotFound:
        return None
    if SUBMIT_POLICY_NAME in role["InlinePolicyNames"]:
        got = iam.get_role_policy(RoleName=name, PolicyName=SUBMIT_POLICY_NAME)
        role["SubmitJobsPolicy"] = fetch.policy_document(
            got.get("PolicyDocument"), f"policy {SUBMIT_POLICY_NAME} of role {name}"
        )
    return role
