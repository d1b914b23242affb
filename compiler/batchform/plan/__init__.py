"""Plan stage: a checked :class:`~batchform.model.Environment` -> one render context per file.

Every decision about the generated Terraform is made here, in plain Python over plain data:
names, labels, references between resources, which optional resources exist, sorted maps and
kept list orders. Templates only lay out what a context holds. No I/O.

Each concern has its own module and returns the part of :data:`~batchform.plan.contract.PlanFiles`
it owns (``{file name: context}``); a concern with nothing to write returns nothing, so an empty
section produces no file. Every context's type is declared in :mod:`batchform.plan.contract`,
the one place the templates, the verifier, diff and the benchmarks learn its keys from.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchform.model import Environment
from batchform.plan import (
    common,
    compute,
    efs,
    iam,
    jobs,
    module,
    network,
    operations,
    outputs,
    readme,
)
from batchform.plan.contract import PlanFiles


@dataclass(frozen=True)
class Plan:
    """What ``generated/<env_name>/`` holds, before rendering: the header every file starts
    with and each file's context."""

    env_name: str
    header: str
    files: PlanFiles


def build_plan(env: Environment, source_name: str) -> Plan:
    """The render context of every file of ``generated/<env.name>/``."""
    files: PlanFiles = {}
    for part in (
        common.versions(env),
        network.plan(env),
        efs.plan(env),
        iam.plan(env),
        compute.plan(env),
        jobs.plan(env),
        operations.plan(env),
        outputs.plan(env),
        module.plan(env),
        readme.plan(env, source_name),
    ):
        for name in part:
            if name in files:
                raise RuntimeError(f"two plan modules both write {name}")
        files.update(part)
    module.limit_caller_tags(env, files)
    return Plan(env.name, common.header(source_name), files)
