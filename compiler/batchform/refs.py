"""Terraform addresses of generated resources, and the references between them.

One place decides every label so that the plan modules (which both define resources and point
at each other's) agree; the checks (through :mod:`batchform.derive`), the verifier and diff read
the same answers. Like :mod:`batchform.naming` for AWS names, it is a leaf every stage may
import. A value is either an :class:`~batchform.hcl.Expr` (a reference to a generated resource)
or a plain string the user gave (an existing id or ARN).
"""

from __future__ import annotations

from batchform.hcl import Expr, Variable, VariableList
from batchform.model import Environment, is_security_group_id
from batchform.naming import label

SERVICE_LINKED = "service-linked"
GENERATED = "generated"

SPOT_FLEET_STRATEGIES = (None, "BEST_FIT")


def az_label(az: str) -> str:
    return label(az)


def subnet_address(tier: str, az: str) -> str:
    """``aws_subnet.private_us_west_2a`` for a subnet the environment creates."""
    return f"aws_subnet.{tier}_{az_label(az)}"


VPC_ID_VARIABLE = "vpc_id"
SUBNET_IDS_VARIABLES = {"private": "private_subnet_ids", "public": "public_subnet_ids"}
"""The variables of a child module (``terraform.output: module``) over an existing VPC."""


def vpc_id(env: Environment) -> Expr | str:
    """An existing VPC's id is the file's literal; in a child module, the variable whose
    default it is (:class:`~batchform.hcl.Variable`)."""
    vpc = env.network.vpc
    if vpc.existing is not None:
        if env.terraform.output == "module":
            return Variable(vpc.existing.vpc_id, VPC_ID_VARIABLE)
        return vpc.existing.vpc_id
    return Expr("aws_vpc.main.id")


def existing_subnets(env: Environment, tier: str) -> list[Expr | str]:
    """The listed subnet ids of an existing VPC's ``tier`` (``private``/``public``); in a
    child module, the variable whose default they are, when the file lists any."""
    existing = env.network.vpc.existing
    assert existing is not None
    chosen: list[Expr | str] = list(
        existing.private_subnets if tier == "private" else existing.public_subnets
    )
    if chosen and env.terraform.output == "module":
        return VariableList(chosen, SUBNET_IDS_VARIABLES[tier])
    return chosen


def subnet_ids(env: Environment, selection: str | list[str]) -> list[Expr | str]:
    """Subnet ids for a compute environment's ``subnets`` (``private``, ``public`` or ids)."""
    if isinstance(selection, list):
        return list(selection)
    vpc = env.network.vpc
    if vpc.existing is not None:
        return existing_subnets(env, selection)
    assert vpc.create is not None
    return [Expr(f"{subnet_address(selection, az)}.id") for az in vpc.create.availability_zones]


def ce_subnet_ids(env: Environment, key: str) -> list[Expr | str]:
    """A compute environment's subnets: its ``subnets`` selection, narrowed to its
    ``availability_zones`` (which check BF341 allows only for subnets batchform creates)."""
    ce = env.compute_environments[key]
    create = env.network.vpc.create
    zones = ce.availability_zones
    if zones is None or create is None or isinstance(ce.subnets, list):
        return subnet_ids(env, ce.subnets)
    return [
        Expr(f"{subnet_address(ce.subnets, az)}.id")
        for az in create.availability_zones
        if az in zones
    ]


def ce_availability_zones(env: Environment, key: str) -> list[str] | None:
    """The AZs a compute environment launches into, ``None`` when batchform cannot know them
    (subnets of an existing VPC, or listed by id)."""
    ce = env.compute_environments[key]
    create = env.network.vpc.create
    if create is None or isinstance(ce.subnets, list):
        return None
    zones = ce.availability_zones
    return [az for az in create.availability_zones if zones is None or az in zones]


def placement_group_name(env: Environment, key: str) -> Expr | str | None:
    """A CE's ``placement_group``: the group batchform creates for it, or the name given."""
    group = env.compute_environments[key].placement_group
    if group is None or isinstance(group, str):
        return group
    return Expr(f"aws_placement_group.{label(key)}.name")


def security_group_id(key: str) -> Expr | str:
    """A generated group's id, or the id of an existing group a file names as is."""
    if is_security_group_id(key):
        return key
    return Expr(f"aws_security_group.{label(key)}.id")


def service_role_arn(env: Environment) -> Expr | str | None:
    """``None`` means: leave ``service_role`` unset so Batch uses its service-linked role."""
    role = env.iam.service_role
    if role == SERVICE_LINKED:
        return None
    if role == GENERATED:
        return Expr("aws_iam_role.batch_service.arn")
    return role


