"""Security rules: settings that work, but expose the environment more than it needs.

The generated code is secure by default (no ingress, IMDSv2, encrypted volumes, secrets by
reference); these rules speak up when a file opts out of one of those defaults, and catch ARNs
that AWS would only reject at apply time or, worse, at job start, and version constraints that
would make ``terraform init`` reject the whole generated module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchform.checks import Finding, rule
from batchform.diagnostics import Level, Path
from batchform.model import Environment, SecurityGroupRule

ANYWHERE = ("0.0.0.0/0", "::/0")
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}

_PARTITION = r"aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
JOB_ROLE_ARN = re.compile(
    rf"^arn:{_PARTITION}:iam::\d{{12}}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{{1,64}}\Z"
)
SECRETS_MANAGER_ARN = re.compile(
    # the secret name, optionally followed by :json-key:version-stage:version-id (Batch syntax)
    rf"^arn:{_PARTITION}:secretsmanager:{_REGION}:\d{{12}}:secret:[\w/+=.@-]+"
    r"(?::[^:\s]*:[^:\s]*:[^:\s]*)?\Z"
)
SSM_PARAMETER_ARN = re.compile(rf"^arn:{_PARTITION}:ssm:{_REGION}:\d{{12}}:parameter/[\w./-]+\Z")

# One Terraform version constraint: an optional operator, then 1-3 numeric parts and an
# optional pre-release suffix (``>= 1.5.0``, ``~> 5.0``, ``1.6.0-beta1``); several are
# separated by commas.
# Each version part is at most 9 digits: Terraform parses parts as 64-bit numbers, and a longer
# part is no release anyone publishes (compiler/batchform/requirements.py reads the same shape).
_CONSTRAINT = (
    r"[ \t]*(?:=|!=|>=|<=|>|<|~>)?[ \t]*\d{1,9}(?:\.\d{1,9}){0,2}(?:-[0-9A-Za-z.-]+)?[ \t]*"
)
VERSION_CONSTRAINTS = re.compile(rf"^{_CONSTRAINT}(?:,{_CONSTRAINT})*\Z")

# Substrings that mark a secret wherever they occur in a variable name ...
SECRET_SUBSTRINGS = ("PASSWORD", "PASSWD", "SECRET", "API_KEY", "APIKEY", "PRIVATE_KEY")
# ... and words that only do when they stand alone between underscores: TOKEN matches
# GITHUB_TOKEN but not TOKENIZERS_PARALLELISM, which ML images set all the time.
SECRET_WORDS = ("TOKEN", "TOKENS")


def _port_range(r: SecurityGroupRule) -> tuple[int, int] | None:
    """The ports a rule opens, or ``None`` when they cannot be read (another rule says so)."""
    if r.protocol == "all" or r.ports is None:
        return (0, 65535)
    if isinstance(r.ports, int):
        return (r.ports, r.ports)
    m = re.fullmatch(r"[ \t]*(\d+)[ \t]*(?:-[ \t]*(\d+)[ \t]*)?", r.ports)
    if not m:
        return None
    low = int(m.group(1))
    return (low, int(m.group(2) or low))


def _open_admin_ports(r: SecurityGroupRule) -> list[str]:
    if r.protocol not in ("tcp", "all"):
        return []
    ports = _port_range(r)
    if ports is None:
        return []
    return [f"{name} (port {p})" for p, name in ADMIN_PORTS.items() if ports[0] <= p <= ports[1]]


def _world_ingress(env: Environment) -> Iterator[tuple[Path, SecurityGroupRule, str]]:
    for key, sg in env.network.security_groups.items():
        for i, r in enumerate(sg.ingress):
            if r.cidr in ANYWHERE:
                yield ("network", "security_groups", key, "ingress", i, "cidr"), r, key


@rule("BF460", Level.WARNING, "a security group allows ingress from anywhere (0.0.0.0/0 or ::/0)")
def ingress_from_anywhere(env: Environment) -> Iterator[Finding]:
    for path, r, key in _world_ingress(env):
        if _open_admin_ports(r):
            continue  # BF461 reports these, as an error
        what = "all traffic" if r.protocol == "all" else f"{r.protocol} {r.ports or 'all ports'}"
        yield Finding(
            path,
            f"security group '{key}' accepts {what} from {r.cidr}, i.e. from the whole internet",
            "Batch instances need no inbound traffic; narrow `cidr` to the networks that must "
            "connect, or use `security_group:` to allow another group",
        )


@rule("BF461", Level.ERROR, "a security group opens SSH or RDP to the whole internet")
def admin_ports_open_to_world(env: Environment) -> Iterator[Finding]:
    for path, r, key in _world_ingress(env):
        ports = _open_admin_ports(r)
        if ports:
            yield Finding(
                path,
                f"security group '{key}' opens {' and '.join(ports)} to {r.cidr}",
                "allow a bastion or VPN range instead (e.g. cidr: 10.0.0.0/8), or use SSM "
                "Session Manager, which needs no inbound port at all",
            )


@rule("BF462", Level.WARNING, "a job definition runs a privileged container")
def privileged_container(env: Environment) -> Iterator[Finding]:
    own_default = env.job_defaults.privileged is True
    if own_default:
        yield Finding(
            ("job_defaults", "privileged"),
            "job_defaults makes every job that does not set `privileged: false` run privileged "
            "(root on the host, all devices)",
            "set privileged only on the job definitions that need it",
        )
    for key, job in env.job_definitions.items():
        if job.privileged is True:
            yield Finding(
                ("job_definitions", key, "privileged"),
                f"job definition '{key}' runs privileged: the container is root on the host "
                "and can reach every device",
                "drop `privileged: true` unless the job really needs host access "
                "(most need neither; GPUs work without it)",
            )


@rule("BF463", Level.WARNING, "a launch template leaves its EBS volumes unencrypted")
def unencrypted_volumes(env: Environment) -> Iterator[Finding]:
    for key, lt in env.launch_templates.items():
        if not lt.encrypted:
            yield Finding(
                ("launch_templates", key, "encrypted"),
                f"launch template '{key}' creates unencrypted root and scratch volumes",
                "remove `encrypted: false` (the default encrypts with the account's EBS key at "
                "no extra cost)",
            )


@rule("BF464", Level.WARNING, "a launch template allows IMDSv1 (imdsv2: optional)")
def imdsv1_allowed(env: Environment) -> Iterator[Finding]:
    for key, lt in env.launch_templates.items():
        if lt.imdsv2 == "optional":
            yield Finding(
                ("launch_templates", key, "imdsv2"),
                f"launch template '{key}' lets instances use IMDSv1, which an SSRF bug in any "
                "job can use to steal the instance role's credentials",
                "use `imdsv2: required` (the default); current AWS SDKs and the ECS agent "
                "support it",
            )


IMDS_DOCS = (
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html"
)
TASK_ROLE_DOCS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html"


@rule("BF471", Level.WARNING, "an IMDS hop limit above 1 lets every job read the instance role")
def imds_hop_limit_above_one(env: Environment) -> Iterator[Finding]:
    """Jobs get their own role's credentials from the ECS agent (169.254.170.2), never from
    IMDS (TASK_ROLE_DOCS); a container is one network hop behind the instance, so only a hop
    limit of 2 or more lets it fetch an IMDSv2 token and the instance profile's credentials
    (IMDS_DOCS, "hop limit"; checkov CKV_AWS_341)."""
    for key, lt in env.launch_templates.items():
        if lt.imds_hop_limit > 1:
            yield Finding(
                ("launch_templates", key, "imds_hop_limit"),
                f"launch template '{key}' sets imds_hop_limit {lt.imds_hop_limit}: every job's "
                "container can then read the instance role's credentials from the instance "
                "metadata service, bypassing its own least-privilege job role",
                "remove imds_hop_limit (default 1: jobs still get their job role's credentials "
                "from the ECS agent); keep 2 only for containers that must read instance "
                "metadata, and add BF471 to `ignore:` to record that decision",
            )


def looks_secret(name: str) -> bool:
    """Whether an environment variable name suggests its value is a credential."""
    upper = name.upper()
    if any(s in upper for s in SECRET_SUBSTRINGS):
        return True
    return any(word in SECRET_WORDS for word in re.split(r"[^A-Z0-9]+", upper))


def _plain_secret(name: str, value: str) -> bool:
    # An ARN or an empty value is a pointer or a placeholder, not the credential itself.
    return looks_secret(name) and bool(value) and not value.startswith("arn:")


@rule("BF465", Level.WARNING, "a secret-looking value is passed as a plain environment variable")
def secret_in_environment(env: Environment) -> Iterator[Finding]:
    hint = (
        "store it in Secrets Manager or SSM Parameter Store and pass it under `secrets:` "
        "({name}: arn:aws:secretsmanager:...); plain values are readable by anyone who can "
        "describe the job definition"
    )
    for name, value in (env.job_defaults.environment or {}).items():
        if _plain_secret(name, value):
            yield Finding(
                ("job_defaults", "environment", name),
                f"job_defaults passes '{name}' as a plain environment value to every job",
                hint.format(name=name),
            )
    for key, job in env.job_definitions.items():
        for name, value in (job.environment or {}).items():
            if _plain_secret(name, value):
                yield Finding(
                    ("job_definitions", key, "environment", name),
                    f"job definition '{key}' passes '{name}' as a plain environment value",
                    hint.format(name=name),
                )


def _role_buckets(env: Environment) -> Iterator[tuple[Path, str, str]]:
    """(path, job key, bucket part) of every bucket a generated job role names."""
    for key, job in env.job_definitions.items():
        if job.job_role is None:
            continue
        for access in ("s3_read", "s3_write"):
            for i, entry in enumerate(getattr(job.job_role, access)):
                bucket = entry.split("/", 1)[0]
                yield ("job_definitions", key, "job_role", access, i), key, bucket


@rule("BF466", Level.ERROR, "a job role grants S3 access to every bucket in the account")
def job_role_all_buckets(env: Environment) -> Iterator[Finding]:
    for path, key, bucket in _role_buckets(env):
        if bucket and set(bucket) == {"*"}:
            yield Finding(
                path,
                f"job definition '{key}' would get access to every S3 bucket ('{bucket}')",
                "list the buckets the job reads and writes by name",
            )


@rule("BF467", Level.WARNING, "a job role names S3 buckets with a wildcard")
def job_role_wildcard_bucket(env: Environment) -> Iterator[Finding]:
    for path, key, bucket in _role_buckets(env):
        if "*" in bucket and set(bucket) != {"*"}:
            yield Finding(
                path,
                f"job definition '{key}' matches S3 buckets by the pattern '{bucket}', which "
                "also matches buckets created later, possibly by someone else",
                "name the buckets exactly; bucket names are global, so a pattern can reach "
                "other accounts' buckets too",
            )


@rule("BF468", Level.ERROR, "a job role ARN is malformed")
def job_role_arn_malformed(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        if job.job_role is not None and job.job_role.arn is not None:
            arn = job.job_role.arn
            if not JOB_ROLE_ARN.match(arn):
                yield Finding(
                    ("job_definitions", key, "job_role", "arn"),
                    f"'{arn}' is not an IAM role ARN",
                    "expected arn:aws:iam::123456789012:role/NAME (a role, not a user, policy "
                    "or instance profile)",
                )


@rule("BF469", Level.ERROR, "a secret is not a Secrets Manager or SSM parameter ARN")
def secret_arn_malformed(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        for name, ref in job.secrets.items():
            if SECRETS_MANAGER_ARN.match(ref) or SSM_PARAMETER_ARN.match(ref):
                continue
            if ref.startswith("arn:"):
                message = (
                    f"secret '{name}' of job definition '{key}': '{ref}' is not a well-formed "
                    "Secrets Manager secret or SSM parameter ARN"
                )
            else:
                message = (
                    f"secret '{name}' of job definition '{key}' is not an ARN; batchform needs "
                    "the full ARN so the generated execution role can allow reading exactly this "
                    "secret (a plain value would also be exposed in the job definition)"
                )
            yield Finding(
                ("job_definitions", key, "secrets", name),
                message,
                "use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
                "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME",
            )


@rule("BF470", Level.ERROR, "a Terraform or provider version constraint is malformed")
def version_constraint_malformed(env: Environment) -> Iterator[Finding]:
    for name in ("required_version", "aws_provider"):
        value = getattr(env.terraform, name)
        if value is not None and not VERSION_CONSTRAINTS.match(value):
            yield Finding(
                ("terraform", name),
                f"terraform.{name} '{value}' is not a version constraint; `terraform init` "
                "would reject the whole generated module",
                "write it like '>= 1.5.0' or '~> 5.0' (operators =, !=, >, >=, <, <=, ~>; "
                "several separated by commas)",
            )
