"""Limits AWS enforces at apply time (BF232-BF237, BF334-BF336, BF444-BF449, BF492).

Each of these inputs passes the schema, compiles, and is then refused by an AWS API (or worse,
accepted and broken at job start). They are checked here, located at the key the user wrote,
so that ``validate`` fails instead of ``terraform apply`` half-way through. Every limit names its
source: the AWS API reference or user guide page quoted in the rule's hint or comment.
"""

from __future__ import annotations

import difflib
import math
import re
import typing
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from batchform import derive
from batchform import regions as regions_data
from batchform.checks import Finding, rule
from batchform.derive import compute_resource_tags, resource_tag_maps, user_data
from batchform.diagnostics import Level, Path
from batchform.model import Environment, JobDefinition
from batchform.naming import TAG_ENVIRONMENT, TAG_KEY

# --- tags (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html) --------------

MAX_TAGS_PER_RESOURCE = 50
TAGGING_DOC = "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html"


def _named_resources(env: Environment) -> bool:
    """Whether batchform creates resources that also carry a ``Name`` tag
    (compiler/batchform/plan/network.py
    tags the VPC, its subnets, gateways, route tables, endpoints and security groups so)."""
    network = env.network
    return network.vpc.create is not None or bool(network.security_groups or network.endpoints)


@rule("BF232", Level.ERROR, "a resource would carry more than 50 tags")
def tags_per_resource(env: Environment) -> Iterator[Finding]:
    """The provider merges ``default_tags`` (the file's ``tags``) into every resource's own tags;
    AWS refuses more than 50 on one resource. Job definitions are BF440's."""
    own = {TAG_ENVIRONMENT, TAG_KEY} | ({"Name"} if _named_resources(env) else set())
    total = len(set(env.tags) | own)
    hint = f"AWS allows {MAX_TAGS_PER_RESOURCE} tags per resource ({TAGGING_DOC}); drop some"
    if total > MAX_TAGS_PER_RESOURCE:
        yield Finding(
            ("tags",),
            f"resources would carry up to {total} tags: the file's {len(env.tags)} and "
            f"batchform's own ({', '.join(sorted(own - set(env.tags)))})",
            hint,
        )
        return
    for path, tags in resource_tag_maps(env):
        # a security group also carries a Name tag (compiler/batchform/plan/network.py)
        named = {"Name"} if path[0] == "network" else set()
        count = len(set(env.tags) | set(tags) | {TAG_ENVIRONMENT, TAG_KEY} | named)
        if count > MAX_TAGS_PER_RESOURCE:
            yield Finding(
                (*path, "tags"),
                f"{'.'.join(path)} would carry {count} tags (the file's tags, its own tags and "
                f"batchform's {'three' if named - set(tags) else 'two'})",
                hint,
            )
    for key, ce in env.compute_environments.items():
        if ce.is_fargate:
            continue
        count = len(set(env.tags) | set(compute_resource_tags(env, key)))
        if count > MAX_TAGS_PER_RESOURCE:
            yield Finding(
                ("compute_environments", key, "instance_tags"),
                f"the instances of compute environment '{key}' would carry {count} tags (the "
                "file's tags, these instance_tags and batchform's two)",
                hint,
            )


# --- regions ----------------------------------------------------------------------------------


def _region_problem(region: str) -> tuple[str, str] | None:
    if region in regions_data.known_regions():
        return None
    close = difflib.get_close_matches(region, sorted(regions_data.known_regions()), n=1, cutoff=0.7)
    hint = f"did you mean {close[0]}? " if close else ""
    hint += (
        "regions are those in botocore's endpoints.json (botocore/data/endpoints.json); "
        "if AWS opened this region since, upgrade boto3"
    )
    return f"'{region}' is not an AWS region", hint


