"""Plan of the job side of an environment: fair-share policies, queues, job definitions, logs.

The container properties of a job definition are Python data from
:func:`batchform.derive.container_properties` (the checks measure their size against AWS's
limit from the same function), written with ``jsonencode`` so that escaping is never hand-made;
the verifier compares the deployed revision with this plan's copy of them.
"""

from __future__ import annotations

from typing import TypedDict

from batchform import derive, naming, refs
from batchform.derive import container_properties, is_fargate
from batchform.model import Environment, JobDefinition
from batchform.plan.contract import (
    EksContainerEntry,
    EksPropertiesEntry,
    EvaluateOnExitEntry,
    JobDefinitionEntry,
    JobQueueEntry,
    LogGroupEntry,
    PlanFiles,
    RetryStrategyEntry,
    SchedulingPolicyEntry,
)


def _retry_strategy(job: JobDefinition) -> RetryStrategyEntry | None:
    """``retry_strategy``; actions lower-case, as the provider stores and AWS returns them."""
    if job.retry is None:
        return None
    rules: list[EvaluateOnExitEntry] = []
    for r in job.retry.on_exit:
        rule: EvaluateOnExitEntry = {"action": r.action.lower()}
        if r.exit_code is not None:
            rule["on_exit_code"] = r.exit_code
        if r.reason is not None:
            rule["on_reason"] = r.reason
        if r.status_reason is not None:
            rule["on_status_reason"] = r.status_reason
        rules.append(rule)
    return {"attempts": job.retry.attempts, "evaluate_on_exit": rules}


def _platform_capabilities(job: JobDefinition) -> list[str]:
    """``platform_capabilities``; none for an EKS job (RegisterJobDefinition: EKS job
    definitions take no platformCapabilities, the compute environment decides)."""
    if derive.is_eks(job):
        return []
    return ["FARGATE" if is_fargate(job) else "EC2"]


class _EksCommand(TypedDict, total=False):
    """The optional ``command`` of an EKS container, written only when the job has one."""

    command: list[str]


def _eks_properties(job: JobDefinition) -> EksPropertiesEntry:
    """``eks_properties.pod_properties`` of an EKS job. ``host_network`` is written as AWS's
    own default (true), which the provider stores and compares."""
    resources = derive.eks_resources(job)
    command: _EksCommand = {"command": list(job.command)} if job.command else {}
    container: EksContainerEntry = {
        "name": "main",
        "image": job.image or "",
        **command,
        "env": [
            {"name": n, "value": v} for n, v in sorted((job.environment or {}).items()) if v != ""
        ],
        "resources": {"limits": resources, "requests": dict(resources)},
        "security_context": derive.eks_security_context(job),
    }
    return {
        "host_network": True,
        "service_account_name": job.service_account,
        "containers": [container],
    }


def _job_definition(env: Environment, key: str) -> JobDefinitionEntry:
    job = env.job(key)
    multi_container = job.is_multi_container
    eks = derive.is_eks(job) and not job.is_multinode and not multi_container
    plain = not (job.is_multinode or multi_container or eks)
    return {
        "label": naming.label(key),
        "name": naming.resource_name(env, "job_definitions", key),
        "type": derive.job_type(job),
        "platform_capabilities": _platform_capabilities(job),
        "parameters": dict(sorted(job.parameters.items())),
        # RegisterJobDefinition refuses propagateTags for a job on EKS (BF558 for the job's own
        # key; a job_defaults true does not reach EKS jobs)
        "propagate_tags": bool(job.propagate_tags) and not derive.is_eks(job),
        "retry_strategy": _retry_strategy(job),
        "scheduling_priority": job.scheduling_priority,
        "timeout": job.timeout,
        "container_properties": container_properties(env, key) if plain else None,
        "node_properties": derive.node_properties(env, key) if job.is_multinode else None,
        "ecs_properties": derive.ecs_properties(env, key) if multi_container else None,
        "eks_properties": _eks_properties(job) if eks else None,
        "tags": derive.tags(env, key, job.tags),
        "deregister_on_new_revision": not job.keep_old_revisions,
    }


def _log_group(env: Environment, key: str) -> LogGroupEntry:
    job = env.job(key)
    return {
        "label": f"job_{naming.label(key)}",
        "name": naming.log_group_name(env.name, key),
        "retention_in_days": job.log_retention_days,
        "kms_key_id": job.log_kms_key,
        "tags": derive.tags(env, key),
    }


def _scheduling_policy(env: Environment, key: str) -> SchedulingPolicyEntry:
    policy = env.scheduling_policies[key]
    return {
        "label": naming.label(key),
        "name": naming.resource_name(env, "scheduling_policies", key),
        "compute_reservation": policy.compute_reservation,
        "share_decay_seconds": policy.share_decay,
        "shares": [
            {"share_identifier": s.identifier, "weight_factor": s.weight} for s in policy.shares
        ],
        "tags": derive.tags(env, key, policy.tags),
    }


def _job_queue(env: Environment, key: str) -> JobQueueEntry:
    queue = env.job_queues[key]
    policy = queue.scheduling_policy
    return {
        "label": naming.label(key),
        "name": naming.resource_name(env, "job_queues", key),
        "state": queue.state,
        "priority": queue.priority,
        "compute_environment_order": [
            {"order": i, "compute_environment": refs.compute_environment_arn(ce)}
            for i, ce in enumerate(queue.compute_environments, start=1)
        ],
        "scheduling_policy_arn": refs.scheduling_policy_arn(policy) if policy else None,
        "time_limit_actions": [
            {
                "action": a.action,
                "max_time_seconds": a.after,
                "reason": a.reason,
                "state": a.state,
            }
            for a in queue.time_limit_actions
        ],
        "tags": derive.tags(env, key, queue.tags),
    }


def plan(env: Environment) -> PlanFiles:
    """Contexts of ``scheduling_policies.tf``, ``job_queues.tf``, ``job_definitions.tf`` and
    ``logs.tf``; a file whose section is empty is left out. Resources are in key order."""
    files: PlanFiles = {}
    if env.scheduling_policies:
        files["scheduling_policies.tf"] = {
            "policies": [_scheduling_policy(env, k) for k in sorted(env.scheduling_policies)]
        }
    if env.job_queues:
        files["job_queues.tf"] = {"queues": [_job_queue(env, k) for k in sorted(env.job_queues)]}
    if env.job_definitions:
        keys = sorted(env.job_definitions)
        files["job_definitions.tf"] = {"jobs": [_job_definition(env, k) for k in keys]}
        # only jobs whose containers log to it get a log group (derive.uses_generated_log_group)
        logged = [k for k in keys if derive.uses_generated_log_group(env.job(k))]
        if logged:
            files["logs.tf"] = {"log_groups": [_log_group(env, k) for k in logged]}
    return files
