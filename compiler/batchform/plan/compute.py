"""Plan of the compute side: launch templates, AMI look-ups and compute environments.

Decisions made here, and why:

- Compute environments are created from a name *prefix* with ``create_before_destroy``: many
  changes replace a CE, and a CE attached to a queue cannot be deleted, so the replacement must
  exist (and be swapped into the queues) before the old one goes. A CE with an exact
  ``aws_name`` cannot: the new one cannot take the name while the old one holds it, so it is
  destroyed first (``diff`` says what that costs).
- ``desired_vcpus`` is never written: Batch owns it, and setting it causes perpetual drift.
- A CE pins its launch template's numeric ``latest_version``: Batch resolves ``$Latest`` only at
  create or infrastructure update, so a changed template would otherwise never reach the CE.
- A CE the Terraform AWS provider 5.x cannot update in place (see
  :func:`provider_updates_in_place`) is replaced, through ``lifecycle.replace_triggered_by``,
  whenever its launch template gets a new version. Without it the new ``latest_version`` is
  unknown while planning, the provider plans an in-place update, and at apply it demands a
  replacement: "Provider produced inconsistent final plan" (hashicorp/terraform-provider-aws
  issues #37440 and #39470; fixed only in 6.x by PR #43337). With it, ``terraform plan`` says
  "replace" and one apply does it.
- EC2/SPOT CEs always state their ECS image type (``ECS_AL2023``, or ``ECS_AL2023_NVIDIA`` for GPU
  families) instead of inheriting a default AWS has changed over time and now blocks for AL2.
- Launch template user data is a MIME multi-part document (Batch merges its own part into it):
  first a script that formats and mounts the scratch volume, then the user's own part.
- Fargate CEs carry only what Fargate accepts: type, max vCPUs, subnets, security groups.

What the checks need as well (instance and image types, instance tags, user data, update policy
minutes) is computed in :mod:`batchform.derive`; :func:`ec2_configuration` is public so that the
README and the verifier describe exactly what the compiler wrote.
"""

from __future__ import annotations

from typing import TypedDict

from batchform import derive, instance_types, naming, refs, requirements
from batchform.derive import (
    IMAGE_TYPE_DEFAULT,
    IMAGE_TYPE_GPU,
    ROOT_DEVICE,
    compute_resource_tags,
    default_image_type,
    expected_instance_types,
    update_policy_minutes,
    used_ami_keys,
    user_data,
)
from batchform.hcl import Expr
from batchform.model import ComputeEnvironment, Environment, RootVolume
from batchform.plan.contract import (
    BlockDeviceMappingEntry,
    ComputeEnvironmentEntry,
    ComputeResourcesAttrs,
    ComputeResourcesEntry,
    EbsEntry,
    Ec2ConfigurationEntry,
    EksConfigurationEntry,
    LaunchTemplateEntry,
    LaunchTemplateSpecEntry,
    PlacementGroupEntry,
    PlanFiles,
    SsmAmiEntry,
    UpdatePolicyEntry,
)

MANAGED = "MANAGED"
UNMANAGED = "UNMANAGED"
SERVICE_LINKED_ROLE_MARKER = ":role/aws-service-role/batch.amazonaws.com/"


# --- compute environments --------------------------------------------------------------------


def is_ec2(ce: ComputeEnvironment) -> bool:
    return not ce.is_fargate


def ec2_configuration(env: Environment, key: str) -> list[Ec2ConfigurationEntry]:
    """The ``ec2_configuration`` entries of an EC2/SPOT CE (empty for Fargate).

    - an AMI key with ``image_type``: that AWS image family;
    - an AMI key with ``id`` / ``ssm_parameter``: ``image_id_override``, with the image type the
      instance types need;
    - no AMI: AL2023, plus an NVIDIA entry when GPU and non-GPU families are mixed (Batch picks
      the entry that matches each instance type).
    """
    ce = env.compute_environments[key]
    if ce.is_fargate or ce.is_unmanaged:
        return []
    entries = _ecs_image_configuration(env, ce)
    if ce.is_eks:
        return [{**e, "image_type": derive.eks_image_type(e["image_type"])} for e in entries]
    return entries


