"""``batchform import``: the mapping from AWS's answers to the file's keys, the file as YAML
batchform reads back, the imports file compile places, and the command's promises (exit
codes, never overwriting, never following a symlink, only read calls).

Environments are made by hand through boto3 on ``moto.mock_aws`` (tests/harness/handmade.py);
tests/test_import_e2e.py applies the result with Terraform on a moto server.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from batchform.cli import main as cli_main
from batchform.importer import blocks, jobs, mapping, yamltext
from batchform.importer.assemble import adopt
from batchform.importer.command import Request, run
from batchform.importer.read import Snapshot, latest_revisions
from batchform.importer.result import Adoption
from batchform.model import parse_environment
from batchform.overlay import load_chain
from tests.harness import handmade
from tests.harness.cli import run_cli

REGION = "us-east-1"
ARN = "arn:aws:batch:us-east-1:123456789012"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[handmade.Client]:
    """An empty emulated account in this process; ``client(service)`` makes boto3 clients."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _import(out: Path, *extra: str, **kwargs: Any) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    request = Request(region=REGION, output=out, **kwargs)
    code = run(request, stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def _loaded(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = load_chain(str(path)).data
    return data


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "taken", "key"),
    [
        ("research-high", [], "high"),
        ("Research_GPU.Queue", [], "research-gpu-queue"),
        ("2024-jobs", [], "x-2024-jobs"),
        ("high", ["high"], "high-2"),
        ("a" * 60, [], "a" * 32),
        ("research-spot-20261130114438766300000002", [], "spot"),
        # the counter is hex: the eleventh name of an apply (PrefixedUniqueId)
        ("research-spot-2026113015040076590000000b", [], "spot"),
    ],
)
def test_keys_are_readable_valid_and_unique(name: str, taken: list[str], key: str) -> None:
    assert mapping.key_for(name, "research", taken) == key


def test_a_resource_batchform_made_keeps_the_key_it_is_tagged_with() -> None:
    """A re-import of an environment batchform made gives back its keys, even where the name
    does not spell the key (``aws_name_prefix: lab-``, an exact ``aws_name``), so the
    Terraform addresses and the ``batchform:key`` tags of the first apply stay as they are."""
    tags = {"batchform:environment": "research", "batchform:key": "spot", "team": "x"}
    assert mapping.key_for("lab-spot-20261130114438766300000002", "research", [], tags) == "spot"
    assert mapping.key_for("align", "research", [], {**tags, "batchform:key": "align"}) == "align"
    # another environment's tag, a taken key or an invalid one: the key comes from the name
    assert mapping.key_for("lab-spot", "other", [], tags) == "lab-spot"
    assert mapping.key_for("lab-spot", "research", ["spot"], tags) == "lab-spot"
    bad = {**tags, "batchform:key": "Not A Key"}
    assert mapping.key_for("lab-spot", "research", [], bad) == "lab-spot"


def test_environment_name_is_the_tag_of_an_environment_batchform_made() -> None:
    tagged = [{"batchform:environment": "research"}, {"batchform:environment": "research"}]
    assert mapping.environment_name(["lab-low", "research-high"], None, tagged) == "research"
    mixed = [*tagged, {"batchform:environment": "other"}]
    assert mapping.environment_name(["team-x", "team-y", "team-z"], None, mixed) == "team"
    assert mapping.environment_name(["lab-low"], "given", tagged) == "given"


def test_environment_name_is_the_queues_common_prefix() -> None:
    assert mapping.environment_name(["research-high", "research-low"], None) == "research"
    assert mapping.environment_name(["research-high"], None) == "research"
    assert mapping.environment_name(["x", "y"], None) == "imported"
    assert mapping.environment_name(["a-b"], "given") == "given"


# --- mapping ---------------------------------------------------------------------------------


def _ce(**resources: Any) -> dict[str, Any]:
    return {
        "computeEnvironmentName": "render-spot",
        "computeEnvironmentArn": f"{ARN}:compute-environment/render-spot",
        "type": "MANAGED",
        "state": "ENABLED",
        "serviceRole": "arn:aws:iam::123456789012:role/aws-service-role/batch.amazonaws.com/X",
        "computeResources": {
            "type": "SPOT",
            "allocationStrategy": "SPOT_CAPACITY_OPTIMIZED",
            "minvCpus": 0,
            "maxvCpus": 256,
            "instanceTypes": ["c6i"],
            "subnets": ["subnet-1"],
            "securityGroupIds": ["sg-0123456789abcdef0"],
            **resources,
        },
        "updatePolicy": {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30},
    }


