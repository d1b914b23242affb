"""``batchform import`` of EventBridge Scheduler schedules that submit AWS Batch jobs.

The mapping is tested on plain dicts (the ``GetSchedule`` shape,
https://docs.aws.amazon.com/scheduler/latest/APIReference/API_GetSchedule.html); the read, the
exactness notes, the import blocks and ``--from-terraform`` on an account made by hand through
boto3 on ``moto.mock_aws`` (moto implements Scheduler: moto/scheduler/), in this process.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchform.importer import schedules
from batchform.importer.command import Request, run
from batchform.importer.exactness import jsonencode
from batchform.importer.read import job_definition_name, queue_name
from batchform.importer.result import Adopted, Adoption
from batchform.model import parse_environment
from batchform.overlay import load_chain
from batchform.verify.clients import IAM_POLICY_ACTIONS
from tests import test_import
from tests.harness import handmade

aws = test_import.aws  # the emulated account, in this process
REGION = test_import.REGION
ACCOUNT = "123456789012"
SUBMIT_JOB = "arn:aws:scheduler:::aws-sdk:batch:submitJob"
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/analytics-q0"


# --- the mapping, on plain dicts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cron(0 2 * * ? *)", {"cron": "0 2 * * ? *"}),
        ("cron( 0  2 * * ? * )", {"cron": "0 2 * * ? *"}),
        ("rate(1 day)", {"rate": "1 day"}),
        ("rate(15 minutes)", {"rate": "15 minutes"}),
        ("at(2026-12-01T02:00:00)", None),
    ],
)
def test_cron_and_rate_expressions_become_the_formats_keys(
    text: str, expected: dict[str, str] | None
) -> None:
    assert schedules.expression(text) == expected


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("step", "step"),
        ("step:3", "step"),
        (f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/step:3", "step"),
        (f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/step", "step"),
        (f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/step", ""),  # not a job definition
    ],
)
def test_a_job_definition_is_recognised_by_name_revision_or_arn(reference: str, name: str) -> None:
    assert job_definition_name(reference) == name


def test_a_queue_is_recognised_by_name_or_arn() -> None:
    assert queue_name(QUEUE_ARN) == queue_name("analytics-q0") == "analytics-q0"


def _adoption() -> Adoption:
    """A document with one queue and one job definition already adopted."""
    adoption = Adoption(
        {"name": "analytics", "job_queues": {"q0": {}}, "job_definitions": {"step00": {}}}
    )
    adoption.adopted += [
        Adopted("job_queues", "q0", "aws_batch_job_queue", QUEUE_ARN, "analytics-q0"),
        Adopted("job_definitions", "step00", "aws_batch_job_definition", "x", "analytics-step00"),
    ]
    return adoption


def _live(name: str = "analytics-nightly", **fields: Any) -> dict[str, Any]:
    request = fields.pop(
        "request",
        {"JobName": "nightly", "JobQueue": QUEUE_ARN, "JobDefinition": "analytics-step00:2"},
    )
    return {
        "Name": name,
        "GroupName": "default",
        "ScheduleExpression": "cron(0 2 * * ? *)",
        "ScheduleExpressionTimezone": "UTC",
        "State": "ENABLED",
        "Target": {"Arn": SUBMIT_JOB, "RoleArn": "r", "Input": json.dumps(request)},
        **fields,
    }


def test_a_schedule_maps_to_its_keys() -> None:
    adoption = _adoption()
    live = _live(
        ScheduleExpression="rate(1 day)",
        ScheduleExpressionTimezone="Europe/Berlin",
        State="DISABLED",
        request={
            "JobName": "nightly",
            "JobQueue": "analytics-q0",
            "JobDefinition": "analytics-step00",
            "Parameters": {"reads": "s3://runs/latest"},
            "ShareIdentifier": "labA",
            "ArrayProperties": {"Size": 10},
            "RetryStrategy": {"Attempts": 2},
        },
    )
    key = schedules.schedule_key(live, "analytics", {})
    entry = schedules.schedule(
        live, key, {"analytics-q0": "q0"}, {"analytics-step00": "step00"}, adoption
    )
    assert key == "nightly"  # a batchform schedule submits under its key
    assert entry == {
        "job_definition": "step00",
        "queue": "q0",
        "rate": "1 day",
        "timezone": "Europe/Berlin",
        "parameters": {"reads": "s3://runs/latest"},
        "share_identifier": "labA",
        "array_size": 10,
        "attempts": 2,
        "state": "DISABLED",
    }  # no aws_name: analytics-nightly is the name batchform gives
    assert adoption.adopted[-1] == Adopted(
        "schedules",
        "nightly",
        "aws_scheduler_schedule",
        "default/analytics-nightly",
        "analytics-nightly",
    )


def test_a_name_batchform_would_not_give_is_kept_and_an_odd_job_name_makes_no_key() -> None:
    live = _live(
        "Team.Hourly",
        request={
            "JobName": "hourly report",
            "JobQueue": "analytics-q0",
            "JobDefinition": "analytics-step00",
        },
    )
    key = schedules.schedule_key(live, "analytics", {})
    assert key == "team-hourly"
    entry = schedules.schedule(
        live, key, {"analytics-q0": "q0"}, {"analytics-step00": "step00"}, _adoption()
    )
    assert entry is not None and entry["aws_name"] == "Team.Hourly"


@pytest.mark.parametrize(
    ("live", "why"),
    [
        (_live(ScheduleExpression="at(2026-12-01T02:00:00)"), "a one-time schedule"),
        (
            _live(request={"JobQueue": "analytics-q0", "JobDefinition": "multi"}),
            "its job queue or job definition could not be written",
        ),
    ],
)
def test_a_schedule_the_format_cannot_hold_is_left_out_not_dropped(
    live: dict[str, Any], why: str
) -> None:
    adoption = _adoption()
    entry = schedules.schedule(
        live, "nightly", {"analytics-q0": "q0"}, {"analytics-step00": "step00"}, adoption
    )
    assert entry is None
    assert [item.resource for item in adoption.left_out] == ["schedule nightly"]
    assert why in adoption.left_out[0].why
    assert not [a for a in adoption.adopted if a.section == "schedules"]


# --- on an emulated account -----------------------------------------------------------------------

ROLE_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ],
    }
)
ROLE_DESCRIPTION = "EventBridge Scheduler: submits the scheduled jobs of this environment"


def _submit_policy(*resources: str) -> str:
    statement = {"Effect": "Allow", "Action": ["batch:SubmitJob"], "Resource": list(resources)}
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Sid": "SubmitScheduledJobs", **statement}]}
    )


def _account(aws: handmade.Client) -> dict[str, str]:
    """The Fargate fair-share account of tests/test_import.py, the role batchform generates for
    schedules (compiler/batchform/plan/iam.py: name, description, trust, ``submit-jobs`` on the
    queue and job definition revision the schedule below names; at a path), and the ARNs."""
    made = handmade.Made()
    handmade.network(aws, made)
    handmade.fargate_fair_share(aws, made)
    handmade.job_definitions(aws, made, count=2)
    batch = aws("batch")
    queues = {q["jobQueueName"]: q["jobQueueArn"] for q in batch.describe_job_queues()["jobQueues"]}
    latest = {
        jd["jobDefinitionName"]: jd["jobDefinitionArn"]
        for jd in sorted(
            batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"],
            key=lambda jd: jd["revision"],
        )
    }
    iam = aws("iam")
    role = iam.create_role(
        RoleName="analytics-scheduler",
        Path="/batch/",
        Description=ROLE_DESCRIPTION,
        AssumeRolePolicyDocument=ROLE_TRUST,
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="analytics-scheduler",
        PolicyName="submit-jobs",
        PolicyDocument=_submit_policy(queues["analytics-q0"], latest["analytics-step00"]),
    )
    return {"role": role, **queues, **latest}


def _schedule(
    aws: handmade.Client, name: str, role: str, request: dict[str, Any], **more: Any
) -> None:
    aws("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=more.pop("ScheduleExpression", "cron(0 2 * * ? *)"),
        FlexibleTimeWindow=more.pop("FlexibleTimeWindow", {"Mode": "OFF"}),
        Target={
            "Arn": SUBMIT_JOB,
            "RoleArn": role,
            "Input": more.pop("text", jsonencode(request)),
            **more.pop("Target", {}),
        },
        **more,
    )


def _batchform_shaped(aws: handmade.Client, arns: dict[str, str]) -> None:
    """A schedule exactly as batchform writes ``schedules.nightly`` of environment analytics."""
    _schedule(
        aws,
        "analytics-nightly",
        arns["role"],
        {
            "JobName": "nightly",
            "JobQueue": arns["analytics-q0"],
            "JobDefinition": arns["analytics-step00"],
            "Parameters": {"day": "today"},
            "ArrayProperties": {"Size": 10},
            "RetryStrategy": {"Attempts": 2},
            "ShareIdentifier": "teamA",
        },
        ScheduleExpressionTimezone="Europe/Berlin",
        State="DISABLED",
        Description="batchform analytics: submits step00 to q0",
    )


def _import(out: Path, **kwargs: Any) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(Request(region=REGION, output=out, **kwargs), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS operation the import calls (through the verifier's read-only guard)."""
    from batchform.verify import clients as verify_clients

    called: list[str] = []
    real = verify_clients._refuse_writes

    def spy(model: Any, **kwargs: Any) -> None:
        called.append(f"{model.service_model.signing_name}:{model.name}")
        real(model, **kwargs)

    monkeypatch.setattr(verify_clients, "_refuse_writes", spy)
    yield called


