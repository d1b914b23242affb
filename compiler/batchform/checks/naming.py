"""Rules of issue 12's compute, IAM and naming keys (BF560-BF579): names the file chooses
(``aws_name``, ``aws_name_prefix``), existing launch templates, and IAM path, boundary and
managed policies.

The AWS name pattern of the Batch kinds is BF400, of security groups BF567, of schedules BF568;
a compute environment prefix's length BF321, and two resources of one kind with one name
BF493 (``compiler/batchform/build.py``, which also compares the files compiled together).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchform.checks import Finding, rule
from batchform.derive import needs_instance_role
from batchform.diagnostics import Level, Path
from batchform.model import Environment
from batchform.naming import (
    NAMED_SECTIONS,
    NamedSection,
    name_source,
    resource_name,
    section_entries,
    section_path,
)


@rule("BF560", Level.ERROR, "both aws_name and aws_name_prefix are set")
def aws_name_or_prefix(env: Environment) -> Iterator[Finding]:
    """An exact name and a prefix contradict each other; rather than silently prefer one,
    ask for the one the author meant."""
    for section in NAMED_SECTIONS:
        for key, entry in section_entries(env, section).items():
            if entry.aws_name is not None and entry.aws_name_prefix is not None:
                path = section_path(section, key)
                yield Finding(
                    (*path, "aws_name_prefix"),
                    f"{'.'.join(path)} sets both aws_name '{entry.aws_name}' and "
                    f"aws_name_prefix '{entry.aws_name_prefix}'",
                    "keep aws_name for an exact name (to adopt an existing resource), or "
                    "aws_name_prefix for a name made from a prefix and the key",
                )


# --- existing launch templates ---------------------------------------------------------------

LAUNCH_TEMPLATE_ID = re.compile(r"^lt-([0-9a-f]{8}|[0-9a-f]{17})\Z")
# EC2 CreateLaunchTemplate, LaunchTemplateName: 3-128 characters of [a-zA-Z0-9().-/_]
LAUNCH_TEMPLATE_NAME = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}\Z")
VERSION_NUMBER = re.compile(r"^[1-9][0-9]{0,17}\Z")
LT_SPEC_DOC = (
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_LaunchTemplateSpecification.html"
)


@rule("BF561", Level.ERROR, "an existing launch template is not pinned to a version number")
def existing_launch_template_version(env: Environment) -> Iterator[Finding]:
    """Batch resolves ``$Latest`` and ``$Default`` once, when the compute environment is
    created (or its infrastructure updated): a new version of the template never reaches the
    CE by itself, and nothing in the plan would show it (API_LaunchTemplateSpecification)."""
    for key, ce in env.compute_environments.items():
        lt = ce.existing_launch_template
        if lt is None:
            continue
        path = ("compute_environments", key, "launch_template")
        hint = (
            'write the version number you tested, e.g. version: "7"; Batch resolves $Latest '
            "and $Default only when the compute environment is created or updated, so later "
            f"versions would never reach it ({LT_SPEC_DOC})"
        )
        if lt.version is None:
            yield Finding(
                path,
                f"the existing launch template of compute environment '{key}' has no version",
                hint,
            )
        elif not VERSION_NUMBER.match(lt.version):
            yield Finding(
                (*path, "version"),
                f"launch template version '{lt.version}' is not a version number",
                hint,
            )


@rule("BF562", Level.ERROR, "an existing launch template's id or name is malformed")
def existing_launch_template_reference(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        lt = ce.existing_launch_template
        if lt is None:
            continue
        path = ("compute_environments", key, "launch_template")
        if lt.id is not None and not LAUNCH_TEMPLATE_ID.match(lt.id):
            yield Finding(
                (*path, "id"),
                f"'{lt.id}' is not a launch template id",
                "ids are lt- and 17 hexadecimal digits (lt-0123456789abcdef0); use name: for "
                "a template's name",
            )
        if lt.name is not None and not LAUNCH_TEMPLATE_NAME.match(lt.name):
            yield Finding(
                (*path, "name"),
                f"'{lt.name}' is not a launch template name",
                "names are 3-128 letters, digits and ( ) . - / _ (EC2 CreateLaunchTemplate)",
            )


# --- IAM: path, permissions boundary, managed policies ----------------------------------------

# IAM CreateRole / CreateInstanceProfile Path: "/" or "/" + ASCII 0x21-0x7E + "/", 1-512.
IAM_PATH = re.compile(r"^(/|/[\x21-\x7e]+/)\Z")
IAM_PATH_MAX = 512
IAM_PATH_DOC = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"
# A managed policy: AWS's (account "aws") or an account's, with an optional path.
POLICY_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov|-iso(-[a-z])?)?:iam::(aws|\d{12}):policy/([\x21-\x7e]*/)?"
    r"[A-Za-z0-9+=,.@_-]{1,128}\Z"
)
QUOTAS_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
MANAGED_POLICIES_DEFAULT_QUOTA = 10
MANAGED_POLICIES_MAX_QUOTA = 20


@rule("BF563", Level.ERROR, "iam.path is not an IAM path")
def iam_path_valid(env: Environment) -> Iterator[Finding]:
    path = env.iam.path
    if path is None:
        return
    if not IAM_PATH.match(path) or len(path) > IAM_PATH_MAX:
        yield Finding(
            ("iam", "path"),
            f"iam.path '{path}' is not an IAM path",
            f"write / or /team/batch/: it starts and ends with /, at most {IAM_PATH_MAX} "
            f"printable ASCII characters without spaces ({IAM_PATH_DOC})",
        )


def _policy_arns(env: Environment) -> Iterator[tuple[Path, str]]:
    """Every policy ARN the file names, with the path where it is written."""
    if env.iam.permissions_boundary is not None:
        yield ("iam", "permissions_boundary"), env.iam.permissions_boundary
    for i, arn in enumerate(env.iam.instance_role_policies):
        yield ("iam", "instance_role", "managed_policies", i), arn
    for key, job in env.job_definitions.items():
        if job.job_role is not None:
            for i, arn in enumerate(job.job_role.managed_policies):
                yield ("job_definitions", key, "job_role", "managed_policies", i), arn


@rule("BF564", Level.ERROR, "a managed policy or permissions boundary ARN is malformed")
def policy_arns_valid(env: Environment) -> Iterator[Finding]:
    for path, arn in _policy_arns(env):
        if not POLICY_ARN.match(arn):
            hint = "arn:aws:iam::123456789012:policy/NAME or arn:aws:iam::aws:policy/NAME"
            if ":role/" in arn:
                hint = "that is a role; name a policy (arn:...:policy/NAME) instead"
            yield Finding(path, f"'{arn}' is not the ARN of a managed policy", hint)


@rule("BF565", Level.ERROR, "a generated role would carry more managed policies than IAM allows")
def managed_policy_quota(env: Environment) -> Iterator[Finding]:
    """IAM attaches 10 managed policies to a role by default, 20 after a quota increase
    (reference_iam-quotas); batchform's own (the ECS instance policy) count too."""
    places: list[tuple[Path, int]] = []
    if env.iam.instance_role_policies:
        own = 1  # AmazonEC2ContainerServiceforEC2Role
        places.append((("iam", "instance_role", "managed_policies"), own))
    for key, job in env.job_definitions.items():
        if job.job_role is not None and job.job_role.managed_policies:
            places.append((("job_definitions", key, "job_role", "managed_policies"), 0))
    for path, own in places:
        total = own + len(set(_listed(env, path)))
        if total <= MANAGED_POLICIES_DEFAULT_QUOTA:
            continue
        over_max = total > MANAGED_POLICIES_MAX_QUOTA
        yield Finding(
            path,
            f"the role would carry {total} managed policies"
            + (f" ({own} of batchform's own)" if own else "")
            + f"; IAM allows {MANAGED_POLICIES_DEFAULT_QUOTA} per role by default, "
            f"{MANAGED_POLICIES_MAX_QUOTA} at most",
            "merge policies into fewer customer-managed ones"
            if over_max
            else "request the 'Managed policies per role' quota increase before applying "
            f"({QUOTAS_DOC}), or merge policies",
            level=None if over_max else Level.WARNING,
        )