def test_a_launch_template_version_is_pinned_to_its_number_and_listed() -> None:
    snapshot = Snapshot(
        REGION,
        subnets={"subnet-1": {"SubnetId": "subnet-1", "VpcId": "vpc-1"}},
        launch_templates={
            "lt-1": {
                "LaunchTemplateId": "lt-1",
                "LatestVersionNumber": 7,
                "DefaultVersionNumber": 3,
            }
        },
    )
    adoption = Adoption({"name": "render"})
    ce = _ce(launchTemplate={"launchTemplateId": "lt-1", "version": "$Latest"})
    entry = mapping.compute_environment(ce, "spot", snapshot, adoption, {}, {})
    assert entry is not None
    assert entry["launch_template"] == {"id": "lt-1", "version": "7"}
    assert entry["update_policy"] == {
        "terminate_jobs_on_update": False,
        "job_execution_timeout": "30m",
    }
    assert entry["aws_name"] == "render-spot"
    assert [item.what for item in adoption.left_out] == ["launch template version $Latest"]


@pytest.mark.parametrize(
    ("name", "naming"),
    [
        # batchform's own prefix, <name>-<key>-: nothing to write
        ("render-spot-2026113015040076590000000b", {}),
        # another prefix before the key (aws_name_prefix: lab-)
        ("lab-spot-20261130150137467100000008", {"aws_name_prefix": "lab-"}),
        # chosen by a person, or a suffix that is not before the key: kept exactly
        ("render-spot", {"aws_name": "render-spot"}),
        (
            "render-gpu-20261130150137467100000008",
            {"aws_name": "render-gpu-20261130150137467100000008"},
        ),
    ],
)
def test_a_compute_environment_terraform_named_from_a_prefix_keeps_the_prefix(
    name: str, naming: dict[str, str]
) -> None:
    """An exact name would lose what the prefix gives: a later replacement that creates the
    new compute environment before destroying the old (the plan's create_before_destroy); the
    provider reads the prefix back from the imported name, so the first plan changes nothing
    (tests/test_verify_e2e.py plans the round trip of every example)."""
    adoption = Adoption({"name": "render"})
    ce = {**_ce(), "computeEnvironmentName": name}
    entry = mapping.compute_environment(ce, "spot", Snapshot(REGION), adoption, {}, {})
    assert entry is not None
    assert {k: v for k, v in entry.items() if k.startswith("aws_name")} == naming


def test_a_launch_template_given_by_name_stays_named() -> None:
    """Batch returns the template as the compute environment was given it; an id instead of
    the name made the first plan an update of the compute environment (launch_template_name
    "base" -> launch_template_id "lt-..."; hashicorp/aws 5.100, the planned round trip of
    configs/adopted.yaml in tests/test_verify_e2e.py)."""
    snapshot = Snapshot(
        REGION,
        launch_templates={
            key: {
                "LaunchTemplateId": "lt-1",
                "LaunchTemplateName": "base",
                "DefaultVersionNumber": 2,
            }
            for key in ("lt-1", "base")
        },
    )
    adoption = Adoption({"name": "render"})
    for spec, written in (
        ({"launchTemplateName": "base", "version": "3"}, {"name": "base", "version": "3"}),
        ({"launchTemplateName": "base", "version": "$Default"}, {"name": "base", "version": "2"}),
        ({"launchTemplateId": "lt-1", "version": "3"}, {"id": "lt-1", "version": "3"}),
    ):
        entry = mapping.compute_environment(
            _ce(launchTemplate=spec), "k", snapshot, adoption, {}, {}
        )
        assert entry is not None and entry["launch_template"] == written


def test_an_unmanaged_compute_environment_is_left_out_not_dropped() -> None:
    adoption = Adoption({"name": "x"})
    ce = {**_ce(), "type": "UNMANAGED", "computeResources": {}}
    assert mapping.compute_environment(ce, "k", Snapshot(REGION), adoption, {}, {}) is None
    assert "type UNMANAGED" in adoption.left_out[0].line()


def test_a_custom_image_becomes_an_ami_the_compute_environment_names() -> None:
    amis: dict[str, dict[str, str]] = {}
    adoption = Adoption({"name": "x"})
    ce = _ce(ec2Configuration=[{"imageType": "ECS_AL2023", "imageIdOverride": "ami-0abc"}])
    entry = mapping.compute_environment(ce, "spot", Snapshot(REGION), adoption, {}, amis)
    assert entry is not None and entry["ami"] == "spot-image"
    assert amis == {"spot-image": {"id": "ami-0abc"}}