def test_a_schedule_batchform_would_write_is_adopted_exactly_with_its_role(
    aws: handmade.Client, tmp_path: Path, calls: list[str]
) -> None:
    arns = _account(aws)
    _batchform_shaped(aws, arns)
    # a schedule of another service is never fetched in full
    aws("scheduler").create_schedule(
        Name="lambda-tick",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tick", "RoleArn": arns["role"]},
    )
    out = tmp_path / "analytics.yaml"
    code, stdout, stderr = _import(out)
    env, diags = parse_environment(load_chain(str(out)).data)
    assert env is not None, diags
    assert env.schedules["nightly"].model_dump(exclude_defaults=True) == {
        "job_definition": "step00",
        "queue": "q0",
        "cron": "0 2 * * ? *",
        "timezone": "Europe/Berlin",
        "parameters": {"day": "today"},
        "share_identifier": "teamA",
        "array_size": 10,
        "attempts": 2,
        "state": "DISABLED",
    }
    # batchform's own role is adopted with its policy; its path stays (a changed path
    # replaces the role)
    assert env.iam.path == "/batch/"
    imports = (tmp_path / "analytics.imports.tf").read_text(encoding="utf-8")
    assert 'to = aws_scheduler_schedule.nightly\n  id = "default/analytics-nightly"' in imports
    assert 'to = aws_iam_role.scheduler\n  id = "analytics-scheduler"' in imports
    assert (
        'to = aws_iam_role_policy.scheduler_submit\n  id = "analytics-scheduler:submit-jobs"'
        in imports
    )
    assert "1 schedule(s)" in stdout
    assert code == 0, stdout + stderr  # nothing left out, nothing created
    # read-only, and all granted by `batchform verify --print-iam-policy`
    assert set(calls) <= set(IAM_POLICY_ACTIONS), set(calls) - set(IAM_POLICY_ACTIONS)
    assert calls.count("scheduler:ListSchedules") == 1
    assert calls.count("scheduler:GetSchedule") == 1  # not the Lambda schedule


