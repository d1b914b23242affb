"""`batchform diff` against the authority: `terraform plan` of the edited file on emulated AWS.

OLD is applied once to moto; for each realistic edit, NEW is planned against that state and the
actions Terraform plans (``terraform show -json``: ``["update"]``, ``["create", "delete"]``, ...)
must be exactly what ``diff`` claimed for every resource. The replacement rules are decided by
the provider's plan-time logic (ForceNew and the compute environment's CustomizeDiff), which
runs the same against moto as against AWS.

Every resource type the templates write is compared (``COMPARED_TYPES`` in
``tests/harness/plans.py``). ``OLD`` holds the Batch resources; ``NETWORKED`` (a second
deployment, planned by ``test_diff_claims_match_terraform_plan_beyond_batch``) holds what
``OLD`` lacks: NAT gateways over two zones, gateway and interface endpoints, a launch template
with user data, a job role, log retention, a schedule and alerts, each with the edits whose
knock-on changes reach other resources (a new VPC, a new role path, a job definition's new
revision that the schedule and the scheduler's policy name). A placement group is left out:
moto answers DescribePlacementGroups, which the provider polls after creating one, with an
internal error (the sandbox names the group instead, ``sandbox/standins.py``), so
``tests/test_diff.py`` alone covers a new strategy.

The OLD environment mixes the three kinds of compute environment whose rules differ: ``spot``
(SPOT_PRICE_CAPACITY_OPTIMIZED: *not* updatable in provider 5.x), ``ondemand``
(BEST_FIT_PROGRESSIVE with the service-linked role: updatable) and ``fargate``. That a template
edit replacing ``spot`` then applies in one go is shown in ``test_lifecycle_e2e.py``.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from batchform.model import Environment
from batchform.sandbox.emulator import MotoServer
from tests.harness import terraform as tf
from tests.harness.plans import claimed_actions, env_of, moto_module, plan_actions
from tests.harness.yaml_files import read_yaml

REGION = "us-west-2"
OLD = """\
version: 1
name: dfe
region: us-west-2
tags: {team: diff}
network:
  vpc:
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a]
      nat_gateways: none
  security_groups:
    batch: {description: Batch hosts}
launch_templates:
  scratch:
    scratch_volume: {size: 100 GiB, iops: 4000, throughput: 250}
compute_environments:
  spot:
    type: SPOT
    allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED
    max_vcpus: 16
    instance_types: [m6i]
    launch_template: scratch
    subnets: public
  ondemand:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [c6i]
    launch_template: scratch
    subnets: public
  fargate:
    type: FARGATE
    max_vcpus: 4
    subnets: public
scheduling_policies:
  fair:
    shares: [{identifier: laba, weight: 1.0}]
job_queues:
  main:
    priority: 10
    compute_environments: [spot, ondemand]
  serverless:
    priority: 5
    compute_environments: [fargate]
job_definitions:
  hello:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, hello]
    vcpus: 1
    memory: 512 MiB
"""

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return edit


def _add_gpu_queue(data: dict[str, Any]) -> None:
    data["compute_environments"]["extra"] = {
        "type": "EC2",
        "allocation_strategy": "BEST_FIT_PROGRESSIVE",
        "max_vcpus": 8,
        "instance_types": ["m6i"],
        "subnets": "public",
    }
    data["job_queues"]["extra"] = {"priority": 1, "compute_environments": ["extra"]}


EDITS: dict[str, Edit] = {
    "spot-max-vcpus": _set("compute_environments.spot.max_vcpus", 32),
    "spot-instance-types": _set("compute_environments.spot.instance_types", ["m6i", "r6i"]),
    "ondemand-instance-types": _set("compute_environments.ondemand.instance_types", ["c6i", "m6i"]),
    "launch-template-iops": _set("launch_templates.scratch.scratch_volume.iops", 5000),
    "ondemand-placement-group": _set("compute_environments.ondemand.placement_group", "pg-1"),
    "job-image": _set("job_definitions.hello.image", "public.ecr.aws/docker/library/busybox:1.37"),
    "queue-priority": _set("job_queues.main.priority", 20),
    "queue-gains-policy": _set("job_queues.serverless.scheduling_policy", "fair"),
    "sg-description": _set("network.security_groups.batch.description", "Batch workers"),
    "new-ce-and-queue": _add_gpu_queue,
    "environment-tags": _set("tags", {"team": "diff", "owner": "ops"}),
    "job-retry-attempts": _set("job_definitions.hello.retry", {"attempts": 3}),
    "job-retry-rules": _set(
        "job_definitions.hello.retry",
        {"attempts": 3, "on_exit": [{"action": "RETRY", "status_reason": "Host EC2*"}]},
    ),
}


NETWORKED = """\
version: 1
name: dfn
region: us-west-2
network:
  vpc:
    create:
      cidr: 10.1.0.0/16
      availability_zones: [us-west-2a, us-west-2b]
      nat_gateways: single
  security_groups:
    batch:
      description: Batch hosts
      ingress: [{protocol: tcp, ports: 22, cidr: 10.0.0.0/8}]
  endpoints: [s3, logs]
launch_templates:
  boot:
    user_data: |
      echo hello
compute_environments:
  mpi:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [c6i]
    launch_template: boot
    subnets: private
    availability_zones: [us-west-2a]
job_queues:
  main: {priority: 10, compute_environments: [mpi]}
  low: {priority: 1, compute_environments: [mpi]}
job_defaults:
  log_retention_days: 30
job_definitions:
  hello:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, hello]
    vcpus: 1
    memory: 512 MiB
    job_role: {s3_read: [refs]}