def _listed(env: Environment, path: Path) -> list[str]:
    if path[0] == "iam":
        return env.iam.instance_role_policies
    job_role = env.job_definitions[str(path[1])].job_role
    return job_role.managed_policies if job_role is not None else []


@rule("BF566", Level.WARNING, "iam.instance_role lists policies but no instance role is generated")
def instance_role_policies_unused(env: Environment) -> Iterator[Finding]:
    """The instance role exists only for EC2/SPOT compute environments; policies listed
    without one would silently attach to nothing."""
    if env.iam.instance_role_policies and not needs_instance_role(env):
        yield Finding(
            ("iam", "instance_role", "managed_policies"),
            "no EC2 or SPOT compute environment uses the generated instance role, so these "
            "policies are attached to nothing",
            "remove them, or add an EC2/SPOT compute environment",
        )


# --- names of security groups and schedules (their services' own rules) -----------------------


def _name_and_path(env: Environment, section: NamedSection, key: str) -> tuple[str, Path, str]:
    """The AWS name a resource gets, the path of what chose it (:func:`name_source`) and what
    to change."""
    path = name_source(env, section, key)
    if path == ("name",):
        what = "the environment name"
    elif path == section_path(section, key):
        what = "the environment name or the key"
    else:
        what = path[-1]  # aws_name or aws_name_prefix
    return resource_name(env, section, key), path, what


