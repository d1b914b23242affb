"""Derivations from the model that both the checks and the plan need.

A check must judge what will be deployed, so it needs some of the answers the plan gives: the
subnets a VPC is carved into, the instance types and image type of a compute environment, the
user data of a launch template, the ``containerProperties`` of a job definition, the roles that
will be generated. Those answers live here, computed once from the
:class:`~batchform.model.Environment` with no I/O, so that the checks depend only on the model and
this module (never on the plan, which is the next stage) and both stages agree by construction.

What the plan alone decides (Terraform labels, which blocks a file holds, the order resources
are written in) stays in :mod:`batchform.plan`; Terraform addresses are in :mod:`batchform.refs`.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from batchform import instance_types, naming, refs
from batchform.hcl import ModuleTags
from batchform.model import (
    GATEWAY_ENDPOINT_SERVICES,
    ComputeEnvironment,
    ContainerOptions,
    Environment,
    JobDefinition,
    LaunchTemplate,
    LogConfig,
    ResourceTags,
    ScratchVolume,
    Volume,
)
from batchform.naming import role_name

# --- tags and backend -----------------------------------------------------------------------


def tags(env: Environment, key: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The tags a resource carries besides the provider's ``default_tags``, sorted by key.

    In a child module (``terraform.output: module``) there are no ``default_tags``: the same
    tags come as :class:`~batchform.hcl.ModuleTags`, written merged over the module's common
    tags, so every template that writes ``tags`` gets the file's tags without a change."""
    return written_tags(env, {**(extra or {}), **naming.resource_tags(env.name, key)})


def written_tags(env: Environment, tags: dict[str, str]) -> dict[str, str]:
    """``tags`` sorted by key, as a resource's ``tags`` argument holds them: in a child module,
    :class:`~batchform.hcl.ModuleTags` (written merged over the module's common tags)."""
    ordered = dict(sorted(tags.items()))
    if env.terraform.output == "module":
        return ModuleTags(ordered, env.tags)
    return ordered


def resource_tag_maps(env: Environment) -> Iterator[tuple[tuple[str, ...], dict[str, str]]]:
    """``(path of the resource, tags)`` of every compute environment, queue, scheduling policy
    and security group that sets its own ``tags`` (job definitions keep theirs under the job
    settings)."""
    for section in ("compute_environments", "job_queues", "scheduling_policies"):
        entries: dict[str, ResourceTags] = getattr(env, section)
        for key, entry in entries.items():
            if entry.tags:
                yield (section, key), dict(entry.tags)
    for key, group in env.network.security_groups.items():
        if group.tags:
            yield ("network", "security_groups", key), dict(group.tags)


def uses_lockfile(env: Environment) -> bool:
    """True when the S3 backend locks with an S3 lock file: whenever no DynamoDB table is
    named (the table is deprecated from Terraform 1.11; the lock file needs 1.10)."""
    backend = env.terraform.backend
    return backend is not None and not backend.s3.dynamodb_table


# --- network: subnet carving, endpoints, reserved security group keys -----------------------


# Carving: public subnets are blocks at the start of the VPC CIDR, each at most 1/16 of it;
# private subnets split the upper half (instances live there, so they get the room).
PUBLIC_MIN_SHIFT = 4

AWS_MIN_SUBNET_PREFIX = 16

AWS_MAX_SUBNET_PREFIX = 28

ENDPOINTS_SG_KEY = "vpc-endpoints"


def _bits_for(count: int) -> int:
    """Address bits needed to number ``count`` equal blocks."""
    return math.ceil(math.log2(count)) if count > 1 else 0


def carve_prefixes(vpc_prefix: int, az_count: int) -> tuple[int, int]:
    """Prefix lengths of the carved (public, private) subnets for a VPC of ``/vpc_prefix``.

    Private: the upper half split into the smallest power of two of blocks that fits one per AZ.
    Public: ``/vpc_prefix+4`` blocks from the start (more bits when there are more than 8 AZs, so
    they never reach the upper half). ``/16`` with 2 AZs gives public /20s, private /18s.
    """
    private = vpc_prefix + 1 + _bits_for(az_count)
    public = vpc_prefix + 1 + max(PUBLIC_MIN_SHIFT - 1, _bits_for(az_count))
    return public, private


def carve_fits(cidr: str, az_count: int) -> bool:
    """Whether :func:`carve_subnets` yields subnets AWS accepts (no smaller than /28)."""
    net = ipaddress.ip_network(cidr)
    public, private = carve_prefixes(net.prefixlen, az_count)
    return net.version == 4 and max(public, private) <= AWS_MAX_SUBNET_PREFIX


