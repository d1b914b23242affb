"""Plan of the compute side: launch templates, AMI look-ups and compute environments.

Decisions made here, and why:

- Compute environments are created from a name *prefix* with ``create_before_destroy``: many
  changes replace a CE, and a CE attached to a queue cannot be deleted, so the replacement must
  exist (and be swapped into the queues) before the old one goes.
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

The helpers :func:`expected_instance_types`, :func:`ec2_configuration`,
:func:`compute_resource_tags`, :func:`update_policy_minutes` and :func:`user_data` are public so
that the verifier compares deployed resources with exactly what the compiler wrote.
"""

from __future__ import annotations

import math
import shlex
from typing import Any

from compiler import instance_types, naming, requirements
from compiler.model import ComputeEnvironment, Environment, LaunchTemplate, ScratchVolume
from compiler.plan import common, refs
from compiler.render import Expr

Context = dict[str, Any]

MANAGED = "MANAGED"
# Allocation strategies hashicorp/aws 5.x updates in place: isUpdatableAllocationStrategy in
# internal/service/batch/compute_environment.go (5.x has no SPOT_PRICE_CAPACITY_OPTIMIZED there,
# although AWS itself updates such a CE in place; provider issue #38695).
PROVIDER_UPDATABLE_STRATEGIES = ("BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED")
SERVICE_LINKED_ROLE_MARKER = ":role/aws-service-role/batch.amazonaws.com/"
IMAGE_TYPE_DEFAULT = "ECS_AL2023"
IMAGE_TYPE_GPU = "ECS_AL2023_NVIDIA"

ROOT_DEVICE = "/dev/xvda"  # the root device of the ECS-optimized Amazon Linux AMIs
MIME_BOUNDARY = "==BATCHFORM_BOUNDARY=="
GIB = 1024**3


# --- compute environments --------------------------------------------------------------------


def is_ec2(ce: ComputeEnvironment) -> bool:
    return not ce.is_fargate


def expected_instance_types(ce: ComputeEnvironment) -> list[str]:
    """The instance types a CE is created with: the user's list, ``[optimal]`` by default for
    EC2/SPOT, none for Fargate."""
    if ce.is_fargate:
        return []
    return list(ce.instance_types) if ce.instance_types else [instance_types.OPTIMAL]


def default_image_type(ce: ComputeEnvironment) -> str:
    """The ECS image type for a CE's instances: NVIDIA when any type is a GPU family."""
    if any(instance_types.is_gpu(t) for t in expected_instance_types(ce)):
        return IMAGE_TYPE_GPU
    return IMAGE_TYPE_DEFAULT


def ec2_configuration(env: Environment, key: str) -> list[dict[str, Any]]:
    """The ``ec2_configuration`` entries of an EC2/SPOT CE (empty for Fargate).

    - an AMI key with ``image_type``: that AWS image family;
    - an AMI key with ``id`` / ``ssm_parameter``: ``image_id_override``, with the image type the
      instance types need;
    - no AMI: AL2023, plus an NVIDIA entry when GPU and non-GPU families are mixed (Batch picks
      the entry that matches each instance type).
    """
    ce = env.compute_environments[key]
    if ce.is_fargate:
        return []
    if ce.ami is not None and ce.ami in env.amis:
        ami = env.amis[ce.ami]
        if ami.image_type is not None:
            return [{"image_type": ami.image_type}]
        return [
            {
                "image_type": default_image_type(ce),
                "image_id_override": refs.ami_image_id(env, ce.ami),
            }
        ]
    types = expected_instance_types(ce)
    gpu = [instance_types.is_gpu(t) for t in types]
    if all(gpu):
        return [{"image_type": IMAGE_TYPE_GPU}]
    if any(gpu):
        return [{"image_type": IMAGE_TYPE_DEFAULT}, {"image_type": IMAGE_TYPE_GPU}]
    return [{"image_type": IMAGE_TYPE_DEFAULT}]


def compute_resource_tags(env: Environment, key: str) -> dict[str, str]:
    """Tags Batch puts on the CE's instances: the environment's tags (provider ``default_tags``
    do not reach instances), the CE's ``instance_tags``, and the batchform tags, which win."""
    ce = env.compute_environments[key]
    return common.tags(env, key, {**env.tags, **ce.instance_tags})


def update_policy_minutes(seconds: int) -> int:
    """``job_execution_timeout_minutes`` from a duration in seconds, rounded up so a job is
    never given less time than asked for."""
    return math.ceil(seconds / 60)


