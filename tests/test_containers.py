"""Container options of job definitions: the rules (BF520-BF538,
compiler/batchform/checks/containers.py), what the generated Terraform and IAM carry, and
``keep_old_revisions``.

Rule cases follow ``tests/test_operations.py``: a bad case is the good file with one line
changed and marked ``#!``; the finding must stand on that line with the rule's code. The rule
pages' examples (compiler/batchform/checks/docs/bf520-539.yaml) are each code's first test; the
cases here cover the other places each rule looks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from batchform.build import analyze_text, render_environment
from batchform.derive import container_properties
from batchform.diagnostics import Diagnostic, Level
from batchform.model import Environment
from batchform.plan import iam
from batchform.sandbox.emulator import MotoServer
from tests.harness import terraform as tf
from tests.harness.cli import run_cli
from tests.harness.plans import claimed_actions, moto_module, plan_actions
from tests.harness.small_env import blocks

MARK = "#!"

BASE = """\
version: 1
name: demo
region: us-west-2
terraform:
  aws_provider: ">= 5.100.0, < 6.0.0"
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a, us-west-2b]}
compute_environments:
  x86: {type: EC2, max_vcpus: 64, instance_types: [c6i]}
  graviton: {type: SPOT, max_vcpus: 64, instance_types: [c7g, m7g.2xlarge]}
  fargate: {type: FARGATE, max_vcpus: 16}
  fspot: {type: FARGATE_SPOT, max_vcpus: 16}
job_queues:
  intel: {priority: 10, compute_environments: [x86]}
  arm: {priority: 5, compute_environments: [graviton]}
  serverless: {priority: 1, compute_environments: [fspot, fargate]}
job_definitions:
  train:
    image: public.ecr.aws/example/trainer:2
    vcpus: 8
    memory: 16 GiB
    user: "1000:1000"
    init_process: true
    shared_memory: 4 GiB
    tmpfs:
      - {container_path: /tmp/work, size: 2 GiB, mount_options: [rw, noexec, mode=1777]}
    devices:
      - {host_path: /dev/fuse, permissions: [read, write, mknod]}
    swap: {max: 4 GiB, swappiness: 60}
    ulimits:
      nofile: {soft: 65536, hard: 65536}
      memlock: {soft: -1, hard: -1}
      stack: {soft: 8192, hard: -1}
    log:
      options: {awslogs-multiline-pattern: "^INFO", mode: non-blocking, max-buffer-size: 4m}
    execute_command: true
    keep_old_revisions: true
  report:
    platform: FARGATE
    image: public.ecr.aws/example/report:1
    vcpus: 1
    memory: 2 GiB
    architecture: ARM64
    readonly_root_filesystem: true
    log:
      driver: splunk
      options: {splunk-url: "https://splunk.example.com:8088"}
      secret_options:
        splunk-token: arn:aws:secretsmanager:us-west-2:123456789012:secret:splunk-AbCdEf
