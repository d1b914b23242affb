"""The test harness itself: moto answers boto3, Terraform works offline, overrides reach moto."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import (
    OVERRIDE_FILENAME,
    SERVICE_LINKED_BATCH_ROLE_ARN,
    compute_environments_without_service_role,
    moto_copy,
    render_override,
)
from batchform.sandbox.terraform import TerraformError
from tests.harness import terraform as tf

VERSIONS_TF = """\
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
  backend "s3" {
    bucket = "never-contacted"
    key    = "state.tfstate"
    region = "us-west-2"
  }
}

provider "aws" {
  region = "us-west-2"
  default_tags {
    tags = {
      "batchform:environment" = "harness"
    }
  }
}
"""

FARGATE_TF = """\
resource "aws_vpc" "main" {
  cidr_block = "10.30.0.0/16"
}

resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.30.0.0/20"
  availability_zone = "us-west-2a"
}

resource "aws_security_group" "batch" {
  name   = "harness-batch"
  vpc_id = aws_vpc.main.id
}

resource "aws_batch_compute_environment" "fargate" {
  compute_environment_name = "harness-fargate"
  type                     = "MANAGED"

  compute_resources {
    type               = "FARGATE"
    max_vcpus          = 4
    subnets            = [aws_subnet.a.id]
    security_group_ids = [aws_security_group.batch.id]
  }
}

resource "aws_batch_job_queue" "main" {
  name     = "harness-queue"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.fargate.arn
  }
}
"""


def _write_module(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_moto_server_answers_boto3_and_resets(moto: MotoServer) -> None:
    batch = moto.client("batch")
    assert batch.describe_compute_environments()["computeEnvironments"] == []
    assert moto.client("sts").get_caller_identity()["Account"] == "123456789012"

    moto.client("iam").create_role(RoleName="to-be-reset", AssumeRolePolicyDocument="{}")
    moto.reset()
    roles = moto.client("iam").list_roles()["Roles"]
    assert "to-be-reset" not in {role["RoleName"] for role in roles}


def test_override_names_every_compute_environment_without_service_role(tmp_path: Path) -> None:
    module = _write_module(tmp_path / "m", {"versions.tf": VERSIONS_TF, "ce.tf": FARGATE_TF})
    assert compute_environments_without_service_role(module) == ["fargate"]

    text = render_override("http://127.0.0.1:1", resources={"aws_vpc": {"main": {}}})
    assert 'batch          = "http://127.0.0.1:1"' in text
    assert 'backend "local" {}' in text
    assert "default_tags" not in text  # would replace the generated default_tags
    assert re.search(r"^\s*region\s*=", text, re.MULTILINE) is None  # module's region kept
    assert re.search(r'^\s*region\s*= "eu-west-1"', render_override("u", "eu-west-1"), re.M)


@pytest.mark.terraform
def test_terraform_init_validate_fmt_offline(
    terraform_cli: tf.TerraformCLI, tmp_path: Path
) -> None:
    module = _write_module(tmp_path / "tiny", {"versions.tf": VERSIONS_TF, "ce.tf": FARGATE_TF})
    result = tf.init(module, backend=False)
    if terraform_cli.mirror is not None:
        assert "hashicorp/aws" in result.stdout
    tf.validate(module)
    tf.fmt_check(module)

    (module / "bad.tf").write_text('resource "aws_vpc" "x" {\ncidr_block="10.0.0.0/16"\n}\n')
    with pytest.raises(TerraformError, match=r"bad\.tf"):
        tf.fmt_check(module)


@pytest.mark.e2e
def test_apply_through_override_reaches_moto_and_plans_clean(
    terraform_cli: tf.TerraformCLI, batch_service_linked_role: str, moto: MotoServer, tmp_path: Path
) -> None:
    module = _write_module(tmp_path / "gen", {"versions.tf": VERSIONS_TF, "ce.tf": FARGATE_TF})
    with moto_copy(module, moto.url) as work:
        assert (work / OVERRIDE_FILENAME).is_file()
        tf.init(work)
        tf.apply(work)
        plan = tf.plan(work)
        assert plan.returncode == 0, plan.stdout

    assert not (module / OVERRIDE_FILENAME).exists()
    assert batch_service_linked_role == SERVICE_LINKED_BATCH_ROLE_ARN
    (environment,) = moto.client("batch").describe_compute_environments()["computeEnvironments"]
    assert environment["serviceRole"] == SERVICE_LINKED_BATCH_ROLE_ARN
    assert environment["tags"] == {"batchform:environment": "harness"}


def test_moto_copy_removes_its_directory(tmp_path: Path) -> None:
    module = _write_module(tmp_path / "gen", {"main.tf": textwrap.dedent(VERSIONS_TF)})
    with moto_copy(module, "http://127.0.0.1:1") as work:
        copied = work
        assert (work / "main.tf").read_text() == VERSIONS_TF
    assert not copied.exists()


def test_a_users_aws_profile_and_token_never_reach_an_emulator_subprocess(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer's AWS_PROFILE (or session token) must not leak into Terraform or verify runs
    against the emulator; and an empty AWS_PROFILE is no answer either, as boto3 and the AWS CLI
    reject it ("The config profile () could not be found")."""
    server = MotoServer(url="http://127.0.0.1:1", region="eu-west-1")
    user = {"AWS_PROFILE": "prod-admin", "AWS_SESSION_TOKEN": "real-token", "HOME": "/home/me"}
    env = server.process_env(user)
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["HOME"] == "/home/me"
    assert env["AWS_ENDPOINT_URL"] == server.url
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_REGION"] == "eu-west-1"

    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    terraform_env = tf.TerraformCLI.create(tmp_path).env(server.env())
    assert "AWS_PROFILE" not in terraform_env
    assert terraform_env["AWS_ENDPOINT_URL"] == server.url
