"""Job-side AWS Batch rules (BF400-BF459): each fires with its code on the line to change, and
a sound environment file is silent.

A bad case is the good file with one section replaced; the offending line carries the marker
comment ``#!`` so the expected line number is read from the text itself.
"""

from __future__ import annotations

import pytest

from batchform.build import analyze_text
from batchform.checks.jobs import aws_names_valid
from batchform.diagnostics import Level

MARK = "#!"

BASE = """\
version: 1
name: demo
region: us-west-2
network:
  vpc:
    create: {cidr: 10.0.0.0/16, availability_zones: [us-west-2a]}
  security_groups:
    batch: {description: Batch hosts}
compute_environments:
  ec2: {type: EC2, max_vcpus: 64, instance_types: [c6i]}
  ec2b: {type: EC2, max_vcpus: 64, instance_types: [m6i]}
  spot: {type: SPOT, max_vcpus: 64, instance_types: [r6i],
         allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED}
  arm: {type: EC2, max_vcpus: 64, instance_types: [c7g]}
  fargate: {type: FARGATE, max_vcpus: 16}
"""

POLICIES = """\
scheduling_policies:
  fair:
    share_decay: 1h
    compute_reservation: 10
    shares:
      - {identifier: labA, weight: 1.0}
      - {identifier: "labB*", weight: 0.5}
"""

QUEUES = """\
job_queues:
  main:
    priority: 10
    compute_environments: [spot, ec2]
    scheduling_policy: fair
    time_limit_actions:
      - {reason: "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", after: 10m}
  serverless:
    priority: 5
    compute_environments: [fargate]
"""

DEFAULTS = """\
job_defaults:
  retry: {attempts: 2}
  timeout: 1h
  log_retention_days: 14
"""

JOBS = """\
job_definitions:
  align:
    image: example/bwa:1
    command: [bwa, Ref::ref]
    parameters: {ref: s3://refs/hg38.fa}
    vcpus: 4
    memory: 8 GiB
    environment: {THREADS: "4"}
    retry:
      attempts: 3
      on_exit:
        - {exit_code: "137", action: RETRY}
        - {status_reason: "Host EC2*", action: RETRY}  # instance reclaimed
        - {status_reason: "*", action: EXIT}
    volumes:
      - {host_path: /scratch, container_path: /scratch}
      - {efs: fs-0123456789abcdef0, container_path: /refs, access_point: fsap-01234567}
  report:
    platform: FARGATE
    image: example/report:1
    vcpus: 0.5
    memory: 1 GiB
    assign_public_ip: false
    ephemeral_storage: 50 GiB
"""


def config(
    policies: str = POLICIES, queues: str = QUEUES, defaults: str = DEFAULTS, jobs: str = JOBS
) -> str:
    return BASE + policies + queues + defaults + jobs


def job(body: str) -> str:
    """A job definitions section holding the good jobs plus one more, ``extra``."""
    return JOBS + "  extra:\n" + body


EC2_JOB = "    image: example/x:1\n    vcpus: 2\n    memory: 2 GiB\n"
ON_EXIT = EC2_JOB + "    retry:\n      on_exit:\n"
FARGATE_JOB = "    platform: FARGATE\n    image: example/x:1\n"


def _ours(text: str) -> list[tuple[str, int | None, Level]]:
    analysis = analyze_text(text, "t.yaml")
    assert analysis.env is not None, analysis.diagnostics
    return [
        (d.code, d.line, d.level)
        for d in analysis.diagnostics
        if d.code.startswith("BF4") and "BF400" <= d.code <= "BF459"
    ]


