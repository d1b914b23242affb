"""Compute rules BF300-BF332: each fires on a bad file, at the offending line, and stays silent
on the corrected one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from batchform.build import analyze, analyze_text
from batchform.checks import all_rules
from batchform.diagnostics import Level
from tests.harness.small_env import line_of

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

BASE = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
  security_groups:
    batch: {description: Batch hosts}
"""


@dataclass(frozen=True)
class Case:
    code: str
    bad: str  # appended to BASE
    marker: str  # text on the line the finding must point at
    good: str


def ce(body: str, key: str = "ce") -> str:
    return f"compute_environments:\n  {key}:\n" + "".join(
        f"    {line}\n" for line in body.strip().splitlines()
    )


def lt(body: str, ce_type: str = "EC2") -> str:
    """A launch template ``lt`` used by an EC2 CE, so only the rule under test fires."""
    return (
        "launch_templates:\n  lt:\n"
        + "".join(f"    {line}\n" for line in body.strip().splitlines())
        + ce(f"type: {ce_type}\nmax_vcpus: 8\nlaunch_template: lt")
    )


UPDATABLE = "allocation_strategy: BEST_FIT_PROGRESSIVE\n"

CASES = [
    Case(
        "BF300",
        ce("type: EC2\nmax_vcpus: 8\nallocation_strategy: SPOT_CAPACITY_OPTIMIZED"),
        "allocation_strategy: SPOT_CAPACITY_OPTIMIZED",
        ce("type: SPOT\nmax_vcpus: 8\nallocation_strategy: SPOT_CAPACITY_OPTIMIZED"),
    ),
    Case(
        "BF301",
        ce("type: EC2\nmax_vcpus: 8\nallocation_strategy: BEST_FIT"),
        "allocation_strategy: BEST_FIT",
        ce("type: EC2\nmax_vcpus: 8\n" + UPDATABLE),
    ),
    Case(
        "BF301",
        ce("type: SPOT\nmax_vcpus: 8"),
        "type: SPOT",
        ce("type: SPOT\nmax_vcpus: 8\nallocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED"),
    ),
    Case(
        "BF302",
        "iam:\n  service_role: generated\n" + ce("type: EC2\nmax_vcpus: 8\n" + UPDATABLE),
        "service_role: generated",
        "iam:\n  service_role: generated\n" + ce("type: FARGATE\nmax_vcpus: 8"),
    ),
    Case(
        "BF303",
        ce("type: EC2\nmax_vcpus: 8\nbid_percentage: 50\n" + UPDATABLE),
        "bid_percentage: 50",
        ce("type: SPOT\nmax_vcpus: 8\nbid_percentage: 50"),
    ),
    Case(
        "BF304",
        ce("type: SPOT\nmax_vcpus: 8\nbid_percentage: 150"),
        "bid_percentage: 150",
        ce("type: SPOT\nmax_vcpus: 8\nbid_percentage: 100"),
    ),
    Case(
        "BF304",
        ce("type: SPOT\nmax_vcpus: 8\nbid_percentage: 0"),
        "bid_percentage: 0",
        ce("type: SPOT\nmax_vcpus: 8\nbid_percentage: 1"),
    ),
    Case(
        "BF305",
        ce("type: EC2\nmin_vcpus: 16\nmax_vcpus: 8"),
        "min_vcpus: 16",
        ce("type: EC2\nmin_vcpus: 8\nmax_vcpus: 8"),
    ),
    Case(
        "BF305",
        ce("type: EC2\nmin_vcpus: -1\nmax_vcpus: 8"),
        "min_vcpus: -1",
        ce("type: EC2\nmin_vcpus: 0\nmax_vcpus: 8"),
    ),
    Case(
        "BF306",
        ce("type: EC2\nmax_vcpus: 0"),
        "max_vcpus: 0",
        ce("type: EC2\nmax_vcpus: 1"),
    ),
    Case(
        "BF307",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types: [c6i, C6I.Large]"),
        "instance_types:",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types: [c6i, c6i.large]"),
    ),
    Case(
        "BF308",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types: [c6i, optimal]"),
        "instance_types:",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types: [optimal]"),
    ),
    Case(
        "BF309",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - c6i\n  - c7g.large"),
        "- c7g.large",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - c7g\n  - c7g.large"),
    ),
    Case(
        "BF309",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - default_arm64\n  - m6i"),
        "- m6i",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - default_arm64\n  - m7g"),
    ),
    Case(
        "BF310",
        "amis:\n  old:\n    image_type: ECS_AL2\n" + ce("type: EC2\nmax_vcpus: 8\nami: old"),
        "image_type: ECS_AL2",
        "amis:\n  new:\n    image_type: ECS_AL2023\n" + ce("type: EC2\nmax_vcpus: 8\nami: new"),
    ),
    Case(
        "BF311",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - a1.large"),
        "- a1.large",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - c7g.large"),
    ),
    Case(
        "BF312",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - p3.2xlarge"),
        "- p3.2xlarge",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types:\n  - p4d.24xlarge"),
    ),
    Case(
        "BF313",
        "amis:\n  plain:\n    image_type: ECS_AL2023\n"
        + ce("type: EC2\nmax_vcpus: 8\ninstance_types: [g5]\nami: plain"),
        "ami: plain",
        "amis:\n  plain:\n    image_type: ECS_AL2023_NVIDIA\n"
        + ce("type: EC2\nmax_vcpus: 8\ninstance_types: [g5]\nami: plain"),
    ),
    Case(
        "BF314",
        "amis:\n  pinned:\n    id: ami-12345\n" + ce("type: EC2\nmax_vcpus: 8\nami: pinned"),
        "id: ami-12345",
        "amis:\n  pinned:\n    id: ami-0123456789abcdef0\n"
        + ce("type: EC2\nmax_vcpus: 8\nami: pinned"),
    ),
    Case(
        "BF315",
        ce("type: FARGATE\nmax_vcpus: 8\nmin_vcpus: 0"),
        "min_vcpus: 0",
        ce("type: FARGATE\nmax_vcpus: 8"),
    ),
    Case(
        "BF315",
        ce("type: FARGATE_SPOT\nmax_vcpus: 8\ninstance_tags: {a: b}"),
        "instance_tags:",
        ce("type: FARGATE_SPOT\nmax_vcpus: 8"),
    ),
    Case(
        "BF316",
        "".join(f"    sg{i}: {{description: group {i}}}\n" for i in range(6))
        + ce("type: FARGATE\nmax_vcpus: 8\nsecurity_groups: [sg0, sg1, sg2, sg3, sg4, sg5]"),
        "security_groups: [sg0",
        "".join(f"    sg{i}: {{description: group {i}}}\n" for i in range(6))
        + ce("type: FARGATE\nmax_vcpus: 8\nsecurity_groups: [sg0, sg1, sg2, sg3, sg4]"),
    ),
    Case(
        "BF317",
        ce(
            "type: FARGATE\nmax_vcpus: 8\nsubnets: ["
            + ", ".join(f"subnet-{i:017x}" for i in range(17))
            + "]"
        ),
        "subnets:",
        ce(
            "type: FARGATE\nmax_vcpus: 8\nsubnets: ["
            + ", ".join(f"subnet-{i:017x}" for i in range(16))
            + "]"
        ),
    ),
    Case(
        "BF318",
        ce("type: FARGATE\nmax_vcpus: 8\nsubnets: []"),
        "subnets: []",
        ce("type: FARGATE\nmax_vcpus: 8\nsubnets: [subnet-0123456789abcdef0]"),
    ),
    Case(
        "BF319",
        ce(
            "type: EC2\nmax_vcpus: 8\n"
            + UPDATABLE
            + "update_policy: {terminate_jobs_on_update: false, job_execution_timeout: 7h}"
        ),
        "update_policy:",
        ce(
            "type: EC2\nmax_vcpus: 8\n"
            + UPDATABLE
            + "update_policy: {terminate_jobs_on_update: false, job_execution_timeout: 6h}"
        ),
    ),
    Case(
        "BF320",
        "compute_environments:\n"
        + "".join(f"  ce{i}: {{type: FARGATE, max_vcpus: 4}}\n" for i in range(51)),
        "compute_environments:",  # a finding about a whole mapping points at its key
        "compute_environments:\n"
        + "".join(f"  ce{i}: {{type: FARGATE, max_vcpus: 4}}\n" for i in range(50)),
    ),
    Case(
        "BF322",
        lt("scratch_volume: {size: 100, type: gp2, throughput: 200}"),
        "scratch_volume:",
        lt("scratch_volume: {size: 100, type: gp3, throughput: 200}"),
    ),
    Case(
        "BF322",
        lt("root_volume:\n  size: 100\n  type: gp2\n  iops: 500"),
        "iops: 500",
        lt("root_volume:\n  size: 100\n  type: gp3\n  iops: 5000"),
    ),
    Case(
        "BF323",
        lt("scratch_volume:\n  size: 200\n  type: gp3\n  iops: 90000"),
        "iops: 90000",
        lt("scratch_volume:\n  size: 200\n  type: gp3\n  iops: 80000"),
    ),
    Case(  # 500 IOPS per GiB past the included 3000 (EBS general-purpose.html)
        "BF323",
        lt("scratch_volume:\n  size: 20\n  type: gp3\n  iops: 20000"),
        "iops: 20000",
        lt("scratch_volume:\n  size: 40\n  type: gp3\n  iops: 20000"),
    ),
    Case(  # a small gp3 volume keeps its included 3000 IOPS
        "BF323",
        lt("scratch_volume:\n  size: 2\n  type: gp3\n  iops: 3001"),
        "iops: 3001",
        lt("scratch_volume:\n  size: 2\n  type: gp3\n  iops: 3000"),
    ),
    Case(
        "BF323",
        lt("scratch_volume:\n  size: 100\n  type: gp3\n  throughput: 1001"),
        "throughput: 1001",
        lt("scratch_volume:\n  size: 100\n  type: gp3\n  throughput: 125"),
    ),
    Case(
        "BF323",
        lt("scratch_volume:\n  size: 100\n  type: gp3\n  throughput: 1000"),
        "throughput: 1000",
        lt("scratch_volume:\n  size: 100\n  type: gp3\n  iops: 4000\n  throughput: 1000"),
    ),
    Case(
        "BF324",
        lt("scratch_volume:\n  size: 100\n  type: io2"),
        "type: io2",
        lt("scratch_volume:\n  size: 100\n  type: io2\n  iops: 10000"),
    ),
    Case(  # io1: at most 50 IOPS per GiB (EBS provisioned-iops.html)
        "BF324",
        lt("scratch_volume:\n  size: 100\n  type: io1\n  iops: 10000"),
        "iops: 10000",
        lt("scratch_volume:\n  size: 200\n  type: io1\n  iops: 10000"),
    ),
    Case(
        "BF325",
        lt("scratch_volume:\n  size: 65 TiB\n  type: gp3"),
        "size: 65 TiB",
        lt("scratch_volume:\n  size: 64 TiB\n  type: gp3"),
    ),
    Case(
        "BF325",
        lt("scratch_volume:\n  size: 20 TiB\n  type: io1\n  iops: 64000"),
        "size: 20 TiB",
        lt("scratch_volume:\n  size: 20 TiB\n  type: io2\n  iops: 64000"),
    ),
    Case(
        "BF325",
        lt("scratch_volume:\n  size: 100\n  type: st1"),
        "size: 100",
        lt("scratch_volume:\n  size: 125\n  type: st1"),
    ),
    Case(
        "BF326",
        lt("root_volume:\n  size: 200\n  type: sc1"),
        "type: sc1",
        lt("root_volume:\n  size: 200\n  type: gp3"),
    ),
    Case(
        "BF327",
        lt("root_volume:\n  size: 8"),
        "size: 8",
        lt("root_volume:\n  size: 30"),
    ),
    Case(
        "BF328",
        lt("scratch_volume:\n  size: 100\n  device: /dev/xvda"),
        "device: /dev/xvda",
        lt("scratch_volume:\n  size: 100\n  device: /dev/xvdc"),
    ),
    Case(
        "BF329",
        lt("scratch_volume:\n  size: 100\n  mount_path: scratch"),
        "mount_path: scratch",
        lt("scratch_volume:\n  size: 100\n  mount_path: /scratch"),
    ),
    Case(
        "BF329",
        lt("scratch_volume:\n  size: 100\n  mount_path: /var/lib/docker"),
        "mount_path: /var/lib/docker",
        lt("scratch_volume:\n  size: 100\n  mount_path: /var/lib/scratch"),
    ),
    Case(
        "BF330",
        lt("user_data: |\n  MIME-Version: 1.0\n  Content-Type: text/plain"),
        "user_data:",
        lt("user_data: |\n  echo ready"),
    ),
    Case(
        "BF331",
        "amis:\n  spare:\n    image_type: ECS_AL2023\n" + ce("type: EC2\nmax_vcpus: 8"),
        "spare:",
        "amis:\n  spare:\n    image_type: ECS_AL2023\n" + ce("type: EC2\nmax_vcpus: 8\nami: spare"),
    ),
    Case(
        "BF331",
        "amis:\n  spare:\n    image_type: ECS_AL2023\n"
        + ce("type: FARGATE\nmax_vcpus: 8\nami: spare"),
        "spare:",
        "amis:\n  spare:\n    image_type: ECS_AL2023\n" + ce("type: EC2\nmax_vcpus: 8\nami: spare"),
    ),
    Case(
        "BF332",
        "launch_templates:\n  unused:\n    imdsv2: required\n",
        "unused:",  # a finding about a whole mapping points at its key
        lt("imdsv2: required"),
    ),
    Case(
        "BF340",
        ce("type: EC2\nmax_vcpus: 8\nsecurity_groups: [batch, sg-0123ABCD]"),
        "sg-0123ABCD",
        ce("type: EC2\nmax_vcpus: 8\nsecurity_groups: [batch, sg-0123abcd]"),
    ),
    Case(
        "BF341",
        ce("type: EC2\nmax_vcpus: 8\navailability_zones: [us-west-2c]"),
        "availability_zones: [us-west-2c]",
        ce("type: EC2\nmax_vcpus: 8\navailability_zones: [us-west-2b]"),
    ),
    Case(
        "BF341",
        ce("type: EC2\nmax_vcpus: 8\nsubnets: [subnet-0aaa]\navailability_zones: [us-west-2a]"),
        "availability_zones: [us-west-2a]",
        ce("type: EC2\nmax_vcpus: 8\nsubnets: [subnet-0aaa]"),
    ),
    Case(
        "BF342",
        ce("type: EC2\nmax_vcpus: 8\nplacement_group:\n  strategy: cluster"),
        "strategy: cluster",
        ce(
            "type: EC2\nmax_vcpus: 8\nplacement_group:\n  strategy: cluster\n"
            "availability_zones: [us-west-2a]"
        ),
    ),
    Case(
        "BF343",
        ce("type: EC2\nmax_vcpus: 8\nplacement_group: training"),
        "placement_group: training",
        ce("type: EC2\nmax_vcpus: 8\nplacement_group: training\navailability_zones: [us-west-2a]"),
    ),
    Case(
        "BF343",
        ce(
            "type: EC2\nmax_vcpus: 8\nsubnets: [subnet-0aaa, subnet-0bbb]\n"
            "placement_group: {strategy: cluster}"
        ),
        "placement_group:",
        ce("type: EC2\nmax_vcpus: 8\nsubnets: [subnet-0aaa]\nplacement_group: {strategy: cluster}"),
    ),
    Case(
        "BF333",
        ce("type: SPOT\nmax_vcpus: 8\nallocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED"),
        "allocation_strategy: SPOT_PRICE",
        ce("type: SPOT\nmax_vcpus: 8\nallocation_strategy: SPOT_CAPACITY_OPTIMIZED"),
    ),
    # BF334-BF336: limits AWS enforces (compiler/batchform/checks/limits.py)
    Case(
        "BF334",
        lt("user_data: |\n" + "".join(f"  echo {'x' * 200} {i}\n" for i in range(80))),
        "user_data: |",
        lt("user_data: |\n  echo hello"),
    ),
    Case(
        "BF335",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types: []"),
        "instance_types: []",
        ce("type: EC2\nmax_vcpus: 8\ninstance_types: [m6i]"),
    ),
    Case(
        "BF336",
        ce("type: EC2\nmax_vcpus: 8\nsubnets: [subnet-0123456789abcdef0]"),
        "subnets: [subnet-",
        ce("type: EC2\nmax_vcpus: 8\nsubnets: private"),
    ),
]


