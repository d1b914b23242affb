"""Plan of the job side of an environment: fair-share policies, queues, job definitions, logs.

The container properties of a job definition are built here as Python data and written with
``jsonencode`` so that escaping is never hand-made. Their shape is chosen to match what AWS
Batch returns from ``DescribeJobDefinitions`` (and what the provider's normaliser keeps), so
that ``terraform plan`` after an apply shows no change:

- no empty lists or empty-valued variables (AWS drops them; the provider treats ``[]`` and a
  missing list alike only for some fields);
- scalars AWS echoes back are written explicitly where AWS would otherwise fill in a default
  (``readOnly`` of a mount point, EFS ``transitEncryption``, the Fargate network and platform
  configuration);
- resource requirement values are strings, as the API defines them;
- environment and secrets sorted by name, the order the provider compares in.

:func:`container_properties` is pure and public so that the verifier compares the deployed
revision with exactly what the compiler wrote.
"""

from __future__ import annotations

import re
from typing import Any

from compiler import naming
from compiler.model import Environment, JobDefinition, Volume
from compiler.plan import common, refs

Context = dict[str, Any]

LOG_DRIVER = "awslogs"
FARGATE_DEFAULT_PLATFORM_VERSION = "LATEST"

# ``Ref::name`` in a command argument is replaced by the job parameter ``name`` at submit time.
PARAMETER_REFERENCE = re.compile(r"Ref::([A-Za-z0-9_-]+)")


def required_parameters(job: JobDefinition) -> list[str]:
    """Parameters the command references with no default: they must be given at submit time.

    In order of first appearance, each once, so the compile summary reads like the command.
    """
    seen: list[str] = []
    for arg in job.command:
        for name in referenced_parameters_in(arg):
            if name not in job.parameters and name not in seen:
                seen.append(name)
    return seen


def referenced_parameters_in(arg: str) -> list[str]:
    """Every ``Ref::`` name one command argument uses."""
    return PARAMETER_REFERENCE.findall(arg)


def is_fargate(job: JobDefinition) -> bool:
    return job.platform == "FARGATE"


def vcpu_value(vcpus: float) -> str:
    """vCPUs as the API's string: ``8``, ``0.5``, ``0.25`` (never ``8.0``)."""
    if float(vcpus).is_integer():
        return str(int(vcpus))
    return repr(float(vcpus))


def volume_name(index: int) -> str:
    """Volumes get deterministic names from their position; users never see them."""
    return f"vol-{index}"


def _resource_requirements(job: JobDefinition) -> list[dict[str, str]]:
    requirements = [
        {"type": "VCPU", "value": vcpu_value(job.vcpus)},
        {"type": "MEMORY", "value": str(job.memory)},
    ]
    if job.gpus > 0 and not is_fargate(job):
        requirements.append({"type": "GPU", "value": str(job.gpus)})
    return requirements


def _efs_configuration(volume: Volume) -> dict[str, Any]:
    assert volume.efs is not None
    uses_auth = volume.access_point is not None or volume.iam
    encrypted = volume.transit_encryption if volume.transit_encryption is not None else uses_auth
    config: dict[str, Any] = {
        "fileSystemId": volume.efs,
        "transitEncryption": "ENABLED" if encrypted else "DISABLED",
    }
    if volume.root_directory is not None:
        config["rootDirectory"] = volume.root_directory
    if uses_auth:
        authorization: dict[str, Any] = {"iam": "ENABLED" if volume.iam else "DISABLED"}
        if volume.access_point is not None:
            authorization["accessPointId"] = volume.access_point
        config["authorizationConfig"] = authorization
    return config


def _volumes(job: JobDefinition) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``volumes`` and ``mountPoints``, in the user's order."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for i, volume in enumerate(job.volumes):
        name = volume_name(i)
        if volume.host_path is not None:
            volumes.append({"name": name, "host": {"sourcePath": volume.host_path}})
        else:
            volumes.append({"name": name, "efsVolumeConfiguration": _efs_configuration(volume)})
        mounts.append(
            {
                "sourceVolume": name,
                "containerPath": volume.container_path,
                "readOnly": volume.read_only,
            }
        )
    return volumes, mounts