@rule("BF233", Level.ERROR, "a region is not an AWS region")
def region_known(env: Environment) -> Iterator[Finding]:
    places: list[tuple[Path, str]] = [(("region",), env.region)]
    if env.terraform.backend is not None:
        places.append((("terraform", "backend", "s3", "region"), env.terraform.backend.s3.region))
    for path, region in places:
        problem = _region_problem(region)
        if problem is not None:
            yield Finding(path, *problem)


# --- EC2 ids (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Subnet.html) ----------

VPC_ID = re.compile(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})")
SUBNET_ID = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})")


def _listed_subnets(env: Environment) -> Iterator[tuple[Path, str]]:
    existing = env.network.vpc.existing
    if existing is not None:
        for tier in ("private_subnets", "public_subnets"):
            for i, subnet in enumerate(getattr(existing, tier)):
                yield ("network", "vpc", "existing", tier, i), subnet
    for key, ce in env.compute_environments.items():
        if isinstance(ce.subnets, list):
            for i, subnet in enumerate(ce.subnets):
                yield ("compute_environments", key, "subnets", i), subnet


@rule("BF234", Level.ERROR, "a VPC or subnet id is malformed")
def ec2_id_syntax(env: Environment) -> Iterator[Finding]:
    existing = env.network.vpc.existing
    if existing is not None and not VPC_ID.fullmatch(existing.vpc_id):
        yield Finding(
            ("network", "vpc", "existing", "vpc_id"),
            f"{existing.vpc_id!r} is not a VPC id",
            "VPC ids are vpc- and 8 or 17 hexadecimal digits, such as vpc-0123456789abcdef0",
        )
    for path, subnet in _listed_subnets(env):
        if not SUBNET_ID.fullmatch(subnet):
            yield Finding(
                path,
                f"{subnet!r} is not a subnet id",
                "subnet ids are subnet- and 8 or 17 hexadecimal digits, such as "
                "subnet-0123456789abcdef0",
            )


# --- IAM and SSM names --------------------------------------------------------------------------

IAM_NAMES_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
SSM_NAMES_DOC = (
    "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html"
)


def _shown(chars: set[str]) -> str:
    """Characters as a user can find them: printable ones as they are, others escaped."""
    return ", ".join(repr(c) for c in sorted(chars))


@rule("BF235", Level.ERROR, "an IAM ARN has non-ASCII characters")
def iam_names_ascii(env: Environment) -> Iterator[Finding]:
    """IAM names and paths are ASCII only (letters, digits and ``+=,.@_-``); the ARN patterns of
    BF222/BF468 match any Unicode letter, so this is checked on its own."""
    places: list[tuple[Path, str]] = [
        (("iam", name), getattr(env.iam, name))
        for name in ("service_role", "spot_fleet_role", "execution_role")
    ]
    places.insert(1, (("iam", "instance_role"), env.iam.instance_role_value))
    for key, job in env.job_definitions.items():
        if job.job_role is not None and job.job_role.arn is not None:
            places.append((("job_definitions", key, "job_role", "arn"), job.job_role.arn))
    for path, value in places:
        bad = {c for c in value if not c.isascii()}
        if bad:
            yield Finding(
                path,
                f"IAM names are ASCII only; this ARN contains {_shown(bad)}",
                f"IAM names allow ASCII letters, digits and +=,.@_- ({IAM_NAMES_DOC})",
            )


SSM_NAME_CHARS = re.compile(r"[a-zA-Z0-9_.\-/]+")
SSM_MAX_LEVELS = 15
SSM_MAX_NAME = 1011
_SSM_ARN = re.compile(r"arn:[^:]*:ssm:[^:]*:[^:]*:parameter(/.*)", re.DOTALL)


def _ssm_problem(name: str) -> str | None:
    if not name or name == "/":
        return "the parameter name is empty"
    if not SSM_NAME_CHARS.fullmatch(name):
        bad = {c for c in name if not SSM_NAME_CHARS.fullmatch(c)}
        return f"parameter names allow a-zA-Z0-9_.- and /, not {_shown(bad)}"
    if "/" in name and not name.startswith("/"):
        return "a parameter name with a hierarchy must start with '/'"
    if "//" in name or name.endswith("/"):
        return "a parameter name has an empty hierarchy level ('//' or a trailing '/')"
    if name.count("/") > SSM_MAX_LEVELS:
        return f"a parameter name has at most {SSM_MAX_LEVELS} hierarchy levels"
    if len(name) > SSM_MAX_NAME:
        return f"a parameter name is at most {SSM_MAX_NAME} characters"
    return None