def _marked_line(text: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, "a bad case marks exactly one line"
    return lines[0]


def _many_queues(n: int) -> str:
    """The good queues plus ``n`` more; a finding about the section stands at its key."""
    rows = [f"  q{i}: {{priority: 1, compute_environments: [ec2]}}" for i in range(n)]
    return QUEUES.replace("job_queues:\n", f"job_queues:  {MARK}\n", 1) + "\n".join(rows) + "\n"


def _many_shares(n: int) -> str:
    rows = [f"      - {{identifier: s{i}, weight: 1}}" for i in range(n)]
    return f"scheduling_policies:\n  fair:\n    shares:  {MARK}\n" + "\n".join(rows) + "\n"


def _many_tags(n: int) -> str:
    rows = [f"      t{i}: v" for i in range(n)]
    return f"    tags:  {MARK}\n" + "\n".join(rows) + "\n"


BAD: dict[str, tuple[str, str]] = {
    # names
    "share-identifier-dash": ("BF401", config(policies=POLICIES.replace(
        "{identifier: labA, weight: 1.0}", f"{{identifier: lab-a, weight: 1.0}}  {MARK}"))),
    "share-identifiers-overlap": ("BF402", config(policies=POLICIES.replace(
        '{identifier: "labB*", weight: 0.5}', f"{{identifier: labA1, weight: 0.5}}  {MARK}")
        .replace("identifier: labA,", 'identifier: "labA*",'))),
    # queues
    "priority": ("BF405", config(queues=QUEUES.replace(
        "priority: 10", f"priority: 2000  {MARK}"))),
    "four-ces": ("BF406", config(queues=QUEUES.replace(
        "[spot, ec2]", f"[spot, ec2, ec2b, arm]  {MARK}"))),
    "ce-twice": ("BF407", config(queues=QUEUES.replace(
        "[spot, ec2]", f"[ec2, ec2]  {MARK}"))),
    "ec2-fargate-mix": ("BF408", config(queues=QUEUES.replace(
        "[spot, ec2]", f"[spot, fargate]  {MARK}"))),
    "architecture-mix": ("BF409", config(queues=QUEUES.replace(
        "[spot, ec2]", f"[ec2, arm]  {MARK}"))),
    "time-limit-short": ("BF410", config(queues=QUEUES.replace(
        "after: 10m}", f"after: 5m}}  {MARK}"))),
    "time-limit-reason": ("BF411", config(queues=QUEUES.replace(
        '"MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"', '"STUCK"').replace(
        "after: 10m}", f"after: 10m}}  {MARK}"))),
    "too-many-queues": ("BF412", config(queues=_many_queues(50))),
    # scheduling policies
    "share-decay": ("BF415", config(policies=POLICIES.replace(
        "share_decay: 1h", f"share_decay: 8d  {MARK}"))),
    "compute-reservation": ("BF416", config(policies=POLICIES.replace(
        "compute_reservation: 10", f"compute_reservation: 100  {MARK}"))),
    "too-many-shares": ("BF417", config(policies=_many_shares(501))),
    "weight": ("BF418", config(policies=POLICIES.replace(
        "weight: 0.5}", f"weight: 1000}}  {MARK}"))),
    # job definitions: resources
    "ec2-fractional-vcpu": ("BF420", config(jobs=job(EC2_JOB.replace(
        "vcpus: 2", f"vcpus: 1.5  {MARK}")))),
    "ec2-tiny-memory": ("BF421", config(jobs=job(EC2_JOB.replace(
        "memory: 2 GiB", f"memory: 2  {MARK}")))),
    "fargate-gpu": ("BF422", config(jobs=job(
        FARGATE_JOB + f"    vcpus: 1\n    memory: 2 GiB\n    gpus: 1  {MARK}\n"))),
    "fargate-memory": ("BF423", config(jobs=job(
        FARGATE_JOB + f"    vcpus: 0.5\n    memory: 8 GiB  {MARK}\n"))),
    "fargate-vcpus": ("BF423", config(jobs=job(
        FARGATE_JOB + f"    vcpus: 3  {MARK}\n    memory: 8 GiB\n"))),
    "fargate-large-old-platform": ("BF424", config(jobs=job(
        FARGATE_JOB + f"    vcpus: 8  {MARK}\n    memory: 16 GiB\n    platform_version: 1.3.0\n"))),
    "fargate-efs-old-platform": ("BF425", config(jobs=job(
        FARGATE_JOB + "    vcpus: 1\n    memory: 2 GiB\n    platform_version: 1.3.0\n"
        f"    volumes:\n      - {{efs: fs-01234567, container_path: /d}}  {MARK}\n"))),
    "fargate-privileged": ("BF426", config(jobs=job(
        FARGATE_JOB + f"    vcpus: 1\n    memory: 2 GiB\n    privileged: true  {MARK}\n"))),
    "fargate-host-volume": ("BF427", config(jobs=job(
        FARGATE_JOB + "    vcpus: 1\n    memory: 2 GiB\n"
        f"    volumes:\n      - {{host_path: /tmp, container_path: /d}}  {MARK}\n"))),
    "ec2-assign-public-ip": ("BF428", config(jobs=job(
        EC2_JOB + f"    assign_public_ip: true  {MARK}\n"))),
    "ephemeral-small": ("BF429", config(jobs=job(
        FARGATE_JOB + "    vcpus: 1\n    memory: 2 GiB\n"
        f"    ephemeral_storage: 10 GiB  {MARK}\n"))),
    # parameters
    "ref-without-default": ("BF430", config(jobs=job(
        EC2_JOB + f"    command: [run, Ref::input]  {MARK}\n"))),
    "unused-parameter": ("BF431", config(jobs=job(
        EC2_JOB + f"    parameters:\n      unused: x  {MARK}\n"))),
    # retry and timeout
    "retry-attempts-default": ("BF432", config(defaults=DEFAULTS.replace(
        "retry: {attempts: 2}", f"retry: {{attempts: 11}}  {MARK}"))),
    "too-many-on-exit": ("BF433", config(jobs=job(
        EC2_JOB + "    retry:\n      on_exit:\n"
        + "".join(f'        - {{exit_code: "{i}", action: EXIT}}\n' for i in range(5))
        + f'        - {{exit_code: "9", action: EXIT}}  {MARK}\n'))),
    "on-exit-no-matcher": ("BF434", config(jobs=job(
        ON_EXIT + f"        - {{action: EXIT}}  {MARK}\n"))),
    "on-exit-inner-star": ("BF435", config(jobs=job(
        ON_EXIT + f'        - {{exit_code: "1*3", action: EXIT}}  {MARK}\n'))),
    "on-exit-bad-chars": ("BF435", config(jobs=job(
        ON_EXIT + f'        - {{reason: "oom-kill", action: EXIT}}  {MARK}\n'))),
    "timeout-short": ("BF436", config(jobs=job(EC2_JOB + f"    timeout: 30s  {MARK}\n"))),
    # environment, volumes, tags, logs
    "aws-batch-variable": ("BF437", config(jobs=job(
        EC2_JOB + f'    environment:\n      AWS_BATCH_X: "1"  {MARK}\n'))),
    "efs-unencrypted": ("BF438", config(jobs=job(
        EC2_JOB + "    volumes:\n      - {efs: fs-01234567, container_path: /d, iam: true,\n"
        f"         transit_encryption: false}}  {MARK}\n"))),
    "host-volume-efs-option": ("BF439", config(jobs=job(
        EC2_JOB + "    volumes:\n"
        f"      - {{host_path: /d, container_path: /d, root_directory: /x}}  {MARK}\n"))),
    "too-many-tags": ("BF440", config(jobs=job(EC2_JOB + _many_tags(49)))),
    "log-retention": ("BF441", config(defaults=DEFAULTS.replace(
        "log_retention_days: 14", f"log_retention_days: 45  {MARK}"))),
    "empty-variable": ("BF442", config(jobs=job(
        EC2_JOB + f'    environment:\n      EMPTY: ""  {MARK}\n'))),
    "too-large": ("BF443", config(jobs=JOBS + f"  extra:  {MARK}\n" + EC2_JOB
        + "    environment:\n      BIG: " + "x" * 30000 + "\n")),
    # placement
    "no-queue-for-platform": ("BF450", config(
        queues=QUEUES.split("  serverless:")[0],
        jobs=JOBS.replace("    platform: FARGATE", f"    platform: FARGATE  {MARK}"))),
}  # fmt: skip


def test_good_file_is_silent() -> None:
    assert _ours(config()) == []


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_case_fires_on_its_line(case: str) -> None:
    code, text = BAD[case]
    found = _ours(text)
    assert (code, _marked_line(text)) in [(c, line) for c, line, _ in found], found


def test_ref_without_default_is_info_and_unused_parameter_warns() -> None:
    levels = {c: lvl for c, _, lvl in _ours(BAD["ref-without-default"][1])}
    assert levels["BF430"] == Level.INFO
    levels = {c: lvl for c, _, lvl in _ours(BAD["unused-parameter"][1])}
    assert levels["BF431"] == Level.WARNING


def test_fargate_memory_hint_lists_valid_sizes() -> None:
    analysis = analyze_text(BAD["fargate-memory"][1], "t.yaml")
    hint = next(d.hint for d in analysis.diagnostics if d.code == "BF423")
    assert hint == "with 0.5 vCPU Fargate takes (MiB): 1024, 2048, 3072, 4096"


def test_inherited_setting_is_reported_once_at_job_defaults() -> None:
    text = config(defaults=DEFAULTS.replace("timeout: 1h", "timeout: 30s"))
    found = [(c, line) for c, line, _ in _ours(text) if c == "BF436"]
    assert found == [("BF436", text.splitlines().index("  timeout: 30s") + 1)]


def test_fargate_only_default_does_not_trouble_ec2_jobs() -> None:
    text = config(defaults=DEFAULTS + "  assign_public_ip: true\n")
    assert "BF428" not in [c for c, _, _ in _ours(text)]


def test_long_aws_name_is_refused() -> None:
    analysis = analyze_text(config(), "t.yaml")
    assert analysis.env is not None
    long_name = analysis.env.model_copy(update={"name": "x" * 130})
    findings = list(aws_names_valid(long_name))
    assert {f.path for f in findings} >= {("job_queues", "main"), ("job_definitions", "align")}
    assert list(aws_names_valid(analysis.env)) == []


@pytest.mark.parametrize(
    ("memory", "fits"), [("240 GiB", False), ("244 GiB", True), ("60 GiB", True)]
)
def test_fargate_takes_32_vcpus_with_its_three_memory_sizes(memory: str, fits: bool) -> None:
    """The Batch API reference (ResourceRequirement.value) lists 32 vCPU with 61440, 122880 or
    249856 MiB; batchform refused 32 vCPU altogether before."""
    text = config(jobs=job(FARGATE_JOB + f"    vcpus: 32\n    memory: {memory}\n"))
    assert ("BF423" in [c for c, _, _ in _ours(text)]) is not fits