def _ecs_image_configuration(
    env: Environment, ce: ComputeEnvironment
) -> list[Ec2ConfigurationEntry]:
    if ce.ami is not None and ce.ami in env.amis:
        ami = env.amis[ce.ami]
        if ami.image_type is not None:
            return [{"image_type": ami.image_type}]
        override = refs.ami_image_id(env, ce.ami)
        assert override is not None  # an AMI key without image_type has an id or a parameter
        return [{"image_type": default_image_type(ce), "image_id_override": override}]
    types = expected_instance_types(ce)
    gpu = [instance_types.is_gpu(t) for t in types]
    if all(gpu):
        return [{"image_type": IMAGE_TYPE_GPU}]
    if any(gpu):
        return [{"image_type": IMAGE_TYPE_DEFAULT}, {"image_type": IMAGE_TYPE_GPU}]
    return [{"image_type": IMAGE_TYPE_DEFAULT}]


def _compute_resources(env: Environment, key: str) -> ComputeResourcesEntry | None:
    """The ``compute_resources`` block; none for an UNMANAGED CE, whose instances its owner
    launches (CreateComputeEnvironment: computeResources is for managed CEs only)."""
    ce = env.compute_environments[key]
    if ce.is_unmanaged:
        return None
    attrs: ComputeResourcesAttrs = {"type": ce.type}
    security_groups = [refs.security_group_id(sg) for sg in env.ce_security_groups(key)]
    subnets = refs.ce_subnet_ids(env, key)
    if ce.is_fargate:
        attrs["max_vcpus"] = ce.vcpu_limit
        attrs["subnets"] = subnets
        attrs["security_group_ids"] = security_groups
        return {"attrs": attrs, "launch_template": None, "ec2_configuration": []}

    if ce.allocation_strategy is not None:
        attrs["allocation_strategy"] = ce.allocation_strategy
    if ce.type == "SPOT" and ce.bid_percentage is not None:
        attrs["bid_percentage"] = ce.bid_percentage
    attrs["min_vcpus"] = ce.min_vcpus
    attrs["max_vcpus"] = ce.vcpu_limit
    attrs["instance_type"] = expected_instance_types(ce)
    attrs["instance_role"] = refs.instance_profile_arn(env)
    fleet_role = refs.spot_fleet_role_arn(env)
    if (
        ce.type == "SPOT"
        and ce.allocation_strategy in refs.SPOT_FLEET_STRATEGIES
        and fleet_role is not None
    ):
        attrs["spot_iam_fleet_role"] = fleet_role
    if ce.ec2_key_pair is not None:
        attrs["ec2_key_pair"] = ce.ec2_key_pair
    placement_group = refs.placement_group_name(env, key)
    if placement_group is not None:
        attrs["placement_group"] = placement_group
    attrs["subnets"] = subnets
    attrs["security_group_ids"] = security_groups
    attrs["tags"] = compute_resource_tags(env, key)

    return {
        "attrs": attrs,
        "launch_template": launch_template_spec(ce),
        "ec2_configuration": ec2_configuration(env, key),
    }


def compute_resources_of(ce: ComputeEnvironmentEntry) -> ComputeResourcesEntry:
    """A planned CE's ``compute_resources``, empty for an UNMANAGED CE (which has none), so
    that verify and diff read every CE alike."""
    resources = ce["compute_resources"]
    if resources is None:
        return {"attrs": {}, "launch_template": None, "ec2_configuration": []}
    return resources


def launch_template_spec(ce: ComputeEnvironment) -> LaunchTemplateSpecEntry | None:
    """The CE's ``launch_template`` block: a template batchform creates, pinned to its numeric
    ``latest_version``, or an existing one by id or name at the version the file pins (a
    number: BF561)."""
    if ce.launch_template_key is not None:
        return {
            "launch_template_id": refs.launch_template_id(ce.launch_template_key),
            "version": refs.launch_template_version(ce.launch_template_key),
        }
    existing = ce.existing_launch_template
    if existing is None:
        return None
    version = existing.version or ""
    if existing.id is not None:
        return {"launch_template_id": existing.id, "version": version}
    return {"launch_template_name": existing.name or "", "version": version}


