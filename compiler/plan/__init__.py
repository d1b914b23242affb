"""Plan stage: a checked :class:`~compiler.model.Environment` -> one render context per file.

Every decision about the generated Terraform is made here, in plain Python over plain data:
names, labels, references between resources, which optional resources exist, sorted maps and
kept list orders. Templates only lay out what a context holds. No I/O.

Each concern has its own module and returns ``{file name: context}`` for the files it owns; a
concern with nothing to write returns nothing, so an empty section produces no file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.model import Environment
from compiler.plan import (
    common,
    compute,
    efs,
    iam,
    jobs,
    network,
    operations,
    outputs,
    readme,
)

Context = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    env_name: str
    files: dict[str, Context] = field(default_factory=dict)


def build_plan(env: Environment, source_name: str) -> Plan:
    """The render context of every file of ``generated/<env.name>/``."""
    header = common.header(source_name)
    files: dict[str, Context] = {}
    for part in (
        common.versions(env),
        network.plan(env),
        efs.plan(env),
        iam.plan(env),
        compute.plan(env),
        jobs.plan(env),
        operations.plan(env),
        outputs.plan(env),
        readme.plan(env),
    ):
        for name, context in part.items():
            if name in files:
                raise RuntimeError(f"two plan modules both write {name}")
            files[name] = {"header": header, **context}
    return Plan(env.name, files)
