"""Hostile input: values AWS or Terraform reject are located errors from ``validate``.

Each case edits a valid file (``BASE``) and marks the line the error must point at with
``#<``; the case passes when batchform reports that code at that line (and the untouched file
reports no error at all). Before this suite, every one of these inputs passed ``validate`` and
failed only at ``terraform apply`` or when a job started.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from batchform.build import analyze_files, analyze_text
from batchform.cli import main
from batchform.diagnostics import Level
from batchform.regions import known_regions
from tests.harness.gitrepo import git

BASE = """\
version: 1
name: hostile
region: us-west-2
tags:
  team: research
network:
  vpc:
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a, us-west-2b]
  security_groups:
    batch:
      description: Batch instances
launch_templates:
  lt:
    user_data: |
      echo hello
compute_environments:
  ec2:
    type: EC2
    allocation_strategy: BEST_FIT_PROGRESSIVE
    max_vcpus: 16
    instance_types: [m6i]
    launch_template: lt
job_queues:
  main:
    priority: 1
    compute_environments: [ec2]
job_definitions:
  hello:
    image: public.ecr.aws/docker/library/busybox:1.36
    command: [echo, hello]
    vcpus: 1
    memory: 512 MiB
"""

EXISTING_VPC = """\
    existing:
      vpc_id: vpc-0123456789abcdef0
      private_subnets: [subnet-0123456789abcdef0]
"""
CREATE_VPC = """\
    create:
      cidr: 10.0.0.0/16
      availability_zones: [us-west-2a, us-west-2b]
"""
JOB_TAIL = "    memory: 512 MiB\n"
BACKEND = """\
terraform:
  backend:
    s3:
      bucket: state-bucket
      key: batch.tfstate
      region: us-west-2
