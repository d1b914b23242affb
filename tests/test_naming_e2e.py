"""What ``batchform diff`` says about the names, tags, launch templates and IAM options of issue
12 (security groups and schedules included), held to ``terraform plan`` on the emulator, with
the order of each replacement.

OLD is applied once; each edit is planned against its state (``plan -out`` + ``show -json``,
whose ``actions`` are ``["delete", "create"]`` for a replacement that destroys first and
``["create", "delete"]`` for one that creates first). The exactly named compute environment
must destroy first (no ``create_before_destroy``), the prefixed one create first; ``diff``
must claim the same action for every Batch resource and IAM role.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from batchform.diff import Risk, diff_environments
from batchform.sandbox.emulator import MotoServer
from tests.harness import terraform as tf
from tests.harness.plans import env_of, moto_module
from tests.harness.yaml_files import read_yaml

pytestmark = pytest.mark.e2e

OLD = """\
version: 1
name: nfe
region: us-west-2
tags: {team: names}
network:
  vpc:
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a]
      nat_gateways: none
  security_groups:
    batch:
      description: Batch compute
      aws_name: nfe-workers
      tags: {tier: compute}
    solo:
      description: only the exactly named compute environment uses it
      aws_name: nfe-solo
iam:
  path: /batch/
  permissions_boundary: arn:aws:iam::123456789012:policy/boundary
  instance_role:
    managed_policies: [arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore]
compute_environments:
  exact:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [m6i]
    subnets: public
    aws_name: nfe-exact-ce
    security_groups: [batch, solo]
    launch_template: {id: lt-0123456789abcdef0, version: "1"}
  prefixed:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [c6i]
    subnets: public
    aws_name_prefix: team-
    security_groups: [batch]
job_queues:
  main:
    priority: 10
    compute_environments: [exact, prefixed]
    aws_name: nfe-main
    tags: {tier: gold}
job_definitions:
  hello:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, hello]
    vcpus: 1
    memory: 512 MiB
    aws_name: hello
schedules:
  nightly:
    job_definition: hello
    queue: main
    rate: 1 day
    aws_name: nfe-nightly