"""


def analysis_of(text: str) -> list[Diagnostic]:
    result = analyze_text(text, "t.yaml")
    assert result.env is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    return result.diagnostics


def env_of(text: str) -> Environment:
    result = analyze_text(text, "t.yaml")
    errors = [f"{d.code} {d.message}" for d in result.diagnostics if d.level == Level.ERROR]
    assert result.env is not None and not errors, errors
    return result.env


def _marked_line(text: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, text
    return lines[0]


def edit(old: str, new: str, base: str = BASE) -> str:
    """``base`` with the first ``old`` replaced by ``new`` and the line marked."""
    assert old in base, old
    return base.replace(old, f"{new}  {MARK}", 1)


def test_the_base_file_uses_every_option_and_passes() -> None:
    """The good file: every key on the platform that takes it, no finding of this range."""
    assert not [d for d in analysis_of(BASE) if "BF520" <= d.code <= "BF539"]


TMPFS_LINE = (
    "      - {container_path: /tmp/work, size: 2 GiB, mount_options: [rw, noexec, mode=1777]}"
)
LOG_LINE = (
    '      options: {awslogs-multiline-pattern: "^INFO", mode: non-blocking, max-buffer-size: 4m}'
)
SWAP_LINE = "    swap: {max: 4 GiB, swappiness: 60}"
SECRET_LINE = (
    "        splunk-token: arn:aws:secretsmanager:us-west-2:123456789012:secret:splunk-AbCdEf"
)
DEVICE_LINE = "      - {host_path: /dev/fuse, permissions: [read, write, mknod]}"
READ_ONLY_LINE = "    readonly_root_filesystem: true"
PROVIDER_LINE = '  aws_provider: ">= 5.100.0, < 6.0.0"'


BAD: dict[str, tuple[str, str]] = {
    # EC2-only options on Fargate, each where it is written
    "fargate-tmpfs": (
        "BF520",
        edit(
            "    architecture: ARM64\n",
            "    architecture: ARM64\n    tmpfs: [{container_path: /t, size: 1 GiB}]",
        ),
    ),
    "fargate-ulimits": (
        "BF520",
        edit(
            "    architecture: ARM64\n",
            "    architecture: ARM64\n    ulimits: {nofile: {soft: 1024, hard: 1024}}",
        ),
    ),
    "fargate-devices": (
        "BF520",
        edit(
            "    architecture: ARM64\n",
            "    architecture: ARM64\n    devices: [{host_path: /dev/fuse}]",
        ),
    ),
    "fargate-swap": (
        "BF520",
        edit("    architecture: ARM64\n", "    architecture: ARM64\n    swap: {max: 1 GiB}"),
    ),
    # architecture against the instance types of the queues that can run the job
    "arm-without-graviton-queue": (
        "BF521",
        edit(
            "    keep_old_revisions: true",
            "    architecture: ARM64",
            BASE.replace("  arm: {priority: 5, compute_environments: [graviton]}\n", ""),
        ),
    ),
    "x86-only-on-graviton": (
        "BF521",
        edit(
            "    keep_old_revisions: true",
            "    architecture: X86_64",
            BASE.replace("  intel: {priority: 10, compute_environments: [x86]}\n", ""),
        ),
    ),
    "schedule-to-the-other-architecture": (
        "BF521",
        edit(
            "    queue: arm",
            "    queue: intel",
            BASE.replace("    keep_old_revisions: true", "    architecture: ARM64")
            + "schedules:\n  nightly:\n    job_definition: train\n    queue: arm\n"
            + "    rate: 1 day\n",
        ),
    ),
    "arm64-fargate-spot-only": (
        "BF522",
        edit(
            "    architecture: ARM64",
            "    architecture: ARM64",
            BASE.replace("compute_environments: [fspot, fargate]", "compute_environments: [fspot]"),
        ),
    ),
    # ulimits, at the limit Linux refuses
    "soft-above-hard": (
        "BF523",
        edit("      stack: {soft: 8192, hard: -1}", "      stack: {soft: -1, hard: 8192}"),
    ),
    "nofile-unlimited": (
        "BF523",
        edit("      nofile: {soft: 65536, hard: 65536}", "      nofile: {soft: 65536, hard: -1}"),
    ),
    "below-minus-one": (
        "BF523",
        edit("      memlock: {soft: -1, hard: -1}", "      memlock: {soft: -2, hard: -1}"),
    ),
    # sizes (range rows)
    "shm-zero": ("BF524", edit("    shared_memory: 4 GiB", "    shared_memory: 0")),
    "swappiness-negative": ("BF525", edit(SWAP_LINE, "    swap: {max: 4 GiB, swappiness: -1}")),
    # tmpfs and devices
    "tmpfs-option": (
        "BF526",
        edit(
            TMPFS_LINE,
            "      - {container_path: /tmp/work, size: 2 GiB, mount_options: [rw, nosetuid]}",
        ),
    ),
    "tmpfs-twice": (
        "BF526",
        edit(
            TMPFS_LINE,
            "      - {container_path: /tmp/work, size: 1 GiB}\n"
            "      - {container_path: /tmp/work, size: 1 GiB}",
        ),
    ),
    "device-container-path": (
        "BF527",
        edit(DEVICE_LINE, "      - {host_path: /dev/fuse, container_path: dev/fuse}"),
    ),
    "device-permission-twice": (
        "BF527",
        edit(DEVICE_LINE, "      - {host_path: /dev/fuse, permissions: [read, read]}"),
    ),
    # swap, memory
    "swappiness-without-swap": ("BF528", edit(SWAP_LINE, "    swap: {max: 0, swappiness: 60}")),
    "tmpfs-over-memory": (
        "BF529",
        edit(
            "    tmpfs:",
            "    tmpfs:",
            BASE.replace("size: 2 GiB, mount_options", "size: 14 GiB, mount_options"),
        ),
    ),
    "shm-over-memory": (
        "BF529",
        edit(
            "    shared_memory: 4 GiB",
            "    shared_memory: 17 GiB",
            BASE.replace(f"    tmpfs:\n{TMPFS_LINE}\n", ""),
        ),
    ),
    # logging
    "fargate-gelf": ("BF530", edit("      driver: splunk", "      driver: gelf")),
    "awslogs-mode": ("BF531", edit(LOG_LINE, "      options: {mode: fast}")),
    "awslogs-region": ("BF532", edit(LOG_LINE, "      options: {awslogs-region: eu-west-1}")),
    "log-secret-parameter-name": (
        "BF533",
        edit(SECRET_LINE, "        splunk-token: /splunk/token"),
    ),
    # user
    "user-two-colons": ("BF534", edit('    user: "1000:1000"', '    user: "1000:1000:1000"')),
    "user-id-too-large": ("BF534", edit('    user: "1000:1000"', '    user: "4294967295"')),
    # ECS Exec
    "exec-old-fargate": (
        "BF535",
        edit(READ_ONLY_LINE, "    execute_command: true\n    platform_version: 1.3.0"),
    ),
    "exec-read-only": (
        "BF536",
        edit(READ_ONLY_LINE, "    readonly_root_filesystem: true\n    execute_command: true"),
    ),
    "exec-own-role": (
        "BF537",
        edit(
            "    execute_command: true\n    keep_old_revisions: true",
            "    execute_command: true\n    job_role: {arn: 'arn:aws:iam::123456789012:role/t'}",
        ),
    ),
    "exec-old-provider": ("BF538", edit(PROVIDER_LINE, '  aws_provider: "~> 5.70"')),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_case_fires_on_the_marked_line(case: str) -> None:
    code, text = BAD[case]
    found = [(d.code, d.line) for d in analysis_of(text)]
    assert (code, _marked_line(text)) in found, found


def test_every_rule_of_the_range_has_a_case_here() -> None:
    assert {code for code, _ in BAD.values()} == {f"BF{n}" for n in range(520, 539)}


def test_exec_old_provider_names_the_constraint_and_the_floor() -> None:
    text = BAD["exec-old-provider"][1]
    found = [d for d in analysis_of(text) if d.code == "BF538"]
    assert len(found) == 1 and found[0].level == Level.WARNING
    assert "~> 5.70" in found[0].message and "5.70.0" in found[0].message
    assert found[0].hint is not None and ">= 5.100.0" in found[0].hint


def test_exec_with_the_default_constraint_stands_at_the_job() -> None:
    """The default constraint admits the floor of every other argument (5.63.1): the warning
    then stands at the job that turned ECS Exec on, since the file wrote no constraint."""
    text = BASE.replace('terraform:\n  aws_provider: ">= 5.100.0, < 6.0.0"\n', "")
    found = [(d.code, d.line) for d in analysis_of(text) if d.code == "BF538"]
    lines = text.splitlines()
    assert found == [("BF538", lines.index("    execute_command: true") + 1)]


def test_a_job_without_architecture_is_not_judged_on_graviton() -> None:
    """Only an explicit architecture is compared: an image may be multi-arch, and files that
    compiled before the key existed must keep compiling."""
    text = BASE.replace("compute_environments: [x86]}", "compute_environments: [graviton]}")
    assert not [d for d in analysis_of(text) if d.code == "BF521"]


# --- what is generated -----------------------------------------------------------------------


def test_false_flags_are_left_out_of_the_container_properties() -> None:
    """false is AWS's default for readonlyRootFilesystem, initProcessEnabled and
    enableExecuteCommand; a false AWS does not echo back would be a difference on every plan
    (the provider compares both JSON documents decoded into the SDK's struct,
    internal/service/batch/container_properties.go), so it is never written."""
    text = (
        BASE.replace("    init_process: true\n", "    init_process: false\n")
        .replace("    execute_command: true\n", "    execute_command: false\n")
        .replace("    readonly_root_filesystem: true\n", "    readonly_root_filesystem: false\n")
    )
    env = env_of(text)
    train, report = container_properties(env, "train"), container_properties(env, "report")
    assert "enableExecuteCommand" not in train and "initProcessEnabled" not in str(train)
    assert "readonlyRootFilesystem" not in report


def test_architecture_is_a_runtime_platform_on_fargate_only() -> None:
    env = env_of(BASE.replace("    keep_old_revisions: true", "    architecture: X86_64"))
    assert container_properties(env, "report")["runtimePlatform"] == {
        "cpuArchitecture": "ARM64",
        "operatingSystemFamily": "LINUX",
    }
    assert "runtimePlatform" not in container_properties(env, "train")


def test_log_secret_options_bring_the_execution_role_and_its_grant() -> None:
    """The ECS agent reads a log driver's secretOptions with the execution role, as it reads
    job secrets (Batch User Guide, "Specifying sensitive data"): an EC2 job that has them gets
    the role, and the role may read exactly that secret."""
    text = BASE.replace("  report:\n    platform: FARGATE\n", "  report:\n").replace(
        "    architecture: ARM64\n", ""
    )
    env = env_of(text)
    assert env.job("report").platform == "EC2"
    props = container_properties(env, "report")
    assert str(props["executionRoleArn"]) == "aws_iam_role.execution.arn"
    roles = iam.plan(env)["iam.tf"]["roles"]
    execution = next(r for r in roles if r["label"] == "execution")
    statement = execution["inline_policies"][0]["policy"]["Statement"][0]
    secret = "arn:aws:secretsmanager:us-west-2:123456789012:secret:splunk-AbCdEf"
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == [secret, secret + "-??????"]


def _exec_policy(env: Environment, label: str) -> dict[str, Any]:
    roles = iam.plan(env)["iam.tf"]["roles"]
    role = next(r for r in roles if r["label"] == label)
    return next(p["policy"] for p in role["inline_policies"] if p["name"] == "exec")


ECS_EXEC_STATEMENT = {
    "Sid": "EcsExecSessions",
    "Effect": "Allow",
    "Action": [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ],
    "Resource": "*",
}


def test_ecs_exec_without_a_job_role_gets_a_generated_one() -> None:
    """ECS Exec opens its channels with the job role's ssmmessages permissions (ECS developer
    guide, ECS Exec): a job without a job_role gets one with exactly those."""
    env = env_of(BASE)
    assert str(container_properties(env, "train")["jobRoleArn"]) == "aws_iam_role.job_train.arn"
    assert _exec_policy(env, "job_train") == {
        "Version": "2012-10-17",
        "Statement": [ECS_EXEC_STATEMENT],
    }
    iam_tf = blocks(render_environment(env, "t.yaml")["iam.tf"])
    assert set(iam_tf["aws_iam_role_policy"]) == {"job_train_exec", "execution_secrets"}


def test_ecs_exec_adds_its_policy_to_a_generated_job_role() -> None:
    env = env_of(
        BASE.replace(
            "    keep_old_revisions: true\n",
            "    keep_old_revisions: true\n    job_role: {s3_read: [refs]}\n",
        )
    )
    roles = iam.plan(env)["iam.tf"]["roles"]
    names = [p["name"] for r in roles if r["label"] == "job_train" for p in r["inline_policies"]]
    assert names == ["s3", "exec"]
    assert _exec_policy(env, "job_train")["Statement"] == [ECS_EXEC_STATEMENT]


def test_a_job_without_ecs_exec_gets_no_job_role_from_it() -> None:
    env = env_of(BASE.replace("    execute_command: true\n", ""))
    assert "jobRoleArn" not in container_properties(env, "train")
    assert "job_train" not in {r["label"] for r in iam.plan(env)["iam.tf"]["roles"]}


def test_keep_old_revisions_turns_deregistration_off() -> None:
    """aws_batch_job_definition deregisters the previous revision on update unless
    deregister_on_new_revision is false (provider default true,
    internal/service/batch/job_definition.go); a job without the key is written as before."""
    files = render_environment(env_of(BASE), "t.yaml")
    jobs = blocks(files["job_definitions.tf"])["aws_batch_job_definition"]
    assert jobs["train"]["deregister_on_new_revision"] is False
    assert "deregister_on_new_revision" not in jobs["report"]


# --- verify ----------------------------------------------------------------------------------


def test_verify_reads_the_new_keys_as_aws_returns_them() -> None:
    """What AWS may hand back for the keys batchform writes is the same container: ulimits and
    log secret options in another order, device permissions in another order (Docker reads them
    as one set), and the false flags batchform never writes; a real change still differs."""
    from batchform.verify.batch import compare_container
    from batchform.verify.result import ResourceCheck

    env = env_of(BASE)
    want = container_properties(env, "train")
    got = {
        **want,
        "ulimits": list(reversed(want["ulimits"])),
        "enableExecuteCommand": True,
        "linuxParameters": {
            **want["linuxParameters"],
            "devices": [
                {
                    "hostPath": "/dev/fuse",
                    "containerPath": "/dev/fuse",
                    "permissions": ["MKNOD", "WRITE", "READ"],
                }
            ],
        },
    }
    check = ResourceCheck("job_definitions", "train")
    compare_container(check, want, got)
    assert check.differences == []

    off = env_of(
        BASE.replace("    init_process: true\n", "").replace("    execute_command: true\n", "")
    )
    plain = container_properties(off, "train")
    check = ResourceCheck("job_definitions", "train")
    linux = {**plain["linuxParameters"], "initProcessEnabled": False}
    compare_container(
        check, plain, {**plain, "linuxParameters": linux, "enableExecuteCommand": False}
    )
    assert check.differences == []

    check = ResourceCheck("job_definitions", "train")
    compare_container(check, want, {**want, "user": "0"})
    assert [(d.attribute, d.expected, d.actual) for d in check.differences] == [
        ("containerProperties.user", "1000:1000", "0")
    ]


# --- diff ------------------------------------------------------------------------------------


def _job_change(old: str, new: str, key: str = "train") -> Any:
    from batchform.diff import diff_environments

    changes = diff_environments(env_of(old), env_of(new)).changes
    return next(c for c in changes if c.address == f"aws_batch_job_definition.{key}")


def test_diff_shows_an_option_change_as_a_new_revision_of_the_job() -> None:
    """A job definition is updated in place: the provider registers a new revision
    (internal/service/batch/job_definition.go); the changed option is named in the API's
    words."""
    change = _job_change(BASE, BASE.replace("    shared_memory: 4 GiB", "    shared_memory: 8 GiB"))
    assert change.action == "update"
    assert [(c.path, c.old, c.new) for c in change.attributes] == [
        ("container_properties.linuxParameters.sharedMemorySize", "4096", "8192")
    ]
    assert "the previous one stays ACTIVE (keep_old_revisions)" in change.notes[0].text


def test_diff_says_when_old_revisions_stop_being_kept() -> None:
    """Turning keep_old_revisions off deregisters only the revision the update replaces; what
    was kept before stays ACTIVE."""
    change = _job_change(BASE, BASE.replace("    keep_old_revisions: true\n", ""))
    assert [(c.path, c.old, c.new) for c in change.attributes] == [
        ("deregister_on_new_revision", "false", "true")
    ]
    texts = [n.text for n in change.notes]
    assert "previous one deregistered" in texts[0]
    assert "revisions kept before stay ACTIVE" in texts[1]


def test_diff_of_a_deleted_job_with_kept_revisions_says_all_go() -> None:
    """The provider's delete deregisters every ACTIVE revision of the name, kept or not."""
    old = BASE + "  spare:\n    image: busybox\n    vcpus: 1\n    memory: 1 GiB\n"
    old += "    keep_old_revisions: true\n"
    change = _job_change(old, BASE, key="spare")
    assert change.action == "delete"
    assert change.notes[0].text.endswith("(every ACTIVE revision, the kept ones too)")