def findings(text: str, code: str) -> list[tuple[str, int | None]]:
    analysis = analyze_text(text, "demo.yaml")
    assert analysis.env is not None, [d.message for d in analysis.diagnostics]
    return [(d.code, d.line) for d in analysis.diagnostics if d.code == code]


def case_id(case: Case) -> str:
    return f"{case.code}-{case.marker.strip(':- ')[:24]}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_fires_at_the_offending_line(case: Case) -> None:
    text = BASE + case.bad
    assert findings(text, case.code) == [(case.code, line_of(text, case.marker))]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_stays_silent_on_the_fixed_file(case: Case) -> None:
    assert findings(BASE + case.good, case.code) == []


def test_every_compute_rule_has_a_case() -> None:
    codes = {r.code for r in all_rules() if "BF300" <= r.code <= "BF349"}
    tested = {c.code for c in CASES} | {"BF321"}  # BF321: below, and tests/test_naming.py
    assert codes == tested


def test_ce_name_prefix_limit_cannot_be_reached_by_default_names() -> None:
    """Names (<= 28) and keys (<= 32) keep every ``<name>-<key>-`` prefix far below 102
    characters; only ``aws_name_prefix`` can reach the limit (tests/test_naming.py)."""
    rule = next(r for r in all_rules() if r.code == "BF321")
    text = BASE.replace("name: demo", "name: " + "n" * 28) + ce(
        "type: FARGATE\nmax_vcpus: 8", key="k" * 32
    )
    analysis = analyze_text(text, "demo.yaml")
    assert analysis.env is not None
    assert list(rule.function(analysis.env)) == []