def test_the_same_request_spelt_otherwise_is_listed_as_rewritten(
    aws: handmade.Client, tmp_path: Path
) -> None:
    """The provider compares a schedule's ``input`` as text (no JSON equivalence:
    internal/service/scheduler/schedule.go), so a request with spaces or another key order
    is rewritten by the first apply, though it submits the same job."""
    arns = _account(aws)
    request = {
        "JobName": "nightly",
        "JobQueue": arns["analytics-q0"],
        "JobDefinition": arns["analytics-step00"],
        "ShareIdentifier": "teamA",
    }
    _schedule(
        aws,
        "analytics-nightly",
        arns["role"],
        request,
        text=json.dumps(request),
        Description="batchform analytics: submits step00 to q0",
    )
    code, stdout, _ = _import(tmp_path / "analytics.yaml")
    left = [line for line in stdout.splitlines() if line.startswith("  - ")]
    assert left == [
        f"  - schedule nightly: Target.Input written as {json.dumps(json.dumps(request))[:157]}"
        f"...: batchform writes the same SubmitJob request as Terraform's jsonencode spells it "
        "(minified, keys sorted); the provider compares `input` as text, so the first apply "
        "rewrites it, submitting the same job"
    ], left
    assert code == 2


def test_an_adopted_scheduler_role_that_differs_from_batchforms_is_listed(
    aws: handmade.Client, tmp_path: Path
) -> None:
    """A role named as batchform names its own is adopted (creating it again would fail: the
    name is taken), and whatever the first apply changes on it is listed."""
    arns = _account(aws)
    _batchform_shaped(aws, arns)
    aws("iam").put_role_policy(
        RoleName="analytics-scheduler", PolicyName="submit-jobs", PolicyDocument=_submit_policy("*")
    )
    code, stdout, _ = _import(tmp_path / "analytics.yaml")
    left = [line for line in stdout.splitlines() if line.startswith("  - ")]
    assert len(left) == 1, left
    assert left[0].startswith(
        "  - role policy scheduler-submit: policy submit-jobs of analytics-scheduler "
    )
    assert '"Resource": "*"' in left[0] and "batchform writes" in left[0]
    assert code == 2


