"""IAM plan: the roles AWS Batch, its instances and its jobs assume, generated only when used.

One file, ``iam.tf``. Which roles exist follows ``refs`` (the same functions compute and jobs
use to point at them), so a role is never generated without a user nor referenced without being
generated:

- ``aws_iam_role.batch_service`` (+ ``aws_iam_role_policy_attachment.batch_service``): only for
  ``iam.service_role: generated`` and at least one compute environment; the default is Batch's
  service-linked role, which needs nothing here.
- ``aws_iam_role.ecs_instance`` + ``aws_iam_instance_profile.ecs_instance`` (+ attachment): when
  ``iam.instance_role: generated`` and an EC2/SPOT compute environment exists.
- ``aws_iam_role.spot_fleet`` (+ attachment): when ``refs.needs_spot_fleet_role``.
- ``aws_iam_role.execution`` (+ attachment, + ``aws_iam_role_policy.execution_secrets`` when
  jobs reference secrets): when ``refs.needs_execution_role``.
- ``aws_iam_role.job_<key>`` + ``aws_iam_role_policy.job_<key>_{s3,efs,kms,exec}``: per job
  definition with a generated ``job_role`` (or with ``execute_command: true`` and no
  ``job_role``); ``s3`` for its buckets, ``efs`` for EFS volumes mounted with ``iam: true``,
  ``kms`` for ``job_role.kms_keys``, ``exec`` for ECS Exec's session channels.
- ``aws_iam_role.scheduler`` + ``aws_iam_role_policy.scheduler_submit``: when the file has
  ``schedules``; EventBridge Scheduler assumes it to call ``batch:SubmitJob``.

Every generated role (and the instance profile) takes ``iam.path`` and every role
``iam.permissions_boundary``; managed policies the file lists (``iam.instance_role``'s,
``job_role.managed_policies``) are one ``aws_iam_role_policy_attachment`` each, labelled by the
policy's name so adding one leaves the others' addresses alone.

Managed policy ARNs are built from ``data.aws_partition.current`` so the module also works in
GovCloud and China. Policies are Python data written through ``jsonencode``; no statement has a
wildcard action, and none a ``*`` resource but ECS Exec's (``ECS_EXEC_ACTIONS``: ssmmessages has
no resource type to name) (a key given by alias grants ``key/*`` of one account and
region, narrowed by a condition to the keys carrying that alias).

EFS with IAM authorization: Batch mounts the volume with the job role
(``EFSAuthorizationConfig.iam``,
https://docs.aws.amazon.com/batch/latest/APIReference/API_EFSAuthorizationConfig.html), and EFS
lets the mount through only if the role's identity policy or the file system policy allows
``elasticfilesystem:ClientMount`` (``ClientWrite`` to write), optionally conditioned on
``elasticfilesystem:AccessPointArn``
(https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html). The ``efs`` policy
grants exactly that, per volume, on the file system's ARN in the file's region and the caller's
account (``data.aws_caller_identity.current``).

Customer-managed KMS keys: a secret encrypted with one is read only if the execution role may
``kms:Decrypt`` with it
(https://docs.aws.amazon.com/batch/latest/userguide/specifying-sensitive-data-secrets.html), and an
SSE-KMS bucket needs ``kms:Decrypt`` to read and ``kms:GenerateDataKey`` to write
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms).
A key given by alias ARN cannot be the ``Resource`` of such a grant (an alias ARN there controls
the alias, not the key); the grant names the account's keys and the ``kms:ResourceAliases``
condition narrows it to the keys carrying that alias
(https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html).

Secrets: ``valueFrom`` is a Secrets Manager ARN (complete, or partial = without the 6-character
suffix AWS appends), optionally followed by ``:json-key:stage:version``, or an SSM parameter ARN
(check BF469 rejects anything else). The policy names the secret ARN itself and, for
Secrets Manager, that ARN followed by ``-??????``: AWS's documented form for matching exactly one
secret by its partial ARN (``?`` matches one character, so no other secret name can match).
"""

from __future__ import annotations

import re
from typing import Any

