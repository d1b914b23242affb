"""``aws_name``, ``aws_name_prefix`` and ``tags`` on security groups, ``aws_name`` and
``aws_name_prefix`` on schedules (issue 12): the Terraform ``compile`` writes, the located
errors of a name EC2 or Scheduler would refuse or that another resource takes, what ``diff``
says when a group or schedule is renamed, and how ``verify`` finds a group by its name.

The e2e proof (apply on moto, empty re-plan, verify exits 0) is ``configs/adopted.yaml``,
which names a security group and a schedule, in ``tests/test_verify_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchform.build import analyze_files, analyze_text
from batchform.cli import main
from batchform.diff import Risk, diff_environments
from batchform.model import Environment, parse_environment
from batchform.sandbox.emulator import MotoServer
from batchform.verify import verify
from batchform.verify.operations import schedule_names
from batchform.verify.result import Status
from tests.harness.small_env import blocks, checked, line_of, rendered
from tests.test_verify import checked_env, clients_for

# --- what compile writes -----------------------------------------------------------------------

JOBS = """\
job_queues:
  main:
    priority: 1
    compute_environments: [ondemand]
job_definitions:
  hello:
    image: busybox
    vcpus: 1
    memory: 2 GiB
schedules:
  nightly:
    job_definition: hello
    queue: main
    cron: "0 2 * * ? *"
  hourly:
    job_definition: hello
    queue: main
    rate: 1 hour
    aws_name_prefix: lab.
