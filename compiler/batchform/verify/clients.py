"""The AWS clients the verifier reads through, and the guarantee that it only reads.

Clients are created once each, from one session, and shared by the worker threads that fetch
resource types concurrently. boto3 sessions are not thread-safe (clients are), so every client
is made under one lock. Only the Batch client is made up front; the others are made by the
first read that needs them: creating a client is ~30 ms of CPU (its service model is loaded
and a class built), and made on first use it overlaps with the Batch reads already waiting on
the network instead of delaying them, and a client nothing reads (SSM without AMI parameters)
is never made. Tests inject clients pointed at an emulator instead.

The clients are botocore's, made without boto3: boto3 adds nothing a client needs here, and
importing it (it pulls in s3transfer) costs about a tenth of a second on every run.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

from batchform.timeouts import Limits

SERVICES = ("batch", "ec2", "efs", "events", "iam", "logs", "scheduler", "ssm")

READ_ONLY_PREFIXES = ("Describe", "List", "Get")
"""Every operation the verifier may call starts with one of these."""

MAX_POOL_CONNECTIONS = 32
"""Connections per client: one per worker thread of :mod:`batchform.verify.gather`."""


class ReadOnlyViolation(RuntimeError):
    """Raised before a non-read-only call leaves the process: the verifier must never write."""


def botocore_config(limits: Limits | None = None) -> Config:
    """Adaptive retry mode: standard mode's retries of throttling errors (IAM's ``Throttling``,
    Batch's ``TooManyRequestsException``) and transient network errors with backoff, plus a
    client-side rate limiter that slows the client down once the service has throttled it, so
    the many concurrent IAM reads of a large environment do not keep tripping IAM's rate limit
    (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html). Short
    timeouts make an unreachable endpoint an error in seconds, not minutes (:class:`Limits`)."""
    limits = limits or Limits()
    # In this dict botocore's "max_attempts" counts retries only; "total_max_attempts" is the
    # number of attempts, the first included, which is what --max-attempts means.
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": limits.max_attempts},
        connect_timeout=limits.timeout_s,
        read_timeout=limits.timeout_s,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        user_agent_extra="batchform-verify",
    )


class _PlainJSONFileLoader:
    """botocore's reader of its model files (the ``file_loader`` of its ``Loader``: the same
    ``exists`` and ``load_file`` as ``botocore.loaders.JSONFileLoader``), decoding JSON objects
    as plain dicts.

    botocore decodes every model file with ``object_pairs_hook=OrderedDict``, which makes the
    C decoder call back into Python for each of the hundreds of thousands of objects in the
    service models; plain dicts keep the same order (Python 3.7+) and nothing in botocore
    depends on the type (``botocore/model.py`` builds its own mappings). Measured on the five
    clients verify makes: 0.21-0.29 s of CPU instead of 0.30-0.39 s, a tenth of a
    50-job-definition run's CPU time (benchmarks/README.md)."""

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + ext) for ext in (".json", ".json.gz"))

    def load_file(self, file_path: str) -> Any:
        if os.path.isfile(file_path + ".json"):
            with open(file_path + ".json", "rb") as plain:
                return json.loads(plain.read().decode("utf-8"))
        if os.path.isfile(file_path + ".json.gz"):
            with gzip.open(file_path + ".json.gz", "rb") as packed:
                return json.loads(packed.read().decode("utf-8"))
        return None


def use_plain_json(core: Any) -> None:
    """Give ``core`` (a botocore session) the loader of :class:`_PlainJSONFileLoader`, with the
    search path botocore's own loader would have (``AWS_DATA_PATH`` / ``data_path``)."""
    extra = core.get_config_variable("data_path")
    paths = (
        [os.path.expanduser(os.path.expandvars(p)) for p in extra.split(os.pathsep)]
        if extra
        else None
    )
    core.register_component(
        "data_loader", Loader(extra_search_paths=paths, file_loader=_PlainJSONFileLoader())
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
    efs: Any
    events: Any
    iam: Any
    logs: Any
    scheduler: Any
    ssm: Any

    def guard(self) -> Clients:
        """Make every client refuse non-read-only operations (a ``before-call`` hook)."""
        for service in SERVICES:
            client = getattr(self, service)
            client.meta.events.register("before-call", _refuse_writes, unique_id="bf-read-only")
        return self


class _MadeOnFirstUse:
    """Stands for a client and makes it (once, under the session's lock) on first attribute use."""

    def __init__(self, make: Callable[[], Any], lock: threading.Lock) -> None:
        self._make = make
        self._lock = lock
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
                client = self._client
        return getattr(client, name)


def make_clients(
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
    limits: Limits | None = None,
) -> Clients:
    """Clients for a real (or emulated, with ``endpoint_url``) account, guarded read-only.

    The Batch client is made here, so a bad profile, region or endpoint is reported before any
    read; the others are made on first use (see the module docstring), already guarded.
    ``session``, a boto3 session, replaces the one built from ``profile``/``region`` (the
    sandbox passes one with the emulator's dummy credentials). ``limits`` bound the wait for an
    endpoint that does not answer. An ``endpoint_url`` that is not a URL raises ``ValueError``.
    """
    config = botocore_config(limits)
    lock = threading.Lock()
    core = botocore.session.Session(profile=profile) if session is None else None
    if core is not None:
        use_plain_json(core)

    def new_client(service: str) -> Any:
        if core is None:
            return session.client(service, endpoint_url=endpoint_url, config=config)
        return core.create_client(
            service, region_name=region, endpoint_url=endpoint_url, config=config
        )

    def maker(service: str) -> Callable[[], Any]:
        def make() -> Any:
            client = new_client(service)
            client.meta.events.register("before-call", _refuse_writes, unique_id="bf-read-only")
            return client

        return make

    made: dict[str, Any] = {service: _MadeOnFirstUse(maker(service), lock) for service in SERVICES}
    made["batch"] = maker("batch")()
    return Clients(**made)


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
    "elasticfilesystem:DescribeMountTargetSecurityGroups",
    "elasticfilesystem:DescribeMountTargets",
    "events:DescribeRule",
    "events:ListTargetsByRule",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetInstanceProfile",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "logs:DescribeLogGroups",
    "scheduler:GetSchedule",
    "scheduler:ListSchedules",  # batchform import: the schedules that submit to what it adopts
    "ssm:GetParameter",
)
"""The read-only actions the verifier calls (:mod:`batchform.verify.fetch`), spelled out instead of
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