from batchform import derive, refs
from batchform.derive import RoleSpec, generated_job_roles, parse_kms_arn, role_specs
from batchform.hcl import Expr, hcl_string
from batchform.model import Environment
from batchform.naming import role_name
from batchform.plan.contract import (
    InlinePolicyEntry,
    PlanFiles,
    PolicyAttachmentEntry,
    RoleEntry,
)

PARTITION = "${data.aws_partition.current.partition}"
POLICY_VERSION = "2012-10-17"


S3_READ_OBJECT_ACTIONS = ["s3:GetObject"]
S3_READ_BUCKET_ACTIONS = ["s3:ListBucket"]
S3_WRITE_OBJECT_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"]

SECRETS_MANAGER_SUFFIX = "-??????"


def _template(text: str) -> Expr:
    """A Terraform string template the plan writes on purpose (interpolates data sources)."""
    return Expr(f'"{text}"')


def _literal_in_template(value: str) -> str:
    """``value`` escaped for the inside of a quoted template (``${`` cannot interpolate)."""
    return hcl_string(value)[1:-1]


def managed_policy_arn(name: str) -> Expr:
    return _template(f"arn:{PARTITION}:iam::aws:policy/{name}")


# Service principals whose role assumptions carry aws:SourceAccount, so a trust policy can
# refuse requests made for another account (confused deputy): AWS Batch
# (https://docs.aws.amazon.com/batch/latest/userguide/cross-service-confused-deputy-prevention.html)
# and ECS tasks (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html,
# "Create the task IAM role"; the same for the task execution role) and EventBridge Scheduler
# (https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html, "Set up the execution
# role"). Not EC2 instance roles (an instance assumes its profile's role with no source account)
# nor Spot Fleet, whose documentation names no such key.
SOURCE_ACCOUNT_SERVICES = (
    "batch.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "scheduler.amazonaws.com",
)
ACCOUNT_ID = Expr("data.aws_caller_identity.current.account_id")