def carve_subnets(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Deterministic (public, private) subnet CIDRs, one each per AZ, in AZ order."""
    net = ipaddress.ip_network(cidr)
    public_prefix, private_prefix = carve_prefixes(net.prefixlen, az_count)
    lower, upper = net.subnets(prefixlen_diff=1)
    public = itertools.islice(lower.subnets(new_prefix=public_prefix), az_count)
    private = itertools.islice(upper.subnets(new_prefix=private_prefix), az_count)
    return [str(n) for n in public], [str(n) for n in private]


def interface_endpoints(env: Environment) -> list[str]:
    """Listed endpoint services that are created as interface endpoints, in the user's order."""
    services: list[str] = [s for s in env.network.endpoints if s not in GATEWAY_ENDPOINT_SERVICES]
    if env.network.vpc.existing is not None and not env.network.vpc.existing.private_subnets:
        return []
    return services


def gateway_endpoints(env: Environment) -> list[str]:
    """Gateway endpoints (s3, dynamodb): only in a VPC whose route tables batchform owns."""
    if env.network.vpc.create is None:
        return []
    return [s for s in env.network.endpoints if s in GATEWAY_ENDPOINT_SERVICES]


MOUNT_TARGETS_SG_KEY = "efs-mount-targets"


# --- compute environments and launch templates ----------------------------------------------


IMAGE_TYPE_DEFAULT = "ECS_AL2023"

IMAGE_TYPE_GPU = "ECS_AL2023_NVIDIA"


def expected_instance_types(ce: ComputeEnvironment) -> list[str]:
    """The instance types a CE is created with: the user's list, ``[optimal]`` by default for
    EC2/SPOT, none for Fargate."""
    if ce.is_fargate or ce.is_unmanaged:
        return []
    return list(ce.instance_types) if ce.instance_types else [instance_types.OPTIMAL]


# The EKS counterparts of the ECS image types (Ec2Configuration.imageType: an EKS compute
# environment's nodes boot an EKS-optimized AMI, EKS_AL2023 by default).
EKS_IMAGE_TYPES = {
    "ECS_AL2": "EKS_AL2",
    "ECS_AL2_NVIDIA": "EKS_AL2_NVIDIA",
    "ECS_AL2023": "EKS_AL2023",
    "ECS_AL2023_NVIDIA": "EKS_AL2023_NVIDIA",
}


def eks_image_type(ecs_image_type: str) -> str:
    """The EKS-optimized image type matching an ECS one (same OS and GPU support)."""
    return EKS_IMAGE_TYPES.get(ecs_image_type, ecs_image_type)


def default_image_type(ce: ComputeEnvironment) -> str:
    """The ECS image type for a CE's instances: NVIDIA when any type is a GPU family."""
    if any(instance_types.is_gpu(t) for t in expected_instance_types(ce)):
        return IMAGE_TYPE_GPU
    return IMAGE_TYPE_DEFAULT


def compute_resource_tags(env: Environment, key: str) -> dict[str, str]:
    """Tags Batch puts on the CE's instances: the environment's tags (provider ``default_tags``
    do not reach instances), the CE's ``instance_tags``, and the batchform tags, which win."""
    ce = env.compute_environments[key]
    return tags(env, key, {**env.tags, **ce.instance_tags})


def update_policy_minutes(seconds: int) -> int:
    """``job_execution_timeout_minutes`` from a duration in seconds, rounded up so a job is
    never given less time than asked for."""
    return math.ceil(seconds / 60)


def used_ami_keys(env: Environment) -> list[str]:
    """AMI keys some EC2/SPOT compute environment uses, sorted."""
    return sorted(
        {
            ce.ami
            for ce in env.compute_environments.values()
            if ce.ami is not None and not ce.is_fargate and ce.ami in env.amis
        }
    )


ROOT_DEVICE = "/dev/xvda"  # the root device of the ECS-optimized Amazon Linux AMIs

MIME_BOUNDARY = "==BATCHFORM_BOUNDARY=="

GIB = 1024**3


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


# --- job definitions ------------------------------------------------------------------------
#
# The container properties are shaped like what AWS Batch returns from DescribeJobDefinitions
# (and what the provider's normaliser keeps), so that ``terraform plan`` after an apply shows no
# change: no empty lists or empty-valued variables (AWS drops them); scalars AWS echoes back are
# written where AWS would otherwise fill in a default (``readOnly`` of a mount point, EFS
# ``transitEncryption``, the Fargate network and platform configuration); resource requirement
# values are strings, as the API defines them; environment and secrets sorted by name, the order
# the provider compares in.


LOG_DRIVER = "awslogs"

FARGATE_DEFAULT_PLATFORM_VERSION = "LATEST"

# ``Ref::name`` in a command argument is replaced by the job parameter ``name`` at submit time.
PARAMETER_REFERENCE = re.compile(r"Ref::([A-Za-z0-9_-]+)")


def required_parameters(job: JobDefinition) -> list[str]:
    """Parameters the command references with no default: they must be given at submit time.

    In order of first appearance, each once, so the compile summary reads like the command.
    """
    seen: list[str] = []
    for arg in job.command:
        for name in referenced_parameters_in(arg):
            if name not in job.parameters and name not in seen:
                seen.append(name)
    return seen


def referenced_parameters_in(arg: str) -> list[str]:
    """Every ``Ref::`` name one command argument uses."""
    return PARAMETER_REFERENCE.findall(arg)


def is_fargate(job: JobDefinition) -> bool:
    return job.platform == "FARGATE"


def vcpu_value(vcpus: float) -> str:
    """vCPUs as the API's string: ``8``, ``0.5``, ``0.25`` (never ``8.0``)."""
    if float(vcpus).is_integer():
        return str(int(vcpus))
    return repr(float(vcpus))


def volume_name(index: int) -> str:
    """Volumes get deterministic names from their position; users never see them."""
    return f"vol-{index}"


def _resource_requirements(job: JobDefinition) -> list[dict[str, str]]:
    # a job that reaches here has both (the model requires them of a plain job, check BF559 of
    # every node range); 0 only stands in for a file the checks already refused
    requirements = [
        {"type": "VCPU", "value": vcpu_value(job.vcpus or 0)},
        {"type": "MEMORY", "value": str(job.memory or 0)},
    ]
    if job.gpus > 0 and not is_fargate(job):
        requirements.append({"type": "GPU", "value": str(job.gpus)})
    return requirements


def _efs_configuration(volume: Volume) -> dict[str, Any]:
    assert volume.efs is not None
    uses_auth = volume.access_point is not None or volume.iam
    encrypted = volume.transit_encryption if volume.transit_encryption is not None else uses_auth
    config: dict[str, Any] = {
        "fileSystemId": volume.efs,
        "transitEncryption": "ENABLED" if encrypted else "DISABLED",
    }
    if volume.root_directory is not None:
        config["rootDirectory"] = volume.root_directory
    if uses_auth:
        authorization: dict[str, Any] = {"iam": "ENABLED" if volume.iam else "DISABLED"}
        if volume.access_point is not None:
            authorization["accessPointId"] = volume.access_point
        config["authorizationConfig"] = authorization
    return config


def _volumes(job: JobDefinition) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``volumes`` and ``mountPoints``, in the user's order."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for i, volume in enumerate(job.volumes):
        name = volume_name(i)
        if volume.host_path is not None:
            volumes.append({"name": name, "host": {"sourcePath": volume.host_path}})
        else:
            volumes.append({"name": name, "efsVolumeConfiguration": _efs_configuration(volume)})
        mounts.append(
            {
                "sourceVolume": name,
                "containerPath": volume.container_path,
                "readOnly": volume.read_only,
            }
        )
    return volumes, mounts


def _linux_parameters(opts: ContainerOptions) -> dict[str, Any]:
    """``linuxParameters`` of a container; only what the file sets, so that a job without these
    keys compiles to the same JSON as before they existed. ``init_process: false`` is AWS's
    default and is left out (see :func:`container_options` for why a false flag is never
    written)."""
    params: dict[str, Any] = {}
    if opts.init_process:
        params["initProcessEnabled"] = True
    if opts.shared_memory is not None:
        params["sharedMemorySize"] = opts.shared_memory
    if opts.tmpfs:
        params["tmpfs"] = [
            {"containerPath": t.container_path, "size": t.size}
            | ({"mountOptions": list(t.mount_options)} if t.mount_options else {})
            for t in opts.tmpfs
        ]
    if opts.devices:
        params["devices"] = [
            {"hostPath": d.host_path, "containerPath": d.container_path or d.host_path}
            | ({"permissions": [p.upper() for p in d.permissions]} if d.permissions else {})
            for d in opts.devices
        ]
    if opts.swap is not None:
        params["maxSwap"] = opts.swap.max
        if opts.swap.swappiness is not None:
            params["swappiness"] = opts.swap.swappiness
    return params


def container_options(opts: ContainerOptions, fargate: bool) -> dict[str, Any]:
    """The API keys (camelCase) of a container's :class:`~batchform.model.ContainerOptions`,
    for ``containerProperties``, a node range's ``container`` and an ECS container alike.

    ``logConfiguration`` is not here: its default refers to the generated log group, which only
    the caller knows. ``architecture`` becomes ``runtimePlatform`` on Fargate only: on EC2 the
    instance types decide it (RegisterJobDefinition: runtimePlatform is for Fargate resources).

    A boolean option is written only when true: false is AWS's default for each of them
    (readonlyRootFilesystem, initProcessEnabled, enableExecuteCommand), and the provider
    compares the JSON it sent with what DescribeJobDefinitions returns after decoding both into
    the SDK's struct (``equivalentContainerPropertiesJSON`` in
    internal/service/batch/container_properties.go of hashicorp/terraform-provider-aws), where a
    false that AWS does not echo back would be a difference on every plan.
    """
    props: dict[str, Any] = {}
    if opts.user is not None:
        props["user"] = opts.user
    if opts.readonly_root_filesystem:
        props["readonlyRootFilesystem"] = True
    linux = _linux_parameters(opts)
    if linux:
        props["linuxParameters"] = dict(sorted(linux.items()))
    if opts.ulimits:
        props["ulimits"] = [
            {"name": name, "softLimit": u.soft, "hardLimit": u.hard}
            for name, u in sorted(opts.ulimits.items())
        ]
    if fargate and opts.architecture is not None:
        props["runtimePlatform"] = {
            "cpuArchitecture": opts.architecture,
            "operatingSystemFamily": "LINUX",
        }
    if opts.execute_command:
        props["enableExecuteCommand"] = True
    return props


def log_configuration(env: Environment, key: str, log: LogConfig | None) -> dict[str, Any]:
    """``logConfiguration``: awslogs into the generated log group unless ``log`` names another
    driver. With awslogs the user's options are laid over the generated group, Region and stream
    prefix (so ``awslogs-multiline-pattern`` adds to them); other drivers take only the user's."""
    driver = log.driver if log is not None else LOG_DRIVER
    options: dict[str, Any] = {}
    if driver == LOG_DRIVER:
        options = {
            "awslogs-group": refs.log_group_name(key),
            "awslogs-region": env.region,
            "awslogs-stream-prefix": key,
        }
    if log is not None:
        options.update(log.options)
    config: dict[str, Any] = {"logDriver": driver}
    if options:
        config["options"] = dict(sorted(options.items()))
    if log is not None and log.secret_options:
        config["secretOptions"] = [
            {"name": name, "valueFrom": value} for name, value in sorted(log.secret_options.items())
        ]
    return config


def _logs_to_generated_group(log: LogConfig | None) -> bool:
    """Whether a container with this ``log`` writes to the log group batchform generates."""
    if log is None:
        return True
    return log.driver == LOG_DRIVER and "awslogs-group" not in log.options


def uses_generated_log_group(job: JobDefinition) -> bool:
    """Whether any container of ``job`` logs to the group batchform generates for it: not an
    EKS job (its pods log where the cluster sends them), nor one whose every container uses
    another driver or names its own ``awslogs-group`` (a group made for nobody would only hold
    a retention and a KMS key, and a first apply after ``batchform import`` would create it)."""
    if is_eks(job):
        return False
    if job.containers is not None:
        return any(_logs_to_generated_group(c.log or job.log) for c in job.containers.values())
    ranges = job.nodes.ranges if job.nodes is not None else []
    logs = [job.log, *(r.log if "log" in r.model_fields_set else job.log for r in ranges)]
    return any(_logs_to_generated_group(log) for log in logs)


def log_secret_options(opts: ContainerOptions) -> dict[str, str]:
    """``log.secret_options`` of a container (name -> secret ARN), empty without them: like the
    job's ``secrets``, the ECS agent reads them with the execution role (Batch User Guide,
    "Specifying sensitive data", log configuration), so they make the job need one."""
    return dict(opts.log.secret_options) if opts.log is not None else {}


def _environment_and_secrets(job: JobDefinition) -> dict[str, Any]:
    """A container's ``environment`` and ``secrets``, sorted by name, each only when it has
    entries. An empty value is left out (BF442 warns about it): Batch drops it, and the
    provider removes it with a warning (``removeEmptyEnvironmentVariables`` in
    internal/service/batch/job_definition.go), so writing it would only show as drift. Both
    a plain job's container and each container of a multi-container job are written here."""
    out: dict[str, Any] = {}
    environment = [
        {"name": name, "value": value}
        for name, value in sorted((job.environment or {}).items())
        if value != ""
    ]
    if environment:
        out["environment"] = environment
    if job.secrets:
        out["secrets"] = [
            {"name": name, "valueFrom": value_from}
            for name, value_from in sorted(job.secrets.items())
        ]
    return out


def container_properties(
    env: Environment, key: str, job: JobDefinition | None = None
) -> dict[str, Any]:
    """The ``containerProperties`` of job definition ``key`` (``job_defaults`` merged in), or,
    given ``job``, of that merged view of it (a node range's container, :func:`node_properties`).

    References to generated resources (roles, the log group) are :class:`~batchform.hcl.Expr`
    values; keys are in the API's camelCase. Pure: the verifier calls it too.
    """
    job = job if job is not None else env.job(key)
    fargate = is_fargate(job)
    props: dict[str, Any] = {
        "image": job.image or "",
        "resourceRequirements": _resource_requirements(job),
    }
    if job.command:
        props["command"] = list(job.command)
    props.update(_environment_and_secrets(job))
    job_role = refs.job_role_arn(env, key)
    if job_role is not None:
        props["jobRoleArn"] = job_role
    if fargate or job.secrets or log_secret_options(job):
        execution_role = refs.execution_role_arn(env)
        if execution_role is not None:
            props["executionRoleArn"] = execution_role
    volumes, mounts = _volumes(job)
    if volumes:
        props["volumes"] = volumes
        props["mountPoints"] = mounts
    if job.privileged and not fargate:
        props["privileged"] = True
    props["logConfiguration"] = log_configuration(env, key, job.log)
    if fargate:
        props["fargatePlatformConfiguration"] = {
            "platformVersion": job.platform_version or FARGATE_DEFAULT_PLATFORM_VERSION
        }
        props["networkConfiguration"] = {
            "assignPublicIp": "ENABLED" if job.assign_public_ip else "DISABLED"
        }
        if job.ephemeral_storage is not None:
            props["ephemeralStorage"] = {"sizeInGiB": job.ephemeral_storage}
    props.update(container_options(job, fargate))
    return dict(sorted(props.items()))


# --- multi-node, multi-container and EKS jobs (second release) ------------------------------
#
# A multi-node job's ranges and a multi-container job's containers take the same container keys
# as a job definition (model.ContainerOptions), so their JSON is built by the same functions
# (container_properties, container_options, log_configuration): one meaning per key.

EKS_PLATFORM = "EKS"
MULTINODE = "multinode"
CONTAINER = "container"
# Multi-node parallel jobs "aren't supported on compute environments that use Spot Instances"
# nor on UNMANAGED ones (https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html), and
# Fargate doesn't support them (create-multi-node-job-def.html).
NO_MULTINODE_CE_TYPES = ("SPOT", "UNMANAGED", "FARGATE", "FARGATE_SPOT")

# A node range's keys that override the job's own when the range sets them.
_RANGE_VALUES = ("image", "command", "vcpus", "memory", "gpus")
_RANGE_MAPS = ("environment", "secrets")


def is_eks(job: JobDefinition) -> bool:
    return job.platform == EKS_PLATFORM


def job_type(job: JobDefinition) -> str:
    """``type`` of the ``aws_batch_job_definition``: ``multinode`` or ``container``."""
    return MULTINODE if job.is_multinode else CONTAINER


def range_job(job: JobDefinition, index: int) -> JobDefinition:
    """The job as node range ``index`` runs it: the job-level keys are the defaults of every
    range; the range's own keys win, and its ``environment``/``secrets`` merge over the job's."""
    assert job.nodes is not None
    rng = job.nodes.ranges[index]
    updates: dict[str, Any] = {
        name: getattr(rng, name) for name in _RANGE_VALUES if getattr(rng, name) is not None
    }
    for name in _RANGE_MAPS:
        updates[name] = {**(getattr(job, name) or {}), **getattr(rng, name)}
    for name in ContainerOptions.model_fields:
        if name in rng.model_fields_set:
            updates[name] = getattr(rng, name)
    return job.model_copy(update=updates)


def node_properties(env: Environment, key: str) -> dict[str, Any]:
    """``nodeProperties`` of multi-node job ``key``: one ``container`` per node range, each the
    ``containerProperties`` of :func:`range_job` (so roles, volumes and the log group are the
    job's)."""
    job = env.job(key)
    assert job.nodes is not None
    ranges = [
        {
            "container": container_properties(env, key, range_job(job, i)),
            "targetNodes": rng.nodes,
        }
        for i, rng in enumerate(job.nodes.ranges)
    ]
    return {
        "mainNode": job.nodes.main,
        "nodeRangeProperties": ranges,
        "numNodes": job.nodes.count,
    }


# Task-level keys of ecsProperties that container_options() writes per container for
# containerProperties (EcsTaskProperties: runtimePlatform, enableExecuteCommand).
_TASK_LEVEL_OPTIONS = ("runtimePlatform", "enableExecuteCommand")


def _task_container(env: Environment, key: str, name: str) -> dict[str, Any]:
    """One ``TaskContainerProperties``: the job's ``environment``/``secrets`` merged under the
    container's own; the job's volumes mounted in every container."""
    job = env.job(key)
    assert job.containers is not None
    c = job.containers[name]
    merged = job.model_copy(
        update={
            "image": c.image,
            "command": list(c.command),
            "vcpus": c.vcpus,
            "memory": c.memory,
            "gpus": c.gpus,
            "environment": {**(job.environment or {}), **c.environment},
            "secrets": {**job.secrets, **c.secrets},
        }
    )
    props: dict[str, Any] = {
        "essential": c.essential,
        "image": c.image,
        "name": name,
        "resourceRequirements": _resource_requirements(merged),
    }
    if c.command:
        props["command"] = list(c.command)
    if c.depends_on:
        props["dependsOn"] = [
            {"condition": condition, "containerName": other}
            for other, condition in sorted(c.depends_on.items())
        ]
    props.update(_environment_and_secrets(merged))
    _, mounts = _volumes(job)
    if mounts:
        props["mountPoints"] = mounts
    if job.privileged and not is_fargate(job):
        props["privileged"] = True
    props["logConfiguration"] = log_configuration(env, key, c.log or job.log)
    options = container_options(c, is_fargate(job))
    for name_ in _TASK_LEVEL_OPTIONS:
        options.pop(name_, None)
    props.update(options)
    return dict(sorted(props.items()))


def ecs_properties(env: Environment, key: str) -> dict[str, Any]:
    """``ecsProperties`` of multi-container job ``key``: one task whose containers are sorted
    by name (the order the provider compares in: ``orderContainers`` in
    internal/service/batch/ecs_properties.go), with the roles, volumes and Fargate settings a
    single-container job has at its own level (``jobRoleArn`` becomes ``taskRoleArn``)."""
    job = env.job(key)
    assert job.containers is not None
    fargate = is_fargate(job)
    task: dict[str, Any] = {
        "containers": [_task_container(env, key, name) for name in sorted(job.containers)]
    }
    job_role = refs.job_role_arn(env, key)
    if job_role is not None:
        task["taskRoleArn"] = job_role
    if fargate or job.all_secrets or job.all_log_secret_options:
        execution_role = refs.execution_role_arn(env)
        if execution_role is not None:
            task["executionRoleArn"] = execution_role
    volumes, _ = _volumes(job)
    if volumes:
        task["volumes"] = volumes
    if fargate:
        task["platformVersion"] = job.platform_version or FARGATE_DEFAULT_PLATFORM_VERSION
        task["networkConfiguration"] = {
            "assignPublicIp": "ENABLED" if job.assign_public_ip else "DISABLED"
        }
        if job.ephemeral_storage is not None:
            task["ephemeralStorage"] = {"sizeInGiB": job.ephemeral_storage}
    task_options = container_options(job, fargate)
    for name in _TASK_LEVEL_OPTIONS:
        if name in task_options:
            task[name] = task_options[name]
    return {"taskProperties": [dict(sorted(task.items()))]}


@dataclass(frozen=True)
class TaskSize:
    """The vCPUs and memory (MiB) one task asks of Fargate, where the values are written:
    a multi-container task is the sum over its containers (Batch sizes the task by it)."""

    vcpus: float
    memory: int
    path: tuple[str | int, ...]
    summed: bool


def task_size(env: Environment, key: str) -> TaskSize | None:
    """The size of job ``key``'s task, or ``None`` while a value is missing (reported
    elsewhere). Multi-node ranges are EC2 only, so they have none."""
    job = env.job(key)
    if job.containers is not None:
        containers = job.containers.values()
        return TaskSize(
            sum(c.vcpus for c in containers),
            sum(c.memory for c in containers),
            ("job_definitions", key, "containers"),
            summed=True,
        )
    if job.vcpus is None or job.memory is None or job.is_multinode:
        return None
    return TaskSize(job.vcpus, job.memory, ("job_definitions", key), summed=False)


@dataclass(frozen=True, slots=True)
class Demand:
    """What must fit on one instance for job ``key`` to run: the job, one node of a node range
    (each node is one instance), or every container of a multi-container task together."""

    what: str  # "job definition 'x'", "node range '1:' of job definition 'x'"
    path: tuple[str | int, ...]  # where the values are written
    vcpus: float
    memory: int
    gpus: int


def demands(env: Environment, key: str) -> list[Demand]:
    """Each :class:`Demand` of job ``key`` whose values are all known."""
    job = env.job(key)
    base = ("job_definitions", key)
    if job.containers is not None:
        cs = job.containers.values()
        return [
            Demand(
                f"job definition '{key}' (its {len(job.containers)} containers together)",
                (*base, "containers"),
                sum(c.vcpus for c in cs),
                sum(c.memory for c in cs),
                sum(c.gpus for c in cs),
            )
        ]
    if job.nodes is not None:
        found: list[Demand] = []
        for i, rng in enumerate(job.nodes.ranges):
            merged = range_job(job, i)
            if merged.vcpus is None or merged.memory is None:
                continue
            found.append(
                Demand(
                    f"node range '{rng.nodes}' of job definition '{key}'",
                    (*base, "nodes", "ranges", i),
                    merged.vcpus,
                    merged.memory,
                    merged.gpus,
                )
            )
        return found
    if job.vcpus is None or job.memory is None:
        return []
    return [Demand(f"job definition '{key}'", base, job.vcpus, job.memory, job.gpus)]


def _eks_user(user: str | None) -> dict[str, int]:
    """``runAsUser``/``runAsGroup`` from ``user: "1000"`` or ``"1000:1000"`` (Kubernetes takes
    numeric ids only; check BF558 refuses names)."""
    if user is None:
        return {}
    uid, _, gid = user.partition(":")
    out: dict[str, int] = {}
    if uid.isdigit():
        out["run_as_user"] = int(uid)
    if gid.isdigit():
        out["run_as_group"] = int(gid)
    return out


def eks_resources(job: JobDefinition) -> dict[str, str]:
    """Kubernetes resource quantities of an EKS job's container: ``cpu``, ``memory`` in
    ``Mi`` and ``nvidia.com/gpu``, written as both requests and limits (Batch on EKS wants
    memory and GPU limits equal to the requests when both are given:
    EksContainerResourceRequirements in the Batch API reference)."""
    quantities = {
        "cpu": vcpu_value(job.vcpus or 0),
        "memory": f"{job.memory or 0}Mi",
    }
    if job.gpus > 0:
        quantities["nvidia.com/gpu"] = str(job.gpus)
    return dict(sorted(quantities.items()))


def eks_container(job: JobDefinition) -> dict[str, Any]:
    """The one container of an EKS job's pod, as the ``containers`` block of the provider 5.x
    ``eks_properties.pod_properties`` takes it (snake_case block arguments, not API JSON)."""
    container: dict[str, Any] = {"name": "main", "image": job.image or ""}
    if job.command:
        container["command"] = list(job.command)
    container["env"] = [
        {"name": n, "value": v} for n, v in sorted((job.environment or {}).items()) if v != ""
    ]
    resources = eks_resources(job)
    container["resources"] = {"limits": resources, "requests": resources}
    container["security_context"] = eks_security_context(job)
    return container


def eks_security_context(job: JobDefinition) -> dict[str, int | bool]:
    """``security_context`` of an EKS job's container, from ``privileged``,
    ``readonly_root_filesystem`` and ``user``; empty when the file sets none of them."""
    security: dict[str, int | bool] = {}
    if job.privileged:
        security["privileged"] = True
    if job.readonly_root_filesystem is not None:
        security["read_only_root_file_system"] = job.readonly_root_filesystem
    security.update(_eks_user(job.user))
    return security


def job_images(job: JobDefinition, key: str) -> list[tuple[tuple[str | int, ...], str]]:
    """``(path, image)`` of every image job ``key`` runs: its own, each node range's that
    sets one, each container's."""
    base: tuple[str | int, ...] = ("job_definitions", key)
    found: list[tuple[tuple[str | int, ...], str]] = []
    if job.image is not None:
        found.append(((*base, "image"), job.image))
    for i, rng in enumerate(job.nodes.ranges if job.nodes is not None else []):
        if rng.image is not None:
            found.append(((*base, "nodes", "ranges", i, "image"), rng.image))
    for name, container in sorted((job.containers or {}).items()):
        found.append(((*base, "containers", name, "image"), container.image))
    return found


def runs_on(job: JobDefinition, ce: ComputeEnvironment) -> bool:
    """Whether a CE can run the job's platform: EKS jobs only on EKS CEs, Fargate jobs on
    Fargate CEs, EC2 jobs on the other (ECS) CEs, managed or not."""
    if is_eks(job) or ce.is_eks:
        return is_eks(job) and ce.is_eks
    return is_fargate(job) == ce.is_fargate


def properties_document(env: Environment, key: str) -> tuple[str, dict[str, Any]]:
    """The one properties document job ``key`` registers, by its API name: what counts
    against RegisterJobDefinition's size limit."""
    job = env.job(key)
    if job.is_multinode:
        return "nodeProperties", node_properties(env, key)
    if job.is_multi_container:
        return "ecsProperties", ecs_properties(env, key)
    if is_eks(job):
        return "eksProperties", {"podProperties": {"containers": [eks_container(job)]}}
    return "containerProperties", container_properties(env, key)


# --- IAM: KMS ARNs and the roles batchform generates ----------------------------------------


BATCH_SERVICE_POLICY = "service-role/AWSBatchServiceRole"

ECS_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"

SPOT_FLEET_POLICY = "service-role/AmazonEC2SpotFleetTaggingRole"

EXECUTION_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy"

# What the nodes of an EKS compute environment need on their instance role to join the cluster,
# run the VPC CNI and pull images (AWS Batch User Guide, "Getting started with Amazon EKS":
# https://docs.aws.amazon.com/batch/latest/userguide/getting-started-eks.html, and the Amazon
# EKS node IAM role: https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html).
EKS_NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)