"""


def edit(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def job(extra: str) -> str:
    """BASE with ``extra`` lines appended to job definition 'hello'."""
    return edit((JOB_TAIL, JOB_TAIL + extra))


def with_tags(count: int) -> str:
    lines = "".join(f"  t{i}: v\n" for i in range(count))
    return edit(("tags:\n  team: research\n", "tags: #<\n" + lines))


def with_backend(lines: str) -> str:
    return edit(("network:\n", lines + "network:\n"))


CASES: dict[str, tuple[str, str]] = {
    # tags: 50 per resource, counting batchform's two and the Name tag (tagging.html)
    "file-tags-over-50": ("BF232", with_tags(48)),
    "instance-tags-over-50": (
        "BF232",
        edit(
            ("tags:\n  team: research\n", "tags:\n" + "".join(f"  f{i}: v\n" for i in range(30))),
            (
                "    launch_template: lt\n",
                "    launch_template: lt\n    instance_tags: #<\n"
                + "".join(f"      i{i}: v\n" for i in range(20)),
            ),
        ),
    ),
    "job-tags-over-50": (
        "BF440",
        job("    tags: #<\n" + "".join(f"      j{i}: v\n" for i in range(48))),
    ),
    "empty-tag-key": ("BF230", edit(("  team: research\n", '  "": research #<\n'))),
    # 32-bit integers
    "max-vcpus-above-int32": ("BF492", edit(("max_vcpus: 16", "max_vcpus: 2147483648 #<"))),
    "min-vcpus-above-int32": (
        "BF492",
        edit(("max_vcpus: 16", "max_vcpus: 16\n    min_vcpus: 99999999999999999999 #<")),
    ),
    "timeout-above-int32": ("BF492", job("    timeout: 30000d #<\n")),
    "memory-above-int32": ("BF492", edit(("memory: 512 MiB", "memory: 2147483648 #<"))),
    "gpus-above-int32": ("BF492", job("    gpus: 4294967296 #<\n")),
    # user data over 16 KiB once wrapped in the MIME document
    "user-data-over-16k": (
        "BF334",
        edit(
            (
                "    user_data: |\n      echo hello\n",
                "    user_data: | #<\n"
                + "".join(f"      echo {'x' * 90} {i}\n" for i in range(170)),
            )
        ),
    ),
    # image names
    "image-empty": (
        "BF444",
        edit(("image: public.ecr.aws/docker/library/busybox:1.36", 'image: "" #<')),
    ),
    "image-with-space": (
        "BF444",
        edit(("image: public.ecr.aws/docker/library/busybox:1.36", 'image: "busybox :1" #<')),
    ),
    "image-too-long": (
        "BF444",
        edit(("image: public.ecr.aws/docker/library/busybox:1.36", f"image: {'a' * 256} #<")),
    ),
    "image-with-newline": (
        "BF444",
        edit(("image: public.ecr.aws/docker/library/busybox:1.36", 'image: "busybox\\n" #<')),
    ),
    "image-uppercase-repository": (
        "BF444",
        edit(("image: public.ecr.aws/docker/library/busybox:1.36", "image: library/BusyBox:1 #<")),
    ),
    "image-with-two-tags": (
        "BF444",
        edit(("image: public.ecr.aws/docker/library/busybox:1.36", "image: busybox:1:2 #<")),
    ),
    "image-with-hash": (
        "BF444",
        edit(("image: public.ecr.aws/docker/library/busybox:1.36", "image: 'busybox#1' #<")),
    ),
    # EFS ids and mount paths
    "efs-id-malformed": (
        "BF445",
        job("    volumes:\n      - {efs: fs-XYZ, container_path: /data} #<\n"),
    ),
    "access-point-id-malformed": (
        "BF445",
        job(
            "    volumes:\n      - efs: fs-0123456789abcdef0\n        container_path: /data\n"
            "        access_point: ap-1 #<\n"
        ),
    ),
    "container-path-relative": (
        "BF446",
        job("    volumes:\n      - {host_path: /scratch, container_path: scratch} #<\n"),
    ),
    "host-path-relative": (
        "BF446",
        job("    volumes:\n      - {host_path: scratch, container_path: /scratch} #<\n"),
    ),
    "duplicate-mount-path": (
        "BF446",
        job(
            "    volumes:\n      - {host_path: /a, container_path: /data}\n"
            "      - {host_path: /b, container_path: /data/} #<\n"
        ),
    ),
    # environment variable names
    "env-name-empty": ("BF447", job('    environment: {"": x} #<\n')),
    "env-name-with-equals": ("BF447", job('    environment: {"A=B": x} #<\n')),
    "env-name-with-space": ("BF447", job('    environment:\n      "MY VAR": x #<\n')),
    "secret-name-with-space": (
        "BF447",
        job(
            "    secrets:\n"
            '      "DB PASS": arn:aws:secretsmanager:us-west-2:123456789012:secret:db #<\n'
        ),
    ),
    "secret-and-env-same-name": (
        "BF448",
        job(
            "    environment: {TOKEN: plain}\n    secrets:\n"
            "      TOKEN: arn:aws:secretsmanager:us-west-2:123456789012:secret:tok #<\n"
        ),
    ),
    # Fargate platform versions
    "platform-version-malformed": (
        "BF449",
        edit(
            ("job_definitions:\n", "job_defaults:\n  platform_version: v1.4 #<\njob_definitions:\n")
        ),
    ),
    "platform-version-lowercase-latest": (
        "BF449",
        edit(
            (
                "job_definitions:\n",
                "job_defaults:\n  platform_version: latest #<\njob_definitions:\n",
            )
        ),
    ),
    # regions (botocore's endpoints.json)
    "region-unknown": ("BF233", edit(("region: us-west-2", "region: us-wets-2 #<"))),
    "backend-region-unknown": (
        "BF233",
        with_backend(BACKEND.replace("region: us-west-2", "region: eu-middle-9 #<")),
    ),
    # IAM and SSM names
    "iam-arn-non-ascii": (
        "BF235",
        edit(
            (
                "launch_templates:\n",
                "iam:\n  service_role: arn:aws:iam::123456789012:role/batch-rôle #<\n"
                "launch_templates:\n",
            )
        ),
    ),
    "job-role-arn-non-ascii": (
        "BF235",
        job("    job_role: {arn: 'arn:aws:iam::123456789012:role/jöb'} #<\n"),
    ),
    "ssm-parameter-non-ascii": (
        "BF236",
        edit(
            (
                "launch_templates:\n",
                "amis:\n  a:\n    ssm_parameter: /ami/ñ #<\nlaunch_templates:\n",
            ),
            ("    launch_template: lt\n", "    launch_template: lt\n    ami: a\n"),
        ),
    ),
    "ssm-parameter-without-leading-slash": (
        "BF236",
        edit(
            (
                "launch_templates:\n",
                "amis:\n  a:\n    ssm_parameter: ami/id #<\nlaunch_templates:\n",
            ),
            ("    launch_template: lt\n", "    launch_template: lt\n    ami: a\n"),
        ),
    ),
    "ssm-secret-path-with-empty-level": (
        "BF236",
        job("    secrets:\n      DB: arn:aws:ssm:us-west-2:123456789012:parameter/app//db #<\n"),
    ),
    # subnets and VPC ids
    "subnet-ids-with-created-vpc": (
        "BF336",
        edit(
            (
                "    launch_template: lt\n",
                "    launch_template: lt\n    subnets: [subnet-0123456789abcdef0] #<\n",
            )
        ),
    ),
    "subnet-id-not-listed-by-existing-vpc": (
        "BF336",
        edit(
            (CREATE_VPC, EXISTING_VPC),
            (
                "    launch_template: lt\n",
                "    launch_template: lt\n    subnets: [subnet-0fedcba9876543210] #<\n",
            ),
        ),
    ),
    "vpc-id-malformed": (
        "BF234",
        edit((CREATE_VPC, EXISTING_VPC.replace("vpc-0123456789abcdef0", "vpc-12 #<"))),
    ),
    "subnet-id-malformed": (
        "BF234",
        edit((CREATE_VPC, EXISTING_VPC.replace("[subnet-0123456789abcdef0]", "[subnet-xyz] #<"))),
    ),
    "instance-types-empty": ("BF335", edit(("instance_types: [m6i]", "instance_types: [] #<"))),
    # backend settings
    "backend-bucket-empty": ("BF237", with_backend(BACKEND.replace("state-bucket", '"" #<'))),
    "backend-key-blank": ("BF237", with_backend(BACKEND.replace("batch.tfstate", '"  " #<'))),
    "backend-key-leading-slash": (
        "BF237",
        with_backend(BACKEND.replace("key: batch.tfstate", "key: /batch.tfstate #<")),
    ),
    "backend-key-double-slash": (
        "BF237",
        with_backend(BACKEND.replace("key: batch.tfstate", "key: batch//prod.tfstate #<")),
    ),
    "backend-lock-table-empty": (
        "BF237",
        with_backend(BACKEND + '      dynamodb_table: "" #<\n'),
    ),
}


def _marked_line(text: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if "#<" in line]
    assert len(lines) == 1, "a case marks exactly one line with #<"
    return lines[0]


def test_base_is_clean() -> None:
    """Without this, a case could pass on an error the base file already has."""
    errors = [d for d in analyze_text(BASE, "t.yaml").diagnostics if d.level == Level.ERROR]
    assert errors == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_a_located_error(name: str) -> None:
    code, text = CASES[name]
    analysis = analyze_text(text, "t.yaml")
    got = {(d.code, d.line) for d in analysis.diagnostics if d.level == Level.ERROR}
    assert (code, _marked_line(text)) in got, sorted(got)
    found = next(d for d in analysis.diagnostics if d.code == code)
    assert found.file == "t.yaml" and found.col is not None and found.hint


def test_known_regions_come_from_botocore() -> None:
    """The region list is botocore's (boto3 is a dependency), so new regions arrive with it."""
    regions = known_regions()
    assert {"us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1"} <= regions
    assert "us-wets-2" not in regions