def trust_policy(service: str) -> dict[str, Any]:
    """An assume-role policy letting one AWS service principal assume the role, for this
    account only where the service sends ``aws:SourceAccount``."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if service in SOURCE_ACCOUNT_SERVICES:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


# --- execution role: secrets -----------------------------------------------------------------


def secret_resource(value_from: str) -> tuple[str, str]:
    """``(service, IAM resource ARN)`` for a job's ``valueFrom`` (an ARN, check BF469).

    Secrets Manager references may carry ``:json-key:version-stage:version-id`` after the secret
    ARN; the IAM resource is the secret ARN alone (its first 7 ``:``-separated fields).
    """
    parts = value_from.split(":")
    service = parts[2]
    if service == "secretsmanager":
        return service, ":".join(parts[:7])
    return service, value_from


def execution_secrets_policy(env: Environment) -> dict[str, Any] | None:
    """Read access to exactly the secrets the jobs reference (``secrets`` and the log driver's
    ``secret_options``), or ``None`` when there are none."""
    secrets: set[str] = set()
    parameters: set[str] = set()
    for key in env.job_definitions:
        job = env.job(key)
        for value_from in [*job.all_secrets.values(), *job.all_log_secret_options.values()]:
            service, arn = secret_resource(value_from)
            if service == "secretsmanager":
                secrets.update({arn, arn + SECRETS_MANAGER_SUFFIX})
            else:
                parameters.add(arn)
    statements: list[dict[str, Any]] = []
    if secrets:
        statements.append(
            {
                "Sid": "ReadJobSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": sorted(secrets),
            }
        )
    if parameters:
        statements.append(
            {
                "Sid": "ReadJobParameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParameters"],
                "Resource": sorted(parameters),
            }
        )
    if not statements:
        return None
    statements += kms_statements("DecryptJobSecrets", env.iam.execution_kms_keys, ["kms:Decrypt"])
    return {"Version": POLICY_VERSION, "Statement": statements}


# --- customer-managed KMS keys ----------------------------------------------------------------


def kms_statements(sid: str, arns: list[str], actions: list[str]) -> list[dict[str, Any]]:
    """Statements allowing ``actions`` with the keys ``arns`` (key or alias ARNs, checked).

    Key ARNs are the resource; aliases become ``kms:ResourceAliases`` conditions on the keys of
    the alias's account and region (an alias ARN as ``Resource`` would grant nothing).
    """
    keys: list[str] = []
    aliases: dict[str, list[str]] = {}
    for value in dict.fromkeys(arns):
        arn = parse_kms_arn(value)
        if arn is None:
            continue
        if arn.kind == "key":
            keys.append(value)
        else:
            scope = f"arn:{arn.partition}:kms:{arn.region}:{arn.account}:key/*"
            aliases.setdefault(scope, []).append(f"alias/{arn.name}")
    statements: list[dict[str, Any]] = []
    if keys:
        statements.append({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": keys})
    for i, (scope, names) in enumerate(aliases.items()):
        statements.append(
            {
                "Sid": f"{sid}ByAlias{i}",
                "Effect": "Allow",
                "Action": actions,
                "Resource": [scope],
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": names}},
            }
        )
    return statements


# --- job roles -------------------------------------------------------------------------------


def split_s3_location(entry: str) -> tuple[str, str]:
    """``"refs"`` -> ("refs", ""); ``"refs/hg38/"`` -> ("refs", "hg38"): bucket and key prefix."""
    bucket, _, prefix = entry.partition("/")
    return bucket, prefix.strip("/")


def _s3_arn(bucket: str, key: str | None = None) -> Expr:
    """``arn:<partition>:s3:::bucket`` or, with ``key``, ``...:::bucket/key``."""
    path = bucket if key is None else f"{bucket}/{key}"
    return _template(f"arn:{PARTITION}:s3:::{_literal_in_template(path)}")


def _objects(entry: str) -> Expr:
    bucket, prefix = split_s3_location(entry)
    return _s3_arn(bucket, f"{prefix}/*" if prefix else "*")


def _list_statements(entries: list[str]) -> list[dict[str, Any]]:
    """``s3:ListBucket`` on the buckets; a bucket named only with prefixes lists only those."""
    prefixes: dict[str, list[str]] = {}
    whole: list[str] = []
    for entry in entries:
        bucket, prefix = split_s3_location(entry)
        if not prefix:
            whole.append(bucket)
        else:
            prefixes.setdefault(bucket, []).append(prefix)
    statements: list[dict[str, Any]] = []
    whole = list(dict.fromkeys(whole))
    if whole:
        statements.append(
            {
                "Sid": "ListBuckets",
                "Effect": "Allow",
                "Action": S3_READ_BUCKET_ACTIONS,
                "Resource": [_s3_arn(b) for b in whole],
            }
        )
    for i, (bucket, keys) in enumerate((b, k) for b, k in prefixes.items() if b not in whole):
        patterns = list(dict.fromkeys(p for k in keys for p in (k, f"{k}/*")))
        statements.append(
            {
                "Sid": f"ListPrefixes{i}",
                "Effect": "Allow",
                "Action": S3_READ_BUCKET_ACTIONS,
                "Resource": [_s3_arn(bucket)],
                "Condition": {"StringLike": {"s3:prefix": patterns}},
            }
        )
    return statements


def s3_policy(read: list[str], write: list[str]) -> dict[str, Any]:
    """Least-privilege S3 access: list and get what jobs read; writers also put and abort.

    Entries are bucket names, optionally with a key prefix (``bucket/prefix``) that narrows the
    grant to those objects. A location in ``s3_write`` can be read as well (jobs that write
    results check what is there). Entries keep the user's order, each listed once.
    """
    readable = list(dict.fromkeys([*read, *write]))
    writable = list(dict.fromkeys(write))
    statements = _list_statements(readable)
    statements.append(
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": S3_READ_OBJECT_ACTIONS,
            "Resource": [_objects(e) for e in readable],
        }
    )
    if writable:
        statements.append(
            {
                "Sid": "WriteObjects",
                "Effect": "Allow",
                "Action": S3_WRITE_OBJECT_ACTIONS,
                "Resource": [_objects(e) for e in writable],
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


EFS_MOUNT_ACTIONS = ["elasticfilesystem:ClientMount"]
EFS_WRITE_ACTIONS = ["elasticfilesystem:ClientWrite"]
KMS_READ_ACTIONS = ["kms:Decrypt"]
KMS_WRITE_ACTIONS = ["kms:GenerateDataKey"]
ACCOUNT = "${data.aws_caller_identity.current.account_id}"


def _efs_arn(env: Environment, kind: str, resource_id: str) -> Expr:
    """``arn:<partition>:elasticfilesystem:<region>:<account>:<kind>/<id>``."""
    resource = _literal_in_template(f"{kind}/{resource_id}")
    return _template(f"arn:{PARTITION}:elasticfilesystem:{env.region}:{ACCOUNT}:{resource}")


def efs_policy(env: Environment, key: str) -> dict[str, Any] | None:
    """Mount (and, unless read-only, write) access to each EFS volume the job mounts with
    ``iam: true``, limited to its access point when it has one; ``None`` without such volumes."""
    statements: list[dict[str, Any]] = []
    seen: list[tuple[str, str | None, bool]] = []
    for volume in env.job(key).volumes:
        if volume.efs is None or not volume.iam:
            continue
        grant = (volume.efs, volume.access_point, volume.read_only)
        if grant in seen:
            continue
        seen.append(grant)
        statement: dict[str, Any] = {
            "Sid": f"MountFileSystem{len(statements)}",
            "Effect": "Allow",
            "Action": EFS_MOUNT_ACTIONS + ([] if volume.read_only else EFS_WRITE_ACTIONS),
            "Resource": [_efs_arn(env, "file-system", volume.efs)],
        }
        if volume.access_point is not None:
            access_point = _efs_arn(env, "access-point", volume.access_point)
            statement["Condition"] = {
                "StringEquals": {"elasticfilesystem:AccessPointArn": access_point}
            }
        statements.append(statement)
    if not statements:
        return None
    return {"Version": POLICY_VERSION, "Statement": statements}


def job_kms_policy(read: list[str], write: list[str], keys: list[str]) -> dict[str, Any] | None:
    """Decrypt with the job role's keys; a role that writes to S3 may also generate data keys
    (SSE-KMS uploads). ``None`` without keys."""
    actions = KMS_READ_ACTIONS + (KMS_WRITE_ACTIONS if write else [])
    statements = kms_statements("UseKmsKeys", keys, actions)
    if not statements:
        return None
    return {"Version": POLICY_VERSION, "Statement": statements}


# ECS Exec: the SSM agent in the container opens its session channels with the job role
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html, "IAM permissions
# required for ECS Exec"). These actions have no resource type in the Service Authorization
# Reference (Amazon Session Manager Message Gateway Service), so the resource is "*": the one
# statement batchform writes with it.
ECS_EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def ecs_exec_policy(env: Environment, key: str) -> dict[str, Any] | None:
    """The session channels ECS Exec needs, for a job with ``execute_command: true``."""
    if not env.job(key).execute_command:
        return None
    statement = {"Sid": "EcsExecSessions", "Effect": "Allow", "Action": ECS_EXEC_ACTIONS}
    return {"Version": POLICY_VERSION, "Statement": [{**statement, "Resource": "*"}]}


def needs_caller_identity(env: Environment) -> bool:
    """Whether ``iam.tf`` reads the account id (EFS ARNs of the ``efs`` policies)."""
    return any(efs_policy(env, key) is not None for key in generated_job_roles(env))


# --- scheduler role --------------------------------------------------------------------------


def submit_policy(env: Environment) -> dict[str, Any]:
    """``batch:SubmitJob`` on exactly the queues and job definition revisions the schedules name.

    SubmitJob is authorised on both the job queue and the job definition (the Service
    Authorization Reference lists both resource types for it); the schedules submit the revision
    the module registers (its ARN includes the revision), so that ARN is the resource.
    """
    queues = sorted({s.queue for s in env.schedules.values()})
    jobs = sorted({s.job_definition for s in env.schedules.values()})
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "SubmitScheduledJobs",
                "Effect": "Allow",
                "Action": ["batch:SubmitJob"],
                "Resource": [refs.job_queue_arn(q) for q in queues]
                + [refs.job_definition_arn(j) for j in jobs],
            }
        ],
    }


# --- which roles exist -----------------------------------------------------------------------


def _inline_policies(env: Environment, spec: RoleSpec) -> list[InlinePolicyEntry]:
    """The role's inline policies, one per concern so a change shows as one policy's diff."""
    if spec.job_key is not None:
        # no job_role: a role generated for ECS Exec alone (derive.generated_job_roles)
        job_role = env.job_definitions[spec.job_key].job_role
        read, write = (job_role.s3_read, job_role.s3_write) if job_role else ([], [])
        policies: dict[str, dict[str, Any] | None] = {
            "s3": s3_policy(read, write) if read or write else None,
            "efs": efs_policy(env, spec.job_key),
            "kms": job_kms_policy(read, write, job_role.kms_keys if job_role else []),
            "exec": ecs_exec_policy(env, spec.job_key),
        }
        return [
            {"label": f"{spec.label}_{name}", "name": name, "policy": policy}
            for name, policy in policies.items()
            if policy is not None
        ]
    if spec.purpose == "scheduler":
        return [{"label": "scheduler_submit", "name": "submit-jobs", "policy": submit_policy(env)}]
    if spec.purpose == "execution":
        secrets = execution_secrets_policy(env)
        if secrets is not None:
            return [{"label": "execution_secrets", "name": "secrets", "policy": secrets}]
    return []


def _role_context(env: Environment, spec: RoleSpec) -> RoleEntry:
    name = role_name(env.name, spec.purpose)
    tags = derive.tags(env, f"role-{spec.purpose}")
    name_ref = Expr(f"aws_iam_role.{spec.label}.name")
    path = env.iam.path
    return {
        "label": spec.label,
        "name": name,
        "description": spec.description,
        "assume_role_policy": trust_policy(spec.service),
        "managed_policy_arn": (
            managed_policy_arn(spec.managed_policy) if spec.managed_policy else None
        ),
        "inline_policies": _inline_policies(env, spec),
        "role_name_ref": name_ref,
        "policies_replaced_with": [Expr(f"aws_iam_role.{spec.label}.unique_id")],
        # EC2 instances take a role through an instance profile of the same name
        "instance_profile": (
            {"label": spec.label, "name": name, "path": path, "role": name_ref, "tags": tags}
            if spec.purpose == "ecs-instance"
            else None
        ),
        "tags": tags,
        "path": path,
        "permissions_boundary": env.iam.permissions_boundary,
        "managed_policy_attachments": _attachments(spec, extra_managed_policies(env, spec)),
    }


def extra_managed_policies(env: Environment, spec: RoleSpec) -> list[str]:
    """Managed policies a generated role carries besides batchform's own: the instance role's
    (the EKS node policies when a compute environment joins an EKS cluster, then
    ``iam.instance_role.managed_policies``) and a job role's, each once."""
    if spec.purpose == "ecs-instance":
        # nodes of an EKS compute environment join the cluster with this role
        eks: list[str] = (
            [managed_policy_arn(p) for p in derive.EKS_NODE_POLICIES]
            if derive.has_eks_compute(env)
            else []
        )
        arns = [*eks, *env.iam.instance_role_policies]
    elif spec.job_key is not None:
        job_role = env.job_definitions[spec.job_key].job_role
        arns = job_role.managed_policies if job_role is not None else []
    else:
        arns = []
    return list(dict.fromkeys(arns))


