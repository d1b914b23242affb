"""Compute changes on CEs provider 5.x cannot update in place apply in one go (emulated AWS).

hashicorp/aws 5.x updates a compute environment in place only with Batch's service-linked role
and allocation strategy BEST_FIT_PROGRESSIVE or SPOT_CAPACITY_OPTIMIZED
(``isUpdatableComputeEnvironment`` in ``internal/service/batch/compute_environment.go``); every
other compute change replaces it (its CustomizeDiff calls ``ForceNew``). A launch template edit
is the trap: the template's new ``latest_version`` is unknown while planning, so the provider
plans an in-place update and, once the version is known during apply, demands a replacement:
"Provider produced inconsistent final plan" (provider issues #37440 and #39470; fixed only in
6.x by PR #43337). The compiler gives such CEs ``lifecycle { replace_triggered_by =
[aws_launch_template.<lt>.latest_version] }``.

Each edit below is applied to a deployment on moto, where the provider's plan-time logic runs as
against AWS: ``terraform plan`` must say "replace" for the non-updatable CEs up front (and
``batchform diff`` must say the same), one ``apply`` must succeed, and the plan after it must be
empty. The edits: the launch template's user data, the AMI an SSM parameter names (changed in
the account, not in the file), and the instance types.

An updatable CE (BEST_FIT_PROGRESSIVE) is left out: it takes the new version by an in-place
UpdateComputeEnvironment, whose computeResources moto 5.2 ignores, so its re-plan would show the
update again (a moto gap, not a batchform one).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchform.sandbox.emulator import MotoServer
from tests.harness import terraform as tf
from tests.harness.cli import run_cli
from tests.harness.plans import claimed_actions, env_of, moto_module, plan_actions

REGION = "us-west-2"
AMI_PARAMETER = "/batchform/lifecycle/ecs-ami"
CONFIG = f"""\
version: 1
name: lifecycle
region: {REGION}
network:
  vpc:
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a]
      nat_gateways: none
amis:
  ecs:
    ssm_parameter: {AMI_PARAMETER}
launch_templates:
  boot:
    user_data: |
      echo first >> /etc/motd
compute_environments:
  spot:                                # SPOT_PRICE_CAPACITY_OPTIMIZED: not updatable in 5.x
    type: SPOT
    allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED
    max_vcpus: 16
    instance_types: [m6i]
    ami: ecs
    launch_template: boot
    subnets: public
  bestfit:                             # no strategy (BEST_FIT): not updatable
    type: EC2
    max_vcpus: 16
    instance_types: [m6i]
    ami: ecs
    launch_template: boot
    subnets: public
job_queues:
  main:
    priority: 1
    compute_environments: [spot, bestfit]
job_definitions:
  hello:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, hello]
    vcpus: 1
    memory: 512 MiB
"""
REPLACED = ("aws_batch_compute_environment.spot", "aws_batch_compute_environment.bestfit")


def _module(data: dict[str, Any], root: Path, moto: MotoServer) -> Path:
    return moto_module(env_of(data), "lifecycle.yaml", root, moto)


def _ce_names(moto: MotoServer) -> set[str]:
    batch = moto.client("batch", REGION)
    return {
        c["computeEnvironmentName"]
        for c in batch.describe_compute_environments()["computeEnvironments"]
    }


def _moto_amis(moto: MotoServer) -> list[str]:
    images = moto.client("ec2", REGION).describe_images(Owners=["amazon"])["Images"]
    return sorted(i["ImageId"] for i in images)[:2]


def _set_ami(moto: MotoServer, ami: str) -> None:
    moto.client("ssm", REGION).put_parameter(
        Name=AMI_PARAMETER, Value=ami, Type="String", DataType="aws:ec2:image", Overwrite=True
    )


def _edit_user_data(data: dict[str, Any]) -> None:
    data["launch_templates"]["boot"]["user_data"] = "echo second >> /etc/motd\n"


def _edit_instance_types(data: dict[str, Any]) -> None:
    for key in ("spot", "bestfit"):
        data["compute_environments"][key]["instance_types"] = ["m6i", "r6i"]


@pytest.mark.e2e
def test_compute_changes_apply_in_one_go(
    tmp_path: Path,
    terraform_cli: tf.TerraformCLI,
    moto: MotoServer,
    batch_service_linked_role: str,
) -> None:
    first_ami, second_ami = _moto_amis(moto)
    _set_ami(moto, first_ami)
    data: dict[str, Any] = yaml.safe_load(CONFIG)
    module = _module(data, tmp_path / "v0", moto)
    tf.init(module, moto.env())
    tf.apply(module, moto.env())
    assert tf.plan_detailed_exitcode(module, moto.env()) == 0

    steps: list[tuple[str, Any]] = [
        ("user data", _edit_user_data),
        ("AMI in the SSM parameter", lambda _: _set_ami(moto, second_ami)),
        ("instance types", _edit_instance_types),
    ]
    for number, (what, edit) in enumerate(steps, start=1):
        before = env_of(data)
        data = copy.deepcopy(data)
        edit(data)
        previous = module
        module = _module(data, tmp_path / f"v{number}", moto)
        shutil.copy(previous / "terraform.tfstate", module / "terraform.tfstate")
        tf.init(module, moto.env())
        names_before = _ce_names(moto)

        planned = plan_actions(module, moto)
        for address in REPLACED:
            assert planned.get(address) == "replace", f"{what}: terraform plans {planned}"
        if what != "AMI in the SSM parameter":  # that change is in the account, not the file
            claimed = claimed_actions(before, env_of(data))
            assert claimed == planned, f"{what}: diff claims {claimed}, terraform plans {planned}"

        tf.apply(module, moto.env())  # raises unless the one apply succeeds
        replan = tf.plan(module, moto.env())
        assert replan.returncode == 0, f"{what}: plan after apply:\n{replan.stdout[-4000:]}"
        new_names = _ce_names(moto) - names_before
        assert len(new_names) == len(REPLACED), f"{what}: new CEs {new_names}"


PLACED = """\
version: 1
name: placed
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b], nat_gateways: none}
compute_environments:
  mpi:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [c6i]
    subnets: public
    placement_group: {strategy: cluster}
    availability_zones: [us-west-2b]
job_queues:
  main: {priority: 1, compute_environments: [mpi]}
"""


@pytest.mark.e2e
def test_sandbox_names_a_placement_group_moto_cannot_create(
    tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    """moto 5.2.5 has no CreatePlacementGroup; the sandbox deploys the rest of the file with
    the CE naming the group, and lists the placement group as not checked."""
    config = tmp_path / "placed.yaml"
    config.write_text(PLACED, encoding="utf-8")
    done = run_cli("sandbox", config, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "placement groups (mpi (cluster: placed-mpi-cluster))" in out, out
    assert "does not implement CreatePlacementGroup" in out