def test_region_typo_suggests_the_region() -> None:
    text = edit(("region: us-west-2", "region: us-wset-2"))
    hints = [d.hint or "" for d in analyze_text(text, "t.yaml").diagnostics if d.code == "BF233"]
    assert hints and "did you mean us-west-2?" in hints[0]


@pytest.mark.parametrize(
    "image",
    [
        "busybox",
        "ubuntu:22.04",
        "amazon/amazon-ecs-agent:latest",
        "public.ecr.aws/docker/library/python:3.12-slim",
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/bwa:0.7.17",
        "localhost:5000/team/tool_v2__x:TAG-1.0",
        "quay.io/biocontainers/samtools@sha256:" + "a" * 64,
        "ghcr.io/org/app:1.0@sha256:" + "0" * 64,
    ],
)
def test_real_image_references_pass(image: str) -> None:
    text = edit(("image: public.ecr.aws/docker/library/busybox:1.36", f"image: {image!r}"))
    assert "BF444" not in {d.code for d in analyze_text(text, "t.yaml").diagnostics}


def test_values_at_the_limits_pass() -> None:
    """The limits are inclusive: 2147483647, 50 tags, a 16 KiB document and LATEST pass."""
    text = edit(("max_vcpus: 16", "max_vcpus: 2147483647"))
    text = text.replace(JOB_TAIL, JOB_TAIL + "    platform_version: LATEST\n", 1)
    codes = {d.code for d in analyze_text(text, "t.yaml").diagnostics}
    assert not codes & {"BF492", "BF449"}
    # 47 file tags + batchform's two + Name = 50 on a security group.
    assert "BF232" not in {d.code for d in analyze_text(with_tags(47), "t.yaml").diagnostics}


# --- several files compiled together: AWS names must not collide ----------------------------


def _file(path: Path, name: str, job_key: str = "hello") -> Path:
    text = BASE.replace("name: hostile", f"name: {name}").replace("  hello:\n", f"  {job_key}:\n")
    path.write_text(text, encoding="utf-8")
    return path