# EC2 CreateSecurityGroup, GroupName (VPC): up to 255 characters of a-z A-Z 0-9, spaces and
# ._-:/()#,@[]+=&;{}!$*, not starting with sg- (a group id's form).
SECURITY_GROUP_NAME = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}\Z")
SECURITY_GROUP_NAME_MAX = 255
SG_DOC = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"
RESERVED_SECURITY_GROUP_NAME = "default"


def security_group_name_problem(name: str) -> str | None:
    """Why EC2 would refuse ``name`` for a group in a VPC, or None."""
    if not name:
        return "it is empty"
    if len(name) > SECURITY_GROUP_NAME_MAX:
        return f"it is {len(name)} characters; EC2 allows at most {SECURITY_GROUP_NAME_MAX}"
    if not SECURITY_GROUP_NAME.match(name):
        bad = sorted({c for c in name if not SECURITY_GROUP_NAME.match(c)})
        return "it contains characters EC2 refuses: " + ", ".join(repr(c) for c in bad)
    if name.startswith("sg-"):
        return "it starts with 'sg-', which EC2 keeps for group ids"
    if name.lower() == RESERVED_SECURITY_GROUP_NAME:
        return "it is the name of the VPC's own default group (names are unique per VPC)"
    return None


@rule("BF567", Level.ERROR, "a security group's AWS name is not one EC2 accepts")
def security_group_names_valid(env: Environment) -> Iterator[Finding]:
    """EC2 refuses the group at apply time (InvalidParameterValue), after the resources before
    it were created; two groups with one name in one VPC are BF493."""
    for key in env.security_group_definitions():
        name, path, what = _name_and_path(env, "security_groups", key)
        problem = security_group_name_problem(name)
        if problem is not None:
            yield Finding(
                path,
                f"the AWS name '{name}' of security group '{key}' is not one EC2 accepts: "
                + problem,
                f"change {what}: group names are 1-{SECURITY_GROUP_NAME_MAX} letters, digits, "
                f"spaces and ._-:/()#,@[]+=&;{{}}!$*, not starting with sg- ({SG_DOC})",
            )


# EventBridge Scheduler CreateSchedule, Name: 1-64 characters of [0-9a-zA-Z-_.]
SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}\Z")
SCHEDULE_NAME_MAX = 64
SCHEDULE_DOC = "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html"


@rule("BF568", Level.ERROR, "a schedule's AWS name is not one EventBridge Scheduler accepts")
def schedule_names_valid(env: Environment) -> Iterator[Finding]:
    """Scheduler refuses the schedule at apply time (ValidationException); two schedules with
    one name in the schedule group are BF493."""
    for key in env.schedules:
        name, path, what = _name_and_path(env, "schedules", key)
        if SCHEDULE_NAME.match(name):
            continue
        problem = (
            f"it is {len(name)} characters; Scheduler allows at most {SCHEDULE_NAME_MAX}"
            if len(name) > SCHEDULE_NAME_MAX
            else "it is empty"
            if not name
            else "it contains characters Scheduler refuses: "
            + ", ".join(repr(c) for c in sorted({c for c in name if not SCHEDULE_NAME.match(c)}))
        )
        yield Finding(
            path,
            f"the AWS name '{name}' of schedule '{key}' is not one Scheduler accepts: {problem}",
            f"change {what}: schedule names are 1-{SCHEDULE_NAME_MAX} letters, digits, '-', "
            f"'_' and '.' ({SCHEDULE_DOC})",
        )