@rule("BF236", Level.ERROR, "an SSM parameter name is malformed")
def ssm_names(env: Environment) -> Iterator[Finding]:
    hint = f"SSM parameter names: {SSM_NAMES_DOC}"
    for key, ami in env.amis.items():
        if ami.ssm_parameter is not None:
            problem = _ssm_problem(ami.ssm_parameter)
            if problem is not None:
                yield Finding(("amis", key, "ssm_parameter"), problem, hint)
    for key, job in env.job_definitions.items():
        for name, value in job.secrets.items():
            m = _SSM_ARN.fullmatch(value)
            if m is None:
                continue  # not an SSM ARN: BF469 reports malformed ARNs
            problem = _ssm_problem(m.group(1))
            if problem is not None:
                yield Finding(("job_definitions", key, "secrets", name), problem, hint)


BACKEND_REQUIRED = ("bucket", "key", "region")


@rule("BF237", Level.ERROR, "a Terraform S3 backend setting is empty or malformed")
def backend_settings(env: Environment) -> Iterator[Finding]:
    """``terraform init`` rejects an empty bucket or key, and a key that starts or ends with
    ``/`` or contains ``//`` (``PrepareConfig`` in internal/backend/remote-state/s3/backend.go
    of hashicorp/terraform); an empty dynamodb_table names a lock table that cannot exist
    (https://developer.hashicorp.com/terraform/language/backend/s3)."""
    if env.terraform.backend is None:
        return
    s3 = env.terraform.backend.s3
    key = s3.key.strip()
    if key and (key.startswith("/") or key.endswith("/") or "//" in key):
        yield Finding(
            ("terraform", "backend", "s3", "key"),
            f"the state key {s3.key!r} starts or ends with '/' or contains '//'; the S3 "
            "backend refuses it",
            "write the key as a relative path such as batch/prod.tfstate",
        )
    for name in (*BACKEND_REQUIRED, "dynamodb_table"):
        value: str | None = getattr(s3, name)
        if value is not None and not value.strip():
            hint = "give a value" + (", or remove the key" if name == "dynamodb_table" else "")
            yield Finding(
                ("terraform", "backend", "s3", name),
                f"terraform.backend.s3.{name} is empty",
                hint,
            )
        elif value is not None and value != value.strip():
            yield Finding(
                ("terraform", "backend", "s3", name),
                f"terraform.backend.s3.{name} has leading or trailing whitespace: {value!r}",
                "remove the spaces; S3 bucket names, keys and regions never carry them",
            )


# --- compute environments ----------------------------------------------------------------------

MAX_USER_DATA_BYTES = 16 * 1024


@rule("BF334", Level.ERROR, "launch template user data is over 16 KiB after MIME wrapping")
def user_data_size(env: Environment) -> Iterator[Finding]:
    """EC2: "User data is limited to 16 KB, in raw form, before it is base64-encoded"
    (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html).
    What counts is the MIME document batchform generates around the user's script, with the
    scratch volume's setup part (compiler/batchform/plan/compute.py ``user_data``)."""
    for key, lt in env.launch_templates.items():
        text = user_data(lt)
        if text is None:
            continue
        size = len(text.encode("utf-8"))
        if size > MAX_USER_DATA_BYTES:
            path: Path = ("launch_templates", key)
            if lt.user_data is not None:
                path = (*path, "user_data")
            yield Finding(
                path,
                f"the user data of launch template '{key}' is {size} bytes after MIME wrapping; "
                f"EC2 accepts at most {MAX_USER_DATA_BYTES}",
                "move the script to S3 (or into the AMI) and download it from a short user_data",
            )


