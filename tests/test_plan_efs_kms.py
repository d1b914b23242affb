"""EFS mount targets, KMS key grants and existing-VPC endpoint checks: what real AWS needs.

Each test encodes one AWS (or provider) behaviour the emulator cannot show, with its source
(docs/real-aws.md has the full list):

- EFS is mounted over NFS (TCP 2049) through a mount target of the file system in the job's AZ
  and VPC, whose security group must admit the instances
  (https://docs.aws.amazon.com/efs/latest/ug/accessing-fs.html,
  https://docs.aws.amazon.com/efs/latest/ug/network-access.html);
- with ``iam: true`` the job role mounts, and needs ``elasticfilesystem:ClientMount`` (and
  ``ClientWrite`` to write), optionally conditioned on ``elasticfilesystem:AccessPointArn``
  (https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html);
- customer-managed keys need ``kms:Decrypt`` for secrets
  (https://docs.aws.amazon.com/batch/latest/userguide/specifying-sensitive-data-secrets.html) and
  ``kms:GenerateDataKey`` for SSE-KMS writes
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html); an alias is
  granted through ``kms:ResourceAliases``
  (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html);
- interface endpoints with private DNS need ``enableDnsSupport`` and ``enableDnsHostnames``
  (https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchform.diff import diff_environments
from batchform.model import Environment
from batchform.plan import iam
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import moto_copy
from tests.harness import terraform as tf
from tests.harness.small_env import analysis, blocks, checked, codes, rendered

FS = "fs-0123456789abcdef0"
AP = "fsap-0123456789abcdef0"
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALIAS = "arn:aws:kms:us-west-2:123456789012:alias/results"

QUEUE_AND_JOB = """\
job_queues:
  main: {priority: 1, compute_environments: [ondemand]}
job_definitions:
  align:
    image: public.ecr.aws/docker/library/busybox:1.36
    vcpus: 1
    memory: 2 GiB