def test_iam_roles_are_arns_and_one_value_for_the_file() -> None:
    adoption = Adoption({"name": "x"})
    first = _ce(instanceRole="render-instance")
    second = {**_ce(instanceRole="arn:aws:iam::123456789012:instance-profile/other")}
    second["computeEnvironmentName"] = "render-2"
    snapshot = Snapshot(REGION, compute_environments=[first, second])
    iam = mapping.iam(snapshot, adoption, {})
    assert iam["service_role"] == "service-linked"
    assert iam["instance_role"] in {
        "arn:aws:iam::123456789012:instance-profile/render-instance",
        "arn:aws:iam::123456789012:instance-profile/other",
    }
    assert len(adoption.left_out) == 1 and adoption.left_out[0].path == ("iam", "instance_role")


def test_a_job_definition_uses_the_formats_units_and_keys() -> None:
    jd = {
        "jobDefinitionName": "align",
        "jobDefinitionArn": "arn:aws:batch:us-east-1:123456789012:job-definition/align:4",
        "revision": 4,
        "type": "container",
        "parameters": {"ref": "s3://refs/hg38.fa"},
        "containerProperties": {
            "image": "bwa:1",
            "command": ["bwa", "Ref::ref"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "8"},
                {"type": "MEMORY", "value": "32768"},
                {"type": "GPU", "value": "1"},
            ],
            "volumes": [
                {"name": "data", "host": {"sourcePath": "/scratch"}},
                {
                    "name": "refs",
                    "efsVolumeConfiguration": {
                        "fileSystemId": "fs-0123456789abcdef0",
                        "transitEncryption": "ENABLED",
                    },
                },
            ],
            "mountPoints": [
                {"sourceVolume": "data", "containerPath": "/scratch"},
                {"sourceVolume": "refs", "containerPath": "/refs", "readOnly": True},
            ],
            "jobRoleArn": "arn:aws:iam::123456789012:role/align",
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            "linuxParameters": {"sharedMemorySize": 8192},
        },
        "retryStrategy": {
            "attempts": 3,
            "evaluateOnExit": [{"onExitCode": "137", "action": "retry"}],
        },
        "timeout": {"attemptDurationSeconds": 14400},
    }
    adoption = Adoption({"name": "x"})
    entry, role = jobs.job_definition(jd, "align", adoption, {})
    assert role is None and entry is not None
    assert entry["vcpus"] == 8 and entry["memory"] == "32 GiB" and entry["gpus"] == 1
    assert entry["timeout"] == "4h"
    assert entry["retry"] == {"attempts": 3, "on_exit": [{"action": "RETRY", "exit_code": "137"}]}
    assert entry["volumes"] == [
        {"host_path": "/scratch", "container_path": "/scratch"},
        {
            "efs": "fs-0123456789abcdef0",
            "container_path": "/refs",
            "read_only": True,
            "transit_encryption": True,
        },
    ]
    assert entry["job_role"] == {"arn": "arn:aws:iam::123456789012:role/align"}
    assert entry["ulimits"] == {"nofile": {"soft": 1024, "hard": 4096}}
    assert entry["shared_memory"] == "8 GiB"
    assert adoption.adopted[0].import_id.endswith("align:4")


def _logged(log: dict[str, Any]) -> dict[str, Any] | None:
    jd = {
        "jobDefinitionName": "research-simulate",
        "jobDefinitionArn": f"{ARN}:job-definition/research-simulate:1",
        "type": "container",
        "containerProperties": {"image": "x:1", "logConfiguration": log},
    }
    adoption = Adoption({"name": "research", "region": REGION})
    entry, _ = jobs.job_definition(jd, "simulate", adoption, {})
    assert entry is not None
    logged: dict[str, Any] | None = entry.get("log")
    return logged


def test_a_log_into_batchforms_group_leaves_the_group_to_batchform() -> None:
    """awslogs into the group batchform names, with options of the job's own: only those are
    written, so the compiled job still logs to the group batchform manages (a file naming
    ``awslogs-group`` itself gets no group: configs/hpc-tools.yaml's simulate job)."""
    ours = {
        "awslogs-group": "/aws/batch/research/simulate",
        "awslogs-region": REGION,
        "awslogs-stream-prefix": "simulate",
    }
    assert _logged({"logDriver": "awslogs", "options": ours}) is None
    assert _logged({"logDriver": "awslogs", "options": {**ours, "mode": "non-blocking"}}) == {
        "driver": "awslogs",
        "options": {"mode": "non-blocking"},
    }
    other = {**ours, "awslogs-group": "/team/simulate"}
    assert _logged({"logDriver": "awslogs", "options": other}) == {
        "driver": "awslogs",
        "options": {"awslogs-group": "/team/simulate"},
    }
    assert _logged({"logDriver": "syslog"}) == {"driver": "syslog"}


