# ruff: noqa: E501  (the fixtures are real, single-line Terraform error messages)
"""Creates moto answers as duplicates after an SDK retry are recognised, and nothing else is."""

from __future__ import annotations

from compiler.sandbox.terraform import duplicate_creates

CE_DUPLICATE = """
Error: creating Batch Compute Environment (genomics-prod-ondemand-2026): operation error Batch: CreateComputeEnvironment, https response error StatusCode: 400, api error InvalidParameterValue: A compute environment already exists with the name genomics-prod-ondemand-2026

  with aws_batch_compute_environment.ondemand,
  on compute_environments.tf line 36, in resource "aws_batch_compute_environment" "ondemand":
  36: resource "aws_batch_compute_environment" "ondemand" {
"""

ROLE_DUPLICATE = """
Error: creating IAM Role (demo-execution): operation error IAM: CreateRole, https response error StatusCode: 409, EntityAlreadyExists: Role with name demo-execution already exists.

  with aws_iam_role.execution,
  on iam.tf line 12, in resource "aws_iam_role" "execution":
"""

REAL_FAILURE = """
Error: creating EC2 Subnet: operation error EC2: CreateSubnet, InvalidParameterValue: Value (us-west-2e) for parameter availabilityZone is invalid.

  with aws_subnet.private_us_west_2e,
  on network.tf line 40, in resource "aws_subnet" "private_us_west_2e":
"""


def test_duplicates_name_the_address_and_the_import_id() -> None:
    assert duplicate_creates(CE_DUPLICATE + ROLE_DUPLICATE) == [
        ("aws_batch_compute_environment.ondemand", "genomics-prod-ondemand-2026"),
        ("aws_iam_role.execution", "demo-execution"),
    ]


def test_a_real_failure_is_not_a_duplicate() -> None:
    assert duplicate_creates(REAL_FAILURE) == []
    assert duplicate_creates(REAL_FAILURE + CE_DUPLICATE) == [
        ("aws_batch_compute_environment.ondemand", "genomics-prod-ondemand-2026")
    ]