def instance_profile_arn(env: Environment) -> Expr | str:
    role = env.iam.instance_role_value
    if role == GENERATED:
        return Expr("aws_iam_instance_profile.ecs_instance.arn")
    return role


def needs_spot_fleet_role(env: Environment) -> bool:
    """Only SPOT compute environments with BEST_FIT (or no strategy) use a spot fleet role."""
    return any(
        ce.type == "SPOT" and ce.allocation_strategy in SPOT_FLEET_STRATEGIES
        for ce in env.compute_environments.values()
    )


def spot_fleet_role_arn(env: Environment) -> Expr | str | None:
    if not needs_spot_fleet_role(env):
        return None
    role = env.iam.spot_fleet_role
    if role == GENERATED:
        return Expr("aws_iam_role.spot_fleet.arn")
    return role


def needs_execution_role(env: Environment) -> bool:
    """Fargate jobs always need an execution role; EC2 jobs only to read secrets (their own,
    or their log driver's ``secret_options``)."""
    for key in env.job_definitions:
        job = env.job(key)
        if job.platform == "FARGATE" or job.all_secrets or job.all_log_secret_options:
            return True
    return False


def execution_role_arn(env: Environment) -> Expr | str | None:
    if not needs_execution_role(env):
        return None
    role = env.iam.execution_role
    if role == GENERATED:
        return Expr("aws_iam_role.execution.arn")
    return role


def job_role_arn(env: Environment, job_key: str) -> Expr | str | None:
    job = env.job_definitions[job_key]
    if job.job_role is None:
        # ECS Exec needs a job role (ssmmessages): batchform generates one when none is given
        return Expr(f"aws_iam_role.job_{label(job_key)}.arn") if job.execute_command else None
    if job.job_role.arn is not None:
        return job.job_role.arn
    return Expr(f"aws_iam_role.job_{label(job_key)}.arn")


def launch_template_id(key: str) -> Expr:
    return Expr(f"aws_launch_template.{label(key)}.id")


def launch_template_version(key: str) -> Expr:
    """CEs pin the numeric latest version: Batch resolves ``$Latest`` only at create/update."""
    return Expr(f"aws_launch_template.{label(key)}.latest_version")


def ami_image_id(env: Environment, key: str) -> Expr | str | None:
    """The ``image_id_override`` for an AMI key (``None`` for an AWS ``image_type``)."""
    ami = env.amis[key]
    if ami.id is not None:
        return ami.id
    if ami.ssm_parameter is not None:
        return Expr(f"data.aws_ssm_parameter.ami_{label(key)}.insecure_value")
    return None


def scheduling_policy_arn(key: str) -> Expr:
    return Expr(f"aws_batch_scheduling_policy.{label(key)}.arn")


def compute_environment_arn(key: str) -> Expr:
    return Expr(f"aws_batch_compute_environment.{label(key)}.arn")


def log_group_name(job_key: str) -> Expr:
    return Expr(f"aws_cloudwatch_log_group.job_{label(job_key)}.name")


def job_queue_arn(key: str) -> Expr:
    return Expr(f"aws_batch_job_queue.{label(key)}.arn")


def job_queue_name(key: str) -> Expr:
    return Expr(f"aws_batch_job_queue.{label(key)}.name")


def job_definition_arn_prefix(key: str) -> Expr:
    """The job definition's ARN without ``:<revision>``: SubmitJob then runs the latest ACTIVE
    revision, so callers holding it keep working after a new revision."""
    return Expr(f"aws_batch_job_definition.{label(key)}.arn_prefix")


def job_definition_arn(key: str) -> Expr:
    return Expr(f"aws_batch_job_definition.{label(key)}.arn")


def role_policy_attachment(role_label: str) -> Expr:
    """The managed-policy attachment of a generated role (``iam.tf`` names it like the role)."""
    return Expr(f"aws_iam_role_policy_attachment.{role_label}")


def compute_environment_role_dependencies(env: Environment, key: str) -> list[Expr]:
    """Policy attachments a compute environment must be created after and destroyed before.

    Terraform only sees the CE's reference to the *role*; without these, a destroy may detach
    the role's policy first and leave Batch unable to delete the CE (it hangs, then fails).
    """
    ce = env.compute_environments[key]
    out = []
    if env.iam.service_role == GENERATED:
        out.append(role_policy_attachment("batch_service"))
    if not ce.is_fargate and ce.type != "UNMANAGED":
        if env.iam.instance_role_value == GENERATED:
            out.append(role_policy_attachment("ecs_instance"))
        if (
            ce.type == "SPOT"
            and ce.allocation_strategy in SPOT_FLEET_STRATEGIES
            and env.iam.spot_fleet_role == GENERATED
        ):
            out.append(role_policy_attachment("spot_fleet"))
    return out