# --- generated README ------------------------------------------------------------------------


def test_the_readme_says_what_a_user_of_these_options_must_know() -> None:
    readme = render_environment(env_of(BASE), "t.yaml")["README.md"]
    notes = readme.split("Container options to know about:")[1].split("## ")[0]
    assert "`train`: ECS Exec is on" in notes and "aws ecs execute-command" in notes
    assert "its generated job role may open the session channels" in notes
    assert "`train`: every `terraform apply`" in notes and "previous ones ACTIVE" in notes
    assert "`train`: swap is configured" in notes
    assert "`report`: logs go to the `splunk` driver" in notes


def test_the_readme_asks_for_ssmmessages_on_a_job_role_given_by_arn() -> None:
    arn = "arn:aws:iam::123456789012:role/sim"
    text = BASE.replace(
        "    keep_old_revisions: true\n",
        f"    keep_old_revisions: true\n    job_role: {{arn: {arn}}}\n",
    )
    readme = render_environment(env_of(text), "t.yaml")["README.md"]
    assert f"its job role `{arn}` must allow the ssmmessages channels" in readme


def test_a_readme_without_these_options_is_unchanged() -> None:
    plain = BASE.split("    user:")[0] + "\n"
    assert "Container options" not in render_environment(env_of(plain), "t.yaml")["README.md"]