def test_a_scheduler_role_named_as_batchforms_is_adopted_even_when_no_schedule_uses_it(
    aws: handmade.Client, tmp_path: Path
) -> None:
    """``analytics-scheduler`` exists, the schedule assumes another role: the first apply
    could not create batchform's role (the name is taken), so it is adopted, and the
    schedule's move to it is what is listed."""
    arns = _account(aws)
    runner = aws("iam").create_role(RoleName="runner", AssumeRolePolicyDocument=ROLE_TRUST)
    request = {
        "JobName": "nightly",
        "JobQueue": arns["analytics-q0"],
        "JobDefinition": arns["analytics-step00"],
    }
    _schedule(
        aws,
        "analytics-nightly",
        runner["Role"]["Arn"],
        request,
        Description="batchform analytics: submits step00 to q0",
    )
    code, stdout, _ = _import(tmp_path / "analytics.yaml")
    imports = (tmp_path / "analytics.imports.tf").read_text(encoding="utf-8")
    assert 'to = aws_iam_role.scheduler\n  id = "analytics-scheduler"' in imports
    assert "aws_iam_role_policy.scheduler_submit" in imports
    assert "  + aws_iam_role" not in stdout
    left = [line for line in stdout.splitlines() if line.startswith("  - ")]
    assert left == [
        f"  - schedule nightly: Target.RoleArn arn:aws:iam::{ACCOUNT}:role/runner: batchform "
        "adopts the role analytics-scheduler (`aws_iam_role.scheduler`, allowed "
        "batch:SubmitJob on the schedules' queues and job definitions) and the first apply "
        "points the schedule at it"
    ], left
    assert code == 2


def test_what_batchform_cannot_write_is_listed_at_the_schedule(
    aws: handmade.Client, tmp_path: Path
) -> None:
    _account(aws)
    iam = aws("iam")  # no role named as batchform's: the first apply creates it
    iam.delete_role_policy(RoleName="analytics-scheduler", PolicyName="submit-jobs")
    iam.delete_role(RoleName="analytics-scheduler")
    aws("scheduler").create_schedule_group(Name="pipelines")
    _schedule(
        aws,
        "Team.Hourly",
        f"arn:aws:iam::{ACCOUNT}:role/pipelines-runner",
        {
            "JobName": "hourly report",
            "JobQueue": "analytics-q1",
            "JobDefinition": "analytics-step01",
            "ShareIdentifier": "teamB",
            "ContainerOverrides": {"Command": ["report", "--hourly"]},
        },
        GroupName="pipelines",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        KmsKeyArn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        EndDate="2030-01-01T00:00:00Z",
        Target={
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 600, "MaximumRetryAttempts": 3},
        },
    )
    out = tmp_path / "analytics.yaml"
    code, stdout, _ = _import(out)
    env, _ = parse_environment(load_chain(str(out)).data)
    assert env is not None
    assert env.schedules["team-hourly"].aws_name == "Team.Hourly"
    assert env.schedules["team-hourly"].rate == "1 hour"
    left = [line[4:] for line in stdout.splitlines() if line.startswith("  - schedule team-hourly")]
    fields = sorted(line.split(": ", 1)[1].split(" ", 1)[0] for line in left)
    assert fields == [
        "Description",
        "EndDate",
        "FlexibleTimeWindow",
        "KmsKeyArn",
        "Target.DeadLetterConfig",
        "Target.Input.ContainerOverrides",
        "Target.Input.JobDefinition",
        "Target.Input.JobName",
        "Target.Input.JobQueue",
        "Target.RetryPolicy",
        "Target.RoleArn",
        "group",
    ], left
    text = out.read_text(encoding="utf-8")
    assert "# left out: Target.Input.ContainerOverrides" in text  # at the schedule, in the file
    assert "replaces the schedule" in text  # the group
    imports = (tmp_path / "analytics.imports.tf").read_text(encoding="utf-8")
    assert 'id = "pipelines/Team.Hourly"' in imports
    assert "  + aws_iam_role.scheduler" in stdout  # not batchform's role: the apply makes it
    assert code == 2


