"""Plan of ``outputs.tf``: what a pipeline or another module needs to submit jobs here.

Queue names and ARNs and job definition ARNs are what ``SubmitJob`` takes; compute environment
ARNs and the network ids the environment created help other modules attach to it. Maps are
keyed by the keys of the environment file, so a consumer reads ``job_queues["high"].arn``.
"""

from __future__ import annotations

from batchform import refs
from batchform.model import Environment
from batchform.plan.contract import OutputEntry, OutputValue, PlanFiles


def _output(name: str, description: str, value: OutputValue) -> OutputEntry:
    return {"name": name, "description": description, "value": value}


def plan(env: Environment) -> PlanFiles:
    """The context of ``outputs.tf``, or nothing when the environment defines nothing to
    output."""
    outputs: list[OutputEntry] = []
    if env.compute_environments:
        outputs.append(
            _output(
                "compute_environment_arns",
                "ARN of each compute environment, by key.",
                {k: refs.compute_environment_arn(k) for k in sorted(env.compute_environments)},
            )
        )
    if env.job_definitions:
        outputs.append(
            _output(
                "job_definition_arns",
                "ARN (with revision) of each job definition, by key.",
                {k: refs.job_definition_arn(k) for k in sorted(env.job_definitions)},
            )
        )
        outputs.append(
            _output(
                "job_definition_arn_prefixes",
                "ARN without revision of each job definition, by key: SubmitJob runs the "
                "latest active revision, so it stays valid when a change registers a new one.",
                {k: refs.job_definition_arn_prefix(k) for k in sorted(env.job_definitions)},
            )
        )
    if env.job_queues:
        outputs.append(
            _output(
                "job_queues",
                "Name and ARN of each job queue, by key.",
                {
                    k: {"arn": refs.job_queue_arn(k), "name": refs.job_queue_name(k)}
                    for k in sorted(env.job_queues)
                },
            )
        )
    vpc = env.network.vpc.create
    if vpc is not None:
        outputs.append(
            _output(
                "private_subnet_ids",
                "Private subnets, one per availability zone.",
                refs.subnet_ids(env, "private"),
            )
        )
        outputs.append(
            _output(
                "public_subnet_ids",
                "Public subnets, one per availability zone.",
                refs.subnet_ids(env, "public"),
            )
        )
        outputs.append(_output("vpc_id", "The VPC this environment created.", refs.vpc_id(env)))
    if not outputs:
        return {}
    return {"outputs.tf": {"outputs": outputs}}