def test_a_job_with_ecs_exec_gets_the_provider_that_sends_it() -> None:
    """A provider older than 5.100 drops enableExecuteCommand without a word (BF538): the
    imported file must not admit one, or the first apply registers the job without ECS Exec
    (configs/hpc-tools.yaml, round-tripped in tests/test_verify_e2e.py)."""
    jd = {
        "jobDefinitionName": "research-debug",
        "jobDefinitionArn": f"{ARN}:job-definition/research-debug:1",
        "type": "container",
        "containerProperties": {"image": "x:1", "enableExecuteCommand": True},
    }
    document = adopt(Snapshot(REGION, job_definitions=[jd]), "research").document
    assert document["terraform"] == {"aws_provider": ">= 5.100.0, < 6.0.0"}
    assert list(document)[:4] == ["version", "name", "region", "terraform"]
    plain = {**jd, "containerProperties": {"image": "x:1"}}
    assert "terraform" not in adopt(Snapshot(REGION, job_definitions=[plain])).document


def test_settings_every_job_shares_move_to_job_defaults() -> None:
    entries = {
        "a": {"image": "x", "timeout": "1h", "retry": {"attempts": 2}, "platform": "FARGATE"},
        "b": {"image": "y", "timeout": "1h", "retry": {"attempts": 3}, "platform": "FARGATE"},
    }
    assert jobs.hoist_defaults(entries) == {"platform": "FARGATE", "timeout": "1h"}
    assert entries["a"] == {"image": "x", "retry": {"attempts": 2}}
    assert jobs.hoist_defaults({"only": {"timeout": "1h"}}) == {}


def test_an_adopted_log_group_keeps_its_retention_and_its_kms_key() -> None:
    """The group batchform named for a job (an environment batchform made, its state lost):
    its retention and the key that encrypts it are the job's, or the first apply changes
    them (configs/gpu.yaml's train job, round-tripped in tests/test_verify_e2e.py)."""
    key = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    adoption = Adoption({"name": "vision", "job_definitions": {"train": {}, "eval": {}}})
    groups = {
        "/aws/batch/vision/train": {"retentionInDays": 180, "kmsKeyId": key},
        "/aws/batch/vision/eval": {"retentionInDays": 30},
    }
    jobs.adopt_log_groups(adoption, "vision", groups)
    assert adoption.document["job_definitions"] == {
        "train": {"log_retention_days": 180, "log_kms_key": key},
        "eval": {},
    }
    assert [a.aws_name for a in adoption.adopted] == list(groups)


def test_a_log_setting_every_job_shares_moves_to_job_defaults() -> None:
    """As configs/fargate.yaml writes it: one ``log_retention_days`` in ``job_defaults``, not
    one per job; a job whose group was not read keeps the default, so nothing is hoisted."""
    adoption = Adoption({"name": "etl", "job_definitions": {"a": {}, "b": {}}})
    groups = {f"/aws/batch/etl/{k}": {"retentionInDays": 14} for k in ("a", "b")}
    jobs.adopt_log_groups(adoption, "etl", groups)
    assert list(adoption.document) == ["name", "job_defaults", "job_definitions"]
    assert adoption.document["job_defaults"] == {"log_retention_days": 14}
    assert adoption.document["job_definitions"] == {"a": {}, "b": {}}
    partly = Adoption({"name": "etl", "job_definitions": {"a": {}, "b": {}}})
    jobs.adopt_log_groups(partly, "etl", {"/aws/batch/etl/a": {"retentionInDays": 14}})
    assert partly.document["job_definitions"] == {"a": {"log_retention_days": 14}, "b": {}}


def test_the_latest_active_revision_is_taken() -> None:
    found = [
        {"jobDefinitionName": "a", "revision": 2},
        {"jobDefinitionName": "a", "revision": 10},
        {"jobDefinitionName": "b", "revision": 1},
    ]
    assert [(j["jobDefinitionName"], j["revision"]) for j in latest_revisions(found)] == [
        ("a", 10),
        ("b", 1),
    ]


# --- YAML ------------------------------------------------------------------------------------

