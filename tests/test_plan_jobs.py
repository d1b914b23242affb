"""The job side of the generated module: what a user reads in job_queues.tf, job_definitions.tf,
scheduling_policies.tf, logs.tf and outputs.tf, and what AWS receives as container properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
import pytest

from batchform.build import analyze_text
from batchform.derive import container_properties, required_parameters
from batchform.hcl import Expr
from batchform.model import Environment
from batchform.plan import jobs, outputs
from batchform.render import render_template
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import moto_copy
from tests.harness import terraform as tf

CONFIG = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
  security_groups:
    batch: {description: Batch hosts}
compute_environments:
  ondemand: {type: EC2, max_vcpus: 64, instance_types: [c6i]}
  spot: {type: SPOT, max_vcpus: 64, instance_types: [m6i]}
  fargate: {type: FARGATE, max_vcpus: 16}
scheduling_policies:
  fair:
    share_decay: 1h
    compute_reservation: 10
    shares:
      - {identifier: labB, weight: 0.5}
      - {identifier: "labA*", weight: 1.0}
job_queues:
  main:
    priority: 100
    compute_environments: [spot, ondemand]
    scheduling_policy: fair
    time_limit_actions:
      - {reason: "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", after: 10m}
  serverless:
    priority: 5
    state: DISABLED
    compute_environments: [fargate]
job_defaults:
  retry: {attempts: 2}
  timeout: 12h
  log_retention_days: 14
  propagate_tags: true
  environment: {LOG_LEVEL: info, ZONE: eu}
  tags: {owner: lab}
job_definitions:
  align:
    image: example/bwa:1
    command: [bwa, mem, Ref::reference, Ref::reads, Ref::reads, --out=Ref::out]
    parameters: {reference: s3://refs/hg38.fa}
    vcpus: 8
    memory: 32 GiB
    gpus: 1
    retry:
      attempts: 3
      on_exit:
        - {exit_code: "137", action: RETRY}
        - {reason: "*", action: EXIT}
    timeout: 4h
    environment: {THREADS: "8", ALPHA: a, EMPTY: ""}
    secrets:
      TOKEN: arn:aws:secretsmanager:us-west-2:123456789012:secret:token
      API: arn:aws:ssm:us-west-2:123456789012:parameter/api
    volumes:
      - {host_path: /scratch, container_path: /scratch}
      - {efs: fs-0123456789abcdef0, container_path: /refs, read_only: true,
         access_point: fsap-0123456789abcdef0}
    job_role: {s3_read: [refs]}
    privileged: true
    tags: {stage: align}
  plain:
    image: example/tool:1
    vcpus: 1
    memory: 512
  report:
    platform: FARGATE
    image: example/report:1
    command: [python, -m, report]
    vcpus: 0.5
    memory: 1 GiB
    assign_public_ip: true
    ephemeral_storage: 50 GiB
    platform_version: 1.4.0
"""


def _env(text: str = CONFIG) -> Environment:
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is not None, analysis.diagnostics
    return analysis.env


def _render(env: Environment) -> dict[str, str]:
    files = {**jobs.plan(env), **outputs.plan(env)}
    return {name: render_template(name, {"header": "# test", **ctx}) for name, ctx in files.items()}