def container_properties(env: Environment, key: str) -> dict[str, Any]:
    """The ``containerProperties`` of job definition ``key`` (``job_defaults`` merged in).

    References to generated resources (roles, the log group) are :class:`~compiler.render.Expr`
    values; keys are in the API's camelCase. Pure: the verifier calls it too.
    """
    job = env.job(key)
    fargate = is_fargate(job)
    props: dict[str, Any] = {
        "image": job.image,
        "resourceRequirements": _resource_requirements(job),
    }
    if job.command:
        props["command"] = list(job.command)
    environment = [
        {"name": name, "value": value}
        for name, value in sorted((job.environment or {}).items())
        if value != ""
    ]
    if environment:
        props["environment"] = environment
    if job.secrets:
        props["secrets"] = [
            {"name": name, "valueFrom": value_from}
            for name, value_from in sorted(job.secrets.items())
        ]
    job_role = refs.job_role_arn(env, key)
    if job_role is not None:
        props["jobRoleArn"] = job_role
    if fargate or job.secrets:
        execution_role = refs.execution_role_arn(env)
        if execution_role is not None:
            props["executionRoleArn"] = execution_role
    volumes, mounts = _volumes(job)
    if volumes:
        props["volumes"] = volumes
        props["mountPoints"] = mounts
    if job.privileged and not fargate:
        props["privileged"] = True
    props["logConfiguration"] = {
        "logDriver": LOG_DRIVER,
        "options": {
            "awslogs-group": refs.log_group_name(key),
            "awslogs-region": env.region,
            "awslogs-stream-prefix": key,
        },
    }
    if fargate:
        props["fargatePlatformConfiguration"] = {
            "platformVersion": job.platform_version or FARGATE_DEFAULT_PLATFORM_VERSION
        }
        props["networkConfiguration"] = {
            "assignPublicIp": "ENABLED" if job.assign_public_ip else "DISABLED"
        }
        if job.ephemeral_storage is not None:
            props["ephemeralStorage"] = {"sizeInGiB": job.ephemeral_storage}
    return dict(sorted(props.items()))


def _retry_strategy(job: JobDefinition) -> dict[str, Any] | None:
    """``retry_strategy``; actions lower-case, as the provider stores and AWS returns them."""
    if job.retry is None:
        return None
    rules = []
    for r in job.retry.on_exit:
        rule: dict[str, str] = {"action": r.action.lower()}
        if r.exit_code is not None:
            rule["on_exit_code"] = r.exit_code
        if r.reason is not None:
            rule["on_reason"] = r.reason
        if r.status_reason is not None:
            rule["on_status_reason"] = r.status_reason
        rules.append(rule)
    return {"attempts": job.retry.attempts, "evaluate_on_exit": rules}


def _job_definition(env: Environment, key: str) -> Context:
    job = env.job(key)
    return {
        "label": naming.label(key),
        "name": naming.aws_name(env.name, key),
        "platform_capabilities": ["FARGATE" if is_fargate(job) else "EC2"],
        "parameters": dict(sorted(job.parameters.items())),
        "propagate_tags": bool(job.propagate_tags),
        "retry_strategy": _retry_strategy(job),
        "scheduling_priority": job.scheduling_priority,
        "timeout": job.timeout,
        "container_properties": container_properties(env, key),
        "tags": common.tags(env, key, job.tags),
    }


def _log_group(env: Environment, key: str) -> Context:
    job = env.job(key)
    return {
        "label": f"job_{naming.label(key)}",
        "name": naming.log_group_name(env.name, key),
        "retention_in_days": job.log_retention_days,
        "kms_key_id": job.log_kms_key,
        "tags": common.tags(env, key),
    }


def _scheduling_policy(env: Environment, key: str) -> Context:
    policy = env.scheduling_policies[key]
    return {
        "label": naming.label(key),
        "name": naming.aws_name(env.name, key),
        "compute_reservation": policy.compute_reservation,
        "share_decay_seconds": policy.share_decay,
        "shares": [
            {"share_identifier": s.identifier, "weight_factor": s.weight} for s in policy.shares
        ],
        "tags": common.tags(env, key),
    }


def _job_queue(env: Environment, key: str) -> Context:
    queue = env.job_queues[key]
    policy = queue.scheduling_policy
    return {
        "label": naming.label(key),
        "name": naming.aws_name(env.name, key),
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
        "tags": common.tags(env, key),
    }


def plan(env: Environment) -> dict[str, Context]:
    """Contexts of ``scheduling_policies.tf``, ``job_queues.tf``, ``job_definitions.tf`` and
    ``logs.tf``; a file whose section is empty is left out. Resources are in key order."""
    files: dict[str, Context] = {}
    if env.scheduling_policies:
        files["scheduling_policies.tf"] = {
            "policies": [_scheduling_policy(env, k) for k in sorted(env.scheduling_policies)]
        }
    if env.job_queues:
        files["job_queues.tf"] = {"queues": [_job_queue(env, k) for k in sorted(env.job_queues)]}
    if env.job_definitions:
        keys = sorted(env.job_definitions)
        files["job_definitions.tf"] = {"jobs": [_job_definition(env, k) for k in keys]}
        files["logs.tf"] = {"log_groups": [_log_group(env, k) for k in keys]}
    return files