"""


def _groups(**batch: Any) -> dict[str, Any]:
    return {"network": {"security_groups": {"batch": batch}}}


def _group_blocks(env: Environment) -> dict[str, dict[str, Any]]:
    return blocks(rendered(env)["security_groups.tf"])["aws_security_group"]


def test_a_named_group_gets_its_name_and_a_matching_console_name() -> None:
    group = _group_blocks(checked(replace=_groups(aws_name="legacy-batch-workers")))["batch"]
    assert group["name"] == "legacy-batch-workers"
    assert group["tags"]["Name"] == "legacy-batch-workers"
    assert group["tags"]["batchform:key"] == "batch"


def test_a_group_prefix_goes_before_the_key() -> None:
    group = _group_blocks(checked(replace=_groups(aws_name_prefix="team-")))["batch"]
    assert group["name"] == "team-batch"


def test_an_unnamed_group_keeps_name_and_key() -> None:
    group = _group_blocks(checked())["batch"]
    assert group["name"] == "demo-batch" and group["tags"]["Name"] == "demo-batch"


def test_group_tags_go_on_the_group_over_the_files_and_may_set_its_name_tag() -> None:
    env = checked(
        "tags: {tier: default}\n",
        replace=_groups(aws_name="workers", tags={"tier": "compute", "Name": "Batch workers"}),
    )
    group = _group_blocks(env)["batch"]
    assert group["tags"]["tier"] == "compute" and group["tags"]["Name"] == "Batch workers"
    assert group["tags"]["batchform:environment"] == "demo"  # batchform's own tags stay
    rules = rendered(env)["security_groups.tf"]
    egress = blocks(rules)["aws_vpc_security_group_egress_rule"]
    assert all("tier" not in rule["tags"] for rule in egress.values())


def test_the_default_group_is_named_by_writing_its_key() -> None:
    """With no ``network.security_groups`` batchform creates ``<name>-batch``; writing the key
    ``batch`` with an ``aws_name`` names that group, which the compute environment still uses."""
    env = checked(replace={"network": {"security_groups": None}})
    assert _group_blocks(env)["batch"]["name"] == "demo-batch"
    named = checked(replace={"network": {"security_groups": {"batch": {"aws_name": "workers"}}}})
    assert _group_blocks(named)["batch"]["name"] == "workers"
    ce = blocks(rendered(named)["compute_environments.tf"])["aws_batch_compute_environment"]
    assert ce["ondemand"]["compute_resources"][0]["security_group_ids"] == [
        "${aws_security_group.batch.id}"
    ]


def test_a_group_name_with_terraform_template_characters_is_written_literally() -> None:
    """EC2 allows ``$``, ``{`` and ``}`` in group names, which Terraform would read as an
    interpolation: the name reaches AWS as written (``$${`` is a literal ``${`` in HCL)."""
    env = checked(replace=_groups(aws_name="team ${x} [a]"))
    text = rendered(env)["security_groups.tf"]
    assert 'name        = "team $${x} [a]"' in text
    assert "${x}" not in text.replace("$${x}", "")


def test_schedule_names() -> None:
    text = rendered(checked(JOBS, replace={"schedules": {"nightly": {"aws_name": "nightly-run"}}}))
    schedules = blocks(text["schedules.tf"])["aws_scheduler_schedule"]
    assert {k: s["name"] for k, s in schedules.items()} == {
        "nightly": "nightly-run",
        "hourly": "lab.hourly",
    }
    # the README shows the AWS name beside the key where the file chose it
    assert "| `nightly` (`nightly-run`) |" in text["README.md"]
    assert "| `hourly` (`lab.hourly`) |" in text["README.md"]
    assert "tags" not in schedules["nightly"]  # Scheduler schedules take no tags


def test_schedules_take_no_tags_key() -> None:
    text = LOCATED + SCHEDULE + "    tags: {a: b}\n"
    result = analyze_text(text, "names.yaml")
    assert [(d.code, d.line) for d in result.diagnostics] == [("BF101", line_of(text, "tags:"))]


# --- located errors ----------------------------------------------------------------------------

LOCATED = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
  security_groups:
    batch:
      description: Batch compute
compute_environments:
  ec2:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    security_groups: [batch]
job_queues:
  main:
    priority: 1
    compute_environments: [ec2]
job_definitions:
  hello:
    image: busybox
    vcpus: 1
    memory: 2 GiB
"""
SCHEDULE = """\
schedules:
  nightly:
    job_definition: hello
    queue: main
    rate: 1 day
"""


def _with_group(lines: str) -> str:
    return LOCATED.replace("      description: Batch compute\n", lines)


def _found(text: str, code: str) -> list[tuple[int, int, str]]:
    result = analyze_text(text, "names.yaml")
    return [(d.line or 0, d.col or 0, d.message) for d in result.diagnostics if d.code == code]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("sg-workers", "starts with 'sg-'"),
        ("'batch workers?'", "characters EC2 refuses: '?'"),
        ("'Default'", "VPC's own default group"),
        ("w" * 256, "256 characters; EC2 allows at most 255"),
        ("''", "it is empty"),
    ],
)
def test_a_name_ec2_refuses_is_bf567_at_its_line(name: str, why: str) -> None:
    text = _with_group(f"      aws_name: {name}\n")
    ((line, col, message),) = _found(text, "BF567")
    assert (line, col) == (line_of(text, "aws_name:"), 17)
    assert why in message and "security group 'batch'" in message


def test_a_group_prefix_making_an_sg_name_is_bf567_at_the_prefix() -> None:
    text = _with_group("      aws_name_prefix: sg-\n")
    ((line, _, message),) = _found(text, "BF567")
    assert line == line_of(text, "aws_name_prefix") and "'sg-batch'" in message


def test_an_environment_named_sg_makes_its_default_group_bf567_at_the_name() -> None:
    """batchform's own default group ``<name>-batch`` would be ``sg-batch``."""
    text = LOCATED.replace("name: demo", "name: sg").replace(
        "  security_groups:\n    batch:\n      description: Batch compute\n", ""
    )
    text = text.replace("    security_groups: [batch]\n", "")
    ((line, _, message),) = _found(text, "BF567")
    assert line == line_of(text, "name: sg") and "'sg-batch'" in message