"""

Edit = Callable[[dict[str, Any]], None]
COMPARED = ("aws_batch_", "aws_iam_role.", "aws_security_group.", "aws_scheduler_schedule.")


def _set(path: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return edit


EXACT = "aws_batch_compute_environment.exact"
PREFIXED = "aws_batch_compute_environment.prefixed"
QUEUE = "aws_batch_job_queue.main"
GROUP = "aws_security_group.batch"

# edit -> {address: the actions terraform must plan}, for the resources whose order matters
EDITS: dict[str, tuple[Edit, dict[str, list[str]]]] = {
    "exact-placement-group": (
        _set("compute_environments.exact.placement_group", "pg-1"),
        {EXACT: ["delete", "create"]},
    ),
    "prefixed-placement-group": (
        _set("compute_environments.prefixed.placement_group", "pg-1"),
        {PREFIXED: ["create", "delete"]},
    ),
    "queue-renamed": (_set("job_queues.main.aws_name", "nfe-urgent"), {}),
    "job-definition-renamed": (_set("job_definitions.hello.aws_name", "hello-v2"), {}),
    "resource-tags": (_set("job_queues.main.tags", {"tier": "silver"}), {QUEUE: ["update"]}),
    "pinned-version": (
        _set("compute_environments.exact.launch_template.version", "2"),
        {EXACT: ["update"]},
    ),
    # IAM role names are unique in the account whatever their path, and the compute
    # environments pass create_before_destroy on to the roles they use: diff warns (FAILS)
    "iam-path": (
        _set("iam.path", "/research/"),
        {"aws_iam_role.ecs_instance": ["create", "delete"]},
    ),
    "boundary": (
        _set("iam.permissions_boundary", "arn:aws:iam::123456789012:policy/other"),
        {"aws_iam_role.ecs_instance": ["update"]},
    ),
    # the prefixed compute environment passes create_before_destroy on to its group: a renamed
    # group is created beside the old one, and so is one replaced under its name (a new
    # description), which EC2 refuses (InvalidGroup.Duplicate): diff warns (FAILS)
    "group-renamed": (
        _set("network.security_groups.batch.aws_name", "nfe-nodes"),
        {GROUP: ["create", "delete"]},
    ),
    "group-description": (
        _set("network.security_groups.batch.description", "Batch nodes"),
        {GROUP: ["create", "delete"]},
    ),
    # a group only the exactly named CE uses has no create_before_destroy: destroyed first
    "solo-group-renamed": (
        _set("network.security_groups.solo.aws_name", "nfe-solo-v2"),
        {"aws_security_group.solo": ["delete", "create"]},
    ),
    "group-tags": (_set("network.security_groups.batch.tags", {"tier": "x"}), {GROUP: ["update"]}),
    "schedule-renamed": (
        _set("schedules.nightly.aws_name", "nfe-nightly-v2"),
        {"aws_scheduler_schedule.nightly": ["delete", "create"]},
    ),
}


def planned(module: Path, server: MotoServer) -> dict[str, list[str]]:
    """``{address: actions}`` of the compared resources Terraform would change."""
    tf.terraform(["plan", "-out", "edit.tfplan"], module, server.env())
    shown = json.loads(tf.terraform(["show", "-json", "edit.tfplan"], module, server.env()).stdout)
    return {
        c["address"]: c["change"]["actions"]
        for c in shown.get("resource_changes", [])
        if c["address"].startswith(COMPARED) and c["change"]["actions"] not in (["no-op"], ["read"])
    }


def _action(actions: list[str]) -> str:
    return "replace" if len(actions) == 2 else actions[0]


@pytest.mark.e2e
def test_diff_claims_and_replacement_order_match_terraform(
    tmp_path: Path,
    terraform_cli: tf.TerraformCLI,
    moto: MotoServer,
    batch_service_linked_role: str,
) -> None:
    old_data: dict[str, Any] = read_yaml(OLD)
    old = env_of(old_data)
    applied = moto_module(old, "nfe.yaml", tmp_path / "old", moto)
    tf.init(applied, moto.env())
    tf.apply(applied, moto.env())
    assert tf.plan(applied, moto.env()).returncode == 0
    problems = []
    for name, (edit, orders) in EDITS.items():
        new_data = copy.deepcopy(old_data)
        edit(new_data)
        new = env_of(new_data)
        module = moto_module(new, "nfe.yaml", tmp_path / name, moto)
        shutil.copy(applied / "terraform.tfstate", module / "terraform.tfstate")
        tf.init(module, moto.env())
        found = planned(module, moto)
        claimed = {
            c.address: c.action
            for c in diff_environments(old, new).changes
            if c.address.startswith(COMPARED)
        }
        if {a: _action(x) for a, x in found.items()} != claimed:
            problems.append(f"{name}: terraform plans {found}, diff claims {claimed}")
        for address, actions in orders.items():
            if found.get(address) != actions:
                problems.append(f"{name}: {address} planned {found.get(address)}, not {actions}")
    assert not problems, "\n".join(problems)


def test_diff_warns_that_the_exact_ce_is_destroyed_first() -> None:
    old_data: dict[str, Any] = read_yaml(OLD)
    new_data = copy.deepcopy(old_data)
    EDITS["exact-placement-group"][0](new_data)
    change = diff_environments(env_of(old_data), env_of(new_data)).change(EXACT)
    assert change is not None
    assert any(
        n.risk == Risk.FAILS and "nfe-exact-ce (aws_name) is destroyed first" in n.text
        for n in change.notes
    )


def test_diff_warns_that_a_group_replaced_under_its_name_fails() -> None:
    """The premise is the plan order above (group-description: create before delete)."""
    old_data: dict[str, Any] = read_yaml(OLD)
    for edit, fails in (("group-description", True), ("group-renamed", False)):
        new_data = copy.deepcopy(old_data)
        EDITS[edit][0](new_data)
        change = diff_environments(env_of(old_data), env_of(new_data)).change(GROUP)
        assert change is not None and change.action == "replace"
        warned = [n for n in change.notes if n.risk == Risk.FAILS]
        assert bool(warned) == fails, edit
        if fails:
            assert "InvalidGroup.Duplicate" in warned[0].text and "prefixed" in warned[0].text
    new_data = copy.deepcopy(old_data)
    EDITS["solo-group-renamed"][0](new_data)
    change = diff_environments(env_of(old_data), env_of(new_data)).change("aws_security_group.solo")
    assert change is not None
    (warned,) = [n.text for n in change.notes if n.risk == Risk.FAILS]
    assert "destroyed first" in warned and "DependencyViolation" in warned
