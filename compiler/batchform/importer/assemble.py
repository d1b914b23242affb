"""A :class:`~batchform.importer.read.Snapshot` -> the environment document, section by
section, in the order a person reads the file (the order of docs/environment.md)."""

from __future__ import annotations

from typing import Any

from batchform.checks.containers import ECS_EXEC_PROVIDER
from batchform.importer import jobs, mapping, schedules
from batchform.importer.read import Snapshot
from batchform.importer.result import Adoption


def _all_tags(snapshot: Snapshot) -> list[dict[str, str]]:
    sources = [
        *(q.get("tags") for q in snapshot.queues),
        *(ce.get("tags") for ce in snapshot.compute_environments),
        *(p.get("tags") for p in snapshot.policies),
        *(jd.get("tags") for jd in snapshot.job_definitions),
    ]
    return [mapping.user_tags(tags) for tags in sources]


def adopt(snapshot: Snapshot, name: str | None = None) -> Adoption:
    """The document for ``snapshot`` (not yet checked against the model: see
    :func:`batchform.importer.exactness.fit_to_model`)."""
    env_name = mapping.environment_name(
        [str(q["jobQueueName"]) for q in snapshot.queues],
        name,
        [q.get("tags") for q in snapshot.queues],
    )
    document: dict[str, Any] = {"version": 1, "name": env_name, "region": snapshot.region}
    adoption = Adoption(document)
    common = mapping.common_tags(_all_tags(snapshot))
    if common:
        document["tags"] = common
    document["network"] = mapping.network(snapshot, adoption)

    amis: dict[str, dict[str, str]] = {}
    ces: dict[str, Any] = {}
    ce_keys: dict[str, str] = {}
    for ce in snapshot.compute_environments:
        key = mapping.key_for(str(ce["computeEnvironmentName"]), env_name, ces, ce.get("tags"))
        entry = mapping.compute_environment(ce, key, snapshot, adoption, common, amis)
        if entry is not None:
            ces[key] = entry
            ce_keys[str(ce["computeEnvironmentArn"])] = key

    policies: dict[str, Any] = {}
    policy_keys: dict[str, str] = {}
    for policy in sorted(snapshot.policies, key=lambda p: str(p["name"])):
        key = mapping.key_for(str(policy["name"]), env_name, policies, policy.get("tags"))
        policies[key] = mapping.scheduling_policy(policy, key, adoption, common)
        policy_keys[str(policy["arn"])] = key

    queues: dict[str, Any] = {}
    for queue in snapshot.queues:
        key = mapping.key_for(str(queue["jobQueueName"]), env_name, queues, queue.get("tags"))
        entry = mapping.job_queue(queue, key, ce_keys, policy_keys, adoption, common)
        if entry is not None:
            queues[key] = entry

    job_entries: dict[str, dict[str, Any]] = {}
    execution_roles: dict[str, str] = {}
    for jd in snapshot.job_definitions:
        key = mapping.key_for(str(jd["jobDefinitionName"]), env_name, job_entries, jd.get("tags"))
        entry, role = jobs.job_definition(jd, key, adoption, common)
        if entry is not None:
            job_entries[key] = entry
        if role is not None:
            execution_roles[f"job definition {jd['jobDefinitionName']}"] = role

    iam = mapping.iam(snapshot, adoption, execution_roles)
    if amis:
        document["amis"] = dict(sorted(amis.items()))
    if iam:
        document["iam"] = iam
    if ces:
        document["compute_environments"] = ces
    if policies:
        document["scheduling_policies"] = policies
    if queues:
        document["job_queues"] = queues
    defaults = jobs.hoist_defaults(job_entries)
    if defaults:
        document["job_defaults"] = defaults
    if job_entries:
        document["job_definitions"] = job_entries
    adopted_schedules = schedules.adopt_schedules(snapshot, adoption)
    if adopted_schedules:
        document["schedules"] = adopted_schedules
    _provider_floor(document, [*job_entries.values(), defaults])
    return adoption


def _provider_floor(document: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
    """``terraform.aws_provider`` from the first release that sends what the file uses: a
    provider older than 5.100 drops ``enableExecuteCommand`` without a word (BF538,
    compiler/batchform/checks/containers.py), so a job with ECS Exec needs that floor, or the
    first apply registers it without ECS Exec. Placed after ``tags``, where a person writes it."""
    if not any(job.get("execute_command") for job in jobs):
        return
    after = list(document)[list(document).index("tags" if "tags" in document else "region") + 1 :]
    moved = {key: document.pop(key) for key in after}
    document["terraform"] = {"aws_provider": f">= {ECS_EXEC_PROVIDER}, < 6.0.0"}
    document.update(moved)
