"""Compute rules (BF300-BF349): compute environments, launch templates and machine images.

Each rule is an AWS Batch, EC2 or EBS constraint that would otherwise surface at ``terraform
apply`` (often half-way through), or later as a compute environment stuck INVALID, instances
that never join the cluster, or a CE that Terraform replaces on every change. The facts come from
the AWS Batch, EC2 and EBS documentation and the provider's source; instance facts from
:mod:`batchform.instance_types`.

Rules are written against the *effective* values the plan generates (default instance types,
the image type :mod:`batchform.plan.compute` picks) so that what is checked is what is deployed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchform import derive as compute_plan
from batchform import instance_types, naming, refs, requirements
from batchform.checks import Finding, rule
from batchform.diagnostics import Level, Path
from batchform.model import ComputeEnvironment, Environment, RootVolume, is_security_group_id

SPOT_ONLY_STRATEGIES = ("SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED")
UPDATABLE_STRATEGIES = ("BEST_FIT_PROGRESSIVE", *SPOT_ONLY_STRATEGIES)
CE_NAME_PREFIX_MAX = 102
MAX_COMPUTE_ENVIRONMENTS = 50
FARGATE_MAX_SECURITY_GROUPS = 5
FARGATE_MAX_SUBNETS = 16
UPDATE_TIMEOUT_MINUTES = (1, 360)

DEPRECATED_IMAGE_TYPES = ("ECS_AL2", "ECS_AL2_NVIDIA")
AL2023_IMAGE_TYPES = ("ECS_AL2023", "ECS_AL2023_NVIDIA")
NVIDIA_IMAGE_TYPES = ("ECS_AL2_NVIDIA", "ECS_AL2023_NVIDIA")
AL2023_UNSUPPORTED_FAMILY = re.compile(r"^a1\Z")
AL2023_NVIDIA_UNSUPPORTED_FAMILY = re.compile(r"^(p3|g3)[a-z]*\Z")

# EBS limits per volume type (EBS User Guide, "Amazon EBS volume types").
IOPS_TYPES = ("gp3", "io1", "io2")
THROUGHPUT_TYPES = ("gp3",)
# EBS limits (https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html and
# provisioned-iops.html; API_CreateVolume.html). gp3 was raised to 80,000 IOPS and 64 TiB in
# 2025; its throughput stays at 1,000 MiB/s here because the Terraform AWS provider refuses a
# launch template throughput above that at plan time (internal/service/ec2/ec2_launch_template.go,
# validation.IntBetween(125, 1000)).
GP3_IOPS = (3000, 80000)
GP3_THROUGHPUT = (125, 1000)
GP3_THROUGHPUT_PER_IOPS = 0.25  # MiB/s per provisioned IOPS
PROVISIONED_IOPS = {"io1": (100, 64000), "io2": (100, 256000)}
# The most IOPS a volume may provision per GiB of its size (gp3's 3,000 included IOPS need no
# size).
MAX_IOPS_PER_GIB = {"gp3": 500, "io1": 50, "io2": 1000}
VOLUME_SIZE_GIB = {
    "gp2": (1, 16384),
    "gp3": (1, 65536),
    "io1": (4, 16384),
    "io2": (4, 65536),
    "st1": (125, 16384),
    "sc1": (125, 16384),
    "standard": (1, 1024),
}
NOT_BOOTABLE_TYPES = ("st1", "sc1")
ECS_AMI_ROOT_GIB = 30  # snapshot size of the ECS-optimized Amazon Linux 2023 AMIs

SCRATCH_DEVICE = re.compile(r"^/dev/(sd|xvd)[b-z]\Z")
MOUNT_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+\Z")
SYSTEM_DIRECTORIES = frozenset(
    {
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib64",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/var/lib",
        "/var/lib/docker",
        "/var/lib/ecs",
        "/var/log",
    }
)
AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})\Z")


def _ce_path(key: str, *rest: str | int) -> Path:
    return ("compute_environments", key, *rest)


def _ec2_ces(env: Environment) -> Iterator[tuple[str, ComputeEnvironment]]:
    """Managed EC2/SPOT compute environments (an UNMANAGED CE has no compute resources: what
    it refuses is checks/multi.py's BF557)."""
    for key, ce in env.compute_environments.items():
        if not ce.is_fargate and not ce.is_unmanaged:
            yield key, ce


def _fargate_ces(env: Environment) -> Iterator[tuple[str, ComputeEnvironment]]:
    for key, ce in env.compute_environments.items():
        if ce.is_fargate:
            yield key, ce


def _aws_image_type(env: Environment, ce: ComputeEnvironment) -> str | None:
    """The AWS-provided image family a CE boots, ``None`` for a custom AMI (id or SSM)."""
    if ce.ami is not None:
        ami = env.amis.get(ce.ami)
        return ami.image_type if ami is not None else None
    return compute_plan.default_image_type(ce)


# --- allocation strategy and roles ------------------------------------------------------------


@rule("BF300", Level.ERROR, "a Spot-only allocation strategy on an EC2 compute environment")
def allocation_strategy_for_type(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        if ce.type == "EC2" and ce.allocation_strategy in SPOT_ONLY_STRATEGIES:
            yield Finding(
                _ce_path(key, "allocation_strategy"),
                f"allocation strategy {ce.allocation_strategy} is for SPOT compute environments; "
                f"'{key}' is EC2 (On-Demand)",
                "use BEST_FIT_PROGRESSIVE for EC2, or make the compute environment type: SPOT",
            )


@rule("BF301", Level.WARNING, "BEST_FIT makes every later change replace the compute environment")
def best_fit_not_updatable(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        if ce.allocation_strategy in UPDATABLE_STRATEGIES:
            continue
        chosen = "BEST_FIT" if ce.allocation_strategy else "no allocation strategy (BEST_FIT)"
        path = _ce_path(key, "allocation_strategy" if ce.allocation_strategy else "type")
        better = "SPOT_PRICE_CAPACITY_OPTIMIZED" if ce.type == "SPOT" else "BEST_FIT_PROGRESSIVE"
        yield Finding(
            path,
            f"compute environment '{key}' uses {chosen}: AWS cannot update it in place, so every "
            "later change to it is a replacement that drains running jobs",
            f"use allocation_strategy: {better}",
        )


@rule("BF302", Level.WARNING, "a service role other than the service-linked role blocks updates")
def service_role_not_updatable(env: Environment) -> Iterator[Finding]:
    if env.iam.service_role == refs.SERVICE_LINKED:
        return
    ec2 = [key for key, _ in _ec2_ces(env)]
    if ec2:
        yield Finding(
            ("iam", "service_role"),
            "with a service role other than AWS Batch's service-linked role, AWS cannot update "
            f"EC2/SPOT compute environments ({', '.join(ec2)}) in place: every change "
            "replaces them",
            "use service_role: service-linked (the default) unless policy forbids it",
        )


# --- Spot bid -------------------------------------------------------------------------------


@rule("BF303", Level.ERROR, "bid_percentage on a compute environment that is not SPOT")
def bid_only_for_spot(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        if ce.type == "EC2" and ce.bid_percentage is not None:
            yield Finding(
                _ce_path(key, "bid_percentage"),
                f"bid_percentage applies to SPOT compute environments only; '{key}' is EC2",
                "remove bid_percentage, or make the compute environment type: SPOT",
            )


# --- vCPUs ----------------------------------------------------------------------------------


@rule("BF305", Level.ERROR, "min_vcpus must be between 0 and max_vcpus")
def min_vcpus_range(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        if ce.min_vcpus < 0:
            yield Finding(
                _ce_path(key, "min_vcpus"),
                f"min_vcpus {ce.min_vcpus} is negative",
                "use 0 so the environment scales to zero when idle",
            )
        elif ce.min_vcpus > ce.vcpu_limit:
            yield Finding(
                _ce_path(key, "min_vcpus"),
                f"min_vcpus {ce.min_vcpus} is more than max_vcpus {ce.max_vcpus}",
                "lower min_vcpus (0 scales to zero when idle) or raise max_vcpus",
            )


# --- instance types --------------------------------------------------------------------------


@rule("BF307", Level.ERROR, "an instance type is not a valid instance type name")
def instance_type_syntax(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        for i, entry in enumerate(ce.instance_types or []):
            if not instance_types.is_valid_syntax(entry):
                yield Finding(
                    _ce_path(key, "instance_types", i),
                    f"'{entry}' is not an instance type, family, or one of optimal, "
                    "default_x86_64, default_arm64",
                    "write a family such as c6i or a size such as c6i.4xlarge (lowercase)",
                )


@rule("BF308", Level.ERROR, "optimal is combined with other instance types")
def optimal_alone(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        entries = ce.instance_types or []
        if instance_types.OPTIMAL in entries and len(entries) > 1:
            yield Finding(
                _ce_path(key, "instance_types", entries.index(instance_types.OPTIMAL)),
                "'optimal' lets AWS choose the instance types and cannot be combined with others",
                "list either [optimal] alone or the families you want",
            )


@rule("BF309", Level.ERROR, "instance types of different CPU architectures in one environment")
def single_architecture(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        entries = compute_plan.expected_instance_types(ce)
        arches = instance_types.architectures(entries)
        if len(arches) < 2:
            continue
        first = instance_types.architecture(entries[0])
        for i, entry in enumerate(entries):
            arch = instance_types.architecture(entry)
            if arch is not None and arch != first:
                yield Finding(
                    _ce_path(key, "instance_types", i),
                    f"'{entry}' is {arch} but '{entries[0]}' is {first}: one compute "
                    "environment runs one architecture, and its jobs' images are built for one",
                    "put arm64 (Graviton, *g families) and x86_64 types in separate compute "
                    "environments and queues",
                )
                break


# --- images ----------------------------------------------------------------------------------


# "Effective June 30, 2026, Batch will block creation of new Amazon ECS compute environments
# using Batch-provided Amazon Linux 2 AMIs" (Batch API reference, Ec2Configuration.imageType, as
# shipped in botocore's batch/2016-08-10 model): past that date a new or replaced compute
# environment on these image types fails to be created.
@rule("BF310", Level.ERROR, "an Amazon Linux 2 ECS image type (Batch no longer creates them)")
def deprecated_image_type(env: Environment) -> Iterator[Finding]:
    for key, ami in env.amis.items():
        if ami.image_type in DEPRECATED_IMAGE_TYPES:
            yield Finding(
                ("amis", key, "image_type"),
                f"{ami.image_type} is Amazon Linux 2: AWS Batch no longer creates compute "
                "environments on AWS-provided AL2 images from 2026-06-30",
                f"use {ami.image_type.replace('ECS_AL2', 'ECS_AL2023')}",
            )


@rule("BF311", Level.ERROR, "an Amazon Linux 2023 image type with a1 instances")
def al2023_without_a1(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        image = _aws_image_type(env, ce)
        if image not in AL2023_IMAGE_TYPES:
            continue
        for i, entry in enumerate(ce.instance_types or []):
            family = instance_types.family_of(entry)
            if family and AL2023_UNSUPPORTED_FAMILY.match(family):
                yield Finding(
                    _ce_path(key, "instance_types", i),
                    f"{image} (Amazon Linux 2023) does not run on a1 instances",
                    "use a newer Graviton family such as c7g, m7g or r7g",
                )


@rule("BF312", Level.ERROR, "ECS_AL2023_NVIDIA with p3 or g3 instances")
def al2023_nvidia_without_p3_g3(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        if _aws_image_type(env, ce) != "ECS_AL2023_NVIDIA":
            continue
        for i, entry in enumerate(ce.instance_types or []):
            family = instance_types.family_of(entry)
            if family and AL2023_NVIDIA_UNSUPPORTED_FAMILY.match(family):
                yield Finding(
                    _ce_path(key, "instance_types", i),
                    f"ECS_AL2023_NVIDIA does not support {family} instances (their GPUs need a "
                    "driver AL2023 does not ship)",
                    "use a current GPU family such as g5, g6 or p4d",
                )


@rule("BF313", Level.WARNING, "GPU instance types with an image type that has no NVIDIA driver")
def gpu_needs_nvidia_image(env: Environment) -> Iterator[Finding]:
    for key, ce in _ec2_ces(env):
        if ce.ami is None or ce.ami not in env.amis:
            continue
        image = env.amis[ce.ami].image_type
        if image is None or image in NVIDIA_IMAGE_TYPES:
            continue
        gpu = [t for t in ce.instance_types or [] if instance_types.is_gpu(t)]
        if gpu:
            yield Finding(
                _ce_path(key, "ami"),
                f"AMI '{ce.ami}' is {image}, which has no NVIDIA driver, but '{key}' launches GPU "
                f"instances ({', '.join(gpu)}): jobs asking for GPUs would never start",
                f"use an AMI with image_type: {image}_NVIDIA",
            )


@rule("BF314", Level.ERROR, "an AMI id is malformed")
def ami_id_syntax(env: Environment) -> Iterator[Finding]:
    for key, ami in env.amis.items():
        if ami.id is not None and not AMI_ID.match(ami.id):
            yield Finding(
                ("amis", key, "id"),
                f"'{ami.id}' is not an AMI id",
                "AMI ids look like ami-0123456789abcdef0",
            )


# --- Fargate ---------------------------------------------------------------------------------

_FARGATE_FORBIDDEN = (
    ("allocation_strategy", "an allocation strategy"),
    ("bid_percentage", "a bid percentage"),
    ("instance_types", "instance types"),
    ("ami", "an AMI"),
    ("launch_template", "a launch template"),
    ("min_vcpus", "min_vcpus"),
    ("ec2_key_pair", "a key pair"),
    ("placement_group", "a placement group"),
    ("instance_tags", "instance tags"),
)


@rule("BF315", Level.ERROR, "a Fargate compute environment sets an EC2-only key")
def fargate_forbidden_keys(env: Environment) -> Iterator[Finding]:
    for key, ce in _fargate_ces(env):
        for name, what in _FARGATE_FORBIDDEN:
            if name in ce.model_fields_set:
                yield Finding(
                    _ce_path(key, name),
                    f"{ce.type} compute environment '{key}' cannot have {what}: Fargate "
                    "chooses and runs the capacity itself",
                    f"remove {name}, or use type EC2/SPOT if you need it",
                )


@rule("BF316", Level.ERROR, "a Fargate compute environment has more than 5 security groups")
def fargate_security_group_count(env: Environment) -> Iterator[Finding]:
    for key, ce in _fargate_ces(env):
        groups = env.ce_security_groups(key)
        if len(groups) > FARGATE_MAX_SECURITY_GROUPS:
            path = _ce_path(key, "security_groups") if ce.security_groups else _ce_path(key)
            yield Finding(
                path,
                f"Fargate compute environment '{key}' uses {len(groups)} security groups; "
                f"AWS allows at most {FARGATE_MAX_SECURITY_GROUPS}",
                "list at most 5 in security_groups (without it, every group under "
                "network.security_groups is used)",
            )


@rule("BF317", Level.ERROR, "a Fargate compute environment has more than 16 subnets")
def fargate_subnet_count(env: Environment) -> Iterator[Finding]:
    for key, ce in _fargate_ces(env):
        count = len(refs.subnet_ids(env, ce.subnets))
        if count > FARGATE_MAX_SUBNETS:
            yield Finding(
                _ce_path(key, "subnets"),
                f"Fargate compute environment '{key}' uses {count} subnets; AWS allows at most "
                f"{FARGATE_MAX_SUBNETS}",
                "list at most 16 subnet ids",
            )


@rule("BF318", Level.ERROR, "a compute environment has no subnets to launch into")
def ce_has_subnets(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        if not refs.subnet_ids(env, ce.subnets):
            where = ce.subnets if isinstance(ce.subnets, str) else "listed"
            yield Finding(
                _ce_path(key, "subnets"),
                f"compute environment '{key}' has no {where} subnets to launch into",
                f"list {where}_subnets under network.vpc.existing, or give subnet ids here"
                if isinstance(ce.subnets, str)
                else "list at least one subnet id",
            )


# --- limits ----------------------------------------------------------------------------------


@rule("BF319", Level.ERROR, "update_policy.job_execution_timeout outside 1-360 minutes")
def update_timeout_range(env: Environment) -> Iterator[Finding]:
    low, high = UPDATE_TIMEOUT_MINUTES
    for key, ce in env.compute_environments.items():
        if ce.update_policy is None:
            continue
        minutes = compute_plan.update_policy_minutes(ce.update_policy.job_execution_timeout)
        if not low <= minutes <= high:
            yield Finding(
                _ce_path(key, "update_policy", "job_execution_timeout"),
                f"job_execution_timeout is {minutes} minutes; the Terraform AWS provider "
                f"accepts {low} to {high} minutes (6h) and refuses the plan otherwise (the Batch "
                "API itself now allows up to 7200)",
                "use a duration between 1m and 6h, e.g. 30m",
            )


# AWS Batch quotas that "can't be changed", each per Region: 50 job queues, 50 compute
# environments (https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html).
@rule(
    "BF320", Level.ERROR, "more than 50 compute environments (a per-region quota AWS never raises)"
)
def compute_environment_quota(env: Environment) -> Iterator[Finding]:
    count = len(env.compute_environments)
    if count > MAX_COMPUTE_ENVIRONMENTS:
        yield Finding(
            ("compute_environments",),
            f"{count} compute environments exceed AWS Batch's quota of "
            f"{MAX_COMPUTE_ENVIRONMENTS} per region, which cannot be raised (and is shared with "
            "every other environment in the account): the apply would fail part-way",
            "merge compute environments, or split the environment across regions",
        )


@rule("BF321", Level.ERROR, "a compute environment name prefix is longer than 102 characters")
def ce_name_prefix_length(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        prefix = naming.compute_environment_prefix(env, key)
        if prefix is None or len(prefix) <= CE_NAME_PREFIX_MAX:
            continue
        own = ce.aws_name_prefix is not None
        yield Finding(
            _ce_path(key, "aws_name_prefix") if own else _ce_path(key),
            f"the name prefix '{prefix}' is {len(prefix)} characters; AWS allows "
            f"{CE_NAME_PREFIX_MAX} before Terraform's 26-character unique suffix",
            f"shorten aws_name_prefix to at most {CE_NAME_PREFIX_MAX - len(key) - 1} characters"
            if own
            else "use a shorter environment name or compute environment key",
        )


# --- launch template volumes -----------------------------------------------------------------


def _volumes(env: Environment) -> Iterator[tuple[Path, RootVolume]]:
    for key, lt in env.launch_templates.items():
        if lt.root_volume is not None:
            yield ("launch_templates", key, "root_volume"), lt.root_volume
        if lt.scratch_volume is not None:
            yield ("launch_templates", key, "scratch_volume"), lt.scratch_volume


@rule("BF322", Level.ERROR, "iops or throughput on a volume type that does not take them")
def volume_performance_type(env: Environment) -> Iterator[Finding]:
    for path, volume in _volumes(env):
        if volume.iops is not None and volume.type not in IOPS_TYPES:
            yield Finding(
                (*path, "iops"),
                f"{volume.type} volumes have no provisioned IOPS",
                "remove iops, or use type gp3 (3000-16000 IOPS) or io2",
            )
        if volume.throughput is not None and volume.type not in THROUGHPUT_TYPES:
            yield Finding(
                (*path, "throughput"),
                f"{volume.type} volumes have no provisioned throughput (only gp3 does)",
                "remove throughput, or use type gp3 (125-1000 MiB/s)",
            )


@rule("BF323", Level.ERROR, "gp3 IOPS or throughput out of range")
def gp3_performance_range(env: Environment) -> Iterator[Finding]:
    for path, volume in _volumes(env):
        if volume.type != "gp3":
            continue
        iops = volume.iops if volume.iops is not None else GP3_IOPS[0]
        if volume.iops is not None and not GP3_IOPS[0] <= iops <= GP3_IOPS[1]:
            yield Finding(
                (*path, "iops"),
                f"gp3 iops {iops} is outside {GP3_IOPS[0]}-{GP3_IOPS[1]}",
                f"gp3 includes 3000 IOPS; provision up to {GP3_IOPS[1]}",
            )
            continue
        if volume.iops is not None and iops > max(GP3_IOPS[0], _max_iops(volume)):
            yield _iops_for_size(path, volume)
            continue
        throughput = volume.throughput
        if throughput is None:
            continue
        if not GP3_THROUGHPUT[0] <= throughput <= GP3_THROUGHPUT[1]:
            yield Finding(
                (*path, "throughput"),
                f"gp3 throughput {throughput} MiB/s is outside "
                f"{GP3_THROUGHPUT[0]}-{GP3_THROUGHPUT[1]}",
                "gp3 includes 125 MiB/s; provision up to 1000",
            )
        elif throughput > iops * GP3_THROUGHPUT_PER_IOPS:
            needed = int(throughput / GP3_THROUGHPUT_PER_IOPS)
            yield Finding(
                (*path, "throughput"),
                f"gp3 throughput {throughput} MiB/s needs at least {needed} IOPS "
                f"(0.25 MiB/s per IOPS); the volume has {iops}",
                f"set iops to {needed} or more, or lower throughput",
            )


@rule("BF324", Level.ERROR, "an io1/io2 volume without provisioned IOPS in range")
def provisioned_iops(env: Environment) -> Iterator[Finding]:
    for path, volume in _volumes(env):
        limits = PROVISIONED_IOPS.get(volume.type)
        if limits is None:
            continue
        if volume.iops is None:
            yield Finding(
                (*path, "type"),
                f"{volume.type} volumes need iops",
                f"set iops ({limits[0]}-{limits[1]}), or use gp3",
            )
        elif not limits[0] <= volume.iops <= limits[1]:
            yield Finding(
                (*path, "iops"),
                f"{volume.type} iops {volume.iops} is outside {limits[0]}-{limits[1]}",
                f"use {limits[0]}-{limits[1]} IOPS",
            )
        elif volume.iops > _max_iops(volume):
            yield _iops_for_size(path, volume)


def _max_iops(volume: RootVolume) -> int:
    return MAX_IOPS_PER_GIB[volume.type] * volume.size


def _iops_for_size(path: Path, volume: RootVolume) -> Finding:
    """EC2 refuses more IOPS than the volume's size allows (500 per GiB on gp3, 50 on io1,
    1,000 on io2)."""
    assert volume.iops is not None
    ratio = MAX_IOPS_PER_GIB[volume.type]
    needed = -(-volume.iops // ratio)
    return Finding(
        (*path, "iops"),
        f"{volume.iops} IOPS need a {volume.type} volume of at least {needed} GiB ({ratio} IOPS "
        f"per GiB); this one has {volume.size} GiB",
        f"set size to {needed} GiB or more, or lower iops to {_max_iops(volume)}",
    )


@rule("BF325", Level.ERROR, "a volume size is out of range for its type")
def volume_size_range(env: Environment) -> Iterator[Finding]:
    for path, volume in _volumes(env):
        low, high = VOLUME_SIZE_GIB[volume.type]
        if not low <= volume.size <= high:
            yield Finding(
                (*path, "size"),
                f"a {volume.type} volume of {volume.size} GiB is outside {low}-{high} GiB",
                f"use a size from {low} GiB to {high} GiB ({high // 1024} TiB)"
                if high >= 1024
                else f"use a size from {low} GiB to {high} GiB",
            )


@rule("BF326", Level.ERROR, "a root volume of a type EC2 cannot boot from (st1, sc1)")
def bootable_root_volume(env: Environment) -> Iterator[Finding]:
    for key, lt in env.launch_templates.items():
        if lt.root_volume is not None and lt.root_volume.type in NOT_BOOTABLE_TYPES:
            yield Finding(
                ("launch_templates", key, "root_volume", "type"),
                f"{lt.root_volume.type} (HDD) volumes cannot be boot volumes",
                "use type gp3 for the root volume",
            )


@rule("BF327", Level.WARNING, "a root volume smaller than the ECS-optimized AMI's 30 GiB")
def root_volume_size(env: Environment) -> Iterator[Finding]:
    for key, lt in env.launch_templates.items():
        if lt.root_volume is not None and lt.root_volume.size < ECS_AMI_ROOT_GIB:
            yield Finding(
                ("launch_templates", key, "root_volume", "size"),
                f"a {lt.root_volume.size} GiB root volume is smaller than the {ECS_AMI_ROOT_GIB} "
                "GiB snapshot of the ECS-optimized AMIs: instances would fail to launch",
                f"use at least {ECS_AMI_ROOT_GIB} GiB (container images also live there)",
            )


@rule("BF328", Level.ERROR, "a scratch volume device name Batch instances cannot use")
def scratch_device_name(env: Environment) -> Iterator[Finding]:
    for key, lt in env.launch_templates.items():
        volume = lt.scratch_volume
        if volume is not None and not SCRATCH_DEVICE.match(volume.device):
            yield Finding(
                ("launch_templates", key, "scratch_volume", "device"),
                f"'{volume.device}' is not a data volume device name (the root volume is "
                f"{compute_plan.ROOT_DEVICE})",
                "use /dev/xvdb (or /dev/xvdc ... /dev/xvdz)",
            )


@rule("BF329", Level.ERROR, "a scratch mount path that is not a plain absolute directory")
def scratch_mount_path(env: Environment) -> Iterator[Finding]:
    for key, lt in env.launch_templates.items():
        volume = lt.scratch_volume
        if volume is None:
            continue
        path = volume.mount_path.rstrip("/") or "/"
        problem = None
        if not MOUNT_PATH.match(path):
            problem = (
                f"mount path '{volume.mount_path}' must be an absolute path of letters, digits "
                "and . _ - (it is written to /etc/fstab)"
            )
        elif path in SYSTEM_DIRECTORIES:
            problem = f"mounting the scratch volume on {path} would hide the system's own files"
        if problem:
            yield Finding(
                ("launch_templates", key, "scratch_volume", "mount_path"),
                problem,
                "use a directory of its own such as /scratch",
            )


@rule("BF330", Level.ERROR, "launch template user_data is already a MIME document")
def user_data_plain(env: Environment) -> Iterator[Finding]:
    for key, lt in env.launch_templates.items():
        text = lt.user_data
        if text is None:
            continue
        head = text.lstrip().lower()
        if head.startswith(("mime-version:", "content-type:")) or (
            compute_plan.MIME_BOUNDARY in text
        ):
            yield Finding(
                ("launch_templates", key, "user_data"),
                "user_data is wrapped into batchform's MIME multi-part document and must be a "
                "plain shell script (or #cloud-config), not MIME itself",
                "keep only the script body; batchform adds the MIME headers and boundaries",
            )


# --- unused definitions ----------------------------------------------------------------------


@rule("BF331", Level.WARNING, "an AMI is used by no EC2/SPOT compute environment")
def unused_ami(env: Environment) -> Iterator[Finding]:
    used = set(compute_plan.used_ami_keys(env))
    for key in env.amis:
        if key not in used:
            yield Finding(
                ("amis", key),
                f"AMI '{key}' is used by no EC2/SPOT compute environment",
                "reference it with `ami:` in a compute environment, or remove it",
            )


@rule("BF332", Level.WARNING, "a launch template is used by no EC2/SPOT compute environment")
def unused_launch_template(env: Environment) -> Iterator[Finding]:
    used = {ce.launch_template_key for _, ce in _ec2_ces(env)}
    for key in env.launch_templates:
        if key not in used:
            yield Finding(
                ("launch_templates", key),
                f"launch template '{key}' is used by no EC2/SPOT compute environment "
                "(it is still created)",
                "reference it with `launch_template:` in a compute environment, or remove it",
            )


@rule(
    "BF333",
    Level.INFO,
    "Terraform AWS provider before 6.10.0 replaces a SPOT_PRICE_CAPACITY_OPTIMIZED CE on "
    "compute changes",
)
def provider_replaces_price_capacity_optimized(env: Environment) -> Iterator[Finding]:
    if env.iam.service_role != refs.SERVICE_LINKED:
        return  # BF302 already says every change replaces these
    constraint = env.terraform.aws_provider
    if "SPOT_PRICE_CAPACITY_OPTIMIZED" in requirements.updatable_strategies(constraint):
        return  # every admitted provider updates it in place
    fixed = requirements.PRICE_CAPACITY_UPDATABLE
    minor = fixed.rsplit(".", 1)[0]
    for key, ce in _ec2_ces(env):
        if ce.allocation_strategy == "SPOT_PRICE_CAPACITY_OPTIMIZED":
            yield Finding(
                _ce_path(key, "allocation_strategy"),
                f"AWS can update compute environment '{key}' in place, but the Terraform AWS "
                f'provider before {fixed}, which aws_provider "{constraint}" admits, does not '
                "treat SPOT_PRICE_CAPACITY_OPTIMIZED as updatable: a change to its instance "
                "types, tags, subnets, AMI or launch template replaces it",
                "run `batchform diff` before applying; SPOT_CAPACITY_OPTIMIZED is updated in "
                f'place, and so is this strategy with aws_provider "~> {minor}" (the '
                "compiled module then updates it in place)",
            )


# --- security groups, placement and availability zones ----------------------------------------


@rule("BF340", Level.ERROR, "a compute environment names a malformed security group id")
def ce_security_group_id_syntax(env: Environment) -> Iterator[Finding]:
    """``security_groups`` may mix keys with ids of existing groups; an entry that starts like
    an id but is not one would only fail at apply (``InvalidGroup.Malformed``)."""
    defined = env.security_group_definitions()
    for key, ce in env.compute_environments.items():
        for i, entry in enumerate(ce.security_groups or []):
            if entry.startswith("sg-") and entry not in defined and not is_security_group_id(entry):
                yield Finding(
                    _ce_path(key, "security_groups", i),
                    f"'{entry}' is not a security group id",
                    "ids of existing groups look like sg-0123456789abcdef0 (8 or 17 lowercase hex "
                    "digits); keys name groups under network.security_groups",
                )


@rule("BF341", Level.ERROR, "a compute environment's availability_zones cannot be applied")
def ce_availability_zones(env: Environment) -> Iterator[Finding]:
    """``availability_zones`` narrows the subnets batchform creates; it cannot tell the zone of
    a subnet it only knows by id, so there the user lists the right subnets instead."""
    create = env.network.vpc.create
    for key, ce in env.compute_environments.items():
        zones = ce.availability_zones
        if zones is None:
            continue
        if create is None or isinstance(ce.subnets, list):
            yield Finding(
                _ce_path(key, "availability_zones"),
                f"compute environment '{key}' names its subnets by id: batchform cannot tell "
                "which zone they are in",
                "remove availability_zones and list only the subnet ids in the zones you want "
                "under subnets",
            )
            continue
        if not zones:
            yield Finding(
                _ce_path(key, "availability_zones"),
                f"compute environment '{key}' lists no availability zone to launch in",
                "list at least one zone of network.vpc.create.availability_zones, or remove "
                "the key to use them all",
            )
        for i, az in enumerate(zones):
            if az not in create.availability_zones:
                yield Finding(
                    _ce_path(key, "availability_zones", i),
                    f"'{az}' is not one of the VPC's availability zones "
                    f"({', '.join(create.availability_zones)})",
                    "list zones of network.vpc.create.availability_zones",
                )


CLUSTER_PLACEMENT_DOCS = (
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/placement-strategies.html"
)


def _spans_zones(env: Environment, key: str) -> tuple[bool, str]:
    """Whether a CE may launch in more than one AZ, and a phrase saying where it launches."""
    zones = refs.ce_availability_zones(env, key)
    if zones is not None:
        return len(zones) > 1, f"subnets in {len(zones)} availability zones ({', '.join(zones)})"
    count = len(refs.ce_subnet_ids(env, key))
    return count > 1, f"{count} subnets batchform cannot place in one zone"


@rule("BF342", Level.ERROR, "a cluster placement group on subnets in more than one zone")
def cluster_placement_one_zone(env: Environment) -> Iterator[Finding]:
    """A cluster placement group lives in one Availability Zone (CLUSTER_PLACEMENT_DOCS):
    instances Batch launches into a subnet of another zone fail, and the CE never scales."""
    for key, ce in _ec2_ces(env):
        group = ce.placement_group
        if group is None or isinstance(group, str) or group.strategy != "cluster":
            continue
        zones = refs.ce_availability_zones(env, key)
        if zones is not None and len(zones) > 1:
            yield Finding(
                _ce_path(key, "placement_group", "strategy"),
                f"a cluster placement group lives in one availability zone, but compute "
                f"environment '{key}' launches into subnets in {len(zones)} ({', '.join(zones)})",
                f"add `availability_zones: [{zones[0]}]` to '{key}', or use strategy spread or "
                "partition",
            )


@rule("BF343", Level.WARNING, "a placement group batchform cannot check on subnets in many zones")
def named_placement_group_zones(env: Environment) -> Iterator[Finding]:
    """A group named by string is created elsewhere; if it is a cluster group (one AZ,
    CLUSTER_PLACEMENT_DOCS), instances in the other zones' subnets fail to launch. The same
    holds for a cluster group batchform creates on subnets it knows only by id."""
    for key, ce in _ec2_ces(env):
        group = ce.placement_group
        if group is None:
            continue
        spans, where = _spans_zones(env, key)
        if not spans:
            continue
        if isinstance(group, str):
            yield Finding(
                _ce_path(key, "placement_group"),
                f"compute environment '{key}' uses placement group '{group}' with {where}: if "
                "it is a cluster group (one zone), instances in the other zones fail to launch",
                "add availability_zones with the group's zone, or create the group here with "
                "`placement_group: {strategy: ...}`",
            )
        elif group.strategy == "cluster" and refs.ce_availability_zones(env, key) is None:
            yield Finding(
                _ce_path(key, "placement_group", "strategy"),
                f"compute environment '{key}' launches into {where}: a cluster placement group "
                "lives in one availability zone",
                "list only subnets of one zone under subnets",
            )