@rule("BF335", Level.ERROR, "a compute environment lists no instance types")
def instance_types_not_empty(env: Environment) -> Iterator[Finding]:
    """CreateComputeEnvironment needs at least one instance type for EC2/SPOT
    (https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html)."""
    for key, ce in env.compute_environments.items():
        if ce.instance_types == [] and not ce.is_fargate:
            yield Finding(
                ("compute_environments", key, "instance_types"),
                f"compute environment '{key}' lists no instance types",
                "remove the key to let Batch choose ([optimal]), or list families or types",
            )


@rule("BF336", Level.ERROR, "a compute environment lists subnets outside the file's VPC")
def subnets_in_vpc(env: Environment) -> Iterator[Finding]:
    """Batch refuses subnets and security groups of different VPCs; listed ids are only known
    to be in the VPC when network.vpc.existing lists them (BF215 covers the tiers)."""
    vpc = env.network.vpc
    for key, ce in env.compute_environments.items():
        if not isinstance(ce.subnets, list):
            continue
        for i, subnet in enumerate(ce.subnets):
            path = ("compute_environments", key, "subnets", i)
            if vpc.create is not None:
                yield Finding(
                    path,
                    f"compute environment '{key}' lists subnet {subnet!r}, but the VPC is "
                    "created by this file: its subnets have no ids yet, and this one is in "
                    "another VPC than the security groups",
                    "use subnets: private or subnets: public",
                )
            elif vpc.existing is not None and SUBNET_ID.fullmatch(subnet):
                listed = {*vpc.existing.private_subnets, *vpc.existing.public_subnets}
                if subnet not in listed:
                    yield Finding(
                        path,
                        f"subnet {subnet} is not listed under network.vpc.existing, so "
                        "batchform cannot tell that it is in that VPC",
                        "add it to network.vpc.existing.private_subnets (or public_subnets)",
                    )


# --- job definitions ---------------------------------------------------------------------------

CONTAINER_PROPERTIES_DOC = (
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerProperties.html"
)
IMAGE_MAX = 255
# Letters, digits, - _ : . / # (the API reference's list), and @ for digests (image@sha256:...).
IMAGE_CHARS = re.compile(r"[A-Za-z0-9\-_:./#@]+")


# The image reference grammar Docker and containerd parse the image with when the job starts
# (reference.go and regexp.go of github.com/distribution/reference): what fails it ends as
# "CannotPullContainerError: invalid reference format" on an instance, after the job waited.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    re.ASCII,
)


def _image_problem(image: str) -> str | None:
    if not image.strip():
        return "the image is empty"
    if len(image) > IMAGE_MAX:
        return f"the image is {len(image)} characters long; Batch allows {IMAGE_MAX}"
    if not IMAGE_CHARS.fullmatch(image):
        bad = {c for c in image if not IMAGE_CHARS.fullmatch(c)}
        return f"the image contains characters Batch rejects: {_shown(bad)}"
    if not IMAGE_REFERENCE.fullmatch(image):
        if IMAGE_REFERENCE.fullmatch(image.lower()):
            return f"{image!r} has uppercase letters in its repository name, which Docker refuses"
        return f"{image!r} is not an image reference Docker can pull"
    return None


@rule("BF444", Level.ERROR, "a job image is not a reference Batch and Docker accept")
def image_name(env: Environment) -> Iterator[Finding]:
    hint = (
        f"[registry/]repository[:tag][@digest], up to {IMAGE_MAX} characters, the repository "
        f"in lowercase ({CONTAINER_PROPERTIES_DOC})"
    )
    for key, job in env.job_definitions.items():
        for path, image in derive.job_images(job, key):
            problem = _image_problem(image)
            if problem is not None:
                yield Finding(path, problem, hint)


EFS_DOC = "https://docs.aws.amazon.com/efs/latest/ug/API_FileSystemDescription.html"
EFS_ID = re.compile(r"fs-[0-9a-f]{8,40}")
ACCESS_POINT_ID = re.compile(r"fsap-[0-9a-f]{8,40}")