TRICKY = [
    "yes",
    "on",
    "null",
    "~",
    "12:30",
    "#x",
    "a: b",
    "x #y",
    "${var.x}",
    "1e3",
    "0755",
    "line\nbreak",
    "tab\there",
    "ü-umlaut",
    "- dash",
    "[list]",
    "a,b",
    " lead",
    "trail ",
    "",
    "4 GiB",
    "90s",
    "arn:aws:iam::1:role/x",
]


def test_every_string_reads_back_as_written(tmp_path: Path) -> None:
    """Quoting is the writer's own: whatever AWS returns is read back as the same text."""
    document = {
        "version": 1,
        "values": {f"k{i}": value for i, value in enumerate(TRICKY)},
        "flow": TRICKY,
        "keys": {value or "empty": 1 for value in TRICKY},
        "nested": [{"a": 1, "b": [1.5, True, None]}, {"c": {}}],
    }
    path = tmp_path / "x.yaml"
    comments = {("values",): ["a comment\nwith a newline: value: 1"], ("gone", "x"): ["kept"]}
    path.write_text(yamltext.dump(document, ["head"], comments, ["foot"]), encoding="utf-8")
    assert _loaded(path) == document


# --- the command on an emulated account ---------------------------------------------------------


def _fargate_account(aws: handmade.Client, jobs_count: int = 3) -> handmade.Made:
    made = handmade.Made()
    handmade.network(aws, made)
    handmade.fargate_fair_share(aws, made)
    handmade.job_definitions(aws, made, count=jobs_count)
    return made


def test_import_writes_a_valid_file_with_comments_and_import_blocks(
    aws: handmade.Client, tmp_path: Path
) -> None:
    made = _fargate_account(aws)
    out = tmp_path / "analytics.yaml"
    code, stdout, stderr = _import(out)
    data = _loaded(out)
    env, diags = parse_environment(data)
    assert env is not None, diags
    assert env.name == "analytics"
    assert env.network.vpc.existing is not None
    assert env.network.vpc.existing.vpc_id == made.vpc
    assert sorted(env.job_queues) == ["q0", "q1", "q2"]
    assert env.job_queues["q1"].compute_environments == ["fargate-spot", "fargate"]
    assert env.scheduling_policies["fair"].share_decay == 3600
    assert len(env.job_definitions) == 3
    assert env.job_defaults.platform == "FARGATE" and env.job_defaults.timeout == 7200
    assert env.job("step00").parameters == {"day": "today"}  # the latest revision
    assert env.iam.execution_role == "arn:aws:iam::123456789012:role/analytics-execution"
    imports = (tmp_path / "analytics.imports.tf").read_text(encoding="utf-8")
    assert imports.count("import {") == 2 + 1 + 3 + 3
    assert (
        'to = aws_batch_compute_environment.fargate_spot\n  id = "analytics-fargate-spot"'
        in imports
    )
    assert "to = aws_batch_job_definition.step00" in imports
    # the jobs' own log configuration is kept (log: awslogs into /teams/analytics), so the
    # compiled module makes no log group for them: nothing is created or left out, exit 0
    text = out.read_text(encoding="utf-8")
    assert "awslogs-group: /teams/analytics" in text
    assert "aws_cloudwatch_log_group" not in text and "Left out" not in text
    assert code == 0
    assert "created by the first apply" not in stdout
    assert "Traceback" not in stderr


def test_the_written_file_compiles_with_the_import_blocks_in_the_module(
    aws: handmade.Client, tmp_path: Path
) -> None:
    _fargate_account(aws, jobs_count=2)
    out = tmp_path / "analytics.yaml"
    _import(out)
    assert cli_main(["compile", str(out), "-o", str(tmp_path / "generated")]) == 0
    placed = tmp_path / "generated" / "analytics" / "imports.tf"
    assert placed.read_text(encoding="utf-8") == blocks.imports_path(out).read_text(
        encoding="utf-8"
    )
    # every adopted job definition keeps its old revisions, so that the first apply registers
    # none (hashicorp/aws 5.x imports deregister_on_new_revision as null, and any other value
    # but false registers a revision: internal/service/batch/job_definition.go, Update; the
    # e2e tests apply it on the emulator and count the revisions)
    text = out.read_text(encoding="utf-8")
    assert "Every job definition has `keep_old_revisions: true`" in text
    module = (tmp_path / "generated" / "analytics" / "job_definitions.tf").read_text("utf-8")
    assert module.count('resource "aws_batch_job_definition"') == 2
    assert module.count("deregister_on_new_revision = false") == 2
    # deleting the imports file after the first apply takes the blocks out of the module again
    blocks.imports_path(out).unlink()
    assert cli_main(["compile", str(out), "-o", str(tmp_path / "generated")]) == 0
    assert not placed.exists()