schedules:
  nightly:
    job_definition: hello
    queue: main
    cron: "0 2 * * ? *"
alerts:
  email: [oncall@example.com]
  on: [job_failed]
"""

NETWORKED_EDITS: dict[str, Edit] = {
    "vpc-cidr": _set("network.vpc.create.cidr", "10.2.0.0/16"),
    "add-az": _set(
        "network.vpc.create.availability_zones", ["us-west-2a", "us-west-2b", "us-west-2c"]
    ),
    "nat-per-az": _set("network.vpc.create.nat_gateways", "per_az"),
    "nat-none": _set("network.vpc.create.nat_gateways", "none"),
    "endpoint-added": _set("network.endpoints", ["s3", "logs", "ecr.api"]),
    "endpoint-removed": _set("network.endpoints", ["s3"]),
    "rule-peer-kind": _set(
        "network.security_groups.batch.ingress",
        [{"protocol": "tcp", "ports": 22, "security_group": "batch"}],
    ),
    "rule-ports": _set(
        "network.security_groups.batch.ingress",
        [{"protocol": "tcp", "ports": 2222, "cidr": "10.0.0.0/8"}],
    ),
    "iam-path": _set("iam", {"path": "/batch/"}),
    "iam-boundary": _set("iam", {"permissions_boundary": "arn:aws:iam::123456789012:policy/bound"}),
    "job-role-bucket": _set("job_definitions.hello.job_role", {"s3_read": ["refs", "more"]}),
    "alert-email-added": _set("alerts.email", ["oncall@example.com", "lead@example.com"]),
    "alert-email-changed": _set("alerts.email", ["ops@example.com"]),
    "alert-event-added": _set("alerts.on", ["job_failed", "queue_blocked"]),
    "schedule-timezone": _set("schedules.nightly.timezone", "Europe/Berlin"),
    "schedule-queue": _set("schedules.nightly.queue", "low"),
    "log-retention": _set("job_defaults.log_retention_days", 60),
    "user-data": _set("launch_templates.boot.user_data", "echo bye\n"),
    "job-image": _set("job_definitions.hello.image", "public.ecr.aws/docker/library/busybox:1.37"),
    "environment-tags": _set("tags", {"owner": "ops"}),
}


def module_for(env: Environment, root: Path, moto: MotoServer) -> Path:
    return moto_module(env, "dfe.yaml", root, moto)


def apply_old(
    tmp_path: Path, moto: MotoServer, text: str = OLD
) -> tuple[dict[str, Any], Environment, Path]:
    """``text`` (OLD) applied to moto, with an empty plan afterwards: the state every edit
    starts from."""
    old_data: dict[str, Any] = read_yaml(text)
    old = env_of(old_data)
    applied = module_for(old, tmp_path / "old", moto)
    tf.init(applied, moto.env())
    tf.apply(applied, moto.env())
    baseline = tf.plan(applied, moto.env())
    assert baseline.returncode == 0, baseline.stdout[-4000:]
    return old_data, old, applied


def module_after(
    edit: Edit, old_data: dict[str, Any], applied: Path, root: Path, moto: MotoServer
) -> tuple[Environment, Path]:
    """The edited environment's module, initialised, holding the state of ``applied``."""
    new_data = copy.deepcopy(old_data)
    edit(new_data)
    new = env_of(new_data)
    module = module_for(new, root, moto)
    shutil.copy(applied / "terraform.tfstate", module / "terraform.tfstate")
    tf.init(module, moto.env())
    return new, module


@pytest.mark.e2e
def test_diff_claims_match_terraform_plan(
    tmp_path: Path,
    terraform_cli: tf.TerraformCLI,
    moto: MotoServer,
    batch_service_linked_role: str,
) -> None:
    assert not mismatches_after(EDITS, OLD, tmp_path, moto)


def mismatches_after(
    edits: dict[str, Edit], text: str, tmp_path: Path, moto: MotoServer
) -> list[str]:
    """Each edit of ``text`` (applied once) where diff's claims differ from terraform plan."""
    old_data, old, applied = apply_old(tmp_path, moto, text)
    mismatches = []
    for name, edit in edits.items():
        new, module = module_after(edit, old_data, applied, tmp_path / name, moto)
        planned = plan_actions(module, moto)
        claimed = claimed_actions(old, new)
        if planned != claimed:
            only_planned = {a: v for a, v in planned.items() if claimed.get(a) != v}
            only_claimed = {a: v for a, v in claimed.items() if planned.get(a) != v}
            mismatches.append(f"{name}: terraform plans {only_planned}, diff claims {only_claimed}")
    return mismatches


@pytest.mark.e2e
def test_diff_claims_match_terraform_plan_beyond_batch(
    tmp_path: Path,
    terraform_cli: tf.TerraformCLI,
    moto: MotoServer,
    batch_service_linked_role: str,
) -> None:
    """The network, IAM, logs, schedule and alert resources, whose replacements follow from
    references (a new VPC id, a role's name, a job definition's revision ARN) as much as from
    their own arguments."""
    mismatches = mismatches_after(NETWORKED_EDITS, NETWORKED, tmp_path, moto)
    assert not mismatches, "\n".join(mismatches)
    # What the plan cannot show and diff warns of: a new zone re-carves the subnets, and the
    # new private block overlaps the one the old subnet still holds (the name-prefixed CE's
    # create_before_destroy keeps it until its replacement exists); EC2, as moto, refuses it.
    applied = tf.terraform(
        ["apply", "-auto-approve"], tmp_path / "add-az" / "module", moto.env(), ok_codes=(0, 1)
    )
    assert applied.returncode == 1
    assert "InvalidSubnet.Conflict" in applied.stdout + applied.stderr
