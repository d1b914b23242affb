"""The boto3 clients the verifier reads through, and the guarantee that it only reads.

Clients are created once, on the calling thread, from one session (boto3 sessions are not
thread-safe; clients are), then shared by the worker threads that fetch resource types
concurrently. Tests inject clients pointed at an emulator instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

SERVICES = ("batch", "ec2", "iam", "logs", "ssm")

READ_ONLY_PREFIXES = ("Describe", "List", "Get")
"""Every operation the verifier may call starts with one of these."""

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 20


class ReadOnlyViolation(RuntimeError):
    """Raised before a non-read-only call leaves the process: the verifier must never write."""


def botocore_config() -> Config:
    """Standard retry mode retries throttling (HTTP 429) and transient network errors with
    backoff; short timeouts make an unreachable endpoint an error in seconds, not minutes."""
    return Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        max_pool_connections=16,
        user_agent_extra="batchform-verify",
    )


def is_read_only(operation: str) -> bool:
    return operation.startswith(READ_ONLY_PREFIXES)


def _refuse_writes(model: Any, **_: Any) -> None:
    if not is_read_only(model.name):
        raise ReadOnlyViolation(f"batchform verify refused to call {model.name}: it only reads")


@dataclass(frozen=True)
class Clients:
    """One client per service the verifier reads."""

    batch: Any
    ec2: Any
    iam: Any
    logs: Any
    ssm: Any

    def guard(self) -> Clients:
        """Make every client refuse non-read-only operations (a ``before-call`` hook)."""
        for service in SERVICES:
            client = getattr(self, service)
            client.meta.events.register("before-call", _refuse_writes, unique_id="bf-read-only")
        return self


def make_clients(
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Clients:
    """Clients for a real (or emulated, with ``endpoint_url``) account, guarded read-only."""
    session = boto3.Session(profile_name=profile, region_name=region)
    config = botocore_config()
    made = {
        service: session.client(service, endpoint_url=endpoint_url, config=config)
        for service in SERVICES
    }
    return Clients(**made).guard()


IAM_POLICY_ACTIONS = (
    "batch:DescribeComputeEnvironments",
    "batch:DescribeJobDefinitions",
    "batch:DescribeJobQueues",
    "batch:DescribeSchedulingPolicies",
    "batch:ListSchedulingPolicies",
    "batch:ListTagsForResource",
    "ec2:DescribeImages",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeNatGateways",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
    "iam:GetInstanceProfile",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "logs:DescribeLogGroups",
    "ssm:GetParameter",
)
"""The read-only actions of aws-batch-rules.md ("Describe APIs"), spelled out instead of
``batch:Describe*`` / ``ec2:Describe*`` so the policy grants exactly what the verifier calls."""


def iam_policy() -> str:
    """The least-privilege IAM policy for ``batchform verify``, as JSON.

    Describe/List/Get calls of these services do not support resource-level permissions
    (except IAM, whose roles are named by the file but may live under any path), so the
    resource is ``*``; the actions are what keeps the policy read-only.
    """
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BatchformVerifyReadOnly",
                "Effect": "Allow",
                "Action": list(IAM_POLICY_ACTIONS),
                "Resource": "*",
            }
        ],
    }
    return json.dumps(document, indent=2)
