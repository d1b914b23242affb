"""``batchform import`` of Scheduler schedules made by hand, then Terraform on the emulator.

One schedule exactly as batchform writes it (with batchform's scheduler role, adopted) and one
made by a person: in another group, with a flexible window, its own role, a queue and job
definition given by name and a container override. The plan after import (hashicorp/aws 5.x
through the local mirror) must import both (by ``<group>/<name>``, the provider's import id:
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/scheduler_schedule#import)
and change only what the import listed (tests/test_import_e2e.py, ``check_plan``); then
apply, re-plan empty, and ``batchform verify`` exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchform.importer.exactness import jsonencode
from batchform.sandbox.emulator import MotoServer
from tests.harness import handmade
from tests.test_import_e2e import REGION, apply_and_verify, check_plan, import_and_compile
from tests.test_import_schedules import ACCOUNT, SUBMIT_JOB, _account

pytestmark = pytest.mark.e2e


def _create(
    client: handmade.Client, name: str, role: str, request: dict[str, Any], **more: Any
) -> None:
    client("scheduler").create_schedule(
        Name=name,
        FlexibleTimeWindow=more.pop("FlexibleTimeWindow", {"Mode": "OFF"}),
        Target={"Arn": SUBMIT_JOB, "RoleArn": role, "Input": jsonencode(request)},
        **more,
    )


def test_schedules_are_imported_and_only_what_was_listed_changes(
    terraform_cli: Any, moto: MotoServer, tmp_path: Path
) -> None:
    client = lambda service: moto.client(service, region=REGION)  # noqa: E731
    arns = _account(client)
    _create(
        client,
        "analytics-nightly",
        arns["role"],
        {
            "JobName": "nightly",
            "JobQueue": arns["analytics-q0"],
            "JobDefinition": arns["analytics-step00"],
            "ShareIdentifier": "teamA",
        },
        ScheduleExpression="cron(0 2 * * ? *)",
        ScheduleExpressionTimezone="Europe/Berlin",
        Description="batchform analytics: submits step00 to q0",
    )
    runner = client("iam").create_role(
        RoleName="pipelines-runner",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    client("scheduler").create_schedule_group(Name="pipelines")
    _create(
        client,
        "Team.Hourly",
        runner,
        {
            "JobName": "hourly",
            "JobQueue": "analytics-q0",
            "JobDefinition": "analytics-step00",
            "ShareIdentifier": "teamB",
            "ContainerOverrides": {"Command": ["report"]},
        },
        GroupName="pipelines",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
    )
    imported = import_and_compile(moto, tmp_path)
    assert imported.code == 2, imported.stdout  # Team.Hourly cannot be kept as it is
    plan = check_plan(imported, moto)
    nightly, hourly = plan["aws_scheduler_schedule.nightly"], plan["aws_scheduler_schedule.hourly"]
    assert nightly.importing and nightly.actions == ("no-op",), nightly.detail
    # another group: the provider replaces it (group_name is ForceNew), as the import said
    assert hourly.importing and set(hourly.actions) == {"create", "delete"}, hourly.detail
    assert "replaces the schedule" in imported.stdout
    assert plan["aws_iam_role.scheduler"].importing
    assert f"arn:aws:iam::{ACCOUNT}:role/pipelines-runner" in imported.stdout
    apply_and_verify(imported, moto)
    scheduler = moto.client("scheduler", region=REGION)
    names = {
        (s["GroupName"], s["Name"])
        for page in scheduler.get_paginator("list_schedules").paginate()
        for s in page["Schedules"]
    }
    assert names == {("default", "analytics-nightly"), ("default", "Team.Hourly")}
