"""IAM rules (BF220-BF229): names AWS would reject and values the IAM plan cannot use.

The IAM plan writes role names, bucket ARNs and ``iam.*`` settings as given; a mistake there
would only surface at ``terraform apply`` (a name too long) or, worse, when a job starts (a role
ARN where an instance profile belongs, an ``s3://`` URL that grants nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchform import refs
from batchform.checks import Finding, rule
from batchform.derive import generated_role_names, job_role_purpose
from batchform.diagnostics import Level
from batchform.model import Environment

MAX_ROLE_NAME = 64

_PARTITION = r"aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?"
_IAM_PATH = r"(?:/[\w+=,.@-]+)*/"
ROLE_ARN = re.compile(rf"^arn:{_PARTITION}:iam::\d{{12}}:role{_IAM_PATH}[\w+=,.@-]{{1,64}}\Z")
INSTANCE_PROFILE_ARN = re.compile(
    rf"^arn:{_PARTITION}:iam::\d{{12}}:instance-profile{_IAM_PATH}[\w+=,.@-]{{1,128}}\Z"
)
# Bucket names: a-z 0-9 . - (``*`` is allowed and warned about by BF466/BF467);
# an optional key prefix follows a ``/``.
S3_LOCATION = re.compile(r"^[a-z0-9.*-]{1,63}(?:/.*)?\Z")


@rule("BF220", Level.ERROR, "a generated IAM role or instance profile name exceeds 64 characters")
def role_name_length(env: Environment) -> Iterator[Finding]:
    for purpose, name in generated_role_names(env):
        if len(name) <= MAX_ROLE_NAME:
            continue
        over = len(name) - MAX_ROLE_NAME
        path: tuple[str, ...] = ("name",)
        hint = f"shorten the environment name by {over} character(s)"
        for key in env.job_definitions:
            if purpose == job_role_purpose(key):
                path = ("job_definitions", key)
                hint = (
                    f"shorten the job definition key or the environment name by {over} character(s)"
                )
        yield Finding(
            path,
            f"the generated IAM role name '{name}' is {len(name)} characters; IAM allows "
            f"{MAX_ROLE_NAME}",
            hint,
        )


@rule("BF221", Level.ERROR, "a job role's s3_read/s3_write entry is not a bucket name")
def s3_locations(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        if job.job_role is None:
            continue
        for access in ("s3_read", "s3_write"):
            for i, entry in enumerate(getattr(job.job_role, access)):
                if S3_LOCATION.match(entry):
                    continue
                if entry.startswith(("s3://", "arn:")):
                    bucket = entry.removeprefix("s3://").removeprefix("arn:aws:s3:::")
                    hint = f"write the bucket name alone: {bucket.split(':')[-1]}"
                else:
                    hint = "bucket names are lowercase letters, digits, '.' and '-'"
                yield Finding(
                    ("job_definitions", key, "job_role", access, i),
                    f"'{entry}' is not a bucket name (optionally followed by /key-prefix)",
                    hint,
                )


IAM_SETTINGS = (
    ("service_role", (refs.SERVICE_LINKED, refs.GENERATED), ROLE_ARN, "an IAM role ARN"),
    ("instance_role", (refs.GENERATED,), INSTANCE_PROFILE_ARN, "an instance-profile ARN"),
    ("spot_fleet_role", (refs.GENERATED,), ROLE_ARN, "an IAM role ARN"),
    ("execution_role", (refs.GENERATED,), ROLE_ARN, "an IAM role ARN"),
)


@rule("BF222", Level.ERROR, "an iam setting is neither a keyword nor an ARN of the right kind")
def iam_settings(env: Environment) -> Iterator[Finding]:
    for name, keywords, pattern, kind in IAM_SETTINGS:
        value: str = (
            env.iam.instance_role_value if name == "instance_role" else getattr(env.iam, name)
        )
        if value in keywords or pattern.match(value):
            continue
        choices = " or ".join(f"'{k}'" for k in keywords)
        hint = None
        if name == "instance_role" and ROLE_ARN.match(value):
            hint = (
                "Batch needs the instance profile, not the role: "
                + value.replace(":role/", ":instance-profile/", 1)
                + " if the profile has the role's name"
            )
        yield Finding(
            ("iam", name),
            f"iam.{name} must be {choices}, or {kind}; got '{value}'",
            hint,
        )