def is_service_linked_role(role: object) -> bool:
    """The provider's ``isServiceLinkedRole``: an omitted role is Batch's service-linked role."""
    return role is None or (isinstance(role, str) and SERVICE_LINKED_ROLE_MARKER in role)


def provider_updates_in_place(
    service_role: object, allocation_strategy: object, aws_provider: str
) -> bool:
    """``isUpdatableComputeEnvironment`` of the providers ``aws_provider`` admits, for a CE's
    planned ``service_role`` and ``allocation_strategy``: anything else makes every compute
    change a replacement. SPOT_PRICE_CAPACITY_OPTIMIZED is updatable only from provider 6.10.0
    (:func:`batchform.requirements.updatable_strategies`; AWS itself updates it in place,
    provider issue #38695)."""
    return is_service_linked_role(service_role) and allocation_strategy in (
        requirements.updatable_strategies(aws_provider)
    )


def replace_triggers(env: Environment, key: str) -> list[Expr]:
    """What replaces a CE the provider cannot update in place: a new version of its launch
    template, known only during apply (everything else the provider sees at plan time).
    Provider 6.8.0 plans that replacement itself, so a constraint admitting nothing older gets
    no trigger (:func:`batchform.requirements.plans_unknown_version_replacement`)."""
    ce = env.compute_environments[key]
    if ce.is_fargate or ce.is_unmanaged or ce.launch_template_key is None:
        return []  # an existing template's version is the file's own, known at plan time
    if requirements.plans_unknown_version_replacement(env.terraform.aws_provider):
        return []
    if provider_updates_in_place(
        refs.service_role_arn(env), ce.allocation_strategy, env.terraform.aws_provider
    ):
        return []
    return [refs.launch_template_version(ce.launch_template_key)]


def _compute_environment(env: Environment, key: str) -> ComputeEnvironmentEntry:
    ce = env.compute_environments[key]
    update_policy: UpdatePolicyEntry | None = None
    if ce.update_policy is not None:
        update_policy = {
            "job_execution_timeout_minutes": update_policy_minutes(
                ce.update_policy.job_execution_timeout
            ),
            "terminate_jobs_on_update": ce.update_policy.terminate_jobs_on_update,
        }
    return {
        "label": naming.label(key),
        "name": naming.compute_environment_name(env, key),
        "name_prefix": naming.compute_environment_prefix(env, key),
        "type": UNMANAGED if ce.is_unmanaged else MANAGED,
        "state": ce.state,
        "service_role": refs.service_role_arn(env),
        "compute_resources": _compute_resources(env, key),
        "eks_configuration": _eks_configuration(ce),
        "update_policy": update_policy,
        "tags": derive.tags(env, key, ce.tags),
        "depends_on": refs.compute_environment_role_dependencies(env, key),
        "replace_triggered_by": replace_triggers(env, key),
    }


def _eks_configuration(ce: ComputeEnvironment) -> EksConfigurationEntry | None:
    """``eks_configuration``: the cluster and namespace the CE's nodes and pods join. Every
    argument of it forces a new CE (``ForceNew`` in
    internal/service/batch/compute_environment.go)."""
    if ce.eks is None:
        return None
    return {"eks_cluster_arn": ce.eks.cluster, "kubernetes_namespace": ce.eks.namespace}


def _ssm_amis(env: Environment) -> list[SsmAmiEntry]:
    """``data "aws_ssm_parameter"`` look-ups, only for AMIs a compute environment uses."""
    out: list[SsmAmiEntry] = []
    for key in used_ami_keys(env):
        parameter = env.amis[key].ssm_parameter
        if parameter is not None:
            out.append({"label": f"ami_{naming.label(key)}", "name": parameter})
    return out


