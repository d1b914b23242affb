"""``verify`` compares a compute environment's placement group and zone-narrowed subnets.

moto cannot create placement groups (see test_plan_compute.py), so this test feeds the verifier
the compute environment as ``DescribeComputeEnvironments`` returns it.
"""

from __future__ import annotations

from typing import Any

from batchform.build import analyze_text
from batchform.model import Environment
from batchform.verify.batch import check_compute_environment
from batchform.verify.desired import Desired
from batchform.verify.fetch import Reader
from batchform.verify.gather import Gatherer

CONFIG = """\
version: 1
name: placed
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
compute_environments:
  mpi:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [c6i]
    placement_group: {strategy: cluster}
    availability_zones: [us-west-2b]
"""


def _env() -> Environment:
    analysis = analyze_text(CONFIG, "placed.yaml")
    assert analysis.env is not None and not analysis.failed(), analysis.diagnostics
    return analysis.env


def _deployed(placement_group: str) -> dict[str, Any]:
    return {
        "computeEnvironmentName": "placed-mpi-20260101",
        "computeEnvironmentArn": "arn:aws:batch:us-west-2:123456789012:compute-environment/x",
        "type": "MANAGED",
        "state": "ENABLED",
        "status": "VALID",
        "tags": {"batchform:environment": "placed", "batchform:key": "mpi"},
        "computeResources": {"placementGroup": placement_group},
    }


def _placement_differences(placement_group: str) -> list[tuple[str, Any, Any]]:
    desired = Desired(_env())
    gatherer = Gatherer(desired, Reader(clients=None))  # type: ignore[arg-type]
    gatherer.live.compute_environments = [_deployed(placement_group)]
    gatherer._bind()
    (ctx,) = desired.compute_environments
    check = check_compute_environment(gatherer.live, desired, ctx)
    return [
        (d.attribute, d.expected, d.actual)
        for d in check.differences
        if d.attribute == "computeResources.placementGroup"
    ]


def test_the_created_placement_group_is_expected_by_name() -> None:
    assert _placement_differences("placed-mpi-cluster") == []


def test_another_placement_group_is_drift() -> None:
    assert _placement_differences("someone-elses-group") == [
        ("computeResources.placementGroup", "placed-mpi-cluster", "someone-elses-group")
    ]