def test_a_name_and_prefix_on_a_group_or_schedule_are_bf560() -> None:
    text = _with_group("      aws_name: workers\n      aws_name_prefix: lab-\n")
    text += SCHEDULE + "    aws_name: nightly\n    aws_name_prefix: lab-\n"
    lines = [line for line, _, _ in _found(text, "BF560")]
    assert lines == [line_of(text, "aws_name_prefix: lab-"), len(text.splitlines())]
    assert "network.security_groups.batch sets both" in _found(text, "BF560")[0][2]


def test_two_groups_with_one_name_regardless_of_case_are_bf493() -> None:
    """EC2 compares group names without case (CreateSecurityGroup: "Names are
    case-insensitive and must be unique within the VPC")."""
    text = _with_group(
        "      aws_name: Workers\n    other:\n      description: other\n      aws_name: workers\n"
    )
    ((line, col, message),) = _found(text, "BF493")
    assert (line, col) == (line_of(text, "aws_name: workers"), 17)
    assert f"names.yaml:{line_of(text, 'aws_name: Workers')}:17" in message
    assert "('Workers': EC2 compares group names without case)" in message


def test_a_group_named_like_another_groups_default_name_is_bf493() -> None:
    text = _with_group("      aws_name: demo-other\n    other:\n      description: other\n")
    ((line, _, message),) = _found(text, "BF493")
    assert line == line_of(text, "    other:")
    assert "security group 'batch'" in message


def test_a_group_named_like_batchforms_endpoint_group_is_bf493() -> None:
    text = _with_group("      aws_name: demo-vpc-endpoints\n")
    text = text.replace("  security_groups:\n", "  endpoints: [ecr.api]\n  security_groups:\n")
    ((_, _, message),) = _found(text, "BF493")
    assert "batchform's security group 'vpc-endpoints'" in message


def test_a_schedule_name_scheduler_refuses_is_bf568_at_its_line() -> None:
    text = LOCATED + SCHEDULE + "    aws_name: nightly/align\n"
    ((line, col, message),) = _found(text, "BF568")
    assert (line, col) == (line_of(text, "aws_name: nightly"), 15)
    assert "characters Scheduler refuses: '/'" in message
    long = LOCATED + SCHEDULE + f"    aws_name_prefix: {'p' * 58}\n"  # + "nightly" = 65
    ((line, _, message),) = _found(long, "BF568")
    assert line == line_of(long, "aws_name_prefix") and "65 characters" in message
    fits = LOCATED + SCHEDULE + f"    aws_name_prefix: {'p' * 57}\n"
    assert _found(fits, "BF568") == []


def test_two_schedules_with_one_name_are_bf493() -> None:
    text = (
        LOCATED
        + SCHEDULE
        + "    aws_name: demo-weekly\n"
        + SCHEDULE.replace("schedules:\n  nightly:", "  weekly:")
    )
    ((line, _, message),) = _found(text, "BF493")
    assert line == line_of(text, "  weekly:") and "schedule 'nightly'" in message


def test_group_tags_are_checked_like_other_resource_tags() -> None:
    text = _with_group("      tags: {'aws:owner': me}\n")
    assert [line for line, _, _ in _found(text, "BF230")] == [line_of(text, "aws:owner")]
    many = "".join(f"        t{i}: v\n" for i in range(48))  # + batchform's two + Name = 51
    text = _with_group("      tags:\n" + many)
    ((line, _, message),) = _found(text, "BF232")
    assert line == line_of(text, "      tags:")
    assert "network.security_groups.batch would carry 51 tags" in message
    assert "batchform's three" in message


def _on_vpc(vpc: str, name: str) -> str:
    text = _with_group("      aws_name: shared-workers\n")
    return text.replace("name: demo", f"name: {name}").replace(
        "    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}\n",
        f"    existing: {{vpc_id: {vpc}, private_subnets: [subnet-0123456789abcdef0]}}\n",
    )


