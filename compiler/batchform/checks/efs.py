"""EFS rules (BF250-BF252, BF257-BF259): file systems jobs mount must be reachable from the VPC.

An EFS volume is mounted over NFS through a mount target of the file system in the job's
availability zone and VPC; without one the job fails at start with a mount error
(https://docs.aws.amazon.com/efs/latest/ug/accessing-fs.html). Mount targets belong to one VPC,
and a file system in another VPC cannot be mounted by its DNS name at all
(https://docs.aws.amazon.com/efs/latest/ug/mount-fs-different-vpc.html). batchform creates the
mount targets in a VPC it creates, for the file systems listed in ``network.efs``
(``batchform.plan.efs``).
"""

from __future__ import annotations

from collections.abc import Iterator

from batchform.checks import Finding, rule
from batchform.derive import MOUNT_TARGETS_SG_KEY
from batchform.diagnostics import Level, Path
from batchform.model import Environment


def _efs_volumes(env: Environment) -> Iterator[tuple[Path, str]]:
    """``(path of the volume's efs key, file system id)`` for every EFS volume, in file order."""
    for key, job in env.job_definitions.items():
        for i, volume in enumerate(job.volumes):
            if volume.efs is not None:
                yield ("job_definitions", key, "volumes", i, "efs"), volume.efs


@rule("BF250", Level.ERROR, "a job mounts an EFS file system that has no mount targets in the VPC")
def efs_not_listed(env: Environment) -> Iterator[Finding]:
    if env.network.vpc.create is None:
        return
    listed = set(env.network.efs)
    for path, file_system in _efs_volumes(env):
        if file_system in listed:
            continue
        yield Finding(
            path,
            f"EFS file system {file_system} has no mount target in the VPC batchform creates, so "
            "the job cannot mount it (mount targets are per VPC and availability zone)",
            f"list it under network.efs: [{file_system}]; batchform then creates its mount "
            "targets in the private subnets, admitting NFS from the compute security groups",
        )


@rule("BF251", Level.ERROR, "network.efs is set for an existing VPC")
def efs_in_existing_vpc(env: Environment) -> Iterator[Finding]:
    if env.network.vpc.existing is None or not env.network.efs:
        return
    yield Finding(
        ("network", "efs"),
        "batchform creates EFS mount targets only in a VPC it creates; in an existing VPC they "
        "usually exist already, and a second mount target in the same availability zone fails",
        "remove network.efs; make sure each file system has a mount target in every AZ of the "
        "compute subnets, with a security group admitting TCP 2049 from the compute security "
        "groups (docs/real-aws.md)",
    )


@rule(
    "BF259",
    Level.INFO,
    "a job mounts EFS in an existing VPC: its mount targets are not batchform's",
)
def efs_mount_targets_in_existing_vpc(env: Environment) -> Iterator[Finding]:
    if env.network.vpc.existing is None:
        return
    seen: set[str] = set()
    for path, file_system in _efs_volumes(env):
        if file_system in seen:
            continue
        seen.add(file_system)
        yield Finding(
            path,
            f"batchform does not create mount targets in an existing VPC: {file_system} needs one "
            "in every availability zone of the compute subnets, admitting TCP 2049 from the "
            "compute security groups, or the job cannot mount it",
            "check with `aws efs describe-mount-targets --file-system-id "
            f"{file_system}`; add BF259 to ignore: once it is set up",
        )


@rule("BF252", Level.WARNING, "network.efs lists a file system no job mounts")
def efs_unused(env: Environment) -> Iterator[Finding]:
    if env.network.vpc.create is None:
        return
    mounted = {file_system for _, file_system in _efs_volumes(env)}
    seen: set[str] = set()
    for i, file_system in enumerate(env.network.efs):
        if file_system in seen:
            yield Finding(("network", "efs", i), f"{file_system} is listed twice")
        elif file_system not in mounted:
            yield Finding(
                ("network", "efs", i),
                f"no job definition mounts {file_system}; batchform still creates its mount "
                "targets in this VPC",
                "remove it, or add BF252 to ignore: when something else mounts it here",
            )
        seen.add(file_system)


@rule("BF257", Level.ERROR, "an EFS volume uses IAM authorization but its job has no job role")
def efs_iam_without_job_role(env: Environment) -> Iterator[Finding]:
    for key, job in env.job_definitions.items():
        if job.job_role is not None:
            continue
        for i, volume in enumerate(job.volumes):
            if volume.efs is None or not volume.iam:
                continue
            yield Finding(
                ("job_definitions", key, "volumes", i, "iam"),
                "with iam: true Batch mounts the file system with the job role "
                "(EFSAuthorizationConfig), and this job definition has none",
                "add a job_role (a generated one is granted elasticfilesystem:ClientMount on "
                f"{volume.efs}), or remove iam: true",
            )


@rule("BF258", Level.ERROR, "a security group key is reserved for the EFS mount targets' group")
def reserved_efs_security_group(env: Environment) -> Iterator[Finding]:
    if MOUNT_TARGETS_SG_KEY in env.network.security_groups and env.network.efs:
        yield Finding(
            ("network", "security_groups", MOUNT_TARGETS_SG_KEY),
            f"the security group key '{MOUNT_TARGETS_SG_KEY}' is used by batchform for the EFS "
            "mount targets' own group (same AWS name and Terraform address)",
            "rename this security group",
        )