"""


def efs_env(volume: dict[str, Any], job_role: dict[str, Any] | None = None) -> Environment:
    replace: dict[str, Any] = {
        "network": {"efs": [FS]},
        "job_definitions": {"align": {"volumes": [{"container_path": "/refs", **volume}]}},
    }
    if job_role is not None:
        replace["job_definitions"]["align"]["job_role"] = job_role
    return checked(QUEUE_AND_JOB, replace=replace)


def policies_of(env: Environment, role: str) -> dict[str, dict[str, Any]]:
    roles = iam.plan(env)["iam.tf"]["roles"]
    found = next(r for r in roles if r["label"] == role)
    return {p["name"]: p["policy"] for p in found["inline_policies"]}


# --- EFS: mount targets ----------------------------------------------------------------------


def test_listed_file_system_gets_a_mount_target_per_private_subnet_and_nfs_rules() -> None:
    env = efs_env({"efs": FS, "read_only": True})
    efs = blocks(rendered(env)["efs.tf"])
    targets = efs["aws_efs_mount_target"]
    assert sorted(targets) == ["fs_0123456789abcdef0_us_west_2a", "fs_0123456789abcdef0_us_west_2b"]
    assert targets["fs_0123456789abcdef0_us_west_2a"] == {
        "file_system_id": FS,
        "subnet_id": "${aws_subnet.private_us_west_2a.id}",
        "security_groups": ["${aws_security_group.efs_mount_targets.id}"],
    }
    group = efs["aws_security_group"]["efs_mount_targets"]
    assert group["name"] == "demo-efs-mount-targets" and group["vpc_id"] == "${aws_vpc.main.id}"
    nfs = efs["aws_vpc_security_group_ingress_rule"]["efs_mount_targets_nfs_batch"]
    assert (nfs["ip_protocol"], nfs["from_port"], nfs["to_port"]) == ("tcp", 2049, 2049)
    assert nfs["referenced_security_group_id"] == "${aws_security_group.batch.id}"
    # egress: all already lets NFS out, so the compute group gets no extra rule
    assert "aws_vpc_security_group_egress_rule" not in efs


def test_compute_group_with_restricted_egress_gets_an_nfs_egress_rule() -> None:
    env = checked(
        QUEUE_AND_JOB,
        replace={
            "network": {
                "efs": [FS],
                "security_groups": {
                    "batch": {"egress": [{"protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]}
                },
            },
            "job_definitions": {"align": {"volumes": [{"efs": FS, "container_path": "/refs"}]}},
        },
    )
    egress = blocks(rendered(env)["efs.tf"])["aws_vpc_security_group_egress_rule"]
    assert egress["batch_nfs_efs"]["security_group_id"] == "${aws_security_group.batch.id}"
    assert egress["batch_nfs_efs"]["referenced_security_group_id"] == (
        "${aws_security_group.efs_mount_targets.id}"
    )
    assert egress["batch_nfs_efs"]["from_port"] == 2049


def test_efs_volume_not_in_network_efs_is_refused_where_batchform_creates_the_vpc() -> None:
    result = analysis(
        QUEUE_AND_JOB,
        replace={"job_definitions": {"align": {"volumes": [{"efs": FS, "container_path": "/r"}]}}},
    )
    bf250 = [d for d in result.diagnostics if d.code == "BF250"]
    assert len(bf250) == 1 and bf250[0].line is not None
    assert bf250[0].hint is not None and f"network.efs: [{FS}]" in bf250[0].hint


def test_without_network_efs_nothing_is_generated() -> None:
    assert "efs.tf" not in rendered(checked(QUEUE_AND_JOB))


def test_malformed_file_system_id_in_network_efs_is_a_located_schema_error() -> None:
    result = analysis(QUEUE_AND_JOB, replace={"network": {"efs": ["fs-XYZ"]}})
    assert [(d.code, d.path) for d in result.diagnostics if d.code == "BF103"] == [
        ("BF103", ("network", "efs", 0))
    ]


def test_diff_says_a_new_subnet_replaces_the_mount_target() -> None:
    """``file_system_id`` and ``subnet_id`` are ForceNew in the provider's
    internal/service/efs/mount_target.go; a new VPC CIDR gives new private subnets."""
    before = efs_env({"efs": FS})
    after = checked(
        QUEUE_AND_JOB,
        replace={
            "network": {"efs": [FS], "vpc": {"create": {"cidr": "10.30.0.0/16"}}},
            "job_definitions": {"align": {"volumes": [{"efs": FS, "container_path": "/refs"}]}},
        },
    )
    result = diff_environments(before, after)
    change = result.change("aws_efs_mount_target.fs_0123456789abcdef0_us_west_2a")
    assert change is not None and change.action == "replace"


# --- EFS: IAM authorization ------------------------------------------------------------------


def test_iam_efs_volume_grants_client_mount_and_write_on_the_file_system() -> None:
    env = efs_env({"efs": FS, "iam": True}, {"s3_read": ["refs"]})
    policy = policies_of(env, "job_align")["efs"]
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert statement["Resource"] == [
        '"arn:${data.aws_partition.current.partition}:elasticfilesystem:us-west-2:'
        f'${{data.aws_caller_identity.current.account_id}}:file-system/{FS}"'
    ]
    assert "Condition" not in statement
    assert 'data "aws_caller_identity" "current"' in rendered(env)["iam.tf"]


def test_read_only_volume_with_access_point_mounts_only_through_that_access_point() -> None:
    env = efs_env(
        {"efs": FS, "iam": True, "read_only": True, "access_point": AP}, {"s3_read": ["r"]}
    )
    (statement,) = policies_of(env, "job_align")["efs"]["Statement"]
    assert statement["Action"] == ["elasticfilesystem:ClientMount"]
    condition = statement["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]
    assert condition.endswith(f':access-point/{AP}"')


def test_volume_without_iam_adds_no_efs_policy() -> None:
    env = efs_env({"efs": FS}, {"s3_read": ["refs"]})
    assert "efs" not in policies_of(env, "job_align")
    assert not iam.needs_caller_identity(env)


def test_iam_efs_volume_without_job_role_is_refused() -> None:
    result = analysis(
        QUEUE_AND_JOB,
        replace={
            "network": {"efs": [FS]},
            "job_definitions": {
                "align": {"volumes": [{"efs": FS, "container_path": "/r", "iam": True}]}
            },
        },
    )
    assert [d.path for d in result.diagnostics if d.code == "BF257"] == [
        ("job_definitions", "align", "volumes", 0, "iam")
    ]


# --- KMS -------------------------------------------------------------------------------------


def test_job_role_kms_keys_decrypt_and_generate_data_keys_for_s3_writers() -> None:
    writer = checked(
        QUEUE_AND_JOB,
        replace={
            "job_definitions": {"align": {"job_role": {"s3_write": ["out"], "kms_keys": [KEY]}}}
        },
    )
    (statement,) = policies_of(writer, "job_align")["kms"]["Statement"]
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == [KEY]
    reader = checked(
        QUEUE_AND_JOB,
        replace={
            "job_definitions": {"align": {"job_role": {"s3_read": ["in"], "kms_keys": [KEY]}}}
        },
    )
    (statement,) = policies_of(reader, "job_align")["kms"]["Statement"]
    assert statement["Action"] == ["kms:Decrypt"]


def test_kms_keys_alone_make_a_generated_job_role_without_an_s3_policy() -> None:
    env = checked(
        QUEUE_AND_JOB, replace={"job_definitions": {"align": {"job_role": {"kms_keys": [KEY]}}}}
    )
    assert sorted(policies_of(env, "job_align")) == ["kms"]


def test_alias_is_granted_through_resource_aliases_not_as_resource() -> None:
    env = checked(
        QUEUE_AND_JOB,
        replace={"job_definitions": {"align": {"job_role": {"kms_keys": [ALIAS]}}}},
    )
    (statement,) = policies_of(env, "job_align")["kms"]["Statement"]
    assert statement["Resource"] == ["arn:aws:kms:us-west-2:123456789012:key/*"]
    assert statement["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/results"]}
    }


def test_execution_kms_keys_let_the_execution_role_decrypt_secrets() -> None:
    secret = "arn:aws:secretsmanager:us-west-2:123456789012:secret:token-AbCdEf"
    env = checked(
        QUEUE_AND_JOB,
        replace={
            "iam": {"execution_kms_keys": [KEY]},
            "job_definitions": {"align": {"secrets": {"TOKEN": secret}}},
        },
    )
    statements = policies_of(env, "execution")["secrets"]["Statement"]
    decrypt = next(s for s in statements if s["Action"] == ["kms:Decrypt"])
    assert decrypt["Resource"] == [KEY]


def test_kms_key_in_another_region_or_malformed_is_a_located_error() -> None:
    other_region = KEY.replace("us-west-2", "eu-west-1")
    result = analysis(
        QUEUE_AND_JOB,
        replace={"job_definitions": {"align": {"job_role": {"kms_keys": [other_region, "k"]}}}},
    )
    found = {(d.code, d.path[-1]) for d in result.diagnostics if d.code in ("BF253", "BF254")}
    assert found == {("BF254", 0), ("BF253", 1)}
    assert all(d.line for d in result.diagnostics if d.code in ("BF253", "BF254"))


def test_log_kms_key_encrypts_the_generated_log_group() -> None:
    env = checked(QUEUE_AND_JOB, replace={"job_defaults": {"log_kms_key": KEY}})
    group = blocks(rendered(env)["logs.tf"])["aws_cloudwatch_log_group"]["job_align"]
    assert group["kms_key_id"] == KEY
    assert "BF253" in codes(QUEUE_AND_JOB, replace={"job_defaults": {"log_kms_key": ALIAS}})


# --- existing VPC: DNS attributes and secondary CIDR blocks ----------------------------------

EXISTING = {
    "network": {
        "endpoints": ["ecr.api"],
        "vpc": {
            "create": None,
            "existing": {
                "vpc_id": "vpc-0123456789abcdef0",
                "private_subnets": ["subnet-0aaa1111bbbb22223"],
            },
        },
    }
}


def test_existing_vpc_lookup_requires_dns_support_and_hostnames() -> None:
    network = rendered(checked(replace=EXISTING))["network.tf"]
    lookup = blocks(network, "data")["aws_vpc"]["main"]
    (lifecycle,) = lookup["lifecycle"]
    (postcondition,) = lifecycle["postcondition"]
    assert postcondition["condition"] == "${self.enable_dns_support && self.enable_dns_hostnames}"
    assert "enableDnsHostnames" in postcondition["error_message"]


def test_endpoint_group_admits_every_associated_cidr_block() -> None:
    network = rendered(checked(replace=EXISTING))["network.tf"]
    rules = blocks(network)["aws_vpc_security_group_ingress_rule"]
    assert rules["vpc_endpoints_https"]["cidr_ipv4"] == "${data.aws_vpc.main.cidr_block}"
    secondary = rules["vpc_endpoints_https_secondary"]
    assert "data.aws_vpc.main.cidr_block_associations" in secondary["for_each"]
    assert secondary["cidr_ipv4"] == "${each.value}"


# --- on the emulator -------------------------------------------------------------------------


def _existing_vpc(moto: MotoServer, hostnames: bool) -> tuple[str, str]:
    """A VPC with a secondary CIDR block and a subnet in it; DNS hostnames as asked."""
    ec2 = moto.client("ec2", "us-west-2")
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": hostnames})
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock="100.64.0.0/16")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="100.64.0.0/20")["Subnet"]["SubnetId"]
    return vpc, subnet


def _network_module(vpc: str, subnet: str, dest: Path) -> Path:
    replace = {
        "network": {
            "endpoints": ["ecr.api"],
            "vpc": {"create": None, "existing": {"vpc_id": vpc, "private_subnets": [subnet]}},
        }
    }
    files = rendered(checked(replace=replace))
    dest.mkdir(parents=True)
    for name in ("versions.tf", "providers.tf", "network.tf"):
        (dest / name).write_text(files[name], encoding="utf-8")
    return dest


@pytest.mark.e2e
def test_existing_vpc_without_dns_hostnames_stops_at_plan_with_the_reason(
    terraform_cli: tf.TerraformCLI, moto: MotoServer, tmp_path: Path
) -> None:
    vpc, subnet = _existing_vpc(moto, hostnames=False)
    module = _network_module(vpc, subnet, tmp_path / "module")
    with moto_copy(module, moto.url, region="us-west-2") as copy:
        tf.init(copy, moto.env())
        result = tf.terraform(["plan"], copy, moto.env(), ok_codes=(1,))
    text = " ".join((result.stdout + result.stderr).split())
    assert "enableDnsHostnames" in text and "Resource postcondition failed" in text
    ec2 = moto.client("ec2", "us-west-2")
    assert ec2.describe_vpc_endpoints()["VpcEndpoints"] == []  # nothing was created


@pytest.mark.e2e
def test_existing_vpc_endpoint_group_admits_the_secondary_block_on_the_emulator(
    terraform_cli: tf.TerraformCLI, moto: MotoServer, tmp_path: Path
) -> None:
    vpc, subnet = _existing_vpc(moto, hostnames=True)
    module = _network_module(vpc, subnet, tmp_path / "module")
    with moto_copy(module, moto.url, region="us-west-2") as copy:
        tf.init(copy, moto.env())
        tf.apply(copy, moto.env())
        result = tf.plan(copy, moto.env())
        assert result.returncode == 0, result.stdout[-4000:]
    ec2 = moto.client("ec2", "us-west-2")
    group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["demo-vpc-endpoints"]}]
    )["SecurityGroups"][0]
    admitted = {r["CidrIp"] for p in group["IpPermissions"] for r in p.get("IpRanges", [])}
    assert admitted == {"10.50.0.0/16", "100.64.0.0/16"}