def test_an_account_the_format_holds_completely_is_exact(
    aws: handmade.Client, tmp_path: Path
) -> None:
    """Queues, a fair-share policy and Fargate compute environments with names people chose:
    nothing is left out, nothing is created, the command exits 0."""
    made = handmade.Made()
    handmade.network(aws, made)
    handmade.fargate_fair_share(aws, made)
    out = tmp_path / "analytics.yaml"
    code, stdout, _ = _import(out)
    assert code == 0, stdout
    assert "exact:" in stdout and "left out" not in out.read_text(encoding="utf-8")
    env, _ = parse_environment(_loaded(out))
    assert env is not None
    assert env.compute_environments["fargate-spot"].aws_name == "analytics-fargate-spot"
    assert blocks.imports_path(out).read_text(encoding="utf-8").count("import {") == 6


def test_progress_is_shown_on_a_terminal_only(aws: handmade.Client, tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    _fargate_account(aws, jobs_count=1)
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        out = tmp_path / f"{shown}.yaml"
        run(Request(region=REGION, output=out), io.StringIO(), stream)
        assert ("batchform import: reading job queues..." in stream.getvalue()) is shown


def test_named_queues_and_job_definitions_limit_what_is_read(
    aws: handmade.Client, tmp_path: Path
) -> None:
    _fargate_account(aws)
    out = tmp_path / "one.yaml"
    _import(out, queues=("analytics-q0",), job_definitions=("analytics-step01",), name="one")
    env, _ = parse_environment(_loaded(out))
    assert env is not None
    assert list(env.job_queues) == ["analytics-q0"]
    assert env.job_queues["analytics-q0"].aws_name == "analytics-q0"
    assert list(env.job_definitions) == ["analytics-step01"]


def test_an_unknown_queue_is_an_error_naming_what_exists(
    aws: handmade.Client, tmp_path: Path
) -> None:
    _fargate_account(aws, jobs_count=1)
    out = tmp_path / "x.yaml"
    code, _, stderr = _import(out, queues=("analytics-qq",))
    assert code == 1
    assert "no job queue named analytics-qq" in stderr and "analytics-q0" in stderr
    assert not out.exists()


def test_only_read_calls_are_made(
    aws: handmade.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verifier's guard is on every client; this records what was actually called."""
    _fargate_account(aws, jobs_count=2)
    called: list[str] = []
    from batchform.verify import clients as verify_clients

    real = verify_clients._refuse_writes

    def spy(model: Any, **kwargs: Any) -> None:
        called.append(model.name)
        real(model, **kwargs)

    monkeypatch.setattr(verify_clients, "_refuse_writes", spy)
    _import(tmp_path / "x.yaml")
    assert called and all(verify_clients.is_read_only(name) for name in called), called


# --- never overwrite, never follow a link ---------------------------------------------------


def test_an_existing_file_is_kept_without_force(aws: handmade.Client, tmp_path: Path) -> None:
    _fargate_account(aws, jobs_count=1)
    out = tmp_path / "x.yaml"
    out.write_text("mine\n", encoding="utf-8")
    code, _, stderr = _import(out)
    assert code == 1 and "pass --force" in stderr
    assert out.read_text(encoding="utf-8") == "mine\n"
    assert _import(out, force=True)[0] == 0
    assert out.read_text(encoding="utf-8") != "mine\n"


def test_a_symlink_is_never_written_through(aws: handmade.Client, tmp_path: Path) -> None:
    _fargate_account(aws, jobs_count=1)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n", encoding="utf-8")
    for link in (tmp_path / "x.yaml", tmp_path / "y.imports.tf"):
        link.symlink_to(victim)
    assert _import(tmp_path / "x.yaml", force=True)[0] == 1
    assert _import(tmp_path / "y.yaml", force=True)[0] == 1
    assert victim.read_text(encoding="utf-8") == "keep\n"
    assert not (tmp_path / "y.yaml").exists()


# --- compile and the imports file --------------------------------------------------------------

MINIMAL = """\
version: 1
name: tiny
region: us-east-1
network:
  vpc:
    existing: {vpc_id: vpc-0123456789abcdef0, private_subnets: [subnet-0123456789abcdef0]}
"""


def _compile(tmp_path: Path, imports: str | None) -> tuple[int, str]:
    config = tmp_path / "tiny.yaml"
    config.write_text(MINIMAL, encoding="utf-8")
    if imports is not None:
        (tmp_path / "tiny.imports.tf").write_text(imports, encoding="utf-8")
    result = run_cli("compile", config, "-o", tmp_path / "gen")
    return result.returncode, result.stderr


GOOD = (
    "# batchform import: test\n\nimport {\n  to = aws_batch_job_queue.high\n"
    '  id = "arn:aws:batch:us-east-1:123456789012:job-queue/high"\n}\n'
)


def test_compile_places_the_imports_file(tmp_path: Path) -> None:
    assert _compile(tmp_path, GOOD)[0] == 0
    assert (tmp_path / "gen" / "tiny" / "imports.tf").read_text(encoding="utf-8") == GOOD


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import {}\n", "does not start with `# batchform import:`"),
        (GOOD + 'resource "null_resource" "x" {}\n', "tiny.imports.tf:7:1: error BF580"),
        (GOOD.replace("arn:aws", '${file(\\"/etc/passwd\\")}'), "error BF580"),
    ],
)
def test_compile_refuses_an_imports_file_that_is_more_than_import_blocks(
    tmp_path: Path, text: str, message: str
) -> None:
    code, stderr = _compile(tmp_path, text)
    assert code == 1 and message in stderr, stderr
    assert not (tmp_path / "gen" / "tiny").exists()