def _plain(value: Any) -> Any:
    """python-hcl2 output without its quoting of string literals and its block markers."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _parse(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = _plain(hcl2.loads(text))
    return parsed


def _resources(text: str, rtype: str) -> dict[str, dict[str, Any]]:
    """``{label: body}`` of every ``rtype`` resource in rendered HCL, parsed by python-hcl2."""
    found: dict[str, dict[str, Any]] = {}
    for block in _parse(text).get("resource", []):
        for typ, by_label in block.items():
            if typ == rtype:
                found.update(by_label)
    return found


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return _render(_env())


# --- queues ----------------------------------------------------------------------------------


def test_queue_keeps_compute_environment_order(rendered: dict[str, str]) -> None:
    queue = _resources(rendered["job_queues.tf"], "aws_batch_job_queue")["main"]
    order = [(b["order"], b["compute_environment"]) for b in queue["compute_environment_order"]]
    assert order == [
        (1, "${aws_batch_compute_environment.spot.arn}"),
        (2, "${aws_batch_compute_environment.ondemand.arn}"),
    ]
    assert "compute_environments" not in queue  # the deprecated argument is never written


def test_queue_settings(rendered: dict[str, str]) -> None:
    queues = _resources(rendered["job_queues.tf"], "aws_batch_job_queue")
    main, serverless = queues["main"], queues["serverless"]
    assert main["name"] == "demo-main"
    assert main["priority"] == 100 and main["state"] == "ENABLED"
    assert main["scheduling_policy_arn"] == "${aws_batch_scheduling_policy.fair.arn}"
    action = main["job_state_time_limit_action"][0]
    assert action["max_time_seconds"] == 600 and action["action"] == "CANCEL"
    assert action["state"] == "RUNNABLE"
    assert serverless["state"] == "DISABLED"
    assert "scheduling_policy_arn" not in serverless
    assert main["tags"] == {"batchform:environment": "demo", "batchform:key": "main"}


def test_scheduling_policy_keeps_share_order(rendered: dict[str, str]) -> None:
    policy = _resources(rendered["scheduling_policies.tf"], "aws_batch_scheduling_policy")["fair"]
    assert policy["name"] == "demo-fair"
    fair = policy["fair_share_policy"][0]
    assert fair["share_decay_seconds"] == 3600 and fair["compute_reservation"] == 10
    shares = [(s["share_identifier"], s["weight_factor"]) for s in fair["share_distribution"]]
    assert shares == [("labB", 0.5), ("labA*", 1)]


# --- job definitions -------------------------------------------------------------------------


def test_job_definition_arguments(rendered: dict[str, str]) -> None:
    align = _resources(rendered["job_definitions.tf"], "aws_batch_job_definition")["align"]
    assert align["name"] == "demo-align"
    assert align["type"] == "container"
    assert align["platform_capabilities"] == ["EC2"]
    assert align["propagate_tags"] is True
    assert align["parameters"] == {"reference": "s3://refs/hg38.fa"}
    assert align["tags"] == {
        "batchform:environment": "demo",
        "batchform:key": "align",
        "owner": "lab",
        "stage": "align",
    }
    assert align["container_properties"].startswith("${jsonencode({")


def test_own_retry_and_timeout_win_over_defaults(rendered: dict[str, str]) -> None:
    align = _resources(rendered["job_definitions.tf"], "aws_batch_job_definition")["align"]
    retry = align["retry_strategy"][0]
    assert retry["attempts"] == 3
    assert [
        (r["action"], r.get("on_exit_code"), r.get("on_reason")) for r in retry["evaluate_on_exit"]
    ] == [("retry", "137", None), ("exit", None, "*")]
    assert align["timeout"][0]["attempt_duration_seconds"] == 4 * 3600


def test_retry_and_timeout_come_from_defaults(rendered: dict[str, str]) -> None:
    plain = _resources(rendered["job_definitions.tf"], "aws_batch_job_definition")["plain"]
    assert plain["retry_strategy"][0]["attempts"] == 2
    assert "evaluate_on_exit" not in plain["retry_strategy"][0]
    assert plain["timeout"][0]["attempt_duration_seconds"] == 12 * 3600
    assert "parameters" not in plain


def test_container_properties_resources_are_strings() -> None:
    props = container_properties(_env(), "align")
    assert props["resourceRequirements"] == [
        {"type": "VCPU", "value": "8"},
        {"type": "MEMORY", "value": "32768"},
        {"type": "GPU", "value": "1"},
    ]
    assert props["command"] == ["bwa", "mem", "Ref::reference", "Ref::reads", "Ref::reads",
                                "--out=Ref::out"]  # fmt: skip


def test_environment_sorted_merged_and_without_empty_values() -> None:
    props = container_properties(_env(), "align")
    assert props["environment"] == [
        {"name": "ALPHA", "value": "a"},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "THREADS", "value": "8"},
        {"name": "ZONE", "value": "eu"},
    ]
    assert props["secrets"] == [
        {"name": "API", "valueFrom": "arn:aws:ssm:us-west-2:123456789012:parameter/api"},
        {
            "name": "TOKEN",
            "valueFrom": "arn:aws:secretsmanager:us-west-2:123456789012:secret:token",
        },
    ]


def test_ec2_job_references_roles_and_log_group() -> None:
    props = container_properties(_env(), "align")
    assert props["jobRoleArn"] == Expr("aws_iam_role.job_align.arn")
    assert isinstance(props["jobRoleArn"], Expr)
    # an EC2 job needs the execution role only to read its secrets
    assert props["executionRoleArn"] == "aws_iam_role.execution.arn"
    assert props["privileged"] is True
    assert props["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "aws_cloudwatch_log_group.job_align.name",
            "awslogs-region": "us-west-2",
            "awslogs-stream-prefix": "align",
        },
    }
    assert "networkConfiguration" not in props and "fargatePlatformConfiguration" not in props


def test_volumes_and_mount_points() -> None:
    props = container_properties(_env(), "align")
    assert props["volumes"] == [
        {"name": "vol-0", "host": {"sourcePath": "/scratch"}},
        {
            "name": "vol-1",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-0123456789abcdef0",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {
                    "iam": "DISABLED",
                    "accessPointId": "fsap-0123456789abcdef0",
                },
            },
        },
    ]
    assert props["mountPoints"] == [
        {"sourceVolume": "vol-0", "containerPath": "/scratch", "readOnly": False},
        {"sourceVolume": "vol-1", "containerPath": "/refs", "readOnly": True},
    ]


def test_minimal_job_has_no_empty_lists() -> None:
    """AWS drops empty lists; writing them would make every plan show a change."""
    props = container_properties(_env(), "plain")
    assert set(props) == {"image", "resourceRequirements", "environment", "logConfiguration"}
    assert all(v != [] and v != {} for v in props.values())
    assert "executionRoleArn" not in props and "jobRoleArn" not in props


def test_fargate_job_properties(rendered: dict[str, str]) -> None:
    props = container_properties(_env(), "report")
    assert props["resourceRequirements"] == [
        {"type": "VCPU", "value": "0.5"},
        {"type": "MEMORY", "value": "1024"},
    ]
    assert props["executionRoleArn"] == "aws_iam_role.execution.arn"
    assert props["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    assert props["ephemeralStorage"] == {"sizeInGiB": 50}
    assert props["fargatePlatformConfiguration"] == {"platformVersion": "1.4.0"}
    report = _resources(rendered["job_definitions.tf"], "aws_batch_job_definition")["report"]
    assert report["platform_capabilities"] == ["FARGATE"]


def test_fargate_ignores_ec2_only_settings() -> None:
    text = CONFIG.replace("    platform_version: 1.4.0\n", "    privileged: true\n    gpus: 1\n")
    props = container_properties(_env(text), "report")
    assert "privileged" not in props
    assert [r["type"] for r in props["resourceRequirements"]] == ["VCPU", "MEMORY"]
    assert props["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    assert props["fargatePlatformConfiguration"] == {"platformVersion": "LATEST"}


def test_container_properties_are_json_serialisable() -> None:
    env = _env()
    for key in env.job_definitions:
        text = json.dumps(container_properties(env, key))
        assert "${" not in text


def test_user_text_cannot_become_an_expression() -> None:
    text = CONFIG.replace("image: example/tool:1", 'image: "x${file(\\"/etc/passwd\\")}"')
    out = _render(_env(text))["job_definitions.tf"]
    assert 'image = "x$${file(\\"/etc/passwd\\")}"' in out


def test_required_parameters_in_order_and_once() -> None:
    env = _env()
    assert required_parameters(env.job("align")) == ["reads", "out"]
    assert required_parameters(env.job("plain")) == []


# --- logs and outputs ------------------------------------------------------------------------


def test_one_log_group_per_job(rendered: dict[str, str]) -> None:
    groups = _resources(rendered["logs.tf"], "aws_cloudwatch_log_group")
    assert sorted(groups) == ["job_align", "job_plain", "job_report"]
    assert groups["job_align"]["name"] == "/aws/batch/demo/align"
    assert groups["job_align"]["retention_in_days"] == 14


def test_outputs(rendered: dict[str, str]) -> None:
    parsed = _parse(rendered["outputs.tf"])
    values = {name: body["value"] for block in parsed["output"] for name, body in block.items()}
    assert values["job_queues"]["main"] == {
        "arn": "${aws_batch_job_queue.main.arn}",
        "name": "${aws_batch_job_queue.main.name}",
    }
    assert values["job_definition_arns"]["align"] == "${aws_batch_job_definition.align.arn}"
    assert values["compute_environment_arns"]["spot"] == (
        "${aws_batch_compute_environment.spot.arn}"
    )
    assert values["vpc_id"] == "${aws_vpc.main.id}"
    assert values["private_subnet_ids"] == [
        "${aws_subnet.private_us_west_2a.id}",
        "${aws_subnet.private_us_west_2b.id}",
    ]


def test_existing_vpc_outputs_no_network_ids() -> None:
    text = CONFIG.replace(
        "    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}",
        "    existing: {vpc_id: vpc-0123456789abcdef0, private_subnets: [subnet-01234567]}",
    )
    names = [o["name"] for o in outputs.plan(_env(text))["outputs.tf"]["outputs"]]
    assert names == [
        "compute_environment_arns",
        "job_definition_arns",
        "job_definition_arn_prefixes",
        "job_queues",
    ]


def test_empty_sections_write_no_files() -> None:
    head = CONFIG.split("compute_environments:")[0]
    env = _env(head)
    assert jobs.plan(env) == {}
    assert outputs.plan(env) != {}  # the created VPC is still worth an output


def test_rendering_is_deterministic() -> None:
    assert _render(_env()) == _render(_env())


# --- real Terraform --------------------------------------------------------------------------


@pytest.mark.terraform
def test_rendered_files_are_terraform_fmt_clean(
    rendered: dict[str, str], tmp_path: Path, terraform_cli: tf.TerraformCLI
) -> None:
    for name, text in rendered.items():
        (tmp_path / name).write_text(text)
    tf.fmt_check(tmp_path)


STUB_ROLES = """\
resource "aws_iam_role" "execution" {
  name               = "demo-execution"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}

