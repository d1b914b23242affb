"""Cross-reference rules: every key one section names must exist in the section it points to."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from batchform.checks import Finding, rule
from batchform.diagnostics import Level, Path
from batchform.model import Environment

SECURITY_GROUP_ID_PREFIX = "sg-"


def _dangling(path: Path, key: str, known: Iterable[str], section: str) -> Iterator[Finding]:
    names = sorted(known)
    if key in names:
        return
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        hint = f"did you mean '{close[0]}'?"
    elif names:
        hint = f"defined under {section}: {', '.join(names)}"
    else:
        hint = f"nothing is defined under {section}"
    yield Finding(path, f"'{key}' is not defined under {section}", hint)


@rule("BF201", Level.ERROR, "a compute environment names an AMI that is not defined")
def ce_ami_defined(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        if ce.ami is not None:
            yield from _dangling(("compute_environments", key, "ami"), ce.ami, env.amis, "amis")


@rule("BF202", Level.ERROR, "a compute environment names a launch template that is not defined")
def ce_launch_template_defined(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        lt = ce.launch_template_key
        if lt is None:
            continue
        path: Path = ("compute_environments", key, "launch_template")
        for finding in _dangling(path, lt, env.launch_templates, "launch_templates"):
            if lt.startswith("lt-"):  # an existing template's id, written as a key
                finding = Finding(
                    path,
                    finding.message,
                    f'for an existing launch template write {{id: {lt}, version: "1"}} with '
                    "the version number to use",
                )
            yield finding


@rule("BF203", Level.ERROR, "a compute environment names a security group that is not defined")
def ce_security_groups_defined(env: Environment) -> Iterator[Finding]:
    defined = env.security_group_definitions()
    for key, ce in env.compute_environments.items():
        for i, sg in enumerate(ce.security_groups or []):
            if sg.startswith(SECURITY_GROUP_ID_PREFIX) and sg not in defined:
                continue  # the id of an existing group (BF340 checks its form)
            yield from _dangling(
                ("compute_environments", key, "security_groups", i),
                sg,
                defined,
                "network.security_groups",
            )


@rule("BF204", Level.ERROR, "a job queue names a compute environment that is not defined")
def queue_compute_environments_defined(env: Environment) -> Iterator[Finding]:
    for key, queue in env.job_queues.items():
        for i, ce in enumerate(queue.compute_environments):
            yield from _dangling(
                ("job_queues", key, "compute_environments", i),
                ce,
                env.compute_environments,
                "compute_environments",
            )


@rule("BF205", Level.ERROR, "a job queue names a scheduling policy that is not defined")
def queue_scheduling_policy_defined(env: Environment) -> Iterator[Finding]:
    for key, queue in env.job_queues.items():
        if queue.scheduling_policy is not None:
            yield from _dangling(
                ("job_queues", key, "scheduling_policy"),
                queue.scheduling_policy,
                env.scheduling_policies,
                "scheduling_policies",
            )


@rule("BF206", Level.ERROR, "a security group rule names a security group that is not defined")
def sg_rule_source_defined(env: Environment) -> Iterator[Finding]:
    for key, sg in env.network.security_groups.items():
        rules = [("ingress", sg.ingress)]
        if isinstance(sg.egress, list):
            rules.append(("egress", sg.egress))
        for direction, items in rules:
            for i, r in enumerate(items):
                if r.security_group is not None:
                    yield from _dangling(
                        ("network", "security_groups", key, direction, i, "security_group"),
                        r.security_group,
                        env.network.security_groups,
                        "network.security_groups",
                    )


@rule("BF207", Level.ERROR, "a compute environment has no security group to use")
def ce_has_security_group(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        if ce.is_unmanaged:
            continue  # no compute resources, so no security groups (BF557)
        if not env.ce_security_groups(key):  # only an explicit `security_groups: []`
            yield Finding(
                ("compute_environments", key, "security_groups"),
                f"compute environment '{key}' has no security group",
                "remove `security_groups: []` to use every group under network.security_groups "
                "(or, with none defined, the `<name>-batch` group batchform creates), or list "
                "some keys or sg- ids",
            )