def has_eks_compute(env: Environment) -> bool:
    return any(ce.eks is not None for ce in env.compute_environments.values())


KMS_ARN = re.compile(
    r"^arn:(?P<partition>aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?):kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r":(?P<account>\d{12}):(?P<kind>key|alias)/(?P<name>[^\s]+)\Z"
)

KMS_KEY_ID = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})\Z"
)

KMS_ALIAS_NAME = re.compile(r"^[A-Za-z0-9/_-]{1,250}\Z")


@dataclass(frozen=True)
class KmsArn:
    """A parsed KMS key or alias ARN."""

    partition: str
    region: str
    account: str
    kind: str  # key | alias
    name: str  # key id, or the alias name without ``alias/``


def parse_kms_arn(value: str) -> KmsArn | None:
    """The parts of a well-formed KMS key or alias ARN, or ``None`` (check BF253 reports it)."""
    match = KMS_ARN.match(value)
    if match is None:
        return None
    arn = KmsArn(**match.groupdict())
    pattern = KMS_KEY_ID if arn.kind == "key" else KMS_ALIAS_NAME
    return arn if pattern.match(arn.name) else None


def generated_job_roles(env: Environment) -> list[str]:
    """Keys of job definitions whose ``job_role`` batchform generates, sorted: those whose
    ``job_role`` lists buckets or keys, and those with ECS Exec on and no ``job_role`` at all
    (ECS Exec opens its session with the job role's ssmmessages permissions, so batchform
    generates the role that carries them; :func:`batchform.refs.job_role_arn`)."""
    return sorted(
        key
        for key, job in env.job_definitions.items()
        if (job.job_role is not None and job.job_role.arn is None)
        or (job.job_role is None and bool(job.execute_command))
    )