def _compute_resources(env: Environment, key: str) -> Context:
    ce = env.compute_environments[key]
    attrs: dict[str, Any] = {"type": ce.type}
    security_groups = [refs.security_group_id(sg) for sg in env.ce_security_groups(key)]
    subnets = refs.ce_subnet_ids(env, key)
    if ce.is_fargate:
        attrs["max_vcpus"] = ce.max_vcpus
        attrs["subnets"] = subnets
        attrs["security_group_ids"] = security_groups
        return {"attrs": attrs, "launch_template": None, "ec2_configuration": []}

    if ce.allocation_strategy is not None:
        attrs["allocation_strategy"] = ce.allocation_strategy
    if ce.type == "SPOT" and ce.bid_percentage is not None:
        attrs["bid_percentage"] = ce.bid_percentage
    attrs["min_vcpus"] = ce.min_vcpus
    attrs["max_vcpus"] = ce.max_vcpus
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
    if ce.placement_group is not None:
        attrs["placement_group"] = refs.placement_group_name(env, key)
    attrs["subnets"] = subnets
    attrs["security_group_ids"] = security_groups
    attrs["tags"] = compute_resource_tags(env, key)

    launch_template = None
    if ce.launch_template is not None:
        launch_template = {
            "launch_template_id": refs.launch_template_id(ce.launch_template),
            "version": refs.launch_template_version(ce.launch_template),
        }
    return {
        "attrs": attrs,
        "launch_template": launch_template,
        "ec2_configuration": ec2_configuration(env, key),
    }


def is_service_linked_role(role: object) -> bool:
    """The provider's ``isServiceLinkedRole``: an omitted role is Batch's service-linked role."""
    return role is None or (isinstance(role, str) and SERVICE_LINKED_ROLE_MARKER in role)


def provider_updates_in_place(service_role: object, allocation_strategy: object) -> bool:
    """``isUpdatableComputeEnvironment`` of provider 5.x for a CE's planned ``service_role`` and
    ``allocation_strategy``: anything else makes every compute change a replacement."""
    return (
        is_service_linked_role(service_role)
        and allocation_strategy in PROVIDER_UPDATABLE_STRATEGIES
    )


def replace_triggers(env: Environment, key: str) -> list[Expr]:
    """What replaces a CE the provider cannot update in place: a new version of its launch
    template, known only during apply (everything else the provider sees at plan time)."""
    ce = env.compute_environments[key]
    if ce.is_fargate or ce.launch_template is None:
        return []
    if provider_updates_in_place(refs.service_role_arn(env), ce.allocation_strategy):
        return []
    return [refs.launch_template_version(ce.launch_template)]


def _compute_environment(env: Environment, key: str) -> Context:
    ce = env.compute_environments[key]
    update_policy = None
    if ce.update_policy is not None:
        update_policy = {
            "job_execution_timeout_minutes": update_policy_minutes(
                ce.update_policy.job_execution_timeout
            ),
            "terminate_jobs_on_update": ce.update_policy.terminate_jobs_on_update,
        }
    return {
        "label": naming.label(key),
        "name_prefix": naming.ce_name_prefix(env.name, key),
        "type": MANAGED,
        "state": ce.state,
        "service_role": refs.service_role_arn(env),
        "compute_resources": _compute_resources(env, key),
        "update_policy": update_policy,
        "tags": common.tags(env, key),
        "depends_on": refs.compute_environment_role_dependencies(env, key),
        "replace_triggered_by": replace_triggers(env, key),
    }


def used_ami_keys(env: Environment) -> list[str]:
    """AMI keys some EC2/SPOT compute environment uses, sorted."""
    return sorted(
        {
            ce.ami
            for ce in env.compute_environments.values()
            if ce.ami is not None and not ce.is_fargate and ce.ami in env.amis
        }
    )


def _ssm_amis(env: Environment) -> list[Context]:
    """``data "aws_ssm_parameter"`` look-ups, only for AMIs a compute environment uses."""
    out = []
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


def _placement_groups(env: Environment) -> list[Context]:
    """``aws_placement_group`` resources for CEs with ``placement_group: {strategy: ...}``."""
    out = []
    for key in sorted(env.compute_environments):
        group = env.compute_environments[key].placement_group
        if group is None or isinstance(group, str):
            continue
        out.append(
            {
                "label": naming.label(key),
                "name": placement_group_aws_name(env, key, group.strategy),
                "strategy": group.strategy,
                "tags": common.tags(env, f"{key}-placement-group"),
            }
        )
    return out


# --- launch templates ------------------------------------------------------------------------


def _ebs(volume: Any, encrypted: bool) -> dict[str, Any]:
    ebs: dict[str, Any] = {
        "delete_on_termination": True,
        "encrypted": encrypted,
    }
    if volume.iops is not None:
        ebs["iops"] = volume.iops
    if volume.throughput is not None:
        ebs["throughput"] = volume.throughput
    ebs["volume_size"] = volume.size
    ebs["volume_type"] = volume.type
    return ebs