@pytest.mark.parametrize(
    ("aws_provider", "reported"),
    [("~> 6.0", True), ("~> 6.9", True), ("~> 6.10", False), (">= 6.10.0, < 7.0.0", False)],
)
def test_bf333_is_reported_only_where_an_admitted_provider_replaces(
    aws_provider: str, reported: bool
) -> None:
    """Provider 6.10.0 updates SPOT_PRICE_CAPACITY_OPTIMIZED compute environments in place
    (CHANGELOG.md 6.10.0, #40148); the info names the constraint that lets an older one in."""
    text = (
        BASE
        + f"terraform: {{aws_provider: '{aws_provider}'}}\n"
        + ce("type: SPOT\nmax_vcpus: 8\nallocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED")
    )
    diags = [d for d in analyze_text(text, "demo.yaml").diagnostics if d.code == "BF333"]
    assert bool(diags) is reported
    if reported:
        assert f'"{aws_provider}" admits' in diags[0].message
        assert "before 6.10.0" in diags[0].message


def test_levels_and_hints() -> None:
    text = BASE + ce("type: EC2\nmax_vcpus: 8\nallocation_strategy: BEST_FIT")
    (warning,) = [d for d in analyze_text(text, "demo.yaml").diagnostics if d.code == "BF301"]
    assert warning.level == Level.WARNING
    assert warning.hint == "use allocation_strategy: BEST_FIT_PROGRESSIVE"
    text = BASE + ce("type: FARGATE\nmax_vcpus: 8\nlaunch_template: lt\nami: x")
    errors = [d for d in analyze_text(text, "demo.yaml").diagnostics if d.code == "BF315"]
    assert {d.level for d in errors} == {Level.ERROR}
    assert sorted(d.path[-1] for d in errors) == ["ami", "launch_template"]


def test_fargate_forbidden_keys_are_reported_once_each() -> None:
    text = BASE + ce(
        "type: FARGATE\nmax_vcpus: 8\nallocation_strategy: BEST_FIT\nbid_percentage: 50\n"
        "instance_types: [c6i]\nec2_key_pair: k\nplacement_group: p"
    )
    analysis = analyze_text(text, "demo.yaml")
    fargate = sorted(str(d.path[-1]) for d in analysis.diagnostics if d.code == "BF315")
    assert fargate == [
        "allocation_strategy",
        "bid_percentage",
        "ec2_key_pair",
        "instance_types",
        "placement_group",
    ]
    # the EC2-side rules leave Fargate to BF315
    assert not [d for d in analysis.diagnostics if d.code in ("BF300", "BF301", "BF303")]


@pytest.mark.parametrize("name", ["genomics", "gpu", "fargate"])
def test_examples_raise_no_compute_findings(name: str) -> None:
    analysis = analyze(CONFIGS / f"{name}.yaml")
    findings = [d for d in analysis.diagnostics if "BF300" <= d.code <= "BF349"]
    assert [d for d in findings if d.level != "info"] == []