def job_role_purpose(key: str) -> str:
    return f"job-{key}"


def needs_instance_role(env: Environment) -> bool:
    # an UNMANAGED CE's instances are launched, with their own profile, by its owner
    return env.iam.instance_role_value == refs.GENERATED and any(
        not ce.is_fargate and not ce.is_unmanaged for ce in env.compute_environments.values()
    )


@dataclass(frozen=True)
class RoleSpec:
    """One role the plan generates: who assumes it and which managed policy it carries."""

    purpose: str  # ``<name>-<purpose>`` is the role name; ``role-<purpose>`` its tag key
    label: str
    service: str
    description: str
    managed_policy: str | None = None
    job_key: str | None = None


def role_specs(env: Environment) -> list[RoleSpec]:
    """The roles this environment needs, without their policies (so checks can call it on a
    model whose secrets or buckets are still invalid)."""
    specs: list[RoleSpec] = []
    if env.iam.service_role == refs.GENERATED and env.compute_environments:
        specs.append(
            RoleSpec(
                "batch-service",
                "batch_service",
                "batch.amazonaws.com",
                "AWS Batch service role for compute environments",
                BATCH_SERVICE_POLICY,
            )
        )
    if needs_instance_role(env):
        specs.append(
            RoleSpec(
                "ecs-instance",
                "ecs_instance",
                "ec2.amazonaws.com",
                "ECS container instances of AWS Batch compute environments",
                ECS_INSTANCE_POLICY,
            )
        )
    if refs.needs_spot_fleet_role(env) and env.iam.spot_fleet_role == refs.GENERATED:
        specs.append(
            RoleSpec(
                "spot-fleet",
                "spot_fleet",
                "spotfleet.amazonaws.com",
                "Spot Fleet requests of AWS Batch SPOT compute environments",
                SPOT_FLEET_POLICY,
            )
        )
    if refs.needs_execution_role(env) and env.iam.execution_role == refs.GENERATED:
        specs.append(
            RoleSpec(
                "execution",
                "execution",
                "ecs-tasks.amazonaws.com",
                "ECS task execution: image pulls, logs and job secrets",
                EXECUTION_POLICY,
            )
        )
    if env.schedules:
        specs.append(
            RoleSpec(
                "scheduler",
                "scheduler",
                "scheduler.amazonaws.com",
                "EventBridge Scheduler: submits the scheduled jobs of this environment",
            )
        )
    for key in generated_job_roles(env):
        specs.append(
            RoleSpec(
                job_role_purpose(key),
                f"job_{naming.label(key)}",
                "ecs-tasks.amazonaws.com",
                f"Job role of the {key} job definition",
                job_key=key,
            )
        )
    return specs


def generated_role_names(env: Environment) -> list[tuple[str, str]]:
    """``(purpose, role name)`` of every role this plan generates (checks test their length)."""
    return [(spec.purpose, role_name(env.name, spec.purpose)) for spec in role_specs(env)]