def test_a_schedule_submitting_elsewhere_is_not_imported_and_said(
    aws: handmade.Client, tmp_path: Path
) -> None:
    arns = _account(aws)
    _batchform_shaped(aws, arns)
    _schedule(
        aws,
        "other-team",
        arns["role"],
        {"JobName": "x", "JobQueue": "other-queue", "JobDefinition": "analytics-step00"},
    )
    # hostile inputs: not JSON, and JSON of the wrong types, are skipped with the reason
    _schedule(aws, "not-json", arns["role"], {}, text="{not json")
    _schedule(aws, "odd-types", arns["role"], {}, text='{"JobQueue": 5, "JobDefinition": [1]}')
    out = tmp_path / "one.yaml"
    code, stdout, stderr = _import(out, queues=("analytics-q1",), name="analytics")
    assert "Traceback" not in stderr
    assert "  . default/not-json: its input is not a SubmitJob request (a JSON object)" in stdout
    assert "  . default/odd-types: submits to job queue 5, which is not imported" in stdout
    assert code == 0  # what is not this import's is said, and is nothing left out
    env, _ = parse_environment(load_chain(str(out)).data)
    assert env is not None and not env.schedules  # nightly submits to q0, not imported here
    assert "not imported (4): SubmitJob schedules of other queues or job definitions" in stdout
    assert (
        "  . default/other-team: submits to job queue other-queue, which is not imported" in stdout
    )
    assert "  . default/analytics-nightly: submits to job queue analytics-q0" in stdout


def test_from_terraform_adopts_the_schedules_it_manages_and_removes_them(
    aws: handmade.Client, tmp_path: Path
) -> None:
    arns = _account(aws)
    _batchform_shaped(aws, arns)
    _schedule(
        aws,
        "unmanaged",
        arns["role"],
        {
            "JobName": "u",
            "JobQueue": arns["analytics-q0"],
            "JobDefinition": arns["analytics-step00"],
        },
    )
    old = tmp_path / "old"
    old.mkdir()
    (old / "main.tf").write_text(
        'resource "aws_batch_job_queue" "q" {\n  name = "analytics-q0"\n}\n'
        'resource "aws_batch_job_definition" "j" {\n  name = "analytics-step00"\n}\n'
        'resource "aws_scheduler_schedule" "nightly" {\n  name = "analytics-nightly"\n}\n',
        encoding="utf-8",
    )
    out = tmp_path / "analytics.yaml"
    _, stdout, _ = _import(out, from_terraform=old, name="analytics")
    env, _ = parse_environment(load_chain(str(out)).data)
    assert env is not None
    assert list(env.schedules) == ["nightly"]  # not `unmanaged`: the old configuration's only
    removed = (tmp_path / "analytics.removed.tf").read_text(encoding="utf-8")
    assert "from = aws_scheduler_schedule.nightly\n" in removed
    assert "unmanaged" not in stdout


def test_two_groups_with_one_schedule_name_are_told_apart(
    aws: handmade.Client, tmp_path: Path
) -> None:
    """Schedules are identified by group and name: each is compared with its own live
    schedule, and since batchform writes both into ``default``, the written file reports the
    name clash (BF493) rather than letting the apply fail on it."""
    arns = _account(aws)
    aws("scheduler").create_schedule_group(Name="pipelines")
    request = {"JobName": "nightly", "JobQueue": arns["analytics-q0"]}
    request["JobDefinition"] = arns["analytics-step00"]
    _schedule(aws, "nightly", arns["role"], request)
    _schedule(aws, "nightly", arns["role"], request, GroupName="pipelines")
    code, stdout, stderr = _import(tmp_path / "analytics.yaml")
    assert "Traceback" not in stderr
    groups = [line for line in stdout.splitlines() if ": group " in line]
    assert groups == [line for line in groups if line.startswith("  - schedule nightly-2: ")]
    assert len(groups) == 1
    assert "BF493" in stderr
    imports = (tmp_path / "analytics.imports.tf").read_text(encoding="utf-8")
    assert 'id = "default/nightly"' in imports and 'id = "pipelines/nightly"' in imports
    assert code == 2