def test_validate_reports_an_unusable_imports_file_as_compile_does(tmp_path: Path) -> None:
    """A CI that runs `batchform validate` before `compile` learns of a bad imports file
    there, at its line, not only when compile refuses it."""
    _compile(tmp_path, GOOD + 'resource "null_resource" "x" {}\n')
    result = run_cli("validate", tmp_path / "tiny.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    shown = result.stdout + result.stderr
    assert "tiny.imports.tf:7:1: error BF580" in shown, shown


def test_compile_refuses_a_symlinked_imports_file(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.tf"
    target.write_text(GOOD, encoding="utf-8")
    (tmp_path / "tiny.imports.tf").symlink_to(target)
    code, stderr = _compile(tmp_path, None)
    assert code == 1 and "BF580" in stderr and "symbolic link" in stderr


def test_the_command_line_rejects_a_bad_name_and_an_unreachable_endpoint(tmp_path: Path) -> None:
    bad = run_cli("import", "--region", REGION, "--name", "Bad_Name", "-o", tmp_path / "x.yaml")
    assert bad.returncode == 1 and "--name 'Bad_Name'" in bad.stderr
    down = run_cli(
        "import",
        "--region",
        REGION,
        "--endpoint-url",
        "http://127.0.0.1:9",
        "-o",
        tmp_path / "x.yaml",
        env={
            **os.environ,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_MAX_ATTEMPTS": "1",
        },
    )
    assert down.returncode == 1 and "reading the account failed" in down.stderr
    assert not (tmp_path / "x.yaml").exists()


# --- --from-terraform: reading the old configuration ---------------------------------------------

OLD_CONFIG = """\
variable "team" {
  default = "legacy"
}

variable "computed" {}

locals {
  prefix = "${var.team}-batch"
  queue  = "${local.prefix}-main"
}

resource "aws_batch_job_queue" "main" {
  name     = local.queue
  state    = "ENABLED"
  priority = 1
}

resource "aws_batch_job_definition" "literal" {
  name = "nightly-report"
  type = "container"
}

resource "aws_batch_job_definition" "computed" {
  name = "${var.computed}-x"
  type = "container"
}

resource "aws_s3_bucket" "unrelated" {
  bucket = "x"
}

module "batch" {
  source = "terraform-aws-modules/batch/aws"
}
"""


def test_the_old_configuration_names_its_batch_resources(tmp_path: Path) -> None:
    """Names from literals, variable defaults and locals; what only the state could give is
    said, never guessed; resources of other types are not touched."""
    from batchform.importer.terraform import read_configuration

    (tmp_path / "main.tf").write_text(OLD_CONFIG, encoding="utf-8")
    old = read_configuration(tmp_path)
    names = {r.address: r.name for r in old.resources}
    assert names == {
        "aws_batch_job_queue.main": "legacy-batch-main",
        "aws_batch_job_definition.literal": "nightly-report",
        "aws_batch_job_definition.computed": None,
    }
    assert any(note.startswith("module.batch:") for note in old.notes)


def test_removed_blocks_name_whole_resources_only_when_every_instance_is_adopted() -> None:
    from batchform.importer.terraform import OldConfiguration, OldResource, removed_addresses

    queue = "aws_batch_job_queue"
    old = OldConfiguration(
        [
            OldResource('module.batch.aws_batch_job_queue.this["high"]', queue, "b-high"),
            OldResource('module.batch.aws_batch_job_queue.this["low"]', queue, "b-low"),
            OldResource('aws_batch_job_queue.pair["a"]', queue, "p-a"),
            OldResource('aws_batch_job_queue.pair["b"]', queue, "p-b"),
            OldResource("aws_batch_job_queue.other", queue, "other"),
        ]
    )
    adopted = {(queue, "b-high"), (queue, "b-low"), (queue, "p-a")}
    addresses, notes = removed_addresses(old, adopted)
    assert addresses == ["module.batch.aws_batch_job_queue.this"]
    assert notes == [
        "aws_batch_job_queue.pair: 1 of its 2 instances are adopted; a removed block would "
        "forget all of them, so none is written for it"
    ]
    text = blocks.removed_text(addresses, "x.yaml")
    assert "removed {\n  from = module.batch.aws_batch_job_queue.this\n" in text
    assert "    destroy = false\n" in text


def test_from_terraform_imports_what_the_configuration_names(
    aws: handmade.Client, tmp_path: Path
) -> None:
    """Without a state (no `terraform init` there), the configuration's names choose the queues
    and job definitions; the rest of the account is not imported."""
    _fargate_account(aws, jobs_count=3)
    old = tmp_path / "old"
    old.mkdir()
    (old / "main.tf").write_text(
        'resource "aws_batch_job_queue" "q" {\n  name = "analytics-q1"\n}\n'
        'resource "aws_batch_job_definition" "j" {\n  name = "analytics-step02"\n}\n',
        encoding="utf-8",
    )
    out = tmp_path / "adopted.yaml"
    code, _, stderr = _import(out, from_terraform=old, name="analytics")
    env, _ = parse_environment(_loaded(out))
    assert env is not None, stderr
    assert list(env.job_queues) == ["q1"] and list(env.job_definitions) == ["step02"]
    removed = (tmp_path / "adopted.removed.tf").read_text(encoding="utf-8")
    assert "from = aws_batch_job_queue.q\n" in removed
    assert "from = aws_batch_job_definition.j\n" in removed
    assert code == 0  # the queue and the job (its own log group kept) are adopted as they are


def test_from_terraform_errors_are_located_and_write_nothing(
    aws: handmade.Client, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "main.tf").write_text('resource "aws_batch_job_queue" "q" {\n', encoding="utf-8")
    out = tmp_path / "x.yaml"
    code, _, stderr = _import(out, from_terraform=old)
    assert code == 1 and "main.tf: not HCL" in stderr
    code, _, stderr = _import(out, from_terraform=tmp_path / "missing")
    assert code == 1 and "is not a directory" in stderr
    assert not out.exists()


def test_hostile_values_from_aws_stay_values(aws: handmade.Client, tmp_path: Path) -> None:
    """Whatever AWS holds (newlines, YAML and HCL syntax, bidirectional overrides) comes back
    as the same text, never as structure or a comment that ends early."""
    hostile = 'a: b\n# not a comment\n${file("/etc/passwd")} \u202eevil'
    aws("batch").register_job_definition(
        jobDefinitionName="odd",
        type="container",
        platformCapabilities=["EC2"],
        containerProperties={
            "image": "busybox",
            "command": ["sh", "-c", hostile],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
            "environment": [{"name": "ODD", "value": hostile}],
            "instanceType": hostile,  # no key in the format: a comment quotes it
        },
        tags={"note": "on", "time": "12:30", "at": "@x"},  # AWS allows no more in tags
    )
    out = tmp_path / "odd.yaml"
    code, _, stderr = _import(out, name="odd")
    assert code == 2 and "Traceback" not in stderr
    env, diags = parse_environment(_loaded(out))
    assert env is not None, diags
    job = env.job("odd")
    assert job.command == ["sh", "-c", hostile]
    assert (job.environment or {})["ODD"] == hostile
    assert {**env.tags, **(job.tags or {})} == {"note": "on", "time": "12:30", "at": "@x"}
    comments = [
        line for line in out.read_text(encoding="utf-8").splitlines() if line.lstrip()[:1] == "#"
    ]
    assert any("instanceType" in line for line in comments)
    assert not any("\u202e" in line for line in comments)