@rule("BF445", Level.ERROR, "an EFS file system or access point id is malformed")
def efs_ids(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        for i, volume in enumerate(job.volumes):
            path: Path = ("job_definitions", key, "volumes", i)
            if volume.efs is not None and not EFS_ID.fullmatch(volume.efs):
                yield Finding(
                    (*path, "efs"),
                    f"{volume.efs!r} is not an EFS file system id",
                    f"file system ids are fs- and 8-40 lowercase hex digits ({EFS_DOC})",
                )
            ap = volume.access_point
            if ap is not None and not ACCESS_POINT_ID.fullmatch(ap):
                yield Finding(
                    (*path, "access_point"),
                    f"{ap!r} is not an EFS access point id",
                    "access point ids are fsap- and 8-40 lowercase hex digits "
                    "(https://docs.aws.amazon.com/efs/latest/ug/API_AccessPointDescription.html)",
                )


def _path_problem(path: str) -> str | None:
    if not path.startswith("/"):
        return "is not an absolute path"
    if any(not c.isprintable() for c in path):
        return "contains control characters"
    return None


@rule("BF446", Level.ERROR, "a volume path is not absolute, or two volumes mount at one path")
def volume_paths(env: Environment) -> Iterator[Finding]:
    """Docker mounts only at absolute paths and refuses two mounts at one destination
    ("Duplicate mount point"); ECS passes the job's mount points to it unchanged."""
    for key, job in env.job_definitions.items():
        seen: dict[str, int] = {}
        for i, volume in enumerate(job.volumes):
            base: Path = ("job_definitions", key, "volumes", i)
            for name in ("container_path", "host_path", "root_directory"):
                value: str | None = getattr(volume, name)
                problem = None if value is None else _path_problem(value)
                if problem is not None:
                    yield Finding(
                        (*base, name),
                        f"{name} {value!r} {problem}",
                        "write an absolute path such as /data",
                    )
            target = volume.container_path.rstrip("/") or "/"
            if target in seen:
                yield Finding(
                    (*base, "container_path"),
                    f"volumes {seen[target]} and {i} of job definition '{key}' both mount at "
                    f"{target}",
                    "mount each volume at its own container path",
                )
            else:
                seen[target] = i


ENV_NAME_BAD = re.compile(r"[=\s\x00-\x1f\x7f]")


def _variable_places(env: Environment) -> Iterator[tuple[Path, str, str]]:
    """(path of the name, name, "environment variable" | "secret") for every variable name."""
    if env.job_defaults.environment:
        for name in env.job_defaults.environment:
            yield ("job_defaults", "environment", name), name, "environment variable"
    for key, job in env.job_definitions.items():
        for name in job.environment or {}:
            yield ("job_definitions", key, "environment", name), name, "environment variable"
        for name in job.secrets:
            yield ("job_definitions", key, "secrets", name), name, "secret"


@rule("BF447", Level.ERROR, "an environment variable or secret name is empty or has = or spaces")
def variable_names(env: Environment) -> Iterator[Finding]:
    """Docker passes variables as ``NAME=value``: a name with ``=`` or whitespace is split or
    refused by the container runtime, an empty one is dropped."""
    hint = "names are letters, digits and _ (no '=', spaces or control characters)"
    for path, name, what in _variable_places(env):
        if not name:
            yield Finding(path, f"an {what} has an empty name", hint)
        elif ENV_NAME_BAD.search(name):
            bad = {c for c in name if ENV_NAME_BAD.match(c)}
            yield Finding(path, f"{what} name {name!r} contains {_shown(bad)}", hint)


def _merged(env: Environment, key: str) -> JobDefinition:
    return env.job(key)


@rule("BF448", Level.ERROR, "a job sets a secret and an environment variable of the same name")
def secret_shadows_variable(env: Environment) -> Iterator[Finding]:
    """ECS passes both to the container as variables; which of the two a job then sees is not
    defined, so a job could run with a plain default where a secret was meant."""
    for key, own in env.job_definitions.items():
        environment: Mapping[str, str] = _merged(env, key).environment or {}
        for name in own.secrets:
            if name in environment:
                yield Finding(
                    ("job_definitions", key, "secrets", name),
                    f"'{name}' is both a secret and an environment variable of job definition "
                    f"'{key}'",
                    "remove one of them (an environment variable from job_defaults can be "
                    "overridden only by another environment variable)",
                )


PLATFORM_VERSION = re.compile(r"LATEST|\d+\.\d+\.\d+")


@rule("BF449", Level.ERROR, "a Fargate platform version is not LATEST or a version like 1.4.0")
def platform_version_syntax(env: Environment) -> Iterator[Finding]:
    """FargatePlatformConfiguration.platformVersion: ``LATEST`` or a version such as ``1.4.0``
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-linux-fargate.html)."""
    places: list[tuple[Path, str | None]] = [
        (("job_defaults", "platform_version"), env.job_defaults.platform_version)
    ]
    for key, job in env.job_definitions.items():
        places.append((("job_definitions", key, "platform_version"), job.platform_version))
    for path, version in places:
        if version is not None and not PLATFORM_VERSION.fullmatch(version):
            yield Finding(
                path,
                f"{version!r} is not a Fargate platform version",
                "use LATEST or a version such as 1.4.0",
            )


# --- integers AWS stores in 32 bits --------------------------------------------------------------

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
# Fields a narrower range rule already bounds (BF217, BF304, BF319, BF323-BF325, BF405, BF410,
# BF415-BF418, BF429, BF432, BF441): one error per value is enough.
RANGE_CHECKED = frozenset(
    {
        "after",
        "attempts",
        "bid_percentage",
        "compute_reservation",
        "ephemeral_storage",
        "iops",
        "job_execution_timeout",
        "log_retention_days",
        "ports",
        "priority",
        "share_decay",
        "size",
        "throughput",
        "weight",
    }
)


def _holds_numbers(annotation: Any) -> bool:
    """Whether a field of this type can hold a number, directly or in a nested model."""
    if annotation in (int, float):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_numbers(arg) for arg in typing.get_args(annotation))