resource "aws_iam_role" "job_align" {
  name               = "demo-job-align"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}
"""


@pytest.mark.e2e
def test_job_definitions_do_not_drift_after_apply(
    tmp_path: Path, terraform_cli: tf.TerraformCLI, moto: MotoServer
) -> None:
    """Apply policies, log groups and job definitions to moto; a second plan must be empty
    (container properties, retry actions and platform capabilities round-trip unchanged)."""
    files = _render(_env())
    for name in ("scheduling_policies.tf", "job_definitions.tf", "logs.tf"):
        (tmp_path / name).write_text(files[name])
    (tmp_path / "roles.tf").write_text(STUB_ROLES)
    with moto_copy(tmp_path, moto.url, region="us-west-2") as module:
        tf.init(module, moto.env())
        tf.apply(module, moto.env())
        result = tf.plan(module, moto.env())
        assert result.returncode == 0, result.stdout[-4000:]


def test_container_options_reach_the_api_in_its_own_words() -> None:
    """Every container option of the second release, as RegisterJobDefinition spells it
    (https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerProperties.html,
    API_LinuxParameters.html, API_Ulimit.html, API_LogConfiguration.html); a job without them
    compiles as before (the bundled examples' output is unchanged)."""
    from batchform.derive import container_options
    from batchform.model import ContainerOptions

    opts = ContainerOptions.model_validate(
        {
            "user": 1000,
            "readonly_root_filesystem": True,
            "init_process": True,
            "shared_memory": "8 GiB",
            "tmpfs": [{"container_path": "/tmp/work", "size": "4 GiB", "mount_options": ["rw"]}],
            "devices": [{"host_path": "/dev/fuse", "permissions": ["read", "mknod"]}],
            "swap": {"max": "4 GiB", "swappiness": 60},
            "ulimits": {"nofile": {"soft": 65536, "hard": 65536}},
            "architecture": "ARM64",
            "execute_command": True,
        }
    )
    ec2 = container_options(opts, fargate=False)
    assert ec2 == {
        "user": "1000",
        "readonlyRootFilesystem": True,
        "linuxParameters": {
            "devices": [
                {
                    "hostPath": "/dev/fuse",
                    "containerPath": "/dev/fuse",
                    "permissions": ["READ", "MKNOD"],
                }
            ],
            "initProcessEnabled": True,
            "maxSwap": 4096,
            "sharedMemorySize": 8192,
            "swappiness": 60,
            "tmpfs": [{"containerPath": "/tmp/work", "size": 4096, "mountOptions": ["rw"]}],
        },
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        "enableExecuteCommand": True,
    }
    fargate = container_options(opts, fargate=True)
    assert fargate["runtimePlatform"] == {
        "cpuArchitecture": "ARM64",
        "operatingSystemFamily": "LINUX",
    }
    assert container_options(ContainerOptions(), fargate=True) == {}


def test_a_log_driver_other_than_awslogs_takes_only_the_users_options() -> None:
    env = _env(
        CONFIG
        + """\
  splunk:
    image: busybox
    vcpus: 1
    memory: 1 GiB
    log:
      driver: splunk
      options: {splunk-url: "https://splunk.example.com:8088"}
      secret_options: {splunk-token: arn:aws:secretsmanager:us-west-2:123456789012:secret:t}
  multiline:
    image: busybox
    vcpus: 1
    memory: 1 GiB
    log: {options: {awslogs-multiline-pattern: "^INFO"}}
"""
    )
    assert container_properties(env, "splunk")["logConfiguration"] == {
        "logDriver": "splunk",
        "options": {"splunk-url": "https://splunk.example.com:8088"},
        "secretOptions": [
            {
                "name": "splunk-token",
                "valueFrom": "arn:aws:secretsmanager:us-west-2:123456789012:secret:t",
            }
        ],
    }
    multiline = container_properties(env, "multiline")["logConfiguration"]
    assert multiline["logDriver"] == "awslogs"
    assert multiline["options"]["awslogs-multiline-pattern"] == "^INFO"
    assert multiline["options"]["awslogs-stream-prefix"] == "multiline"


def test_only_jobs_that_log_to_it_get_a_log_group() -> None:
    """A job whose logs go to another driver, or to an awslogs group of its own, gets no log
    group: it would hold nothing, and after `batchform import` its first apply would create it
    for nobody."""
    env = _env(
        CONFIG
        + """\
  splunk:
    image: busybox
    vcpus: 1
    memory: 1 GiB
    log: {driver: splunk, options: {splunk-url: "https://splunk.example.com:8088"}}
  own-group:
    image: busybox
    vcpus: 1
    memory: 1 GiB
    log: {options: {awslogs-group: /teams/analytics}}
  prefix-only:
    image: busybox
    vcpus: 1
    memory: 1 GiB
    log: {options: {awslogs-stream-prefix: p}}
"""
    )
    names = [g["label"] for g in jobs.plan(env)["logs.tf"]["log_groups"]]
    assert "job_prefix_only" in names
    assert "job_splunk" not in names and "job_own_group" not in names
    assert len(names) == len(env.job_definitions) - 2