# --- on the emulator: an update with and without kept revisions -------------------------------

REVISIONS = """\
version: 1
name: revs
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a], nat_gateways: none}
ignore: [BF450]
job_definitions:
  kept:
    image: public.ecr.aws/docker/library/busybox:1.36
    vcpus: 1
    memory: 1 GiB
    shared_memory: 256 MiB
    ulimits: {nofile: {soft: 4096, hard: 8192}}
    keep_old_revisions: true
  plain:
    image: public.ecr.aws/docker/library/busybox:1.36
    vcpus: 1
    memory: 1 GiB
    shared_memory: 256 MiB
    ulimits: {nofile: {soft: 4096, hard: 8192}}
"""


def _statuses(moto: MotoServer, name: str) -> dict[int, str]:
    batch = moto.client("batch", "us-west-2")
    found = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]
    return {int(j["revision"]): j["status"] for j in found}


@pytest.mark.e2e
def test_an_update_keeps_or_deregisters_the_replaced_revision(
    tmp_path: Path, terraform_cli: tf.TerraformCLI, moto: MotoServer
) -> None:
    """A change of a container option applies as a new revision (terraform plans an update,
    as `batchform diff` says); the provider deregisters the replaced revision unless
    deregister_on_new_revision is false (internal/service/batch/job_definition.go), the
    re-plan is empty, and verify, which reports an older ACTIVE revision only where revisions
    are not kept, exits 0."""
    before = env_of(REVISIONS)
    first = moto_module(before, "revs.yaml", tmp_path / "v0", moto)
    tf.init(first, moto.env())
    tf.apply(first, moto.env())
    assert tf.plan_detailed_exitcode(first, moto.env()) == 0

    edited = REVISIONS.replace("shared_memory: 256 MiB", "shared_memory: 512 MiB")
    after = env_of(edited)
    second = moto_module(after, "revs.yaml", tmp_path / "v1", moto)
    (second / "terraform.tfstate").write_bytes((first / "terraform.tfstate").read_bytes())
    tf.init(second, moto.env())
    planned = plan_actions(second, moto)
    jobs = {a: v for a, v in planned.items() if a.startswith("aws_batch_job_definition.")}
    assert jobs == {
        "aws_batch_job_definition.kept": "update",
        "aws_batch_job_definition.plain": "update",
    }
    assert {a: v for a, v in claimed_actions(before, after).items() if a in jobs} == jobs
    tf.apply(second, moto.env())
    assert tf.plan_detailed_exitcode(second, moto.env()) == 0

    assert _statuses(moto, "revs-kept") == {1: "ACTIVE", 2: "ACTIVE"}
    assert _statuses(moto, "revs-plain") == {1: "INACTIVE", 2: "ACTIVE"}

    config = tmp_path / "revs.yaml"
    config.write_text(yaml.safe_dump(yaml.safe_load(edited), sort_keys=False), encoding="utf-8")
    result = run_cli("verify", config, "--endpoint-url", moto.url, env=moto.process_env())
    assert result.returncode == 0, result.stdout[-4000:]