@cache
def _numeric_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields of ``model`` worth visiting: those that can hold a number, minus those a narrower
    range rule already bounds."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if name not in RANGE_CHECKED and _holds_numbers(field.annotation)
    )


def _numbers(root: BaseModel) -> Iterator[tuple[Path, int | float]]:
    """Every number the user wrote in the model, with its document path (fields left at their
    defaults are skipped). Iterative, and it skips fields that hold only text: it runs over
    every job definition of a file with thousands."""
    stack: list[tuple[Path, Any]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, bool | str | None):
            continue
        if isinstance(node, int | float):
            yield path, node
        elif isinstance(node, BaseModel):
            wanted = _numeric_fields(type(node))
            for name in node.model_fields_set & wanted:
                stack.append(((*path, name), getattr(node, name)))
        elif isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))


@rule("BF492", Level.ERROR, "a number does not fit the 32-bit integer AWS stores it in")
def int32_fields(env: Environment) -> Iterator[Finding]:
    """Every count, size and duration in the Batch, EC2 and CloudWatch APIs is an ``Integer``
    (e.g. ``maxvCpus``, ``attemptDurationSeconds``, ``memory`` in
    https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html and
    API_ContainerProperties.html): 32-bit signed. Values converted from units (``2 PiB``,
    ``100000000d``) are checked after conversion."""
    for path, value in _numbers(env):
        if INT32_MIN <= value <= INT32_MAX:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            message = f"{value} is not a finite number; AWS stores this value as an integer"
        else:
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            message = (
                f"{shown} does not fit the 32-bit integer AWS stores this value in (at most "
                f"{INT32_MAX})"
            )
        yield Finding(path, message, "use a smaller value")