def placement_group_aws_name(env: Environment, key: str, strategy: str) -> str:
    """``<name>-<key>-<strategy>``: the strategy is part of the name because a group cannot be
    changed (every argument of ``aws_placement_group`` forces a new one) and the CE using it is
    ``create_before_destroy``, which Terraform extends to the group: the new group is created
    before the old one is deleted, so the two must not share a name."""
    return f"{naming.aws_name(env.name, key)}-{strategy}"


def _placement_groups(env: Environment) -> list[PlacementGroupEntry]:
    """``aws_placement_group`` resources for CEs with ``placement_group: {strategy: ...}``."""
    out: list[PlacementGroupEntry] = []
    for key in sorted(env.compute_environments):
        group = env.compute_environments[key].placement_group
        if group is None or isinstance(group, str):
            continue
        out.append(
            {
                "label": naming.label(key),
                "name": placement_group_aws_name(env, key, group.strategy),
                "strategy": group.strategy,
                "tags": derive.tags(env, f"{key}-placement-group"),
            }
        )
    return out


# --- launch templates ------------------------------------------------------------------------


class _EbsPerformance(TypedDict, total=False):
    """The optional middle of an ``ebs`` block, set only when the file sets them."""

    iops: int
    throughput: int


def _ebs(volume: RootVolume, encrypted: bool) -> EbsEntry:
    performance: _EbsPerformance = {}
    if volume.iops is not None:
        performance["iops"] = volume.iops
    if volume.throughput is not None:
        performance["throughput"] = volume.throughput
    # in the order the block is written in (the template writes it with .items())
    return {
        "delete_on_termination": True,
        "encrypted": encrypted,
        **performance,
        "volume_size": volume.size,
        "volume_type": volume.type,
    }


def _launch_template(env: Environment, key: str) -> LaunchTemplateEntry:
    lt = env.launch_templates[key]
    mappings: list[BlockDeviceMappingEntry] = []
    if lt.root_volume is not None:
        mappings.append({"device_name": ROOT_DEVICE, "ebs": _ebs(lt.root_volume, lt.encrypted)})
    if lt.scratch_volume is not None:
        mappings.append(
            {
                "device_name": lt.scratch_volume.device,
                "ebs": _ebs(lt.scratch_volume, lt.encrypted),
            }
        )
    return {
        "label": naming.label(key),
        "name": naming.aws_name(env.name, key),
        "user_data": user_data(lt),
        "block_device_mappings": mappings,
        "metadata_options": {
            "http_endpoint": "enabled",
            "http_put_response_hop_limit": lt.imds_hop_limit,
            "http_tokens": lt.imdsv2,
        },
        "tag_specifications": [
            # Instances get their batchform:key from the compute environment that launches them
            # (compute_resources.tags); volumes are tagged as this template's.
            {
                "resource_type": "instance",
                "tags": derive.written_tags(env, {**env.tags, naming.TAG_ENVIRONMENT: env.name}),
            },
            {"resource_type": "volume", "tags": derive.tags(env, key, dict(env.tags))},
        ],
        "tags": derive.tags(env, key),
    }


# --- the files -------------------------------------------------------------------------------


def plan(env: Environment) -> PlanFiles:
    """``launch_templates.tf`` and ``compute_environments.tf``; each omitted when empty."""
    files: PlanFiles = {}
    if env.launch_templates:
        files["launch_templates.tf"] = {
            "launch_templates": [_launch_template(env, k) for k in sorted(env.launch_templates)]
        }
    if env.compute_environments:
        major = requirements.provider_major(env.terraform.aws_provider)
        files["compute_environments.tf"] = {
            # provider 6 renamed compute_environment_name_prefix
            # (compiler/batchform/requirements.py)
            "name_prefix_argument": requirements.argument_name(
                "aws_batch_compute_environment", "compute_environment_name_prefix", major
            ),
            # an exact name (aws_name): renamed in provider 6 as well
            "name_argument": requirements.argument_name(
                "aws_batch_compute_environment", "compute_environment_name", major
            ),
            "ssm_amis": _ssm_amis(env),
            "placement_groups": _placement_groups(env),
            "compute_environments": [
                _compute_environment(env, k) for k in sorted(env.compute_environments)
            ],
        }
    return files