def _attachments(spec: RoleSpec, arns: list[str]) -> list[PolicyAttachmentEntry]:
    """One ``aws_iam_role_policy_attachment`` per policy, labelled by the policy's name (so
    adding or removing one leaves the others' addresses alone); a name used twice (two paths
    or accounts) gets a number."""
    out: list[PolicyAttachmentEntry] = []
    seen: set[str] = set()
    for arn in arns:
        name = arn.rsplit("/", 1)[-1]
        if isinstance(arn, Expr):  # an AWS managed policy's ARN, written as an HCL template
            name = name.removesuffix('"')
        base = f"{spec.label}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"
        label, n = base, 2
        while label in seen:
            label, n = f"{base}_{n}", n + 1
        seen.add(label)
        out.append({"label": label, "policy_arn": arn})
    return out


def plan(env: Environment) -> PlanFiles:
    """``{"iam.tf": ...}``, or nothing when every role is given as an ARN or not needed."""
    specs = role_specs(env)
    roles = [_role_context(env, spec) for spec in specs]
    if not roles:
        return {}
    needs_account = needs_caller_identity(env) or any(
        spec.service in SOURCE_ACCOUNT_SERVICES for spec in specs
    )
    return {"iam.tf": {"roles": roles, "caller_identity": needs_account}}
