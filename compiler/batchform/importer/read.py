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
"""

from __future__ import annotations

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
) -> Snapshot:
    """Read the queues (all, or those named), what they use, and the job definitions (all, or
    those named; none when ``every_job_definition`` is false and none is named)."""
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