def scratch_script(volume: ScratchVolume) -> str:
    """Shell that formats (once) and mounts the scratch volume.

    cloud-init runs user-data scripts once, at an instance's first boot; the fstab entry it
    writes mounts the volume on any later boot.

    On Nitro instances the EBS volume mapped as ``/dev/xvdb`` appears as ``/dev/nvmeXn1`` in an
    order that is not guaranteed. The script uses the mapped name when udev links it (Xen
    instances, and Amazon Linux's ``amazon-ec2-utils`` rules on Nitro); otherwise it takes the
    EBS NVMe disk (``/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_*``) of exactly the volume's
    size that is not the root disk, waiting for it to attach. The fstab entry names the file
    system's UUID, which survives renaming, and has ``nofail`` so a lost volume never blocks a
    boot. Every step checks before it acts, so running it again changes nothing and never
    reformats a volume that already holds a file system.
    """
    values = {
        "DEVICE_NAME": volume.device,
        "MOUNT_PATH": volume.mount_path,
        "FS_TYPE": volume.filesystem,
        "SIZE_BYTES": str(volume.size * GIB),
    }
    assignments = "\n".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
    return f"""#!/bin/bash
# batchform: format and mount the scratch volume (safe to run again)
set -euo pipefail

{assignments}

root_disk() {{
  local source
  source=$(findmnt -n -o SOURCE /)
  lsblk -n -d -o PKNAME "$source" 2>/dev/null | grep . || basename "$source"
}}

find_device() {{
  if [ -b "$DEVICE_NAME" ]; then
    readlink -f "$DEVICE_NAME"
    return 0
  fi
  local root link dev
  root=$(root_disk)
  for link in /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_*; do
    [ -e "$link" ] || continue
    case "$link" in *-part*) continue ;; esac
    dev=$(readlink -f "$link")
    [ "$(basename "$dev")" = "$root" ] && continue
    [ "$(lsblk -b -n -d -o SIZE "$dev")" = "$SIZE_BYTES" ] || continue
    echo "$dev"
    return 0
  done
  return 1
}}

device=""
for _ in $(seq 1 60); do
  if device=$(find_device); then
    break
  fi
  device=""
  sleep 2
done
if [ -z "$device" ]; then
  echo "batchform: scratch volume $DEVICE_NAME not found; not mounting $MOUNT_PATH" >&2
  exit 1
fi

if ! blkid -o value -s TYPE "$device" >/dev/null 2>&1; then
  mkfs -t "$FS_TYPE" "$device"
fi
uuid=$(blkid -o value -s UUID "$device")
mkdir -p "$MOUNT_PATH"
if ! grep -q "^UUID=$uuid " /etc/fstab; then
  echo "UUID=$uuid $MOUNT_PATH $FS_TYPE defaults,nofail 0 2" >> /etc/fstab
fi
if ! mountpoint -q "$MOUNT_PATH"; then
  mount "$MOUNT_PATH"
fi
chmod 1777 "$MOUNT_PATH"
"""


def _user_part(text: str) -> tuple[str, str]:
    """(content type, body) of the user's own part: cloud-config stays cloud-config; shell
    without an interpreter line gets ``#!/bin/bash`` so cloud-init can execute it."""
    if text.startswith("#cloud-config"):
        return "text/cloud-config", text
    if text.startswith("#!"):
        return "text/x-shellscript", text
    return "text/x-shellscript", "#!/bin/bash\n" + text


def user_data(lt: LaunchTemplate) -> str | None:
    """The launch template's MIME multi-part user data, or ``None`` when it has nothing to do.

    The boundary is a fixed string so that the output is the same on every compile.
    """
    parts: list[tuple[str, str]] = []
    if lt.scratch_volume is not None:
        parts.append(('text/x-shellscript; charset="us-ascii"', scratch_script(lt.scratch_volume)))
    if lt.user_data is not None and lt.user_data.strip():
        content_type, body = _user_part(lt.user_data)
        parts.append((f'{content_type}; charset="utf-8"', body))
    if not parts:
        return None
    lines = [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"',
        "",
    ]
    for content_type, body in parts:
        lines += [f"--{MIME_BOUNDARY}", f"Content-Type: {content_type}", "", body.rstrip("\n"), ""]
    lines.append(f"--{MIME_BOUNDARY}--")
    return "\n".join(lines) + "\n"


def _launch_template(env: Environment, key: str) -> Context:
    lt = env.launch_templates[key]
    mappings = []
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
                "tags": dict(sorted({**env.tags, naming.TAG_ENVIRONMENT: env.name}.items())),
            },
            {"resource_type": "volume", "tags": common.tags(env, key, dict(env.tags))},
        ],
        "tags": common.tags(env, key),
    }


# --- the files -------------------------------------------------------------------------------


def plan(env: Environment) -> dict[str, Context]:
    """``launch_templates.tf`` and ``compute_environments.tf``; each omitted when empty."""
    files: dict[str, Context] = {}
    if env.launch_templates:
        files["launch_templates.tf"] = {
            "launch_templates": [_launch_template(env, k) for k in sorted(env.launch_templates)]
        }
    if env.compute_environments:
        major = requirements.provider_major(env.terraform.aws_provider)
        files["compute_environments.tf"] = {
            # provider 6 renamed compute_environment_name_prefix (compiler/requirements.py)
            "name_prefix_argument": requirements.argument_name(
                "aws_batch_compute_environment", "compute_environment_name_prefix", major
            ),
            "ssm_amis": _ssm_amis(env),
            "placement_groups": _placement_groups(env),
            "compute_environments": [
                _compute_environment(env, k) for k in sorted(env.compute_environments)
            ],
        }
    return files