def test_one_group_name_in_two_files_on_one_vpc_is_bf493_in_the_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, third = (tmp_path / f"{n}.yaml" for n in ("a", "b", "c"))
    first.write_text(_on_vpc("vpc-0123456789abcdef0", "one"), encoding="utf-8")
    second.write_text(_on_vpc("vpc-0123456789abcdef0", "two"), encoding="utf-8")
    third.write_text(_on_vpc("vpc-0fedcba9876543210", "three"), encoding="utf-8")
    a, b, c = analyze_files([first, second, third])
    assert a.diagnostics == [] and c.diagnostics == []  # another VPC may hold the name
    line = line_of(second.read_text(encoding="utf-8"), "aws_name: shared")
    assert [(d.code, d.line) for d in b.diagnostics] == [("BF493", line)]
    assert main(["validate", str(first), str(second), str(third)]) == 1
    out = capsys.readouterr().out
    assert f"{second}:{line}:17: error BF493: security group 'batch'" in out


def test_groups_in_vpcs_two_files_create_may_share_a_name(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(_with_group("      aws_name: workers\n"), encoding="utf-8")
    second.write_text(
        _with_group("      aws_name: workers\n").replace("name: demo", "name: other"),
        encoding="utf-8",
    )
    assert [a.diagnostics for a in analyze_files([first, second])] == [[], []]


# --- diff --------------------------------------------------------------------------------------


def _model(text: str) -> Environment:
    from tests.harness.yaml_files import read_yaml

    env, diags = parse_environment(read_yaml(text))
    assert env is not None, [d.message for d in diags]
    return env


def test_renaming_a_group_replaces_it_beside_the_old_one() -> None:
    """The compute environment is create_before_destroy and passes it on to its group: the
    renamed group is created first and the old one deleted once the CE left it."""
    old = _model(_with_group("      description: Batch compute\n"))
    new = _model(_with_group("      description: Batch compute\n      aws_name: workers\n"))
    change = diff_environments(old, new).change("aws_security_group.batch")
    assert change is not None and change.action == "replace"
    assert [a.path for a in change.attributes if a.forces_replacement] == ["name"]
    assert not [n for n in change.notes if n.risk == Risk.FAILS]


def test_replacing_a_group_under_its_name_says_the_apply_fails() -> None:
    """A new description replaces the group (ForceNew in the provider's
    internal/service/ec2/vpc_security_group.go); created beside the old one under the same
    name, EC2 refuses it (InvalidGroup.Duplicate)."""
    old = _model(_with_group("      description: Batch compute\n      aws_name: workers\n"))
    new = _model(_with_group("      description: Batch nodes\n      aws_name: workers\n"))
    change = diff_environments(old, new).change("aws_security_group.batch")
    assert change is not None and change.action == "replace"
    (fails,) = [n.text for n in change.notes if n.risk == Risk.FAILS]
    assert "replaced under the same name" in fails and "InvalidGroup.Duplicate" in fails
    renamed = _model(_with_group("      description: Batch nodes\n      aws_name: nodes\n"))
    change = diff_environments(old, renamed).change("aws_security_group.batch")
    assert change is not None and not [n for n in change.notes if n.risk == Risk.FAILS]


def test_a_group_only_exactly_named_ces_use_is_destroyed_first() -> None:
    exact = _with_group("      description: Batch compute\n").replace(
        "    max_vcpus: 16\n", "    max_vcpus: 16\n    aws_name: research-ec2\n"
    )
    old = _model(exact)
    new = _model(exact.replace("      description: Batch compute\n", "      aws_name: nodes\n"))
    change = diff_environments(old, new).change("aws_security_group.batch")
    assert change is not None and change.action == "replace"
    (fails,) = [n.text for n in change.notes if n.risk == Risk.FAILS]
    assert "destroyed first" in fails and "ec2" in fails and "DependencyViolation" in fails


def test_a_name_moving_to_another_key_says_the_apply_fails() -> None:
    """A renamed key is a new resource: Terraform creates it (the compute environment's
    update needs its id) before it deletes the old group, which still holds the name."""
    old = _model(_with_group("      aws_name: workers\n"))
    moved = _with_group("      aws_name: workers\n").replace("    batch:\n", "    nodes:\n")
    new = _model(moved.replace("security_groups: [batch]", "security_groups: [nodes]"))
    d = diff_environments(old, new)
    created = d.change("aws_security_group.nodes")
    assert created is not None and created.action == "create"
    (fails,) = [n.text for n in created.notes if n.risk == Risk.FAILS]
    assert "name workers moves here from 'batch'" in fails
    deleted = d.change("aws_security_group.batch")
    assert deleted is not None and deleted.action == "delete"
    old = _model(LOCATED + SCHEDULE + "    aws_name: nightly\n")
    new = _model(LOCATED + SCHEDULE.replace("nightly:", "night:") + "    aws_name: nightly\n")
    created = diff_environments(old, new).change("aws_scheduler_schedule.night")
    assert created is not None and [n.risk for n in created.notes] == [Risk.FAILS]
    # without a chosen name the new key is a new name: nothing to say
    plain = diff_environments(
        _model(LOCATED + SCHEDULE), _model(LOCATED + SCHEDULE.replace("nightly:", "night:"))
    )
    created = plain.change("aws_scheduler_schedule.night")
    assert created is not None and created.notes == []


def test_renaming_a_schedule_replaces_it() -> None:
    old = _model(LOCATED + SCHEDULE)
    new = _model(LOCATED + SCHEDULE + "    aws_name: nightly-hello\n")
    change = diff_environments(old, new).change("aws_scheduler_schedule.nightly")
    assert change is not None and change.action == "replace"
    assert [(a.path, a.old, a.new) for a in change.attributes if a.forces_replacement] == [
        ("name", '"demo-nightly"', '"nightly-hello"')
    ]


# --- verify ------------------------------------------------------------------------------------


def test_verify_reads_each_schedule_by_the_name_compile_gave_it() -> None:
    env = checked(JOBS, replace={"schedules": {"nightly": {"aws_name": "nightly-run"}}})
    assert schedule_names(env) == ["lab.hourly", "nightly-run"]


VERIFY_ENV = """\
version: 1
name: unit
region: us-west-2
network:
  vpc:
    existing: {{vpc_id: {vpc}, private_subnets: [{subnet}]}}
  security_groups:
    batch:
      description: Batch instances
      aws_name: legacy-workers
      tags: {{tier: compute}}
"""


def test_verify_finds_a_named_group_without_its_tags_and_reports_them(moto: MotoServer) -> None:
    """A group adopted under its name, or whose batchform tags were removed, is found by that
    name: verify reports the tags it lacks, not a missing group."""
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    other = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    ec2.create_security_group(GroupName="legacy-workers", Description="elsewhere", VpcId=other)
    group = ec2.create_security_group(
        GroupName="legacy-workers", Description="Batch instances", VpcId=vpc
    )["GroupId"]
    env = checked_env(VERIFY_ENV.format(vpc=vpc, subnet=subnet))
    report = verify(env, clients_for(moto))
    check = report.find("security_groups", "batch")
    assert check is not None and check.status != Status.MISSING
    assert check.name == group
    differing = {d.attribute for d in check.differences}
    assert {"tags.tier", "tags.batchform:key", "tags.Name"} <= differing
    assert not {"GroupName", "Description", "VpcId"} & differing


def test_verify_reports_a_named_group_that_does_not_exist_as_missing(moto: MotoServer) -> None:
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_security_group(GroupName="unit-batch", Description="Batch instances", VpcId=vpc)
    env = checked_env(VERIFY_ENV.format(vpc=vpc, subnet=subnet))
    check = verify(env, clients_for(moto)).find("security_groups", "batch")
    assert check is not None and check.status == Status.MISSING
