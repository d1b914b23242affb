# ruff: noqa: E501  (the fixtures are real, single-line Terraform error messages)
"""Creates moto answers as duplicates after an SDK retry are recognised, and nothing else is;
the ids the messages do not carry are found in the emulator, and the apply then completes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchform.sandbox.duplicates import EmulatorLookup, duplicate_creates
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.terraform import apply_importing_duplicates
from tests.harness import terraform as tf
from tests.harness.deploy import deployed_module

ROOT = Path(__file__).resolve().parent.parent

CE_DUPLICATE = """
Error: creating Batch Compute Environment (genomics-prod-ondemand-2026): operation error Batch: CreateComputeEnvironment, https response error StatusCode: 400, api error InvalidParameterValue: A compute environment already exists with the name genomics-prod-ondemand-2026

  with aws_batch_compute_environment.ondemand,
  on compute_environments.tf line 36, in resource "aws_batch_compute_environment" "ondemand":
  36: resource "aws_batch_compute_environment" "ondemand" {
"""

ROLE_DUPLICATE = """
Error: creating IAM Role (demo-execution): operation error IAM: CreateRole, https response error StatusCode: 409, EntityAlreadyExists: Role with name demo-execution already exists.

  with aws_iam_role.execution,
  on iam.tf line 12, in resource "aws_iam_role" "execution":
"""

# Seen in CI: the provider's SDK sent AuthorizeSecurityGroupEgress twice under load.
RULE_DUPLICATE = """
Error: creating VPC Security Group Rule

  with aws_vpc_security_group_egress_rule.etl_tasks_egress_3,
  on security_groups.tf line 53, in resource "aws_vpc_security_group_egress_rule" "etl_tasks_egress_3":
  53: resource "aws_vpc_security_group_egress_rule" "etl_tasks_egress_3" {

operation error EC2: AuthorizeSecurityGroupEgress, https response error
StatusCode: 400, RequestID:
LwR4uqew9hSZdgM5DE1VUox9vT51DblfxxGvkESGndBOg4xS7liM, api error
InvalidPermission.Duplicate: The specified rule already exists
"""

PROFILE_DUPLICATE = """
Error: creating IAM Instance Profile (gpu-ecs-instance): operation error IAM: CreateInstanceProfile, https response error StatusCode: 409, EntityAlreadyExists: Instance Profile gpu-ecs-instance already exists.

  with aws_iam_instance_profile.ecs_instance,
  on iam.tf line 58, in resource "aws_iam_instance_profile" "ecs_instance":
"""

# Seen in CI: the provider's SDK sent CreateRoute (the NAT route of ml-training) twice.
ROUTE_DUPLICATE = """
Error: creating Route in Route Table (rtb-8d6b11df30817167b) with destination (0.0.0.0/0): operation error EC2: CreateRoute, https response error StatusCode: 400, RequestID: DctmnsOdgtbwTWeoykixMqL01qroZV8zctZ3ug4XOKh7BJl8j5T4, api error RouteAlreadyExists: The route identified by 0.0.0.0/0 already exists

  with aws_route.private_us_west_2b_nat,
  on network.tf line 143, in resource "aws_route" "private_us_west_2b_nat":
"""

# Seen in CI (tests/test_import_e2e.py): CreateJobQueue sent twice, for a queue in a child module.
QUEUE_DUPLICATE = """
Error: creating Batch Job Queue (legacy-batch-low)

  with module.batch.aws_batch_job_queue.this["low"],
  on modules/batch/main.tf line 22, in resource "aws_batch_job_queue" "this":
  22: resource "aws_batch_job_queue" "this" {

operation error Batch: CreateJobQueue, https response error StatusCode: 400,
RequestID: nH0kNhoacDzi6zby1bW0ZywsssjDc6eNvs1TcttqB20tofUu3FF5,
ClientException: Job queue legacy-batch-low already exists
"""

# The shapes of moto's answers (moto/scheduler/exceptions.py, moto/efs/models.py) in the
# provider's error format.
SCHEDULE_DUPLICATE = """
Error: creating EventBridge Scheduler Schedule (genomics-prod-nightly-align)

  with aws_scheduler_schedule.nightly_align,
  on schedules.tf line 1, in resource "aws_scheduler_schedule" "nightly_align":

operation error Scheduler: CreateSchedule, https response error StatusCode: 409, ConflictException: Schedule genomics-prod-nightly-align already exists.
"""

MOUNT_TARGET_DUPLICATE = """
Error: creating EFS Mount Target (fs-0a1b2c3d4e5f67890)

  with aws_efs_mount_target.fs_0a1b2c3d4e5f67890_us_west_2a,
  on efs.tf line 1, in resource "aws_efs_mount_target" "fs_0a1b2c3d4e5f67890_us_west_2a":

operation error EFS: CreateMountTarget, https response error StatusCode: 409, MountTargetConflict: mount target already exists in this AZ
"""

REAL_FAILURE = """
Error: creating EC2 Subnet: operation error EC2: CreateSubnet, InvalidParameterValue: Value (us-west-2e) for parameter availabilityZone is invalid.

  with aws_subnet.private_us_west_2e,
  on network.tf line 40, in resource "aws_subnet" "private_us_west_2e":
"""


def test_duplicates_name_the_address_and_the_import_id() -> None:
    assert duplicate_creates(CE_DUPLICATE + ROLE_DUPLICATE) == [
        ("aws_batch_compute_environment.ondemand", "genomics-prod-ondemand-2026"),
        ("aws_iam_role.execution", "demo-execution"),
    ]


def test_a_route_sent_twice_is_imported_by_table_and_destination() -> None:
    assert duplicate_creates(ROUTE_DUPLICATE) == [
        ("aws_route.private_us_west_2b_nat", "rtb-8d6b11df30817167b_0.0.0.0/0")
    ]
    other = ROUTE_DUPLICATE.replace("RouteAlreadyExists", "InvalidRouteTableID.NotFound")
    assert duplicate_creates(other) == []


def test_a_real_failure_is_not_a_duplicate() -> None:
    assert duplicate_creates(REAL_FAILURE) == []
    assert duplicate_creates(REAL_FAILURE + CE_DUPLICATE) == [
        ("aws_batch_compute_environment.ondemand", "genomics-prod-ondemand-2026")
    ]


def test_ids_the_message_lacks_come_from_the_lookup_for_that_resource() -> None:
    asked: list[tuple[str, str]] = []

    def lookup(rtype: str, label: str) -> str | None:
        asked.append((rtype, label))
        return "sgr-0123"

    assert duplicate_creates(RULE_DUPLICATE + PROFILE_DUPLICATE, lookup) == [
        ("aws_vpc_security_group_egress_rule.etl_tasks_egress_3", "sgr-0123"),
        ("aws_iam_instance_profile.ecs_instance", "gpu-ecs-instance"),
    ]
    assert asked == [("aws_vpc_security_group_egress_rule", "etl_tasks_egress_3")]
    assert [
        address
        for address, _ in duplicate_creates(SCHEDULE_DUPLICATE + MOUNT_TARGET_DUPLICATE, lookup)
    ] == [
        "aws_scheduler_schedule.nightly_align",
        "aws_efs_mount_target.fs_0a1b2c3d4e5f67890_us_west_2a",
    ]
    del asked[1:]
    # Without a lookup, or when the emulator holds no single match, it stays a failure.
    assert duplicate_creates(RULE_DUPLICATE) == []
    assert duplicate_creates(RULE_DUPLICATE, lambda rtype, label: None) == []
    # A real failure of a resource type that has a lookup is never looked up.
    assert duplicate_creates(REAL_FAILURE.replace("aws_subnet", "aws_security_group"), lookup) == []
    assert len(asked) == 1


def test_a_queue_sent_twice_is_imported_by_the_arn_of_the_queue_the_message_names() -> None:
    arns = {"legacy-batch-low": "arn:aws:batch:us-west-2:123456789012:job-queue/legacy-batch-low"}
    assert duplicate_creates(QUEUE_DUPLICATE, queue_arn=arns.get) == [
        ('module.batch.aws_batch_job_queue.this["low"]', arns["legacy-batch-low"])
    ]
    # Without the lookup, or when the emulator holds no such queue, it stays a failure.
    assert duplicate_creates(QUEUE_DUPLICATE) == []
    assert duplicate_creates(QUEUE_DUPLICATE, queue_arn=lambda name: None) == []
    other = QUEUE_DUPLICATE.replace("already exists", "does not exist")
    assert duplicate_creates(other, queue_arn=arns.get) == []


@pytest.fixture(scope="module")
def gpu_module(
    moto_session: MotoServer,
    terraform_cli: tf.TerraformCLI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """configs/gpu.yaml (ingress and egress rules, security-group peers, a launch template,
    log groups) compiled and applied to a freshly reset moto, once for this file's tests."""
    moto_session.reset()
    work = tmp_path_factory.mktemp("retry-gpu")
    with deployed_module(moto_session, ROOT / "configs" / "gpu.yaml", work) as deployment:
        yield deployment.module


def _state_ids(module: Path, env: dict[str, str]) -> dict[str, str]:
    return _state_values(module, env, "id")


def _state_values(module: Path, env: dict[str, str], key: str) -> dict[str, str]:
    shown = json.loads(tf.terraform(["show", "-json"], module, env).stdout)
    return {
        resource["address"]: resource["values"].get(key)
        for resource in shown["values"]["root_module"]["resources"]
        if resource["mode"] == "managed"
    }


@pytest.mark.e2e
def test_lookup_finds_what_terraform_created(moto_session: MotoServer, gpu_module: Path) -> None:
    ids = _state_ids(gpu_module, moto_session.env())
    lookup = EmulatorLookup(gpu_module, moto_session.env())
    kinds = (
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_security_group",
        "aws_launch_template",
        "aws_cloudwatch_log_group",
        "aws_efs_mount_target",
    )
    checked = {address: ids[address] for address in ids if address.startswith(kinds)}
    found = {address: lookup(*address.split(".", 1)) for address in checked}
    assert found == checked
    assert {address.split(".")[0] for address in checked} == set(kinds)
    queues = {a: i for a, i in ids.items() if a.startswith("aws_batch_job_queue.")}
    assert queues
    names = _state_values(gpu_module, moto_session.env(), "name")
    assert {a: lookup.job_queue_arn(names[a]) for a in queues} == queues
    assert lookup.job_queue_arn("no-such-queue") is None


def test_lookup_names_a_schedule_by_its_group_and_name(
    moto_session: MotoServer, tmp_path: Path
) -> None:
    """A schedule's import id is ``<group>/<name>``; the lookup answers only for a schedule the
    emulator holds."""
    (tmp_path / "schedules.tf").write_text(
        'resource "aws_scheduler_schedule" "nightly" {\n'
        '  name       = "retry-nightly"\n'
        '  group_name = "default"\n'
        "}\n"
        'resource "aws_scheduler_schedule" "ungrouped" {\n'
        '  name = "retry-ungrouped"\n'
        "}\n",
        encoding="utf-8",
    )
    lookup = EmulatorLookup(tmp_path, moto_session.env())
    assert lookup("aws_scheduler_schedule", "nightly") is None
    scheduler = moto_session.client("scheduler", region=moto_session.region)
    for name in ("retry-nightly", "retry-ungrouped"):
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": "arn:aws:sqs:us-west-2:123456789012:q",
                "RoleArn": "arn:aws:iam::123456789012:role/r",
            },
        )
    assert lookup("aws_scheduler_schedule", "nightly") == "default/retry-nightly"
    assert lookup("aws_scheduler_schedule", "ungrouped") == "default/retry-ungrouped"


@pytest.mark.e2e
def test_rules_created_twice_are_imported_and_the_apply_completes(
    moto_session: MotoServer, gpu_module: Path
) -> None:
    """What an SDK retry leaves: rules and queues in AWS that the state does not know. Creating
    them again fails as duplicates; they are imported and the apply completes with nothing
    left."""
    env = moto_session.env()
    rules = sorted(
        address
        for address in _state_ids(gpu_module, env)
        if address.startswith(("aws_vpc_security_group_", "aws_batch_job_queue."))
    )
    assert len([a for a in rules if a.startswith("aws_vpc")]) >= 4
    assert any(a.startswith("aws_batch_job_queue.") for a in rules)
    for address in rules:
        tf.terraform(["state", "rm", address], gpu_module, env)
    _, imported = apply_importing_duplicates(tf.current(), gpu_module, env)
    assert sorted(imported) == rules
    assert tf.plan_detailed_exitcode(gpu_module, env) == 0
