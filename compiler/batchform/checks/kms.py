"""KMS rules (BF253-BF256): customer-managed keys the IAM plan grants and log groups use.

The IAM plan writes the key ARNs of ``iam.execution_kms_keys`` and ``job_role.kms_keys`` into
policies, and ``log_kms_key`` into the log groups, as given. A malformed ARN would be accepted by
IAM (a policy may name anything) and only fail when a job starts; a key in another region or
partition cannot be used at all: KMS keys are regional, and Secrets Manager, S3 and CloudWatch
Logs use a key of their own region only
(https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html).
"""

from __future__ import annotations

from collections.abc import Iterator

from batchform import refs
from batchform.checks import Finding, rule
from batchform.derive import KMS_KEY_ID, parse_kms_arn
from batchform.diagnostics import Level, Path
from batchform.model import Environment
from batchform.regions import region_partition

AWS_MANAGED_ALIAS_PREFIX = "aws/"


def _key_fields(env: Environment) -> Iterator[tuple[Path, str, bool]]:
    """``(path, value, alias allowed)`` of every KMS key the file names."""
    for i, value in enumerate(env.iam.execution_kms_keys):
        yield ("iam", "execution_kms_keys", i), value, True
    if env.job_defaults.log_kms_key is not None:
        yield ("job_defaults", "log_kms_key"), env.job_defaults.log_kms_key, False
    for key, job in env.job_definitions.items():
        if job.job_role is not None:
            for i, value in enumerate(job.job_role.kms_keys):
                yield ("job_definitions", key, "job_role", "kms_keys", i), value, True
        if job.log_kms_key is not None:
            yield ("job_definitions", key, "log_kms_key"), job.log_kms_key, False


def _malformed_hint(env: Environment, value: str) -> str:
    example = f"arn:{region_partition(env.region)}:kms:{env.region}:<account-id>:key/"
    if KMS_KEY_ID.match(value):
        return f"write the key's full ARN: {example}{value}"
    if value.startswith("alias/"):
        return f"write the alias's full ARN: {example.removesuffix('key/')}{value}"
    return f"a key ARN looks like {example}1234abcd-12ab-34cd-56ef-1234567890ab"


@rule("BF253", Level.ERROR, "a KMS key is not a well-formed key (or alias) ARN")
def kms_key_arns(env: Environment) -> Iterator[Finding]:
    for path, value, alias_allowed in _key_fields(env):
        arn = parse_kms_arn(value)
        if arn is None:
            kinds = "key or alias ARN" if alias_allowed else "key ARN"
            yield Finding(path, f"'{value}' is not a KMS {kinds}", _malformed_hint(env, value))
        elif arn.kind == "alias" and not alias_allowed:
            yield Finding(
                path,
                "a log group's KMS key must be given by key ARN; CloudWatch Logs does not "
                "accept an alias",
                "use the ARN of the key the alias points to (aws kms describe-key --key-id "
                f"{value})",
            )
        elif arn.kind == "alias" and arn.name.startswith(AWS_MANAGED_ALIAS_PREFIX):
            yield Finding(
                path,
                f"'{value}' is an AWS managed key: its key policy already lets the account use "
                "it through the service, and IAM policies cannot grant it",
                "remove it; list customer-managed keys only",
            )


@rule("BF254", Level.ERROR, "a KMS key is in another region or partition than the environment")
def kms_key_region(env: Environment) -> Iterator[Finding]:
    partition = region_partition(env.region)
    for path, value, _ in _key_fields(env):
        arn = parse_kms_arn(value)
        if arn is None:
            continue  # BF253
        if arn.region != env.region or arn.partition != partition:
            yield Finding(
                path,
                f"KMS key '{value}' is in {arn.partition}/{arn.region}, the environment in "
                f"{partition}/{env.region}; KMS keys are regional and the services that use "
                "them here accept keys of their own region only",
                f"use a key in {env.region} (a multi-region key has a replica ARN there)",
            )


@rule("BF255", Level.ERROR, "iam.execution_kms_keys is set but the execution role is not generated")
def execution_kms_keys_need_generated_role(env: Environment) -> Iterator[Finding]:
    if env.iam.execution_kms_keys and env.iam.execution_role != refs.GENERATED:
        yield Finding(
            ("iam", "execution_kms_keys"),
            "batchform grants kms:Decrypt only to the execution role it generates; "
            f"iam.execution_role is '{env.iam.execution_role}'",
            "grant kms:Decrypt on these keys in that role's own policy and remove "
            "execution_kms_keys, or use execution_role: generated",
        )


@rule("BF256", Level.WARNING, "iam.execution_kms_keys is set but no job reads secrets")
def execution_kms_keys_unused(env: Environment) -> Iterator[Finding]:
    if not env.iam.execution_kms_keys or env.iam.execution_role != refs.GENERATED:
        return
    if any(env.job(key).secrets for key in env.job_definitions):
        return
    yield Finding(
        ("iam", "execution_kms_keys"),
        "the execution role uses these keys only to decrypt job secrets, and no job "
        "definition has secrets",
        "remove execution_kms_keys, or give kms_keys to the job_role of jobs that read "
        "encrypted data themselves",
    )