# --- hostile values: located schema errors, never a traceback ---------------------------------

HOSTILE = {
    "ulimit-not-a-mapping": ("      nofile: {soft: 65536, hard: 65536}", "      nofile: 65536"),
    "ulimit-unknown-name": (
        "      nofile: {soft: 65536, hard: 65536}",
        "      openfiles: {soft: 1, hard: 1}",
    ),
    "ulimit-boolean": (
        "      nofile: {soft: 65536, hard: 65536}",
        "      nofile: {soft: true, hard: 65536}",
    ),
    "tmpfs-not-a-list": (TMPFS_LINE, "      bad"),
    "tmpfs-size-in-gb": (TMPFS_LINE, "      - {container_path: /t, size: 4 GB}"),
    "device-permission-case": (DEVICE_LINE, "      - {host_path: /dev/fuse, permissions: [READ]}"),
    "swap-without-max": (SWAP_LINE, "    swap: {swappiness: 60}"),
    "log-driver-unknown": ("      driver: splunk", "      driver: awsfirelens"),
    "architecture-lowercase": ("    architecture: ARM64", "    architecture: arm64"),
    "keep-old-revisions-text": ("    keep_old_revisions: true", "    keep_old_revisions: [yes]"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_malformed_option_is_a_located_schema_error(case: str) -> None:
    old, new = HOSTILE[case]
    text = edit(old, new)
    result = analyze_text(text, "t.yaml")
    assert result.env is None
    found = [(d.code, d.line) for d in result.diagnostics]
    line = _marked_line(text)
    assert any(code.startswith("BF10") and at in (line, line + 1) for code, at in found), found