def test_colliding_aws_names_across_files_are_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``adv`` + ``test-hello`` and ``adv-test`` + ``hello`` both name a job definition
    adv-test-hello: the second would register a revision over the first."""
    first = _file(tmp_path / "adv.yaml", "adv", "test-hello")
    second = _file(tmp_path / "adv-test.yaml", "adv-test")
    assert main(["validate", str(first), str(second)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "BF493" in x)
    assert line.startswith(f"{second}:30:3: error BF493: job definition 'hello'")
    assert f"{first}:30:3" in line and "adv-test-hello" in line
    assert main(["compile", "-o", str(tmp_path / "out"), str(first), str(second)]) == 1
    assert not (tmp_path / "out").exists()
    # Each file alone is fine.
    capsys.readouterr()
    assert main(["validate", str(first)]) == 0
    assert main(["validate", str(second)]) == 0


def test_same_environment_name_in_two_files_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _file(tmp_path / "a.yaml", "twin")
    second = _file(tmp_path / "b.yaml", "twin")
    assert main(["compile", "-o", str(tmp_path / "out"), str(first), str(second)]) == 1
    err = capsys.readouterr().err
    assert f"{second}:2:7: error BF493: environment name 'twin' is also used by {first}:2:7" in err
    assert not (tmp_path / "out").exists()


def test_cross_file_checks_are_part_of_the_build_stage(tmp_path: Path) -> None:
    """A library caller gets the cross-file errors from ``analyze_files`` alone, located in
    the later file; a file whose environment name is taken gets that one error, not one more
    per AWS name (every one of them collides too), and the files before it stay clean."""
    first = _file(tmp_path / "a.yaml", "twin")
    second = _file(tmp_path / "b.yaml", "twin")
    third = _file(tmp_path / "c.yaml", "twin-x", "hello")
    fourth = _file(tmp_path / "d.yaml", "twin", "other")
    a, b, c, d = analyze_files([first, second, third, fourth])
    assert a.diagnostics == [] and c.diagnostics == []
    for later in (b, d):
        assert [(x.code, x.level, x.file, x.line, x.col) for x in later.diagnostics] == [
            ("BF493", Level.ERROR, str(later.file), 2, 7)
        ]
        assert later.failed()
        assert f"also used by {first}:2:7" in later.diagnostics[0].message


def test_different_names_do_not_collide(tmp_path: Path) -> None:
    first = _file(tmp_path / "a.yaml", "alpha")
    second = _file(tmp_path / "b.yaml", "beta")
    assert main(["validate", str(first), str(second)]) == 0


# --- diff --base: git I/O that a hostile repository or a localised machine breaks -----------


def _repo_with(tmp_path: Path, committed: bytes) -> Path:
    """A git repository whose HEAD holds ``committed`` as env.yaml; the work tree holds BASE."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    path = repo / "env.yaml"
    path.write_bytes(committed)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    path.write_text(BASE, encoding="utf-8")
    return path


def test_diff_base_with_a_non_utf8_old_file_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = BASE.replace("  team: research\n", "  team: research # caf\xe9\n").encode("latin-1")
    path = _repo_with(tmp_path, old)
    assert main(["diff", "--base", "HEAD", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"HEAD:{path}:5:23: error BF004: cannot read file: byte 0xe9 is not UTF-8" in err
    assert "Traceback" not in err


def test_diff_base_ref_is_never_an_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``git show --output=FILE`` writes FILE: a ref must not reach git as an option."""
    path = _repo_with(tmp_path, BASE.encode())
    target = tmp_path / "written-by-git"
    assert main(["diff", f"--base=--output={target}", str(path)]) == 1
    assert "is not a git revision" in capsys.readouterr().err
    assert not target.exists()
    assert main(["diff", "--base", "HEAD~0", str(path)]) == 0


def test_diff_base_understands_a_localised_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file new since the base is "will be created", also when git speaks German."""
    repo_file = _repo_with(tmp_path, BASE.encode())
    new_file = repo_file.with_name("new.yaml")
    new_file.write_text(BASE, encoding="utf-8")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("LANGUAGE", "de")
    probe = subprocess.run(
        ["git", "-C", str(repo_file.parent), "show", "HEAD:./new.yaml"],
        capture_output=True,
        text=True,
        check=False,
    )
    if "fatal:" in probe.stderr or "HEAD" not in probe.stderr:
        pytest.skip("git has no German messages on this machine")
    assert main(["diff", "--base", "HEAD", str(new_file)]) == 0
    assert "will be created" in capsys.readouterr().out


def test_diff_base_without_git_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _repo_with(tmp_path, BASE.encode())
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert main(["diff", "--base", "HEAD", str(path)]) == 1
    assert "error: cannot run git" in capsys.readouterr().err
